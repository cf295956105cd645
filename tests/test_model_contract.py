"""The model's contract in memory: converters, ``integrity_problems`` / ``check_integrity`` (the same rules
the event-file reader applies, located by table and row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hivepulse.errors import InputError
from hivepulse.model import (
    EVENT_FILES,
    check_integrity,
    event_set,
    format_timestamp,
    integrity_problems,
    parse_timestamp,
    validate_cells,
)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def deployments(**overrides: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "deployment_id": ["d1", "d2"],
        "environment": ["production"] * 2,
        "finished_at": [ts("2026-01-05T10:00:00Z"), ts("2026-01-06T10:00:00Z")],
        "status": ["success"] * 2,
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_consistent_events_have_no_problem():
    events = event_set(deployments())
    assert integrity_problems(events) == []
    check_integrity(events)  # no exception


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ({"deployments": deployments(deployment_id=["d1", "d1"])},
         "deployments row 2, column 'deployment_id': duplicate deployment_id (first on row 1): got 'd1'; "
         "expected unique deployment_id values"),
        ({"deployments": deployments(started_at=[ts("2026-01-05T10:00:01Z"), pd.NaT])},
         "deployments row 1, column 'started_at': started after it finished (started_at 2026-01-05T10:00:01Z, "
         "finished_at 2026-01-05T10:00:00Z): got '2026-01-05T10:00:01Z'; expected finished_at at or after started_at"),
        ({"deployments": deployments(rollback_of=[None, "d2"])},
         "deployments row 2, column 'rollback_of': rollback of itself: got 'd2'"),
        ({"deployments": deployments(rollback_of=[None, "d9"])},
         "deployments row 2, column 'rollback_of': rollback of an unknown deployment: got 'd9'"),
        ({"deployments": deployments(),
          "changes": pd.DataFrame({"change_id": ["c1"], "committed_at": [ts("2026-01-05T09:00:00Z")],
                                   "deployment_id": ["d7"]})},
         "changes row 1, column 'deployment_id': unknown deployment: got 'd7'; expected a deployment_id listed in "
         "deployments, or empty"),
        ({"deployments": deployments(),
          "incidents": pd.DataFrame({"incident_id": ["i1"], "opened_at": [ts("2026-01-05T12:00:00Z")],
                                     "resolved_at": [ts("2026-01-05T11:00:00Z")]})},
         "incidents row 1, column 'resolved_at': resolved before it was opened"),
    ],
)  # fmt: skip
def test_each_rule_is_found_and_check_integrity_raises_the_first(frames, message):
    events = event_set(**frames)
    problems = integrity_problems(events)
    assert len(problems) == 1 and problems[0].startswith(message), problems
    with pytest.raises(InputError) as info:
        check_integrity(events)
    assert str(info.value) == problems[0] and info.value.exit_code == 2


def test_problems_are_listed_per_table_then_across_tables():
    events = event_set(
        deployments(deployment_id=["d1", "d1"], rollback_of=[None, "d9"]),
        pd.DataFrame({"change_id": ["c1", "c1"], "committed_at": [ts("2026-01-05T09:00:00Z")] * 2,
                      "deployment_id": [None, None]}),
    )  # fmt: skip
    problems = integrity_problems(events)
    assert [p.split(",")[0] for p in problems] == ["deployments row 2", "changes row 2", "deployments row 2"]
    assert "rollback of an unknown deployment" in problems[2]


def test_missing_ids_are_not_duplicates():
    frame = deployments(deployment_id=[None, None])
    assert integrity_problems(event_set(frame)) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2026-05-04T09:30:00Z", "2026-05-04T09:30:00Z"),
        ("2026-05-04T09:30:00z", "2026-05-04T09:30:00Z"),
        ("2026-05-04 11:30:00+02:00", "2026-05-04T09:30:00Z"),
        ("2026-05-04T11:30:00+0200", "2026-05-04T09:30:00Z"),
        ("2026-05-04T11:30:00+02", "2026-05-04T09:30:00Z"),
        ("2026-05-04T09:30:00.250-05:00", "2026-05-04T14:30:00.250Z"),
        ("  2026-05-04T09:30:00.000000001Z ", "2026-05-04T09:30:00.000000001Z"),
        ("", ""),
    ],
)
def test_parse_timestamp_accepted_forms(text, value):
    assert format_timestamp(parse_timestamp(text)) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-05-04 09:30:00", "timestamp without UTC offset"),
        ("2026-05-04", "timestamp without UTC offset"),
        ("1714815000", "unparsable timestamp"),
        ("yesterday", "unparsable timestamp"),
        ("2300-01-01T00:00:00Z", "timestamp out of range"),
    ],
)
def test_parse_timestamp_rejects(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_timestamp(text)
    if reason.endswith("offset"):
        assert format_timestamp(parse_timestamp(text, assume_utc=True)).endswith("Z")


def test_validate_cells_reports_the_first_bad_row_then_schema_order():
    cells = {
        "deployment_id": np.array(["d1", "d2", "d3"], dtype=object),
        "environment": np.array(["production", "", "production"], dtype=object),
        "finished_at": np.array(["2026-01-05T10:00:00Z", "bad", "2026-01-05T10:00:00Z"], dtype=object),
        "status": np.array(["Success", "success", "nope"], dtype=object),
    }
    result = validate_cells(EVENT_FILES["deployments"], cells)
    assert result.problem is not None
    assert (result.problem.row, result.problem.column, result.problem.reason) == (1, "environment",
                                                                                   "empty required value")
    cells["environment"][1] = "production"
    cells["finished_at"][1] = "2026-01-05T10:00:00Z"
    result = validate_cells(EVENT_FILES["deployments"], cells)
    assert result.problem is not None and (result.problem.row, result.problem.value) == (2, "nope")
    cells["status"][2] = "FAILURE"
    result = validate_cells(EVENT_FILES["deployments"], cells)
    assert result.problem is None and result.columns["status"].tolist() == ["success", "success", "failure"]
