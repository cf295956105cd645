"""``hivepulse metrics``: the five DORA metrics of one environment over one window.

Reads events from a directory (``--events DIR``, :func:`hivepulse.sources.files.read_events`) or from a git
clone (``--git PATH``, :mod:`hivepulse.sources.git`; flags in :mod:`hivepulse.commands.gitflags`), computes
:func:`hivepulse.metrics.dora.compute` and prints a table (default) or the JSON contract of ``docs/cli.md``.

Registering the command (``hivepulse metrics --help``) imports neither pandas nor scipy: the engine and the
sources are imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hivepulse.commands.sourceflags import add_source_arguments, check_one_source
from hivepulse.commands.sourceflags import load_events as _load_source
from hivepulse.errors import InputError
from hivepulse.metrics import tiers
from hivepulse.textsafe import terminal

if TYPE_CHECKING:
    import pandas as pd

    from hivepulse.metrics.dora import DoraReport, MetricsConfig, Window
    from hivepulse.model import EventSet

DEFAULT_DAYS = 28
"""Window length (days) used when --since is not given."""
MAX_GAP_DAYS = 36500
"""Largest --incident-max-gap-days (100 years; pandas timedeltas end near 292 years)."""
EARLIEST, LATEST = datetime(1700, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
"""Bounds of --since/--until (a window and its previous window must fit pandas' nanosecond range)."""
MAX_WINDOW_DAYS = 36500
"""Longest window (100 years; pandas timedeltas end near 292 years)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="DORA metrics of one environment over a window",
        description="Deployment frequency, change lead time, change fail rate, failed deployment recovery "
        "time and rework rate over [since, until) in UTC, with n, 95%% CIs and tiers. "
        "Rules: docs/metrics.md; JSON contract: docs/cli.md.",
    )
    add_source_arguments(parser, events_help="directory with deployments/changes/incidents files", with_store=True)

    win = parser.add_argument_group("window and scope")
    win.add_argument("--since", help="window start, inclusive: YYYY-MM-DD (00:00 UTC) or ISO timestamp")
    win.add_argument(
        "--until",
        help="window end, exclusive (default: end of the UTC day of the latest deployment of --env)",
    )
    win.add_argument(
        "--env", default="production",
        help="environment to measure, any letter case (default: production)",
    )  # fmt: skip
    win.add_argument("--tz", default="UTC", help="IANA time zone for day and week boundaries (default: UTC)")
    win.add_argument(
        "--compare-previous",
        action="store_true",
        help="also compute the window of the same length just before and test each metric for a change",
    )

    rules = parser.add_argument_group("rules")
    rules.add_argument(
        "--tier-edition", default="2024", choices=tiers.editions(), help="tier table (default: 2024)"
    )
    rules.add_argument(
        "--incident-max-gap-days",
        type=float,
        default=7.0,
        metavar="DAYS",
        help="attribute an incident without deployment_id to the last successful deployment at most this many "
        "days before it (default: 7)",
    )
    rules.add_argument(
        "--include-first-deployment",
        action="store_true",
        help="keep changes of first deployments in lead time (excluded by default)",
    )
    rules.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")

    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format (default: table)"
    )
    parser.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> MetricsConfig:
    """The :class:`MetricsConfig` described by the command-line flags (validates --tz)."""
    import pandas as pd

    from hivepulse.metrics.dora import MetricsConfig

    if not 0 <= args.incident_max_gap_days <= MAX_GAP_DAYS:  # also rejects nan
        raise InputError("invalid --incident-max-gap-days", value=args.incident_max_gap_days,
                         expected=f"a number of days from 0 to {MAX_GAP_DAYS}")
    if args.seed < 0:
        raise InputError("invalid --seed", value=args.seed, expected="a non-negative integer")
    from hivepulse.model import normalize_name

    if not str(args.env).strip():
        raise InputError("invalid --env", value=args.env, expected="an environment name such as production")
    return MetricsConfig(
        environment=normalize_name(str(args.env)),
        tz=args.tz,
        tier_edition=args.tier_edition,
        incident_max_gap=pd.Timedelta(days=args.incident_max_gap_days),
        include_first_deployment=args.include_first_deployment,
        seed=args.seed,
    )


def load_events(args: argparse.Namespace) -> EventSet:
    """Read the event set named by ``--events``, ``--git`` or ``--store``."""
    check_one_source(args, "--events DIR, --git PATH or --store URL|PATH")
    return _load_source(args)


def resolve_window(args: argparse.Namespace, events: EventSet, environment: str) -> Window:
    """``--since``/``--until``, with defaults: until = end of the UTC day of the latest deployment of the
    environment; since = until - 28 days."""
    import pandas as pd

    from hivepulse.metrics.dora import Window

    until = instant(args.until, "until") if args.until is not None else None
    since = instant(args.since, "since") if args.since is not None else None
    if until is None:
        deps = events.deployments
        finished = deps.loc[(deps["environment"] == environment).fillna(False), "finished_at"].dropna()
        if finished.empty:
            from hivepulse.model import other_environments

            elsewhere = other_environments(events, environment)
            raise InputError(
                f"no {environment!r} deployment to place the default window"
                + (f" ({elsewhere})" if elsewhere else ""),
                expected="--since and --until" + (", or --env naming one of those" if elsewhere else ""),
            )
        until = finished.max().floor("D") + pd.Timedelta(days=1)
    if since is None:
        since = until - pd.Timedelta(days=DEFAULT_DAYS)
    return Window(since, until)


def instant(text: str, name: str) -> pd.Timestamp:
    """:func:`parse_instant` limited to [1700-01-01, 2200-01-01] UTC (an empty value is an error)."""
    import pandas as pd

    from hivepulse.metrics.dora import parse_instant

    try:
        ts = parse_instant(text, name)
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        ts = None
    if ts is None or not EARLIEST <= ts <= LATEST:
        raise InputError(f"invalid {name}", value=text,
                         expected="a date YYYY-MM-DD or an ISO 8601 timestamp from 1700-01-01 to 2200-01-01")
    return ts


def run(args: argparse.Namespace) -> int:
    from hivepulse.metrics.dora import compute

    config = build_config(args)
    if args.since is not None:  # fail fast on a bad date before reading anything
        instant(args.since, "since")
    if args.until is not None:
        instant(args.until, "until")
    events = load_events(args)
    window = resolve_window(args, events, config.environment)
    from hivepulse.model import other_environments

    elsewhere = other_environments(events, config.environment)
    if elsewhere is not None:  # an explicit window: a defined empty result, with the way out in its notes
        events.notes.append(f"No {config.environment!r} deployment in the data: {elsewhere}.")
    length = window.until.to_pydatetime() - window.since.to_pydatetime()
    if length.days > MAX_WINDOW_DAYS or (
        args.compare_previous and window.since.to_pydatetime() - length < EARLIEST
    ):
        raise InputError("window too long", value=f"[{window.since.date()}, {window.until.date()})",
                         expected=f"at most {MAX_WINDOW_DAYS} days, and with --compare-previous a previous "
                         "window of the same length starting after 1700-01-01")
    report = compute(events, window, config, compare_previous=args.compare_previous)
    if args.format == "json":
        text = json.dumps(report.to_dict(), indent=2, allow_nan=False)
    else:
        text = format_table(report)
    sys.stdout.write(text + "\n")
    return 0


# --------------------------------------------------------------------------------------------- table

_LABELS = {
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Change lead time (median)",
    "change_fail_rate": "Change fail rate",
    "recovery_time": "Recovery time (median)",
    "rework_rate": "Rework rate",
}


def _num(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "fraction":
        return f"{100 * x:.1f}%"
    if unit == "hours":
        return f"{x:.3g} h" if abs(x) < 10 else f"{x:.1f} h" if abs(x) < 1000 else f"{x:.0f} h"
    return f"{x:.2f}/wk"


def _detail(name: str, m: dict[str, Any]) -> str:
    if name == "deployment_frequency":
        med = m["median_deployment_days_per_week"]
        return (
            f"{m['deployments']} deployments on {m['deployment_days']} days; "
            f"median {med if med is not None else '-'} deployment days/week over {m['weeks']} weeks"
        )
    if name == "lead_time":
        return f"p75 {_num(m['p75'], 'hours')}, p90 {_num(m['p90'], 'hours')}"
    if name == "change_fail_rate":
        reasons = ", ".join(f"{k} {v}" for k, v in m["by_reason"].items() if v)
        return f"{m['failed']} of {m['deployments']} failed" + (f" ({reasons})" if reasons else "")
    if name == "recovery_time":
        unrec = m["unrecovered"]
        shown = ", ".join(unrec[:5]) + (" ..." if len(unrec) > 5 else "")
        return f"{m['n']} of {m['failed']} recovered" + (f"; unrecovered: {shown}" if unrec else "")
    return f"{m['unplanned']} of {m['deployments']} unplanned"


def format_table(report: DoraReport) -> str:
    """A readable plain-text table of the report (what ``--format table`` prints; read from the JSON
    contract, the CLI's edge; notes are text from the data, printed without control characters)."""
    from hivepulse.metrics.dora import METRICS

    d = report.to_dict()
    w = d["window"]
    lines = [
        f"DORA metrics - {d['environment']} - [{w['since']}, {w['until']}) - {w['days']:g} days - "
        f"tz {w['tz']} - tiers {d['tier_edition']}",
        "",
        f"{'metric':<27} {'value':>11} {'95% CI':>23} {'n':>7}  {'tier':<7} detail",
    ]
    for name in METRICS:
        m = d[name]
        unit = m["unit"]
        ci = "-" if m["ci_low"] is None else f"[{_num(m['ci_low'], unit)}, {_num(m['ci_high'], unit)}]"
        lines.append(
            f"{_LABELS[name]:<27} {_num(m['value'], unit):>11} {ci:>23} {m['n']:>7}  {m['tier'] or '-':<7} "
            f"{_detail(name, m)}"
        )
    comp = d["comparison"]
    if comp:
        pw = comp["previous_window"]
        lines += ["", f"Compared with [{pw['since']}, {pw['until']}):"]
        lines.append(f"{'metric':<27} {'previous':>11} {'n':>7} {'delta':>11} {'p':>9}  {'verdict':<10} test")
        for name in METRICS:
            c = comp[name]
            unit = d[name]["unit"]
            delta = "-" if c["delta"] is None else _num(c["delta"], unit)
            p = "-" if c["p_value"] is None else f"{c['p_value']:.3g}"
            verdict = c["direction"] if c["significant"] else "no signif."
            lines.append(
                f"{_LABELS[name]:<27} {_num(c['previous_value'], unit):>11} {c['previous_n']:>7} {delta:>11} "
                f"{p:>9}  {verdict:<10} {c['test']}"
            )
    q = d["data_quality"]
    counts = [f"{k.replace('_', ' ')} {v}" for k, v in q.items() if isinstance(v, int) and v]
    lines += ["", "Data quality: " + ("; ".join(counts) if counts else "no issues counted")]
    lines += [f"- {terminal(note)}" for note in q["notes"]]
    return "\n".join(lines)
