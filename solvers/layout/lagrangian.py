"""Lagrangian bounds and reductions for p-median-like problems with exactly p open.

Relaxing "every customer served once" with multipliers λ_j gives, with
ρ_i(λ) = f_i + Σ_j min(0, c_ij − λ_j),

    L(λ) = Σ_j λ_j + min over open sets S (|S| = p, must-open ⊆ S) of Σ_{i∈S} ρ_i,

a lower bound for every λ (equal at its best to the LP bound of the strong formulation).
λ is improved by subgradient steps (Polyak step towards the incumbent value UB).

Elimination: forcing a facility i outside the chosen set S into it raises the bound to
L − ρ_(p) + ρ_i (it replaces the dearest free member). If that exceeds UB − δ, no solution
with i costs less than UB − δ, so i is closed for the rest of the solve; likewise a member of S
is fixed open when keeping it out raises the bound above UB − δ. δ is just below 1 when all
costs are integers (a better solution is at least 1 cheaper), else 1e-9·|UB|. The answer
returned at the end is the better of the reduced problem's optimum and the incumbent, and the
reported bound stays valid.

Pair elimination: forcing the pair (i, j) raises the bound by ``max(0, c_ij − λ_j)`` on top
of forcing i open; a pair whose forced bound exceeds UB − δ is dropped (no better solution
uses it). The reduced MIP is then much smaller (p-median: most far pairs go).

Capacitated (CPMP, integer loads and capacity): with the same relaxation each facility's
subproblem is a 0-1 knapsack, ρ_i = f_i − max{Σ_j (λ_j − c_ij) x_j : Σ_j w_j x_j ≤ Q_i},
solved by dynamic programming over seats for all facilities at once. Its bound is stronger
than the LP bound (the knapsacks are solved in integers). Forcing a pair costs
K_i − K_i(x_ij = 1), from forward and backward DP tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solvers.layout.heuristics import capacitated_applies, dense_costs, is_uncapacitated
from solvers.layout.problem import FacilityProblem


@dataclass
class LagrangianResult:
    """Best bound, its multipliers, and facilities proven closed / open."""

    bound: float
    iterations: int
    closed: np.ndarray
    opened: np.ndarray
    seconds: float
    dropped: np.ndarray | None = None  # (n_pairs,) pairs no better solution uses


def applies(problem: FacilityProblem) -> bool:
    """Uncapacitated with exactly p open facilities."""
    return is_uncapacitated(problem) and problem.p is not None and problem.p_limit == "exactly"


def lagrangian_eliminate(
    problem: FacilityProblem,
    upper: float,
    *,
    integral: bool,
    time_limit: float = 10.0,
    max_iter: int = 20000,
    stall_limit: int = 60,
    min_step: float = 1e-4,
    multipliers: np.ndarray | None = None,
) -> LagrangianResult:
    """Subgradient optimisation of L(λ), then elimination against the incumbent ``upper``.

    Deterministic (no randomness; ties by index).
    """
    t0 = time.perf_counter()
    assert problem.p is not None
    c = dense_costs(problem)
    n_f, _ = c.shape
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    fixed = problem.fixed_open & ~problem.forbidden
    free = ~problem.forbidden & ~problem.fixed_open
    free_idx = np.flatnonzero(free)
    k_free = problem.p - int(fixed.sum())
    # start: each customer's second-cheapest cost (a common, robust choice)
    part = np.partition(c, min(1, n_f - 1), axis=0)
    lam = (
        part[min(1, n_f - 1)].copy()
        if multipliers is None
        else np.asarray(multipliers, float).copy()
    )
    best, best_lam = -np.inf, lam.copy()
    mu, stall = 2.0, 0
    delta = 1.0 - 1e-6 if integral else 1e-9 * max(1.0, abs(upper))
    it = 0

    def evaluate(lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        red = np.minimum(c - lam[None, :], 0.0)
        rho = f + red.sum(axis=1)
        chosen = fixed.copy()
        if k_free > 0:
            order = free_idx[np.argsort(rho[free_idx], kind="stable")]
            chosen[order[:k_free]] = True
        val = float(lam.sum() + rho[chosen].sum())
        return val, rho, chosen

    while it < max_iter and time.perf_counter() - t0 < time_limit:
        it += 1
        val, _, chosen = evaluate(lam)
        if val > best + 1e-9:
            best, best_lam, stall = val, lam.copy(), 0
        else:
            stall += 1
            if stall >= stall_limit:
                mu, stall = mu / 2, 0
        if best > upper - delta or mu < min_step:
            break
        g = 1.0 - (c[chosen] < lam[None, :]).sum(axis=0)
        norm = float((g * g).sum())
        if norm == 0:
            break  # the relaxed solution is feasible, hence optimal for the relaxation
        lam = lam + mu * (upper - val) / norm * g
    val, rho, chosen = evaluate(best_lam)
    closed = np.zeros(n_f, dtype=bool)
    opened = np.zeros(n_f, dtype=bool)
    if k_free > 0:
        members = np.flatnonzero(chosen & free)
        outsiders = np.flatnonzero(~chosen & free)
        dearest_in = float(rho[members].max()) if members.size else np.inf
        cheapest_out = float(rho[outsiders].min()) if outsiders.size else np.inf
        closed[outsiders] = val - dearest_in + rho[outsiders] > upper - delta
        opened[members] = val - rho[members] + cheapest_out > upper - delta
    inc = np.maximum(problem.pair_cost - best_lam[problem.pair_customer], 0.0)
    dropped = _drop_pairs(problem, val, rho, chosen, inc, upper - delta)
    return LagrangianResult(val, it, closed, opened, time.perf_counter() - t0, dropped)


def _drop_pairs(
    problem: FacilityProblem,
    val: float,
    rho: np.ndarray,
    chosen: np.ndarray,
    increase: np.ndarray,
    limit: float,
) -> np.ndarray:
    """Pairs whose forced bound (facility forced open, then the pair) exceeds ``limit``."""
    free = ~problem.forbidden & ~problem.fixed_open
    members = np.flatnonzero(chosen & free)
    dearest_in = float(rho[members].max()) if members.size else np.inf
    open_extra = np.where(chosen, 0.0, rho - dearest_in)  # forcing a facility open
    open_extra[problem.forbidden] = np.inf
    return val + open_extra[problem.pair_facility] + increase > limit


def knapsack_applies(problem: FacilityProblem, max_cells: int = 30_000_000) -> bool:
    """Capacitated with exactly p, one load per customer, integer loads and capacities.

    ``max_cells`` caps the DP tables (customers × facilities × seats).
    """
    if not capacitated_applies(problem) or problem.p is None or problem.p_limit != "exactly":
        return False
    cap = problem.capacity[:, 0]
    w = problem.pair_load
    if not np.isfinite(cap[~problem.forbidden]).all():
        return False
    if not np.array_equal(w, problem.demand[problem.pair_customer]):
        return False
    ints = np.allclose(cap, np.round(cap)) and np.allclose(problem.demand, np.round(problem.demand))
    q = int(cap.max()) + 1
    return bool(ints and problem.n_customers * problem.n_facilities * q <= max_cells)


def _knapsacks(
    v: np.ndarray, w: np.ndarray, cap: np.ndarray, q: int, tables: bool
) -> tuple[np.ndarray, np.ndarray]:
    """0-1 knapsacks of all facilities at once (items = customers, profit ``v[i, j]``).

    Returns the best profit per facility and the forward tables F (n+1, n_f, q+1) when
    ``tables``, else the take decisions (n, n_f, q+1) for backtracking.
    """
    n_f, n = v.shape
    f = np.zeros((n_f, q + 1))  # f[i, c] = best profit of the items so far with ≤ c seats
    keep = np.empty((n + 1, n_f, q + 1)) if tables else np.empty((n, n_f, q + 1), dtype=bool)
    if tables:
        keep[0] = f
    for j in range(n):
        wj = int(w[j])
        new = f.copy()
        if wj <= q:
            cand = f[:, : q + 1 - wj] + v[:, j : j + 1]
            better = cand > new[:, wj:]
            new[:, wj:] = np.where(better, cand, new[:, wj:])
            if not tables:
                keep[j, :, :wj] = False
                keep[j, :, wj:] = better
        elif not tables:
            keep[j] = False
        f = new
        if tables:
            keep[j + 1] = f
    best = f[np.arange(n_f), cap.astype(np.int64)]
    return best, keep


def lagrangian_knapsack(
    problem: FacilityProblem,
    upper: float,
    *,
    integral: bool,
    time_limit: float = 10.0,
    max_iter: int = 5000,
    stall_limit: int = 30,
    min_step: float = 1e-4,
) -> LagrangianResult:
    """Knapsack Lagrangian of the capacitated p-median; bound, facility and pair elimination.

    Deterministic. Requires :func:`knapsack_applies`.
    """
    t0 = time.perf_counter()
    assert problem.p is not None
    c = dense_costs(problem)
    n_f, n = c.shape
    cap = problem.capacity[:, 0].copy()
    cap[problem.forbidden] = 0.0
    cap_i = np.round(cap).astype(np.int64)
    q = int(cap_i.max())
    w = np.round(problem.demand).astype(np.int64)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    fixed = problem.fixed_open & ~problem.forbidden
    free = ~problem.forbidden & ~problem.fixed_open
    free_idx = np.flatnonzero(free)
    k_free = problem.p - int(fixed.sum())
    part = np.partition(c, min(1, n_f - 1), axis=0)
    lam = part[min(1, n_f - 1)].copy()
    best, best_lam = -np.inf, lam.copy()
    mu, stall, it = 2.0, 0, 0
    delta = 1.0 - 1e-6 if integral else 1e-9 * max(1.0, abs(upper))

    def choose(rho: np.ndarray) -> np.ndarray:
        chosen = fixed.copy()
        if k_free > 0:
            chosen[free_idx[np.argsort(rho[free_idx], kind="stable")[:k_free]]] = True
        return chosen

    while it < max_iter and time.perf_counter() - t0 < time_limit:
        it += 1
        v = np.where(problem.forbidden[:, None], -np.inf, lam[None, :] - c)
        kbest, take = _knapsacks(v, w, cap_i, q, tables=False)
        rho = f - kbest
        chosen = choose(rho)
        val = float(lam.sum() + rho[chosen].sum())
        if val > best + 1e-9:
            best, best_lam, stall = val, lam.copy(), 0
        else:
            stall += 1
            if stall >= stall_limit:
                mu, stall = mu / 2, 0
        if best > upper - delta or mu < min_step:
            break
        # backtrack the chosen knapsacks: how often each customer is served
        served = np.zeros(n)
        rows = np.flatnonzero(chosen)
        left = cap_i[rows].copy()
        for j in range(n - 1, -1, -1):
            t = take[j, rows, left]
            served[j] += t.sum()
            left = left - w[j] * t
        g = 1.0 - served
        norm = float((g * g).sum())
        if norm == 0:
            break
        lam = lam + mu * (upper - val) / norm * g
    # final evaluation with tables for pair forcing
    v = np.where(problem.forbidden[:, None], -np.inf, best_lam[None, :] - c)
    kbest, fwd = _knapsacks(v, w, cap_i, q, tables=True)
    rho = f - kbest
    chosen = choose(rho)
    val = float(best_lam.sum() + rho[chosen].sum())
    # backward tables: B[j] = best over items j..n-1 with ≤ c seats
    bwd = np.zeros((n_f, q + 1))
    forced = np.full((n_f, n), -np.inf)
    ar = np.arange(q + 1)
    for j in range(n - 1, -1, -1):
        wj = int(w[j])
        if wj <= q:
            # items before j use c seats, items after use ≤ cap − w_j − c
            for_i = fwd[j]  # (n_f, q+1)
            rest = cap_i[:, None] - wj - ar[None, :]
            ok = rest >= 0
            comb = np.where(ok, for_i + bwd[np.arange(n_f)[:, None], np.maximum(rest, 0)], -np.inf)
            forced[:, j] = v[:, j] + comb.max(axis=1)
            new = bwd.copy()
            cand = bwd[:, : q + 1 - wj] + v[:, j : j + 1]
            new[:, wj:] = np.maximum(new[:, wj:], cand)
            bwd = new
    closed = np.zeros(n_f, dtype=bool)
    opened = np.zeros(n_f, dtype=bool)
    if k_free > 0:
        members = np.flatnonzero(chosen & free)
        outsiders = np.flatnonzero(~chosen & free)
        dearest_in = float(rho[members].max()) if members.size else np.inf
        cheapest_out = float(rho[outsiders].min()) if outsiders.size else np.inf
        closed[outsiders] = val - dearest_in + rho[outsiders] > upper - delta
        opened[members] = val - rho[members] + cheapest_out > upper - delta
    inc_dense = kbest[:, None] - forced  # ≥ 0; inf where the pair cannot fit
    inc = inc_dense[problem.pair_facility, problem.pair_customer]
    dropped = _drop_pairs(problem, val, rho, chosen, inc, upper - delta)
    return LagrangianResult(val, it, closed, opened, time.perf_counter() - t0, dropped)
