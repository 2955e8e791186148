"""Contraction hierarchy with PHAST sweeps: one-to-all fastest paths in a fraction of a Dijkstra's time.

A contraction hierarchy (Geisberger et al. 2008) removes the nodes of a
directed graph one at a time, least important first, and adds a shortcut
``u -> w`` of weight ``t(u, v) + t(v, w)`` wherever contracting ``v`` would
break the only fastest path ``u -> v -> w`` (no *witness* path avoiding ``v``
was found). Every fastest path then has an *up-down* form: edges that climb
the node order, then edges that descend it. PHAST (Delling et al. 2011)
computes one source's times to every node from that: a Dijkstra over the
upward edges from the source (a few hundred nodes), then one linear sweep of
all nodes in descending order, each taking the best of its incoming downward
edges. Times to one target from every node are the same on the reversed
graph, using the same hierarchy.

The length (metres) of each fastest path is carried with its time: a
shortcut holds the metres of the two edges it replaces, and both phases add
the metres of the edge that improves a time. The times are those of
Dijkstra up to floating-point summation order; where two different paths are
equally fast the lengths may belong to either (``tests/geo/test_contraction.py``
compares both with Dijkstra on the Almaty drive graph).

Witness searches stop after :data:`WITNESS_SETTLED` nodes: a witness not found
only adds a shortcut that was not needed (never a wrong time).

Units: whatever the edge weights are (the API uses seconds and metres).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.sparse import csr_matrix

WITNESS_SETTLED: int = 60  # nodes a witness search may settle; 20 to 400 change the Almaty drive hierarchy by < 3 % of its shortcuts


# ------------------------------------------------------------------ heap
@njit(cache=True, nogil=True)
def heap_push(keys: np.ndarray, items: np.ndarray, size: int, key: float, item: int) -> int:  # pragma: no cover - compiled
    """Push onto a binary min-heap held in ``keys``/``items``; returns the new size."""
    i = size
    while i > 0 and keys[(i - 1) // 2] > key:
        keys[i], items[i] = keys[(i - 1) // 2], items[(i - 1) // 2]
        i = (i - 1) // 2
    keys[i], items[i] = key, item
    return size + 1


@njit(cache=True, nogil=True)
def heap_pop(keys: np.ndarray, items: np.ndarray, size: int) -> tuple[float, int, int]:  # pragma: no cover - compiled
    """Pop the minimum of a binary min-heap; returns (key, item, new size)."""
    key, item = keys[0], items[0]
    size -= 1
    last_key, last_item, i = keys[size], items[size], 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_key:
            break
        keys[i], items[i] = keys[child], items[child]
        i = child
    keys[i], items[i] = last_key, last_item
    return key, item, size


# ----------------------------------------------------------- contraction
@njit(cache=True, nogil=True)
def _shortcuts(v: int, out_first: np.ndarray, out_next: np.ndarray, in_first: np.ndarray, in_next: np.ndarray,
               et: np.ndarray, eh: np.ndarray, ew: np.ndarray, el: np.ndarray, contracted: np.ndarray,
               dist: np.ndarray, touched: np.ndarray, heap_keys: np.ndarray, heap_items: np.ndarray,
               witness_settled: int) -> tuple:  # pragma: no cover - compiled
    """The shortcuts contracting ``v`` needs and the live edges it removes: (u, w, weight, metres, removed)."""
    degree_in, degree_out = 0, 0
    e = in_first[v]
    while e != -1:
        degree_in += not contracted[et[e]]
        e = in_next[e]
    e = out_first[v]
    while e != -1:
        degree_out += not contracted[eh[e]]
        e = out_next[e]
    su, sw = np.empty(degree_in * degree_out, np.int64), np.empty(degree_in * degree_out, np.int64)
    st, sl = np.empty(degree_in * degree_out), np.empty(degree_in * degree_out)
    count = 0
    e1 = in_first[v]
    while e1 != -1:
        u = et[e1]
        if contracted[u]:
            e1 = in_next[e1]
            continue
        max_via = -1.0
        e2 = out_first[v]
        while e2 != -1:
            if not contracted[eh[e2]] and eh[e2] != u:
                max_via = max(max_via, ew[e1] + ew[e2])
            e2 = out_next[e2]
        if max_via >= 0.0:  # a witness search from u in the remaining graph without v, up to max_via
            n_touched, size, settled = 1, 1, 0
            dist[u], touched[0], heap_keys[0], heap_items[0] = 0.0, u, 0.0, u
            while size > 0 and settled < witness_settled:
                key, x, size = heap_pop(heap_keys, heap_items, size)
                if key > dist[x]:
                    continue
                if key > max_via:
                    break
                settled += 1
                e3 = out_first[x]
                while e3 != -1:
                    y = eh[e3]
                    arrival = key + ew[e3]
                    if y != v and not contracted[y] and arrival < dist[y]:
                        if dist[y] == np.inf:
                            touched[n_touched] = y
                            n_touched += 1
                        dist[y] = arrival
                        size = heap_push(heap_keys, heap_items, size, arrival, y)
                    e3 = out_next[e3]
            e2 = out_first[v]
            while e2 != -1:
                w = eh[e2]
                if not contracted[w] and w != u and dist[w] > ew[e1] + ew[e2]:
                    su[count], sw[count], st[count], sl[count] = u, w, ew[e1] + ew[e2], el[e1] + el[e2]
                    count += 1
                e2 = out_next[e2]
            for k in range(n_touched):
                dist[touched[k]] = np.inf
        e1 = in_next[e1]
    return su[:count], sw[:count], st[:count], sl[:count], degree_in + degree_out


@njit(cache=True)
def _grow(array: np.ndarray, size: int) -> np.ndarray:  # pragma: no cover - compiled
    bigger = np.empty(size, dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


@njit(cache=True)
def _contract(n: int, tail: np.ndarray, head: np.ndarray, weight: np.ndarray, metres: np.ndarray,
              witness_settled: int) -> tuple:  # pragma: no cover - compiled
    """Contract every node, least important first (edge difference plus contracted neighbours, updated lazily).

    Returns the rank of each node (0: contracted first) and the tails, heads,
    weights and metres of the original edges (self-loops dropped) and the shortcuts.
    """
    capacity = 4 * len(tail) + 16
    et, eh = np.empty(capacity, np.int64), np.empty(capacity, np.int64)
    ew, el = np.empty(capacity), np.empty(capacity)
    out_next, in_next = np.empty(capacity, np.int64), np.empty(capacity, np.int64)
    out_first, in_first = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    count = 0
    for e in range(len(tail)):
        if tail[e] != head[e]:
            et[count], eh[count], ew[count], el[count] = tail[e], head[e], weight[e], metres[e]
            out_next[count], out_first[tail[e]] = out_first[tail[e]], count
            in_next[count], in_first[head[e]] = in_first[head[e]], count
            count += 1
    contracted = np.zeros(n, np.bool_)
    deleted_neighbours = np.zeros(n, np.int64)
    rank = np.full(n, -1, np.int64)
    dist, touched = np.full(n, np.inf), np.empty(n, np.int64)
    heap_keys, heap_items = np.empty(capacity), np.empty(capacity, np.int64)
    priority = np.empty(n)
    queue_keys, queue_items = np.empty(4 * n), np.empty(4 * n, np.int64)
    queue_size = 0
    for v in range(n):
        su, _, _, _, removed = _shortcuts(v, out_first, out_next, in_first, in_next, et, eh, ew, el, contracted, dist,
                                          touched, heap_keys, heap_items, witness_settled)
        priority[v] = len(su) - removed
        queue_size = heap_push(queue_keys, queue_items, queue_size, priority[v], v)
    order = 0
    while queue_size > 0:
        key, v, queue_size = heap_pop(queue_keys, queue_items, queue_size)
        if contracted[v] or key != priority[v]:
            continue  # a stale entry
        su, sw, st, sl, removed = _shortcuts(v, out_first, out_next, in_first, in_next, et, eh, ew, el, contracted, dist,
                                             touched, heap_keys, heap_items, witness_settled)
        current = float(len(su) - removed + deleted_neighbours[v])
        if queue_size > 0 and current > queue_keys[0]:
            priority[v] = current  # no longer the least important: back into the queue
            queue_size = heap_push(queue_keys, queue_items, queue_size, current, v)
            continue
        if count + len(su) > capacity:
            capacity = 2 * (count + len(su))
            et, eh, ew, el = _grow(et, capacity), _grow(eh, capacity), _grow(ew, capacity), _grow(el, capacity)
            out_next, in_next = _grow(out_next, capacity), _grow(in_next, capacity)
            heap_keys, heap_items = _grow(heap_keys, capacity), _grow(heap_items, capacity)
        for s in range(len(su)):
            u, w = su[s], sw[s]
            e = out_first[u]
            while e != -1 and eh[e] != w:
                e = out_next[e]
            if e != -1:  # the edge exists: keep the faster
                if st[s] < ew[e]:
                    ew[e], el[e] = st[s], sl[s]
                continue
            et[count], eh[count], ew[count], el[count] = u, w, st[s], sl[s]
            out_next[count], out_first[u] = out_first[u], count
            in_next[count], in_first[w] = in_first[w], count
            count += 1
        contracted[v], rank[v] = True, order
        order += 1
        for side in range(2):
            e = out_first[v] if side == 0 else in_first[v]
            while e != -1:
                x = eh[e] if side == 0 else et[e]
                if not contracted[x]:
                    deleted_neighbours[x] += 1
                    priority[x] += 1.0  # cheap; the exact priority is computed when x comes up
                    if queue_size == len(queue_keys):
                        queue_keys, queue_items = _grow(queue_keys, 2 * queue_size), _grow(queue_items, 2 * queue_size)
                    queue_size = heap_push(queue_keys, queue_items, queue_size, priority[x], x)
                e = out_next[e] if side == 0 else in_next[e]
    return rank, et[:count].copy(), eh[:count].copy(), ew[:count].copy(), el[:count].copy()


# ------------------------------------------------------------------ PHAST
@njit(cache=True, nogil=True)
def _phast(search_indptr: np.ndarray, search_to: np.ndarray, search_weight: np.ndarray, search_metres: np.ndarray,
           sweep_indptr: np.ndarray, sweep_from: np.ndarray, sweep_weight: np.ndarray, sweep_metres: np.ndarray,
           sources: np.ndarray, position_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Times and metres from each source (by node) to every node (by node), in hierarchy positions inside.

    Positions run from the highest rank (0) down. ``search``: each position's
    edges to higher-ranked positions (the upward Dijkstra); ``sweep``: each
    position's edges from higher-ranked positions (the downward sweep, one
    for all sources: each edge is read once).
    """
    n, k = len(search_indptr) - 1, len(sources)
    t, d = np.full((n, k), np.inf), np.full((n, k), np.inf)
    heap_keys, heap_items = np.empty(len(search_to) + 1), np.empty(len(search_to) + 1, np.int64)
    for s in range(k):  # upward Dijkstra from each source
        start = position_of[sources[s]]
        t[start, s], d[start, s] = 0.0, 0.0
        heap_keys[0], heap_items[0], size = 0.0, start, 1
        while size > 0:
            key, p, size = heap_pop(heap_keys, heap_items, size)
            if key > t[p, s]:
                continue
            for e in range(search_indptr[p], search_indptr[p + 1]):
                q = search_to[e]
                arrival = key + search_weight[e]
                if arrival < t[q, s]:
                    t[q, s], d[q, s] = arrival, d[p, s] + search_metres[e]
                    size = heap_push(heap_keys, heap_items, size, arrival, q)
    for p in range(n):  # downward sweep: every higher-ranked position is final already
        for e in range(sweep_indptr[p], sweep_indptr[p + 1]):
            q, weight, metres = sweep_from[e], sweep_weight[e], sweep_metres[e]
            for s in range(k):
                arrival = t[q, s] + weight
                if arrival < t[p, s]:
                    t[p, s], d[p, s] = arrival, d[q, s] + metres
    times, lengths = np.empty((k, n)), np.empty((k, n))
    for v in range(n):
        p = position_of[v]
        for s in range(k):
            times[s, v], lengths[s, v] = t[p, s], d[p, s]
    return times, lengths


