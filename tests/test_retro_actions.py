"""Action catalog, RICE scoring, targets and selection (hand-computed scores)."""

from __future__ import annotations

import csv
import io

import pytest

from hivepulse.errors import InputError
from hivepulse.retro import actions as act
from hivepulse.retro.facts import Measurement, Signal

METRICS = {"lead_time": "high", "deployment_frequency": "elite"}  # the tiers of this iteration's metrics
MEAS = {"lead_time": Measurement(31.0, 28), "pickup_hours_median": Measurement(20.0, 28)}


def pickup_signal(reach=1.0, confidence=0.8):
    return Signal("dominant_stage", "lead_time", "lead time median 31 h ..., pickup is 65% of it", reach, 1.0,
                  confidence, stage="pickup", value=0.645, n=28, tier="high")


def test_shipped_catalog_is_valid_and_covers_every_signal_kind():
    catalog = act.load_catalog()
    ids = [e.id for e in catalog]
    assert len(ids) == len(set(ids))
    kinds = {e.signal.kind for e in catalog}
    assert kinds == {"below_tier", "regression", "dominant_stage", "big_batches", "unrecovered_failures",
                     "missing_data", "finding"}
    assert all(e.effort > 0 and e.practice and e.watch for e in catalog)


def test_override_replaces_disables_and_adds(tmp_path):
    over = tmp_path / "actions.yaml"
    over.write_text(
        "actions:\n"
        "  - id: review-pickup-time\n    effort: 2\n"
        "  - id: trunk-based-development\n    disabled: true\n"
        "  - id: team-own\n    title: Our own practice\n    signal: {kind: big_batches}\n"
        "    practice: ours\n    effort: 1\n    watch: changes_per_deployment\n"
        "    target: {rule: at_most, value: 3}\n",
        encoding="utf-8",
    )
    catalog = {e.id: e for e in act.load_catalog(over)}
    assert catalog["review-pickup-time"].effort == 2.0
    assert catalog["review-pickup-time"].title.startswith("Review time")  # other fields kept
    assert "trunk-based-development" not in catalog
    assert catalog["team-own"].target == act.TargetRule(rule="at_most", value=3)


