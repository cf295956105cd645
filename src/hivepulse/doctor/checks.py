"""The doctor's checks: what each one proves, how it is judged, and the fix (docs/doctor.md).

A :class:`CheckResult` is one verdict: ``pass``, ``fail`` or ``n/a`` (with the reason), the evidence seen at the
replay server (numbers), and the fix in one or two sentences with a code-level hint. The judging rules are pure
functions of the evidence (``judge_*``), so they are tested on their own; :mod:`hivepulse.doctor.probe` gathers
the evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Scalar = float | int | str | bool | None
PASS, FAIL, NA = "pass", "fail", "n/a"
VERDICTS = (PASS, FAIL, NA)

REUSE_MIN = 1.5
"""``connection_reuse`` passes when the cold requests' upstream calls averaged at least this many requests per
TCP connection (a new connection per box gives exactly 1.0; one kept-alive client gives the number of calls)."""
PARALLEL_MIN = 2
"""``parallel_upstream`` passes when at least this many box requests of one cold ``/temperature`` were in flight
at the same instant."""
VALUE_TOLERANCE = 0.051
"""``stale_readings``: the answer may differ from the truth by rounding to one decimal (0.05) at most."""


@dataclass(frozen=True)
class Check:
    """A check's identity and its advice (the same for every target)."""

    id: str
    title: str
    question: str
    fix: str
    hint: str


CHECKS: tuple[Check, ...] = (
    Check("connection_reuse", "Upstream connections are reused",
          "Do upstream requests share kept-alive TCP connections?",
          "Create one HTTP client (session) when the service starts and reuse it for every openSenseMap request; "
          "a new client per request pays a TCP (and, in production, TLS) handshake each time.",
          "requests: `SESSION = requests.Session()` at module level, then `SESSION.get(url, timeout=5)`; httpx: one "
          "`httpx.AsyncClient()` created in the app's lifespan, closed on shutdown."),
    Check("parallel_upstream", "Boxes are fetched concurrently",
          "Does a cold /temperature fetch its senseBoxes at the same time?",
          "Fetch the boxes concurrently so a cold request costs about one upstream round trip instead of one per box.",
          "asyncio: `await asyncio.gather(*(client.get(f'{API}/boxes/{b}') for b in ids))`; threads: "
          "`ThreadPoolExecutor(max_workers=len(ids)).map(fetch, ids)`."),
    Check("cache_hit", "Repeated requests are served from the cache",
          "Do repeated requests within the cache lifetime avoid openSenseMap?",
          "Cache the fetched data (or the computed average) with a TTL and look it up before calling openSenseMap; "
          "check that the key you read is the key you write.",
          "Valkey/Redis: `cached = r.get(KEY)`; on a miss fetch, then `r.set(KEY, payload, ex=TTL)`; in process: "
          "`cachetools.TTLCache(maxsize=1, ttl=300)` guarded by a lock."),
    Check("stampede", "No cache stampede",
          "Do many concurrent requests on a cold or expired cache make at most one upstream call per box?",
          "Let one request refresh an empty or expired cache while concurrent ones wait for its result (single-flight) "
          "or get the previous value (stale-while-revalidate).",
          "asyncio: keep one `asyncio.Lock()` (or a shared `asyncio.Future`) around the refresh and re-check the cache "
          "after acquiring it; Valkey across workers: `SET lock NX EX 10` before refreshing."),
    Check("probe_upstream", "Probes make no upstream call",
          "Do /readyz and /healthz answer without calling openSenseMap?",
          "Answer readiness from state the service already has (the age and outcome of its last fetch), never by "
          "calling openSenseMap: a probe every 10 s per pod would otherwise be steady upstream load.",
          "Keep `last_fetch_at` and `boxes_unreachable` in memory when /temperature fetches; /readyz compares them, "
          "/healthz returns 200 at once."),
    Check("upstream_timeout", "A hung box is bounded",
          "Does /temperature answer in bounded time when one senseBox never answers?",
          "Give every upstream request a total timeout of a few seconds and treat a box that times out as "
          "unreachable; a request without a timeout waits as long as the upstream holds it.",
          "requests: `SESSION.get(url, timeout=(3, 5))`; httpx: `httpx.AsyncClient(timeout=5.0)`, plus "
          "`asyncio.timeout(5)` around the whole fetch for a body that trickles."),
    Check("all_down", "All boxes down gives a clear 5xx",
          "When every senseBox fails, is the answer a deliberate 5xx rather than a hang or an unhandled 500?",
          "Catch upstream failures per box; when no box is usable, answer 503 with a short message (or serve a "
          "labelled stale value), never let the exception escape as a 500.",
          "`except requests.RequestException:` per box, then `if not readings: return jsonify(detail='no fresh "
          "reading'), 503` (FastAPI: `raise HTTPException(503, ...)`)."),
    Check("stale_readings", "The average uses only fresh Temperatur readings",
          "With stale readings and decoy sensors present, does the answer match the replay server's truth?",
          "Use only the sensor titled exactly `Temperatur` and only readings at most one hour old; `Bodentemperatur`, "
          "`Taupunkt` and stale readings are not air temperature now.",
          "`if s['title'].strip() == 'Temperatur' and now - parse(s['lastMeasurement']['createdAt']) <= "
          "timedelta(hours=1)`; parse with `datetime.fromisoformat(t.replace('Z', '+00:00'))`."),
    Check("metrics", "/metrics is Prometheus text",
          "Does /metrics answer 200 with text that the Prometheus parser accepts?",
          "Expose metrics with a Prometheus client library instead of hand-written or JSON output.",
          "`from prometheus_client import generate_latest, CONTENT_TYPE_LATEST`; return "
          "`Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)`."),
)
BY_ID: Mapping[str, Check] = {c.id: c for c in CHECKS}


