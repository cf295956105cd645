"""Profiler wrappers: pyinstrument for in-process calls, py-spy for a running server process.

- :func:`profile_call` runs a function (sync or ``async def``) under pyinstrument (wall clock, 1 ms
  interval, ``async_mode="enabled"`` so time awaiting I/O is attributed to the awaiting frame) and writes
  ``<name>.html`` and ``<name>.speedscope.json``.
- :class:`PySpyRecorder` attaches one ``py-spy record --nonblocking --format flamegraph`` sampler to a pid
  (100 Hz, with ``--subprocesses``); from its samples (:mod:`hivepulse.bench.flame`) it writes the folded, titled
  flame graph ``<name>.svg`` and ``<name>.speedscope.json`` (all frames), so both show the same samples; py-spy's
  own SVG is kept as ``<name>.pyspy.svg``.
  When the kernel refuses ptrace (a container without ``SYS_PTRACE``, ``kernel.yama.ptrace_scope``, a
  process of another user), py-spy exits at once; the recorder then reports ``ok=False`` with a message
  saying why and what to do, and the caller falls back to an in-process pyinstrument profile.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hivepulse.bench.util import run_coroutine

if TYPE_CHECKING:
    from pyinstrument import Profiler
from hivepulse.errors import ServiceError
from hivepulse.net import wait_until

PTRACE_HELP = (
    "py-spy could not attach to pid {pid}: ptrace is not permitted here ({detail}). "
    "Run as root, set kernel.yama.ptrace_scope=0, or in a container add the SYS_PTRACE capability "
    "(docker run --cap-add SYS_PTRACE; Kubernetes securityContext.capabilities.add: [SYS_PTRACE]). "
    "Falling back to {fallback}."
)
_DENIED_MARKERS = ("permission denied", "operation not permitted", "ptrace", "eperm",
                   "no python processes found")  # what py-spy --subprocesses reports when ptrace is refused
_STARTED_MARKER = "Sampling process"


def _error_line(text: str) -> str:
    """The informative line of py-spy's output (skipping Rust backtraces)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        if "error" in line.lower() or "denied" in line.lower():
            return line
    return lines[0] if lines else "no output"


@dataclass
class ProfileOutput:
    """Files a profiler wrote and whether it worked. ``message`` explains a failure or a fallback."""

    tool: str
    ok: bool
    html: Path | None = None
    svg: Path | None = None
    speedscope: Path | None = None
    message: str | None = None
    samples: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        def rel(p: Path | None) -> str | None:
            return p.name if p is not None else None

        return {
            "tool": self.tool,
            "ok": self.ok,
            "html": rel(self.html),
            "svg": rel(self.svg),
            "speedscope": rel(self.speedscope),
            "message": self.message,
            "samples": self.samples,
            **self.extra,
        }


def profile_call(
    fn: Callable[[], object],
    out_dir: str | Path,
    name: str,
    *,
    repeat: int = 1,
    interval_s: float = 0.001,
) -> ProfileOutput:
    """Profile ``repeat`` calls of ``fn`` with pyinstrument; write ``<name>.html`` and ``.speedscope.json``."""
    from pyinstrument import Profiler

    out = Path(out_dir)
    profiler = Profiler(interval=interval_s, async_mode="enabled")
    if inspect.iscoroutinefunction(fn):

        async def main() -> None:
            profiler.start()
            try:
                for _ in range(repeat):
                    await fn()
            finally:
                profiler.stop()

        run_coroutine(main())
    else:
        profiler.start()
        try:
            for _ in range(repeat):
                fn()
        finally:
            profiler.stop()
    return _write_pyinstrument(profiler, out, name)


async def aprofile_call(
    fn: Callable[[], Awaitable[object]],
    out_dir: str | Path,
    name: str,
    *,
    repeat: int = 1,
    interval_s: float = 0.001,
    before_each: Callable[[], Awaitable[object]] | None = None,
) -> ProfileOutput:
    """:func:`profile_call` for an ``async def`` function inside the caller's event loop.

    ``before_each`` (for example emptying the cache) runs before every call, outside the profile.
    """
    from pyinstrument import Profiler

    profiler = Profiler(interval=interval_s, async_mode="enabled")
    for _ in range(repeat):
        if before_each is not None:
            await before_each()
        profiler.start()
        try:
            await fn()
        finally:
            profiler.stop()
    return _write_pyinstrument(profiler, Path(out_dir), name)


