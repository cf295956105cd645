"""``hivepulse events export`` and ``metrics --git``: exit codes, blamelessness, --git == --events metrics."""

from __future__ import annotations

import json

import pytest
from gitrepo import PLANTED_EMAIL, PLANTED_NAME, TAGGER_EMAIL, TAGGER_NAME, GitRepo

from hivepulse.cli import main

PLANTED = (PLANTED_NAME, PLANTED_EMAIL, TAGGER_NAME, TAGGER_EMAIL, "Zebulon", "Quintessa", "example.invalid")


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Two weeks of a team: merges, a squash, staging tags, a revert, a hotfix and a rollback."""
    repo = GitRepo(tmp_path_factory.mktemp("story"))
    c1 = repo.commit("feat: start", "2024-09-02T08:00:00+02:00")
    repo.tag("v1.0.0", annotated_at="2024-09-02T10:00:00+02:00")
    repo.checkout("feature/a", new=True)
    repo.commit("feat(a): part 1", "2024-09-02T14:00:00+05:30", file="a.txt")
    repo.commit("test(a): part 2", "2024-09-03T09:00:00-08:00", file="a.txt")
    repo.checkout("main")
    repo.merge("feature/a", "2024-09-03T20:00:00Z")
    repo.tag("deploy/staging/1", annotated_at="2024-09-03T21:00:00Z")
    repo.tag("v1.1.0", annotated_at="2024-09-04T09:00:00Z")
    repo.checkout("feature/b", new=True)
    repo.commit("wip b", "2024-09-04T10:00:00Z", file="b.txt")
    repo.commit("wip b 2", "2024-09-04T11:00:00Z", file="b.txt")
    repo.checkout("main")
    risky = repo.squash_merge("feature/b", "2024-09-05T09:00:00Z", "feat(b): new search (#7)")
    repo.tag("deploy/staging/2", annotated_at="2024-09-05T10:00:00Z")
    repo.tag("v1.2.0", annotated_at="2024-09-05T12:00:00Z")
    repo.revert(risky, "2024-09-05T15:00:00Z")
    repo.tag("v1.2.1", annotated_at="2024-09-05T16:00:00Z")
    repo.commit("fix: typo", "2024-09-06T09:00:00Z")
    repo.tag("v1.2.2", annotated_at="2024-09-06T11:00:00Z")
    repo.commit(f"feat: export\n\nSigned-off-by: {PLANTED_NAME} <{PLANTED_EMAIL}>", "2024-09-09T09:00:00Z")
    repo.tag("v1.3.0", annotated_at="2024-09-09T12:00:00Z")
    repo.tag("v1.2.3", "v1.2.2", annotated_at="2024-09-09T14:00:00Z")  # rollback to the v1.2.2 commit
    repo.commit("fix: export again", "2024-09-10T09:00:00Z")
    repo.tag("v1.3.1-hotfix", annotated_at="2024-09-10T10:00:00Z")
    repo.commit("feat: more", "2024-09-11T09:00:00Z")
    repo.tag("v1.4.0", annotated_at="2024-09-12T09:00:00Z")
    assert c1
    return repo


GIT_FLAGS = ["--tag-regex", r"v\d+\.\d+\.\d+(-hotfix)?", "--tag-pattern", "deploy/{env}/*"]


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_export_is_blameless_and_complete(story, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, stderr = _run(
        capsys, ["events", "export", "--git", str(story.path), "--out", str(out), *GIT_FLAGS]
    )
    assert code == 0, stderr
    assert stdout.startswith("wrote 11 deployments")
    files = sorted(p.name for p in out.iterdir())
    assert files == ["changes.csv", "deployments.csv", "incidents.csv"]
    everything = stdout + stderr + "".join((out / f).read_text() for f in files)
    for planted in PLANTED:
        assert planted.lower() not in everything.lower()
    # normalizing the exported files again is the identity
    again = tmp_path / "again"
    code, _, _ = _run(capsys, ["events", "export", "--events", str(out), "--out", str(again)])
    assert code == 0
    for f in files:
        assert (again / f).read_bytes() == (out / f).read_bytes()


def test_in_memory_events_are_blameless(story):
    from hivepulse.sources.git import GitOptions, read_git

    ev = read_git(
        story.path, GitOptions(tag_regexes=(r"v\d+\.\d+\.\d+(-hotfix)?",), tag_patterns=("deploy/{env}/*",))
    )
    text = "".join(f.to_csv() for f in (ev.deployments, ev.changes, ev.incidents)) + repr(ev.notes)
    for planted in PLANTED:
        assert planted.lower() not in text.lower()


@pytest.mark.parametrize("env", ["production", "staging"])
def test_metrics_from_git_equal_metrics_from_exported_files(story, tmp_path, capsys, env):
    out = tmp_path / "out"
    assert _run(capsys, ["events", "export", "--git", str(story.path), "--out", str(out), *GIT_FLAGS])[0] == 0
    window = ["--since", "2024-09-02", "--until", "2024-09-16", "--env", env, "--format", "json"]
    code_g, json_g, err_g = _run(capsys, ["metrics", "--git", str(story.path), *GIT_FLAGS, *window])
    code_e, json_e, err_e = _run(capsys, ["metrics", "--events", str(out), *window])
    assert (code_g, code_e) == (0, 0), err_g + err_e
    assert json.loads(json_g) == json.loads(json_e)


def test_story_metrics_hand_computed(story):
    """Production, window [2024-09-02, 2024-09-16):

    deployments (UTC finish): v1.0.0 09-02 08:00 (first), v1.1.0 09-04 09:00, v1.2.0 09-05 12:00,
    v1.2.1 09-05 16:00 (ships the revert of the squash commit: unplanned), v1.2.2 09-06 11:00,
    v1.3.0 09-09 12:00, v1.2.3 09-09 14:00 (rollback of v1.3.0: unplanned), v1.3.1-hotfix 09-10 10:00
    (hotfix tag: unplanned), v1.4.0 09-12 09:00 -> 9 deployments.
    Failed: v1.2.0 (revert incident; also fixed by unplanned v1.2.1) and v1.3.0 (rolled back by v1.2.3; also
    the latest planned deployment before the unplanned v1.2.3 and v1.3.1-hotfix) -> 2 of 9.
    Unplanned: v1.2.1, v1.2.3, v1.3.1-hotfix -> 3 of 9.
    """
    from hivepulse.metrics.dora import MetricsConfig, Window, compute
    from hivepulse.sources.git import GitOptions, read_git

    ev = read_git(
        story.path, GitOptions(tag_regexes=(r"v\d+\.\d+\.\d+(-hotfix)?",), tag_patterns=("deploy/{env}/*",))
    )
    r = compute(ev, Window.parse("2024-09-02", "2024-09-16"), MetricsConfig())
    assert r.deployment_frequency["deployments"] == 9
    assert (r.change_fail_rate["failed"], r.change_fail_rate["deployments"]) == (2, 9)
    assert r.rework_rate["unplanned"] == 3
    # recovery: v1.2.0 12:00 -> incident resolved at v1.2.1 16:00 = 4 h; v1.3.0 12:00 -> v1.2.3 14:00 = 2 h
    assert sorted(r.recoveries["recovery_hours"].dropna()) == [2.0, 4.0]
    # lead times (first deployment excluded): v1.1.0 09:00Z 09-04: part1 08:30Z 09-02 -> 48.5 h,
    # part2 17:00Z 09-03 -> 16 h; v1.2.0: squash 09:00 -> 3 h; v1.2.1: revert 15:00 -> 1 h; v1.2.2: 2 h;
    # v1.3.0: 3 h; v1.3.1-hotfix: 1 h; v1.4.0: 24 h -> sorted [1, 1, 2, 3, 3, 16, 24, 48.5], median 3 h
    assert r.lead_time["n"] == 8 and r.lead_time["value"] == pytest.approx(3.0)


def test_exit_codes_and_one_line_errors(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(capsys, ["events", "export", "--git", str(tmp_path), "--out", str(out)])
    assert code == 3 and err.count("\n") == 1 and "not a git repository" in err
    repo = GitRepo(tmp_path / "r")
    repo.commit("feat: a", "2024-01-01T00:00:00Z")
    code, _, err = _run(capsys, ["events", "export", "--git", str(repo.path), "--out", str(out)])
    assert code == 2 and err.count("\n") == 1 and "no tag matched" in err and "Traceback" not in err
    assert not out.exists()  # nothing written
    code, _, err = _run(capsys, ["events", "export", "--git", str(repo.path), "--out", str(out),
                                 "--tag-regex", "("])  # fmt: skip
    assert code == 2 and "--tag-regex" in err
    code, _, err = _run(capsys, ["events", "export", "--out", str(out)])
    assert code == 2 and "exactly one source" in err
    code, _, err = _run(capsys, ["metrics", "--git", str(tmp_path / "nope"), "--since", "2024-01-01"])
    assert code == 3 and "no such directory" in err


def test_export_path_imports_no_scipy(story, tmp_path):
    """Issue 11: exporting from git needs no statistics (scipy cost about 1 s of a 4 s export)."""
    import subprocess
    import sys

    code = ("import sys; from hivepulse.cli import main; "
            f"rc = main(['events', 'export', '--git', {str(story.path)!r}, '--out', {str(tmp_path / 'o')!r}]); "
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'matplotlib', 'sklearn')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.strip().splitlines()[-1] == "0 []"
