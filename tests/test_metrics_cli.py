"""`hivepulse metrics`: flags, JSON contract, table, defaults and one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_dora_helpers import C, D, I, build

from hivepulse.cli import main
from hivepulse.metrics.dora import MetricsConfig, Window, compute
from hivepulse.sources import files


@pytest.fixture
def events_dir(tmp_path):
    events = build(
        [
            D("d1", "2026-01-05T10:00:00Z"),
            D("d2", "2026-01-06T10:00:00Z", "failure"),
            D("d3", "2026-01-07T10:00:00Z"),
            D("d4", "2026-01-09T10:00:00Z", kind="unplanned"),
            D("old", "2025-12-30T10:00:00Z", first=True),
        ],
        [
            C("c1", "2026-01-05T07:00:00Z", "d1"),
            C("c2", "2026-01-07T09:00:00Z", "d3"),
            C("c0", "2025-12-29T10:00:00Z", "old"),
        ],
        [I("i1", "2026-01-07T20:00:00Z", "2026-01-08T02:00:00Z")],
    )
    out = tmp_path / "events"
    files.write_events(events, out)
    return out


def _json(capsys, *argv):
    code = main(["metrics", *argv, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_json_equals_library(events_dir, capsys):
    got = _json(capsys, "--events", str(events_dir), "--since", "2026-01-05", "--until", "2026-01-12")
    events = files.read_events(events_dir)
    expected = compute(events, Window.parse("2026-01-05", "2026-01-12"), MetricsConfig()).to_dict()
    assert got == expected
    # d1, d3, d4 counted -> 3 per week; d3 failed by the attributed incident (20:00 is 10 h after d3)
    # and by the unplanned d4; d2 failed attempt -> 2 failed of 4
    assert got["deployment_frequency"]["deployments"] == 3
    assert got["change_fail_rate"]["failed"] == 2 and got["change_fail_rate"]["n"] == 4
    assert got["comparison"] is None


def test_flags_reach_the_config(events_dir, capsys):
    base = ["--events", str(events_dir), "--since", "2026-01-05", "--until", "2026-01-12"]
    got = _json(
        capsys,
        *base,
        "--incident-max-gap-days",
        "0.25",
        "--tier-edition",
        "2023",
        "--tz",
        "Europe/Berlin",
        "--seed",
        "3",
        "--env",
        "production",
    )
    # 6 h gap: the incident opened 10 h after d3 is unattributed; d3 still failed (unplanned fix by d4)
    assert got["data_quality"]["unattributed_incidents"] == 1
    assert got["change_fail_rate"]["by_reason"]["incident"] == 0
    assert got["tier_edition"] == "2023" and got["window"]["tz"] == "Europe/Berlin"
    window = ["--events", str(events_dir), "--since", "2025-12-29", "--until", "2026-01-05"]
    assert _json(capsys, *window)["lead_time"]["n"] == 0  # c0 ships with the first deployment "old"
    first = _json(capsys, *window, "--include-first-deployment")
    assert first["lead_time"]["n"] == 1
    assert first["lead_time"]["value"] == 24  # 2025-12-29T10:00 -> 2025-12-30T10:00


def test_table_and_compare_previous(events_dir, capsys):
    code = main(
        [
            "metrics",
            "--events",
            str(events_dir),
            "--since",
            "2026-01-05",
            "--until",
            "2026-01-12",
            "--compare-previous",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for label in (
        "Deployment frequency",
        "Change lead time",
        "Change fail rate",
        "Recovery time",
        "Rework rate",
        "Compared with [2025-12-29T00:00:00Z, 2026-01-05T00:00:00Z)",
        "Data quality",
    ):
        assert label in out
    data = _json(
        capsys,
        "--events",
        str(events_dir),
        "--since",
        "2026-01-05",
        "--until",
        "2026-01-12",
        "--compare-previous",
    )
    assert data["comparison"]["deployment_frequency"]["previous_n"] == 1  # "old"


def test_default_window_is_28_days_to_end_of_latest_deployment_day(events_dir, capsys):
    got = _json(capsys, "--events", str(events_dir))
    # latest production deployment d4 on 2026-01-09 -> until 2026-01-10 00:00Z, since 28 days earlier
    assert got["window"]["until"] == "2026-01-10T00:00:00Z"
    assert got["window"]["since"] == "2025-12-13T00:00:00Z"


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--tz", "Nowhere/City"], "unknown time zone"),
        (["--since", "yesterday"], "invalid since"),
        (["--since", "2026-01-12", "--until", "2026-01-05"], "until must be after since"),
    ],
)
def test_bad_flags_exit_2_with_one_line(events_dir, capsys, extra, message):
    code = main(["metrics", "--events", str(events_dir), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_needs_exactly_one_source(capsys):
    assert main(["metrics", "--since", "2026-01-05", "--until", "2026-01-12"]) == 2
    assert "exactly one source" in capsys.readouterr().err


def test_missing_events_directory_is_exit_2(tmp_path, capsys):
    assert main(["metrics", "--events", str(tmp_path / "nope"), "--since", "2026-01-05"]) == 2


def test_environment_without_deployments_needs_a_window(events_dir, capsys):
    assert main(["metrics", "--events", str(events_dir), "--env", "qa"]) == 2
    assert "--since and --until" in capsys.readouterr().err


def test_git_flags_are_registered(capsys):
    with pytest.raises(SystemExit):
        main(["metrics", "--help"])
    out = capsys.readouterr().out
    assert "--git PATH" in out
    assert "--tag-pattern" in out  # the git source is part of the package: its flags are always there


def test_process_exit_code_and_no_traceback(events_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "hivepulse", "metrics", "--events", str(events_dir), "--tz", "Mars/Base"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert proc.stdout == ""