def _write_pyinstrument(profiler: Profiler, out: Path, name: str) -> ProfileOutput:
    from pyinstrument.renderers import SpeedscopeRenderer

    out.mkdir(parents=True, exist_ok=True)
    html = out / f"{name}.html"
    html.write_text(profiler.output_html(), encoding="utf-8")
    speedscope = out / f"{name}.speedscope.json"
    speedscope.write_text(profiler.output(SpeedscopeRenderer()), encoding="utf-8")
    return ProfileOutput("pyinstrument", True, html=html, speedscope=speedscope)


def pyspy_command() -> list[str]:
    """The py-spy executable: next to this Python (a venv), else on ``PATH``; ``[]`` when absent."""
    local = Path(sys.executable).with_name("py-spy")
    if local.exists():
        return [str(local)]
    found = shutil.which("py-spy")
    return [found] if found else []


class PySpyRecorder:
    """Record a running process with py-spy while the caller generates load.

    Usage::

        rec = PySpyRecorder(pid, out_dir, "hivebox-valkey")
        rec.start()           # returns False (and rec.result() explains) when py-spy cannot attach
        ... run load ...
        output = rec.stop()   # ProfileOutput with .svg and .speedscope, or ok=False and .message

    ``command`` replaces the py-spy executable (for example ``["sudo", "py-spy"]``); ``rate_hz`` is the
    sampling rate; ``fallback`` is named in the failure message.
    """

    def __init__(
        self,
        pid: int,
        out_dir: str | Path,
        name: str,
        *,
        rate_hz: int = 100,
        command: Sequence[str] | None = None,
        fallback: str = "an in-process pyinstrument profile",
        title: str | None = None,
    ) -> None:
        self.pid = pid
        self.title = title or name
        self._started_at: float | None = None
        self.out = Path(out_dir)
        self.name = name
        self.rate_hz = rate_hz
        self.command = list(command) if command is not None else pyspy_command()
        self.fallback = fallback
        self._procs: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
        self._failure: str | None = None

    @property
    def svg_path(self) -> Path:
        return self.out / f"{self.name}.svg"

    @property
    def raw_path(self) -> Path:
        return self.out / f"{self.name}.pyspy.svg"

    @property
    def speedscope_path(self) -> Path:
        return self.out / f"{self.name}.speedscope.json"

    def _fail(self, detail: str) -> None:
        self._failure = PTRACE_HELP.format(pid=self.pid, detail=detail, fallback=self.fallback)

    def start(self, settle_s: float = 5.0) -> bool:
        """Start the sampler; ``False`` (with :meth:`stop` explaining) when py-spy is missing or denied.

        Waits until it reports that it is sampling, at most ``settle_s`` seconds.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        if not self.command:
            self._failure = f"py-spy is not installed; falling back to {self.fallback}."
            return False
        self._started_at = time.perf_counter()
        for fmt, path in (("flamegraph", self.raw_path),):
            log = self.out / f"{self.name}.{fmt}.py-spy.log"
            cmd = [*self.command, "record", "--pid", str(self.pid), "--rate", str(self.rate_hz),
                   "--format", fmt, "--output", str(path), "--nonblocking", "--subprocesses"]
            with open(log, "wb") as handle:
                proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
            self._procs.append((proc, path, log))
        def settled() -> str | None:
            if any(p.poll() is not None for p, _, _ in self._procs):
                return "exited"
            if all(_STARTED_MARKER in log.read_text(errors="replace") for _, _, log in self._procs):
                return "sampling"
            return None

        try:
            if wait_until(settled, timeout_s=settle_s, interval_s=0.02, what="py-spy sampling") == "sampling":
                return True
        except ServiceError:
            pass  # neither sampling nor exited yet: treated as started, as before
        for proc, _path, log in self._procs:
            if proc.poll() is not None:
                text = log.read_text(errors="replace")
                self._stop_all()
                detail = _error_line(text)
                if any(m in text.lower() for m in _DENIED_MARKERS):
                    self._fail(detail)
                else:
                    self._failure = (f"py-spy exited with status {proc.returncode} on pid {self.pid}: {detail}; "
                                     f"falling back to {self.fallback}.")
                return False
        return True

    def _stop_all(self, timeout_s: float = 15.0) -> None:
        for proc, _, _ in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout_s
        for proc, _, _ in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> ProfileOutput:
        """Stop sampling and collect the files (or the failure message)."""
        if self._failure is not None:
            return ProfileOutput("py-spy", False, message=self._failure)
        self._stop_all()
        missing = [p.name for _, p, _ in self._procs if not p.exists() or p.stat().st_size == 0]
        if missing:
            logs = " ".join(log.read_text(errors="replace").strip().replace("\n", " ")
                            for _, _, log in self._procs)
            return ProfileOutput("py-spy", False, message=f"py-spy wrote no {', '.join(missing)} ({logs[:300]})")
        for _, _, log in self._procs:
            try:
                os.remove(log)
            except OSError:
                pass
        return self._finish()

    def _finish(self) -> ProfileOutput:
        """Fold py-spy's samples into the titled flame graph and write the speedscope file from the same samples."""
        from hivepulse.bench import flame

        duration = time.perf_counter() - self._started_at if self._started_at is not None else None
        shell = self.raw_path.read_text(encoding="utf-8", errors="replace")
        stacks, colors = flame.parse_svg(shell)
        samples = sum(stacks.values())
        folded = flame.fold(stacks)
        kept = sum(n for st, n in folded.items() if st not in ((flame.EVENT_LOOP,), (flame.ASGI,)))
        seconds = f" in {duration:.1f} s" if duration is not None else ""
        title = f"{self.title} · {samples:,} samples{seconds} ({self.rate_hz} Hz, on-CPU)"
        self.svg_path.write_text(flame.render_svg(shell, folded, title, colors), encoding="utf-8")
        self.speedscope_path.write_text(flame.speedscope(stacks, title), encoding="utf-8")
        warning = None
        if samples < flame.MIN_SAMPLES:
            warning = (f"only {samples} samples (fewer than {flame.MIN_SAMPLES}, one second of CPU at "
                       f"{self.rate_hz} Hz): the widths are not a reliable ranking; record more requests")
        return ProfileOutput("py-spy", True, svg=self.svg_path, speedscope=self.speedscope_path, samples=samples,
                             extra={"title": title, "duration_s": None if duration is None else round(duration, 3),
                                    "rate_hz": self.rate_hz, "raw_svg": self.raw_path.name,
                                    "app_share": round(kept / samples, 4) if samples else None,
                                    "warning": warning})


