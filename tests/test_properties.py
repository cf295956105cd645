"""Property tests (hypothesis): invariants of the DORA engine on random small event sets."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.model import event_set

T0 = pd.Timestamp("2026-01-01T00:00:00Z")
WINDOW = Window.parse("2026-01-08", "2026-01-22")
CONFIG = MetricsConfig(n_boot=100, tz="Europe/Berlin")
RATES = ("change_fail_rate", "rework_rate")


@st.composite
def event_sets(draw):
    n_dep = draw(st.integers(0, 14))
    hours = st.integers(0, 30 * 24)  # within 30 days of T0, window is days 7..21
    deployments = []
    for i in range(n_dep):
        earlier = [f"d{j}" for j in range(i)]
        deployments.append(
            {
                "deployment_id": f"d{i}",
                "environment": draw(st.sampled_from(["production", "production", "staging"])),
                "finished_at": T0 + pd.Timedelta(hours=draw(hours)),
                "status": draw(st.sampled_from(["success", "success", "failure"])),
                "kind": draw(st.sampled_from(["planned", "planned", "unplanned"])),
                "rollback_of": draw(st.sampled_from([None, None, *earlier])) if earlier else None,
                "first_deployment": i == 0,
            }
        )
    ids = [d["deployment_id"] for d in deployments]
    changes = [
        {
            "change_id": f"c{i}",
            "committed_at": T0 + pd.Timedelta(hours=draw(hours)),
            "deployment_id": draw(st.sampled_from([None, *ids])),
        }
        for i in range(draw(st.integers(0, 25)))
    ]
    incidents = []
    for i in range(draw(st.integers(0, 5))):
        opened = T0 + pd.Timedelta(hours=draw(hours))
        resolved = draw(st.sampled_from([None, 1, 5, 48]))
        incidents.append(
            {
                "incident_id": f"i{i}",
                "opened_at": opened,
                "resolved_at": None if resolved is None else opened + pd.Timedelta(hours=resolved),
                "deployment_id": draw(st.sampled_from([None, None, *ids])),
                "environment": draw(st.sampled_from([None, "production", "staging"])),
            }
        )
    return deployments, changes, incidents


def _build(deployments, changes, incidents, order=None):
    def frame(rows, columns):
        df = pd.DataFrame(rows, columns=columns)
        if order is not None and len(df):
            df = df.sample(frac=1.0, random_state=order).reset_index(drop=True)
        return df

    return event_set(
        frame(
            deployments,
            [
                "deployment_id",
                "environment",
                "finished_at",
                "status",
                "kind",
                "rollback_of",
                "first_deployment",
            ],
        )
        if deployments
        else None,
        frame(changes, ["change_id", "committed_at", "deployment_id"]) if changes else None,
        frame(incidents, ["incident_id", "opened_at", "resolved_at", "deployment_id", "environment"])
        if incidents
        else None,
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(event_sets())
def test_invariants(data):
    report = compute(_build(*data), WINDOW, CONFIG)
    d = report.to_dict()
    for name in RATES:
        m = d[name]
        if m["n"] == 0:
            assert m["value"] is None
            continue
        assert 0 <= m["ci_low"] <= m["value"] <= m["ci_high"] <= 1
    for name in ("deployment_frequency", "lead_time", "recovery_time"):
        m = report.metric(name)  # unrounded
        if m["value"] is not None:
            assert m["ci_low"] <= m["value"] <= m["ci_high"]
            assert m["value"] >= 0 and not math.isnan(m["value"])
    cfr = d["change_fail_rate"]
    assert cfr["failed"] <= cfr["deployments"]
    assert all(v <= cfr["failed"] for v in cfr["by_reason"].values())
    assert cfr["failed"] <= sum(cfr["by_reason"].values())
    rec = d["recovery_time"]
    assert rec["n"] + len(rec["unrecovered"]) + d["data_quality"]["negative_recovery_times"] == rec["failed"]
    assert rec["failed"] == cfr["failed"]
    assert d["rework_rate"]["deployments"] == d["deployment_frequency"]["deployments"]
    lt = report.lead_time
    if lt["n"]:
        assert lt["value"] <= lt["p75"] <= lt["p90"]


@SETTINGS
@given(event_sets(), st.integers(0, 2**16))
def test_row_order_does_not_matter(data, seed):
    a = compute(_build(*data), WINDOW, CONFIG)
    b = compute(_build(*data, order=seed), WINDOW, CONFIG)
    assert a.to_dict() == b.to_dict()
    key = ["change_id"]
    pd.testing.assert_frame_equal(
        a.lead_times.sort_values(key).reset_index(drop=True),
        b.lead_times.sort_values(key).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(a.deployments, b.deployments)