@dataclass(frozen=True)
class CheckResult:
    """One verdict. ``summary``: one or two sentences with the numbers; ``reason``: why ``n/a`` (or why it
    failed, in short); ``evidence``: the numbers, keyed by name (units in the names)."""

    id: str
    verdict: str
    summary: str
    evidence: Mapping[str, Scalar] = field(default_factory=dict)
    reason: str | None = None

    def __post_init__(self) -> None:
        assert self.verdict in VERDICTS and self.id in BY_ID

    @property
    def check(self) -> Check:
        return BY_ID[self.id]

    def to_dict(self) -> dict[str, object]:
        c = self.check
        return {"id": self.id, "title": c.title, "verdict": self.verdict, "summary": self.summary,
                "reason": self.reason, "evidence": dict(self.evidence), "fix": c.fix, "hint": c.hint}


def na(check_id: str, reason: str, **evidence: Scalar) -> CheckResult:
    """An ``n/a`` verdict with its reason."""
    return CheckResult(check_id, NA, f"Not applicable: {reason}", evidence, reason)


# -- judging rules (pure) -------------------------------------------------------------------------------------------
def max_overlap(intervals: Sequence[tuple[float, float]]) -> int:
    """Most intervals ``(start, end)`` in flight at one instant (an end at the same time as a start does not
    overlap it). Example: [(0, 2), (1, 3), (2, 4)] -> 2."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


def judge_connection_reuse(requests: int, connections: int) -> CheckResult:
    """Pass when the cold requests' upstream calls averaged at least :data:`REUSE_MIN` per connection."""
    if requests < 2 or connections == 0:
        return na("connection_reuse", f"only {requests} upstream request(s) were seen; reuse needs two or more",
                  upstream_requests=requests, connections=connections)
    ratio = requests / connections
    evidence = {"upstream_requests": requests, "connections": connections, "requests_per_connection": round(ratio, 2)}
    text = f"{requests} upstream requests over {connections} TCP connection(s): {ratio:.1f} per connection"
    if ratio >= REUSE_MIN:
        return CheckResult("connection_reuse", PASS, text + ".", evidence)
    return CheckResult("connection_reuse", FAIL, text + " (a new connection for almost every request).", evidence,
                       "a new connection per upstream request")


