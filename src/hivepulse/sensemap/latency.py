"""The replay server's seeded latency and fault model.

Per request the server draws, from one seeded ``random.Random`` (in arrival order):

1. a delay ``d = exp(ln(median_ms) + sigma * Z)`` milliseconds, ``Z ~ N(0, 1)`` (log-normal: median
   ``median_ms``, p99 ``median_ms * exp(2.326 * sigma)``; ``sigma = 0`` gives a constant delay);
2. plus ``cold_start_ms`` if the box is *cold*: never requested yet, or idle for ``cold_after_s`` seconds;
3. a fault: with probability ``error_rate`` a 5xx answer (500, 502 or 503, after the delay), else with
   probability ``timeout_rate`` a *timeout* (the server holds the request ``timeout_s`` seconds before
   answering normally, so clients with shorter timeouts give up).

Same seed and same request order give the same delays and faults.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

from hivepulse.errors import InputError
from hivepulse.opensensemap import JsonObject

ERROR_STATUSES = (500, 502, 503)
MAX_DELAY_MS = 600_000.0
"""Largest median latency or cold-start spike: 10 minutes (NaN and infinity are refused too)."""
MAX_SIGMA = 10.0
MAX_HOLD_S = 3600.0
"""Longest a "timeout" fault holds a request: one hour."""
MAX_SECONDS = 1e9


@dataclass
class LatencyModel:
    """Settings of the latency/fault model (milliseconds and seconds as named)."""

    median_ms: float = 100.0
    sigma: float = 0.25
    cold_start_ms: float = 0.0
    cold_after_s: float = 3600.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first bad field."""
        checks = (
            ("median_ms", 0 <= self.median_ms <= MAX_DELAY_MS, f"a number from 0 to {MAX_DELAY_MS:g}"),
            ("sigma", 0 <= self.sigma <= MAX_SIGMA, f"a number from 0 to {MAX_SIGMA:g}"),
            ("cold_start_ms", 0 <= self.cold_start_ms <= MAX_DELAY_MS, f"a number from 0 to {MAX_DELAY_MS:g}"),
            ("cold_after_s", 0 < self.cold_after_s <= MAX_SECONDS, f"a number > 0 and <= {MAX_SECONDS:g}"),
            ("error_rate", 0 <= self.error_rate <= 1, "a probability in [0, 1]"),
            ("timeout_rate", 0 <= self.timeout_rate <= 1, "a probability in [0, 1]"),
            ("error_rate + timeout_rate", self.error_rate + self.timeout_rate <= 1, "a sum <= 1"),
            ("timeout_s", 0 <= self.timeout_s <= MAX_HOLD_S, f"a number from 0 to {MAX_HOLD_S:g}"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise InputError("invalid latency setting", column=name, value=getattr(self, name, None),
                                 expected=expected)

    def to_dict(self) -> JsonObject:
        return asdict(self)

    def updated(self, changes: JsonObject) -> LatencyModel:
        """A copy with ``changes`` applied (unknown keys raise :class:`InputError`)."""
        current = self.to_dict()
        for key, value in changes.items():
            if key not in current:
                raise InputError("unknown latency setting", column=key, expected=", ".join(current))
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InputError("invalid latency setting", column=key, value=value, expected="a number")
            try:
                current[key] = type(current[key])(value)
            except (TypeError, ValueError, OverflowError):
                raise InputError("invalid latency setting", column=key, value=value,
                                 expected="a number") from None
        return LatencyModel(**current)


@dataclass(frozen=True)
class Draw:
    """What happens to one request: total delay (s), and the fault if any."""

    delay_s: float
    status: int | None = None  # a 5xx status to answer with
    timeout: bool = False
    cold: bool = False


class LatencySampler:
    """Draws :class:`Draw` values from a :class:`LatencyModel`; remembers when each box was last requested."""

    def __init__(self, model: LatencyModel) -> None:
        self.model = model
        self._rng = random.Random(model.seed)
        self._last_seen: dict[str, float] = {}

    def reseed(self, model: LatencyModel) -> None:
        """Switch to ``model`` and restart its random stream (cold state is kept)."""
        self.model = model
        self._rng = random.Random(model.seed)

    def draw(self, key: str, now: float) -> Draw:
        """The delay and fault for a request to ``key`` (a box id) arriving at monotonic time ``now``."""
        m = self.model
        rng = self._rng
        if m.median_ms > 0:
            delay_ms = math.exp(math.log(m.median_ms) + m.sigma * rng.gauss(0.0, 1.0))
        else:
            rng.gauss(0.0, 1.0)  # keep the stream aligned
            delay_ms = 0.0
        last = self._last_seen.get(key)
        cold = last is None or (now - last) >= m.cold_after_s
        self._last_seen[key] = now
        if cold and m.cold_start_ms > 0:
            delay_ms += m.cold_start_ms
        else:
            cold = cold and m.cold_start_ms > 0
        u = rng.random()
        if u < m.error_rate:
            return Draw(delay_ms / 1000.0, status=rng.choice(ERROR_STATUSES), cold=cold)
        if u < m.error_rate + m.timeout_rate:
            return Draw(delay_ms / 1000.0 + m.timeout_s, timeout=True, cold=cold)
        return Draw(delay_ms / 1000.0, cold=cold)
