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
from dataclasses import replace

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
    problem: FacilityProblem,
    *,
    time_limit: float = 5.0,
    seed: int = 0,
    initial: np.ndarray | None = None,
) -> np.ndarray | None:
    """An open set for an uncapacitated problem by greedy + swap/add/drop local search.

    Deterministic (ties broken by lowest index; ``seed`` is unused but kept for the
    signature of future randomised variants). ``initial`` (bool per facility) replaces the
    greedy start, e.g. a rounded LP solution; it is completed greedily if it has fewer than p
    open. Returns ``None`` when the problem is not uncapacitated or too large for dense arrays.
    """
    del seed
    if not is_uncapacitated(problem) or problem.n_facilities * problem.n_customers > MAX_DENSE:
        return None
    t_end = time.perf_counter() + time_limit
    d = dense_costs(problem)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    allowed = ~problem.forbidden
    is_open = problem.fixed_open.copy()
    if initial is not None:
        is_open |= np.asarray(initial, dtype=bool) & allowed
    p = problem.p
    exact = p is not None and problem.p_limit == "exactly"
    if initial is not None and p is not None and is_open.sum() > p:
        return None
    # greedy: add the facility with the largest saving
    d1 = d[is_open].min(axis=0) if is_open.any() else np.full(problem.n_customers, np.inf)
    while initial is None or (exact and p is not None and is_open.sum() < p):
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


# -- capacitated single-source problems (CPMP, SSCFLP) ---------------------------------------
#: Penalty per unit of demand a GAP heuristic could not place (drives the search to feasibility).
_UNPLACED = 1e9


def single_source_capacitated(problem: FacilityProblem) -> bool:
    """One seat pool, hard capacities, no modules, size limits, minimum loads or budget
    (CPMP, SSCFLP), at any size."""
    return bool(
        problem.n_levels == 1
        and problem.overflow_penalty is None
        and np.isfinite(problem.capacity).any()
        and not np.isfinite(problem.size_limit).any()
        and not (problem.min_load > 0).any()
        and not (problem.max_modules > 0).any()
        and problem.budget is None
        and problem.fallback_cost is None
    )


def capacitated_applies(problem: FacilityProblem) -> bool:
    """:func:`single_source_capacitated` and small enough for the dense heuristics."""
    return (
        single_source_capacitated(problem)
        and problem.n_facilities * problem.n_customers <= MAX_DENSE
    )


def dense_loads(problem: FacilityProblem) -> np.ndarray:
    """(n_facilities, n_customers) seats used by each pair, ``inf`` where no pair exists."""
    w = np.full((problem.n_facilities, problem.n_customers), np.inf)
    w[problem.pair_facility, problem.pair_customer] = problem.pair_load
    return w


