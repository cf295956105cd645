"""One display function per cell of ``notebooks/profiling.ipynb``: the notebook only calls these.

``run = profiling(**parameters)`` reads a finished run directory (``results_dir``) or runs the scenarios (the
parameters are checked first, :class:`~hivepulse.report.profiling.params.ProfilingParams`); every other function
takes that run and returns an HTML display object rendered from ``templates/`` (autoescaped).
"""

from __future__ import annotations

import base64
import html as html_lib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from hivepulse.bench import flame
from hivepulse.bench.session import RawHTML, load_or_run
from hivepulse.report.profiling import tables
from hivepulse.report.profiling.params import check_params

Results = dict[str, Any]


@dataclass(frozen=True)
class ProfilingRun:
    """A finished profiling run: its ``results.json`` document (the JSON edge), raw samples and directory."""

    results: Results
    samples: dict[str, list[float]]
    run_dir: Path


_ENV = jinja2.Environment(loader=jinja2.PackageLoader("hivepulse.report.profiling", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined)


def _render(name: str, **context: Any) -> RawHTML:
    return RawHTML(_ENV.get_template(name).render(**context))


def profiling(**parameters: Any) -> ProfilingRun:
    """Check the parameters, then read ``results_dir`` or run the scenarios with the other parameters."""
    params = check_params(parameters)
    results, samples, run_dir = load_or_run(params.results_dir, **params.run_options())
    return ProfilingRun(dict(results), samples, run_dir)


def _png(path: Path) -> str | None:
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def intro(run: ProfilingRun) -> RawHTML:
    """Run id, target, the scenario file actually used, scenario count, and a warning for busy scenarios."""
    r = run.results
    target = r.get("target") or {}
    what = {"reference": "the reference HiveBox", "command": f"your service ({target.get('cmd')})",
            "url": f"the service at {target.get('url')}"}.get(str(target.get("kind")), "unknown")
    return _render("intro.html.j2", run_id=r.get("run_id"), what=what,
                   scenarios_file=r.get("scenarios_file") or "not recorded (a run from before this field)",
                   n=len(r.get("scenarios", [])), busy=tables.busy_scenarios(r),
                   cores=(r.get("machine") or {}).get("cores_usable"))


def conclusion(run: ProfilingRun) -> RawHTML:
    """The generated conclusion and the findings' counts."""
    summary = run.results.get("summary") or {}
    return _render("conclusion.html.j2", conclusion=run.results.get("conclusion", ""), summary=summary)


def findings(run: ProfilingRun) -> RawHTML:
    """Every finding for the retro, problems first, in full sentences."""
    return _render("table.html.j2", table=tables.findings(run.results), cls="hp-findings")


def latency(run: ProfilingRun) -> RawHTML:
    return _render("table.html.j2", table=tables.latency(run.results), cls="hp-latency",
                   image=_png(run.run_dir / "latency_cdf.png"), alt="Latency CDF per scenario")


def speedups(run: ProfilingRun) -> RawHTML:
    return _render("table.html.j2", table=tables.speedups(run.results), cls="hp-speedups",
                   image=_png(run.run_dir / "speedups.png"), alt="Median speedups with 95% CIs")


def cache(run: ProfilingRun) -> RawHTML:
    return _render("table.html.j2", table=tables.cache(run.results), cls="hp-cache",
                   image=_png(run.run_dir / "upstream_calls.png"), alt="Upstream calls per 1,000 requests")


def flamegraph(run: ProfilingRun) -> RawHTML:
    """py-spy's interactive flame graph inline (search and zoom work), its title, samples, a warning below
    :data:`hivepulse.bench.flame.MIN_SAMPLES`, and the link to the speedscope file; or why there is none."""
    p = (run.results.get("profiles") or {}).get("py-spy") or {}
    svg_path = run.run_dir / "profiles" / str(p.get("svg")) if p.get("ok") and p.get("svg") else None
    svg = None
    if svg_path is not None and svg_path.is_file():
        svg = flame.inline_svg(svg_path.read_text(encoding="utf-8", errors="replace"))
    speedscope = f"profiles/{p['speedscope']}" if p.get("speedscope") else None
    return _render("flamegraph.html.j2", ok=svg is not None, svg=svg, title=p.get("title") or p.get("scenario"),
                   samples=p.get("samples"), scenario=p.get("scenario"), warning=p.get("warning"),
                   app_share=p.get("app_share"), speedscope=speedscope,
                   message=p.get("message") or "py-spy did not record this target.")


def hot_paths(run: ProfilingRun) -> RawHTML:
    """The pyinstrument profile (an iframe holding its own page) and the in-process timings."""
    hot = (run.results.get("profiles") or {}).get("hot_paths") or {}
    page = None
    p = hot.get("pyinstrument") or {}
    if p.get("html") and (run.run_dir / "profiles" / p["html"]).is_file():
        page = html_lib.escape((run.run_dir / "profiles" / p["html"]).read_text(encoding="utf-8"), quote=True)
    return _render("hot_paths.html.j2", page=page, table=tables.timings(run.results),
                   has_timings=bool(hot.get("timings")))


def comparison(run: ProfilingRun) -> RawHTML:
    if not run.results.get("comparison"):
        return RawHTML("<p>No baseline run was given (<code>--baseline RUN_ID</code>).</p>")
    return _render("table.html.j2", table=tables.comparison(run.results), cls="hp-comparison")


def machine(run: ProfilingRun) -> RawHTML:
    """The machine and its load during each scenario; package versions."""
    packages = ((run.results.get("machine") or {}).get("packages")) or {}
    return _render("machine.html.j2", machine=tables.machine(run.results), load=tables.machine_load(run.results),
                   packages=", ".join(f"{k} {v}" for k, v in packages.items() if v))


__all__ = ["ProfilingRun", "cache", "comparison", "conclusion", "findings", "flamegraph", "hot_paths", "intro",
           "latency", "machine", "profiling", "speedups"]
