"""Fault injection: random 5xx answers, timeouts, dropped connections and SIGKILLs of the pulling process at
random moments (also inside the write transaction) end, after re-running, with exactly the events of a
fault-free pull: nothing lost, nothing duplicated. Embedded store and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from ghfake import PLANTED_TOKEN, FakeGitHub, generate_repo, h
from pgserver import postgres_server, postgres_url  # noqa: F401

from hivepulse.net import wait_until
from hivepulse.project import RepositorySource
from hivepulse.pull.run import PullOptions, pull
from hivepulse.sources.github.client import ClientOptions
from hivepulse.store import pr_stages, read_events

REPO = "hive-team/hivebox"
SEED = int(os.environ.get("HIVEPULSE_FAULT_SEED", "20261201"))

RUNNER = """
import sys, time, pathlib
from hivepulse.project import RepositorySource
from hivepulse.pull.run import PullOptions, pull
from hivepulse.sources.github.client import ClientOptions
store, url, token, marker = sys.argv[1:5]
def pause():  # inside the write transaction: every row is written, nothing committed yet
    pathlib.Path(marker).write_text("in transaction")
    time.sleep(120)
opts = PullOptions(github=ClientOptions(api_url=url, token=token, timeout_s=0.5, retries=10, backoff_base_s=0.02))
pull(store, repositories=[RepositorySource("hive-team/hivebox")], options=opts,
     before_commit=pause if marker != "-" else None)
"""


def snapshot(store: str) -> tuple:
    """The store's events (and pull-request stages), sorted, as comparable frames."""
    ev = read_events(store)
    frames = [ev.deployments.sort_values("deployment_id"), ev.changes.sort_values("change_id"),
              ev.incidents.sort_values("incident_id"),
              pr_stages(store).sort_values("pr_id")]
    return tuple(f.reset_index(drop=True) for f in frames)


def same(a: tuple, b: tuple) -> bool:
    try:
        for x, y in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(x, y)
    except AssertionError:
        return False
    return True


def options(gh: FakeGitHub) -> PullOptions:
    return PullOptions(github=ClientOptions(api_url=gh.url, token=PLANTED_TOKEN, timeout_s=0.5, retries=10,
                                            backoff_base_s=0.02))


def killed_run(store: str, gh: FakeGitHub, *, after_requests: int | None, marker: Path) -> None:
    """Run a pull in a child process and SIGKILL it after ``after_requests`` requests (None: inside the write
    transaction, once every row is written)."""
    marker.unlink(missing_ok=True)
    start = len(gh.requests)
    child = subprocess.Popen([sys.executable, "-c", RUNNER, store, gh.url, PLANTED_TOKEN,
                              str(marker) if after_requests is None else "-"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if after_requests is None:
            wait_until(lambda: marker.exists() or None, timeout_s=120, what="the pull's write transaction",
                       abort=lambda: None if child.poll() is None else f"exited {child.returncode}")
        else:
            wait_until(lambda: len(gh.requests) - start >= after_requests or None, timeout_s=120,
                       what=f"{after_requests} requests", abort=lambda: None if child.poll() is None else "exited")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_faults_and_kills_end_with_the_events_of_a_fault_free_pull(tmp_path, engine, request):
    rng = random.Random(SEED)
    if engine == "postgresql":
        server = request.getfixturevalue("postgres_server")
        ref, store = server.createdb(f"ref{os.getpid()}"), server.createdb(f"faulty{os.getpid()}")
    else:
        ref, store = str(tmp_path / "ref.db"), str(tmp_path / "faulty.db")
    repo = generate_repo(40, 16, seed=SEED, n_incidents=4, staging=True)
    with FakeGitHub(repo) as clean:
        pull(ref, repositories=[RepositorySource(REPO)], options=options(clean))
        first_total = len(clean.requests)
    reference_1 = snapshot(ref)
    assert len(reference_1[0]) > 16 and len(reference_1[1]) > 40

    with FakeGitHub(repo, random_faults=0.12, seed=SEED, slow_s=0.8) as gh:
        killed_run(store, gh, after_requests=rng.randrange(2, first_total), marker=tmp_path / "m")
        assert same(snapshot(store), tuple(f.iloc[0:0] for f in reference_1))  # as before the pull: empty
        killed_run(store, gh, after_requests=None, marker=tmp_path / "m")  # killed inside the transaction
        assert same(snapshot(store), tuple(f.iloc[0:0] for f in reference_1))
        pull(store, repositories=[RepositorySource(REPO)], options=options(gh))  # faults, but runs to the end
        assert same(snapshot(store), reference_1)
        assert gh.statuses().count(502) + gh.statuses().count(503) > 0

        # the history moves on: new pull requests and deployments, then more kills and a complete pull
        for i in range(6):
            repo.add_pr(f"Late change {i}", h(100 + i), h(100.5 + i), commits=[(f"fix: late {i}", h(99 + i))],
                        reviews=[((i + 1) % 3, h(100.2 + i), "approved")], person=i % 3)
            if i % 2:
                repo.deploy("production", h(101 + i), [("in_progress", 0), ("success", 0.1)])
        with FakeGitHub(repo) as clean:
            pull(ref, repositories=[RepositorySource(REPO)], options=options(clean))
        reference_2 = snapshot(ref)
        assert not same(reference_1, reference_2)
        killed_run(store, gh, after_requests=rng.randrange(1, 6), marker=tmp_path / "m")
        assert same(snapshot(store), reference_1)  # as before that pull
        killed_run(store, gh, after_requests=None, marker=tmp_path / "m")
        assert same(snapshot(store), reference_1)
        pull(store, repositories=[RepositorySource(REPO)], options=options(gh))
        assert same(snapshot(store), reference_2)
        pull(store, repositories=[RepositorySource(REPO)], options=options(gh))  # idempotent
        assert same(snapshot(store), reference_2)