def speedscope_functions(path: str | Path, top: int = 15) -> list[tuple[str, float]]:
    """Functions of a speedscope file ranked by inclusive share of samples (or weight), highest first.

    Returns ``(function name, share 0..1)`` pairs; a function counted once per sample even when recursive.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    frames = [f.get("name", "?") for f in data.get("shared", {}).get("frames", [])]
    totals: Counter[str] = Counter()
    grand = 0.0
    for profile in data.get("profiles", []):
        if profile.get("type") == "sampled":
            weights = profile.get("weights") or [1] * len(profile.get("samples", []))
            for sampled, weight in zip(profile.get("samples", []), weights, strict=False):
                grand += weight
                for name in {frames[i] for i in sampled}:
                    totals[name] += weight
        elif profile.get("type") == "evented":
            stack: list[int] = []
            last = profile.get("startValue", 0)
            for event in profile.get("events", []):
                at = event["at"]
                span = at - last
                if stack and span > 0:
                    grand_add = span
                    for name in {frames[i] for i in stack}:
                        totals[name] += grand_add
                    grand += span
                last = at
                if event["type"] == "O":
                    stack.append(event["frame"])
                elif stack:
                    stack.pop()
    if grand <= 0:
        return []
    return [(name, value / grand) for name, value in totals.most_common(top)]
