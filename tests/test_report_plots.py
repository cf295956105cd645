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


# ---------------------------------------------------------------------------------------------- readability


def _texts(fig):
    out = [t for ax in fig.axes for t in (*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label,
                                          *ax.get_xticklabels(), *ax.get_yticklabels()) if t.get_text()]
    for legend in [*(ax.get_legend() for ax in fig.axes), *fig.legends]:
        if legend is not None:
            out += list(legend.get_texts())
    return out


@pytest.mark.parametrize("make", [
    lambda: plots.trend(HISTORY, "lead_time"),
    lambda: plots.lead_time_distribution(LEAD),
    lambda: plots.stage_breakdown(LEAD),
    lambda: plots.deployment_timeline(DEPS, "2026-05-11", "2026-05-25"),
])
def test_text_is_at_least_10_pt_at_the_drawn_size(make):
    fig = make()
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in _texts(fig)]
    assert sizes and min(sizes) >= plots.MIN_PT == 10


def test_wide_charts_span_the_content_width_and_trends_a_third():
    for fig in (plots.lead_time_distribution(LEAD), plots.stage_breakdown(LEAD), plots.deployment_timeline(DEPS)):
        assert round(fig.get_figwidth() * plots.DPI) == plots.CONTENT_WIDTH_PX == 1140
    assert round(plots.trend(HISTORY, "lead_time").get_figwidth() * plots.DPI) == (1140 - 24) // 3


def test_lead_time_ticks_read_in_hours_days_and_weeks():
    hours = pd.DataFrame({"lead_time_hours": [0.5, 3.0, 30.0, 200.0]})
    ax = plots.lead_time_distribution(hours).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert {"1 h", "1 d", "1 w"} <= set(labels) and not [x for x in labels if "10^" in x or "$" in x]
    assert plots.human_hour_ticks(1, 24) == [(1, "1 h"), (2, "2 h"), (4, "4 h"), (8, "8 h"), (12, "12 h"),
                                               (24, "1 d")]
    assert [plots.hours_text(h) for h in (0.75, 5.25, 74.4, 400)] == ["45 min", "5.2 h", "3.1 d", "2.4 w"]


def test_stage_breakdown_adds_up_to_the_median():
    from hivepulse.retro.tables import stage_breakdown

    # lead times 1, 5, 30 h with all four stages (they add up to each lead time) and a 2 h direct push without
    # pull-request times: median 3.5 h; summed lead time 38 h, of it 2 h unattributed
    table = pd.concat([LEAD, pd.DataFrame({"lead_time_hours": [2.0]})], ignore_index=True)
    parts = stage_breakdown(table)
    assert parts is not None and parts.median_hours == 3.5 and parts.n == 4 and parts.n_with_stages == 3
    shares = {p.stage: p.share for p in parts.parts}
    assert shares["coding"] == pytest.approx(3.5 / 38) and shares["pickup"] == pytest.approx(23.2 / 38)
    assert shares["unattributed"] == pytest.approx(2 / 38)
    assert sum(p.hours for p in parts.parts) == pytest.approx(parts.median_hours)
    assert parts.part("pickup").median_hours == 3.0  # the stage's own median (0.2, 3, 20)
    fig = plots.stage_breakdown(table)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[-1].startswith("unattributed: ") and len(labels) == 5


def test_timeline_marks_outages_and_unrecovered_failures_as_red_bands():
    deps = pd.concat([DEPS, pd.DataFrame({"finished_at": pd.to_datetime(["2026-05-20T10:00Z"]), "failed": [True],
                                          "kind": ["planned"], "rollback_of": [None],
                                          "recovered_at": pd.to_datetime([None])})], ignore_index=True)
    fig = plots.deployment_timeline(deps, "2026-05-11", "2026-05-25")
    main = fig.axes[1]
    bands = [p for p in main.patches if p.get_facecolor()[0] > 0.9 and p.get_facecolor()[1] < 0.6]
    assert len(bands) == 2  # one recovered outage, one never recovered (to the window's end)
    assert sorted(p.get_hatch() or "" for p in bands) == ["", "//"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "failed until recovered" in labels and "never recovered" in labels
    markers = {c.get_label().split(" (")[0] for c in main.collections}
    assert markers == {"success", "hotfix", "rollback", "failed"}  # shapes tell them apart
