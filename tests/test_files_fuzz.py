"""Fuzz of the event-file source: whatever bytes sit in ``deployments|changes|incidents.(csv|json|jsonl)``,
:func:`read_events` either returns an ``EventSet`` or raises :class:`InputError` (one line) - never another
exception.

Three generators: random bytes; CSV-ish text built from the real column names, plausible and hostile cells
(timestamps, booleans, quotes, separators, NUL, BOM, unicode, huge numbers); random JSON values (as a JSON
document or as JSONL lines). The fuzzed file replaces one table of a small valid event directory, so the
reader gets past "file missing" and the cross-table checks run too. ~100 examples in total.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivepulse.errors import InputError
from hivepulse.model import SCHEMA
from hivepulse.sources.files import read_events

TABLES = ("deployments", "changes", "incidents")
FORMATS = ("csv", "json", "jsonl")

VALID = {
    "deployments": "deployment_id,environment,finished_at,status,started_at,commit_sha,version,kind,rollback_of,"
    "first_deployment\n"
    "d1,production,2026-01-05T10:00:00Z,success,2026-01-05T09:50:00Z,abc123,,planned,,false\n"
    "d2,production,2026-01-06T10:00:00Z,failure,,def456,,planned,,false\n",
    "changes": "change_id,committed_at,deployment_id\nc1,2026-01-04T08:00:00Z,d1\nc2,2026-01-05T12:00:00Z,d2\n",
    "incidents": "incident_id,opened_at,resolved_at,deployment_id\ni1,2026-01-06T11:00:00Z,2026-01-06T12:00:00Z,d2\n",
}

SETTINGS = settings(max_examples=35, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CELLS = st.one_of(
    st.sampled_from([
        "", " ", "d1", "d2", "c1", "production", "staging", "success", "failure", "rolled_back", "planned",
        "rollback", "hotfix", "true", "false", "TRUE", "yes", "0", "1", "-1", "1e309", "NaN", "null", "None",
        "2026-01-05T10:00:00Z", "2026-01-05", "2026-01-05T10:00:00", "2026-01-05T10:00:00+14:00",
        "2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1677-09-21T00:00:00Z",
        "2262-04-12T00:00:00Z", "99999999999999999999999", '"', '""', "a,b", "a\nb", "\x00", "\ufeff",
        "é", "日本", "\ud7ff", "=cmd|' /C calc'!A0",
    ]),
    st.text(max_size=12),
)


def _header(table: str) -> st.SearchStrategy[list[str]]:
    names = [c.name for c in SCHEMA[table]]
    return st.lists(st.sampled_from([*names, "extra", "", "Deployment_ID", names[0]]), min_size=0, max_size=12)


@st.composite
def csv_text(draw: st.DrawFn, table: str) -> bytes:
    header = draw(_header(table))
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 2), max_size=6))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))

    def cell(value: str) -> str:
        return f'"{value}"' if draw(st.booleans()) and '"' not in value else value

    lines = [sep.join(header)] + [sep.join(cell(v) for v in row) for row in rows]
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), CELLS)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def json_records(draw: st.DrawFn, table: str) -> list[object]:
    """A list of records that look like rows of ``table`` (real keys, random values), or any JSON value."""
    names = [c.name for c in SCHEMA[table]]
    record = st.dictionaries(st.sampled_from([*names, "extra"]), st.one_of(CELLS, JSON_VALUES), max_size=8)
    return draw(st.one_of(st.lists(record, max_size=5), JSON_VALUES))


def _check(table: str, ext: str, payload: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="hivepulse-fuzz-") as tmp:
        root = Path(tmp)
        for name, text in VALID.items():
            if name != table:
                (root / f"{name}.csv").write_text(text, encoding="utf-8")
        (root / f"{table}.{ext}").write_bytes(payload)
        try:
            read_events(root)
        except InputError as err:
            message = str(err)
            assert message and "\n" not in message, message
            assert "Traceback" not in message
        # any other exception propagates and fails the test (hypothesis shrinks and reports it)


@SETTINGS
@given(table=st.sampled_from(TABLES), ext=st.sampled_from(FORMATS), payload=st.binary(max_size=300))
def test_random_bytes_load_or_input_error(table: str, ext: str, payload: bytes) -> None:
    _check(table, ext, payload)


@SETTINGS
@given(data=st.data(), table=st.sampled_from(TABLES))
def test_random_csv_load_or_input_error(data: st.DataObject, table: str) -> None:
    _check(table, "csv", data.draw(csv_text(table)))


@SETTINGS
@given(data=st.data(), table=st.sampled_from(TABLES), lines=st.booleans())
def test_random_json_load_or_input_error(data: st.DataObject, table: str, lines: bool) -> None:
    value = data.draw(json_records(table))
    if lines:
        items = value if isinstance(value, list) else [value]
        payload = "\n".join(json.dumps(item) for item in items).encode()
        _check(table, "jsonl", payload)
    else:
        _check(table, "json", json.dumps(value).encode())


def test_the_valid_base_loads(tmp_path: Path) -> None:
    for name, text in VALID.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    events = read_events(tmp_path)
    assert (len(events.deployments), len(events.changes), len(events.incidents)) == (2, 2, 1)


@pytest.mark.parametrize("payload", [
    b"\xff\xfe\x00", b"\x00" * 64, b"[" * 5000, b'{"a":' * 3000,
    b"\x1c",  # Unicode whitespace that bytes.strip() keeps: was an AssertionError
    b"deployment_id,x\r,,\r",  # bare CR inside the first line: was a csv.Error
])
def test_pathological_payloads(payload: bytes) -> None:
    for ext in FORMATS:
        _check("deployments", ext, payload)
