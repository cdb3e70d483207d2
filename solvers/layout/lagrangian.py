"""Lagrangian bound and facility elimination for uncapacitated problems with exactly p open.

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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solvers.layout.heuristics import dense_costs, is_uncapacitated
from solvers.layout.problem import FacilityProblem


@dataclass
class LagrangianResult:
    """Best bound, its multipliers, and facilities proven closed / open."""

    bound: float
    iterations: int
    closed: np.ndarray
    opened: np.ndarray
    seconds: float


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
    return LagrangianResult(val, it, closed, opened, time.perf_counter() - t0)
