"""The event-file source: formats, time zones, validation details, and the atomic canonical writer.

The bad-input corpus (one defect per case, through the CLI) is in test_bad_inputs.py; this file covers what
is valid, the exact values read, line numbering, and ``write_events``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivepulse.errors import InputError
from hivepulse.model import UTC_DTYPE, EventSet, coerce, column_names, event_set
from hivepulse.sources.files import format_utc, read_events, write_events

DEPLOYMENTS = """\
deployment_id,environment,finished_at,status,started_at,commit_sha,version,kind,rollback_of,first_deployment
d1,production,2026-01-05T10:00:00Z,success,2026-01-05T09:50:00Z,abc123,v1,planned,,true
d2,production,2026-01-06T10:00:00.5Z,failure,,,v2,,,false
d3,staging,2026-01-07 12:00:00+02:00,success,,def456,,unplanned,d2,
"""
CHANGES = """\
change_id,committed_at,deployment_id,authored_at,pr_number,pr_opened_at,first_review_at,merged_at,change_type
c1,2026-01-04T09:00:00Z,d1,2026-01-04T08:00:00Z,11,2026-01-04T09:10:00Z,2026-01-04T09:20:00Z,2026-01-04T09:30:00Z,feat
c2,2026-01-05T09:00:00.123456Z,d2,,,,,,fix
c3,2026-01-06T09:00:00.123456789Z,,,,,,,
"""
INCIDENTS = """\
incident_id,opened_at,resolved_at,deployment_id,severity,environment
i1,2026-01-06T11:00:00Z,2026-01-06T12:00:00Z,d2,sev1,production
i2,2026-01-08T11:00:00Z,,,,
"""


def make_dir(path: Path, **files: str | bytes) -> Path:
    """Write files given as name=content (name uses '__' for '.'), e.g. deployments__csv="..."."""
    path.mkdir(parents=True, exist_ok=True)
    for key, content in files.items():
        target = path / key.replace("__", ".")
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return path


@pytest.fixture
def full_dir(tmp_path: Path) -> Path:
    return make_dir(
        tmp_path / "full", deployments__csv=DEPLOYMENTS, changes__csv=CHANGES, incidents__csv=INCIDENTS
    )


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def assert_same_tables(a: EventSet, b: EventSet) -> None:
    for name in ("deployments", "changes", "incidents"):
        pd.testing.assert_frame_equal(a.table(name), b.table(name), check_exact=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ reading: values


def test_reads_canonical_columns_dtypes_and_values(full_dir: Path):
    events = read_events(full_dir)
    for name in ("deployments", "changes", "incidents"):
        frame = events.table(name)  # type: ignore[arg-type]
        assert list(frame.columns) == column_names(name)  # type: ignore[arg-type]
    dep = events.deployments
    assert dep["finished_at"].dtype == UTC_DTYPE
    assert dep["finished_at"].tolist() == [
        ts("2026-01-05T10:00:00Z"),
        ts("2026-01-06T10:00:00.5Z"),
        ts("2026-01-07T10:00:00Z"),  # 12:00 at +02:00 = 10:00 UTC
    ]
    assert dep["status"].tolist() == ["success", "failure", "success"]
    assert dep["kind"].tolist() == ["planned", "planned", "unplanned"]  # empty kind = planned
    assert dep["first_deployment"].tolist() == [True, False, False]  # empty = False
    assert dep["rollback_of"].isna().tolist() == [True, True, False]
    assert pd.isna(dep["started_at"].iloc[1])
    ch = events.changes
    assert ch["pr_number"].dtype == "Int64"
    assert ch["pr_number"].tolist()[0] == 11 and ch["pr_number"].isna().tolist() == [False, True, True]
    assert ch["committed_at"].iloc[2] == ts("2026-01-06T09:00:00.123456789Z")  # nanoseconds kept
    assert pd.isna(ch["deployment_id"].iloc[2])  # empty: not deployed yet
    assert pd.isna(events.incidents["resolved_at"].iloc[1])  # empty: still open
    assert events.notes == []
    assert events.source == str(full_dir)


@pytest.mark.parametrize("minimal", [False, True])
def test_tables_have_exactly_the_model_shape(tmp_path: Path, full_dir: Path, minimal: bool):
    """The reader builds canonical frames itself (fast); they must equal what model.coerce gives."""
    folder = full_dir
    if minimal:  # only required columns: every optional column is added as all-NA
        folder = make_dir(
            tmp_path / "minimal",
            deployments__csv="deployment_id,environment,finished_at,status\nd1,production,2026-01-05T10:00:00Z,success\n",
            changes__csv="change_id,committed_at,deployment_id\nc1,2026-01-04T09:00:00Z,d1\n",
            incidents__csv="incident_id,opened_at\ni1,2026-01-06T11:00:00Z\n",
        )
    events = read_events(folder)
    for name in ("deployments", "changes", "incidents"):
        frame = events.table(name)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(frame, coerce(name, frame), check_exact=True)  # type: ignore[arg-type]
    if minimal:
        assert events.deployments[["kind", "first_deployment"]].iloc[0].tolist() == ["planned", False]
        assert events.changes["pr_number"].isna().all() and events.incidents["resolved_at"].isna().all()


def test_offsets_space_separator_and_assume_utc(tmp_path: Path):
    deployments = (
        "deployment_id,environment,finished_at,status\n"
        "d1,production,2026-05-04T09:30:00Z,success\n"
        "d2,production,2026-05-04 11:30:00+02:00,success\n"  # 09:30 UTC
        "d3,production,2026-05-04T15:00:00+0530,success\n"  # 15:00 - 5:30 = 09:30 UTC
        "d4,production,2026-05-04T04:30:00-05,success\n"  # 04:30 + 5 h = 09:30 UTC
    )
    changes = "change_id,committed_at,deployment_id\nc1,2026-05-04 09:30:00,d1\nc2,2026-05-04,d1\n"
    folder = make_dir(tmp_path / "tz", deployments__csv=deployments, changes__csv=changes)
    with pytest.raises(
        InputError, match=r"changes.csv, line 2, column 'committed_at': timestamp without UTC offset"
    ):
        read_events(folder)
    events = read_events(folder, assume_utc=True)
    assert events.deployments["finished_at"].tolist() == [ts("2026-05-04T09:30:00Z")] * 4
    # naive values are read as UTC; a bare date is midnight UTC
    assert events.changes["committed_at"].tolist() == [ts("2026-05-04T09:30:00Z"), ts("2026-05-04T00:00:00Z")]
    assert events.notes[0] == "changes.csv: 2 timestamps without UTC offset read as UTC (--assume-utc)"
    assert events.notes[1].startswith("incidents: no incidents file")


def test_enums_are_lowercased_and_cells_stripped(tmp_path: Path):
    folder = make_dir(
        tmp_path / "e",
        deployments__csv="deployment_id, environment ,finished_at,status,kind\n"
        " d1 , production ,2026-01-05T10:00:00Z, Success ,UNPLANNED\n",
        changes__csv="change_id,committed_at,deployment_id\nc1, 2026-01-04T09:00:00Z ,d1\n",
    )
    events = read_events(folder)
    row = events.deployments.iloc[0]
    assert (row["deployment_id"], row["environment"], row["status"], row["kind"]) == (
        "d1",
        "production",
        "success",
        "unplanned",
    )
    assert events.changes["deployment_id"].tolist() == ["d1"]


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("TRUE", True), ("1", True), ("false", False), ("0", False)]
)
def test_boolean_spellings(tmp_path: Path, text: str, value: bool):
    folder = make_dir(
        tmp_path / "b",
        deployments__csv=f"deployment_id,environment,finished_at,status,first_deployment\n"
        f"d1,production,2026-01-05T10:00:00Z,success,{text}\n",
        changes__csv="change_id,committed_at,deployment_id\n",
    )
    assert read_events(folder).deployments["first_deployment"].tolist() == [value]


def test_header_only_csv_and_empty_json_array_are_empty_tables(tmp_path: Path):
    folder = make_dir(
        tmp_path / "empty",
        deployments__csv="deployment_id,environment,finished_at,status\n",
        changes__json="[]\n",
        incidents__csv="incident_id,opened_at\n",
    )
    events = read_events(folder)
    assert len(events.deployments) == len(events.changes) == len(events.incidents) == 0
    assert events.changes["committed_at"].dtype == UTC_DTYPE
    assert list(events.changes.columns) == column_names("changes")


def test_missing_incidents_file_is_a_note(tmp_path: Path):
    folder = make_dir(tmp_path / "noinc", deployments__csv=DEPLOYMENTS, changes__csv=CHANGES)
    events = read_events(folder)
    assert len(events.incidents) == 0
    assert len(events.notes) == 1 and events.notes[0].startswith("incidents: no incidents file")


def test_unknown_columns_are_ignored_and_noted(tmp_path: Path):
    folder = make_dir(
        tmp_path / "extra",
        deployments__csv="deployment_id,environment,finished_at,status,team,Status\n"
        "d1,production,2026-01-05T10:00:00Z,success,hive,whatever\n",
        changes__jsonl='{"change_id": "c1", "committed_at": "2026-01-04T09:00:00Z", "deployment_id": "d1", '
        '"author": "someone"}\n',
    )
    events = read_events(folder)
    assert list(events.deployments.columns) == column_names("deployments")
    assert events.notes[:2] == [
        "deployments.csv: ignored unknown columns 'team', 'Status'",
        "changes.jsonl: ignored unknown columns 'author'",
    ]


def test_bom_is_accepted(tmp_path: Path):
    folder = make_dir(
        tmp_path / "bom",
        deployments__csv=b"\xef\xbb\xbf" + DEPLOYMENTS.encode(),
        changes__csv=b"\xef\xbb\xbf" + CHANGES.encode(),
    )
    assert read_events(folder).deployments["deployment_id"].tolist() == ["d1", "d2", "d3"]


def _records(csv_text: str) -> list[dict]:
    frame = pd.read_csv(pd.io.common.StringIO(csv_text), dtype=str, keep_default_na=False)
    return [{k: v for k, v in row.items() if v != ""} for row in frame.to_dict("records")]


def test_csv_json_and_jsonl_read_the_same(tmp_path: Path, full_dir: Path):
    expected = read_events(full_dir)
    tables = {"deployments": DEPLOYMENTS, "changes": CHANGES, "incidents": INCIDENTS}
    json_dir = make_dir(
        tmp_path / "json", **{f"{t}__json": json.dumps(_records(c), indent=2) for t, c in tables.items()}
    )
    jsonl_dir = make_dir(
        tmp_path / "jsonl",
        **{f"{t}__jsonl": "\n".join(json.dumps(r) for r in _records(c)) + "\n" for t, c in tables.items()},
    )
    assert_same_tables(read_events(json_dir), expected)
    assert_same_tables(read_events(jsonl_dir), expected)


def test_json_native_types_and_nulls(tmp_path: Path):
    folder = make_dir(
        tmp_path / "native",
        deployments__json=json.dumps(
            [
                {
                    "deployment_id": "d1",
                    "environment": "production",
                    "finished_at": "2026-01-05T10:00:00Z",
                    "status": "success",
                    "first_deployment": True,
                    "rollback_of": None,
                },
            ]
        ),
        changes__json=json.dumps(
            [
                {
                    "change_id": "c1",
                    "committed_at": "2026-01-04T09:00:00Z",
                    "deployment_id": None,
                    "pr_number": 7,
                }
            ]
        ),
    )
    events = read_events(folder)
    assert events.deployments["first_deployment"].tolist() == [True]
    assert events.changes["pr_number"].tolist() == [7]
    assert pd.isna(events.changes["deployment_id"].iloc[0])


def test_json_float_pr_number_is_rejected(tmp_path: Path):
    folder = make_dir(
        tmp_path / "f",
        deployments__csv="deployment_id,environment,finished_at,status\n",
        changes__jsonl='{"change_id": "c1", "committed_at": "2026-01-04T09:00:00Z", "deployment_id": "", '
        '"pr_number": 7.5}\n',
    )
    with pytest.raises(
        InputError, match=r"changes.jsonl, line 1, column 'pr_number': not an integer: got '7.5'"
    ):
        read_events(folder)


# ------------------------------------------------------------------------------------- reading: reporting


def test_first_bad_row_is_reported_across_columns(tmp_path: Path):
    # line 3 has a bad status (a later column), line 4 a bad finished_at (an earlier column): line 3 wins
    folder = make_dir(
        tmp_path / "order",
        deployments__csv="deployment_id,environment,finished_at,status\n"
        "d1,production,2026-01-05T10:00:00Z,success\n"
        "d2,production,2026-01-06T10:00:00Z,broken\n"
        "d3,production,yesterday,success\n",
        changes__csv="change_id,committed_at,deployment_id\n",
    )
    with pytest.raises(InputError, match=r"deployments.csv, line 3, column 'status'"):
        read_events(folder)


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path: Path):
    folder = make_dir(
        tmp_path / "lines",
        deployments__csv="deployment_id,environment,finished_at,status\nd1,production,2026-01-05T10:00:00Z,success\n",
        changes__csv="\n"  # line 1 blank: the header is line 2
        "change_id,committed_at,deployment_id,change_type\n"
        'c1,2026-01-04T09:00:00Z,d1,"feat,\nwith a line break"\n'  # lines 3-4
        "\n"  # line 5
        "c1,2026-01-04T10:00:00Z,d1,fix\n",  # line 6
    )
    with pytest.raises(InputError) as info:
        read_events(folder)
    assert "changes.csv, line 6, column 'change_id': duplicate change_id (first on line 3): got 'c1'" in str(
        info.value
    )


def test_changes_may_have_empty_deployment_and_incidents_no_deployment(tmp_path: Path):
    folder = make_dir(
        tmp_path / "ok",
        deployments__csv="deployment_id,environment,finished_at,status\nd1,production,2026-01-05T10:00:00Z,success\n",
        changes__csv="change_id,committed_at,deployment_id\nc1,2026-01-04T09:00:00Z,\n",
        incidents__csv="incident_id,opened_at,deployment_id\ni1,2026-01-06T11:00:00Z,\n",
    )
    events = read_events(folder)
    assert events.changes["deployment_id"].isna().all()
    assert events.incidents["deployment_id"].isna().all()


def test_required_value_may_not_be_only_whitespace(tmp_path: Path):
    folder = make_dir(
        tmp_path / "ws",
        deployments__csv="deployment_id,environment,finished_at,status\n   ,production,2026-01-05T10:00:00Z,success\n",
        changes__csv="change_id,committed_at,deployment_id\n",
    )
    with pytest.raises(InputError, match=r"line 2, column 'deployment_id': empty required value"):
        read_events(folder)


def test_path_that_is_a_file_is_rejected(tmp_path: Path):
    target = tmp_path / "file.csv"
    target.write_text("x\n")
    with pytest.raises(InputError, match="not a directory"):
        read_events(target)


def test_rollback_of_itself_is_rejected(tmp_path: Path):
    folder = make_dir(
        tmp_path / "self",
        deployments__csv="deployment_id,environment,finished_at,status,rollback_of\n"
        "d1,production,2026-01-05T10:00:00Z,success,d1\n",
        changes__csv="change_id,committed_at,deployment_id\n",
    )
    with pytest.raises(InputError, match=r"line 2, column 'rollback_of': rollback of itself"):
        read_events(folder)


# ------------------------------------------------------------------------------------------------ writing


def test_round_trip_read_write_read(tmp_path: Path, full_dir: Path):
    first = read_events(full_dir)
    out = write_events(first, tmp_path / "out")
    assert out == tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["changes.csv", "deployments.csv", "incidents.csv"]
    assert_same_tables(read_events(out), first)


def test_written_text_is_canonical(tmp_path: Path, full_dir: Path):
    out = write_events(read_events(full_dir), tmp_path / "out")
    assert (out / "deployments.csv").read_text() == (
        "deployment_id,environment,finished_at,status,started_at,commit_sha,version,kind,rollback_of,first_deployment\n"
        "d1,production,2026-01-05T10:00:00Z,success,2026-01-05T09:50:00Z,abc123,v1,planned,,true\n"
        "d2,production,2026-01-06T10:00:00.500Z,failure,,,v2,planned,,false\n"
        "d3,staging,2026-01-07T10:00:00Z,success,,def456,,unplanned,d2,false\n"
    )
    changes = (out / "changes.csv").read_text().splitlines()
    assert changes[2] == "c2,2026-01-05T09:00:00.123456Z,d2,,,,,,fix,"
    assert changes[3] == "c3,2026-01-06T09:00:00.123456789Z,,,,,,,,"
    assert (out / "incidents.csv").read_text().splitlines()[2] == "i2,2026-01-08T11:00:00Z,,,,"


def test_round_trip_from_memory_with_quotes_and_na(tmp_path: Path):
    deployments = pd.DataFrame(
        {
            "deployment_id": ["d1", "d2"],
            "environment": ["production", "production"],
            "finished_at": pd.to_datetime(
                ["2026-01-05T12:00:00+02:00", "2026-01-06T10:00:00.000001Z"], utc=True, format="ISO8601"
            ),
            "status": ["success", "failure"],
            "version": ['v1, "the big one"', None],
        }
    )
    changes = pd.DataFrame(
        {
            "change_id": ["c1", "c2"],
            "committed_at": pd.to_datetime(["2026-01-04T09:00:00Z", "2026-01-04T10:00:00Z"], utc=True),
            "deployment_id": ["d1", None],
            "pr_number": pd.array([5, None], dtype="Int64"),
            "change_type": ["feat\nmultiline", None],
        }
    )
    original = event_set(deployments, changes)
    back = read_events(write_events(original, tmp_path / "mem"))
    assert_same_tables(back, original)
    assert back.deployments["finished_at"].iloc[0] == ts("2026-01-05T10:00:00Z")


def test_write_refuses_invalid_events_and_writes_nothing(tmp_path: Path):
    deployments = pd.DataFrame(
        {
            "deployment_id": ["d1", "d1"],
            "environment": ["production"] * 2,
            "finished_at": pd.to_datetime(["2026-01-05T10:00:00Z"] * 2, utc=True),
            "status": ["success", "success"],
        }
    )
    with pytest.raises(InputError, match="duplicate deployment_id"):
        write_events(event_set(deployments), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # no output directory, no temporary directory


def test_write_refuses_values_the_reader_would_reject(tmp_path: Path):
    deployments = pd.DataFrame(
        {
            "deployment_id": ["d1"],
            "environment": ["production"],
            "finished_at": pd.to_datetime(["2026-01-05T10:00:00Z"], utc=True),
            "status": ["ok"],
        }
    )
    with pytest.raises(InputError) as info:
        write_events(event_set(deployments), tmp_path / "out")
    message = str(info.value)
    assert message.startswith("invalid events, nothing written: ")
    assert f"{tmp_path / 'out' / 'deployments.csv'}, line 2, column 'status'" in message
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_files_in_existing_directory_and_keeps_others(tmp_path: Path, full_dir: Path):
    out = make_dir(tmp_path / "out", deployments__csv="old\n", README__md="keep me\n")
    write_events(read_events(full_dir), out)
    assert (out / "README.md").read_text() == "keep me\n"
    assert (out / "deployments.csv").read_text().startswith("deployment_id,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "out"]  # temporary directory removed


def test_write_refuses_directory_with_other_format(tmp_path: Path, full_dir: Path):
    out = make_dir(tmp_path / "out", changes__jsonl="{}\n")
    with pytest.raises(InputError, match="already holds changes.jsonl"):
        write_events(read_events(full_dir), out)
    assert sorted(p.name for p in out.iterdir()) == ["changes.jsonl"]


def test_write_refuses_a_file_as_output(tmp_path: Path, full_dir: Path):
    target = tmp_path / "x"
    target.write_text("")
    with pytest.raises(InputError, match="not a directory"):
        write_events(read_events(full_dir), target)


def test_format_utc():
    values = pd.Series(
        pd.to_datetime(
            ["2026-05-04T09:30:00Z", "2026-05-04T11:30:00.25+02:00", "1969-12-31T23:59:59.999999999Z", None],
            utc=True,
            format="ISO8601",
        )
    ).astype(UTC_DTYPE)
    assert format_utc(values).tolist() == [
        "2026-05-04T09:30:00Z",
        "2026-05-04T09:30:00.250Z",
        "1969-12-31T23:59:59.999999999Z",
        "",
    ]


# ------------------------------------------------------------------------------------- property: round trip

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=8,
)
_OPTIONAL_TEXT = st.one_of(st.none(), _TEXT)
_INSTANT = st.integers(min_value=-(10**18), max_value=4 * 10**18).map(lambda ns: pd.Timestamp(ns, tz="UTC"))
_OPTIONAL_INSTANT = st.one_of(st.none(), _INSTANT)


@st.composite
def _event_sets(draw: st.DrawFn) -> EventSet:
    n_dep = draw(st.integers(0, 5))
    dep_ids = [f"d{i}" for i in range(n_dep)]
    finished = [draw(_INSTANT) for _ in dep_ids]
    deployments = pd.DataFrame(
        {
            "deployment_id": dep_ids,
            "environment": [draw(_TEXT) for _ in dep_ids],
            "finished_at": pd.Series(finished, dtype=UTC_DTYPE),
            "status": [draw(st.sampled_from(["success", "failure"])) for _ in dep_ids],
            "started_at": pd.Series(
                [f - pd.Timedelta(draw(st.integers(0, 10**12))) for f in finished], dtype=UTC_DTYPE
            ),
            "version": [draw(_OPTIONAL_TEXT) for _ in dep_ids],
            "kind": [draw(st.sampled_from(["planned", "unplanned"])) for _ in dep_ids],
            "rollback_of": [
                draw(st.one_of(st.none(), st.sampled_from(dep_ids[:i] or [None]))) for i in range(n_dep)
            ],
            "first_deployment": pd.array([draw(st.booleans()) for _ in dep_ids], dtype="boolean"),
        }
    )
    n_ch = draw(st.integers(0, 5))
    changes = pd.DataFrame(
        {
            "change_id": [f"c{i}" for i in range(n_ch)],
            "committed_at": pd.Series([draw(_INSTANT) for _ in range(n_ch)], dtype=UTC_DTYPE),
            "deployment_id": [
                draw(st.one_of(st.none(), st.sampled_from(dep_ids or [None]))) for _ in range(n_ch)
            ],
            "pr_number": pd.array(
                [draw(st.one_of(st.none(), st.integers(0, 10**9))) for _ in range(n_ch)], dtype="Int64"
            ),
            "merged_at": pd.Series([draw(_OPTIONAL_INSTANT) for _ in range(n_ch)], dtype=UTC_DTYPE),
            "change_type": [draw(_OPTIONAL_TEXT) for _ in range(n_ch)],
        }
    )
    n_inc = draw(st.integers(0, 3))
    opened = [draw(_INSTANT) for _ in range(n_inc)]
    incidents = pd.DataFrame(
        {
            "incident_id": [f"i{i}" for i in range(n_inc)],
            "opened_at": pd.Series(opened, dtype=UTC_DTYPE),
            "resolved_at": pd.Series(
                [
                    draw(st.one_of(st.none(), st.just(o + pd.Timedelta(draw(st.integers(0, 10**13))))))
                    for o in opened
                ],
                dtype=UTC_DTYPE,
            ),
            "severity": [draw(_OPTIONAL_TEXT) for _ in range(n_inc)],
        }
    )
    return event_set(deployments, changes, incidents)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_event_sets())
def test_property_read_of_write_is_identity(tmp_path: Path, events: EventSet):
    out = tmp_path / f"rt-{uuid.uuid4().hex}"
    assert_same_tables(read_events(write_events(events, out)), events)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "d2,production,2026-01-06T10:00:00Z,success,hive,extra",
            "line 3: row has 6 fields; expected 5 fields",
        ),
        ("d2,production,2026-01-06T10:00:00Z,success", "line 3, column 'team': row has 4 fields; expected 5"),
    ],
)
def test_ragged_rows_are_found_with_unknown_columns(tmp_path: Path, row: str, message: str):
    folder = make_dir(
        tmp_path / "rag",
        deployments__csv="deployment_id,environment,finished_at,status,team\n"
        f"d1,production,2026-01-05T10:00:00Z,success,hive\n{row}\n",
        changes__csv="change_id,committed_at,deployment_id\n",
    )
    with pytest.raises(InputError, match=message):
        read_events(folder)


def test_crlf_line_ends(tmp_path: Path):
    folder = make_dir(
        tmp_path / "crlf",
        deployments__csv=DEPLOYMENTS.replace("\n", "\r\n"),
        changes__csv=CHANGES.replace("\n", "\r\n").replace("c3,", "c2,"),
    )
    with pytest.raises(
        InputError, match=r"changes.csv, line 4, column 'change_id': duplicate change_id \(first on line 3\)"
    ):
        read_events(folder)


def test_header_with_unterminated_quote(tmp_path: Path):
    folder = make_dir(
        tmp_path / "hq",
        deployments__csv='deployment_id,"environment,finished_at,status\n',
        changes__csv="change_id,committed_at,deployment_id\n",
    )
    with pytest.raises(InputError, match="deployments.csv, line 1: header has an unterminated quote"):
        read_events(folder)


def test_lowercase_z_is_utc_and_epoch_numbers_are_unparsable(tmp_path):
    """RFC 3339 allows "z"; an epoch number is not ISO-8601, so --assume-utc would not help: say unparsable."""
    from hivepulse.errors import InputError
    from hivepulse.sources.files import read_events

    (tmp_path / "changes.csv").write_text("change_id,committed_at,deployment_id\n")
    (tmp_path / "deployments.csv").write_text(
        "deployment_id,environment,finished_at,status\nd1,production,2026-01-05T09:00:00z,success\n"
    )
    events = read_events(tmp_path)
    assert str(events.deployments["finished_at"].iloc[0]) == "2026-01-05 09:00:00+00:00"
    (tmp_path / "deployments.csv").write_text(
        "deployment_id,environment,finished_at,status\nd1,production,1767603600,success\n"
    )
    for assume_utc in (False, True):
        with pytest.raises(InputError, match=r"line 2, column 'finished_at': unparsable timestamp"):
            read_events(tmp_path, assume_utc=assume_utc)


def test_source_notes_survive_export(tmp_path):
    """A source's caveats (e.g. a shallow clone) travel with the exported files in notes.txt."""
    import pandas as pd

    from hivepulse.model import event_set
    from hivepulse.sources.files import read_events, write_events

    deployments = pd.DataFrame({"deployment_id": ["d1"], "environment": ["production"],
                                "finished_at": ["2026-01-05T09:00:00Z"], "status": ["success"]})
    changes = pd.DataFrame({"change_id": ["c1"], "committed_at": ["2026-01-05T08:00:00Z"],
                            "deployment_id": ["d1"]})
    note = "shallow clone: history is cut at 10 commits; 3 changes' lead times are at risk"
    write_events(event_set(deployments, changes, notes=[note]), tmp_path / "out")
    assert note in read_events(tmp_path / "out").notes
    write_events(event_set(deployments, changes), tmp_path / "out")  # re-export without notes
    assert not (tmp_path / "out" / "notes.txt").exists()
    assert note not in read_events(tmp_path / "out").notes
