"""Release notes from commits (issue 15, item 5): ``hivepulse release-notes`` and ``make release-notes`` on real git
repositories built here: the last release tag, the commits since it by the git source's reading, hivepulse's own
"what shipped" grouping, the suggested semver version, no author, and an idempotent, atomic CHANGELOG update."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from gitrepo import PLANTED_EMAIL, PLANTED_NAME, TAGGER_EMAIL, TAGGER_NAME, GitRepo

from hivepulse.cli import main
from hivepulse.errors import InputError
from hivepulse.retro.releasenotes import (
    Version,
    insert_section,
    parse_version,
    release_notes,
    render_section,
    update_changelog,
)

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = (PLANTED_NAME, PLANTED_EMAIL, TAGGER_NAME, TAGGER_EMAIL, "zebulon", "Zebulon")


class History:
    """main: feat, fix [v1.1.0 on the first, v1.2.0 on the second, annotated], then since the tag: fix(scope),
    docs (naming a person), a non-conventional subject, a feature branch merged with a merge commit [H1], then
    ``feat(api)!:`` and a ``BREAKING CHANGE:`` footer [H2 = HEAD]. Tags that must not count: ``v9.0.0`` on an
    unmerged branch, ``v1.3.0-rc1`` (a pre-release) on main."""

    def __init__(self, path: Path) -> None:
        repo = self.repo = GitRepo(path)
        repo.commit("feat: first endpoint", "2024-01-01T10:00:00Z")
        repo.tag("v1.1.0")
        repo.commit("fix: first bug", "2024-01-02T10:00:00Z")
        repo.tag("v1.2.0", annotated_at="2024-01-02T11:00:00Z")
        repo.checkout("elsewhere", new=True)
        repo.commit("feat: never merged", "2024-01-03T10:00:00Z")
        repo.tag("v9.0.0")
        repo.checkout("main")
        repo.commit("fix(cache): do not cache upstream errors (#12)", "2024-02-01T10:00:00Z")
        repo.tag("v1.3.0-rc1")
        repo.commit("docs: explain the cache, thanks @zebulon and zebulon.planted@example.invalid",
                    "2024-02-02T10:00:00Z")  # fmt: skip
        repo.commit("Tidy up the readme", "2024-02-03T10:00:00Z")
        repo.checkout("feature", new=True)
        repo.commit("feat(ui): dark mode", "2024-02-04T10:00:00Z")
        repo.checkout("main")
        self.h1 = repo.merge("feature", "2024-02-05T10:00:00Z")
        repo.commit("feat(api)!: drop the v1 endpoints", "2024-03-01T10:00:00Z")
        self.h2 = repo.commit(b"refactor: one store format\n\nBREAKING CHANGE: the store needs a migration\n",
                              "2024-03-02T10:00:00Z")  # fmt: skip


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return History(tmp_path_factory.mktemp("rel") / "repo")


SECTION_H1 = """\
## [1.3.0] - 2024-02-06

<!-- hivepulse release-notes: 4 change(s) since v1.2.0, suggested version 1.3.0 -->

### Features

- **ui:** dark mode

### Bug fixes

