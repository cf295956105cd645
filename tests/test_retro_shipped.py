"""What shipped (hivepulse.retro.shipped): grouping, parsing, release-notes Markdown, from event files and from a
real git repository's commit subjects; never an author."""

from __future__ import annotations

import pandas as pd
from gitrepo import PLANTED_EMAIL, PLANTED_NAME, GitRepo

from hivepulse.redact import redact_people
from hivepulse.retro.shipped import parse, to_markdown, what_shipped
from hivepulse.sources.files import read_events
from hivepulse.sources.git import read_git


def _rows(*items: tuple[str, str | None, str | None, int | None]) -> list[dict[str, object]]:
    return [{"change_id": cid, "change_type": ctype, "title": title, "pr_number": pr} for cid, ctype, title, pr in items]


def test_groups_in_order_breaking_features_fixes_others() -> None:
    shipped = what_shipped(_rows(
        ("c1", "chore", "chore(deps): bump httpx", None),
        ("c2", "fix", "fix(api): handle 404 (#7)", None),
        ("c3", "feat!", "feat(api)!: drop /v1", 12),
        ("c4", "feat", "feat: add caching", 9),
        ("c5", None, "update readme", None),
        ("c6", "wip", "wip: half done", None),
        ("c7", "fix", None, 3),
        ("c8", "perf", "perf: one connection", None),
    ))
    assert [g.key for g in shipped.groups] == ["breaking", "feat", "fix", "perf", "chore", "other"]
    assert [g.title for g in shipped.groups][:3] == ["Breaking changes", "Features", "Bug fixes"]
    breaking = shipped.group("breaking")
    assert breaking is not None and breaking.lines[0].text() == "api: drop /v1 (#12)"
    fixes = shipped.group("fix")
    assert fixes is not None and [line.text() for line in fixes.lines] == ["api: handle 404 (#7)", "change c7 (#3)"]
    other = shipped.group("other")
    assert other is not None and [line.description for line in other.lines] == ["update readme", "half done"]
    assert (shipped.changes, shipped.typed, shipped.titled) == (8, 7, 7)
    assert shipped.types == {"chore": 1, "feat": 2, "fix": 2, "other": 1, "perf": 1, "wip": 1}
    assert shipped.summary() == "8 change(s): 1 breaking, 1 feature(s), 2 fix(es), 4 other"


def test_type_and_breaking_from_the_title_when_there_is_no_type_column() -> None:
    assert parse("a", None, "feat(ui)!: new layout").breaking
    p = parse("a", None, "fix(store): retry uploads (#41)")
    assert (p.type, p.scope, p.description, p.pr, p.breaking) == ("fix", "store", "retry uploads", 41, False)
    assert parse("a", None, 'Revert "feat: x"').type == "revert"
    assert parse("a", "fix!", "fix: y").breaking  # the git source's feat! / fix! marks
    assert parse("a", "FEAT", "Feat: y").type == "feat"
    # a type column that disagrees with the title keeps the column's type and the whole title
    p = parse("a", "chore", "feat: y")
    assert (p.type, p.description) == ("chore", "feat: y")
    assert parse("a", None, "Merge pull request #5 from someone/branch").merge


def test_identical_lines_are_merged_with_every_pr() -> None:
    shipped = what_shipped(_rows(("c1", "fix", "fix: retry (#1)", None), ("c2", "fix", "fix: retry", 2),
                                 ("c3", "fix", "fix: retry", 2)))
    group = shipped.group("fix")
    assert group is not None and len(group.lines) == 1
    assert group.lines[0].text() == "retry (#1, #2; 3 changes)" and group.changes == 3


def test_merges_are_skipped_and_people_are_not_named() -> None:
    shipped = what_shipped(_rows(
        ("m1", None, "Merge pull request #12 from alice/feature", None),
        ("m2", None, "Merge branch 'main' into feature", None),
        ("c1", "fix", "fix: thanks @octocat and bob@example.com", None),
    ))
    assert shipped.merges == 2 and shipped.changes == 1
    text = to_markdown(shipped)
    assert "octocat" not in text and "bob@example.com" not in text and "alice" not in text
    assert "thanks (someone) and (someone)" in text


