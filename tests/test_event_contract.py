"""One event contract, two readers: the same deployments rows through ``--events`` and ``--git --deployments-file``.

Each case of the corpus is one deployments file (good rows, or exactly one defect). The *same file* is read
both ways by the command line, against a real git repository built here:

- ``--events DIR`` (the file is ``DIR/deployments.csv``/``.json``, next to an empty ``changes.csv``);
- ``--git REPO --deployments-file DIR/deployments.csv`` (the git source's reader).

A bad file must give byte-for-byte the same error line (file, line, column, value, expectation) through
``hivepulse metrics`` both ways; a good file must give the same deployment values through
``hivepulse events export`` both ways (``first_deployment`` is computed by the git source from the graph, so
it is compared separately). Before the one contract the git reader rejected ``...T10:00:00z`` and ``Success``,
which ``--events`` accepts.
"""

from __future__ import annotations

import csv
import io

import pytest
from gitrepo import GitRepo

from hivepulse.cli import main

HEADER = "deployment_id,environment,finished_at,status,commit_sha"

# name -> (file name, text with {a} {b} {c} for commit SHAs). Good cases: every accepted spelling.
GOOD = {
    "lowercase_z": ("deployments.csv", HEADER + "\nd1,production,2024-01-02T10:00:00z,success,{a}\n"),
    "status_and_kind_any_case": (
        "deployments.csv",
        HEADER + ",kind\nd1,production,2024-01-02T10:00:00Z,Success,{a},\n"
        "d2,production,2024-01-03T10:00:00Z,FAILURE,{b},Planned\n"
        "d3,production,2024-01-03T12:00:00Z,success,{b},UNPLANNED\n",
    ),
    "offsets_and_fractions": (
        "deployments.csv",
        HEADER + ",started_at\nd1,production,2024-01-02 15:30:00+05:30,success,{a},2024-01-02T09:55:00.250+00:30\n"
        "d2,staging,2024-01-03T10:00:00.123456789+0200,success,{b},\n"
        "d3,production,2024-01-04T10:00:00-08,success,{c},2024-01-04T17:59:59Z\n",
    ),
    "bom_crlf_quotes_spaces_blank_lines": (
        "deployments.csv",
        "\ufeff" + HEADER.replace(",", " , ") + ",version\r\n\r\n"
        ' d1 , "production" ,  2024-01-02T10:00:00Z ,success, {a} ,"v1, the first"\r\n'
        "\r\n"
        'd2,production,2024-01-03T10:00:00Z,success,{b},"line\r\nbreak"\r\n',
    ),
    "rollback_and_unknown_column": (
        "deployments.csv",
        HEADER + ",rollback_of,owner\nd1,production,2024-01-02T10:00:00Z,success,{a},,x\n"
        "d2,production,2024-01-03T10:00:00Z,success,{b},,y\n"
        "d3,production,2024-01-03T12:00:00Z,success,{a},d2,z\n",
    ),
    "abbreviated_sha_and_upper_hex": (
        "deployments.csv",
        HEADER + "\nd1,production,2024-01-02T10:00:00Z,success,{a_short}\n",
    ),
    "json_array": (
        "deployments.json",
        '[{{"deployment_id": "d1", "environment": "production", "finished_at": "2024-01-02T10:00:00z",\n'
        '  "status": "Success", "commit_sha": "{a}", "version": 7}},\n'
        ' {{"deployment_id": "d2", "environment": "staging", "finished_at": "2024-01-03T10:00:00+01:00",\n'
        '  "status": "failure", "commit_sha": "{b}", "kind": null}}]\n',
    ),
}

