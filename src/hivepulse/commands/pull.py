"""``hivepulse pull``: GitHub and Argo CD into the event store (one transaction per pull).

- ``hivepulse pull [--project retro/project.yaml]``: every repository and application of the project file;
- ``hivepulse pull github OWNER/REPO [--deploy deployments|releases|workflow] ...`` (token from
  ``GITHUB_TOKEN`` or ``GH_TOKEN``);
- ``hivepulse pull argocd APP (--server URL | --from-file app.json)`` (token from ``ARGOCD_AUTH_TOKEN``).

Prints a summary (events new/updated/unchanged/removed, API calls, 304s, quota left); progress bars on stderr
unless ``--no-progress``. Rules: ``docs/pull.md``; flags: ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time

from hivepulse.errors import InputError
from hivepulse.project import (
    DEFAULT_PROJECT,
    ArgoApp,
    Project,
    RepositorySource,
    load_project,
    project_store,
    since_ns,
)
from hivepulse.pull.progress import Bars
from hivepulse.pull.run import PullOptions, PullSummary, pull
from hivepulse.sources.github.client import ClientOptions
from hivepulse.sources.github.readers import NoProgress, Progress, check_repository
from hivepulse.textsafe import terminal

MAX_WAIT_MINUTES = 24 * 60


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pull", help="pull GitHub and Argo CD into the event store",
        description="Pull the sources of a project file (default retro/project.yaml), or one GitHub repository "
        "(pull github) or Argo CD application (pull argocd), into the store (default data/store/hivepulse.db). "
        "Rules: docs/pull.md.")
    _common(parser, project=True)
    parser.set_defaults(func=run_project)
    actions = parser.add_subparsers(dest="source", metavar="SOURCE")

    gh = actions.add_parser("github", help="one GitHub repository",
                            description="Pull one repository's deployments (or releases or workflow runs), merged "
                            "pull requests and incident issues. Token: GITHUB_TOKEN or GH_TOKEN.")
    gh.add_argument("repository", metavar="OWNER/REPO")
    gh.add_argument("--api-url", default=None, help="API root (GitHub Enterprise: https://HOST/api/v3; default "
                    "https://api.github.com)")
    gh.add_argument("--deploy", choices=("deployments", "releases", "workflow"), default="deployments",
                    help="what counts as a deployment (default: deployments)")
    gh.add_argument("--workflow", metavar="FILE|ID", help="the deploy workflow (with --deploy workflow)")
    gh.add_argument("--branch", help="only runs on this branch; pull requests into it (default: the default branch)")
    gh.add_argument("--production-env", default="production", metavar="NAME",
                    help="the GitHub environment that is production (default: production)")
    gh.add_argument("--environment", action="append", default=[], metavar="NAME",
                    help="keep only these environments (repeatable; default: all that are not transient)")
    gh.add_argument("--include-prereleases", action="store_true", help="count pre-releases as deployments")
    gh.add_argument("--incident-label", default="incident", help="label of incident issues (default: incident)")
    gh.add_argument("--git", metavar="PATH", help="a local clone: change sets from it instead of the compare API")
    gh.add_argument("--since", metavar="DATE", help="ignore history before this date (UTC)")
    _common(gh, project=False)
    gh.set_defaults(func=run_github)

    ar = actions.add_parser("argocd", help="one Argo CD application",
                            description="Pull an application's sync history and current operation. Token: "
                            "ARGOCD_AUTH_TOKEN. Argo CD keeps only the last 10 history entries: schedule pulls.")
    ar.add_argument("app", metavar="APP")
    where = ar.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", metavar="URL", help="Argo CD API server, e.g. https://argocd.example.com")
    where.add_argument("--from-file", metavar="FILE", help="kubectl get application APP -o json output")
    ar.add_argument("--namespace", metavar="NS", help="the application's namespace (appNamespace)")
    ar.add_argument("--environment", default="production", help="environment it deploys to (default: production)")
    ar.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    _common(ar, project=False)
    ar.set_defaults(func=run_argocd)


def _common(parser: argparse.ArgumentParser, *, project: bool) -> None:
    """The flags shared by ``pull``, ``pull github`` and ``pull argocd``. On the subcommands their default is
    "not given", so ``hivepulse pull --store X github R`` and ``hivepulse pull github R --store X`` agree."""
    def d(value: object) -> object:
        return value if project else argparse.SUPPRESS

    g = parser.add_argument_group("store and connection")
    g.add_argument("--store", metavar="URL|PATH", default=d(None),
                   help="store path or postgresql:// URL (default: the project's, else data/store/hivepulse.db)")
    if project:
        g.add_argument("--project", metavar="FILE", default=None, help=f"project file (default: {DEFAULT_PROJECT})")
    g.add_argument("--max-wait", type=float, default=d(None), metavar="MINUTES",
                   help="longest rate-limit wait before failing with the time to retry (default: 15)")
    g.add_argument("--timeout", type=float, default=d(30.0), metavar="SECONDS", help="HTTP timeout (default: 30)")
    g.add_argument("--retries", type=int, default=d(5), metavar="N",
                   help="retries of 5xx answers and connection errors (default: 5)")
    g.add_argument("--no-progress", action="store_true", default=d(False), help="no progress bars")
    g.add_argument("--format", choices=("table", "json"), default=d("table"),
                   help="summary format (default: table)")
    g.add_argument("-v", "--verbose", action="store_true", default=d(False),
                   help="log every request (paths and status only)")


# ---------------------------------------------------------------------------------------------- runs


def _options(args: argparse.Namespace, api_url: str | None, project_wait_s: float | None = None,
             insecure: bool = False) -> PullOptions:
    if not 0 < args.timeout <= 600:
        raise InputError("invalid --timeout", value=args.timeout, expected="seconds, more than 0 and at most 600")
    if not 0 <= args.retries <= 20:
        raise InputError("invalid --retries", value=args.retries, expected="a whole number from 0 to 20")
    if args.max_wait is not None and not 0 <= args.max_wait <= MAX_WAIT_MINUTES:
        raise InputError("invalid --max-wait", value=args.max_wait, expected=f"minutes from 0 to {MAX_WAIT_MINUTES}")
    wait_s = args.max_wait * 60 if args.max_wait is not None else project_wait_s if project_wait_s is not None \
        else 900.0
    if api_url is not None and not re.match(r"^https?://[^\s/]+", api_url):
        raise InputError("invalid --api-url", value=api_url, expected="an http(s) URL, e.g. https://HOST/api/v3")
    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None
    client = ClientOptions(api_url=api_url or "https://api.github.com", token=token, timeout_s=args.timeout,
                           retries=args.retries, max_wait_s=wait_s)
    return PullOptions(github=client, argocd_token=os.environ.get("ARGOCD_AUTH_TOKEN") or None,
                       argocd_insecure=insecure or bool(getattr(args, "insecure", False)))


def _logging(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("hivepulse: %(message)s"))
    for name in ("hivepulse.github",):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
        logger.propagate = False


def _progress(args: argparse.Namespace) -> Progress:
    return NoProgress() if args.no_progress else Bars()


def _default_project_store(args: argparse.Namespace) -> str | None:
    """``--store``, else the store named by the default project file when it exists (so pull github/argocd
    and the project pull write to the same store)."""
    return args.store if args.store is not None else project_store()


def _run(args: argparse.Namespace, store: str | None, repos: list[RepositorySource], apps: list[ArgoApp],
         options: PullOptions, command: str) -> int:
    _logging(args)
    if options.github.token is None and repos:
        sys.stderr.write("hivepulse pull: note: no GITHUB_TOKEN or GH_TOKEN: unauthenticated requests "
                         "(60 an hour)\n")
    progress = _progress(args)
    try:
        summary = pull(store, repositories=repos, apps=apps, options=options, progress=progress, command=command)
    finally:
        if isinstance(progress, Bars):
            progress.close()
    _print(summary, args.format)
    return 0


def run_github(args: argparse.Namespace) -> int:
    check_repository(args.repository)
    if args.deploy == "workflow" and not args.workflow:
        raise InputError("--deploy workflow needs --workflow FILE|ID", expected="e.g. --workflow deploy.yml")
    cfg = RepositorySource(args.repository, args.deploy, args.production_env, tuple(args.environment),
                           args.workflow, args.branch, "production", args.include_prereleases, args.incident_label,
                           args.git, since_ns(args.since))
    return _run(args, _default_project_store(args), [cfg], [], _options(args, args.api_url),
                f"pull github {args.repository}")


def run_argocd(args: argparse.Namespace) -> int:
    app = ArgoApp(args.app, args.environment, args.namespace, None, args.from_file, args.server)
    if args.server and not args.server.startswith(("http://", "https://")):
        raise InputError("invalid --server", value=args.server, expected="an http(s) URL")
    return _run(args, _default_project_store(args), [], [app], _options(args, None), f"pull argocd {args.app}")


def run_project(args: argparse.Namespace) -> int:
    project: Project = load_project(args.project)
    if not project.repositories and not project.apps:
        raise InputError("the project file lists no repositories and no apps", file=project.path,
                         expected="repositories: and/or apps: entries")
    options = _options(args, project.api_url, project.max_wait_s, project.argocd_insecure)
    store = args.store if args.store is not None else project.store
    return _run(args, store, list(project.repositories), list(project.apps), options, "pull")


def _print(summary: PullSummary, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(summary.to_dict(), indent=2) + "\n")
        return
    c, s = summary.counts, summary.calls
    lines = [f"pulled {', '.join(summary.sources)} into {summary.store}",
             f"events: {c.new} new, {c.updated} updated, {c.unchanged} unchanged, {c.removed} removed",
             f"API calls: {s.calls} ({s.not_modified} answered 304 Not Modified, {s.retries} retried, "
             f"{s.rate_limit_waits} rate-limit waits)"]
    if s.quota_remaining is not None:
        reset = time.strftime("%H:%M UTC", time.gmtime(s.quota_reset)) if s.quota_reset else "?"
        lines.append(f"quota left: {s.quota_remaining:,} of {s.quota_limit or 0:,} (resets {reset})")
    if summary.skipped_items:
        lines.append(f"skipped {summary.skipped_items} item(s) with an unexpected shape, e.g. "
                     + "; ".join(summary.skipped_examples))
    lines += [f"note: {n}" for n in summary.notes]
    sys.stdout.write("\n".join(terminal(line) for line in lines) + "\n")
