"""Each chart renders to a PNG, with data and without."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from hivepulse.report import plots

PNG = b"\x89PNG\r\n\x1a\n"


def metric(until, value, lo, hi, covered=True):
    return plots.TrendPoint(until=until, value=value, ci_low=lo, ci_high=hi, n=10, covered=covered)


HISTORY = [metric(date(2026, m, 1), v, v - 5, v + 5) for m, v in ((3, 40.0), (4, 30.0), (5, 20.0))]
LEAD = pd.DataFrame({"lead_time_hours": [1.0, 5.0, 30.0], "coding_hours": [0.5, 1, 2], "pickup_hours": [0.2, 3, 20],
                     "review_hours": [0.1, 0.5, 5], "deploy_hours": [0.2, 0.5, 3]})
DEPS = pd.DataFrame({
    "finished_at": pd.to_datetime(["2026-05-12T10:00Z", "2026-05-13T10:00Z", "2026-05-13T12:00Z", "2026-05-14T09:00Z"]),
    "failed": [False, True, False, False], "kind": ["planned", "planned", "unplanned", "planned"],
    "rollback_of": [None, None, None, "d1"],
    "recovered_at": pd.to_datetime([None, "2026-05-13T12:00Z", None, None]),
})


@pytest.mark.parametrize("fig", [
    lambda: plots.trend(HISTORY, "lead_time"),
    lambda: plots.trend([], "rework_rate"),
    lambda: plots.lead_time_distribution(LEAD),
    lambda: plots.lead_time_distribution(LEAD.iloc[0:0]),
    lambda: plots.stage_breakdown(LEAD),
    lambda: plots.stage_breakdown(None),
    lambda: plots.deployment_timeline(DEPS, "2026-05-11", "2026-05-25"),
    lambda: plots.deployment_timeline(DEPS.iloc[0:0]),
])
def test_chart_renders_png(fig):
    data = plots.png(fig())
    assert data.startswith(PNG) and len(data) > 2000


def test_trend_labels_carry_n_and_mark_windows_outside_the_data():
    history = [metric(date(2026, 3, 1), 0.0, 0.0, 0.0, covered=False), *HISTORY[1:]]
    fig = plots.trend(history, "lead_time")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["03-01\nno data", "04-01\nn=10", "05-01\nn=10"]
    line = ax.get_lines()[0]  # the value line: no point outside the data (NaN), the others plotted
    ys = list(line.get_ydata())
    assert ys[0] != ys[0] and ys[1:] == [30.0, 20.0]


def test_lead_time_lines_are_drawn_above_the_bars():
    ax = plots.lead_time_distribution(LEAD).axes[0]
    bars = max(p.get_zorder() for p in ax.patches)
    assert all(line.get_zorder() > bars for line in ax.get_lines())


def test_empty_charts_say_why():
    def text(fig):
        return [t.get_text() for t in fig.axes[0].texts]

    assert text(plots.stage_breakdown(LEAD.iloc[0:0])) == ["no change deployed in the iteration"]
    assert text(plots.stage_breakdown(LEAD[["lead_time_hours"]])) == ["no pull-request times in the data"]
    assert text(plots.lead_time_distribution(None)) == ["no change deployed in the iteration (n=0)"]


def test_trend_points_come_from_the_engines_reports():
    from test_dora_helpers import D, build, run

    from hivepulse.retro.facts import Iteration

    events = build([D(f"d{i}", f"2026-01-{i:02d}T10:00:00Z") for i in range(1, 15)])
    reports = [run(events, "2026-01-01", "2026-01-08"), run(events, "2026-01-08", "2026-01-15")]
    points = plots.trend_points([Iteration(reports[0], covered=False), Iteration(reports[1])], "deployment_frequency")
    assert [(p.until, p.value, p.n, p.covered) for p in points] == [
        (date(2026, 1, 8), 7.0, 7, False), (date(2026, 1, 15), 7.0, 7, True)]
    assert points[1].ci_low == reports[1].deployment_frequency.ci_low
