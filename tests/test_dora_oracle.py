"""Differential test: the DORA engine against a naive oracle written from docs/metrics.md only.

``tests/oracle_dora.py`` re-implements every rule with plain loops. Hypothesis draws random event sets
(several environments, failed attempts, unplanned deployments, rollbacks, incidents with and without
``deployment_id``/``environment``/``resolved_at``, changes with PR times) with timestamps piled on the window
edges, local midnights and DST transitions, in four time zones, and every point value of the report is
compared: metric values, n, counts, tiers, by-reason counts, unrecovered lists, data-quality counts, the
weekly table, the per-change lead times and the per-deployment failure reasons and recoveries (confidence
intervals are not compared: the oracle has none). The bundled sample is compared over every 2-week
iteration as well.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_dora import oracle

from hivepulse.metrics.dora import MetricsConfig, Window, compute, iterations
from hivepulse.model import event_set
from hivepulse.sources.files import read_events

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
# Santiago changes clocks at local midnight (Saturday 24:00), Lord Howe by 30 minutes.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "America/Santiago",
    "Australia/Lord_Howe",
)
ENVS = ("production", "staging", "development")
# Window starts near DST transitions (Berlin 2026-03-29 01:00Z and 2026-10-25 01:00Z, Los Angeles
# 2026-03-08 10:00Z and 2026-11-01 09:00Z, Santiago 2026-04-05 03:00Z and 2026-09-06 04:00Z, Lord Howe
# 2026-04-04 15:00Z and 2026-10-03 15:30Z) and at odd instants (not midnight, not Monday).
STARTS = (
    "2026-03-23T00:00:00Z",
    "2026-03-28T22:59:59Z",
    "2026-03-02T08:00:00Z",
    "2026-10-24T23:00:00Z",
    "2026-10-26T00:00:00Z",
    "2026-10-31T07:30:00Z",
    "2026-01-05T00:00:00Z",
    "2026-01-04T18:30:00Z",
    "2026-04-01T00:00:00Z",
    "2026-09-03T12:00:00Z",
    "2026-09-28T13:00:00Z",
)
LENGTHS = (
    pd.Timedelta(days=1),
    pd.Timedelta(days=7),
    pd.Timedelta(days=14),
    pd.Timedelta(days=28),
    pd.Timedelta(days=30),
    pd.Timedelta(days=9, hours=13, seconds=1),
    pd.Timedelta(hours=5),
)


def _float_eq(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _num(x: object) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def _local_midnights(since: pd.Timestamp, until: pd.Timestamp, tz: str) -> list[pd.Timestamp]:
    """Local 00:00 of every day from a day before ``since`` to a day after ``until``, in UTC."""
    zone = ZoneInfo(tz)
    day = (since - pd.Timedelta(days=1)).tz_convert(tz).date()
    last = (until + pd.Timedelta(days=1)).tz_convert(tz).date()
    out = []
    while day <= last:
        out.append(
            pd.Timestamp(day.isoformat())
            .tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
            .tz_convert("UTC")
        )
        day += timedelta(days=1)
    return out


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from(ZONES))
    since = pd.Timestamp(draw(st.sampled_from(STARTS)))
    until = since + draw(st.sampled_from(LENGTHS))
    span = int((until - since).total_seconds())
    specials = [
        since,
        until,
        since - pd.Timedelta(seconds=1),
        until - pd.Timedelta(seconds=1),
        *draw(st.lists(st.sampled_from(_local_midnights(since, until, tz)), min_size=1, max_size=4)),
    ]
    instant = st.one_of(
        st.sampled_from(specials),
        st.integers(-3 * 86400, span + 3 * 86400).map(lambda s: since + pd.Timedelta(seconds=s)),
        st.integers(-2 * 24, (span // 3600) + 2 * 24).map(lambda h: since + pd.Timedelta(hours=h)),
    )
    config = MetricsConfig(
        environment=draw(st.sampled_from(("production", "production", "staging"))),
        tz=tz,
        incident_max_gap=draw(st.sampled_from((pd.Timedelta(days=7), pd.Timedelta(days=1), pd.Timedelta(0)))),
        include_first_deployment=draw(st.booleans()),
        default_incident_environment=draw(st.sampled_from(("production", "production", "staging"))),
        n_boot=20,
    )

    n_dep = draw(st.integers(0, 16))
    ids = [f"d{i}" for i in range(n_dep)]  # unpadded on purpose: "d10" < "d2" as strings
    deployments = []
    for dep_id in ids:
        others = [x for x in ids if x != dep_id]
        deployments.append(
            {
                "deployment_id": dep_id,
                "environment": draw(st.sampled_from(("production", "production", "production", *ENVS[1:]))),
                "finished_at": draw(instant),
                "status": draw(st.sampled_from(("success", "success", "success", "failure"))),
                "kind": draw(st.sampled_from(("planned", "planned", None, "unplanned"))),
                "rollback_of": draw(st.sampled_from((None, None, None, *others))) if others else None,
                "first_deployment": draw(st.sampled_from((False, False, False, True, None))),
            }
        )
    finish = {d["deployment_id"]: d["finished_at"] for d in deployments}

    hours_before = st.sampled_from((0, 1, 3, 30, 200, -2)).map(lambda h: pd.Timedelta(hours=h))
    changes = []
    for i in range(draw(st.integers(0, 24))):
        dep = draw(st.sampled_from((None, *ids))) if ids else None
        if dep is None:
            committed = draw(st.one_of(instant, st.none())) if draw(st.integers(0, 9)) == 0 else draw(instant)
        else:
            committed = finish[dep] - draw(hours_before) - pd.Timedelta(seconds=draw(st.integers(0, 3599)))
            if draw(st.integers(0, 11)) == 0:
                committed = None
        row = {"change_id": f"c{i}", "committed_at": committed, "deployment_id": dep}
        if committed is not None and draw(st.booleans()):
            opened = committed + pd.Timedelta(minutes=draw(st.integers(-30, 600)))
            review = draw(st.one_of(st.none(), st.integers(-60, 3000).map(lambda m: pd.Timedelta(minutes=m))))
            row["pr_number"] = 100 + i
            row["pr_opened_at"] = opened
            row["first_review_at"] = None if review is None else opened + review
            base = opened if review is None else opened + review
            merged = draw(st.one_of(st.none(), st.integers(-60, 3000).map(lambda m: pd.Timedelta(minutes=m))))
            row["merged_at"] = None if merged is None else base + merged
        changes.append(row)

    gaps = st.sampled_from(
        (
            pd.Timedelta(0),
            pd.Timedelta(seconds=1),
            pd.Timedelta(hours=2),
            pd.Timedelta(days=1),
            pd.Timedelta(days=1, seconds=1),
            pd.Timedelta(days=7),
            pd.Timedelta(days=7, seconds=1),
        )
    )
    incidents = []
    for i in range(draw(st.integers(0, 7))):
        if ids and draw(st.booleans()):
            opened = finish[draw(st.sampled_from(ids))] + draw(gaps)
        else:
            opened = draw(instant)
        resolved = draw(st.sampled_from((None, 0, 1, 30, 600, 5000)))
        incidents.append(
            {
                "incident_id": f"i{i}",
                "opened_at": opened,
                "resolved_at": None if resolved is None else opened + pd.Timedelta(minutes=resolved),
                "deployment_id": draw(st.sampled_from((None, None, *ids))) if ids else None,
                "environment": draw(st.sampled_from((None, "production", "staging"))),
            }
        )
    return Window(since, until), config, deployments, changes, incidents


def _events(deployments, changes, incidents):
    dep_cols = [
        "deployment_id",
        "environment",
        "finished_at",
        "status",
        "kind",
        "rollback_of",
        "first_deployment",
    ]
    chg_cols = [
        "change_id",
        "committed_at",
        "deployment_id",
        "pr_number",
        "pr_opened_at",
        "first_review_at",
        "merged_at",
    ]
    inc_cols = ["incident_id", "opened_at", "resolved_at", "deployment_id", "environment"]
    return event_set(
        pd.DataFrame(deployments, columns=dep_cols),
        pd.DataFrame(changes, columns=chg_cols),
        pd.DataFrame(incidents, columns=inc_cols),
    )


def assert_same(report, expected) -> None:
    """Every point value of ``report`` (engine) equals the oracle's ``expected``."""
    problems: list[str] = []

    def check(what: str, got, want) -> None:
        got = list(got) if isinstance(got, tuple) else got  # the report's sequences are tuples, the oracle's lists
        same = _float_eq(got, want) if isinstance(want, float) or isinstance(got, float) else got == want
        if not same:
            problems.append(f"{what}: engine {got!r} != oracle {want!r}")

    df, want_df = report.deployment_frequency, expected["deployment_frequency"]
    for key in (
        "value",
        "n",
        "deployments",
        "deployment_days",
        "per_day",
        "weeks",
        "median_deployment_days_per_week",
        "tier",
    ):
        check(f"deployment_frequency.{key}", df[key], want_df[key])
    got_weekly = [
        (str(w.week_start), int(w.deployments), int(w.deployment_days)) for w in report.weekly.itertuples()
    ]
    check("weekly", got_weekly, want_df["weekly"])

    lt, want_lt = report.lead_time, expected["lead_time"]
    for key in ("value", "n", "p75", "p90", "tier"):
        check(f"lead_time.{key}", lt[key], want_lt[key])
    rows = report.lead_times.sort_values("change_id")
    check("lead_times.change_id", list(rows["change_id"]), [r["change_id"] for r in want_lt["rows"]])
    if len(rows) == len(want_lt["rows"]):
        for (_, got), want in zip(rows.iterrows(), want_lt["rows"], strict=True):
            check(
                f"lead_times[{want['change_id']}].deployment_id", got["deployment_id"], want["deployment_id"]
            )
            for col in ("lead_time_hours", "coding_hours", "pickup_hours", "review_hours", "deploy_hours"):
                check(f"lead_times[{want['change_id']}].{col}", _num(got[col]), want[col])

    cfr, want_cfr = report.change_fail_rate, expected["change_fail_rate"]
    for key in ("value", "n", "deployments", "failed", "by_reason", "tier"):
        check(f"change_fail_rate.{key}", cfr[key], want_cfr[key])
    got_reasons = {
        r.deployment_id: (r.failure_reasons if isinstance(r.failure_reasons, str) else "")
        for r in report.deployments.itertuples()
    }
    check("deployments.failure_reasons", got_reasons, want_cfr["failure_reasons"])
    check(
        "deployments.counted",
        sorted(report.deployments.loc[report.deployments["counted"], "deployment_id"]),
        expected["counted"],
    )

    rt, want_rt = report.recovery_time, expected["recovery_time"]
    for key in ("value", "n", "failed", "unrecovered", "tier"):
        check(f"recovery_time.{key}", rt[key], want_rt[key])
    got_rec = {}
    for r in report.recoveries.itertuples():
        got_rec[r.deployment_id] = tuple(
            None if pd.isna(x) else x
            for x in (
                r.recovery_status,
                r.recovered_by,
                r.recovery_hours,
                r.incident_resolved_at,
                r.next_good_deployment_id,
            )
        )
    check("recoveries.ids", sorted(got_rec), sorted(want_rt["recoveries"]))
    for dep_id, want in want_rt["recoveries"].items():
        got = got_rec.get(dep_id, (None,) * 5)
        check(f"recoveries[{dep_id}].status", got[0], want[0])
        check(f"recoveries[{dep_id}].incident_resolved_at", got[3], want[3])
        check(f"recoveries[{dep_id}].next_good_deployment_id", got[4], want[4])
        if want[0] != "unrecovered":
            check(f"recoveries[{dep_id}].recovered_by", got[1], want[1])
            check(f"recoveries[{dep_id}].hours", _num(got[2]), want[2])

    rr, want_rr = report.rework_rate, expected["rework_rate"]
    for key in ("value", "n", "unplanned", "deployments", "tier"):
        check(f"rework_rate.{key}", rr[key], want_rr[key])

    for key, want in expected["data_quality"].items():
        check(f"data_quality.{key}", report.data_quality[key], want)
    assert not problems, "\n".join(problems)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(scenarios())
