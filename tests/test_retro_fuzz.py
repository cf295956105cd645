"""Fuzzing the retro's config files (issue 10, fuzz acceptance): team notes, ``actions.yaml`` and the parameters
file (``-f``) get random YAML (random structures dumped with anchors and aliases, token soup, deep nesting,
alias bombs) and random unicode. Each goes through the validation entry point ``hivepulse retro`` runs before
any kernel (``check_parameters``: the parameters file, then ``preflight``: notes, catalog, ledger), in-process;
the outcome is accepted or one :class:`InputError` (exit 2), within 5 s, never another exception. A few real
command-line runs check the same end to end (exit 2, one line, no traceback, within 5 s)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivepulse.commands.retro import check_parameters, notebook_defaults
from hivepulse.errors import InputError
from hivepulse.retro import ledger as led
from hivepulse.retro.params import read_parameters_file

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "retro.ipynb"
DEFAULTS = notebook_defaults(NOTEBOOK)
ITER = "2026-05-11_2026-05-25"
BASE = {"path": str(REPO / "data" / "sample"), "since": "2026-05-11", "until": "2026-05-25", "findings": ""}
LIMIT_S = 5.0
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# ---------------------------------------------------------------------------------------------- strategies

KEYS = ["went_well", "to_improve", "text", "votes", "metric", "lead_time", "actions", "id", "title", "signal",
        "effort", "practice", "source", "path", "since", "until", "iteration_days", "max_actions", "tz",
        "environment", "notes", "output_dir", "allow_empty", "repository", "<<", "author", "ünï", "\u202e", ""]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True),
    st.text(max_size=40), st.sampled_from(KEYS), st.dates(min_value=dt.date(1, 1, 1)),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12), st.integers(-5, 5))
structures = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)), max_leaves=40)


@st.composite
def aliased(draw: st.DrawFn) -> str:
    """A random structure in which one random part is shared (yaml dumps it once, then as aliases)."""
    shared = draw(st.one_of(st.lists(structures, min_size=1, max_size=3), st.dictionaries(keys, structures,
                                                                                          min_size=1, max_size=3)))
    top = draw(st.dictionaries(st.sampled_from(KEYS), structures, max_size=4))
    for key in draw(st.lists(st.sampled_from(KEYS), min_size=2, max_size=4)):
        top[key] = shared
    return yaml.safe_dump(top, allow_unicode=True)


TOKENS = ["went_well:", "to_improve:", "actions:", "- ", "  ", "\n", "text: ", "votes: ", "metric: ", "&a ", "*a",
          "&b [*a, *a, *a]", "<<: *a", "[", "]", "{", "}", ", ", ": ", "'", '"', "!!int ", "!!python/object ",
          "2026-13-01", "1e999", "-1", "0x1F", "~", "%YAML 1.1\n", "---\n", "...\n", "\t", "#", "|\n  x", "? ",
          "\ufeff", "\x00", "\u202e", "é", "9" * 60, "since: ", "max_actions: ", "iteration_days: "]
soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@st.composite
def deep(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 3000))
    if draw(st.booleans()):
        return "went_well: " + "[" * n + "x" + "]" * n + "\n"
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(min(n, 400))) + "  " * min(n, 400) + "x\n"


@st.composite
def bomb(draw: st.DrawFn) -> str:
    width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nto_improve: *a{depth - 1}\n"


documents = st.one_of(aliased(), soup, deep(), bomb(), st.text(max_size=200), structures.map(
    lambda v: yaml.safe_dump(v, allow_unicode=True)))


# ---------------------------------------------------------------------------------------------- the entry point


def validate(kind: str, text: str) -> None:
    """What ``hivepulse retro`` checks before a kernel: the parameters file (``-f``), and the notes and
    ``actions.yaml`` of the workspace (``preflight``). Accepted, or one InputError; within 5 s."""
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        (ws / "notes").mkdir(parents=True)
        file_params: dict[str, object] = {}
        name = None
        if kind == "notes":
            (ws / "notes" / f"{ITER}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        elif kind == "actions":
            (ws / "actions.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        else:
            name = str(Path(tmp) / "params.yaml")
            Path(name).write_text(text, encoding="utf-8", errors="surrogatepass")
        start = time.monotonic()
        try:
            if name is not None:
                file_params = read_parameters_file(name)
            flags = {**BASE, "output_dir": str(ws)}
            for key in file_params:  # the file's values win where it gives them (flags would override them)
                flags.pop(key, None)
            check_parameters(flags, file_params, DEFAULTS, name)
        except InputError as err:
            assert "\n" not in str(err) and str(err), repr(err)
        finally:
            assert time.monotonic() - start < LIMIT_S, f"{kind}: took {time.monotonic() - start:.1f} s"


@pytest.fixture(scope="module", autouse=True)
def warm():
    """Import what the checks import lazily once, so the 5 s bound measures the input's handling."""
    validate("params", "max_actions: 1\n")


@FUZZ
@given(documents)
def test_random_team_notes(text):
    validate("notes", text)


@FUZZ
@given(documents)
def test_random_actions_yaml(text):
    validate("actions", text)


@FUZZ
@given(st.one_of(documents, st.dictionaries(st.sampled_from(sorted(DEFAULTS)), scalars, max_size=6).map(
    lambda v: yaml.safe_dump(v, allow_unicode=True))))
def test_random_parameters_files(text):
    validate("params", text)


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=20)),
                           lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c,
                                                                                         max_size=4)),
                           max_leaves=30)


@FUZZ
@given(st.one_of(json_values.map(lambda v: {"version": 1, "iterations": {ITER: v}}),
                 json_values.map(lambda v: {"version": 1, "iterations": v}), json_values))
def test_random_ledgers(data):
    import json

    try:
        led.loads(json.dumps(data), file="ledger.json")
    except InputError as err:
        assert "\n" not in str(err)


# ---------------------------------------------------------------------------------------------- the command


HOSTILE = {
    "bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                                                          strict=True)),
    "deep": "went_well: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "unicode": "to_improve:\n  - text: \u202e\x1b[31mred\x07\n    votes: \ufeff3\n",
    "alias keys": "x: &k went_well\n*k : [1]\n",
}


@pytest.mark.timing  # the 5 s bound includes the interpreter's start (about 2.5 s here on a quiet machine)
@pytest.mark.parametrize("where", ["notes", "actions", "params"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_through_the_command_are_exit_2_within_5_s(tmp_path, where, case):
    ws = tmp_path / "ws"
    (ws / "notes").mkdir(parents=True)
    target = {"notes": ws / "notes" / f"{ITER}.yaml", "actions": ws / "actions.yaml", "params": tmp_path / "p.yaml"}
    target[where].write_text(HOSTILE[case], encoding="utf-8")
    args = [sys.executable, "-m", "hivepulse", "retro", "--no-progress", "--output-dir", str(ws), "--findings", "",
            "--path", BASE["path"], *(["-f", str(target["params"])] if where == "params" else [])]
    start = time.monotonic()
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HIVEPULSE_TODAY": "2026-05-25"})
    took = time.monotonic() - start
    assert done.returncode == 2, (case, where, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr and "\x1b" not in done.stderr
    assert took < LIMIT_S, f"{case} in {where}: {took:.1f} s"
