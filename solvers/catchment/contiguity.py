"""Contiguity data of the catchment model: the school's unit, neighbour pairs, closer-neighbour support.

Everything here works on the sparse pair set (unit ``u`` may join school ``s`` only through a
pair ``p = (u, s)``) and the undirected unit adjacency graph, with plain numpy arrays.

Definitions
-----------
* **The school's unit** ``own[s]``: among the units with a pair to ``s``, the one whose
  representative point is nearest the school's point (straight line; ties by unit order). It is
  the unit that contains the school or lies next to it, and the root of the school's catchment.
* **Neighbour pairs** ``(p, q)``: directed pairs of pairs of the same school whose units are
  adjacent. A catchment is connected on the adjacency graph iff it is connected on these.
* **Closer-neighbour support** of ``p = (u, s)``: the neighbour pairs ``q = (v, s)`` with
  ``cost[q] < cost[p]`` (strictly nearer to ``s`` by the pair cost). The rule
  "``u`` may join ``s`` only if a supporting neighbour also joins ``s``" makes every catchment
  connected to its nearest units; chains of support end at exempt pairs.
* **Exempt pairs** need no support: the school's unit, locked units, and (with a warning) units
  none of whose candidate schools could ever be joined contiguously (islands in the pair set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContiguityData:
    """Contiguity arrays over a fixed pair set.

    Attributes
    ----------
    own_unit : numpy.ndarray
        (n_schools,) the school's unit (root), -1 when the school has no pair.
    nb_p, nb_q : numpy.ndarray
        Directed neighbour pairs of pairs (same school, adjacent units).
    exempt : numpy.ndarray
        (n_pairs,) bool: the pair needs no closer-neighbour support.
    support_ptr, support_idx : numpy.ndarray
        CSR: the pairs supporting pair ``p`` are ``support_idx[support_ptr[p]:support_ptr[p+1]]``.
    """

    own_unit: np.ndarray
    nb_p: np.ndarray
    nb_q: np.ndarray
    exempt: np.ndarray
    support_ptr: np.ndarray
    support_idx: np.ndarray


def school_units(
    pair_unit: np.ndarray,
    pair_school: np.ndarray,
    unit_xy: np.ndarray,
    school_xy: np.ndarray,
    n_schools: int,
    locked: np.ndarray,
) -> np.ndarray:
    """The school's unit (root) of every school: the nearest unit with a pair to it."""
    own = np.full(n_schools, -1, dtype=np.int64)
    if pair_unit.size == 0:
        return own
    d = np.hypot(*(unit_xy[pair_unit] - school_xy[pair_school]).T)
    # By distance, then by unit order: the first per school wins.
    order = np.lexsort((pair_unit, d, pair_school))
    s_sorted = pair_school[order]
    first = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    own[s_sorted[first]] = pair_unit[order][first]
    return own


