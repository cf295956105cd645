"""Window parsing, window edges and configuration checks."""

from __future__ import annotations

import pandas as pd
import pytest
from test_dora_helpers import D, build, run

from hivepulse.errors import InputError
from hivepulse.metrics.dora import MetricsConfig, Window


def test_date_only_is_midnight_utc():
    w = Window.parse("2026-04-27", "2026-05-25")
    assert w.since == pd.Timestamp("2026-04-27T00:00:00Z")
    assert w.until == pd.Timestamp("2026-05-25T00:00:00Z")
    assert w.days == 28.0  # 4 weeks


def test_offsets_are_converted_and_naive_is_utc():
    # 01:30 at +02:00 is 23:30 UTC the day before
    w = Window.parse("2026-01-05T01:30:00+02:00", "2026-01-05T10:00:00")
    assert w.since == pd.Timestamp("2026-01-04T23:30:00Z")
    assert w.until == pd.Timestamp("2026-01-05T10:00:00Z")
    assert w.days == pytest.approx(10.5 / 24)  # 23:30 -> 10:00 = 10.5 h


@pytest.mark.parametrize("since,until", [("2026-01-05", "2026-01-05"), ("2026-01-06", "2026-01-05")])
def test_until_must_be_after_since(since, until):
    with pytest.raises(InputError, match="until must be after since"):
        Window.parse(since, until)


def test_bad_date_names_the_field():
    with pytest.raises(InputError) as err:
        Window.parse("last tuesday", "2026-01-05")
    assert "since" in str(err.value) and "\n" not in str(err.value)


def test_previous_window_has_same_length():
    w = Window.parse("2026-01-15", "2026-01-29")
    assert w.previous() == Window.parse("2026-01-01", "2026-01-15")


def test_window_edges_since_inclusive_until_exclusive():
    events = build(
        [
            D("at-since", "2026-01-05T00:00:00Z"),  # == since: counted
            D("before", "2026-01-04T23:59:59Z"),  # 1 s before since: not counted
            D("last-second", "2026-01-11T23:59:59Z"),  # counted
            D("at-until", "2026-01-12T00:00:00Z"),  # == until: not counted
        ]
    )
    r = run(events, "2026-01-05", "2026-01-12")
    assert r.metrics.deployment_frequency.deployments == 2
    assert sorted(r.deployments["deployment_id"]) == ["at-since", "last-second"]


def test_unknown_time_zone_is_input_error():
    with pytest.raises(InputError, match="unknown time zone"):
        MetricsConfig(tz="Mars/Olympus")


def test_unknown_tier_edition_is_input_error():
    with pytest.raises(InputError, match="tier edition"):
        MetricsConfig(tier_edition="1999")
