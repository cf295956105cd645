"""Benchmark: `hivepulse retro` on the bundled sample vs a papermill run of an empty notebook (kernel floor).

Both are timed in the same run, as subprocesses started the way a person starts them (interpreter start,
imports, kernel start, execution, and for the retro the records, the ledger and the HTML report). Target (issue 13; issue 4
asked for 3x): the retro takes at most 2x the floor. Writes the figures to the "Retro run" section of
docs/performance.md.

    .venv/bin/python benchmarks/retro_run.py [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOC = REPO / "docs" / "performance.md"
START, END = "<!-- retro-bench:start -->", "<!-- retro-bench:end -->"
TARGET = 2.0
HISTORY = """Earlier runs (same machine, issue 13): 2.44x (2026-11-26, before), 2.13x and 2.07x (2026-12-01, after the
kernel-side work above, load average 1-2: not met). The step to 1.50x is in the parent process:
`hivepulse retro` imports nbformat without jsonschema's IRI grammar (`hivepulse.report.run.import_nbformat`:
`rfc3987_syntax` builds a Lark parser at import, 1.9 s, and no notebook schema has a `format` keyword;
tests/test_report_run_imports.py). The papermill CLI of the floor still pays it, so the floor is unchanged
and the saving is the user's: about 3 s of `hivepulse retro`'s 9 s."""


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} vCPU {cpu}, CPython {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; do not update docs/performance.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hp-retro-bench-") as tmp:
        work = Path(tmp)
        empty = work / "empty.ipynb"
        nb = new_notebook(cells=[new_code_cell("")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, empty)
        floor_cmd = [str(BIN / "papermill"), "-k", "python3", "--no-progress-bar", str(empty), str(work / "out.ipynb")]
        retro_cmd = [sys.executable, "-m", "hivepulse", "retro", "--path", str(REPO / "data" / "sample"),
                     "--since", "2026-05-11", "--until", "2026-05-25",  # the notebook's defaults are today's window
                     "--output-dir", str(work / "retro"), "--findings", "", "--no-progress"]
        floors, retros = [], []
        for _ in tqdm(range(args.repeat), desc="retro benchmark", unit="pair"):
            floors.append(timed(floor_cmd, work))  # interleaved: both see the same machine state
            retros.append(timed(retro_cmd, work))
    floor, retro = statistics.median(floors), statistics.median(retros)
    ratio = retro / floor
    verdict = "met" if ratio <= TARGET else "NOT met"
    fmt = ", ".join
    print(f"kernel floor (papermill, empty notebook): median {floor:.2f} s ({fmt(f'{x:.2f}' for x in floors)})")
    print(f"hivepulse retro on the sample:            median {retro:.2f} s ({fmt(f'{x:.2f}' for x in retros)})")
    print(f"ratio {ratio:.2f}x (target <= {TARGET:g}x): {verdict}")
    if args.no_write:
        return 0 if ratio <= TARGET else 1
    row = (f"| {date.today().isoformat()} | {machine()} | {floor:.2f} s ({fmt(f'{x:.2f}' for x in floors)}) | "
           f"{retro:.2f} s ({fmt(f'{x:.2f}' for x in retros)}) | **{ratio:.2f}x** ({verdict}) |")
    section = f"""{START}
## Retro run

`benchmarks/retro_run.py` times `hivepulse retro` on the bundled sample (`make demo`'s parameters: iteration
2026-05-11..2026-05-25, 5 previous iterations; records, ledger and the HTML report included) beside a papermill
run of an empty notebook (one empty cell: interpreter start, papermill import, kernel start and shutdown), in
the same run, interleaved, as subprocesses. Median of {args.repeat} pairs. Target (issue 13; 3x in issue 4): at
most {TARGET:g}x the floor.

| date | machine | kernel floor (empty notebook) | `hivepulse retro` (sample) | ratio |
|---|---|---|---|---|
{row}

The spread of the pairs shows the machine's load at the time (other jobs share the 2 cores); the ratio of
medians is the figure to compare. Where the time goes above the floor: importing pandas, scipy.special and
matplotlib in the kernel (not scipy.stats: hivepulse.stats computes its intervals and tests without it), the DORA
engine over 6 two-week windows (bootstrap CIs), eight PNG charts at 96 dpi drawn once each with fixed margins (no
layout engine, no savefig pipeline), and the report rendered from the result by Jinja2 templates.

{HISTORY}
{END}"""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"updated {DOC}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
