"""``hivepulse doctor``: start the target against its own replay server, run every check, write the records.

Output, ``<output_dir>/<run_id>/`` (written to ``.<run_id>.partial/`` first and renamed at the end):

- ``doctor.json``: every check (id, title, verdict, summary, reason, evidence, fix, hint), the target, the mode of
  the reference HiveBox, the probe settings, the machine, ``findings`` and ``summary``;
- ``results.json`` and ``findings.json``: the findings record of docs/profiling.md, so the retro reads a doctor run
  like a profiling run (``hivepulse retro --findings <output_dir>/<run_id>``);
- ``doctor.md`` and ``doctor.html``: the report (problems first).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from hivepulse.bench.findings import Finding, summarize_findings
from hivepulse.bench.infra import Infra, hivebox_env, infrastructure, start_target
from hivepulse.bench.machine import machine_info
from hivepulse.bench.scenarios import Scenario
from hivepulse.bench.targets import RunningTarget, TargetSpec, check_url_target, target_record
from hivepulse.doctor.checks import BY_ID, CHECKS, FAIL, NA, PASS, CheckResult, judge_metrics, na
from hivepulse.doctor.probe import Probe, ProbeSettings, run_probes
from hivepulse.errors import InputError
from hivepulse.fsio import atomic_write_text
from hivepulse.opensensemap import JsonObject

SCHEMA = 1


@dataclass
class DoctorConfig:
    """A doctor run. ``cache``, ``client``, ``single_flight``, ``ttl_s`` and ``upstream_timeout_s`` set the mode of
    the reference HiveBox (ignored for another target); ``boxes`` and ``seed`` the replay server."""

    target: TargetSpec = field(default_factory=TargetSpec)
    output_dir: Path = Path("profiling/doctor")
    run_id: str | None = None
    cache: str = "memory"
    client: str = "pooled"
    single_flight: str = "wait"
    ttl_s: float = 60.0
    upstream_timeout_s: float = 5.0
    boxes: int = 3
    seed: int = 7
    settings: ProbeSettings = field(default_factory=ProbeSettings)
    log: Callable[[str], None] | None = None

    def scenario(self) -> Scenario:
        """The reference HiveBox's settings as a harness scenario (what the infrastructure is started for)."""
        return Scenario(name="doctor", cache=self.cache, client=self.client, latency="doctor",
                        latency_model={"median_ms": self.settings.latency_ms, "sigma": 0.0}, boxes=self.boxes,
                        ttl_s=self.ttl_s, single_flight=self.single_flight, seed=self.seed, cold_requests=0,
                        requests=1)

    def mode(self) -> JsonObject | None:
        if self.target.kind != "reference":
            return None
        return {"cache": self.cache, "client": self.client, "single_flight": self.single_flight, "ttl_s": self.ttl_s,
                "upstream_timeout_s": self.upstream_timeout_s}


@dataclass(frozen=True)
class DoctorReport:
    """The checks of one run and where its records are."""

    run_id: str
    checks: tuple[CheckResult, ...]
    document: JsonObject
    run_dir: Path | None = None

    def verdict(self, check_id: str) -> str:
        return next(c.verdict for c in self.checks if c.id == check_id)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.verdict == FAIL]


def new_run_id() -> str:
    """``YYYYMMDDTHHMMSSZ-<pid>`` (UTC), as ``hivepulse profile`` names its runs (the retro reads the time)."""
    import os

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid() % 100000}"


def _starter(config: DoctorConfig, infra: Infra) -> Callable[[], AbstractContextManager[RunningTarget]]:
    scenario = config.scenario()
    if config.target.kind != "reference":
        return lambda: start_target(scenario, infra, config.target)

    @contextmanager
    def reference() -> Iterator[RunningTarget]:
        from hivepulse import services

        env = {**hivebox_env(scenario, infra), "HIVEBOX_UPSTREAM_TIMEOUT": f"{config.upstream_timeout_s:g}"}
        with services.start_hivebox(env) as handle:
            yield RunningTarget(handle.url, handle.pid, "reference")

    return reference


def _url_checks(config: DoctorConfig) -> list[CheckResult]:
    """A ``--target-url`` service fetches from an upstream the doctor cannot see: only ``metrics`` is checked."""
    assert config.target.url is not None
    url = check_url_target(config.target)  # one reachability check, as `profile` does (ServiceError: exit 4)
    try:
        r = httpx.get(url + "/metrics", timeout=config.settings.request_timeout_s)
        from prometheus_client.parser import text_string_to_metric_families

        families = samples = 0
        error = None
        if r.status_code == 200:
            try:
                for family in text_string_to_metric_families(r.text):
                    families += 1
                    samples += len(family.samples)
            except (ValueError, TypeError, IndexError, KeyError) as exc:
                error = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        metrics = judge_metrics(r.status_code, families, samples, error)
    except httpx.HTTPError:
        metrics = judge_metrics(None, 0, 0, None)
    why = ("a --target-url service fetches from an upstream the doctor cannot see; start it with --target-cmd "
           "(the doctor then runs its own replay server)")
    return [metrics if c.id == "metrics" else na(c.id, why) for c in CHECKS]


