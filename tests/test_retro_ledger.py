"""Ledger verdicts, carry-over, idempotent updates, atomic records, notes and the iteration window."""

from __future__ import annotations

import json
from datetime import date

import pytest

from hivepulse.errors import InputError
from hivepulse.retro import ledger as led
from hivepulse.retro import workspace
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.facts import Measurement
from hivepulse.retro.notes import load_notes
from hivepulse.retro.record import iteration_id, next_retro, resolve_window


def item(action_id, watch, comparator, target, baseline=None, ident="2026-02-16_2026-03-02"):
    return ActionItem(id=f"{ident}/{action_id}", action_id=action_id, title=action_id, practice="p", signal="s",
                      metric=watch, evidence="e", watch=watch, baseline=baseline, comparator=comparator,
                      target=target, target_text=f"{watch} {comparator} {target}", due="2026-03-16", reach=1.0,
                      impact=1.0, confidence=1.0, effort=1.0)


MEAS = {
    "deployment_frequency": Measurement(7.0, 14),
    "lead_time": Measurement(31.0, 28),
    "recovery_time": Measurement(None, 0),
}


def test_verdicts():
    assert led.verdict(">=", 5.0, 7.0, 14) == "met"
    assert led.verdict("<", 24.0, 31.0, 28) == "not met"
    assert led.verdict("<", 24.0, 24.0, 28) == "not met"  # strict: the elite cut-off is "less than one day"
    assert led.verdict("<=", 1.0, None, 0) == "not measurable"
    assert led.verdict("<=", None, 3.0, 5) == "not measurable"
    # deployment frequency: zero deployments is a measurement (0/week), so a ">= 1/week" target is not met
    assert led.verdict(">=", 1.0, 0.0, 0) == "not met"
    assert led.verdict("measurable", None, 3.0, 5) == "met"


def test_follow_up_and_carry_over():
    items = [item("a", "deployment_frequency", ">=", 5.0, 3.0),
             item("b", "lead_time", "<", 24.0, 40.0),
             item("c", "recovery_time", "<", 1.0, 2.0)]
    fus = led.follow_up(items, MEAS)
    assert [(f.action_id, f.verdict) for f in fus] == [("a", "met"), ("b", "not met"), ("c", "not measurable")]
    assert (fus[1].then, fus[1].now, fus[1].n_now) == (40.0, 31.0, 28)
    carried = led.carry_over(items, fus)
    assert [(c.action_id, c.carried_from, c.carry_count) for c in carried] == [("b", "2026-02-16_2026-03-02", 1)]


def test_previous_entry_is_latest_ending_before_since():
    ledger = led.Ledger.from_dict({"version": 1, "iterations": {
        "A": {"since": "2026-02-16", "until": "2026-03-02"}, "B": {"since": "2026-03-02", "until": "2026-03-16"},
        "C": {"since": "2026-03-16", "until": "2026-03-30"}}})
    assert led.previous(ledger, "2026-03-16")[0] == "B"
    assert led.previous(ledger, "2026-03-10")[0] == "A"  # a re-run of an older iteration never sees later ones
    assert led.previous(ledger, "2026-01-01") is None


def test_ledger_update_is_idempotent(tmp_path):
    path = tmp_path / "ledger.json"
    actions = [item("b", "lead_time", "<", 24.0, 31.0, ident="X")]
    first = led.with_entry(led.load(path), "X", since="2026-03-02", until="2026-03-16", due="2026-03-30",
                           actions=actions, followups=[])
    assert led.save(path, first) is True
    before = path.read_bytes()
    again = led.with_entry(led.load(path), "X", since="2026-03-02", until="2026-03-16", due="2026-03-30",
                           actions=actions, followups=[])
    assert led.save(path, again) is False
    assert path.read_bytes() == before
    assert json.loads(before)["iterations"]["X"]["actions"][0]["owner"] == ""


def test_bad_ledger_is_input_error(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as err:
        led.load(path)
    assert str(path) in str(err.value)


def test_failed_record_write_leaves_previous_records(tmp_path):
    name = "2026-03-02_2026-03-16"
    target = tmp_path / name

    def same(ledger):
        return ledger

    workspace.commit(tmp_path, name, {"README.md": "old\n", "metrics.json": "{}\n"}, same)
    with pytest.raises(TypeError):
        workspace.commit(tmp_path, name, {"README.md": "new\n", "metrics.json": object()}, same)  # type: ignore[dict-item]
    assert (target / "README.md").read_text() == "old\n"
    # no staging left behind: the workspace lock, the records and the ledger only
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hivepulse.lock", name, "ledger.json"]
    (target / "retro.html").write_text("report", encoding="utf-8")
    workspace.commit(tmp_path, name, {"README.md": "new\n"}, same, keep=("retro.html",))
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "retro.html"]