def test_engine_matches_oracle_on_random_event_sets(scenario):
    window, config, deployments, changes, incidents = scenario
    events = _events(deployments, changes, incidents)
    report = compute(events, window, config)
    assert_same(report, oracle(events, window.since, window.until, config))


@pytest.fixture(scope="module")
def sample_events():
    return read_events(SAMPLE)


@pytest.mark.parametrize(
    "config",
    [
        MetricsConfig(n_boot=20),
        MetricsConfig(n_boot=20, tz="America/Los_Angeles", incident_max_gap=pd.Timedelta(days=2)),
        MetricsConfig(n_boot=20, environment="staging", tz="Europe/Berlin", include_first_deployment=True),
    ],
    ids=["production-utc", "production-la-gap2d", "staging-berlin"],
)
def test_engine_matches_oracle_on_every_sample_iteration(sample_events, config):
    prod = sample_events.deployments
    finished = prod.loc[prod["environment"] == config.environment, "finished_at"]
    until = finished.max().floor("D") + pd.Timedelta(days=1)
    count = int((until - finished.min()) / pd.Timedelta(days=14)) + 2  # one more window before the first
    reports = iterations(sample_events, until, 14, count, config)
    assert len(reports) == count
    assert sum(r.metrics.deployment_frequency.n for r in reports) == int(
        ((prod["environment"] == config.environment) & (prod["status"] == "success")).sum()
    )
    for report in reports:
        assert_same(report, oracle(sample_events, report.window.since, report.window.until, config))


