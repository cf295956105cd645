"""The servers of a run and the service under test: what is started, how it is configured and reset.

- :func:`infrastructure` starts the replay server and the caches (Valkey, memcached, an S3 stand-in) the
  scenarios and the target need; a URL target needs none.
- :func:`start_target` starts (or reaches) the service for one scenario: the reference HiveBox with the
  scenario's settings (``HIVEBOX_CACHE``, ``HIVEBOX_CLIENT``, ``HIVEBOX_CACHE_TTL``, ``HIVEBOX_SINGLE_FLIGHT``,
  ``SENSEBOX_IDS``, ``OPENSENSEMAP_API_URL``, ``VALKEY_URL``, ``MEMCACHED_URL``), or a ``--target-cmd``.
- :func:`empty_caches` empties every cache the service can use before a cold request.
- :func:`external_scenarios` collapses the scenarios an external target cannot tell apart.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import httpx

from hivepulse.bench.scenarios import Scenario
from hivepulse.bench.targets import RunningTarget, TargetSpec, check_url_target, start_command_target
from hivepulse.endpoints import memcached_address, valkey_address
from hivepulse.net import LOOPBACK


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Infra:
    """The servers of a run. ``values``: the command-template placeholders they fill (see targets.py);
    ``valkey_managed``: the harness started that Valkey (so it may empty every database of it);
    ``admin_token``: a fresh random ``HIVEBOX_ADMIN_TOKEN`` for the reference HiveBox of this run (its
    ``POST /_cache/clear`` needs it; never written anywhere)."""

    sensemap_url: str | None = None
    box_ids: list[str] = field(default_factory=list)
    valkey_url: str | None = None
    memcached_url: str | None = None
    valkey_managed: bool = False
    values: dict[str, str] = field(default_factory=dict)
    admin_token: str = field(default_factory=_new_token, repr=False)

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


def needs(scenarios: Sequence[Scenario], target: TargetSpec) -> tuple[bool, bool, bool]:
    """(valkey, memcached, s3): Valkey for every command target (its cold reset and hit counters),
    memcached / S3 for a command target only when its template or env uses their placeholders."""
    caches = {s.cache for s in scenarios}
    used = target.used_placeholders() if target.kind == "command" else set()
    valkey = "valkey" in caches if target.kind == "reference" else target.kind == "command"
    memcached = ("memcached" in caches if target.kind == "reference"
                 else any(p.startswith("memcached_") for p in used))
    s3 = any(p.startswith("s3_") for p in used)
    return valkey, memcached, s3


def valkey_values(url: str) -> dict[str, str]:
    """The ``{valkey_*}`` placeholder values of a Valkey URL."""
    address = valkey_address(url)
    return {"valkey_url": url, "valkey_host": address.host or LOOPBACK, "valkey_port": str(address.port),
            "valkey_db": address.db}


@contextmanager
def infrastructure(scenarios: Sequence[Scenario], target: TargetSpec) -> Iterator[Infra]:
    """Start the replay server and the servers the scenarios need (none for a URL target)."""
    from hivepulse import services
    from hivepulse.sensemap.boxes import box_ids

    if target.kind == "url":
        check_url_target(target)
        yield Infra()
        return
    boxes = max(s.boxes for s in scenarios)
    seed = scenarios[0].seed
    need_valkey, need_memcached, need_s3 = needs(scenarios, target)
    with ExitStack() as stack:
        first = scenarios[0].latency_model
        sensemap = stack.enter_context(services.start_sensemap(
            boxes=boxes, seed=seed, latency_ms=first.get("median_ms", 100.0), sigma=first.get("sigma", 0.25)))
        infra = Infra(sensemap_url=sensemap.url, box_ids=box_ids(seed, boxes))
        infra.values["opensensemap_url"] = sensemap.url
        if need_valkey:
            handle = stack.enter_context(services.start_valkey())
            infra.valkey_url, infra.valkey_managed = handle.url, handle.managed
            infra.values.update(valkey_values(handle.url))
        if need_memcached:
            handle = stack.enter_context(services.start_memcached())
            infra.memcached_url = handle.url
            infra.values.update(memcached_url=handle.url, memcached_host=handle.host,
                                memcached_port=str(handle.port))
        if need_s3:
            handle = stack.enter_context(services.start_s3())
            assert handle.s3 is not None
            s3 = handle.s3
            infra.values.update(s3_url=handle.url, s3_endpoint=s3.endpoint, s3_access_key=s3.access_key,
                                s3_secret_key=s3.secret_key, s3_region=s3.region)
        yield infra


def hivebox_env(s: Scenario, infra: Infra) -> dict[str, str]:
    """The environment of the reference HiveBox for scenario ``s``."""
    env = {
        "HIVEBOX_CACHE": s.cache,
        "HIVEBOX_CLIENT": s.client,
        "HIVEBOX_CACHE_TTL": str(s.ttl_s),
        "HIVEBOX_SINGLE_FLIGHT": s.single_flight,
        "SENSEBOX_IDS": ",".join(infra.box_ids[: s.boxes]),
        "OPENSENSEMAP_API_URL": infra.sensemap_url or "",
        "HIVEBOX_ADMIN_TOKEN": infra.admin_token,
    }
    if infra.valkey_url:
        env["VALKEY_URL"] = infra.valkey_url
    if infra.memcached_url:
        env["MEMCACHED_URL"] = infra.memcached_url
    return env


@contextmanager
def start_target(s: Scenario, infra: Infra, spec: TargetSpec, save_log: Path | None = None
                 ) -> Iterator[RunningTarget]:
    """Start (or reach) the service for scenario ``s``; ``save_log``: where a command's output tail goes."""
    if spec.kind == "url":
        assert spec.url is not None
        yield RunningTarget(spec.url.rstrip("/"), None, "url")
    elif spec.kind == "command":
        values = {**infra.values, "sensebox_ids": ",".join(infra.box_ids[: s.boxes])}
        with start_command_target(spec, values, save_log=save_log) as running:
            yield running
    else:
        from hivepulse import services

        with services.start_hivebox(hivebox_env(s, infra)) as handle:
            yield RunningTarget(handle.url, handle.pid, "reference")


