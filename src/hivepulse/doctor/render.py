"""``doctor.md`` and ``doctor.html`` from ``doctor.json``, through templates (``doctor/templates/``): problems first,
every number with its unit, a dash (and a footnote) where there is no value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from hivepulse.doctor.checks import FAIL, NA, PASS

ORDER = {FAIL: 0, PASS: 1, NA: 2}
DASH = "—"
LABELS: Mapping[str, tuple[str, str | None]] = {
    "upstream_requests": ("Upstream requests", None),
    "connections": ("TCP connections", None),
    "requests_per_connection": ("Requests per connection", None),
    "box_requests": ("Box requests", None),
    "max_in_flight": ("Most in flight at once", None),
    "request_time_s": ("Upstream request time", "s"),
    "span_s": ("Wall time of the fetch", "s"),
    "repeated_requests": ("Repeated requests", None),
    "upstream_calls": ("Upstream calls", None),
    "cold_request_calls": ("Calls of the cold request", None),
    "concurrent_requests": ("Concurrent requests", None),
    "max_calls_per_box": ("Most calls for one box", None),
    "list_calls": ("Box-list calls", None),
    "answers_2xx": ("2xx answers", None),
    "status": ("HTTP status", None),
    "elapsed_s": ("Answer time", "s"),
    "bound_s": ("Bound", "s"),
    "hung_box_hold_s": ("Hung box held for", "s"),
    "answer": ("Answer", "°C"),
    "truth": ("Truth", "°C"),
    "metric_families": ("Metric families", None),
    "samples": ("Samples", None),
}


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    missing: bool


@dataclass(frozen=True)
class Row:
    """One check as the templates show it."""

    id: str
    title: str
    verdict: str
    summary: str
    fix: str
    hint: str
    facts: tuple[Fact, ...]


def _label(key: str) -> tuple[str, str | None]:
    if key in LABELS:
        return LABELS[key]
    if key.startswith("upstream_calls_"):
        return f"Upstream calls of /{key.removeprefix('upstream_calls_')}", None
    return key.replace("_", " ").capitalize(), None


def _value(value: object, unit: str | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}" if unit else text


def rows(doc: Mapping[str, Any]) -> list[Row]:
    """The checks, failures first, then passes, then not applicable (the fixed order inside each group)."""
    out = []
    for c in sorted(doc["checks"], key=lambda c: ORDER[c["verdict"]]):
        facts = []
        for key, value in c["evidence"].items():
            label, unit = _label(key)
            facts.append(Fact(label, _value(value, unit), value is None))
        out.append(Row(c["id"], c["title"], c["verdict"], c["summary"], c["fix"], c["hint"], tuple(facts)))
    return out


def _env(markdown: bool) -> jinja2.Environment:
    """HTML: autoescaped. Markdown: every expression escaped for Markdown by ``finalize=md`` (HTML autoescaping
    would turn the quotes of the code hints into entities that code spans show literally)."""
    loader = jinja2.PackageLoader("hivepulse.doctor", "templates")
    if markdown:
        return jinja2.Environment(loader=loader, autoescape=False, finalize=md, undefined=jinja2.StrictUndefined,
                                  keep_trailing_newline=True)
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def md(text: object) -> str:
    """Text safe inside a Markdown table cell or paragraph: one line, no table breaks, no HTML (code spans in the
    fix hints stay code spans)."""
    out = str(text).replace("\r", " ").replace("\n", " ")
    return out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _context(doc: Mapping[str, Any]) -> dict[str, Any]:
    target = doc["target"]
    mode = doc.get("mode")
    if target["kind"] == "reference" and mode:
        what = (f"the reference HiveBox (cache {mode['cache']}, client {mode['client']}, single-flight "
                f"{mode['single_flight']}, TTL {mode['ttl_s']:g} s, upstream timeout {mode['upstream_timeout_s']:g} s)")
    elif target["kind"] == "command":
        what = f"the service started by `{target['cmd']}`"
    else:
        what = f"the service at {target['url']}"
    checks = rows(doc)
    return {"doc": doc, "what": what, "checks": checks, "counts": doc["counts"],
            "missing": any(f.missing for r in checks for f in r.facts), "dash": DASH}


def render_markdown(doc: Mapping[str, Any]) -> str:
    return _env(True).get_template("doctor.md.j2").render(**_context(doc))


def render_html(doc: Mapping[str, Any]) -> str:
    return _env(False).get_template("doctor.html.j2").render(**_context(doc))


__all__ = ["Row", "md", "render_html", "render_markdown", "rows"]