# ------------------------------------------------------------------ the tie and precedence rules, by hand

WEEK = Window.parse("2026-01-05", "2026-01-12")


def _dep(dep_id, at, status="success", kind="planned", rollback_of=None, first=False, env="production"):
    return {
        "deployment_id": dep_id,
        "environment": env,
        "finished_at": pd.Timestamp(at, tz="UTC"),
        "status": status,
        "kind": kind,
        "rollback_of": rollback_of,
        "first_deployment": first,
    }


def _inc(inc_id, opened, resolved=None, dep_id=None, env=None):
    return {
        "incident_id": inc_id,
        "opened_at": pd.Timestamp(opened, tz="UTC"),
        "resolved_at": None if resolved is None else pd.Timestamp(resolved, tz="UTC"),
        "deployment_id": dep_id,
        "environment": env,
    }


def _both(deployments, changes=(), incidents=(), config=None):
    config = config or MetricsConfig(n_boot=20)
    events = _events(list(deployments), list(changes), list(incidents))
    report = compute(events, WEEK, config)
    assert_same(report, oracle(events, WEEK.since, WEEK.until, config))
    return report


def _reasons(report) -> dict[str, str]:
    return {r.deployment_id: r.failure_reasons for r in report.deployments.itertuples()}


def test_tie_incident_resolution_and_next_good_deployment_is_recovered_by_incident():
    # d1 fails (named incident) at 10:00; the incident is resolved at 11:00, when d2 also finishes:
    # recovered_at = 11:00 either way, recovery 1.0 h, recovered_by "incident" (docs section 7).
    report = _both(
        [_dep("d1", "2026-01-06T10:00"), _dep("d2", "2026-01-06T11:00")],
        incidents=[_inc("i1", "2026-01-06T10:30", "2026-01-06T11:00", "d1")],
    )
    row = report.recoveries.iloc[0]
    assert (row["deployment_id"], row["recovered_by"], row["recovery_hours"]) == ("d1", "incident", 1.0)