def empty_caches(client: httpx.Client, running: RunningTarget, infra: Infra) -> bool:
    """Empty every cache the service can use; ``False`` when nothing could be reset (black box).

    Reference HiveBox: ``POST /_cache/clear`` with the run's admin token. Command targets: Valkey ``FLUSHALL`` when the harness started
    that Valkey (every database is the run's), else ``FLUSHDB`` of the database in ``VALKEY_URL`` only;
    memcached ``flush_all``.
    """
    if running.kind == "reference":
        client.post(running.url + "/_cache/clear", headers=infra.admin_headers()).raise_for_status()
        return True
    if running.kind == "url":
        return False
    done = False
    if infra.valkey_url:
        import valkey

        v = valkey.Valkey.from_url(infra.valkey_url, socket_timeout=2)
        if infra.valkey_managed:
            v.flushall()
        else:
            v.flushdb()
        v.close()  # type: ignore[no-untyped-call]
        done = True
    if infra.memcached_url:
        from pymemcache.client.base import Client

        address = memcached_address(infra.memcached_url)
        Client((address.host, address.port), connect_timeout=2).flush_all()
        done = True
    return done


EXTERNAL_IGNORED = ("cache", "client", "ttl_s", "single_flight")
"""Scenario fields only the reference HiveBox understands; an external target ignores them."""


def external_scenarios(scenarios: Sequence[Scenario], kind: str) -> list[Scenario]:
    """The scenarios an external target really runs.

    Scenarios differing only in :data:`EXTERNAL_IGNORED` fields are the same run for an external target:
    the first of each group is kept and renamed ``external-<latency>-c<C>`` (closed model) or
    ``external-<latency>-r<R>`` (open model), with ``-2``, ``-3`` ... when two kept ones would share a name.
    A URL target runs only the first scenario (it has no replay server, so latency profiles do not apply).
    """
    if kind == "reference":
        return list(scenarios)
    picked = list(scenarios[:1]) if kind == "url" else []
    if kind != "url":
        seen: set[tuple[tuple[str, str], ...]] = set()
        for s in scenarios:
            key = tuple(sorted((f.name, repr(getattr(s, f.name))) for f in fields(s)
                               if f.name not in EXTERNAL_IGNORED and f.name != "name"))
            if key not in seen:
                seen.add(key)
                picked.append(s)
    out: list[Scenario] = []
    names: set[str] = set()
    for s in picked:
        load = f"c{s.concurrency}" if s.concurrency is not None else f"r{s.rate:g}"
        base = f"external-{s.latency}-{load}" if kind == "command" else f"external-{load}"
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}-{k}"
        names.add(name)
        out.append(replace(s, name=name))
    return out


__all__ = ["EXTERNAL_IGNORED", "Infra", "empty_caches", "external_scenarios", "hivebox_env", "infrastructure",
           "needs", "start_target", "valkey_values"]