def _csr(rows: np.ndarray, cols: np.ndarray, weight: np.ndarray, metres: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """(indptr, cols, weight, metres) grouped by ``rows``, each group sorted by ``cols``."""
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, cols[order].astype(np.int64), weight[order].astype(np.float64), metres[order].astype(np.float64)


@dataclass(frozen=True)
class Hierarchy:
    """A contraction hierarchy in position space (position 0: the highest-ranked node).

    Attributes
    ----------
    position_of
        Each node's position.
    up
        (indptr, heads, weight, metres) by tail position: edges to higher-ranked positions.
    down
        (indptr, tails, weight, metres) by head position: edges from higher-ranked positions.
    shortcuts
        Shortcuts added by the contraction.
    """

    position_of: np.ndarray
    up: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    down: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    shortcuts: int

    def from_sources(self, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fastest times and their paths' metres from each of ``sources`` to every node; arrays (k, n)."""
        return _phast(*self.up, *self.down, np.asarray(sources, dtype=np.int64), self.position_of)

    def to_targets(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fastest times and their paths' metres from every node to each of ``targets``; arrays (k, n)."""
        return _phast(*self.down, *self.up, np.asarray(targets, dtype=np.int64), self.position_of)


def build_hierarchy(times: csr_matrix, metres: np.ndarray, witness_settled: int = WITNESS_SETTLED) -> Hierarchy:
    """Contract the graph of ``times`` (CSR, ``times[i, j]``: weight of edge i -> j).

    Parameters
    ----------
    times
        Edge weights (seconds); parallel edges already reduced to the fastest.
    metres
        Length of each stored edge of ``times``, in its data order.
    witness_settled
        Nodes a witness search may settle.
    """
    n = times.shape[0]
    tail = np.repeat(np.arange(n, dtype=np.int64), np.diff(times.indptr))
    rank, et, eh, ew, el = _contract(n, tail, times.indices.astype(np.int64), times.data.astype(np.float64),
                                     np.asarray(metres, dtype=np.float64), witness_settled)
    position_of = (n - 1 - rank).astype(np.int64)
    pt, ph = position_of[et], position_of[eh]
    upward = ph < pt  # towards a higher rank
    return Hierarchy(position_of, _csr(pt[upward], ph[upward], ew[upward], el[upward], n),
                     _csr(ph[~upward], pt[~upward], ew[~upward], el[~upward], n), int(len(et) - (tail != times.indices).sum()))