def regret_assign(c: np.ndarray, w: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Single-source assignment to the rows of ``c`` by the Martello–Toth regret rule.

    Repeatedly places the customer whose cheapest fitting facility is most ahead of its
    second cheapest (a customer with one fitting facility first). Returns the row index per
    customer, −1 where nothing fits any more.
    """
    k, n = c.shape
    left = cap.astype(float).copy()
    out = -np.ones(n, dtype=np.int64)
    todo = np.arange(n)
    while todo.size:
        cc = np.where(w[:, todo] <= left[:, None] + 1e-9, c[:, todo], np.inf)
        if k == 1:
            first, regret = np.zeros(todo.size, dtype=np.int64), -cc[0]
        else:
            part = np.argpartition(cc, 1, axis=0)[:2]
            cols = np.arange(todo.size)
            a, b = cc[part[0], cols], cc[part[1], cols]
            first = np.where(a <= b, part[0], part[1])
            best, second = np.minimum(a, b), np.maximum(a, b)
            with np.errstate(invalid="ignore"):
                regret = np.where(np.isfinite(second), second - best, np.inf)
            regret = np.where(np.isfinite(best), regret, -np.inf)
        q = int(np.argmax(regret))
        j, i = int(todo[q]), int(first[q])
        if not np.isfinite(cc[i, q]):
            break  # nothing fits the remaining customers
        out[j] = i
        left[i] -= w[i, j]
        todo = np.delete(todo, q)
    return out


def improve_assignment(
    c: np.ndarray, w: np.ndarray, cap: np.ndarray, assign: np.ndarray, max_moves: int = 10_000
) -> np.ndarray:
    """Best-improvement shift and swap moves on a single-source assignment (rows of ``c``).

    shift: move one customer to another row with room; swap: exchange two customers of
    different rows when both rows keep their capacity. Unplaced customers (−1) are placed by a
    shift when one fits (that always improves). Returns the improved assignment.
    """
    k, n = c.shape
    a = assign.copy()
    cols = np.arange(n)
    for _ in range(max_moves):
        placed = a >= 0
        load = np.bincount(a[placed], weights=w[a[placed], cols[placed]], minlength=k)
        cur = np.where(placed, c[np.maximum(a, 0), cols], _UNPLACED)
        cur_w = np.where(placed, w[np.maximum(a, 0), cols], 0.0)
        # shift: row r gains customer j
        room = cap - load
        fits = w <= room[:, None] + cur_w[None, :] * (a[None, :] == np.arange(k)[:, None]) + 1e-9
        delta = np.where(fits, c - cur[None, :], np.inf)
        delta[a[placed], cols[placed]] = np.inf
        s = int(np.argmin(delta))
        best_shift = float(delta.flat[s])
        # swap: customers j1 (row r1) and j2 (row r2) exchange rows
        best_swap, pair = 0.0, (-1, -1)
        pl = np.flatnonzero(placed)
        if pl.size > 1:
            r = a[pl]
            cr = c[np.ix_(r, pl)]  # cr[u, v] = cost of customer pl[v] at row of pl[u]
            wr = w[np.ix_(r, pl)]
            own_c, own_w = cur[pl], cur_w[pl]
            gain = cr.T + cr - own_c[:, None] - own_c[None, :]  # [u, v]: pl[u] ↔ pl[v]
            # row of u loses own_w[u] and gains wr[u, v]; row of v symmetric
            ok_u = wr - own_w[:, None] <= room[r][:, None] + 1e-9
            ok = ok_u & ok_u.T & (r[:, None] != r[None, :])
            gain = np.where(ok, gain, np.inf)
            q = int(np.argmin(gain))
            if gain.flat[q] < 0:
                best_swap, pair = float(gain.flat[q]), (int(pl[q // pl.size]), int(pl[q % pl.size]))
        if min(best_shift, best_swap) >= -1e-9:
            break
        if best_shift <= best_swap:
            a[s % n] = s // n
        else:
            j1, j2 = pair
            a[j1], a[j2] = a[j2], a[j1]
    return a


def _assignment_cost(c: np.ndarray, a: np.ndarray) -> float:
    placed = a >= 0
    return float(c[a[placed], np.flatnonzero(placed)].sum() + _UNPLACED * (~placed).sum())


def capacitated_local_search(
    problem: FacilityProblem,
    *,
    time_limit: float = 5.0,
    seed: int = 0,
    max_evaluations: int | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """An open set and single-source assignment for a capacitated problem.

    Start: the uncapacitated local-search open set (exactly p) or all allowed facilities
    (free count), assigned by the regret rule and improved by shift/swap. Then first-
    improvement moves on the open set, each evaluated by regret + shift/swap: swap (close r,
    open one of the 8 closed facilities cheapest for r's customers), and when the count is
    free also drop r and add a facility. Deterministic (``seed`` unused) when it stops at a
    local optimum or after ``max_evaluations`` evaluated moves (a work limit); the wall-clock
    ``time_limit`` can stop it elsewhere under load. Returns ``None``
    when the heuristic does not apply or finds no feasible assignment.
    """
    del seed
    if not capacitated_applies(problem):
        return None
    t_end = time.perf_counter() + time_limit
    c = dense_costs(problem)
    w = dense_loads(problem)
    cap = problem.capacity[:, 0].astype(float)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    allowed = ~problem.forbidden
    exact = problem.p is not None and problem.p_limit == "exactly"
    if exact:
        unc = replace(problem, capacity=np.full_like(problem.capacity, np.inf))
        is_open = uncapacitated_local_search(unc, time_limit=time_limit / 4)
        if is_open is None:
            return None
    else:
        is_open = allowed.copy()
        if problem.p is not None and is_open.sum() > problem.p:
            return None  # "at most p" with fewer than all: not handled here

    evaluations = 0

    def value(op: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        idx = np.flatnonzero(op)
        loc = regret_assign(c[idx], w[idx], cap[idx])
        loc = improve_assignment(c[idx], w[idx], cap[idx], loc)
        a = np.where(loc >= 0, idx[np.maximum(loc, 0)], -1)
        return float(f[idx].sum()) + _assignment_cost(c, a), a

    best, a_best = value(is_open)
    improved = True

    def spent() -> bool:
        over = max_evaluations is not None and evaluations >= max_evaluations
        return over or time.perf_counter() >= t_end

    while improved and not spent():
        improved = False
        open_idx = np.flatnonzero(is_open & ~problem.fixed_open)
        for r in open_idx:
            if spent():
                break
            mine = a_best == r
            closed = np.flatnonzero(allowed & ~is_open)
            moves: list[tuple[int, int]] = []
            if not exact:
                moves.append((-1, int(r)))  # drop r
            if closed.size and (exact or problem.p is None):
                score = c[closed][:, mine].sum(axis=1) + f[closed]
                for i in closed[np.argsort(score, kind="stable")[:8]]:
                    moves.append((int(i), int(r)))
            for i_in, i_out in moves:
                if spent():
                    break
                trial = is_open.copy()
                trial[i_out] = False
                if i_in >= 0:
                    trial[i_in] = True
                if not trial.any():
                    continue
                v, a = value(trial)
                if v < best - 1e-9 * max(1.0, abs(best)):
                    best, a_best, is_open, improved = v, a, trial, True
                    break
        if not exact and not improved and not spent():
            closed = np.flatnonzero(allowed & ~is_open)
            for i in closed:
                if spent():
                    break
                trial = is_open.copy()
                trial[i] = True
                v, a = value(trial)
                if v < best - 1e-9 * max(1.0, abs(best)):
                    best, a_best, is_open, improved = v, a, trial, True
                    break
    if (a_best < 0).any():
        return None
    return is_open, a_best
