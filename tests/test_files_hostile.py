"""Hostile event files (issue 10): huge numbers, symbolic links out of the directory, control characters.

Each case runs through the command line (``hivepulse.cli.main`` in process) and must give exit 2 with one
clean line: no traceback, no "a bug in hivepulse" (exit 1), no byte of another file, no raw escape sequence.
"""

from __future__ import annotations

import json
import os

import pytest

from hivepulse.cli import main
from hivepulse.errors import InputError
from hivepulse.sources.files import raw, read_events, write_events

DEPLOYMENTS = "deployment_id,environment,finished_at,status\nd1,production,2026-01-05T10:00:00Z,success\n"
BIG = "1" + "0" * 4999  # 5000 digits: past Python's 4300-digit int <-> str guard


def _dir(tmp_path, **files: str):
    ev = tmp_path / "ev"
    ev.mkdir(exist_ok=True)
    for name, text in files.items():
        (ev / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return ev


def _metrics(capsys, ev) -> tuple[int, str]:
    code = main(["metrics", "--events", str(ev), "--since", "2026-01-01", "--until", "2026-02-01"])
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    assert "Traceback" not in err and "a bug in hivepulse" not in err
    return code, err


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("changes__csv", f"change_id,committed_at,deployment_id,pr_number\nc1,2026-01-05T09:00:00Z,d1,{BIG}\n",
         "changes.csv, line 2, column 'pr_number'"),
        ("changes__jsonl", json.dumps({"change_id": "c1", "committed_at": "2026-01-05T09:00:00Z",
                                       "deployment_id": "d1"})[:-1] + f', "pr_number": {BIG}}}\n',
         "changes.jsonl, line 1, column 'pr_number'"),
        ("changes__json", '[{"change_id": "c1", "committed_at": "2026-01-05T09:00:00Z", "deployment_id": "d1",\n'
                          f'  "pr_number": {BIG}}}]\n',
         "changes.json, line 2, column 'pr_number'"),
    ],
)  # fmt: skip
def test_a_5000_digit_pr_number_is_bad_input(tmp_path, capsys, name, text, where):
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS, **{name: text})
    code, err = _metrics(capsys, ev)
    assert code == 2
    assert f"{where}: integer too large" in err
    assert "expected a whole number of at most 18 digits" in err
    assert len(err) < 400  # the value is a bounded preview, not 5000 digits


def test_nineteen_digits_are_too_large_and_letters_are_not_an_integer(tmp_path):
    for value, reason in (("1234567890123456789", "integer too large"), ("12a", "not an integer")):
        ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS,
                  changes__csv=f"change_id,committed_at,deployment_id,pr_number\nc1,2026-01-05T09:00:00Z,d1,{value}\n")  # fmt: skip
        with pytest.raises(InputError, match=f"column 'pr_number': {reason}"):
            read_events(ev)


# ----------------------------------------------------------------------------------- symbolic links


def test_symlink_to_a_file_outside_the_directory_is_refused_unread(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-HASH:0:0:root:/root:/bin/bash\nsecond line\n")
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS)
    os.symlink(secret, ev / "changes.csv")
    code, err = _metrics(capsys, ev)
    assert code == 2
    assert f"{ev / 'changes.csv'}: symbolic link to a file outside the events directory" in err
    assert "SECRET" not in err and "bin/bash" not in err


def test_symlink_of_notes_outside_the_directory_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("api-token-XYZ\n")
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS, changes__csv="change_id,committed_at,deployment_id\n")
    os.symlink(secret, ev / "notes.txt")
    with pytest.raises(InputError, match="notes.txt: symbolic link to a file outside") as info:
        read_events(ev)
    assert "XYZ" not in str(info.value)


def test_symlinks_inside_the_directory_and_a_linked_directory_are_read(tmp_path):
    real = _dir(tmp_path, deployments__csv=DEPLOYMENTS)
    (real / "changes-2026.csv").write_text("change_id,committed_at,deployment_id\nc1,2026-01-05T09:00:00Z,d1\n")
    os.symlink("changes-2026.csv", real / "changes.csv")
    linked = tmp_path / "linked"
    os.symlink(real, linked)
    events = read_events(linked)
    assert events.changes["change_id"].tolist() == ["c1"]


def test_a_symlink_loop_is_refused(tmp_path):
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS)
    os.symlink(ev / "changes.csv", ev / "changes.csv.loop")
    os.symlink(ev / "changes.csv.loop", ev / "changes.csv")
    with pytest.raises(InputError):
        read_events(ev)


# ----------------------------------------------------------------------------------- control characters

ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS.replace("status\n", f"status,{ESC}owner\n").replace(
        "success\n", "success,x\n"), changes__csv="change_id,committed_at,deployment_id\n",
        notes__txt=f"shallow clone {ESC}cut at 5 commits\n")  # fmt: skip
    events = read_events(ev)
    assert events.notes[0] == "shallow clone cut at 5 commits"
    assert all("\x1b" not in n and "\x07" not in n for n in events.notes)
    code = main(["events", "export", "--events", str(ev), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "note: deployments.csv: ignored unknown columns" in err
    # an error naming a value with escapes, in a directory whose name holds them
    bad = tmp_path / f"ev{ESC}"
    bad.mkdir()
    (bad / "deployments.csv").write_text(DEPLOYMENTS.replace("success", f"{ESC}success"))
    (bad / "changes.csv").write_text("change_id,committed_at,deployment_id\n")
    code, err = _metrics(capsys, bad)
    assert code == 2 and "invalid status: got 'success'" in err
    assert "\x1b" not in err and "\x07" not in err


def test_missing_column_message_shows_a_bounded_header(tmp_path):
    header = ",".join(f"col{i}" for i in range(500))
    ev = _dir(tmp_path, deployments__csv=header + "\n", changes__csv="change_id,committed_at,deployment_id\n")
    with pytest.raises(InputError, match="missing required column") as info:
        read_events(ev)
    assert len(str(info.value)) < 400 and "col499" not in str(info.value)


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS, changes__csv="change_id,committed_at,deployment_id\n")
    monkeypatch.setattr(raw, "MAX_FILE_BYTES", 40)
    with pytest.raises(InputError, match=r"deployments.csv: deployments file is larger than 40 bytes"):
        read_events(ev)


def test_writer_output_is_read_back_by_the_same_contract(tmp_path):
    """write_events then read_events: the canonical writer never produces what the reader refuses."""
    ev = _dir(tmp_path, deployments__csv=DEPLOYMENTS.replace("success", "Success"),
              changes__csv="change_id,committed_at,deployment_id\nc1,2026-01-05T09:00:00z,d1\n")  # fmt: skip
    events = read_events(ev)
    back = read_events(write_events(events, tmp_path / "out"))
    assert back.deployments["status"].tolist() == ["success"]
    assert (tmp_path / "out" / "changes.csv").read_text().splitlines()[1].startswith("c1,2026-01-05T09:00:00Z,d1")