- **cache:** do not cache upstream errors (#12)

### Documentation

- explain the cache, thanks (someone) and (someone)

### Other changes

- Tidy up the readme
"""

SECTION_H2 = """\
## [2.0.0] - 2024-03-03

<!-- hivepulse release-notes: 6 change(s) since v1.2.0, suggested version 2.0.0 -->

### Breaking changes

- **api:** drop the v1 endpoints
- one store format

### Features

- **ui:** dark mode

### Bug fixes

- **cache:** do not cache upstream errors (#12)

### Documentation

- explain the cache, thanks (someone) and (someone)

### Other changes

- Tidy up the readme
"""


def _no_people(text: str) -> None:
    for who in PEOPLE:
        assert who not in text


def test_the_commits_since_the_last_release_tag_without_merges_and_a_minor_bump(history: History) -> None:
    notes = release_notes(history.repo.path, rev=history.h1)
    assert notes.since is not None and (notes.since.name, str(notes.since.version)) == ("v1.2.0", "1.2.0")
    assert notes.since.sha == history.repo.rev("v1.2.0^{commit}")
    assert (notes.shipped.changes, notes.merges, notes.bump, str(notes.suggested)) == (4, 1, "minor", "1.3.0")
    assert notes.head == history.h1
    section = render_section(notes, Version(1, 3, 0), date(2024, 2, 6))
    assert section == SECTION_H1
    _no_people(section + notes.summary())
    assert notes.summary() == ("since v1.2.0: 4 change(s): 1 feature(s), 1 fix(es), 2 other; "
                               "1 merge commit(s) left out; suggested version 1.3.0 (minor)")  # fmt: skip


def test_breaking_changes_from_a_bang_and_a_footer_bump_the_major(history: History) -> None:
    notes = release_notes(history.repo.path)
    assert (notes.shipped.changes, notes.bump, str(notes.suggested)) == (6, "major", "2.0.0")
    assert render_section(notes, notes.suggested, date(2024, 3, 3)) == SECTION_H2
    unreleased = render_section(notes)
    assert unreleased.startswith("## [Unreleased]\n\n<!-- hivepulse release-notes: 6 change(s) since v1.2.0, ")
    assert unreleased.split("\n", 1)[1] == SECTION_H2.split("\n", 1)[1]


def test_without_a_tag_the_whole_history_counts_from_0_0_0(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat!: first cut", "2024-01-01T10:00:00Z")
    repo.commit("fix: typo", "2024-01-02T10:00:00Z")
    notes = release_notes(repo.path)
    assert notes.since is None and notes.shipped.changes == 2
    # below 1.0.0 a breaking change bumps the minor version (0.y.z is initial development)
    assert (notes.bump, str(notes.suggested)) == ("minor", "0.1.0")
    assert "in the whole history (no release tag)" in render_section(notes)
    repo.tag("v0.1.0")
    repo.git("checkout", "-q", "--detach")
    repo.commit("fix: on a detached HEAD", "2024-01-03T10:00:00Z")  # no branch names this commit
    notes = release_notes(repo.path)
    assert (notes.since and notes.since.name, notes.shipped.changes, str(notes.suggested)) == ("v0.1.0", 1, "0.1.1")


def test_a_custom_tag_regex_reads_monorepo_package_tags(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat: a", "2024-01-01T10:00:00Z")
    repo.tag("@scope/cli@2.27.1")
    repo.commit("feat: b", "2024-01-02T10:00:00Z")
    repo.tag("@scope/other@9.0.0")
    repo.commit("fix: c", "2024-01-03T10:00:00Z")
    assert release_notes(repo.path).since is None  # package tags are no release tags by default
    notes = release_notes(repo.path, tag_regex=r"@scope/cli@.*")
    assert notes.since is not None and notes.since.label == "@scope/cli@2.27.1"
    assert (notes.shipped.changes, str(notes.suggested)) == (2, "2.28.0")


CHANGELOG = """\
# Changelog

Intro.

## [Unreleased]

### Added
- a hand-written entry

## [1.2.0] - 2024-01-02

### Fixed
- first bug

[1.2.0]: https://example.invalid/v1.2.0
"""


def test_write_puts_the_release_below_a_hand_written_unreleased_section_once(history: History,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    log = tmp_path / "CHANGELOG.md"
    log.write_text(CHANGELOG, encoding="utf-8")
    notes = release_notes(history.repo.path)
    update = update_changelog(log, notes, Version(2, 0, 0), date(2024, 3, 3))
    assert (update.action, update.line) == ("inserted", 10)
    head, tail = CHANGELOG.split("## [1.2.0]")
    assert log.read_text(encoding="utf-8") == f"{head}{SECTION_H2}\n## [1.2.0]{tail}"
    before = log.read_bytes()
    again = update_changelog(log, notes, Version(2, 0, 0), date(2024, 3, 4))
    assert (again.action, again.line) == ("exists", 10) and log.read_bytes() == before
    with pytest.raises(InputError, match=r"hand-written \[Unreleased\] section \(line 5\)"):
        update_changelog(log, notes, None)
    assert log.read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name != "CHANGELOG.md"]  # no temporary file left


def test_a_generated_unreleased_section_is_replaced_then_released(history: History, tmp_path: Path) -> None:
    log = tmp_path / "CHANGELOG.md"
    log.write_text(CHANGELOG.replace("## [Unreleased]\n\n### Added\n- a hand-written entry\n\n", ""), "utf-8")
    old = release_notes(history.repo.path, rev=history.h1)
    assert update_changelog(log, old, None).action == "inserted"
    first = log.read_text(encoding="utf-8")
    assert first.index("## [Unreleased]") < first.index("## [1.2.0]") and "dark mode" in first
    assert update_changelog(log, old, None).action == "unchanged" and log.read_text(encoding="utf-8") == first
    new = release_notes(history.repo.path)
    assert update_changelog(log, new, None).action == "replaced"
    text = log.read_text(encoding="utf-8")
    assert text.count("## [Unreleased]") == 1 and text.count("drop the v1 endpoints") == 1
    assert update_changelog(log, new, Version(2, 0, 0), date(2024, 3, 3)).action == "replaced"
    text = log.read_text(encoding="utf-8")
    assert "## [Unreleased]" not in text and text.startswith("# Changelog\n\nIntro.\n\n" + SECTION_H2 + "\n## [1.2.0]")


def test_insertion_rules_on_odd_changelogs() -> None:
    section = "## [Unreleased]\n\n<!-- hivepulse release-notes: x -->\n\n### Features\n\n- a\n"
    assert insert_section("", section, None).text == section
    refs = "# Changelog\n\nText.\n\n[1.0.0]: https://example.invalid\n"
    assert insert_section(refs, section, None).text == f"# Changelog\n\nText.\n\n{section}\n[1.0.0]: https://example.invalid\n"
    fenced = "# C\n\n```\n## [1.0.0] in a code block\n```\n"
    assert insert_section(fenced, section, None).text == f"{fenced}\n{section}"
    crlf = "# C\r\n\r\n## [1.0.0] - 2024-01-01\r\n"
    assert insert_section(crlf, section, None).text == "# C\r\n\r\n" + section.replace("\n", "\r\n") + "\r\n## [1.0.0] - 2024-01-01\r\n"
    please = "# Changelog\n\n## [17.11.1](https://example.invalid/compare/v17.11.0...v17.11.1) (2025-06-12)\n"
    assert insert_section(please, "", Version(17, 11, 1)).action == "exists"


def test_versions_are_semver() -> None:
    assert str(parse_version("v1.3.0")) == "1.3.0"
    assert str(parse_version("1.3.0-rc.1+build.5")) == "1.3.0-rc.1+build.5"
    assert parse_version("1.3.0-rc.2").key() < parse_version("1.3.0-rc.10").key() < parse_version("1.3.0").key()
    for bad in ("1.3", "01.2.3", "1.2.3.4", "latest", "1.2.3-", ""):
        with pytest.raises(InputError):
            parse_version(bad)


def test_cli_prints_or_writes_and_errors_are_one_line(history: History, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    repo = str(history.repo.path)
    assert main(["release-notes", "--repo", repo, "--version", "next", "--date", "2024-03-03"]) == 0
    out, err = capsys.readouterr()
    assert out == SECTION_H2
    assert err == ("hivepulse release-notes: since v1.2.0: 6 change(s): 2 breaking, 1 feature(s), 1 fix(es), "
                   "2 other; 1 merge commit(s) left out; suggested version 2.0.0 (major)\n")  # fmt: skip
    _no_people(out + err)
    log = tmp_path / "new" / "CHANGELOG.md"  # missing: created
    args = ["release-notes", "--repo", repo, "--changelog", str(log), "--version", "2.0.0", "--date", "2024-03-03"]
    assert main([*args, "--write"]) == 0
    assert log.read_text(encoding="utf-8").endswith(f"semantic versioning.\n\n{SECTION_H2}")
    assert "section [2.0.0] inserted at line 6" in capsys.readouterr().err
    assert main([*args, "--write"]) == 0
    assert "already has a section for 2.0.0" in capsys.readouterr().err
    empty = GitRepo(tmp_path / "empty")
    bad_utf8 = tmp_path / "bad.md"
    bad_utf8.write_bytes(b"# C\n\xff\xfe\n")
    cases = [
        (["--repo", str(tmp_path)], 3, "not a git repository"),
        (["--repo", str(empty.path)], 3, "names no commit"),
        (["--repo", repo, "--version", "1.x"], 2, "not a semantic version"),
        (["--repo", repo, "--version", "1.2.0"], 2, "not after the last release v1.2.0"),
        (["--repo", repo, "--date", "2024-13-01"], 2, "--date: not a date"),
        (["--repo", repo, "--tag-regex", "(unclosed"], 2, "--tag-regex: invalid regular expression"),
        (["--repo", repo, "--write", "--changelog", str(tmp_path)], 2, "is a directory"),
        (["--repo", repo, "--write", "--changelog", str(bad_utf8), "--version", "2.0.0"], 2, "not UTF-8"),
    ]
    for extra, code, words in cases:
        assert main(["release-notes", *extra]) == code, extra
        err = capsys.readouterr().err
        assert err.startswith("hivepulse release-notes: error: ") and words in err and err.count("\n") == 1, err


def test_make_release_notes_runs_on_a_repository_built_here(history: History, tmp_path: Path) -> None:
    log = tmp_path / "CHANGELOG.md"
    log.write_text(CHANGELOG, encoding="utf-8")
    # -o: never reinstall the venv this test runs in, even if pyproject.toml is newer than its stamp
    make = ["make", "-C", str(ROOT), "--no-print-directory", "-s", "-o", ".venv/.installed", "release-notes",
            f"REPO={history.repo.path}", f"CHANGELOG={log}"]  # fmt: skip
    printed = subprocess.run(make, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("## [Unreleased]\n") and "- **api:** drop the v1 endpoints\n" in printed.stdout
    assert "suggested version 2.0.0 (major)" in printed.stderr and log.read_text(encoding="utf-8") == CHANGELOG
    wrote = subprocess.run([*make, "VERSION=next", "DATE=2024-03-03", "WRITE=1"], capture_output=True, text=True,
                           timeout=120)  # fmt: skip
    assert wrote.returncode == 0, wrote.stderr
    head, tail = CHANGELOG.split("## [1.2.0]")
    assert log.read_text(encoding="utf-8") == f"{head}{SECTION_H2}\n## [1.2.0]{tail}"
    _no_people(printed.stdout + printed.stderr + wrote.stdout + wrote.stderr)
    bad = subprocess.run([*make, "VERSION=1.0.0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "not after the last release v1.2.0" in bad.stderr