def test_bad_override_names_file_and_field(tmp_path):
    over = tmp_path / "actions.yaml"
    over.write_text("actions:\n  - id: x\n    title: t\n    signal: {kind: nope}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        act.load_catalog(over)
    assert str(over) in str(err.value) and "x.signal" in str(err.value)


def test_rice_score_hand_computed():
    catalog = act.load_catalog()
    items = act.propose([pickup_signal()], catalog, tiers=METRICS, measurements=MEAS, iteration_id="it",
                        due="2026-03-30")
    assert [i.action_id for i in items] == ["review-pickup-time"]
    item = items[0]
    # reach 1.0 x impact 1.0 x confidence 0.8 / effort 0.5 = 1.6
    assert item.score == pytest.approx(1.6)
    # relative 50% better than the 20 h median pickup: <= 10 h
    assert (item.watch, item.comparator, item.target, item.baseline) == ("pickup_hours_median", "<=", 10.0, 20.0)
    assert item.owner == "" and item.due == "2026-03-30" and item.id == "it/review-pickup-time"
    assert "pickup is 65% of it" in item.evidence


def test_votes_raise_the_score():
    catalog = act.load_catalog()
    voted = act.propose([pickup_signal()], catalog, tiers=METRICS, measurements=MEAS, iteration_id="it",
                        due="d", votes={"lead_time": 4})
    # 1.6 x (1 + 0.1 x 4) = 2.24
    assert voted[0].score == pytest.approx(2.24) and voted[0].votes == 4


def test_next_tier_target_and_fallback():
    catalog = act.load_catalog()
    below = Signal("below_tier", "lead_time", "e", 1.0, 1.0, 0.8, value=31.0, n=28, tier="high")
    item = act.propose([below], catalog, tiers=METRICS, measurements=MEAS, iteration_id="it", due="d")[0]
    assert (item.action_id, item.comparator, item.target) == ("trunk-based-development", "<", 24.0)
    # elite already: falls back to relative 20 % better: 31 x 0.8 = 24.8
    elite = {**METRICS, "lead_time": "elite"}
    entry = next(e for e in catalog if e.id == "trunk-based-development")
    assert act.set_target(entry, "lead_time", 31.0, tier="elite", previous=None)[:2] == ("<=", pytest.approx(24.8))
    assert elite  # documented case


def test_previous_rule_and_frequency_direction():
    catalog = act.load_catalog()
    entry = next(e for e in catalog if e.id == "unblock-deployments")
    assert act.set_target(entry, "deployment_frequency", 3.0, tier="high", previous=7.0)[:2] == (">=", 7.0)
    rel = next(e for e in catalog if e.id == "release-automation")
    # medium -> high needs one deployment a week
    assert act.set_target(rel, "deployment_frequency", 0.5, tier="medium", previous=None)[:2] == (">=", 1.0)


def test_select_caps_and_carries_over_first():
    catalog = act.load_catalog()
    sigs = [
        pickup_signal(),
        Signal("below_tier", "lead_time", "e", 1.0, 1.0, 0.8, value=31.0, n=28, tier="high"),
        Signal("below_tier", "change_fail_rate", "e", 0.2, 3.0, 1.0, value=0.2, n=40, tier="low"),
        Signal("unrecovered_failures", "recovery_time", "e", 0.5, 2.0, 1.0, value=1.0, n=2),
    ]
    cands = act.propose(sigs, catalog, tiers=METRICS, measurements=MEAS, iteration_id="now", due="d2")
    # scores: review-pickup 1.6; alerting 0.5x2x1/1 = 1.0; trunk 1x1x0.8/2 = 0.4; e2e 0.2x3x1/2 = 0.3
    assert [c.action_id for c in cands] == ["review-pickup-time", "alerting-and-runbooks",
                                            "trunk-based-development", "end-to-end-tests"]
    carried = [act.ActionItem.from_dict({**cands[2].to_dict(), "id": "old/trunk-based-development",
                                         "carried_from": "old", "carry_count": 1, "due": "d1"})]
    chosen = act.select(cands, carried, max_actions=3, due="d2")
    assert [c.action_id for c in chosen] == ["trunk-based-development", "review-pickup-time", "alerting-and-runbooks"]
    assert [c.rank for c in chosen] == [1, 2, 3]
    assert chosen[0].id == "old/trunk-based-development" and chosen[0].due == "d2"
    assert act.select(cands, max_actions=0) == []


def test_csv_has_one_row_per_item_and_empty_owner():
    catalog = act.load_catalog()
    items = act.select(act.propose([pickup_signal()], catalog, tiers=METRICS, measurements=MEAS,
                                   iteration_id="it", due="d"))
    rows = list(csv.DictReader(io.StringIO(act.to_csv(items))))
    assert len(rows) == 1 and rows[0]["owner"] == "" and rows[0]["rank"] == "1"
    assert list(rows[0]) == list(act.CSV_FIELDS)


def test_sample_pickup_bottleneck_yields_review_time_action(tmp_path):
    """The bundled sample plants a review-pickup bottleneck in its first iterations (docs/sample.md)."""
    from hivepulse.retro.analysis import RetroParams, analyze

    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    result = analyze(RetroParams(path=str(repo / "data" / "sample"), since="2025-12-08", until="2025-12-22",
                                 previous_iterations=1, output_dir=str(tmp_path), findings=""))
    top = result.actions[0]
    assert top.action_id == "review-pickup-time" and top.title.startswith("Review time")
    assert "pickup is" in top.evidence and "(n=" in top.evidence
    assert len(result.actions) <= 3


def test_votes_also_raise_carried_items_that_do_not_fire_again():
    catalog = act.load_catalog()
    cands = act.propose([pickup_signal()], catalog, tiers=METRICS, measurements=MEAS, iteration_id="old",
                        due="d1")
    old = act.ActionItem.from_dict({**cands[0].to_dict(), "carried_from": "old", "carry_count": 1})
    assert old.score == 1.6  # 1.0 x 1 x 0.8 / 0.5, no votes
    # this retro: nothing fires, the team puts 4 votes on a lead-time note: 1.6 x 1.4 = 2.24
    chosen = act.select([], [old], max_actions=3, due="d2", votes={"lead_time": 4})
    assert (chosen[0].votes, chosen[0].score) == (4, 2.24)
    assert act.select([], [old], max_actions=3, due="d2", votes={"change_fail_rate": 4})[0].score == 1.6
