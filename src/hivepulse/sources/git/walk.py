"""Walks over the commit graph of :mod:`hivepulse.sources.git.graph`, all in memory (no git process per
question): who claims which commit (:func:`assign_owners`), first-parent chains, generation numbers, ancestry
bounded by generation numbers (:func:`reaches`, what ``git merge-base --is-ancestor`` answers), ``rev-list
A ^B`` for a few commits (:func:`only_reachable`), and imported history (:func:`imported_history`)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hivepulse.sources.git.graph import CommitGraph


def reaches(graph: CommitGraph, gen: np.ndarray, descendant: int, ancestor: int) -> bool:
    """True when ``ancestor`` is reachable from ``descendant`` (itself included), as ``git merge-base
    --is-ancestor ancestor descendant`` answers. The walk from ``descendant`` never goes below the ancestor's
    generation number (a proper ancestor always has a smaller one), so it visits only commits between them."""
    if descendant == ancestor:
        return True
    floor = int(gen[ancestor])
    if int(gen[descendant]) <= floor:
        return False
    ptr, idx = graph.parent_ptr, graph.parent_idx
    stack, seen = [descendant], {descendant}
    while stack:
        c = stack.pop()
        for p in idx[ptr[c] : ptr[c + 1]].tolist():
            if p == ancestor:
                return True
            if p not in seen and gen[p] > floor:
                seen.add(p)
                stack.append(p)
    return False


def only_reachable(graph: CommitGraph, gen: np.ndarray, include: Sequence[int], exclude: Sequence[int]) -> list[int]:
    """``git rev-list include... ^exclude...``: commits reachable from ``include`` and from none of ``exclude``.

    Commits are painted in decreasing generation order (every commit that can reach a commit has a larger
    generation, so its paint arrives first); the walk stops as soon as every queued commit is reachable from
    ``exclude``, so it visits about the commits between the two sides."""
    ptr, idx = graph.parent_ptr, graph.parent_idx
    paint: dict[int, int] = {}
    heap: list[tuple[int, int]] = []
    for c, colour in [(c, 1) for c in include] + [(c, 2) for c in exclude]:
        if c not in paint:
            heapq.heappush(heap, (-int(gen[c]), c))
        paint[c] = paint.get(c, 0) | colour
    live = sum(1 for v in paint.values() if v == 1)  # queued commits painted by ``include`` only
    out: list[int] = []
    while heap and live:
        _, c = heapq.heappop(heap)
        colour = paint[c]
        if colour == 1:
            live -= 1
            out.append(c)
        for p in idx[ptr[c] : ptr[c + 1]].tolist():
            old = paint.get(p, 0)
            new = old | colour
            if new == old:
                continue
            if old == 0:
                heapq.heappush(heap, (-int(gen[p]), p))
            elif old == 1:
                live -= 1  # queued as include-only, now reachable from exclude too
            paint[p] = new
            if new == 1:
                live += 1
    return out


@dataclass(frozen=True)
class Imported:
    """Imported history: ``mask`` marks commits whose first-parent line ends at a root that the project's own
    history reaches only through merges (``merges`` of them) whose other parent has that root."""

    mask: np.ndarray
    merges: int
    roots: int


def first_parent_roots(graph: CommitGraph) -> np.ndarray:
    """Per commit, the root commit its first-parent line ends at; -1 when the line ends at a missing parent
    (a shallow clone's cut): such lines are never imported. Pointer jumping, O(n log n) in numpy."""
    n = len(graph)
    ptr, counts = graph.parent_ptr, graph.n_parents
    stored = np.diff(ptr)
    whole = (stored == counts) & (stored > 0)
    fp = np.full(n, -1, dtype=np.int64)
    fp[whole] = graph.parent_idx[ptr[:-1][whole]]
    jump = np.where(fp >= 0, fp, np.arange(n))
    for _ in range(64):
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        jump = nxt
    return np.where(counts[jump] == 0, jump, -1)


def imported_history(graph: CommitGraph, protected: Sequence[int]) -> Imported:
    """Commits reached only through a merge whose other parent's first-parent line ends at another root
    (``git subtree add``, ``merge --allow-unrelated-histories``). ``protected``: commits whose own root is never
    imported (the deployed commits: the project's history is what it deploys)."""
    n = len(graph)
    empty = Imported(np.zeros(n, dtype=bool), 0, 0)
    if not n or int((graph.n_parents == 0).sum()) < 2:
        return empty
    label = first_parent_roots(graph)
    ptr, counts = graph.parent_ptr, graph.n_parents
    stored = np.diff(ptr)
    whole_merge = (counts >= 2) & (stored == counts)
    if not whole_merge.any():
        return empty
    owner_of_edge = np.repeat(np.arange(n), stored)
    later = np.ones(len(graph.parent_idx), dtype=bool)
    later[ptr[:-1][stored > 0]] = False  # the first parent of each commit
    keep = later & whole_merge[owner_of_edge]
    owner, other = owner_of_edge[keep], graph.parent_idx[keep].astype(np.int64)
    edge = (label[other] >= 0) & (label[owner] >= 0) & (label[other] != label[owner])
    targets = set(label[other[edge]].tolist()) - set(label[np.asarray(protected, dtype=np.int64)].tolist())
    if not targets:
        return empty
    mask = np.isin(label, np.fromiter(targets, dtype=np.int64, count=len(targets)))
    n_merges = int(len(np.unique(owner[edge & np.isin(label[other], list(targets))])))
    return Imported(mask, n_merges, len(targets))


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
    it breaks ties between deployments that finished in the same second. Chains of single-parent commits are
    collapsed first (pointer jumping in numpy: each commit's distance to the merge or root its chain starts
    from); Kahn's algorithm then numbers only the merges and roots, in Python. O(commits + parent edges).
    """
    n = len(graph)
    if not n:
        return np.zeros(0, dtype=np.int64)
    ptr, idx = graph.parent_ptr, graph.parent_idx
    stored = np.diff(ptr)
    single = stored == 1
    anchor = np.arange(n)
    anchor[single] = idx[ptr[:-1][single]]
    dist = single.astype(np.int64)
    for _ in range(64):  # anchor: the merge or root a chain of single-parent commits starts from
        nxt = anchor[anchor]
        if np.array_equal(nxt, anchor):
            break
        dist = dist + dist[anchor]
        anchor = nxt
    owner = np.repeat(np.arange(n), stored)
    of_merge = stored[owner] >= 2
    e_owner, e_parent = owner[of_merge], idx[of_merge]
    e_anchor, e_dist = anchor[e_parent], dist[e_parent]
    order = np.argsort(e_anchor, kind="stable")
    owners, dists = e_owner[order].tolist(), e_dist[order].tolist()
    cptr = np.searchsorted(e_anchor[order], np.arange(n + 1)).tolist()
    waiting = stored.tolist()
    gen = [1] * n
    ready = np.flatnonzero(stored == 0).tolist()
    pop, push = ready.pop, ready.append
    while ready:
        a = pop()
        base = gen[a] + 1
        for k in range(cptr[a], cptr[a + 1]):
            m = owners[k]
            g = base + dists[k]
            if gen[m] < g:
                gen[m] = g
            waiting[m] -= 1
            if not waiting[m]:
                push(m)
    return np.asarray(gen, dtype=np.int64)[anchor] + dist
