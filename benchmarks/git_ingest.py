"""Benchmark of the git source: hivepulse's full ingest beside ``git log`` on a git-sized history.

Usage::

    .venv/bin/python benchmarks/git_ingest.py [--repo PATH ...] [--no-generated] [--cache DIR] [--commits 80000]
                                              [--runs 5]

It measures a generated repository and, with ``--repo`` (repeatable), real clones besides it (issue 11: git's own
history, cloned with its tags). The generated one is made once (cached under ``--cache``, default ``hivepulse-bench``
in the system temp directory):
a repository shaped like git's own history with ``git fast-import``: a mainline fed by topic branches merged
with ``--no-ff`` merge commits (about 1 commit in 4 is a merge), maintenance branches with patch releases
merged back, about 1,000 tags (annotated releases ``vX.Y.0``, annotated and lightweight ``-rc`` tags,
maintenance ``vX.Y.Z`` tags), commit messages of git-like length (subject, a body of several lines,
trailers), varied time-zone offsets, and about 150 revert commits ("This reverts commit <sha>").

Then it times, per repository, in the same run and interleaved (the machine is shared: every round runs the three
one after the other, and the medians of ``--runs`` rounds are reported with the load average before and after):

- ``git log --format=%H%x00%P%x00%ct HEAD`` (output read to the end through a pipe): the reference;
- hivepulse's ``read_git(path)`` (default options), run in a fresh Python subprocess that reports the time of
  the call itself;
- the whole process ``python -m hivepulse events export --git PATH --out DIR`` (interpreter start, imports,
  ingest, validated CSV files written): its wall time and peak resident set size (``os.wait4``).

Targets (issues 3 and 11): the whole export at most 2x the ``git log`` time (goal 1.5x), peak memory < 1 GiB.
Record figures in docs/performance.md, section "Git ingest".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

GENERATOR_VERSION = 1
WORDS = (
    "refs parse object pack index commit tree blob merge rebase diff log config remote fetch push "
    "submodule worktree sparse checkout reset stash bisect grep revision walk graph bitmap midx "
    "reftable hook credential transport protocol shallow partial clone filter trailer mailmap "
    "date format pretty color pager signature gpg ssh http curl cache lock tempfile strbuf oidmap"
).split()
NAMES = ["Ada Coder", "Bo Reviewer", "Cy Maintainer", "Di Contributor", "Ed Porter"]
OFFSETS = ["+0000", "+0100", "+0200", "-0700", "-0800", "+0530", "+0900", "-0400", "+1000"]


def _message(rng: random.Random, subject: str) -> bytes:
    """A git-like commit message: subject, 2-5 wrapped paragraphs, trailers (about 600 bytes)."""
    paras = []
    for _ in range(rng.randint(1, 4)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(15, 45))]
        lines, line = [], ""
        for w in words:
            if len(line) + len(w) > 70:
                lines.append(line)
                line = ""
            line = f"{line} {w}".strip()
        lines.append(line)
        paras.append("\n".join(lines))
    trailer = f"Signed-off-by: {rng.choice(NAMES)} <dev@example.invalid>"
    return (subject + "\n\n" + "\n\n".join(paras) + "\n\n" + trailer + "\n").encode()


class _Stream:
    """Writes a fast-import stream to a file with marks; one commit at a time."""

    def __init__(self, fh, rng: random.Random) -> None:
        self.fh = fh
        self.rng = rng
        self.mark = 0
        self.t = 1_100_000_000  # 2004-11-09
        self.file_no = 0

    def commit(self, ref: str, subject: str, parents: list[int | str], *, message: bytes | None = None,
               dt: int | None = None) -> int:  # fmt: skip
        rng = self.rng
        self.mark += 1
        self.t += dt if dt is not None else rng.randint(600, 5400)
        msg = message if message is not None else _message(rng, subject)
        who = rng.choice(NAMES)
        tz = rng.choice(OFFSETS)
        w = self.fh.write
        w(f"commit {ref}\nmark :{self.mark}\n".encode())
        w(f"author {who} <dev@example.invalid> {self.t - rng.randint(0, 86400)} {tz}\n".encode())
        w(f"committer {who} <dev@example.invalid> {self.t} {tz}\n".encode())
        w(b"data %d\n" % len(msg) + msg)
        for k, p in enumerate(parents):
            ref_p = f":{p}" if isinstance(p, int) else p
            w(f"{'from' if k == 0 else 'merge'} {ref_p}\n".encode())
        self.file_no += 1
        body = f"{self.mark}\n".encode()
        w(
            f"M 644 inline d{self.file_no % 23}/f{self.file_no % 397}.c\n".encode()
            + b"data %d\n" % len(body)
            + body
        )
        w(b"\n")
        return self.mark

    def tag(self, name: str, mark: int, *, annotated: bool) -> None:
        if annotated:
            msg = f"Git-like {name}\n".encode()
            self.t += 60
            tz = self.rng.choice(OFFSETS)
            self.fh.write(
                f"tag {name}\nfrom :{mark}\ntagger Rel Eng <rel@example.invalid> {self.t} {tz}\n".encode()
            )
            self.fh.write(b"data %d\n" % len(msg) + msg + b"\n")
        else:
            self.fh.write(f"reset refs/tags/{name}\nfrom :{mark}\n\n".encode())


def generate(path: Path, commits: int, seed: int = 1) -> dict:
    """Create the repository at ``path`` (fast-import in chunks so reverts can name real SHAs)."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    marks = path / "marks"
    chunks = 8
    per_chunk = commits // chunks
    stats = {"commits": 0, "merges": 0, "tags": 0, "annotated": 0, "reverts": 0}
    main_tip: int | str | None = None
    maint: dict[str, int | str] = {}
    release = [1, 0]  # major, minor
    known: list[int] = []  # marks of ordinary mainline commits (revert candidates)
    sha_of: dict[int, str] = {}
    state = (0, 1_100_000_000, 0)  # (last mark, clock, file counter) carried from chunk to chunk
    bar = tqdm(total=commits, unit="commit", desc="generating", leave=False)
    for chunk in range(chunks):
        with tempfile.TemporaryFile() as fh:
            s = _Stream(fh, rng)
            s.mark, s.t, s.file_no = state
            start_mark = s.mark
            since_release = 0
            while s.mark - start_mark < per_chunk:
                r = rng.random()
                if r < 0.55:  # a topic branch of 1-6 commits merged with --no-ff
                    tip = main_tip
                    topic = f"refs/heads/topic-{s.mark}"
                    for _ in range(rng.randint(1, 6)):
                        tip = s.commit(topic, f"{rng.choice(WORDS)}: {rng.choice(WORDS)} the {rng.choice(WORDS)}",
                                       [tip] if tip is not None else [])  # fmt: skip
                    if main_tip is None:
                        main_tip = tip
                    else:
                        main_tip = s.commit("refs/heads/main", f"Merge branch 'topic-{s.mark}'", [main_tip, tip],
                                            dt=rng.randint(60, 3600))  # fmt: skip
                        stats["merges"] += 1
                    s.fh.write(f"reset {topic}\nfrom 0000000000000000000000000000000000000000\n\n".encode())
                elif r < 0.5515 and known and sha_of:  # a revert of an earlier (already imported) commit
                    target = rng.choice([m for m in known[-2000:] if m in sha_of] or [0])
                    if target:
                        body = f'Revert "something"\n\nThis reverts commit {sha_of[target]}.\n'.encode()
                        main_tip = s.commit("refs/heads/main", "", [main_tip], message=body)
                        stats["reverts"] += 1
                else:
                    main_tip = s.commit("refs/heads/main", f"{rng.choice(WORDS)}: {rng.choice(WORDS)} fix",
                                        [main_tip] if main_tip is not None else [])  # fmt: skip
                    known.append(main_tip)
                since_release += 1
                if since_release >= 90 and isinstance(
                    main_tip, int
                ):  # a release every 90 steps (~200 commits)
                    since_release = 0
                    for rc in range(rng.randint(0, 2)):
                        s.tag(f"v{release[0]}.{release[1]}.0-rc{rc}", main_tip, annotated=rc % 2 == 0)
                        stats["tags"] += 1
                    s.tag(f"v{release[0]}.{release[1]}.0", main_tip, annotated=True)
                    stats["tags"] += 1
                    stats["annotated"] += 1
                    name = f"maint-{release[0]}.{release[1]}"
                    mtip: int | str = main_tip
                    for patch in range(1, rng.randint(1, 3) + 1):  # patch releases on the maintenance branch
                        for _ in range(rng.randint(1, 3)):
                            mtip = s.commit(
                                f"refs/heads/{name}", f"fix: {rng.choice(WORDS)} in maint", [mtip]
                            )
                        s.tag(f"v{release[0]}.{release[1]}.{patch}", mtip, annotated=patch % 2 == 1)
                        stats["tags"] += 1
                        stats["annotated"] += patch % 2
                    maint[name] = mtip
                    if rng.random() < 0.5:  # merge maint back into main
                        main_tip = s.commit("refs/heads/main", f"Merge branch '{name}'", [main_tip, mtip])
                        stats["merges"] += 1
                    release[1] += 1
                    if release[1] > 25:
                        release = [release[0] + 1, 0]
            fh.write(b"done\n")
            state = (s.mark, s.t, s.file_no)
            fh.seek(0)
            args = ["git", "-C", str(path), "fast-import", "--quiet", "--done", f"--export-marks={marks}"]
            if chunk:
                args.append(f"--import-marks={marks}")
            subprocess.run(args, stdin=fh, check=True)
        for line in marks.read_text().splitlines():
            m, sha = line.split()
            sha_of[int(m[1:])] = sha
        bar.update(s.mark - start_mark)
    bar.close()
    stats["commits"] = len(sha_of)
    (path / "hivepulse-bench.json").write_text(json.dumps(stats))
    return stats


