"""Profiling harness: timing, HTTP load (closed/open model), profilers, scenarios, runs, comparison, findings.

See docs/profiling.md for the rules behind every number.
"""