def judge_parallel(box_calls: int, overlap: int, busy_s: float, span_s: float) -> CheckResult:
    """Pass when at least :data:`PARALLEL_MIN` box requests of one cold request were in flight together."""
    evidence = {"box_requests": box_calls, "max_in_flight": overlap, "request_time_s": round(busy_s, 3),
                "span_s": round(span_s, 3)}
    if box_calls < 2:
        return na("parallel_upstream", f"a cold /temperature made {box_calls} box request(s); nothing to run in "
                  "parallel (one request fetches everything, or the service calls no box URL)", **evidence)
    text = (f"A cold /temperature made {box_calls} box requests; at most {overlap} were in flight at once "
            f"({busy_s * 1000:.0f} ms of upstream time within {span_s * 1000:.0f} ms).")
    if overlap >= PARALLEL_MIN:
        return CheckResult("parallel_upstream", PASS, text, evidence)
    return CheckResult("parallel_upstream", FAIL, text + " The boxes are fetched one after another.", evidence,
                       "boxes fetched one after another")


def judge_cache_hit(repeats: int, calls: int, cold_calls: int) -> CheckResult:
    """Pass when ``repeats`` requests right after a cold one made no upstream call."""
    evidence = {"repeated_requests": repeats, "upstream_calls": calls, "cold_request_calls": cold_calls}
    text = (f"{repeats} requests right after a cold one (which made {cold_calls} upstream call(s)) made "
            f"{calls} upstream call(s).")
    if calls == 0:
        return CheckResult("cache_hit", PASS, text, evidence)
    return CheckResult("cache_hit", FAIL, text + " Repeated requests do not hit a cache.", evidence,
                       "repeated requests go upstream")


def judge_stampede(burst: int, per_box: Mapping[str, int], list_calls: int, statuses: Mapping[str, int]
                   ) -> CheckResult:
    """Pass when a burst on a cold cache fetched every box (and the box list) at most once."""
    most = max(per_box.values(), default=0)
    total = sum(per_box.values()) + list_calls
    evidence = {"concurrent_requests": burst, "upstream_calls": total, "max_calls_per_box": most,
                "list_calls": list_calls, "answers_2xx": sum(v for k, v in statuses.items() if k.startswith("2"))}
    if total == 0:
        return na("stampede", "the burst made no upstream call (the cache could not be emptied)", **evidence)
    parts = ([f"at most {most} per box"] if per_box else []) + ([f"{list_calls} box-list call(s)"] if list_calls else [])
    text = f"{burst} concurrent requests on a cold cache made {total} upstream calls: {', '.join(parts)}."
    if most <= 1 and list_calls <= 1:
        return CheckResult("stampede", PASS, text, evidence)
    return CheckResult("stampede", FAIL, text + " Every concurrent miss refreshed on its own.", evidence,
                       "concurrent misses each refresh")


def judge_probes(calls: Mapping[str, int | None]) -> CheckResult:
    """``calls``: upstream calls per probe path (``None``: the path does not exist). Pass when every existing
    probe made none."""
    present = {p: c for p, c in calls.items() if c is not None}
    evidence: dict[str, Scalar] = {f"upstream_calls{p.replace('/', '_')}": c for p, c in calls.items()}
    if not present:
        return na("probe_upstream", "neither " + " nor ".join(calls) + " exists (both answered 404)", **evidence)
    busy = {p: c for p, c in present.items() if c}
    parts = ", ".join(f"{p} made {c} upstream call(s)" for p, c in present.items())
    if not busy:
        return CheckResult("probe_upstream", PASS, f"On a cold cache, {parts}.", evidence)
    return CheckResult("probe_upstream", FAIL, f"On a cold cache, {parts}: probes load openSenseMap.", evidence,
                       "probes call openSenseMap")


def judge_timeout(answered: bool, status: int | None, elapsed_s: float, bound_s: float, hold_s: float
                  ) -> CheckResult:
    """Pass when /temperature answered (any status) within ``bound_s`` while one box held its request ``hold_s``."""
    evidence = {"status": status, "elapsed_s": round(elapsed_s, 3), "bound_s": bound_s, "hung_box_hold_s": hold_s}
    if answered:
        return CheckResult("upstream_timeout", PASS, f"With one box hung for {hold_s:g} s, /temperature answered "
                           f"HTTP {status} after {elapsed_s:.2f} s (bound {bound_s:g} s).", evidence)
    return CheckResult("upstream_timeout", FAIL, f"With one box hung for {hold_s:g} s, /temperature gave no answer "
                       f"within {bound_s:g} s: the upstream request has no (short enough) timeout.", evidence,
                       "no bound on a hung upstream")


