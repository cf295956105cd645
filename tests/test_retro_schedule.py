"""Scheduling that works (issue 13 items 7 and 10; docs/scheduling.md): one window rule for every way of
running the retro, the HTML report from each of them, an empty window that fails loudly, and `make demo`
printing one window. Real kernels: `hivepulse retro -f`, `papermill -f` and a JupyterLab-style execution
(nbclient, the kernel started in notebooks/) on copies of the project."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TODAY = "2026-05-18"  # pinned as a scheduler would (HIVEPULSE_TODAY): the window is [2026-05-04, 2026-05-18)
PARAMS = "iteration_days: 14\nprevious_iterations: 1\nfindings: ''\n"  # no dates: the window rule fills them
RULED = "2026-05-04_2026-05-18"  # the window rule's, not the sample's last iteration (the old notebook's dates)
ITER = "2026-05-11_2026-05-25"


def project(root: Path) -> Path:
    """A copy of the project as a team has it: notebooks/, data/sample, the retro workspace, a params file."""
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "retro.ipynb", root / "notebooks" / "retro.ipynb")
    shutil.copytree(REPO / "data" / "sample", root / "data" / "sample")
    (root / "retro").mkdir()
    (root / "params.yaml").write_text(PARAMS, encoding="utf-8")
    return root


def edit_parameters(nb: nbformat.NotebookNode, values: dict[str, object]) -> None:
    """Change values in the parameters cell as a JupyterLab user does (``name: type = value`` lines)."""
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    for name, value in values.items():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
        kind = lines[index].split(":", 1)[1].split("=", 1)[0].strip()
        lines[index] = f"{name}: {kind} = {value!r}"
    cell.source = "\n".join(lines)


def env() -> dict[str, str]:
    return {**os.environ, "HIVEPULSE_TODAY": TODAY}


@pytest.mark.slow
def test_hivepulse_retro_papermill_and_jupyterlab_give_the_same_retro(tmp_path, monkeypatch):
    import yaml
    from nbclient import NotebookClient

    cli = project(tmp_path / "cli")
    done = subprocess.run([sys.executable, "-m", "hivepulse", "retro", "-f", "params.yaml", "--no-progress",
                           "--notebook", "notebooks/retro.ipynb"], cwd=cli, env=env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    pm = project(tmp_path / "papermill")
    done = subprocess.run([str(BIN / "papermill"), "notebooks/retro.ipynb", "executed.ipynb", "-f", "params.yaml",
                           "-k", "python3", "--no-progress-bar"], cwd=pm, env=env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    lab = project(tmp_path / "lab")
    nb = nbformat.read(lab / "notebooks" / "retro.ipynb", as_version=4)
    edit_parameters(nb, yaml.safe_load(PARAMS))  # the values a user types into the parameters cell
    monkeypatch.setenv("HIVEPULSE_TODAY", TODAY)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(lab / "notebooks")}}).execute()  # JupyterLab: cwd notebooks/

    records = [root / "retro" / RULED for root in (cli, pm, lab)]
    metrics = [(r / "metrics.json").read_bytes() for r in records]
    assert metrics[0] == metrics[1] == metrics[2]
    assert json.loads(metrics[0])["iteration"] == RULED
    reports = [(r / "retro.html").read_bytes() for r in records]
    assert reports[0] == reports[1] == reports[2] and b'class="hp-headline"' in reports[0]
    assert (cli / "retro" / RULED / "retro.ipynb").is_file()  # the command adds the executed notebook
    assert not (lab / "notebooks" / "retro").exists()  # the kernel in notebooks/ found the project's workspace


@pytest.mark.slow
def test_a_window_without_any_deployment_fails_with_exit_5_unless_allowed(tmp_path):
    args = [sys.executable, "-m", "hivepulse", "retro", "--since", "2027-01-04", "--until", "2027-01-18",
            "--previous-iterations", "1", "--findings", "", "--no-progress", "--output-dir", "ws"]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 5, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("hivepulse retro: error: no deployment of 'production' in [2027-01-04, 2027-01-18): "
                           "nothing to retro") and "--allow-empty" in last
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == [".hivepulse.lock", "runs"]  # no record, no ledger
    allowed = subprocess.run([*args, "--allow-empty"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert (tmp_path / "ws" / "2027-01-04_2027-01-18" / "retro.html").is_file()
    assert not (tmp_path / "ws" / "runs").exists()  # the failed run's notebook went with the successful commit


def demo_commands() -> list[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = text.split("\ndemo:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line.strip() for line in recipe if line.startswith("\t")]


@pytest.mark.slow
def test_make_demo_prints_one_window_and_where_the_report_is(tmp_path):
    commands = demo_commands()
    assert commands == ["$(BIN)/hivepulse retro --since 2026-05-11 --until 2026-05-25"]  # no metrics table first
    argv = commands[0].replace("$(BIN)", str(BIN)).split()
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    windows = set(re.findall(r"\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}", out))
    assert windows == {ITER}, out
    assert out.startswith(f"Retro {ITER} (production): [2026-05-11, 2026-05-25) UTC; next retro 2026-06-08\n")
    assert f"Report: retro/{ITER}/retro.html" in out
    assert "deployment frequency" in out and "36.0/week" in out  # the sample's figure of that iteration


# ---------------------------------------------------------------------------------------------- docs/scheduling.md


def blocks(lang: str) -> list[str]:
    text = (REPO / "docs" / "scheduling.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("line", [line for line in blocks("crontab")[0].splitlines() if "hivepulse " in line])
def test_the_documented_crontab_commands_parse(line):
    from hivepulse.cli import build_parser

    command = line.split("&&", 1)[1].split("||", 1)[0].split(">", 1)[0].split()
    argv = command[1:]
    assert command[0] == ".venv/bin/hivepulse"
    assert build_parser(argv).parse_args(argv).command in ("retro", "pull")


def test_the_documented_params_file_and_units(tmp_path):
    from hivepulse.commands.retro import check_parameters, notebook_defaults
    from hivepulse.retro.params import read_parameters_file

    (tmp_path / "params.yaml").write_text(blocks("yaml")[0], encoding="utf-8")
    file_params = read_parameters_file(str(tmp_path / "params.yaml"))
    assert file_params["source"] == "store" and file_params["iteration_days"] == 7
    assert file_params.keys() <= yaml_keys_of(REPO / "deploy" / "base" / "config" / "params.yaml")
    service = blocks("ini")[0]
    exec_start = service.split("ExecStart=", 1)[1].split("\n# secrets", 1)[0].replace("\\\n", "")
    script = exec_start.replace("$$", "$").replace("%%", "%").split("-c ", 1)[1].strip().strip("'")
    assignment = script.split(" exec ", 1)[0].strip()
    for day, monday in (("2026-05-25", "2026-05-25"), ("2026-05-27", "2026-05-25"), ("2026-05-31", "2026-05-25")):
        probe = assignment.replace("$(date -u +%F)", day).replace("$(date -u +%u)", f"$(date -u -d {day} +%u)")
        done = subprocess.run(["sh", "-c", f"{probe}; echo $HIVEPULSE_TODAY"], capture_output=True, text=True)
        assert done.stdout.strip() == monday, (day, done.stderr)
    argv = script.split(" exec ", 1)[1].split()[1:]
    assert argv[:3] == ["retro", "-f", "retro/params.yaml"]
    check = dict(file_params, path=str(tmp_path / "store.db"))
    with pytest.raises(Exception, match="store not found"):  # the params are checked like any others
        check_parameters({}, check, notebook_defaults(REPO / "notebooks" / "retro.ipynb"))
    assert "OnCalendar=Mon *-*-* 06:30:00 UTC" in blocks("ini")[0] and "Persistent=true" in blocks("ini")[0]


def yaml_keys_of(path: Path) -> set[str]:
    import yaml

    return set(yaml.safe_load(path.read_text(encoding="utf-8")))