def _time_git_log(path: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(["git", "-C", path, "log", "--format=%H%x00%P%x00%ct", "HEAD"],
                          stdout=subprocess.PIPE, check=True)  # fmt: skip
    elapsed = time.perf_counter() - t0
    assert proc.stdout
    return elapsed


CHILD = """
import json, sys, time
from hivepulse.sources.git import read_git
t0 = time.perf_counter()
ev = read_git(sys.argv[1])
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "deployments": len(ev.deployments), "changes": len(ev.changes),
                  "deployed": int(ev.changes["deployment_id"].notna().sum()), "incidents": len(ev.incidents),
                  "unplanned": int((ev.deployments["kind"] == "unplanned").sum()),
                  "rollbacks": int(ev.deployments["rollback_of"].notna().sum()), "notes": ev.notes}))
"""


def _wait(proc: subprocess.Popen[bytes]) -> tuple[bytes, float, int]:
    """(stdout, wall seconds since the process started, peak RSS bytes) of a finished child."""
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{proc.args!r} failed with status {proc.returncode}")
    return out, usage.ru_maxrss * 1024


def _time_ingest(path: str) -> tuple[dict, float, int]:
    """(child report, wall seconds of the whole subprocess, peak RSS bytes) of ``read_git`` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE)
    out, rss = _wait(proc)
    return json.loads(out), time.perf_counter() - t0, rss


def _time_export(path: str, out_dir: str) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of the whole ``hivepulse events export --git`` process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hivepulse", "events", "export", "--git", path, "--out", out_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    _, rss = _wait(proc)
    return time.perf_counter() - t0, rss


def verify(repo: str, samples: int, seed: int = 0) -> tuple[int, int]:
    """Check ``samples`` random deployments: hivepulse's changes == ``git rev-list --no-merges D --not E...``
    (E = every earlier deployment of the environment). Returns (checked, mismatches)."""
    from hivepulse.sources.git import read_git

    ev = read_git(repo)
    deps = ev.deployments.sort_values(["finished_at", "deployment_id"], kind="mergesort").reset_index(
        drop=True
    )
    shipped = (
        ev.changes.dropna(subset=["deployment_id"]).groupby("deployment_id")["change_id"].agg(set).to_dict()
    )
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(len(deps)), min(samples, len(deps))))
    bad = 0
    for i in tqdm(picked, desc="verifying", leave=False):
        d = deps.loc[i]
        same_env = deps.loc[: i - 1]
        earlier = same_env.loc[same_env["environment"] == d["environment"], "commit_sha"].tolist()
        expected = subprocess.run(["git", "-C", repo, "rev-list", "--no-merges", d["commit_sha"], "--not", *earlier],
                                  capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
        bad += set(expected) != shipped.get(d["deployment_id"], set())
    return len(picked), bad


def measure(repo: str, runs: int, info: dict, *, commit_graph: bool, samples: int) -> dict:
    """One repository: interleaved rounds of git log, read_git and the whole export; medians and ratios."""
    n_all = subprocess.run(["git", "-C", repo, "rev-list", "--all", "--count"], capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    n_tags = len(
        subprocess.run(["git", "-C", repo, "tag"], capture_output=True, text=True, check=True).stdout.split()
    )
    load_before = os.getloadavg()[0]
    _time_git_log(repo)  # warm the page cache
    git_times: list[float] = []
    ingest_times: list[float] = []
    walls: list[float] = []
    exports: list[float] = []
    rss: list[int] = []
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="hivepulse-export-") as tmp:
        for k in tqdm(range(runs), desc=f"timing {Path(repo).name}", leave=False):
            git_times.append(_time_git_log(repo))
            report, wall, peak = _time_ingest(repo)
            ingest_times.append(report["seconds"])
            walls.append(wall)
            seconds, peak_export = _time_export(repo, str(Path(tmp) / f"out{k}"))
            exports.append(seconds)
            rss += [peak, peak_export]
    g, i = statistics.median(git_times), statistics.median(ingest_times)
    e = statistics.median(exports)
    result = {
        "repository": repo,
        "commits": int(n_all),
        "tags": n_tags,
        "generator": info,
        "commit_graph": commit_graph,
        "git_log_seconds": round(g, 3),
        "read_git_seconds": round(i, 3),
        "read_git_ratio": round(i / g, 2),
        "export_process_seconds": round(e, 3),
        "export_ratio": round(e / g, 2),
        "ratio_per_round": [round(x / y, 2) for x, y in zip(exports, git_times, strict=True)],
        "read_git_process_wall_seconds": round(statistics.median(walls), 3),
        "peak_rss_mib": round(max(rss) / 2**20, 1),
        "runs": runs,
        "git_log_runs": [round(x, 3) for x in git_times],
        "read_git_runs": [round(x, 3) for x in ingest_times],
        "export_runs": [round(x, 3) for x in exports],
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "events": {k: v for k, v in report.items() if k not in ("seconds", "notes")},
        "notes": report.get("notes", []),
    }
    if samples:
        checked, bad = verify(repo, samples)
        result["verified_against_rev_list"] = f"{checked - bad} of {checked} deployments identical"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", action="append", default=[],
                        help="a real clone to measure besides the generated one (repeatable)")  # fmt: skip
    parser.add_argument("--no-generated", action="store_true", help="measure only the --repo clones")
    parser.add_argument(
        "--cache", default=str(Path(tempfile.gettempdir()) / "hivepulse-bench"), help="where generated repositories are kept"
    )
    parser.add_argument("--commits", type=int, default=80_000, help="commits to generate (default 80000)")
    parser.add_argument("--runs", type=int, default=5, help="interleaved rounds; medians are reported (default 5)")
    parser.add_argument("--commit-graph", action="store_true",
                        help="write a commit-graph file first (as 'git gc' does on a real clone)")  # fmt: skip
    parser.add_argument("--verify", type=int, default=20, metavar="N",
                        help="check N random deployments against git rev-list (default 20; 0 = skip)")  # fmt: skip
    args = parser.parse_args(argv)

    targets: list[tuple[Path, dict]] = []
    if not args.no_generated:
        path = Path(args.cache) / f"git-like-{args.commits}-v{GENERATOR_VERSION}.git"
        if not (path / "hivepulse-bench.json").exists():
            if path.exists():
                subprocess.run(["rm", "-rf", str(path)], check=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            generate(path, args.commits)
            print(f"generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        targets.append((path, json.loads((path / "hivepulse-bench.json").read_text())))
    targets += [(Path(r), {}) for r in args.repo]
    if not targets:
        parser.error("nothing to measure: give --repo or drop --no-generated")
    results = []
    for path, info in targets:
        if args.commit_graph:
            subprocess.run(["git", "-C", str(path), "commit-graph", "write", "--reachable"], check=True)
        results.append(measure(str(path), args.runs, info, commit_graph=args.commit_graph, samples=args.verify))
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               + subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip())  # fmt: skip
    print(json.dumps({"machine": machine, "results": results}, indent=2))
    ok = all(r["export_ratio"] <= 2 and r["peak_rss_mib"] < 1024 for r in results)
    print(f"target (whole export <= 2x git log, < 1 GiB): {'met' if ok else 'NOT met'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
