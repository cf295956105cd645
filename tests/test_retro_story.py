"""A story that holds (issue 13 item 2), the drill-down tables (item 4), owners (item 3) and the verdict digits:
hand-computed cases through the library, no kernel."""

from __future__ import annotations

import dataclasses
import json

import pytest
from jupyterlab_styles import assert_jupyterlab_styles
from test_dora_helpers import C, D, I, build, run

from hivepulse.errors import InputError
from hivepulse.metrics.dora import MetricsConfig, iterations
from hivepulse.report import html as report_html
from hivepulse.report import sections as S
from hivepulse.retro import ledger as led
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.analysis import RetroParams, analyze
from hivepulse.retro.boardlink import BoardLink
from hivepulse.retro.catalog import load_catalog
from hivepulse.retro.claims import claims
from hivepulse.retro.drilldown import failed_deployments, slowest_changes
from hivepulse.retro.facts import Iteration, Measurement
from hivepulse.retro.fmt import comparison_text, fmt_pair
from hivepulse.retro.measure import measurements
from hivepulse.retro.result import movement

# three weeks: W1 [01-05, 01-12), W2 [01-12, 01-19), W3 [01-19, 01-26)


def _week(start_day: int, *, fail_day: int | None = None, recover_hours: float = 0.5, extra: bool = False):
    deps, changes = [], []
    for day in range(start_day, start_day + 7):
        dep = f"w{start_day}d{day}"
        status = "failure" if day == fail_day else "success"
        deps.append(D(dep, f"2026-01-{day:02d}T10:00:00Z", status))
        changes.append(C(f"c{dep}", f"2026-01-{day:02d}T08:00:00Z", dep))  # lead time 2 h
        if day == fail_day:
            minutes = int(recover_hours * 60)
            deps.append(D(f"{dep}r", f"2026-01-{day:02d}T{10 + minutes // 60:02d}:{minutes % 60:02d}:00Z"))
            changes.append(C(f"c{dep}r", f"2026-01-{day:02d}T09:00:00Z", f"{dep}r"))
    if extra:
        deps.append(D(f"w{start_day}x", f"2026-01-{start_day + 4:02d}T15:00:00Z"))
    return deps, changes


def three_weeks():
    w1 = _week(5)
    w2 = _week(12, fail_day=14, recover_hours=0.5, extra=True)  # recovery 0.5 h: elite; 8 successes
    w3 = _week(19, fail_day=21, recover_hours=2.0)  # recovery 2 h: high (dropped a tier); 7 successes
    return build(w1[0] + w2[0] + w3[0], w1[1] + w2[1] + w3[1])


@pytest.fixture(scope="module")
def weeks():
    events = three_weeks()
    reports = iterations(events, until="2026-01-26", days=7, count=3, config=MetricsConfig(n_boot=200))
    from hivepulse.metrics.dora import compare

    current = reports[-1].with_comparison(compare(reports[-1], reports[-2])).published()
    history = [Iteration(r.published()) for r in reports[:-1]]
    return events, current, history


def texts(items):
    return [c.text for c in items]


def test_tier_drop_is_to_improve_and_never_celebrated(weeks):
    _, current, history = weeks
    story = claims(current, history)
    drop = [c for c in story.to_improve if c.kind == "tier_drop"]
    assert texts(drop) == ["Dropped a tier: recovery time median elite -> high from 0.5 h (n=1) to 2.0 h (n=1, "
                           "CI 2.0-2.0 h, tier high) (small sample, read with care); the change is not significant, "
                           "p=1.000"]
    assert [c.kind for c in story.to_improve] == ["tier_drop", "below_tier"]  # drops, regressions, below high
    assert not [c for c in story.went_well if c.metric == "recovery_time"]  # no elite, no streak
    # deployment frequency: elite in all three weeks (a streak), 8 -> 7 successes: worse, not significant
    assert [c.kind for c in story.went_well if c.metric == "deployment_frequency"] == ["elite", "streak"]
    assert [c.metric for c in story.watch] == ["deployment_frequency", "change_fail_rate"]
    assert story.watch[0].text == ("Watch: deployment frequency from 8.00/week (n=8) to 7.00/week (n=7, CI "
                                   "2.81-14.4/week, tier elite): worse, but not significantly (p=1.000)")
    # change fail rate 1/9 -> 1/8: medium both weeks: a fact below high, no drop
    assert [c.kind for c in story.to_improve if c.metric == "change_fail_rate"] == ["below_tier"]