def test_unplanned_fix_ties_use_the_greatest_id_and_strictly_before():
    # d2 and d10 (planned) finish at 10:00; "d2" > "d10" as strings, so the fix d3 (12:00) marks d2.
    report = _both(
        [
            _dep("d2", "2026-01-06T10:00"),
            _dep("d10", "2026-01-06T10:00"),
            _dep("d3", "2026-01-06T12:00", kind="unplanned"),
        ]
    )
    assert _reasons(report) == {"d10": "", "d2": "unplanned_fix", "d3": ""}
    # a planned deployment at the same instant as the fix is not before it: the fix marks d1 (09:00)
    report = _both(
        [
            _dep("d1", "2026-01-06T09:00"),
            _dep("d2", "2026-01-06T10:00"),
            _dep("d3", "2026-01-06T10:00", kind="unplanned"),
        ]
    )
    assert _reasons(report) == {"d1": "unplanned_fix", "d2": "", "d3": ""}
    # a second hotfix looks past the first one and marks the same planned deployment (counted once)
    report = _both(
        [
            _dep("p1", "2026-01-06T09:00"),
            _dep("u1", "2026-01-06T10:00", kind="unplanned"),
            _dep("u2", "2026-01-06T11:00", kind="unplanned"),
        ]
    )
    assert _reasons(report) == {"p1": "unplanned_fix", "u1": "", "u2": ""}
    assert report.metrics.change_fail_rate.failed == 1  # 1/3
    # an unplanned deployment of another environment fixes nothing here
    report = _both(
        [_dep("p1", "2026-01-06T09:00"), _dep("s1", "2026-01-06T10:00", kind="unplanned", env="staging")]
    )
    assert _reasons(report) == {"p1": ""}


