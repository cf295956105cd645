import asyncio

from hivepulse.bench.timing import time_cold, time_warm


def test_time_warm_calibrates_and_reports():
    calls = []
    r = time_warm(lambda: calls.append(1), name="append", warmup_s=0.0, min_time_s=0.002, repeats=5)
    assert r.label == "warm" and r.n == 5 and r.loops >= 2
    assert r.ci_s[0] <= r.median_s <= r.ci_s[1]
    assert r.median_s < 0.001  # an append is far below a millisecond
    # warm-up (>= 1 call) + calibration batches + 5 repeats of `loops` calls
    assert len(calls) >= 1 + r.loops + 5 * r.loops


def test_time_warm_async_shares_one_loop():
    loops_seen = set()

    async def tick():
        loops_seen.add(id(asyncio.get_running_loop()))
        await asyncio.sleep(0)

    r = time_warm(tick, warmup_s=0.0, min_time_s=0.001, repeats=3)
    assert r.n == 3 and len(loops_seen) == 1


def test_time_cold_resets_before_every_call():
    cache: dict[str, int] = {}
    misses = []

    def get():
        if "k" not in cache:
            misses.append(1)
            cache["k"] = 1

    r = time_cold(get, cache.clear, name="get", repeats=4)
    assert r.label == "cold" and r.n == 4 and r.loops == 1
    assert len(misses) == 4  # every timed call was a real miss
