"""The bundled sample: a deterministic 26-week history of a HiveBox team (``hivepulse sample``).

HiveBox is a small REST API around openSenseMap (``/version``, ``/temperature``, ``/metrics``, ``/store``,
``/readyz``) shipped with CI/CD, Kubernetes and Argo CD to three environments: ``development``, ``staging``
and ``production``. :func:`generate` simulates the team's pull requests, release pipeline, failures and
incidents and returns an :class:`~hivepulse.model.EventSet`; :func:`write_sample` writes it as
``deployments.csv``, ``changes.csv`` and ``incidents.csv`` with :func:`hivepulse.sources.files.write_events`
(the canonical CSV writer). ``docs/sample.md`` documents the exact rules, the story and the planted signals
(pickup bottleneck early, release automation after week 16, exactly two clock-skew negative lead-time spans,
unresolved incidents in the last week, one incident that matches no deployment).

Determinism: every random draw comes from one ``numpy.random.default_rng(seed)`` consumed in a fixed order;
times are whole seconds (Unix epoch integers) internally, so the same seed, weeks and end date give
byte-identical files. Nothing depends on today's date.

Modules: :mod:`.calendar` (time units, phases, working calendar), :mod:`.records`, :mod:`.simulation`,
:mod:`.remediation`, :mod:`.frames` (tables and :class:`SampleInfo`). Importing this package is cheap (no
numpy or pandas): the simulation is imported by :func:`generate`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hivepulse.errors import InputError
from hivepulse.sources.sample.calendar import ENVIRONMENTS, Phases

if TYPE_CHECKING:
    from hivepulse.model import EventSet
    from hivepulse.sources.sample.frames import SampleInfo

DEFAULT_SEED = 42
DEFAULT_WEEKS = 26
DEFAULT_END = date(2026, 5, 25)  # a Monday: the window is [2025-11-24, 2026-05-25) UTC


def parse_end(text: str) -> date:
    """Parse ``--end`` (``YYYY-MM-DD``); the window ends at 00:00 UTC of that day (exclusive)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("invalid --end", value=text, expected="a date YYYY-MM-DD") from None


def generate(
    seed: int = DEFAULT_SEED, *, weeks: int = DEFAULT_WEEKS, end: date = DEFAULT_END
) -> tuple[EventSet, SampleInfo]:
    """Simulate ``weeks`` weeks ending at 00:00 UTC of ``end`` and return the events and the planted facts."""
    if not 4 <= weeks <= 260:
        raise InputError("invalid --weeks", value=weeks, expected="an integer from 4 to 260")
    if seed < 0:
        raise InputError("invalid --seed", value=seed, expected="a non-negative integer")
    from hivepulse.sources.sample.simulation import Simulation

    sim = Simulation(seed, weeks, end)
    return sim.run()


def write_sample(
    out_dir: str | Path, seed: int = DEFAULT_SEED, *, weeks: int = DEFAULT_WEEKS, end: date = DEFAULT_END
) -> tuple[EventSet, SampleInfo]:
    """Generate the sample and write it to ``out_dir``; nothing is written if generation fails."""
    events, info = generate(seed, weeks=weeks, end=end)
    from hivepulse.sources.files import write_events

    write_events(events, out_dir)  # canonical CSV, validated by reading back, atomic
    return events, info


def __getattr__(name: str) -> object:
    if name == "SampleInfo":
        from hivepulse.sources.sample.frames import SampleInfo

        return SampleInfo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_END", "DEFAULT_SEED", "DEFAULT_WEEKS", "ENVIRONMENTS", "Phases", "SampleInfo", "generate",
           "parse_end", "write_sample"]
