"""The retro on the event store (issue 12 item 5): ``source: store`` reads ``hivepulse.store.read_events`` (the
path, else the project file's store), measures exactly what ``hivepulse metrics --store`` measures, and carries
the pull-request stage breakdown into the result, ``metrics.json`` and the report's lead-time section. The
store is filled by a real pull from the local GitHub stand-in (the hand-checked scenario of
tests/test_pull_github.py: its stage figures are restated below)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ghfake import PLANTED_TOKEN, FakeGitHub, hand_scenario

from hivepulse.cli import main
from hivepulse.errors import InputError
from hivepulse.project import RepositorySource
from hivepulse.pull.run import PullOptions, pull
from hivepulse.retro.analysis import RetroParams, analyze
from hivepulse.retro.params import preflight
from hivepulse.sources.github.client import ClientOptions

REPO = Path(__file__).resolve().parents[1]
WINDOW = ("2026-05-25", "2026-06-08")  # the scenario's events lie on 2026-06-01 and 2026-06-02
VENDOR = "hive-team/hivebox"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "hivepulse.db"
    repo, _ = hand_scenario()
    with FakeGitHub(repo) as gh:
        pull(str(path), repositories=[RepositorySource(VENDOR)],
             options=PullOptions(github=ClientOptions(api_url=gh.url, token=PLANTED_TOKEN)))
    return path


def params(store: Path, out: Path, **extra) -> RetroParams:
    return RetroParams(source="store", path=str(store), since=WINDOW[0], until=WINDOW[1], previous_iterations=1,
                       output_dir=str(out), findings="", **extra)


def test_the_store_retro_measures_what_metrics_store_measures(store, tmp_path, capsys):
    result = analyze(params(store, tmp_path))
    assert main(["metrics", "--store", str(store), "--since", WINDOW[0], "--until", WINDOW[1], "--format", "json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    got = result.current.to_dict()
    for metric in ("deployment_frequency", "lead_time", "change_fail_rate", "recovery_time", "rework_rate"):
        assert got[metric] == expected[metric], metric
    assert expected["deployment_frequency"]["deployments"] == 5 and expected["lead_time"]["n"] == 8
    assert result.events.source.startswith("store ")


def test_the_pull_request_stages_are_in_the_result_the_record_and_the_report(store, tmp_path):
    from hivepulse.report import html
    from hivepulse.report import sections as S

    result = analyze(params(store, tmp_path))
    stages = result.pr_stages
    assert stages is not None
    # PRs 1, 2, 4, 5, 6 (the bot's is not read); 1, 2 and 4 have all four stages (5 no review, 6 not deployed)
    assert (stages.pull_requests, stages.complete) == (5, 3)
    rows = {r.stage: r for r in stages.rows}
    assert (rows["coding"].n, rows["pickup"].n, rows["deploy"].n) == (5, 3, 4)
    assert rows["deploy"].median_hours == pytest.approx(2.0)  # of 5.5, 2.5, 1.5 and 0.7 h
    # review of PRs 1, 2, 4: 2 + 1 + 0.4 = 3.4 h of their 21.0 stage hours (5.7 coding, 2.4 pickup, 9.5 deploy)
    assert rows["review"].share == pytest.approx(round(3.4 / 21.0, 4))
    record = json.loads(result.record_files()["metrics.json"])
    assert record["pr_stages"]["pull_requests"] == 5 and record["pr_stages"]["stages"][3]["stage"] == "deploy"
    assert record["parameters"]["source"] == "store"
    page = html.render_report(result)
    section = page.split("<h2>Lead time</h2>", 1)[1].split("<h2>", 1)[0]
    assert 'class="hp-pr-stages"' in section and "5 pull request(s) merged in this iteration" in section
    assert "<td>deploy</td><td>4</td><td>2.0 h</td>" in re.sub(r' style="[^"]*"', "", section)  # inline styles
    assert "hp-pr-stages" in S.lead_time(result).data  # the notebook shows the same section
    # other sources have no such section and no such key (the sample's records stay as they were)
    files = analyze(RetroParams(since="2026-05-11", until="2026-05-25", output_dir=str(tmp_path / "f"), findings=""))
    assert files.pr_stages is None and "pr_stages" not in json.loads(files.record_files()["metrics.json"])


def test_one_repository_of_the_store(store, tmp_path):
    one = analyze(params(store, tmp_path, repository=VENDOR))
    assert one.pr_stages is not None and one.pr_stages.pull_requests == 5
    assert json.loads(one.record_files()["metrics.json"])["parameters"]["repository"] == VENDOR
    with pytest.raises(Exception, match="no deployment"):  # no events of that repository: nothing to retro
        analyze(params(store, tmp_path, repository="other/repo"))


def test_the_default_store_comes_from_the_project_file(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"store not found; expected an existing store"):
        preflight(RetroParams(source="store", since=WINDOW[0], until=WINDOW[1], output_dir="retro", findings=""))
    (tmp_path / "retro").mkdir()
    shutil.copy(store, tmp_path / "team.db")
    (tmp_path / "retro" / "project.yaml").write_text("store: team.db\n", encoding="utf-8")
    p = RetroParams(source="store", since=WINDOW[0], until=WINDOW[1], output_dir="retro", findings="",
                    previous_iterations=1)
    preflight(p)
    assert analyze(p).current.metrics.deployment_frequency.n == 5


def test_a_password_in_the_store_url_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(InputError) as err:
        preflight(RetroParams(source="store", path="postgresql://hive:" + "s3cret" + "@db.example/hivepulse",
                              output_dir=str(tmp_path), findings="", since=WINDOW[0], until=WINDOW[1]))
    assert "s3cret" not in str(err.value) and "column 'path': a password in the store URL" in str(err.value)
    assert "PGPASSWORD" in str(err.value)


@pytest.mark.slow
def test_the_cronjob_command_line_runs_the_store_retro(store, tmp_path):
    """deploy/base/cronjob-retro.yaml's command with the shipped parameters file: `hivepulse retro -f
    /config/params.yaml --path STORE --output-dir DIR` (no dates: the window rule's last 7 days before the
    pinned today)."""
    params_file = REPO / "deploy" / "base" / "config" / "params.yaml"
    proc = subprocess.run([sys.executable, "-m", "hivepulse", "retro", "-f", str(params_file), "--path", str(store),
                           "--output-dir", str(tmp_path / "workspace"), "--no-progress"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HIVEPULSE_TODAY": "2026-06-08"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = tmp_path / "workspace" / "2026-06-01_2026-06-08"
    metrics = json.loads((record / "metrics.json").read_text())
    assert metrics["parameters"]["source"] == "store" and metrics["pr_stages"]["pull_requests"] == 5
    assert 'class="hp-pr-stages"' in (record / "retro.html").read_text()
    assert "Report: " in proc.stdout and "deployment frequency" in proc.stdout
