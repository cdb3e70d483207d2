"""Starting solutions: greedy opening + best-improvement swap (Teitz–Bart) local search.

Applies to the uncapacitated case (p-median, uncapacitated facility location, possibly with
must-open and closed facilities): every customer goes to its cheapest open facility, so a
solution is just the open set. One swap pass evaluates all (add i, drop r) moves at once with
dense arrays (Whitaker's fast interchange): with d1/d2 the cheapest and second-cheapest open
cost of each customer, adding i and dropping r costs
``Σ_j min(d1_j, D_ij) + Σ_{j: near1_j = r} [min(D_ij, d2_j) − min(d1_j, D_ij)]``.
"""

from __future__ import annotations

import time

import numpy as np

from solvers.layout.problem import FacilityProblem

#: Largest facilities × customers matrix the heuristic builds (float64: 8 bytes each).
MAX_DENSE = 6_000_000


def is_uncapacitated(problem: FacilityProblem) -> bool:
    """True when a solution is determined by its open set (no seats, limits, budget, modules)."""
    return bool(
        not np.isfinite(problem.capacity).any()
        and not np.isfinite(problem.size_limit).any()
        and not (problem.min_load > 0).any()
        and not (problem.max_modules > 0).any()
        and problem.budget is None
    )


def dense_costs(problem: FacilityProblem) -> np.ndarray:
    """(n_facilities, n_customers) pair costs, a large finite number where no pair exists."""
    finite = problem.pair_cost[np.isfinite(problem.pair_cost)]
    big = (float(np.abs(finite).max()) if finite.size else 1.0) * 1e6 + 1e6
    d = np.full((problem.n_facilities, problem.n_customers), big)
    d[problem.pair_facility, problem.pair_customer] = problem.pair_cost
    return d


def _near(d: np.ndarray, open_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = d[open_idx]
    if open_idx.size == 1:
        return sub[0], np.full(d.shape[1], open_idx[0]), np.full(d.shape[1], np.inf)
    part = np.argpartition(sub, 1, axis=0)[:2]
    cols = np.arange(d.shape[1])
    a, b = sub[part[0], cols], sub[part[1], cols]
    first = np.where(a <= b, part[0], part[1])
    d1, d2 = np.minimum(a, b), np.maximum(a, b)
    return d1, open_idx[first], d2


def uncapacitated_local_search(
    problem: FacilityProblem, *, time_limit: float = 5.0, seed: int = 0
) -> np.ndarray | None:
    """An open set for an uncapacitated problem by greedy + swap/add/drop local search.

    Deterministic (ties broken by lowest index; ``seed`` is unused but kept for the
    signature of future randomised variants). Returns ``None`` when the problem is not
    uncapacitated or too large for dense arrays.
    """
    del seed
    if not is_uncapacitated(problem) or problem.n_facilities * problem.n_customers > MAX_DENSE:
        return None
    t_end = time.perf_counter() + time_limit
    d = dense_costs(problem)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    allowed = ~problem.forbidden
    is_open = problem.fixed_open.copy()
    p = problem.p
    exact = p is not None and problem.p_limit == "exactly"
    # greedy: add the facility with the largest saving
    d1 = d[is_open].min(axis=0) if is_open.any() else np.full(problem.n_customers, np.inf)
    while True:
        if p is not None and is_open.sum() >= p:
            break
        cand = np.flatnonzero(allowed & ~is_open)
        if cand.size == 0:
            break
        base = np.where(np.isfinite(d1), d1, d.max() * 10)
        saving = np.maximum(base[None, :] - d[cand], 0.0).sum(axis=1) - f[cand]
        best = int(np.argmax(saving))
        if saving[best] <= 1e-12 and not (exact or not is_open.any()):
            break
        is_open[cand[best]] = True
        d1 = np.minimum(d1, d[cand[best]])
    if not is_open.any():
        return None
    # best-improvement swaps (and add/drop when the count is free)
    while time.perf_counter() < t_end:
        open_idx = np.flatnonzero(is_open)
        d1, near1, d2 = _near(d, open_idx)
        current = d1.sum() + f[is_open].sum()
        cand = np.flatnonzero(allowed & ~is_open)
        droppable = open_idx[~problem.fixed_open[open_idx]]
        best_delta, move = -1e-9 * max(1.0, abs(current)), None
        if cand.size and droppable.size:
            m = np.minimum(d1[None, :], d[cand])
            extra = np.minimum(d[cand], d2[None, :]) - m
            pos = {int(r): k for k, r in enumerate(droppable)}
            col = np.array([pos.get(int(r), -1) for r in near1])
            onehot = np.zeros((problem.n_customers, droppable.size))
            ok = col >= 0
            onehot[np.flatnonzero(ok), col[ok]] = 1.0
            swap = (m.sum(axis=1) + f[cand])[:, None] + extra @ onehot - f[droppable][None, :]
            swap += f[is_open].sum() - current
            k = int(np.argmin(swap))
            if swap.flat[k] < best_delta:
                best_delta, move = (
                    float(swap.flat[k]),
                    ("swap", cand[k // droppable.size], droppable[k % droppable.size]),
                )
        if p is None or not exact:
            if cand.size and (p is None or is_open.sum() < p):
                add = np.minimum(d1[None, :], d[cand]).sum(axis=1) + f[cand] - d1.sum()
                k = int(np.argmin(add))
                if add[k] < best_delta:
                    best_delta, move = float(add[k]), ("add", cand[k], -1)
            if droppable.size and open_idx.size > 1:
                loss = np.zeros(problem.n_facilities)
                np.add.at(loss, near1, d2 - d1)
                drop = loss[droppable] - f[droppable]
                k = int(np.argmin(drop))
                if drop[k] < best_delta:
                    best_delta, move = float(drop[k]), ("drop", -1, droppable[k])
        if move is None:
            break
        _, i_in, i_out = move
        if i_in >= 0:
            is_open[i_in] = True
        if i_out >= 0:
            is_open[i_out] = False
    return is_open


def assign_cheapest(problem: FacilityProblem, open_: np.ndarray) -> np.ndarray:
    """Each customer's cheapest allowed open facility (−1 if none)."""
    ok = open_[problem.pair_facility]
    cost = np.where(ok, problem.pair_cost, np.inf)
    order = np.lexsort((problem.pair_facility, cost, problem.pair_customer))
    pc = problem.pair_customer[order]
    first = np.ones(pc.size, dtype=bool)
    first[1:] = pc[1:] != pc[:-1]
    out = -np.ones(problem.n_customers, dtype=np.int64)
    sel = order[first]
    good = np.isfinite(cost[sel])
    out[problem.pair_customer[sel][good]] = problem.pair_facility[sel][good]
    return out