def test_markdown_release_notes_escape_data() -> None:
    shipped = what_shipped(_rows(("c1", "feat", "feat(api): <script>alert(1)</script> *bold* [x](y)", 4),
                                 ("c2", "docs", "docs: readme", None)))
    text = to_markdown(shipped, level=2)
    assert text.splitlines()[:3] == ["## Features", "", r"- **api:** \<script>alert(1)\</script> \*bold\* [x\](y) (#4)"]
    assert "## Documentation" in text
    assert to_markdown(shipped, groups=["docs"]).splitlines()[0] == "### Documentation"
    assert to_markdown(what_shipped([])) == ""


def test_from_a_dataframe_in_commit_order_and_from_event_files(tmp_path) -> None:
    (tmp_path / "deployments.csv").write_text(
        "deployment_id,environment,finished_at,status\nd1,production,2026-01-05T12:00:00Z,success\n")
    (tmp_path / "changes.csv").write_text(
        "change_id,committed_at,deployment_id,change_type,title\n"
        "c2,2026-01-05T10:00:00Z,d1,feat,feat: second\n"
        "c1,2026-01-05T09:00:00Z,d1,feat,\"feat: first, with a comma\"\n"
        "c3,2026-01-05T11:00:00Z,d1,,refactor!: breaking without a type column\n")
    (tmp_path / "incidents.csv").write_text("incident_id,opened_at\n")
    events = read_events(tmp_path)
    assert not any("title" in note for note in events.notes)  # a known column, not "ignored"
    shipped = what_shipped(events.changes)
    feats = shipped.group("feat")
    assert feats is not None and [line.description for line in feats.lines] == ["first, with a comma", "second"]
    breaking = shipped.group("breaking")
    assert breaking is not None and breaking.lines[0].type == "refactor"


def test_git_source_fills_titles_types_and_breaking_marks(tmp_path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat(api): add /temperature", "2026-01-05T09:00:00+00:00")
    repo.commit("fix: handle a missing sensor (#7)\n\nbody line\n", "2026-01-05T10:00:00+00:00")
    repo.commit("refactor!: new cache keys\n\nBREAKING CHANGE: old keys are ignored\n", "2026-01-05T11:00:00+00:00")
    repo.commit("docs: thanks @octocat (mail octo@example.com)", "2026-01-05T12:00:00+00:00")
    repo.commit(b"fix: caf\xe9 bytes that are not UTF-8", "2026-01-05T12:30:00+00:00")
    repo.tag("v1.0.0")
    events = read_git(str(repo.path))
    changes = events.changes.sort_values("committed_at")
    titles = list(changes["title"])
    assert titles[:4] == ["feat(api): add /temperature", "fix: handle a missing sensor (#7)",
                          "refactor!: new cache keys", "docs: thanks (someone) (mail (someone))"]
    # a Latin-1 byte: decoded with replacement, or re-encoded by git; never an error
    assert titles[4] in ("fix: caf\ufffd bytes that are not UTF-8", "fix: caf\u00e9 bytes that are not UTF-8")
    assert list(changes["change_type"]) == ["feat", "fix", "refactor!", "docs", "fix"]
    shipped = what_shipped(changes)
    assert [g.key for g in shipped.groups] == ["breaking", "feat", "fix", "docs"]
    text = to_markdown(shipped) + changes.to_csv()
    assert PLANTED_NAME not in text and PLANTED_EMAIL not in text


def test_redact_people_keeps_code_and_package_scopes() -> None:
    assert redact_people("fix: use @lru_cache and @app.get()") == "fix: use @lru_cache and @app.get()"
    assert redact_people("chore(deps): bump @types/node") == "chore(deps): bump @types/node"
    assert redact_people("cc @alice.") == "cc (someone)."
    assert redact_people("Merge pull request #3 from bob/x") == "Merge pull request #3"


def test_empty_and_missing_columns() -> None:
    assert what_shipped(pd.DataFrame({"change_id": []})).changes == 0
    only_ids = what_shipped(pd.DataFrame({"change_id": ["abcdef1234567890"]}))
    group = only_ids.group("other")
    assert group is not None and group.lines[0].description == "change abcdef123456"
