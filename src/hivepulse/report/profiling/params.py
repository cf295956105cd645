"""The profiling notebook's parameters as a typed model, checked before a kernel starts (``hivepulse profile``
validates what it passes; the notebook validates its own cell)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hivepulse.errors import InputError


class ProfilingParams(BaseModel):
    """``notebooks/profiling.ipynb``'s ``parameters`` cell; the same defaults as ``hivepulse profile``: the full
    run of ``profiling/scenarios.yaml``; ``quick=True`` for the smoke run (``--quick``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results_dir: str | None = None
    scenarios_file: str | None = None
    quick: bool = False
    requests: int | None = Field(default=None, ge=1, le=10_000_000)
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    rate: float | None = Field(default=None, ge=0.01, le=1_000_000)
    latency_profile: str | None = None
    target_url: str | None = None
    target_cmd: str | None = None
    target_cwd: str | None = None
    target_env: list[str] = Field(default_factory=list)
    output_dir: str = "profiling/results"
    baseline: str | None = None
    pyspy: Literal["baseline", "all", "none"] = "baseline"

    def run_options(self) -> dict[str, object]:
        """The options of :func:`hivepulse.bench.session.build_config` (everything but ``results_dir``)."""
        return self.model_dump(exclude={"results_dir"})


def check_params(values: Mapping[str, object]) -> ProfilingParams:
    """``values`` as :class:`ProfilingParams`; :class:`InputError` naming the first bad parameter."""
    try:
        return ProfilingParams.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid notebook parameter ({first['msg']})", column=name,
                         value=first.get("input") if first["type"] != "missing" else None) from None


__all__ = ["ProfilingParams", "check_params"]