def test_a_significant_worsening_blocks_went_well(weeks):
    _, current, history = weeks
    comp = current.comparison
    assert comp is not None
    worse = dataclasses.replace(comp.lead_time, significant=True, direction="regressed", p_value=0.001, delta=1.0,
                                previous_value=1.0)
    faked = current.with_comparison(dataclasses.replace(comp, lead_time=worse))
    story = claims(faked, history)
    assert [c.kind for c in story.to_improve if c.metric == "lead_time"] == ["regressed"]
    assert not [c for c in story.went_well if c.metric == "lead_time"]  # lead time is elite, but not celebrated


def test_arrows_follow_polarity_and_significance(weeks):
    _, current, _ = weeks
    df = movement(current, "deployment_frequency")
    assert (df.arrow, df.verdict, df.tone) == ("▼", "no significant change", "neutral")
    assert df.text == "▼ from 8.00/week (worse), no significant change (p=1.000)"
    rec = movement(current, "recovery_time")
    assert rec.text == "▲ from 0.5 h (worse), no significant change (p=1.000)"
    lt = movement(current, "lead_time")
    assert lt.arrow == "=" and lt.text.startswith("= same as 2.0 h, no significant change")
    comp = current.comparison
    assert comp is not None
    better = dataclasses.replace(comp.recovery_time, significant=True, direction="improved", p_value=0.004,
                                 delta=-1.5)
    faked = current.with_comparison(dataclasses.replace(comp, recovery_time=better))
    moved = movement(faked, "recovery_time")
    assert (moved.arrow, moved.verdict, moved.tone) == ("▼", "better", "good")
    assert moved.text == "▼ better than 0.5 h (significant, p=0.004)"


def test_story_lists_the_signal_behind_every_action(tmp_path):
    events = three_weeks()
    result = analyze(RetroParams(since="2026-01-19", until="2026-01-26", previous_iterations=2,
                                 output_dir=str(tmp_path / "ws"), findings=""), events=events)
    assert result.actions, "the week has signals (change fail rate, recovery below elite)"
    story = result.story()
    behind = [c for c in story.to_improve if c.kind == "action"]
    assert [c.text for c in behind] == [f"Behind action #{a.rank} ({a.title}): {a.evidence}" for a in result.actions]
    assert story.to_improve[: len(behind)] == behind  # first
    record = json.loads(result.record_files()["metrics.json"])
    assert [c["kind"] for c in record["claims"]["to_improve"]][: len(behind)] == ["action"] * len(behind)
    assert "watch" in record["claims"]
    readme = result.readme()
    assert readme.index("## Action items") < readme.index("## Follow-up") < readme.index("## What to improve") \
        < readme.index("## What went well") < readme.index("## Trends")
    html = S.went_well_html(result)
    assert html.index('data-kind="to_improve"') < html.index('data-kind="went_well"')


# ---------------------------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("value,comparator,target,text", [
    (0.99916, "<", 1.0, "0.999 h < 1 h"),
    (1.00004, "<", 1.0, "1.00004 h >= 1 h"),
    (1.6, "<", 1.0, "1.6 h >= 1.0 h"),
    (26.04, "<=", 26.0, "26.04 h > 26 h"),
    (26.0, "<=", 26.0, "26 h <= 26 h"),
])
def test_verdicts_print_enough_digits(value, comparator, target, text):
    assert comparison_text("recovery_time", value, comparator, target) == text


def test_fmt_pair_rates_and_frequency():
    assert fmt_pair("change_fail_rate", 0.0501, 0.05) == ("5.01%", "5%")
    assert fmt_pair("deployment_frequency", 6.99999, 7.0) == ("6.99999/week", "7/week")
    assert fmt_pair("lead_time", 3.0, 4.0) == ("3.0 h", "4.0 h")  # different already: as fmt_value writes them