def diagnose(config: DoctorConfig, infra: Infra | None = None) -> list[CheckResult]:
    """Run every check (in the order of :data:`hivepulse.doctor.checks.CHECKS`); ``infra``: servers already
    running (a test's shared replay server and caches), else the doctor starts its own."""
    say = config.log or (lambda _m: None)
    if config.target.kind == "url":
        return _url_checks(config)
    if infra is None:
        with infrastructure([config.scenario()], config.target) as started:
            return diagnose(config, started)
    assert infra.sensemap_url is not None
    with httpx.Client(timeout=10) as c:
        c.post(infra.sensemap_url + "/_stats/reset").raise_for_status()
        c.put(infra.sensemap_url + "/_config", json={"median_ms": config.settings.latency_ms, "sigma": 0.0,
                                                     "error_rate": 0.0, "timeout_rate": 0.0}).raise_for_status()
        c.delete(infra.sensemap_url + "/_boxes").raise_for_status()
    probe = Probe(_starter(config, infra), infra, config.target.path, config.settings, say)
    found: dict[str, CheckResult] = {}
    try:
        for result in run_probes(probe, config.boxes):
            say(f"{result.id}: {result.verdict}")
            found[result.id] = result
    finally:
        probe.close()
    return [found[c.id] for c in CHECKS]


def doctor_finding(result: CheckResult) -> Finding:
    """A check as a finding of the record of docs/profiling.md: metric ``doctor_<id>``, value 1 for a failure and 0
    for a pass (lower is better, threshold 0.5), kind ``problem`` / ``good`` / ``info`` (n/a)."""
    check = result.check
    kind = {FAIL: "problem", PASS: "good", NA: "info"}[result.verdict]
    requests = next((v for k, v in result.evidence.items() if k in ("upstream_requests", "concurrent_requests",
                                                                     "repeated_requests", "box_requests")
                     and isinstance(v, int)), None)
    text = f"{check.title}: {result.verdict}. {result.summary}"
    if result.verdict == FAIL:
        text += f" Fix: {check.fix}"
    return {"metric": f"doctor_{result.id}", "value": 1 if result.verdict == FAIL else 0, "unit": None,
            "text": text + (f" (n={requests})" if requests else " (n=1)"), "scenario": None, "kind": kind,
            "better": "lower", "threshold": 0.5, "n": requests or 1,
            "reach": 1.0 if result.verdict == FAIL else None,
            "reach_text": "every request that goes upstream" if result.verdict == FAIL else None,
            "significant": None}


def document(config: DoctorConfig, run_id: str, checks: list[CheckResult], elapsed_s: float) -> JsonObject:
    """The ``doctor.json`` document."""
    found = [doctor_finding(c) for c in checks]
    counts = {v: sum(1 for c in checks if c.verdict == v) for v in (PASS, FAIL, NA)}
    failed = [f"{c.id} ({c.reason or BY_ID[c.id].title.lower()})" for c in checks if c.verdict == FAIL]
    conclusion = (f"{counts[FAIL]} of {len(checks)} checks failed: " + "; ".join(failed) + "."
                  if failed else f"All {counts[PASS]} applicable checks passed ({counts[NA]} not applicable).")
    return {"schema": SCHEMA, "kind": "doctor", "run_id": run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "elapsed_s": round(elapsed_s, 3),
            "machine": machine_info(), "target": target_record(config.target), "mode": config.mode(),
            "settings": asdict(config.settings), "boxes": config.boxes, "counts": counts,
            "checks": [c.to_dict() for c in checks], "findings": found,
            "summary": summarize_findings(found).to_dict(), "conclusion": conclusion}


def run(config: DoctorConfig, infra: Infra | None = None) -> DoctorReport:
    """Diagnose and write the run directory (module docstring); returns the report."""
    from hivepulse.doctor.render import render_html, render_markdown

    config.target.validate()
    run_id = config.run_id or new_run_id()
    root = Path(config.output_dir)
    final = root / run_id
    if final.exists():
        raise InputError("run directory already exists", file=str(final), expected="a new --run-id")
    started = time.perf_counter()
    checks = diagnose(config, infra)
    doc = document(config, run_id, checks, time.perf_counter() - started)
    partial = root / f".{run_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        records = {k: doc[k] for k in ("schema", "kind", "run_id", "created_at", "elapsed_s", "machine", "target",
                                      "findings", "summary", "conclusion")}
        atomic_write_text(partial / "doctor.json", json.dumps(doc, indent=2, ensure_ascii=False))
        atomic_write_text(partial / "results.json", json.dumps({**records, "scenarios": []}, indent=2,
                                                               ensure_ascii=False))
        atomic_write_text(partial / "findings.json", json.dumps(doc["findings"], indent=2, ensure_ascii=False))
        atomic_write_text(partial / "doctor.md", render_markdown(doc))
        atomic_write_text(partial / "doctor.html", render_html(doc))
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return DoctorReport(run_id, tuple(checks), doc, final)


__all__ = ["DoctorConfig", "DoctorReport", "diagnose", "doctor_finding", "document", "run"]
