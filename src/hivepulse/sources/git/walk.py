"""Walks over the commit graph of :mod:`hivepulse.sources.git.graph`: who claims which commit
(:func:`assign_owners`), first-parent chains, generation numbers, and the one ``git merge-base`` question
the rollback rule asks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

import numpy as np

from hivepulse.sources.git.graph import CommitGraph


def is_ancestor(path: str, ancestor: bytes | str, descendant: bytes | str) -> bool:
    """``git merge-base --is-ancestor``: True when ``ancestor`` is reachable from ``descendant``."""
    a = ancestor.decode() if isinstance(ancestor, bytes) else ancestor
    d = descendant.decode() if isinstance(descendant, bytes) else descendant
    env = dict(os.environ, LC_ALL="C")
    proc = subprocess.run(
        ["git", "-C", path, "merge-base", "--is-ancestor", a, d], capture_output=True, env=env
    )
    return proc.returncode == 0


def first_parent_chain(graph: CommitGraph, tip: int) -> list[int]:
    """Indices of ``git rev-list --first-parent tip`` (newest first)."""
    ptr, idx, counts = graph.parent_ptr, graph.parent_idx, graph.n_parents
    chain: list[int] = []
    c = tip
    seen: set[int] = set()
    while c >= 0 and c not in seen:
        chain.append(c)
        seen.add(c)
        start, stop = int(ptr[c]), int(ptr[c + 1])
        # the first parent is the first stored one, unless it was missing (shallow cut)
        if stop > start and counts[c] > 0:
            c = int(idx[start])
        else:
            c = -1
    return chain


def assign_owners(graph: CommitGraph, starts: Sequence[int]) -> np.ndarray:
    """For one environment: ``owner[c]`` = position in ``starts`` of the earliest deployment reaching commit c.

    ``starts`` lists the deployed commit indices in deployment order (earliest first); -1 entries (failed
    attempts) claim nothing. A commit already claimed stops the walk, so each commit is visited once and a
    deployment gets exactly ``rev-list this ^earlier1 ^earlier2 ...``. Unreached commits keep -1.
    """
    n = len(graph)
    owner = [-1] * n
    ptr = graph.parent_ptr.tolist()
    idx = graph.parent_idx.tolist()
    for d, start in enumerate(starts):
        if start < 0 or owner[start] >= 0:
            continue
        stack = [start]
        pop, push = stack.pop, stack.extend
        while stack:
            c = pop()
            while owner[c] < 0:  # follow the first parent without touching the stack
                owner[c] = d
                a, b = ptr[c], ptr[c + 1]
                if a == b:
                    break
                if b - a > 1:
                    push(idx[a + 1 : b])
                c = idx[a]
    return np.asarray(owner, dtype=np.int64)


def generations(graph: CommitGraph) -> np.ndarray:
    """Generation number of every commit: 1 for a root, else 1 + the largest generation of its parents.

    A proper ancestor always has a smaller generation than its descendants, whatever the commit dates say, so
    it breaks ties between deployments that finished in the same second. One pass over the graph (Kahn's
    algorithm from the roots), O(commits + parent edges).
    """
    n = len(graph)
    if not n:
        return np.zeros(0, dtype=np.int64)
    ptr = graph.parent_ptr
    stored = np.diff(ptr)
    child_of_edge = np.repeat(np.arange(n, dtype=np.int64), stored)
    by_parent = np.argsort(graph.parent_idx, kind="stable")
    children = child_of_edge[by_parent].tolist()
    cptr = np.searchsorted(graph.parent_idx[by_parent], np.arange(n + 1)).tolist()
    waiting = stored.tolist()  # parents not yet numbered
    gen = [1] * n
    ready = [i for i in range(n) if waiting[i] == 0]
    pop, push = ready.pop, ready.append
    while ready:
        c = pop()
        g = gen[c] + 1
        for k in children[cptr[c] : cptr[c + 1]]:
            if gen[k] < g:
                gen[k] = g
            waiting[k] -= 1
            if not waiting[k]:
                push(k)
    return np.asarray(gen, dtype=np.int64)