def test_incident_attribution_tie_uses_the_greatest_id_and_the_gap_is_inclusive():
    report = _both(
        [_dep("d2", "2026-01-06T10:00"), _dep("d10", "2026-01-06T10:00")],
        incidents=[_inc("i1", "2026-01-06T10:30")],
    )
    assert _reasons(report) == {"d10": "", "d2": "incident"}
    # opened exactly 1 day after d1 with a 1-day gap: attributed; 1 day + 1 s: unattributed
    config = MetricsConfig(n_boot=20, incident_max_gap=pd.Timedelta(days=1))
    report = _both(
        [_dep("d1", "2026-01-06T10:00")], incidents=[_inc("i1", "2026-01-07T10:00")], config=config
    )
    assert _reasons(report) == {"d1": "incident"}
    report = _both(
        [_dep("d1", "2026-01-06T10:00")], incidents=[_inc("i1", "2026-01-07T10:00:01")], config=config
    )
    assert _reasons(report) == {"d1": ""} and report.data_quality.unattributed_incidents == 1


def test_next_good_deployment_tie_takes_the_smallest_id_that_is_not_failed():
    # d1 failed at 10:00; at 11:00 finish "g2" (rolled back by r) and "g10": the first good one is g10,
    # and "g10" < "g2" anyway; recovery 1.0 h by deployment.
    report = _both(
        [
            _dep("d1", "2026-01-06T10:00", status="failure"),
            _dep("g2", "2026-01-06T11:00"),
            _dep("g10", "2026-01-06T11:00"),
            _dep("r", "2026-01-06T12:00", rollback_of="g2"),
        ]
    )
    rec = report.recoveries.set_index("deployment_id")
    assert rec.loc["d1", "next_good_deployment_id"] == "g10" and rec.loc["d1", "recovery_hours"] == 1.0


def test_a_negative_incident_resolution_excludes_the_deployment_even_with_a_next_good_one():
    # d1 finishes 10:00, named incident resolved 09:00 (-1 h) < next good d2 at 12:00: negative, excluded.
    report = _both(
        [_dep("d1", "2026-01-06T10:00"), _dep("d2", "2026-01-06T12:00")],
        incidents=[_inc("i1", "2026-01-06T08:00", "2026-01-06T09:00", "d1")],
    )
    assert report.metrics.recovery_time.n == 0 and report.metrics.recovery_time.failed == 1
    assert report.data_quality.negative_recovery_times == 1


def test_each_change_lands_in_one_bucket_in_the_documented_order():
    deployments = [
        _dep("first", "2026-01-06T10:00", first=True),
        _dep("bad", "2026-01-06T11:00", status="failure"),
        _dep("ok", "2026-01-06T12:00"),
    ]
    changes = [
        {
            "change_id": "c1",
            "committed_at": pd.Timestamp("2026-01-06T13:00Z"),
            "deployment_id": "first",
        },  # first
        {"change_id": "c2", "committed_at": None, "deployment_id": "first"},  # first (before missing)
        {"change_id": "c3", "committed_at": None, "deployment_id": "bad"},  # failed attempt (before missing)
        {
            "change_id": "c4",
            "committed_at": pd.Timestamp("2026-01-07T00:00Z"),
            "deployment_id": "bad",
        },  # failed
        {"change_id": "c5", "committed_at": None, "deployment_id": "ok"},  # missing commit time
        {
            "change_id": "c6",
            "committed_at": pd.Timestamp("2026-01-06T12:00:01Z"),
            "deployment_id": "ok",
        },  # < 0
        {
            "change_id": "c7",
            "committed_at": pd.Timestamp("2026-01-06T12:00Z"),
            "deployment_id": "ok",
        },  # 0 h, kept
        {
            "change_id": "c8",
            "committed_at": pd.Timestamp("2025-01-01T00:00Z"),
            "deployment_id": None,
        },  # undeployed
        {
            "change_id": "c9",
            "committed_at": pd.Timestamp("2026-01-12T00:00Z"),
            "deployment_id": None,
        },  # at until: no
    ]
    report = _both(deployments, changes)
    q = report.data_quality
    assert (
        q.first_deployment_changes_excluded,
        q.changes_on_failed_deployments,
        q.missing_commit_times,
        q.negative_lead_times,
        q.undeployed_changes,
    ) == (2, 2, 1, 1, 1)
    assert report.metrics.lead_time.n == 1 and report.metrics.lead_time.value == 0.0
