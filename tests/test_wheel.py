"""The built wheel works outside the source tree: it carries both notebooks, the scenario files and py.typed,
and `hivepulse profile --help` and the sample retro run from a fresh venv that has only the wheel (+ the
dependencies, reached through a .pth file pointing at this worktree's installed packages, so nothing is
downloaded or built twice)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "hivepulse"

pytestmark = pytest.mark.slow


def test_packaged_profiling_files_are_identical_to_the_canonical_ones():
    assert (PACKAGE / "notebooks" / "profiling.ipynb").read_bytes() == (ROOT / "notebooks" / "profiling.ipynb").read_bytes()
    for name in ("quick.yaml", "scenarios.yaml"):
        assert (PACKAGE / "profiling" / name).read_bytes() == (ROOT / "profiling" / name).read_bytes(), name


def _build_wheel(tmp: Path) -> Path:
    """``pip wheel --no-deps`` of a copy of the project (so the build leaves nothing in the worktree)."""
    source = tmp / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("hivepulse-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> tuple[Path, dict[str, str]]:
    """A venv without system site-packages; this worktree's site-packages appended by a .pth file (its own
    `hivepulse`, an editable install, is not on that path: .pth files inside a path added by a .pth are not
    processed). The wheel is installed with --no-deps."""
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "zz_worktree_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    # Jupyter data files of the dependencies (nbconvert's templates) live in the worktree venv's share/ folder,
    # which sits beside its site-packages: expose that folder alone, not its kernelspecs (they would start
    # the worktree's Python), so the notebook kernel is the fresh venv's own Python.
    data = tmp / "jupyter-data"
    data.mkdir()
    (data / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
    env["HOME"] = str(tmp / "home")  # no user kernelspecs or config of this machine
    env["JUPYTER_PATH"] = str(data)
    return env_dir, env


def test_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("hivepulse/notebooks/retro.ipynb", "hivepulse/notebooks/profiling.ipynb",
                   "hivepulse/profiling/scenarios.yaml", "hivepulse/profiling/quick.yaml", "hivepulse/py.typed",
                   "hivepulse/opensensemap.py", "hivepulse/data/sample/deployments.csv"):
        assert member in names, member
    env_dir, env = _fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                            "import hivepulse, pathlib; print(pathlib.Path(hivepulse.__file__).resolve())"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(env_dir.resolve())), where  # the wheel's copy, not the source tree
    cli = str(env_dir / "bin" / "hivepulse")
    helped = subprocess.run([cli, "profile", "--help"], cwd=work, env=env, capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "--target-cmd" in helped.stdout and "--scenarios" in helped.stdout
    defaults = subprocess.run([str(env_dir / "bin" / "python"), "-c",
                               "from hivepulse.bench.session import default_scenarios_file as d; "
                               "from hivepulse.bench.scenarios import load_scenarios as l; "
                               "print(len(l(d(False))), len(l(d(True))), d(True))"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert defaults.returncode == 0, defaults.stderr
    full, quick, path = defaults.stdout.split()
    assert (int(full), int(quick)) == (12, 4) and path.startswith(str(env_dir.resolve()))
    out = tmp_path / "retro-out"
    retro = subprocess.run([cli, "retro", "--output-dir", str(out), "--no-progress",
                            "--since", "2026-05-11", "--until", "2026-05-25"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
    assert retro.returncode == 0, retro.stderr[-2000:]
    (record,) = [p for p in out.iterdir() if p.is_dir() and (p / "metrics.json").exists()]
    assert (record / "retro.html").stat().st_size > 10_000
    assert json.loads((record / "metrics.json").read_text())["metrics"]
