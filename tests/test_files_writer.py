"""The canonical CSV writer: byte for byte what pandas writes, the reader's own validation of every cell, and the
read-back when a value needs quoting or has surrounding spaces (issue 11: export at the speed of ``git log``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hivepulse.errors import InputError
from hivepulse.model import SCHEMA, coerce, event_set
from hivepulse.sources.files import read_events, write_events
from hivepulse.sources.files.write import csv_text, text_cells

ODD = ["plain", "b,c", 'q"uote', "multi\nline", "cr\rx", " pad", "tail ", "ünï ✓", "=cmd", "x\ty"]


def _deployments(ids: list[str]) -> pd.DataFrame:
    n = len(ids)
    return coerce("deployments", pd.DataFrame({
        "deployment_id": ids, "environment": ["production"] * n,
        "finished_at": pd.date_range("2026-01-05T10:00:00Z", periods=n, freq="37min"),
        "status": ["success"] * n, "version": list(reversed(ids)), "first_deployment": [k == 0 for k in range(n)],
    }))  # fmt: skip


@pytest.mark.parametrize("ids", [ODD, ["a", "b"], []])
def test_writer_equals_pandas_to_csv(ids):
    frame = _deployments(ids)
    cells = text_cells(frame, "deployments")
    expected = pd.DataFrame(cells, columns=[c.name for c in SCHEMA["deployments"]]).to_csv(
        index=False, lineterminator="\n"
    )
    text, plain = csv_text(cells, "deployments")
    assert text == expected
    assert plain == (ids != ODD)


@pytest.mark.parametrize(("value", "plain"), [("b,c", True), ('q"uote', True), ("multi\nline", False),
                                              ("cr\rx", False), (" pad", False), ("tail ", False),
                                              ("in side", True), ("in side\u00a0", False), ("x\ty", True)])
def test_only_line_breaks_and_padding_need_the_read_back(value, plain):
    """A value quoted for a comma or a quote is read back exactly, so its cells are validated without reading
    the files again (commit subjects: 0.6 s of an export of git's history); line breaks (the error's line) and
    padding (the reader strips) still go through the reader."""
    text, got = csv_text(text_cells(_deployments(["a", value]), "deployments"), "deployments")
    assert got is plain


def test_quoted_values_round_trip_through_the_reader(tmp_path: Path):
    ids = [v for v in ODD if v.strip() == v and "\r" not in v]  # the reader strips cells
    out = write_events(event_set(_deployments(ids)), tmp_path / "out")
    again = read_events(out)
    assert again.deployments["deployment_id"].tolist() == ids
    titled = write_events(event_set(_deployments(["a", 'fix: a, "b" and c', "b,c"])), tmp_path / "titled")
    assert read_events(titled).deployments["deployment_id"].tolist() == ["a", 'fix: a, "b" and c', "b,c"]
    # a bare carriage return is written unquoted (as pandas writes it) and breaks the rows for the reader: the
    # read-back catches it and nothing is written
    with pytest.raises(InputError, match="invalid events, nothing written: .*row has 7 fields"):
        write_events(event_set(_deployments(["a", "cr\rx"])), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_plain_cells_get_the_readers_messages(tmp_path: Path):
    frame = _deployments(["d1", "d2"])
    frame.loc[1, "status"] = "ok"
    with pytest.raises(InputError) as info:
        write_events(event_set(frame), tmp_path / "out")
    assert str(info.value) == (f"invalid events, nothing written: {tmp_path / 'out' / 'deployments.csv'}, line 3, "
                               "column 'status': invalid status: got 'ok'; expected one of success, failure")  # fmt: skip
    assert not (tmp_path / "out").exists()