def neighbour_pairs(
    pair_unit: np.ndarray,
    pair_school: np.ndarray,
    n_units: int,
    n_schools: int,
    adj_a: np.ndarray,
    adj_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Directed pairs ``(p, q)`` of the same school whose units are adjacent (vectorised join)."""
    key = pair_unit * n_schools + pair_school
    key_order = np.argsort(key, kind="stable")
    key_sorted = key[key_order]
    eu = np.concatenate([adj_a, adj_b]).astype(np.int64)
    ev = np.concatenate([adj_b, adj_a]).astype(np.int64)
    ptr = np.concatenate(([0], np.cumsum(np.bincount(pair_unit, minlength=n_units))))
    cnt = ptr[eu + 1] - ptr[eu]
    total = int(cnt.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    # Expand each directed edge (u -> v) into the pairs of u.
    edge_of = np.repeat(np.arange(eu.size), cnt)
    offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    p = ptr[eu][edge_of] + offs
    qkey = ev[edge_of] * n_schools + pair_school[p]
    pos = np.searchsorted(key_sorted, qkey)
    pos = np.minimum(pos, key_sorted.size - 1)
    found = key_sorted[pos] == qkey
    p = p[found]
    q = key_order[pos[found]]
    order = np.lexsort((q, p))
    return p[order].astype(np.int64), q[order].astype(np.int64)


def _support_csr(
    n_pairs: int, nb_p: np.ndarray, nb_q: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    closer = cost[nb_q] < cost[nb_p]
    sp, sq = nb_p[closer], nb_q[closer]
    ptr = np.concatenate(([0], np.cumsum(np.bincount(sp, minlength=n_pairs)))).astype(np.int64)
    return ptr, sq.astype(np.int64)


def closer_neighbour_keep(
    n_pairs: int,
    exempt: np.ndarray,
    support_ptr: np.ndarray,
    support_idx: np.ndarray,
) -> np.ndarray:
    """Pairs that can ever be used under the closer-neighbour rule (greatest fixed point).

    A non-exempt pair is usable only if one of its supporting pairs is usable; support strictly
    decreases the cost, so removing unsupported pairs until nothing changes terminates.
    """
    keep = np.ones(n_pairs, dtype=bool)
    owner = np.repeat(np.arange(n_pairs), np.diff(support_ptr))
    while True:
        n_support = np.bincount(owner, weights=keep[support_idx], minlength=n_pairs)
        new = keep & (exempt | (n_support > 0))
        if np.array_equal(new, keep):
            return keep
        keep = new


def contiguity_data(
    pair_unit: np.ndarray,
    pair_school: np.ndarray,
    pair_cost: np.ndarray,
    unit_xy: np.ndarray,
    school_xy: np.ndarray,
    adj_a: np.ndarray,
    adj_b: np.ndarray,
    locked: np.ndarray,
    extra_exempt: np.ndarray | None = None,
    exempt_locked: bool = True,
) -> ContiguityData:
    """Build :class:`ContiguityData` for a pair set (no pruning).

    ``exempt_locked`` exempts locked units from the closer-neighbour rule; the exact rule keeps
    them in the flow network instead.
    """
    n_units, n_schools = len(unit_xy), len(school_xy)
    own = school_units(pair_unit, pair_school, unit_xy, school_xy, n_schools, locked)
    nb_p, nb_q = neighbour_pairs(pair_unit, pair_school, n_units, n_schools, adj_a, adj_b)
    exempt = locked[pair_unit] if exempt_locked else np.zeros(pair_unit.size, dtype=bool)
    has_own = own[pair_school] >= 0
    exempt |= has_own & (own[pair_school] == pair_unit)
    if extra_exempt is not None:
        exempt |= extra_exempt
    ptr, idx = _support_csr(pair_unit.size, nb_p, nb_q, pair_cost)
    return ContiguityData(own, nb_p, nb_q, exempt, ptr, idx)


def prune_closer_neighbour(
    pair_unit: np.ndarray,
    pair_school: np.ndarray,
    pair_cost: np.ndarray,
    unit_xy: np.ndarray,
    school_xy: np.ndarray,
    adj_a: np.ndarray,
    adj_b: np.ndarray,
    locked: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which pairs survive the closer-neighbour rule, and which units had to be exempted.

    Returns
    -------
    keep : numpy.ndarray
        (n_pairs,) bool mask of usable pairs.
    stranded : numpy.ndarray
        Units none of whose pairs could be supported; all their pairs are exempt and kept (the
        caller warns about them).
    """
    n_units = len(unit_xy)
    data = contiguity_data(
        pair_unit, pair_school, pair_cost, unit_xy, school_xy, adj_a, adj_b, locked
    )
    keep = closer_neighbour_keep(pair_unit.size, data.exempt, data.support_ptr, data.support_idx)
    had = np.bincount(pair_unit, minlength=n_units) > 0
    kept = np.bincount(pair_unit, weights=keep, minlength=n_units) > 0
    stranded = np.flatnonzero(had & ~kept)
    if stranded.size:
        exempt = data.exempt | np.isin(pair_unit, stranded)
        keep = closer_neighbour_keep(pair_unit.size, exempt, data.support_ptr, data.support_idx)
    return keep, stranded


def prune_exact(
    pair_unit: np.ndarray,
    pair_school: np.ndarray,
    n_units: int,
    data: ContiguityData,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that can be part of a connected catchment (exact rule), and stranded units.

    A pair is usable only if its unit is linked to the school's unit through units that also
    have a pair to that school. Units left with no usable pair keep all their pairs, exempt
    from the rule (the caller warns).
    """
    n_pairs = pair_unit.size
    label = components(n_pairs, data.nb_p, data.nb_q)
    n_schools = data.own_unit.size
    root_label = np.full(n_schools, -1, dtype=np.int64)
    is_own = (data.own_unit[pair_school] == pair_unit) & (data.own_unit[pair_school] >= 0)
    root_label[pair_school[is_own]] = label[is_own]
    keep = label == root_label[pair_school]
    had = np.bincount(pair_unit, minlength=n_units) > 0
    kept = np.bincount(pair_unit, weights=keep, minlength=n_units) > 0
    stranded = np.flatnonzero(had & ~kept)
    keep |= np.isin(pair_unit, stranded)
    return keep, stranded


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes of an undirected graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    return connected_components(g, directed=False)[1].astype(np.int64)


def disconnected_catchments(
    assign: np.ndarray, adj_a: np.ndarray, adj_b: np.ndarray
) -> dict[int, int]:
    """Schools whose catchment is not connected: school -> number of pieces."""
    n = assign.size
    same = (assign[adj_a] == assign[adj_b]) & (assign[adj_a] >= 0)
    label = components(n, adj_a[same], adj_b[same])
    out: dict[int, int] = {}
    ok = assign >= 0
    if not ok.any():
        return out
    pieces = np.unique(np.stack([assign[ok], label[ok]], axis=1), axis=0)
    schools, counts = np.unique(pieces[:, 0], return_counts=True)
    for s, c in zip(schools.tolist(), counts.tolist(), strict=True):
        if c > 1:
            out[int(s)] = int(c)
    return out
