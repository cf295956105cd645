"""``hivepulse actions sync``: the ledger's open action items as GitHub issues, against a local GitHub issues API
(``tests/ghissues.py``) speaking the real wire format: create, edit, list by label with ``state=all`` (pull
requests skipped, Link pagination), labels, 422, rate limits, answers lost after a write, a SIGKILL mid-sync.
Every count below is the exact number of requests or issues the rules in docs/retro.md give."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from ghfake import PLANTED_EMAILS, PLANTED_LOGINS, PLANTED_NAMES, PLANTED_TOKEN
from ghissues import FakeIssues, Fault

from hivepulse.cli import main
from hivepulse.errors import ServiceError, SourceError
from hivepulse.fsio import locked
from hivepulse.retro import board
from hivepulse.retro import ledger as led
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.board import SyncOptions, marker, marker_ids, open_items, plan, sync
from hivepulse.retro.boardlink import BoardLink
from hivepulse.retro.workspace import LOCK_FILE
from hivepulse.sources.github.client import ClientOptions, GitHubClient
from hivepulse.sources.github.issues import IssueState

REPO = "hive-team/hivebox"
IT1, IT2 = "2026-05-11_2026-05-25", "2026-05-25_2026-06-08"


def item(action_id: str, *, ident: str = IT1, evidence: str = "pickup median 68 h (n=12)", due: str = "2026-06-08",
         **kw: object) -> ActionItem:
    values: dict[str, object] = dict(
        id=f"{ident}/{action_id}", action_id=action_id, title=f"Fix {action_id}", practice="Code review",
        signal="regression", metric="lead_time", evidence=evidence, watch="pickup_hours_median", baseline=68.0,
        comparator="<=", target=34.0, target_text="pickup_hours_median <= 34 h (50% better)", due=due, reach=1.0,
        impact=1.0, confidence=1.0, effort=1.0)
    values.update(kw)
    return ActionItem(**values)  # type: ignore[arg-type]


def workspace(tmp_path: Path, actions: list[ActionItem], pending: list[ActionItem] = (), *,  # type: ignore[assignment]
              ident: str = IT1, ledger: led.Ledger | None = None) -> Path:
    since, until = ident.split("_")
    ws = tmp_path / "retro"
    new = led.with_entry(ledger or led.load(ws / "ledger.json"), ident, since=since, until=until,
                         due=actions[0].due if actions else until, actions=actions, followups=[], pending=pending)
    led.save(ws / "ledger.json", new)
    return ws


def three(tmp_path: Path) -> Path:
    return workspace(tmp_path, [item("review-pickup-time"), item("trunk-based-development")],
                     [item("end-to-end-tests", ident="2026-04-27_2026-05-11")])


def client(url: str, **kw: object) -> GitHubClient:
    opts = {"api_url": url, "token": PLANTED_TOKEN, "backoff_base_s": 0.01, "timeout_s": 2.0, **kw}
    c = GitHubClient(ClientOptions(**opts))  # type: ignore[arg-type]
    c.sleep = lambda s: None
    return c


def run_sync(gh: FakeIssues, ws: Path, **kw: object) -> board.SyncReport:
    with client(gh.url, **kw.pop("client", {})) as c:  # type: ignore[arg-type]
        return sync(c, ws, SyncOptions(REPO, write_interval_s=0, **kw))  # type: ignore[arg-type]


def links(ws: Path) -> dict[str, BoardLink]:
    ledger = led.load(ws / "ledger.json")
    return {i.id: i.board for e in ledger.entries.values() for i in e.open_items() if i.board is not None}


def with_marker(gh: FakeIssues, item_id: str) -> list[int]:
    return [i.number for i in gh.live() if item_id in marker_ids(i.body or "")]


@pytest.fixture()
def gh():
    with FakeIssues() as server:
        yield server


# ---------------------------------------------------------------------------------------------- pure parts


def test_marker_round_trips_and_a_hostile_id_cannot_end_the_comment():
    assert marker(f"{IT1}/review-pickup-time") == f"<!-- hivepulse:action-item id={IT1}/review-pickup-time -->"
    hostile = "x/--> <img src=x onerror=alert(1)> @someone"
    text = marker(hostile)
    assert text.count("-->") == 1 and text.endswith(" -->") and "<img" not in text and "@" not in text
    assert marker_ids(f"intro\n{text}\nmore {marker('b/c')}") == [hostile, "b/c"]
    huge = board.OpenItem(item("x" * 2000), IT1)
    result = plan([huge], [], REPO)
    assert result.steps == () and "too long to be marked" in result.notes[0]


def test_plan_creates_updates_and_leaves_alone():
    a, b, c = item("a"), item("b"), item("c")
    items = [board.OpenItem(x, IT1) for x in (a, b, c)]
    body_b = board.issue_body(items[1])

    def issue(n: int, body: str, title: str) -> IssueState:
        return IssueState(n, f"https://github.com/{REPO}/issues/{n}", title, body, "open", None, None, 0,
                          ("retro-action",))

    found = [issue(7, "old evidence\n" + marker(a.id), "Fix a"), issue(8, body_b, "Fix b"),
             issue(9, "unrelated", "other")]
    steps = plan(items, found, REPO).steps
    assert [(s.action, s.issue.number if s.issue else None) for s in steps] == [
        ("update", 7), ("unchanged", 8), ("create", None)]
    assert dict(steps[0].fields).keys() == {"body"}  # the title is already right: only the body is sent


def test_edit_made_on_github_to_unchanged_evidence_is_left_alone():
    a = item("a")
    oi = board.OpenItem(a, IT1)
    title, body = board.issue_title(a), board.issue_body(oi)
    edited = IssueState(7, "", title, body + "\n- [x] we agreed on a reviewer rota", "open", None, None, 0, ())
    linked = board.OpenItem(replace(a, board=BoardLink(REPO, 7, "", "open",
                                                       content_sha256=board.content_hash(title, body))), IT1)
    assert plan([linked], [edited], REPO).steps[0].action == "unchanged"
    # ... until the evidence changes: then the body is rewritten
    moved = board.OpenItem(replace(linked.item, evidence="pickup 50 h"), IT1)
    assert plan([moved], [edited], REPO).steps[0].action == "update"


def test_open_items_are_those_of_the_latest_entry():
    ledger = led.with_entry(led.empty(), "2026-04-27_2026-05-11", since="2026-04-27", until="2026-05-11",
                            due="2026-05-25", actions=[item("old", ident="2026-04-27_2026-05-11")], followups=[])
    ledger = led.with_entry(ledger, IT1, since="2026-05-11", until="2026-05-25", due="2026-06-08",
                            actions=[item("a")], followups=[], pending=[item("p", ident="2026-04-27_2026-05-11")])
    assert [(o.item.id, o.iteration) for o in open_items(ledger)] == [
        (f"{IT1}/a", IT1), ("2026-04-27_2026-05-11/p", IT1)]


def test_old_ledgers_load_and_records_without_a_board_are_unchanged():
    raw = item("a").to_dict()
    assert "board" not in raw and ActionItem.from_dict(raw).board is None
    # a hand-edited or foreign value is dropped, never trusted (and no login can ride in it)
    assert BoardLink.from_dict({"repository": REPO, "number": "7", "state": "open"}) is None
    link = BoardLink.from_dict({"repository": REPO, "number": 7, "state": "closed", "assignees": ["planted"],
                                "closed_at": "yesterday", "url": "javascript:alert(1)"})
    assert link == BoardLink(REPO, 7, "", "closed")


def test_rerunning_a_retro_keeps_the_items_links():
    link = BoardLink(REPO, 4, f"https://github.com/{REPO}/issues/4", "open", assignees=1)
    ledger = led.with_entry(led.empty(), IT1, since="2026-05-11", until="2026-05-25", due="2026-06-08",
                            actions=[replace(item("a"), board=link)], followups=[])
    again = led.with_entry(ledger, IT1, since="2026-05-11", until="2026-05-25", due="2026-06-08",
                           actions=[item("a"), item("b")], followups=[])  # the same iteration run again
    assert [a.board for a in again.entries[IT1].actions] == [link, None]
    follow = led.follow_up(again.entries[IT1].actions, {})
    assert follow[0].board == link and follow[0].to_dict()["board"]["number"] == 4
    assert "board" not in follow[1].to_dict()


# ---------------------------------------------------------------------------------------------- against the API


def test_first_sync_creates_one_issue_per_open_item(gh, tmp_path):
    ws = three(tmp_path)
    report = run_sync(gh, ws)
    assert [o.action for o in report.outcomes] == ["created"] * 3 and report.label_created
    # list (1 page), label missing (404) and created, three issues
    assert [(m, p.split("?")[0], s) for m, p, s in gh.requests] == [
        ("GET", f"/repos/{REPO}/issues", 200), ("GET", f"/repos/{REPO}/labels/retro-action", 404),
        ("POST", f"/repos/{REPO}/labels", 201)] + [("POST", f"/repos/{REPO}/issues", 201)] * 3
    assert "labels=retro-action" in gh.requests[0][1] and "state=all" in gh.requests[0][1]
    assert "per_page=100" in gh.requests[0][1]
    first = gh.get(1)
    assert first.title == "Fix review-pickup-time" and first.labels == ["retro-action"]
    for text in ("| Evidence | pickup median 68 h (n=12) |", "| Target | pickup_hours_median <= 34 h (50% better) |",
                 "| Due | 2026-06-08 (the next retro) |", f"| Item | `{IT1}/review-pickup-time` |"):
        assert text in first.body.splitlines()
    assert first.body.startswith(marker(f"{IT1}/review-pickup-time") + "\n")
    assert "carried over" not in first.body
    assert f"| Set at | the retro 2026-04-27_2026-05-11; open at the retro {IT1} |" in gh.get(3).body
    stored = links(ws)
    assert {k: (v.number, v.state, v.assignees) for k, v in stored.items()} == {
        f"{IT1}/review-pickup-time": (1, "open", 0), f"{IT1}/trunk-based-development": (2, "open", 0),
        "2026-04-27_2026-05-11/end-to-end-tests": (3, "open", 0)}
    assert stored[f"{IT1}/review-pickup-time"].url == f"https://github.com/{REPO}/issues/1"


def test_rerun_creates_nothing_and_writes_nothing(gh, tmp_path):
    ws = three(tmp_path)
    run_sync(gh, ws)
    before = (ws / "ledger.json").read_bytes()
    gh.requests.clear()
    report = run_sync(gh, ws)
    assert [o.action for o in report.outcomes] == ["unchanged"] * 3
    assert gh.requests == [("GET", gh.requests[0][1], 200)] and not report.ledger_written
    assert (ws / "ledger.json").read_bytes() == before and len(gh.live()) == 3


def test_changed_evidence_edits_only_that_issue_and_only_the_body(gh, tmp_path):
    ws = three(tmp_path)
    run_sync(gh, ws)
    ledger = led.load(ws / "ledger.json")
    entry = ledger.entries[IT1]
    moved = [replace(a, evidence="pickup median 41 h (n=15)") if a.action_id == "review-pickup-time" else a
             for a in entry.actions]
    workspace(tmp_path, moved, list(entry.pending), ledger=ledger)
    gh.requests.clear()
    report = run_sync(gh, ws)
    assert [o.action for o in report.outcomes] == ["updated", "unchanged", "unchanged"]
    assert gh.writes() == [("PATCH", f"/repos/{REPO}/issues/1", 200)]
    assert list(gh.payloads[-1][2]) == ["body"] and "41 h" in gh.get(1).body


def test_carried_item_keeps_its_issue_at_the_next_retro(gh, tmp_path):
    ws = three(tmp_path)
    run_sync(gh, ws)
    ledger = led.load(ws / "ledger.json")
    old = ledger.entries[IT1].actions[0]
    carried = replace(old, carried_from=IT1, carry_count=1, due="2026-06-22",
                      evidence="not met at this retro: 68 h -> 50 h (n=14)")
    workspace(tmp_path, [carried, item("deploy-smaller", ident=IT2, due="2026-06-22")], ident=IT2, ledger=ledger)
    report = run_sync(gh, ws)
    assert [(o.action, o.link.number) for o in report.outcomes] == [("updated", 1), ("created", 4)]
    assert "carried over 1 time(s)" in gh.get(1).body and len(gh.live()) == 4
    # the link is written to every occurrence of the item: the earlier entry's copy too
    ledger = led.load(ws / "ledger.json")
    assert ledger.entries[IT1].actions[0].board.content_sha256 == ledger.entries[IT2].actions[0].board.content_sha256


def test_state_and_assignees_read_back_without_any_person(gh, tmp_path):
    ws = three(tmp_path)
    run_sync(gh, ws)
    gh.close(1)
    gh.close(3, "not_planned")
    gh.assign(2, PLANTED_LOGINS[0], PLANTED_LOGINS[1])
    report = run_sync(gh, ws)
    assert [o.action for o in report.outcomes] == ["unchanged"] * 3 and report.ledger_written
    stored = links(ws)
    one, two, three_ = (stored[f"{IT1}/review-pickup-time"], stored[f"{IT1}/trunk-based-development"],
                        stored["2026-04-27_2026-05-11/end-to-end-tests"])
    assert (one.state, one.closed_at, one.state_reason) == ("closed", gh.get(1).closed_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "completed")
    assert one.text == f"closed on GitHub (#1) on {gh.get(1).closed_at:%Y-%m-%d}"
    assert three_.text.startswith("closed on GitHub (#3) as not planned on ")
    assert (two.state, two.assignees, two.text, two.owner_text) == (
        "open", 2, "open on GitHub (#2), assigned", "assigned on GitHub (#2)")
    text = (ws / "ledger.json").read_text()
    for planted in (*PLANTED_LOGINS, *PLANTED_NAMES, *PLANTED_EMAILS, PLANTED_TOKEN):
        assert planted not in text


def test_pull_requests_are_skipped_and_pages_are_followed(gh, tmp_path):
    ws = workspace(tmp_path, [item("a")])
    # a pull request carrying the marker is not the item's issue; 150 other labelled issues come first
    gh.add("PR", marker(f"{IT1}/a"), labels=["retro-action"], pr=True)
    report = run_sync(gh, ws)
    assert [(o.action, o.link.number) for o in report.outcomes] == [("created", 2)]
    for k in range(150):
        gh.add(f"other {k}", "no marker", labels=["retro-action"])
    gh.requests.clear()
    report = run_sync(gh, ws)  # the item's issue is the oldest: on the second page (newest first)
    assert [(o.action, o.link.number) for o in report.outcomes] == [("unchanged", 2)]
    assert [p.split("?")[0] for _, p, _ in gh.requests] == [f"/repos/{REPO}/issues", "/repositories/4242/issues"]


@pytest.mark.parametrize("kind", ["502-after", "drop-after"])
def test_a_create_whose_answer_is_lost_is_never_duplicated(gh, tmp_path, kind):
    ws = three(tmp_path)
    gh.faults = [Fault("POST", r"/issues$", kind)]
    report = run_sync(gh, ws)
    assert [o.action for o in report.outcomes] == ["created"] * 3
    assert len(gh.live()) == 3 and [with_marker(gh, o.item_id) for o in report.outcomes] == [[1], [2], [3]]
    # the lost answer was checked by listing the label again, not by sending the create twice
    assert gh.count("POST", r"/issues$") == 3 and gh.count("GET", r"/issues\?") == 2


def test_a_create_refused_before_processing_is_sent_again(gh, tmp_path):
    ws = workspace(tmp_path, [item("a")])
    gh.faults = [Fault("POST", r"/issues$", "502")]
    run_sync(gh, ws)
    assert len(gh.live()) == 1 and gh.count("POST", r"/issues$") == 2


def test_a_failed_ledger_write_then_a_rerun_creates_no_duplicate(gh, tmp_path, monkeypatch):
    ws = three(tmp_path)
    real = led.save

    def broken(path: object, ledger: object) -> bool:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(led, "save", broken)
    with pytest.raises(ServiceError, match="No space left on device"):  # exit 4, the ledger kept
        run_sync(gh, ws)
    monkeypatch.setattr(led, "save", real)
    assert links(ws) == {} and len(gh.live()) == 3
    report = run_sync(gh, ws)
    assert [o.action for o in report.outcomes] == ["unchanged"] * 3 and len(gh.live()) == 3
    assert [v.number for v in links(ws).values()] == [1, 2, 3]


def test_what_was_done_before_a_failure_is_kept(gh, tmp_path):
    ws = three(tmp_path)
    gh.reject_body = ("trunk-based-development", "body is not allowed")
    with pytest.raises(SourceError):
        run_sync(gh, ws)
    assert list(links(ws)) == [f"{IT1}/review-pickup-time"]  # the first issue is linked already


def test_the_ledger_is_written_under_the_lock_keeping_what_a_retro_wrote_meanwhile(gh, tmp_path):
    ws = three(tmp_path)
    done: list[board.SyncReport] = []
    with locked(ws / LOCK_FILE):  # a retro holds the workspace
        worker = threading.Thread(target=lambda: done.append(run_sync(gh, ws)))
        worker.start()
        deadline = time.monotonic() + 30
        while len(gh.live()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert links(ws) == {} and not done  # the issues exist; the sync waits for the lock
        ledger = led.load(ws / "ledger.json")  # the retro writes its entry meanwhile
        led.save(ws / "ledger.json", led.with_entry(ledger, IT2, since="2026-05-25", until="2026-06-08",
                                                    due="2026-06-22", actions=[item("z", ident=IT2)], followups=[]))
    worker.join(30)
    assert done and done[0].ledger_written
    ledger = led.load(ws / "ledger.json")
    assert sorted(ledger.entries) == ["2026-05-11_2026-05-25", IT2] and ledger.entries[IT2].actions[0].board is None
    assert [v.number for v in links(ws).values()] == [1, 2, 3]


def test_deleted_issue_is_recreated_and_an_unlabelled_one_found_through_the_ledger(gh, tmp_path):
    ws = workspace(tmp_path, [item("a"), item("b")])
    run_sync(gh, ws)
    gh.delete(1)
    gh.edit(2, labels=["planning"], body="the team rewrote it")  # label and marker gone
    gh.requests.clear()
    report = run_sync(gh, ws)
    assert [(o.action, o.link.number) for o in report.outcomes] == [("created", 3), ("unchanged", 2)]
    assert any("#1 of " in n and "gone" in n for n in report.notes)
    assert gh.get(2).body == "the team rewrote it"  # the evidence did not change: the team's edit stays


def test_without_push_access_labels_are_dropped_and_the_ledger_still_finds_the_issue(tmp_path):
    with FakeIssues(push_access=False) as gh:
        gh.add_label("retro-action")  # made by a maintainer: this token could not create it
        ws = workspace(tmp_path, [item("a")])
        report = run_sync(gh, ws)
        assert any("without the label" in n for n in report.notes)
        report = run_sync(gh, ws)
        assert [(o.action, o.link.number) for o in report.outcomes] == [("unchanged", 1)]
        assert len(gh.live()) == 1


def test_dry_run_writes_nothing(gh, tmp_path):
    ws = three(tmp_path)
    before = (ws / "ledger.json").read_bytes()
    report = run_sync(gh, ws, dry_run=True)
    assert [o.action for o in report.outcomes] == ["would create"] * 3
    assert gh.writes() == [] and (ws / "ledger.json").read_bytes() == before


@pytest.mark.parametrize("kind", ["429", "403-retry", "403-primary", "403-secondary"])
def test_rate_limits_on_writes_are_waited_out(gh, tmp_path, kind):
    ws = workspace(tmp_path, [item("a")])
    gh.faults = [Fault("POST", r"/issues$", kind, retry_after=2)]
    slept: list[float] = []
    with client(gh.url) as c:
        c.sleep = slept.append
        sync(c, ws, SyncOptions(REPO, write_interval_s=0))
    assert len(gh.live()) == 1 and c.stats.rate_limit_waits == 1
    assert slept[0] == (60.0 if kind == "403-secondary" else pytest.approx(2.5, abs=1.6))


def test_write_interval_pauses_between_writes(gh, tmp_path):
    ws = three(tmp_path)
    slept: list[float] = []
    with client(gh.url) as c:
        c.sleep = slept.append
        sync(c, ws, SyncOptions(REPO, write_interval_s=1.0))
    assert slept == [1.0, 1.0, 1.0]  # the label, then three issues: a pause before each write but the first


# ---------------------------------------------------------------------------------------------- the command


def cli(gh: FakeIssues, ws: Path, *extra: str) -> list[str]:
    return ["actions", "sync", "--github", REPO, "--api-url", gh.url, "--output-dir", str(ws), "--write-interval",
            "0", "--no-progress", *extra]


def test_command_summary_and_json(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    ws = three(tmp_path)
    assert main(cli(gh, ws)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"actions sync {REPO}: 3 open action item(s); ledger: {ws / 'ledger.json'} (updated)"
    assert out[1] == (f"  created      #1     Fix review-pickup-time ({IT1}/review-pickup-time) "
                      "[open on GitHub (#1), unassigned]")
    assert "board: 3 open (0 assigned), 0 closed" in out and out[-1].startswith("API calls: 6 (0 retried")
    gh.close(2)
    assert main(cli(gh, ws, "--format", "json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(i["action"], i["issue"], i["state"]) for i in data["items"]] == [
        ("unchanged", 1, "open"), ("unchanged", 2, "closed"), ("unchanged", 3, "open")]
    assert data["ledger_written"] is True and data["api_calls"]["calls"] == 1


def test_missing_token_is_exit_2_naming_the_variable(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    assert main(cli(gh, three(tmp_path))) == 2
    err = capsys.readouterr().err
    assert "GITHUB_TOKEN" in err and err.count("\n") == 1 and gh.requests == []


def test_gh_token_is_accepted(gh, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GH_TOKEN", PLANTED_TOKEN)
    assert main(cli(gh, workspace(tmp_path, [item("a")]))) == 0 and len(gh.live()) == 1


def test_no_ledger_is_exit_2(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    assert main(cli(gh, tmp_path / "empty")) == 2
    assert "run hivepulse retro first" in capsys.readouterr().err


def test_422_is_exit_3_with_githubs_message_bounded_and_redacted(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    gh.reject_body = ("pickup", f"body is invalid \x1b[31m{PLANTED_TOKEN} https://u:pw@example.invalid/x " + "z" * 5000)
    assert main(cli(gh, workspace(tmp_path, [item("a")]))) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"hivepulse actions: error: GitHub refused POST /repos/{REPO}/issues (422 Validation "
                          "Failed; body custom: body is invalid ")
    assert PLANTED_TOKEN not in err and "pw@" not in err and "\x1b" not in err
    assert err.count("\n") == 1 and len(err) < 500


def test_a_rate_limit_wait_longer_than_max_wait_is_exit_3_with_when_to_retry(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    gh.faults = [Fault("GET", r"/issues\?", "429", retry_after=3600)]
    assert main(cli(gh, workspace(tmp_path, [item("a")]), "--max-wait", "1")) == 3
    err = capsys.readouterr().err
    assert "a wait of 3600 s is longer than --max-wait (60 s); retry after 20" in err and gh.writes() == []


def test_issues_turned_off_is_exit_3(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    gh.issues_enabled = False
    assert main(cli(gh, workspace(tmp_path, [item("a")]))) == 3
    assert "410" in capsys.readouterr().err


def test_the_token_and_people_never_reach_an_output_a_log_or_the_ledger(gh, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    ws = three(tmp_path)
    gh.faults = [Fault("POST", r"/issues$", "502-after"), Fault("GET", r"/issues\?", "403-retry", retry_after=0)]
    outputs = []
    assert main(cli(gh, ws, "-v")) == 0
    gh.assign(1, *PLANTED_LOGINS)
    gh.close(2)
    assert main(cli(gh, ws, "-v", "--format", "json")) == 0
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err]
    assert "POST /repos/hive-team/hivebox/issues -> 201" in captured.err  # -v logged the requests
    outputs += [p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file()]
    for text in outputs:
        for planted in (PLANTED_TOKEN, *PLANTED_LOGINS, *PLANTED_NAMES, *PLANTED_EMAILS):
            assert planted not in text


def test_sigkill_mid_sync_then_rerun_gives_exactly_one_issue_per_item(tmp_path):
    ws = three(tmp_path)
    with FakeIssues(hang_s=60) as gh:
        gh.faults = [Fault("POST", r"/issues$", "hang-after")]  # the first create is made, its answer never comes
        env = {**os.environ, "GITHUB_TOKEN": PLANTED_TOKEN}
        proc = subprocess.Popen([sys.executable, "-m", "hivepulse", *cli(gh, ws)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(gh.live()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert len(gh.live()) == 1 and links(ws) == {}
        done = subprocess.run([sys.executable, "-m", "hivepulse", *cli(gh, ws)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(gh.live()) == 3
        ids = [f"{IT1}/review-pickup-time", f"{IT1}/trunk-based-development", "2026-04-27_2026-05-11/end-to-end-tests"]
        assert [with_marker(gh, i) for i in ids] == [[1], [2], [3]]
        assert [links(ws)[i].number for i in ids] == [1, 2, 3]
