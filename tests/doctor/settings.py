"""Probe settings of the doctor tests (short latencies and bounds)."""

from __future__ import annotations

from hivepulse.doctor.probe import ProbeSettings

FAST = ProbeSettings(latency_ms=30.0, burst_latency_ms=100.0, burst=6, repeats=3, hang_hold_s=6.0, bound_s=2.5,
                     request_timeout_s=8.0)
"""Short probes for the tests: 30 ms per box request, a hung box held 6 s, the answer bound 2.5 s."""