def test_window_resolution():
    assert resolve_window("2026-05-11", "2026-05-25") == (date(2026, 5, 11), date(2026, 5, 25))
    assert resolve_window(None, "2026-05-25", 14) == (date(2026, 5, 11), date(2026, 5, 25))
    assert resolve_window("2026-05-11", None, 7) == (date(2026, 5, 11), date(2026, 5, 18))
    assert resolve_window(None, None, 14, today=date(2026, 6, 1)) == (date(2026, 5, 18), date(2026, 6, 1))
    s, u = resolve_window("2026-05-11", "2026-05-25")
    assert iteration_id(s, u) == "2026-05-11_2026-05-25" and next_retro(s, u) == date(2026, 6, 8)
    with pytest.raises(InputError):
        resolve_window("2026-05-25", "2026-05-11")
    with pytest.raises(InputError):
        resolve_window("25/05/2026", None)


def test_notes(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(
        "went_well:\n  - Calm deploys\n"
        "to_improve:\n"
        "  - {text: Reviews wait overnight, votes: 4, metric: lead_time, author: Somebody Named}\n"
        "  - {text: Flaky tests, votes: 2, metric: lead_time}\n"
        "  - {text: Alerts are noisy, votes: 3}\n",
        encoding="utf-8",
    )
    notes = load_notes(path)
    assert notes.votes_by_metric() == {"lead_time": 6}
    assert [n.text for n in notes.section("to_improve")] == ["Reviews wait overnight", "Alerts are noisy", "Flaky tests"]
    assert "Somebody" not in json.dumps([n.to_dict() for n in notes.items])
    assert load_notes(tmp_path / "missing.yaml").items == ()
    path.write_text("to_improve:\n  - {text: x, votes: -1}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_notes(path)
    assert "to_improve[0].votes" in str(err.value)


def test_not_measurable_items_stay_open_and_are_followed_up_again():
    items = [item("c", "recovery_time", "<", 1.0, 2.0),
             item("d", "lead_time", "<=", None, None)]  # no target could be set
    fus = led.follow_up(items, MEAS)
    assert [(f.verdict, f.outcome) for f in fus] == [("not measurable", "still open"), ("not measurable", "closed")]
    pending = led.still_open(items, fus)
    assert [(p.action_id, p.carried_from, p.carry_count) for p in pending] == [("c", "2026-02-16_2026-03-02", 0)]
    entry = led.with_entry(led.empty(), "2026-03-02_2026-03-16", since="2026-03-02", until="2026-03-16",
                           due="2026-03-30", actions=[], followups=fus, pending=pending)
    following = entry.entries["2026-03-02_2026-03-16"]
    assert [i.action_id for i in led.open_items(following)] == ["c"]
    # the next iteration has a recovery time of 0.5 h: the pending item is met then
    later = led.follow_up(led.open_items(following), {"recovery_time": Measurement(0.5, 2)})
    assert [(f.action_id, f.verdict, f.then) for f in later] == [("c", "met", 2.0)]
    # without pending items the entry keeps its earlier shape (byte-identical ledgers on re-runs)
    bare = led.with_entry(led.empty(), "x", since="a", until="b", due="c", actions=[], followups=[])
    assert "pending" not in bare.to_dict()["iterations"]["x"]


def test_outside_the_data_everything_is_not_measurable():
    items = [item("m", "deployment_frequency", "measurable", None),
             item("a", "deployment_frequency", ">=", 5.0, 3.0)]
    outside = {"deployment_frequency": Measurement(None, 0, covered=False)}
    assert [f.verdict for f in led.follow_up(items, outside)] == ["not measurable", "not measurable"]


def test_carried_item_states_this_iterations_numbers():
    items = [item("b", "lead_time", "<", 24.0, 40.0)]
    carried = led.carry_over(items, led.follow_up(items, MEAS))
    assert carried[0].evidence == "not met at this retro: lead_time 40 h -> 31 h (n=28), target lead_time < 24.0"


def test_notes_errors_name_the_line(tmp_path):
    bad = tmp_path / "n.yaml"
    bad.write_text("went_well:\n  - calm\nto_improv:\n  - text: typo\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"n.yaml, line 3, column 'to_improv': unknown section"):
        load_notes(bad)
    bad.write_text("to_improve:\n  - text: slow\n    votes: 2\n  - text: slower\n    votes: -1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 5, column 'to_improve\[1\].votes': bad votes"):
        load_notes(bad)
    bad.write_text("to_improve:\n  - votes: 2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2, column 'to_improve\[0\]': note without text"):
        load_notes(bad)
    bad.write_text("to_improve:\n  - text: x\n    votes: [1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line \d+: not valid YAML"):
        load_notes(bad)
