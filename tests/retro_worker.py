"""A retro without a kernel, for the concurrency, kill and disk-full tests (tests/test_retro_workspace.py).

It runs what the notebook's cells run (``S.retro(...)``, then ``S.records(r)``'s commit: ``RetroResult.write``
with the rendered ``retro.html``) in a plain process, so a test can start several at once, SIGKILL one at a
random moment, or limit its file size, and still exercise the real commit path.

    python retro_worker.py SINCE UNTIL [--environment E] [--max-actions N,M] [--fsize BYTES] MODE
    python retro_worker.py replay MATERIAL WORKSPACE

- ``rounds``: reads one workspace path per line from stdin, commits there, prints ``done <path>``;
- ``loop WORKSPACE``: commits to WORKSPACE forever, alternating the results of each ``--max-actions``
  value (so records and ledger entries of consecutive commits differ), printing ``commit <n>``;
- ``once WORKSPACE``: one commit; exit status as ``hivepulse`` would give it (the error on one line).

Prints ``ready`` once the analysis is done (the slow part), before the first commit.

``replay`` skips the analysis: MATERIAL (JSON written by the test from real results: per result the record
name, its files and its ledger entry) is committed to WORKSPACE forever, alternating, with the same
``workspace.commit`` call ``RetroResult.write`` makes; it starts in a fraction of the time, so a test can kill
many of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def replay(material: str, workspace_dir: str) -> int:
    import json

    from hivepulse.retro import ledger as led
    from hivepulse.retro import workspace

    items = json.loads(Path(material).read_text(encoding="utf-8"))
    prepared = [(m["name"], {k: v.encode("utf-8") for k, v in m["files"].items()},
                 led.entry_from_json(m["name"], m["entry"])) for m in items]
    print("ready", flush=True)
    n = 0
    while True:
        name, files, entry = prepared[n % len(prepared)]
        workspace.commit(workspace_dir, name, files, lambda ledger, name=name, entry=entry: led.merged(ledger, name, entry))
        n += 1
        print(f"commit {n}", flush=True)


def main() -> int:
    if sys.argv[1] == "replay":
        return replay(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser()
    parser.add_argument("since")
    parser.add_argument("until")
    parser.add_argument("mode", choices=("rounds", "loop", "once"))
    parser.add_argument("workspace", nargs="?")
    parser.add_argument("--environment", default="production")
    parser.add_argument("--max-actions", default="3")
    parser.add_argument("--fsize", type=int, default=0)
    args = parser.parse_args()

    from hivepulse.errors import HivepulseError
    from hivepulse.report import html
    from hivepulse.retro.analysis import RetroParams, analyze
    from hivepulse.sources.files import read_events

    events = read_events(REPO / "data" / "sample")
    results = []
    for count in args.max_actions.split(","):
        params = RetroParams(since=args.since, until=args.until, environment=args.environment, findings="",
                             previous_iterations=1, max_actions=int(count), output_dir=str(args.workspace or "."),
                             allow_empty=True)
        result = analyze(params, events=events)
        results.append((result, {"retro.html": html.render_report(result)}))
    if args.fsize:  # a file size limit: writes past it fail with EFBIG (as a full disk fails with ENOSPC)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize, args.fsize))
    print("ready", flush=True)

    def commit(workspace: str, n: int) -> None:
        result, extra = results[n % len(results)]
        moved = dataclasses.replace(result, params=result.params.replaced(output_dir=workspace))
        moved.write(extra)

    if args.mode == "rounds":
        for line in sys.stdin:
            commit(line.strip(), 0)
            print(f"done {line.strip()}", flush=True)
        return 0
    if args.mode == "loop":
        n = 0
        while True:
            commit(args.workspace, n)
            n += 1
            print(f"commit {n}", flush=True)
    try:
        commit(args.workspace, 0)
    except HivepulseError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
