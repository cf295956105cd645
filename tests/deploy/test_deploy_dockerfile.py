"""The Dockerfile cannot be built here (no container daemon, no registry): it is linted. The policy check
passes on the repository's Dockerfile and .dockerignore and fails on each planted problem; hadolint (the
binary of the tools venv) passes on it and fails on a bad one; the build stage's own steps (the hash-pinned
setuptools, the hivepulse wheel) are run for real."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import dockerfile_policy as dp
import pytest
from deploy_testkit import ROOT

DOCKERFILE = ROOT / "Dockerfile"
TEXT = DOCKERFILE.read_text(encoding="utf-8")


def check_text(tmp_path, text: str, dockerignore: str | None = None) -> set[str]:
    (tmp_path / "Dockerfile").write_text(text, encoding="utf-8")
    ignore = tmp_path / ".dockerignore"
    ignore.write_text(dockerignore if dockerignore is not None else (ROOT / ".dockerignore").read_text(), "utf-8")
    for name in ("requirements.lock", "pyproject.toml", "README.md", "deploy/image/build-requirements.lock",
                 "src/hivepulse/__init__.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    return {f.rule for f in dp.check(tmp_path / "Dockerfile", ignore, root=tmp_path)}


def test_the_repository_dockerfile_passes_the_policy():
    assert dp.check(DOCKERFILE, ROOT / ".dockerignore", root=ROOT) == []


def test_the_image_contract_read_from_the_parsed_dockerfile():
    ins = dp.parse(TEXT)
    stages = dp.stages(ins)
    assert [dp._from_image(s[0]) for s in stages] == [("python:3.11.13-slim-bookworm", "build"),
                                                      ("python:3.11.13-slim-bookworm", "runtime")]
    final = stages[-1]
    assert [i.args for i in final if i.keyword == "USER"] == ["10001:10001"]
    assert [i.exec_form() for i in final if i.keyword == "ENTRYPOINT"] == [["hivepulse"]]
    assert [i.exec_form() for i in final if i.keyword == "VOLUME"] == [["/workspace"]]
    assert [i.args for i in final if i.keyword == "COPY"] == ["--from=build /opt/hivepulse /opt/hivepulse"]
    runs = " ".join(i.args for i in stages[0] if i.keyword == "RUN")
    assert "--require-hashes --only-binary=:all: --no-deps -r requirements.lock" in runs
    assert not any(i.keyword == "RUN" and "install" in i.args.replace("uninstall", "") for i in final)


BASE = TEXT


@pytest.mark.parametrize(("rule", "change"), [
    ("DF-BASE", lambda t: t.replace("python:3.11.13-slim-bookworm AS runtime", "python:latest AS runtime")),
    ("DF-BASE", lambda t: t.replace("python:3.11.13-slim-bookworm AS build", "python:3.11-slim AS build")),
    ("DF-LOCK", lambda t: t.replace("--require-hashes --only-binary=:all: --no-deps -r requirements.lock",
                                    "-r requirements.lock")),
    ("DF-USER", lambda t: t.replace("USER 10001:10001", "USER hivepulse")),
    ("DF-USER", lambda t: t.replace("USER 10001:10001", "USER 0")),
    ("DF-USER", lambda t: t.replace("USER 10001:10001\n", "")),
    ("DF-FINAL", lambda t: t.replace("COPY --from=build /opt/hivepulse /opt/hivepulse",
                                     "COPY --from=build /opt/hivepulse /opt/hivepulse\n"
                                     "RUN apt-get update && apt-get install -y --no-install-recommends gcc")),
    ("DF-FINAL", lambda t: t.replace("COPY --from=build /opt/hivepulse /opt/hivepulse",
                                     "COPY --from=build /opt/hivepulse /opt/hivepulse\nRUN pip install --no-deps "
                                     "--no-index /tmp/x.whl")),
    ("DF-SECRET", lambda t: t.replace("WORKDIR /workspace\n", "WORKDIR /workspace\nARG GITHUB_TOKEN\n")),
    ("DF-SECRET", lambda t: t.replace("COPY src ./src", "COPY src ./src\nCOPY .env ./")),
    ("DF-SECRET", lambda t: t.replace("COPY src ./src", "ADD src ./src")),
    ("DF-RUN", lambda t: t.replace('ENTRYPOINT ["hivepulse"]', "ENTRYPOINT hivepulse")),
    ("DF-RUN", lambda t: t.replace('VOLUME ["/workspace"]\n', "")),
    ("DF-STAGES", lambda t: t[t.index("FROM python:3.11.13-slim-bookworm AS runtime"):]
     .replace("COPY --from=build /opt/hivepulse /opt/hivepulse\n", "")),
])
def test_the_policy_fails_on_a_planted_problem(tmp_path, rule, change):
    planted = change(BASE)
    assert planted != BASE
    assert rule in check_text(tmp_path, planted)


def test_the_build_context_leaves_out_what_must_stay_out(tmp_path):
    patterns = dp.dockerignore_patterns((ROOT / ".dockerignore").read_text(encoding="utf-8"))
    for path in dp.MUST_STAY_OUT:
        assert not dp.in_context(path, patterns), path
    for path in ("requirements.lock", "pyproject.toml", "README.md", "src/hivepulse/cli.py",
                 "src/hivepulse/data/sample/changes.csv", "src/hivepulse/notebooks/retro.ipynb",
                 "deploy/image/build-requirements.lock"):
        assert dp.in_context(path, patterns), path
    # a .dockerignore that forgets the venv and the store is caught
    assert "DF-CONTEXT" in check_text(tmp_path, BASE, dockerignore=".git\n")
    # one that leaves out a file the Dockerfile copies is caught too
    assert "DF-CONTEXT" in check_text(tmp_path, BASE, dockerignore=(ROOT / ".dockerignore").read_text() + "README.md\n")


@pytest.mark.parametrize(("patterns", "path", "included"), [
    ("*\n!src/\n", "src/a/b.py", True),
    ("*\n!src/\n**/__pycache__\n", "src/a/__pycache__/b.pyc", False),
    ("*\n", "deep/er/file", False),
    (".git\n", ".git/objects/x", False),
    ("**/*.db\n", "data/store/x.db", False),
    ("data/*\n!data/keep\n", "data/keep", True),
    ("data/*\n!data/keep\n", "data/drop", False),
    ("", ".git/HEAD", True),
])
def test_dockerignore_semantics(patterns, path, included):
    assert dp.in_context(path, dp.dockerignore_patterns(patterns)) is included


def test_hadolint_passes_on_the_dockerfile_and_fails_on_a_bad_one(tools_bin, tmp_path):
    from iac_scan import hadolint_findings

    assert hadolint_findings(DOCKERFILE) == []
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y gcc\nUSER root\n", encoding="utf-8")
    rules = {f.rule for f in hadolint_findings(bad)}
    assert {"DL3006", "DL3008", "DL3015", "DL3002"} <= rules


@pytest.mark.slow
def test_the_build_stage_builds_the_hivepulse_wheel_from_the_hash_pinned_backend(tmp_path):
    """What `RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation .` does, on this machine: the
    build-backend venv installs only with --require-hashes, and the wheel holds the package data."""
    venv = tmp_path / "build-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]  # as the Dockerfile does
    subprocess.run([*pip, "install", "-q", "--require-hashes", "--only-binary=:all:", "-r",
                    str(ROOT / "deploy/image/build-requirements.lock")], check=True, capture_output=True)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (ctx / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "src"), str(ctx / "src")], check=True)
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(ctx)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("hivepulse-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hivepulse/notebooks/retro.ipynb" in names
    assert "hivepulse/data/sample/deployments.csv" in names
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert re.search(r"^hivepulse = hivepulse\.cli:main$", entry, re.M)
