"""In-process timing and pyinstrument profile of HiveBox's hot paths, against the replay server.

Timings (:mod:`hivepulse.bench.timing`, seconds per call) are taken with the replay server's latency set to
0 ms, so they measure the CPU path of each function, not the network wait:

- ``fetch_one_box`` (pooled client), ``fetch_all_boxes[naive|pooled|concurrent]``;
- ``parse_and_average`` (every box document parsed, readings averaged);
- ``cache_get`` / ``cache_set`` on the memory cache and, when a Valkey URL is given, on Valkey;
- ``temperature_handler`` warm (cache hit) and cold (after ``cache_clear``, labelled cold).

The pyinstrument profile (``profiles/pyinstrument-temperature.html`` and ``.speedscope.json``) records three
cold ``/temperature`` handler calls (naive client) at the baseline scenario's latency, so it shows where the
wall-clock time goes, waiting included. The replay server's latency model is restored afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from hivepulse.bench.profilers import aprofile_call, speedscope_functions
from hivepulse.bench.timing import TimingResult, atime_cold, atime_warm, time_warm
from hivepulse.bench.util import run_coroutine
from hivepulse.opensensemap import JsonObject


def _set_latency(sensemap_url: str, model: dict[str, float]) -> None:
    with httpx.Client(timeout=10) as c:
        c.put(sensemap_url + "/_config", json=model).raise_for_status()


async def _measure(sensemap_url: str, box_ids: Sequence[str], out_dir: Path, latency_model: dict[str, float],
                   valkey_url: str | None, repeats: int) -> JsonObject:
    from hivepulse.hivebox.config import HiveboxConfig
    from hivepulse.hivebox.service import HiveboxService, Snapshot
    from hivepulse.hivebox.temperature import average_temperature, parse_temperature
    from hivepulse.hivebox.upstream import PooledClient, UpstreamClient, fetch_box, make_client

    ids = tuple(box_ids)
    timings: list[TimingResult] = []

    async def warm(fn: Callable[[], Awaitable[object]], name: str) -> TimingResult:
        return await atime_warm(fn, name=name, warmup_s=0.05, min_time_s=0.01, repeats=repeats)

    _set_latency(sensemap_url, {"median_ms": 0.0, "sigma": 0.0, "cold_start_ms": 0.0, "error_rate": 0.0,
                                "timeout_rate": 0.0})
    try:
        pooled = PooledClient(sensemap_url)
        try:
            timings.append(await warm(lambda: fetch_box(pooled.client, pooled.base_url, ids[0]), "fetch_one_box"))
            docs = [r.data for r in await pooled.fetch_all_boxes(ids)]
        finally:
            await pooled.aclose()
        for kind in ("naive", "pooled", "concurrent"):
            client = make_client(kind, sensemap_url)

            def fetch_all(c: UpstreamClient = client) -> Awaitable[object]:
                return c.fetch_all_boxes(ids)

            try:
                timings.append(await warm(fetch_all, f"fetch_all_boxes[{kind}]"))
            finally:
                await client.aclose()

        def parse_and_average() -> float | None:
            now = time.time()
            per_box = [parse_temperature(b, d, now) for b, d in zip(ids, docs, strict=True)]
            return average_temperature(p.reading for p in per_box if p.reading is not None)

        timings.append(time_warm(parse_and_average, name="parse_and_average", warmup_s=0.05, min_time_s=0.01,
                                 repeats=repeats))
        backends = ["memory"] + (["valkey"] if valkey_url else [])
        for backend in backends:
            config = HiveboxConfig(box_ids=ids, api_url=sensemap_url, cache=backend, client="pooled",
                                   valkey_url=valkey_url)
            service = HiveboxService(config)
            try:
                snapshot = await service.refresh()

                def cache_set(s: HiveboxService = service, snap: Snapshot = snapshot) -> Awaitable[object]:
                    return s.cache_set(snap)

                timings.append(await warm(cache_set, f"cache_set[{backend}]"))
                timings.append(await warm(service.cache_get, f"cache_get[{backend}]"))
                if backend == "memory":
                    timings.append(await warm(service.temperature, "temperature_handler"))
                    timings.append(await atime_cold(service.temperature, service.cache_clear,
                                                    name="temperature_handler", repeats=repeats))
            finally:
                await service.close()
    finally:
        _set_latency(sensemap_url, latency_model)
    config = HiveboxConfig(box_ids=ids, api_url=sensemap_url, cache="memory", client="naive")
    service = HiveboxService(config)
    try:
        profile = await aprofile_call(service.temperature, out_dir, "pyinstrument-temperature", repeat=3,
                                      before_each=service.cache_clear)
    finally:
        await service.close()
    top = speedscope_functions(profile.speedscope, top=25) if profile.speedscope else []
    return {
        "timings": [t.to_dict() for t in timings],
        "pyinstrument": {**profile.to_dict(), "top_functions": [[n, round(v, 4)] for n, v in top]},
        "note": "timings at 0 ms replay latency (CPU path); the profile at the baseline latency",
    }


def measure(sensemap_url: str | None, box_ids: Sequence[str], out_dir: str | Path, *,
            latency_model: dict[str, float], valkey_url: str | None = None, repeats: int = 7) -> JsonObject:
    """Time the hot paths and profile a cold ``/temperature`` (see the module docstring)."""
    if not sensemap_url:
        return {"timings": [], "pyinstrument": None, "note": "no replay server"}
    return run_coroutine(_measure(sensemap_url, box_ids, Path(out_dir), latency_model, valkey_url, repeats))
