"""Hostile and careless retro input (issue 10 items 7, 9, 10; issue 13 item 7): bounded windows, typed
ledgers, a ledger of a newer version, formula cells in actions.csv, YAML values that are no values, an empty
window. Real subprocesses for the command's exit codes (no kernel starts for a bad input), the library for the
rest."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hivepulse.errors import InputError, NoDataError
from hivepulse.fsio import load_yaml
from hivepulse.retro import ledger as led
from hivepulse.retro.actions import ActionItem, to_csv
from hivepulse.retro.analysis import RetroParams, analyze

REPO = Path(__file__).resolve().parents[1]
SAMPLE = str(REPO / "data" / "sample")
GOLDEN_LEDGER = REPO / "tests" / "golden" / "two_iterations" / "ledger.json"


def retro(*args: str, cwd: Path, today: str = "2026-05-25") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hivepulse", "retro", "--path", SAMPLE, "--output-dir", "out",
                           "--findings", "", "--no-progress", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HIVEPULSE_TODAY": today})


def one_line_before_any_kernel(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hivepulse retro: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "iteration" not in proc.stderr.split("error:")[0]
    return lines[0]


# ---------------------------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "9999-12-30"], "--since (since): bad value: got '9999-12-30'; expected a date from 1970-01-01 to "
                                "2200-01-01"),
    (["--until", "1969-12-31"], "--until (until): bad value: got '1969-12-31'; expected a date from 1970-01-01"),
    (["--previous-iterations", "1000000000"], "--previous-iterations (previous_iterations): bad value: got "
                                              "'1000000000'; expected an integer from 0 to 100"),
    (["--iteration-days", "100000"], "--iteration-days (iteration_days): bad value: got '100000'; expected an "
                                     "integer from 1 to 366"),
    (["--since", "now"], "--since (since): bad date: got 'now'; expected YYYY-MM-DD"),
    (["--since", "20260511"], "--since (since): bad date: got '20260511'; expected YYYY-MM-DD"),
    (["--since", "1970-02-01", "--previous-iterations", "10"],
     "--previous-iterations (previous_iterations): bad value: got '10'; expected at most 2 for this window"),
    (["--max-actions", "1000"], "--max-actions (max_actions): bad value: got '1000'; expected an integer from 0"),
])
def test_out_of_range_windows_are_exit_2_before_any_kernel(tmp_path, args, message):
    line = one_line_before_any_kernel(retro(*args, cwd=tmp_path))
    assert message in line, line
    assert not (tmp_path / "out").exists()


def test_the_same_bounds_hold_in_the_notebook_and_the_library():
    for kwargs, message in ((dict(since="9999-12-30"), "bad since"), (dict(iteration_days=100000), "bad iteration"),
                            (dict(previous_iterations=10**9), "bad previous_iterations")):
        with pytest.raises(InputError, match=message):
            RetroParams(**kwargs).window()


# ---------------------------------------------------------------------------------------------- the ledger


def golden() -> dict:
    return json.loads(GOLDEN_LEDGER.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("path", "value", "field", "expected"), [
    (("since",), 20260511, "iterations.2026-05-11_2026-05-25.since", "expected a string"),
    (("until",), "soon", "iterations.2026-05-11_2026-05-25.until", "expected a date YYYY-MM-DD"),
    (("actions", 0, "target"), "one hour", "iterations.2026-05-11_2026-05-25.actions[0].target", "a number"),
    (("actions", 0, "carry_count"), "1", "iterations.2026-05-11_2026-05-25.actions[0].carry_count", "an integer"),
    (("actions", 0, "details"), {"threshold": [1]}, "actions[0].details.threshold", "a number"),
    (("actions",), {"a": 1}, "iterations.2026-05-11_2026-05-25.actions", "expected a list"),
    (("actions", 1), "an item", "iterations.2026-05-11_2026-05-25.actions[1]", "expected a mapping"),
    (("pending",), [{"id": "x"}], "iterations.2026-05-11_2026-05-25.pending[0].action_id", "missing"),
    (("environment",), 7, "iterations.2026-05-11_2026-05-25.environment", "expected a string"),
])
def test_a_ledger_entry_of_the_wrong_type_is_exit_2_naming_file_and_field(tmp_path, path, value, field, expected):
    data = golden()
    node = data["iterations"]["2026-05-11_2026-05-25"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ledger.json").write_text(json.dumps(data), encoding="utf-8")
    line = one_line_before_any_kernel(retro(cwd=tmp_path))
    assert "out/ledger.json, column '" in line and field in line and expected in line, line


def test_a_newer_ledger_is_refused_and_never_rewritten(tmp_path):
    data = {**golden(), "version": 99, "future": {"kept": True}}
    (tmp_path / "out").mkdir()
    ledger = tmp_path / "out" / "ledger.json"
    ledger.write_text(json.dumps(data), encoding="utf-8")
    before = ledger.read_bytes()
    line = one_line_before_any_kernel(retro(cwd=tmp_path))
    assert "out/ledger.json, column 'version': ledger version 99 is newer than this hivepulse supports (1)" in line
    assert ledger.read_bytes() == before
    # the library refuses it too (the commit re-reads the ledger under the lock: it never writes version 1 over it)
    with pytest.raises(InputError, match="ledger version 99 is newer"):
        led.load(ledger)


@pytest.mark.parametrize("text", ['{"version": 1, "iterations": {"x": {"since": NaN}}}', "[" * 100_000 + "]" * 100_000,
                                  '{"version": true, "iterations": {}}', "[]"])
def test_ledger_json_outside_the_schema_is_an_input_error(tmp_path, text):
    with pytest.raises(InputError, match="ledger"):
        led.loads(text, file="ledger.json")


def test_unknown_keys_of_a_ledger_are_kept_when_an_entry_is_set():
    data = golden()
    data["synced"] = {"github": "hive-team/hivebox"}
    data["iterations"]["2026-05-11_2026-05-25"]["actions"][0]["issue"] = 12
    ledger = led.Ledger.from_dict(data)
    entry = led.LedgerEntry("2026-05-25", "2026-06-08", "2026-06-22")
    written = json.loads(led.dumps(led.merged(ledger, "2026-05-25_2026-06-08", entry)))
    assert written["synced"] == data["synced"]
    assert written["iterations"]["2026-05-11_2026-05-25"]["actions"][0]["issue"] == 12


# ---------------------------------------------------------------------------------------------- actions.csv


def test_actions_csv_neutralises_formula_cells():
    hostile = ActionItem(id="i/=x", action_id="=cmd|' /C calc'!A0", title="=HYPERLINK(\"http://x\",\"y\")",
                         practice="+SUM(1,2)", signal="@signal", metric="lead_time", evidence="-2+3 h",
                         watch="lead_time", baseline=-1.5, comparator="<", target=24.0, target_text="\tlead_time",
                         due="2026-06-08", reach=1.0, impact=1.0, confidence=1.0, effort=1.0, owner="\rme")
    rows = list(csv.DictReader(io.StringIO(to_csv([hostile]))))
    row = rows[0]
    assert row["title"] == "'=HYPERLINK(\"http://x\",\"y\")" and row["practice"] == "'+SUM(1,2)"
    assert row["action_id"].startswith("'=") and row["signal"] == "'@signal" and row["evidence"] == "'-2+3 h"
    assert row["target_text"] == "'\tlead_time" and row["owner"] == "'\nme"  # a CR would end the row
    assert row["baseline"] == "-1.5"  # a number stays a number
    assert row["comparator"] == "<" and row["id"] == "i/=x"


# ---------------------------------------------------------------------------------------------- YAML values


@pytest.mark.parametrize(("text", "line"), [("a: 1\nsince: 2026-13-01\n", 2), ("x: [2026-02-30T10:00:00Z]\n", 1),
                                            ("n: !!int abc\n", 1), ("f: !!float x\n", 1)])
def test_a_yaml_value_that_is_no_value_is_an_input_error_with_its_line(text, line):
    with pytest.raises(InputError) as err:
        load_yaml(text, file="p.yaml")
    assert str(err.value).startswith(f"p.yaml, line {line}: bad value (")


def test_a_control_character_in_yaml_is_an_input_error_with_its_line():
    with pytest.raises(InputError, match=r"^n.yaml, line 2: invalid YAML: control character #x001f is not allowed$"):
        load_yaml("went_well:\n  - a\x1f\n", file="n.yaml")


def test_a_bad_yaml_date_in_the_parameters_file_is_exit_2_with_its_line(tmp_path):
    (tmp_path / "p.yaml").write_text("max_actions: 2\nsince: 2026-13-01\n", encoding="utf-8")
    line = one_line_before_any_kernel(retro("-f", "p.yaml", cwd=tmp_path))
    assert "p.yaml, line 2: bad value (month must be in 1..12)" in line


# ---------------------------------------------------------------------------------------------- empty window


def test_a_window_without_any_deployment_is_no_data_unless_allowed(tmp_path):
    events = __import__("hivepulse.sources.files", fromlist=["read_events"]).read_events(SAMPLE)
    params = RetroParams(since="2027-01-04", until="2027-01-18", output_dir=str(tmp_path), findings="")
    with pytest.raises(NoDataError) as err:
        analyze(params, events=events)
    assert err.value.exit_code == 5
    assert str(err.value).startswith("no deployment of 'production' in [2027-01-04, 2027-01-18): nothing to retro")
    assert list(tmp_path.iterdir()) == []  # nothing written
    allowed = analyze(params.replaced(allow_empty=True), events=events)  # type: ignore[arg-type]
    assert not allowed.is_covered and allowed.actions == []


def test_the_engine_checks_the_models_integrity_of_events_built_in_memory():
    from hivepulse.metrics.dora import MetricsConfig, Window, compute
    from hivepulse.model import event_set

    deployments = pd.DataFrame({"deployment_id": ["d1"], "environment": ["production"],
                                "finished_at": pd.to_datetime(["2026-05-12T10:00:00Z"]), "status": ["success"]})
    changes = pd.DataFrame({"change_id": ["c1"], "committed_at": pd.to_datetime(["2026-05-12T09:00:00Z"]),
                            "deployment_id": ["d9"]})
    with pytest.raises(InputError, match=r"changes row 1, column 'deployment_id': unknown deployment: got 'd9'"):
        compute(event_set(deployments, changes), Window.parse("2026-05-11", "2026-05-25"), MetricsConfig())
    twice = pd.concat([deployments, deployments.assign(environment="staging")], ignore_index=True)
    with pytest.raises(InputError, match=r"deployments row 2, column 'deployment_id': duplicate deployment_id"):
        compute(event_set(twice), Window.parse("2026-05-11", "2026-05-25"), MetricsConfig())