def test_follow_up_judges_the_unrounded_value():
    # recovery 59 min 59.7 s = 0.999917 h, published as 0.9999 (and as "1.0 h" by fmt_value)
    events = build([D("d1", "2026-01-05T10:00:00Z", "failure"), D("d2", "2026-01-05T10:59:59.700Z")],
                   [C("c1", "2026-01-05T09:00:00Z", "d2")])
    report = run(events, "2026-01-01", "2026-01-15").published()
    meas = measurements(report)
    assert meas["recovery_time"].value == pytest.approx(0.9999166667) and meas["recovery_time"].rounded_in_record
    assert meas["recovery_time"].to_dict() == {"value": 0.9999, "n": 1}
    item = ActionItem(id="it/automated-rollback", action_id="automated-rollback", title="Roll back", practice="p",
                      signal="below_tier", metric="recovery_time", evidence="e", watch="recovery_time",
                      baseline=1.6, comparator="<", target=1.0, target_text="recovery_time < 1.0 h (elite)",
                      due="2026-01-29", reach=1.0, impact=1.0, confidence=1.0, effort=1.0)
    follow = led.follow_up([item], meas)[0]
    assert follow.verdict == "met" and follow.why == "0.9999 h < 1 h"
    assert follow.summary == ("recovery_time 1.6 h -> 1.0 h (n=1), target recovery_time < 1.0 h (elite): met "
                              "(0.9999 h < 1 h)")
    assert follow.to_dict()["now"] == 0.9999  # the record keeps the published rounding
    late = led.follow_up([item], {"recovery_time": Measurement(1.00004, 1)})[0]
    assert late.verdict == "not met" and late.summary.endswith(": not met (1.00004 h >= 1 h)")
    carried = led.carry_over([item], [late])[0]
    assert carried.evidence == "not met at this retro: recovery_time 1.6 h -> 1.0 h (n=1), target recovery_time " \
                               "< 1.0 h (elite)"


# ---------------------------------------------------------------------------------------------- drill-down


def drill_events():
    return build(
        [
            D("d1", "2026-02-03T10:00:00Z"),
            D("d2", "2026-02-04T10:00:00Z"),
            D("d3", "2026-02-04T10:30:00Z", rollback_of="d2"),
            D("d4", "2026-02-05T10:00:00Z", "failure"),
            D("d5", "2026-02-06T10:00:00Z"),
            D("d6", "2026-02-06T12:00:00Z", kind="unplanned"),
            D("d7", "2026-02-07T10:00:00Z"),
            D("d8", "2026-02-09T10:00:00Z"),
        ],
        [
            C("c1aaaaaaaaaaaaaaaa", "2026-02-01T10:00:00Z", "d1", pr_number=7, title="feat: cache (#7)",
              pr_opened_at="2026-02-01T12:00:00Z", first_review_at="2026-02-02T12:00:00Z",
              merged_at="2026-02-03T09:00:00Z"),
            C("c2", "2026-02-03T09:00:00Z", "d1"),
            C("c5", "2026-02-06T09:00:00Z", "d5"),
            C("c8", "2026-02-07T10:00:00Z", "d8", pr_number=42, title="fix: thanks @alice (alice@example.com)"),
        ],
        [
            I("i1", "2026-02-03T11:00:00Z", "2026-02-03T13:00:00Z", deployment_id="d1"),
            I("revert:abc123def456", "2026-02-07T12:00:00Z", "2026-02-08T08:00:00Z", deployment_id="d7"),
            I("i2", "2026-02-09T11:00:00Z", deployment_id="d8"),
        ],
    )


def test_failed_deployments_say_what_failed_them():
    report = run(drill_events(), "2026-02-02", "2026-02-16")
    rows = [(f.deployment_id, f.what, f.recovery, f.changes) for f in failed_deployments(report)]
    assert rows == [
        ("d1", "incident i1", "3.0 h (incident resolved)", 2),  # 10:00 -> incident resolved 13:00
        ("d2", "rolled back by d3", "0.5 h (next good deployment)", 0),  # the rollback at 10:30
        ("d4", "status failure", "26 h (next good deployment)", 0),  # d5 failed too: d6 at 02-06 12:00
        ("d5", "unplanned fix d6", "2.0 h (next good deployment)", 1),
        ("d7", "revert (revert:abc123def456)", "22 h (incident resolved)", 0),  # d8 failed: the incident, 08:00
        ("d8", "incident i2", "not recovered", 1),
    ]
    assert failed_deployments(report)[0].finished == "2026-02-03 10:00"