# Bad cases: one defect each; the expected fragment pins what both readers must say.
BAD = {
    "unparsable_timestamp": (HEADER + "\nd1,production,2024-13-02T10:00:00Z,success,{a}\n",
                             "line 2, column 'finished_at': unparsable timestamp: got '2024-13-02T10:00:00Z'"),
    "naive_timestamp": (HEADER + "\nd1,production,2024-01-02T10:00:00Z,success,{a}\n"
                        "d2,production,2024-01-03 10:00:00,success,{b}\n",
                        "line 3, column 'finished_at': timestamp without UTC offset: got '2024-01-03 10:00:00'"),
    "out_of_range": (HEADER + "\nd1,production,2300-01-02T10:00:00Z,success,{a}\n",
                     "line 2, column 'finished_at': timestamp out of range"),
    "epoch_number": (HEADER + "\nd1,production,1704189600,success,{a}\n",
                     "line 2, column 'finished_at': unparsable timestamp: got '1704189600'"),
    "bad_status": (HEADER + "\nd1,production,2024-01-02T10:00:00Z,ok,{a}\n",
                   "line 2, column 'status': invalid status: got 'ok'; expected one of success, failure"),
    "bad_kind": (HEADER + ",kind\nd1,production,2024-01-02T10:00:00Z,success,{a},rework\n",
                 "line 2, column 'kind': invalid kind: got 'rework'; expected one of planned, unplanned"),
    "bad_boolean": (HEADER + ",first_deployment\nd1,production,2024-01-02T10:00:00Z,success,{a},yes\n",
                    "line 2, column 'first_deployment': invalid boolean: got 'yes'"),
    "first_bad_row_wins": (HEADER + "\nd1,production,2024-01-02T10:00:00Z,sucess,{a}\n"
                           "d2,production,nope,success,{b}\n",
                           "line 2, column 'status': invalid status"),
    "duplicate_id": (HEADER + "\nd1,production,2024-01-02T10:00:00Z,success,{a}\n"
                     "d1,production,2024-01-03T10:00:00Z,success,{b}\n",
                     "line 3, column 'deployment_id': duplicate deployment_id (first on line 2): got 'd1'"),
    "started_after_finished": (HEADER + ",started_at\nd1,production,2024-01-02T10:00:00Z,success,{a},"
                               "2024-01-02T10:00:01Z\n",
                               "line 2, column 'started_at': started after it finished"),
    "rollback_of_unknown": (HEADER + ",rollback_of\nd1,production,2024-01-02T10:00:00Z,success,{a},d9\n",
                            "line 2, column 'rollback_of': rollback of an unknown deployment: got 'd9'; "
                            "expected another deployment_id listed in deployments.csv"),
    "rollback_of_itself": (HEADER + ",rollback_of\nd1,production,2024-01-02T10:00:00Z,success,{a},d1\n",
                           "line 2, column 'rollback_of': rollback of itself"),
    "ragged_row": (HEADER + "\nd1,production,2024-01-02T10:00:00Z,success\n",
                   "line 2, column 'commit_sha': row has 4 fields; expected 5 fields"),
    "unterminated_quote": (HEADER + '\nd1,production,"2024-01-02T10:00:00Z,success,{a}\n',
                           "line 2: malformed CSV: unterminated quoted field"),
    "control_characters": (HEADER + "\nd1,production,2024-01-02T10:00:00Z,\x1b]0;owned\x07ok\x1b[31m,{a}\n",
                           "line 2, column 'status': invalid status: got 'ok'"),
}  # fmt: skip


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = GitRepo(tmp_path_factory.mktemp("contract"))
    shas = {k: repo.commit(f"feat: {k}", f"2024-01-0{i}T08:00:00Z") for i, k in enumerate("abc", start=1)}
    return repo, shas


def _events_dir(tmp_path, name: str, text: str, shas: dict[str, str]):
    ev = tmp_path / "ev"
    ev.mkdir()
    values = {**shas, "a_short": shas["a"][:9].upper()}
    (ev / name).write_bytes(text.format(**values).encode("utf-8"))
    (ev / "changes.csv").write_text("change_id,committed_at,deployment_id\n")
    return ev, ev / name


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.mark.parametrize("case", sorted(BAD), ids=sorted(BAD))
def test_bad_rows_get_the_same_error_both_ways(repo, tmp_path, capsys, case):
    git, shas = repo
    text, fragment = BAD[case]
    ev, file = _events_dir(tmp_path, "deployments.csv", text, shas)
    window = ["--since", "2024-01-01", "--until", "2024-02-01"]
    code_e, out_e, err_e = _run(capsys, ["metrics", "--events", str(ev), *window])
    code_g, out_g, err_g = _run(capsys, ["metrics", "--git", str(git.path), "--deployments-file", str(file), *window])
    assert (code_e, code_g) == (2, 2), err_e + err_g
    assert out_e == out_g == ""
    assert err_e == err_g  # the same line, byte for byte
    assert err_e.count("\n") == 1 and err_e.startswith(f"hivepulse metrics: error: {file}, ")
    assert fragment in err_e
    assert "\x1b" not in err_e and "\x07" not in err_e  # data never reaches the terminal raw


@pytest.mark.parametrize("case", sorted(GOOD), ids=sorted(GOOD))
def test_good_rows_get_the_same_values_both_ways(repo, tmp_path, capsys, case):
    git, shas = repo
    name, text = GOOD[case]
    ev, file = _events_dir(tmp_path, name, text, shas)
    code, _, err = _run(capsys, ["events", "export", "--events", str(ev), "--out", str(tmp_path / "e")])
    assert code == 0, err
    code, _, err = _run(capsys, ["events", "export", "--git", str(git.path), "--deployments-file", str(file),
                                 "--out", str(tmp_path / "g")])  # fmt: skip
    assert code == 0, err
    from_events = _rows(tmp_path / "e" / "deployments.csv")
    from_git = _rows(tmp_path / "g" / "deployments.csv")
    full = {sha[:9]: sha for sha in shas.values()}
    for row in from_events:  # the git source writes the full SHA of an abbreviated one
        row["commit_sha"] = full.get(row["commit_sha"][:9].lower(), row["commit_sha"])
        row["version"] = row["version"] or row["commit_sha"][:12]  # the git source's default version
    key = sorted(from_events[0])
    compared = [k for k in key if k != "first_deployment"]
    assert [[r[k] for k in compared] for r in from_git] == [[r[k] for k in compared] for r in from_events]
    # first_deployment: the earliest successful deployment of each environment (git); the file said nothing
    assert all(r["first_deployment"] == "false" for r in from_events)
    firsts = {}
    for r in from_git:
        if r["status"] == "success":
            firsts.setdefault(r["environment"], r["deployment_id"])
    assert {r["deployment_id"] for r in from_git if r["first_deployment"] == "true"} == set(firsts.values())