TRACEBACK_MARKERS = ("Traceback (most recent call last)", "Internal Server Error")
"""Bodies of an unhandled exception: Python's traceback, the default page of Flask, Starlette and FastAPI."""


def judge_all_down(answered: bool, status: int | None, body: str, elapsed_s: float, bound_s: float) -> CheckResult:
    """Pass for a 5xx that is not an unhandled exception's 500 (502, 503, 504, or a 500 with its own message)."""
    evidence = {"status": status, "elapsed_s": round(elapsed_s, 3), "bound_s": bound_s}
    if not answered:
        return CheckResult("all_down", FAIL, f"With every box answering 503, /temperature gave no answer within "
                           f"{bound_s:g} s.", evidence, "hangs when openSenseMap is down")
    assert status is not None
    default_500 = status == 500 and any(m in body for m in TRACEBACK_MARKERS)
    text = f"With every box answering 503, /temperature answered HTTP {status} after {elapsed_s:.2f} s"
    if 500 <= status < 600 and not default_500:
        return CheckResult("all_down", PASS, text + ".", evidence)
    if default_500:
        return CheckResult("all_down", FAIL, text + ", the default page of an unhandled exception.", evidence,
                           "an unhandled exception (500)")
    return CheckResult("all_down", FAIL, text + f": a {status} hides that no temperature is available.", evidence,
                       f"HTTP {status} instead of a 5xx")


def judge_stale(status: int | None, answer: float | None, truth: float, wrong: Mapping[str, float], body: str
                ) -> CheckResult:
    """Pass when a 2xx answer's number is within :data:`VALUE_TOLERANCE` of ``truth``; ``wrong`` names the
    values a known mistake gives (to say which mistake it is)."""
    evidence: dict[str, Scalar] = {"status": status, "answer": answer, "truth": truth}
    if status is None or not 200 <= status < 300:
        return CheckResult("stale_readings", FAIL, f"/temperature answered HTTP {status} although 2 of 3 boxes have a "
                           f"fresh reading (truth {truth:.2f} °C).", evidence, "no answer with fresh readings")
    if answer is None:
        preview = body.strip().replace("\n", " ")[:80]
        return na("stale_readings", f"no number found in the answer ({preview!r})", **evidence)
    if abs(answer - truth) <= VALUE_TOLERANCE:
        return CheckResult("stale_readings", PASS, f"The answer {answer:g} °C matches the truth {truth:.2f} °C "
                           "(two fresh readings; a stale one and decoy sensors ignored).", evidence)
    guess = next((name for name, value in wrong.items() if abs(answer - value) <= VALUE_TOLERANCE), None)
    why = f" It is what {guess} gives." if guess else ""
    return CheckResult("stale_readings", FAIL, f"The answer {answer:g} °C differs from the truth {truth:.2f} °C.{why}",
                       evidence, guess or "wrong average")


def judge_metrics(status: int | None, families: int, samples: int, error: str | None) -> CheckResult:
    """Pass for a 200 whose body the Prometheus text parser reads into at least one sample."""
    evidence = {"status": status, "metric_families": families, "samples": samples}
    if status is None:
        return CheckResult("metrics", FAIL, "/metrics gave no answer.", evidence, "no answer")
    if status != 200:
        return CheckResult("metrics", FAIL, f"/metrics answered HTTP {status}.", evidence, f"HTTP {status}")
    if error is not None:
        return CheckResult("metrics", FAIL, f"/metrics is not Prometheus text: {error}.", evidence, "not Prometheus text")
    if samples == 0:
        return CheckResult("metrics", FAIL, "/metrics answered 200 without any sample.", evidence, "empty")
    return CheckResult("metrics", PASS, f"/metrics parsed as Prometheus text: {families} metric families, "
                       f"{samples} samples.", evidence)


__all__ = ["BY_ID", "CHECKS", "FAIL", "NA", "PASS", "PARALLEL_MIN", "REUSE_MIN", "VALUE_TOLERANCE", "VERDICTS",
           "Check", "CheckResult", "Scalar", "judge_all_down", "judge_cache_hit", "judge_connection_reuse",
           "judge_metrics", "judge_parallel", "judge_probes", "judge_stale", "judge_stampede", "judge_timeout",
           "max_overlap", "na"]