def test_slowest_changes_with_pr_and_stages_and_no_author():
    events = drill_events()
    report = run(events, "2026-02-02", "2026-02-16")
    rows = slowest_changes(report, events, limit=3)
    assert [(r.change_id, r.pr_number, r.lead_time_hours) for r in rows] == [
        ("c1aaaaaaaaaa", 7, 48.0), ("c8", 42, 48.0), ("c2", None, 1.0)]  # ties: change id
    assert rows[0].stages == (2.0, 24.0, 21.0, 1.0) and rows[0].stage_text("pickup") == "24 h"
    assert rows[1].title == "fix: thanks (someone) ((someone))" and rows[1].stage_text("coding") == "-"


# ---------------------------------------------------------------------------------------------- owners


def test_owner_from_actions_yaml_is_a_role(tmp_path):
    yaml = tmp_path / "actions.yaml"
    yaml.write_text("actions:\n  - id: automated-rollback\n    owner: on-call pair\n", encoding="utf-8")
    entry = {e.id: e for e in load_catalog(yaml)}["automated-rollback"]
    assert entry.owner == "on-call pair"
    for bad in ("alice@example.com", "@alice", "a\nb", "x" * 81):
        yaml.write_text(f"actions:\n  - id: automated-rollback\n    owner: {json.dumps(bad)}\n", encoding="utf-8")
        with pytest.raises(InputError) as err:
            load_catalog(yaml)
        assert "automated-rollback.owner" in str(err.value) and "line 3" in str(err.value)
        assert "blameless" in str(err.value)


def test_owner_text_never_shows_a_login():
    item = ActionItem(id="i/x", action_id="x", title="t", practice="p", signal="below_tier", metric="lead_time",
                      evidence="e", watch="lead_time", baseline=None, comparator="<", target=None, target_text="",
                      due="d", reach=1, impact=1, confidence=1, effort=1)
    assert item.owner_text == ""
    link = BoardLink(repository="team/board", number=12, url="https://github.com/team/board/issues/12",
                     state="open", assignees=1)
    on_board = dataclasses.replace(item, board=link)
    assert on_board.owner_text == "assigned on GitHub (#12)"
    assert ActionItem.from_dict(on_board.to_dict()).owner_text == "assigned on GitHub (#12)"
    assert dataclasses.replace(on_board, owner="platform team").owner_text == "platform team"
    unassigned = dataclasses.replace(item, board=dataclasses.replace(link, assignees=0))
    assert unassigned.owner_text == ""


def test_owner_reaches_the_report(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "actions.yaml").write_text("actions:\n  - id: end-to-end-tests\n    owner: release squad\n",
                                     encoding="utf-8")
    result = analyze(RetroParams(since="2026-01-19", until="2026-01-26", previous_iterations=2, output_dir=str(ws),
                                 findings=""), events=three_weeks())
    owners = {a.action_id: a.owner for a in result.actions}
    assert owners.get("end-to-end-tests") == "release squad"
    html = S.actions_html(result)
    assert "release squad" in html and "never a person" in html and "hivepulse actions sync" in html
    assert "| release squad |" in result.readme()


# ---------------------------------------------------------------------------------------------- page


def test_headline_fragment_needs_no_style_element(tmp_path):
    result = analyze(RetroParams(since="2026-01-19", until="2026-01-26", previous_iterations=2,
                                 output_dir=str(tmp_path / "ws"), findings=""), events=three_weeks())
    html = S.headline_html(result)
    assert_jupyterlab_styles(html)
    assert html.count("hp-arrow") == 5  # every metric has a previous iteration here
    assert "Quick Check" in html
    page = report_html.render_report(result)
    assert "<title>Retro 2026-01-19_2026-01-26 · production · hivepulse</title>" in page
    for fragment in (S.actions_html, S.followup_html, S.went_well_html, S.trends_html, S.lead_time_html,
                     S.deployments_html, S.what_shipped_html, S.notes_html):
        assert "<style" not in fragment(result)