def test_values_spelled_differently_are_one_value(repo, tmp_path, capsys):
    """The issue's example: `...T10:00:00z` and `status=Success` are accepted by both readers, as UTC and
    `success`, with sub-second precision kept."""
    git, shas = repo
    text = HEADER + ",started_at\nd1,production,2024-01-02T10:00:00.250z,Success,{a},2024-01-02T11:00:00+02:00\n"
    ev, file = _events_dir(tmp_path, "deployments.csv", text, shas)
    assert _run(capsys, ["events", "export", "--git", str(git.path), "--deployments-file", str(file),
                         "--out", str(tmp_path / "g")])[0] == 0  # fmt: skip
    (row,) = _rows(tmp_path / "g" / "deployments.csv")
    assert (row["finished_at"], row["started_at"], row["status"]) == (
        "2024-01-02T10:00:00.250Z", "2024-01-02T09:00:00Z", "success")


def test_header_rules_differ_only_in_the_required_columns(repo, tmp_path, capsys):
    """A file without finished_at: both readers name the same line and column; what they list as required is
    each reader's own (event files need deployment_id and status, the git reader commit_sha)."""
    git, shas = repo
    ev, file = _events_dir(tmp_path, "deployments.csv",
                           "deployment_id,environment,status,commit_sha\nd1,production,success,{a}\n", shas)  # fmt: skip
    _, _, err_e = _run(capsys, ["metrics", "--events", str(ev), "--since", "2024-01-01"])
    _, _, err_g = _run(capsys, ["metrics", "--git", str(git.path), "--deployments-file", str(file), "--since", "2024-01-01"])
    prefix = f"{file}, line 1, column 'finished_at': missing required column; expected the columns "
    assert prefix + "deployment_id, environment, finished_at, status (found: " in err_e
    assert prefix + "finished_at, environment, commit_sha (found: " in err_g


def test_git_reader_rules_beyond_the_event_files(repo, tmp_path, capsys):
    """What only the git reader checks: a hex SHA that exists in the repository; an empty environment or status
    takes the default (documented in docs/git-source.md)."""
    git, shas = repo
    for text, fragment in [
        (HEADER + "\nd1,production,2024-01-02T10:00:00Z,success,main\n",
         "line 2, column 'commit_sha': not a commit SHA: got 'main'; expected 7 to 64 hex digits"),
        (HEADER + "\nd1,production,2024-01-02T10:00:00Z,success,{a}\nd2,production,2024-01-03T10:00:00Z,success,"
         "deadbeefdead\n", "line 3, column 'commit_sha': commit not found in the repository"),
    ]:  # fmt: skip
        file = tmp_path / "d.csv"
        file.write_text(text.format(**shas))
        code, _, err = _run(capsys, ["metrics", "--git", str(git.path), "--deployments-file", str(file)])
        assert code == 2 and fragment in err, err
    file = tmp_path / "d.csv"
    file.write_text("finished_at,environment,commit_sha,status\n2024-01-02T10:00:00Z,,{a},\n".format(**shas))
    assert _run(capsys, ["events", "export", "--git", str(git.path), "--deployments-file", str(file),
                         "--deploy-env", "qa", "--out", str(tmp_path / "o")])[0] == 0  # fmt: skip
    (row,) = _rows(tmp_path / "o" / "deployments.csv")
    assert (row["environment"], row["status"], row["deployment_id"]) == (
        "qa", "success", f"qa@{shas['a'][:12]}@1704189600")


def test_assume_utc_applies_to_the_deployments_file(repo, tmp_path, capsys):
    git, shas = repo
    file = tmp_path / "d.csv"
    file.write_text(HEADER + "\nd1,production,2024-01-02 10:00:00,success,{a}\n".format(**shas))
    code, _, err = _run(capsys, ["events", "export", "--git", str(git.path), "--deployments-file", str(file),
                                 "--assume-utc", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 0, err
    assert "d.csv: 1 timestamps without UTC offset read as UTC (--assume-utc)" in err
    assert _rows(tmp_path / "o" / "deployments.csv")[0]["finished_at"] == "2024-01-02T10:00:00Z"
