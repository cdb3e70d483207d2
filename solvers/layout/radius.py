"""Exact uncapacitated p-median / facility location by the radius (covering) formulation.

Formulation (Elloumi 2010; García, Labbé & Marín 2011, "Solving large p-median problems with a
radius formulation", INFORMS JoC 23). For customer i let D_i^1 < … < D_i^K be the distinct costs
of its pairs to facilities that may open. Then, with y_j = 1 when j is open and
z_i^k ≥ 0 meaning "i pays at least D_i^k"::

    min  Σ_j f_j y_j + Σ_i [D_i^1 + Σ_{k≥2} (D_i^k − D_i^{k−1}) z_i^k]
    s.t. z_i^k ≥ z_i^{k−1} − Σ_{j: c_ij = D_i^{k−1}} y_j    k = 2..K   (z_i^1 ≡ 1)
         0     ≥ z_i^K     − Σ_{j: c_ij = D_i^K} y_j                   (i is served)
         Σ_j y_j = p  (or ≤ p, or free with open costs f_j: facility location)

Each pair appears once in the chained rows, so the model has O(pairs) nonzeros but only
Σ_i K_i continuous z (few when costs repeat, as shortest-path distances do). Its LP bound equals
the strong classical formulation's.

Proof-preserving reductions, all stated against an upper bound U (the cost of a known
solution), so every solution costing ≤ U survives them and the reduced problem still contains
an optimum (the incumbent stays a valid MIP start):

* **Lagrangian pre-reduction** (exactly p): :func:`solvers.layout.lagrangian.lagrangian_eliminate`
  for ``lagrangian_iterations`` steps (a work limit: the same reduction on any machine;
  ``lagrangian_seconds`` is only a safety cap), against the limit U + ε: facilities and
  pairs whose forced Lagrangian bound exceeds it are dropped. A dropped pair (i, j) is never i's only cheapest open facility
  in a solution ≤ U, so removing it keeps those solutions' costs.
* **Lagrangian radius caps from the LP duals.** For any multipliers λ and any solution with
  open set S, cost ≥ L(λ) + (d_i − λ_i)⁺ for every customer i, where
  L(λ) = Σ λ_i + min_S Σ_{j∈S} [f_j + Σ_i min(0, c_ij − λ_i)] is evaluated exactly. So a
  solution ≤ U has d_i ≤ λ_i + U − L(λ). λ_i is D_i^1 plus the dual of i's first chained row.

* **Coarse radii (a relaxation).** Keeping only a subset of each customer's radii
  D_i^{r_1} = D_i^1 < D_i^{r_2} < … and summing the y of a whole segment in one chained row
  charges a customer the largest kept radius not above its true cost: never more than the true
  cost, so the coarse model's LP and MIP bounds are valid for the full problem. When the coarse
  optimum serves every customer at a kept radius, its coarse cost is its true cost, so it is
  optimal for the full problem. Otherwise the radii it landed on are added and it is solved
  again (LP first until the LP is exact, then the MIP). Each LP round starts from the last
  round's optimal basis carried over to the refined model (:func:`_map_basis`: a split
  segment keeps a nonsingular basis of the right size), so it re-solves in a fraction of
  the iterations (pmed36, 7 rounds: 41.7k dual simplex iterations and 9.6 s cold, 8.3k and
  3.4 s warm). The MIP keeps every radius under the caps when there are at most
  ``all_radii_below`` of them (fewer rounds, stronger nodes).
* **LP rounding.** Near the end of the LP rounds, the p largest LP values are opened and
  improved by swaps (:func:`solvers.layout.heuristics.uncapacitated_local_search`): a better U
  makes every reduction above stronger.
* **Reduced-cost fixing from the LP.** With LP value LB and reduced cost r of a column at a
  bound, every solution moving that column by 1 costs at least LB + |r|. If LB + |r| > U:
  a y_j at 0 is closed, a y_j at 1 is fixed open, and a z at 0 means "customer i pays less
  than that radius": all its radii from there up are removed and the last kept segment must
  serve it (a covering row). Dropped pairs are reported as ``eliminated_pairs``.
* **Must-open facilities.** A customer never pays more than its cost to a must-open facility,
  so its radii above that are dropped (no U needed).

* **Branch-and-bound on the facilities** (the default, ``mip_method="branch"``): best-first
  over the last coarse LP, warm from its basis, plunging into the closing branch of the most
  fractional y (HiGHS keeps the parent's basis, so a dive's LP takes tens of iterations);
  the other branch is queued with its parent's basis. Its model drops the facilities the LP
  phase closed (their pairs, and radii only they had). Reduced costs fix y and z in each
  subtree against U − 1 (integral costs: only strictly better solutions are searched, the
  incumbent is kept aside), and the radii node optima land on are added by rebuilding the
  coarse model once they are 1 % of its radii (or at once when an integral node's coarse cost
  is not its true cost); the node being solved and every queued node keep their basis and z
  fixings, carried over to the rebuilt model. pmed36 (800 nodes, p = 10; LP 9833.26,
  optimum 9934): HiGHS's MIP had 2 nodes and bound 9840 after 46 s (root cuts, ~0.5 s per
  node LP on the full model); this search proves 9934 in ~345 nodes, ~30 s after a 3.5 s LP
  phase and ~55k dual simplex iterations in all (shared 2-core machine, load ~1.5–2; before
  bases were carried over, a rebuild voided every queued node's basis: 119 cold node LPs
  at ~0.29 s made up 35 of the tree's 52 s), each node LP stopping as soon as its dual
  objective passes U − 1 (HiGHS ``objective_bound``: dual simplex in phase 2 gives a valid
  bound at every step). Strong branching (8 candidates, depth < 4) cut that to 317 nodes but
  cost more time than it saved; pseudo-cost branching (product rule, gains of pruned children
  censored at the limit), the largest or the smallest fractional y needed as many or more
  nodes (378, 469, >1500); depth-first order (fewer queued nodes to carry over) saved 3.5 %
  of the iterations but reports a weaker bound when stopped early; switching off HiGHS's
  dual cost perturbation saved 5 % (one instance; not adopted, it guards degenerate LPs
  against stalling); Devex pricing was slower; Lagrangian penalties from the node duals (to
  skip solving leaf children) pruned too few to matter; all radii in the model from the
  start (no rebuilds) needed 315 nodes but each LP cost twice as much.
  ``mip_method="highs"`` keeps the HiGHS MIP rounds below.

Status ``optimal`` is returned only when a valid lower bound (Lagrangian, any coarse LP, the
least open node of the branch-and-bound, or the coarse MIP's dual bound; rounded up when all
costs are integers) meets the cost of the best solution evaluated on the full problem. A
HiGHS run whose reported objective differs from its columns' cost or lies below a proven bound
(a presolve fault seen on pmed4) is discarded and solved again without presolve. The time limit is a wall-clock deadline for the
whole call: every HiGHS run gets the time left and an interrupt callback on the deadline
(branch-and-bound node LPs only HiGHS's own time limit, and the callback for a stop event).
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from solvers.highs_model import new_highs
from solvers.layout.heuristics import is_uncapacitated, uncapacitated_local_search
from solvers.layout.lagrangian import applies as lagrangian_applies
from solvers.layout.lagrangian import lagrangian_eliminate
from solvers.layout.problem import FacilityProblem
from solvers.progress import ProgressEvent, ProgressFn

#: Largest pair count the radius model is built for (dense p-median at 3000 nodes is 9e6).
MAX_PAIRS = 4_000_000
#: Branch-and-bound: rebuild the coarse model once the radii that node optima landed on, but
#: the model lacks, reach this share of its radii. A rebuild carries every queued node's basis
#: over, but their LPs then take more iterations; a late rebuild weakens the nodes before it
#: (pmed36, nodes and dual simplex iterations of the tree: 0.5 % → 12 rebuilds, 347 nodes,
#: 57.6k; 1 % → 7, 344, 55.4k; 2.5 % → 3, 336, 58.7k; 5 % → 2, 379, 65.5k; never → 458
#: nodes unproven at 100 s).
REFINE_SHARE = 0.01
#: Branch-and-bound: a progress event every this many nodes (pmed36: about every 4 s).
PROGRESS_NODES = 25


def radius_applies(problem: FacilityProblem) -> bool:
    """Uncapacitated (a solution is its open set), no fallback pairs, not too large."""
    return bool(
        is_uncapacitated(problem)
        and problem.fallback_cost is None
        and problem.n_pairs <= MAX_PAIRS
        and np.isfinite(problem.pair_cost).all()
        and np.isfinite(problem.open_cost[~problem.forbidden]).all()
    )


@dataclass
class RadiusResult:
    """Outcome of :func:`solve_radius` (``open`` is ``None`` when no solution was found).

    ``bound`` is a valid lower bound on the optimum of the full problem.
    """

    status: str  # optimal | feasible | infeasible | no_solution
    objective: float
    bound: float
    open: np.ndarray | None
    seconds: float
    info: dict[str, object] = field(default_factory=dict)


class _Levels:
    """Per-customer distinct pair costs (levels) and the pairs grouped by level.

    Pairs to facilities that may open (not ``forbidden``) are sorted by (customer, cost,
    facility). Level ``l`` is global; ``lev_client[l]`` is its customer, ``lev_cost[l]`` its
    radius, ``lev_first[i]`` the first level of customer i; ``pair_level`` gives the level of
    each kept pair.
    """

    def __init__(self, problem: FacilityProblem, forbidden: np.ndarray) -> None:
        ok = ~forbidden[problem.pair_facility]
        pc = problem.pair_customer[ok]
        pf = problem.pair_facility[ok]
        cost = problem.pair_cost[ok].astype(float)
        order = np.lexsort((pf, cost, pc))
        self.pc, self.pf, self.cost = pc[order], pf[order], cost[order]
        new = np.ones(self.pc.size, dtype=bool)
        new[1:] = (self.pc[1:] != self.pc[:-1]) | (self.cost[1:] != self.cost[:-1])
        self.pair_level = np.cumsum(new) - 1
        self.lev_client = self.pc[new]
        self.lev_cost = self.cost[new]
        self.n_customers = problem.n_customers
        self.lev_first = np.searchsorted(self.lev_client, np.arange(self.n_customers + 1)).astype(
            np.int64
        )
        self.n_levels = int(self.lev_cost.size)
        # local index of a level within its customer's list
        self.lev_local = np.arange(self.n_levels) - self.lev_first[self.lev_client]

    def counts(self) -> np.ndarray:
        """Levels per customer."""
        return np.diff(self.lev_first)

    def top(self, cap: np.ndarray) -> np.ndarray:
        """Local index of each customer's last level with cost ≤ ``cap[i]`` (−1 if none)."""
        under = self.lev_cost <= cap[self.lev_client]
        return np.bincount(self.lev_client[under], minlength=self.n_customers) - 1

    def find(self, client: np.ndarray, cost: np.ndarray, *, or_next: bool = False) -> np.ndarray:
        """Global level of each (customer, cost), −1 where this object has no such level.

        With ``or_next`` a missing cost gives the customer's next dearer level instead (−1 if
        it has none).
        """
        ucost = np.unique(np.concatenate([self.lev_cost, cost]))
        mine = self.lev_client.astype(np.int64) * ucost.size + np.searchsorted(ucost, self.lev_cost)
        key = client.astype(np.int64) * ucost.size + np.searchsorted(ucost, cost)
        if self.n_levels == 0:
            return -np.ones(key.size, dtype=np.int64)
        pos = np.minimum(np.searchsorted(mine, key), self.n_levels - 1)
        if or_next:
            ok = (mine[pos] >= key) & (self.lev_client[pos] == client)
            return np.where(ok, pos, -1)
        return np.where(mine[pos] == key, pos, -1)


@dataclass(frozen=True)
class _Radii:
    """Where a built coarse model's rows and columns sit among the levels (for bases)."""

    n_f: int
    row_level: np.ndarray  # global level of each chained row (its segment's first level)
    z_level: np.ndarray  # global level of each z column (after the n_f y columns)


@dataclass
class _Model:
    """A built coarse model: HiGHS LP object and the maps needed to read it back."""

    lp: highspy.HighsLp
    n_f: int
    z_level: np.ndarray  # global level of each z column (after the n_f y columns)
    first_row: np.ndarray  # row of each customer's first chained row
    offset: float
    row_level: np.ndarray  # global level of each chained row (its segment's first level)

    def radii(self) -> _Radii:
        return _Radii(self.n_f, self.row_level, self.z_level)


def _build(
    problem: FacilityProblem,
    lev: _Levels,
    chosen: np.ndarray,
    top: np.ndarray,
    y_lo: np.ndarray,
    y_hi: np.ndarray,
) -> _Model:
    """The coarse chained model on the chosen levels at or below each customer's ``top``.

    ``chosen`` (bool per level) must hold every customer's first level; ``top[i]`` is the
    local index of the last level customer i may use (its covering row ends there).
    """
    n_f = problem.n_facilities
    active = lev.lev_local <= top[lev.lev_client]
    ch = np.flatnonzero(chosen & active)  # sorted: grouped by customer, ascending cost
    ch_client = lev.lev_client[ch]
    first_of_client = np.ones(ch.size, dtype=bool)
    first_of_client[1:] = ch_client[1:] != ch_client[:-1]
    # segment (position in ch) of every active level: the last chosen level not above it
    seg_of_level = np.cumsum(chosen & active) - 1
    # z columns: one per chosen level that is not its customer's first
    has_z = ~first_of_client
    z_pos = np.flatnonzero(has_z)
    zcol = -np.ones(ch.size, dtype=np.int64)
    zcol[z_pos] = n_f + np.arange(z_pos.size)
    z_cost = lev.lev_cost[ch[z_pos]] - lev.lev_cost[ch[z_pos - 1]]
    offset = float(lev.lev_cost[ch[first_of_client]].sum())
    # rows r = 0..len(ch)-1: z[r+1] − z[r] + Σ_{segment r} y ≥ [r is a first level]
    nxt_same = np.zeros(ch.size, dtype=bool)
    nxt_same[:-1] = ~first_of_client[1:]
    r_plus = np.flatnonzero(nxt_same)
    r_minus = z_pos
    pair_ok = lev.pair_level < lev.n_levels  # all
    pair_ok &= active[lev.pair_level]
    p_rows = seg_of_level[lev.pair_level[pair_ok]]
    rows = [r_plus, r_minus, p_rows]
    cols = [zcol[r_plus + 1], zcol[r_minus], lev.pf[pair_ok]]
    vals = [np.ones(r_plus.size), -np.ones(r_minus.size), np.ones(p_rows.size)]
    n_rows = ch.size
    row_lo = np.where(first_of_client, 1.0, 0.0)
    row_hi = np.full(n_rows, highspy.kHighsInf)
    if problem.p is not None:
        rows.append(np.full(n_f, n_rows))
        cols.append(np.arange(n_f))
        vals.append(np.ones(n_f))
        row_lo = np.append(row_lo, float(problem.p) if problem.p_limit == "exactly" else -np.inf)
        row_hi = np.append(row_hi, float(problem.p))
        n_rows += 1
    n_cols = n_f + z_pos.size
    mat = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_cols),
    )
    mat.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    f = np.where(problem.fixed_open, 0.0, problem.open_cost).astype(float)
    lp.col_cost_ = np.concatenate([f, z_cost])
    lp.col_lower_ = np.concatenate([y_lo, np.zeros(z_pos.size)])
    lp.col_upper_ = np.concatenate([y_hi, np.full(z_pos.size, highspy.kHighsInf)])
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -highspy.kHighsInf)
    lp.row_upper_ = row_hi
    lp.offset_ = offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    return _Model(lp, n_f, ch[z_pos], np.flatnonzero(first_of_client), offset, ch)


#: HiGHS basis statuses by their integer code (kLower 0, kBasic 1, kUpper 2, kZero 3, ...).
_STATUS = np.array([highspy.HighsBasisStatus(v) for v in range(5)], dtype=object)
_BASIC = int(highspy.HighsBasisStatus.kBasic)
_LOWER = int(highspy.HighsBasisStatus.kLower)


def _map_basis(
    old: _Radii, new: _Radii, basis: highspy.HighsBasis, renumber: np.ndarray | None = None
) -> highspy.HighsBasis | None:
    """Carry a basis of model ``old`` to model ``new``: the same y, radii added or removed.

    A segment of ``old`` split by new radii (rows r, r′ and the new z between them) keeps
    a nonsingular basis of the same size: if r's slack was basic, the new rows' slacks are
    basic and the new z sit at 0 (the basis matrix is the old one with r's row and slack
    swapped for the same minor); if r was tight, the new z are basic and the new rows tight
    (adding the new rows back to r gives the old row, and each new z is then alone in its
    row). So a node re-solves in a few dual simplex iterations instead of from scratch.
    Rows and z removed (a lower cap, or ``renumber``: ``old`` on other levels, mapped by
    this array, −1 for a level that is gone) can change the count: the basis is then
    marked ``alien`` and HiGHS completes it. ``None`` when no old row survives.
    """
    col = np.fromiter((int(s) for s in basis.col_status), dtype=np.int64)
    row = np.fromiter((int(s) for s in basis.row_status), dtype=np.int64)
    n_f, n_old = old.n_f, old.row_level.size
    old_rows, old_z = old.row_level, old.z_level
    if renumber is not None:
        # levels of another _Levels object: old radii that no longer exist are dropped
        old_rows, old_z = renumber[old_rows], renumber[old_z]
        keep_r, keep_z = old_rows >= 0, old_z >= 0
        row = np.concatenate([row[:n_old][keep_r], row[n_old:]])
        col = np.concatenate([col[:n_f], col[n_f:][keep_z]])
        old_rows, old_z = old_rows[keep_r], old_z[keep_z]
        n_old = old_rows.size
    if n_old == 0:
        return None
    # the old row whose segment holds each new row's first level (first levels are always kept)
    parent = np.maximum(np.searchsorted(old_rows, new.row_level, side="right") - 1, 0)
    same = old_rows[parent] == new.row_level
    split_basic = row[parent] == _BASIC
    new_row = np.where(same, row[parent], np.where(split_basic, _BASIC, _LOWER))
    z_par = np.maximum(np.searchsorted(old_rows, new.z_level, side="right") - 1, 0)
    z_old = np.minimum(np.searchsorted(old_z, new.z_level), max(old_z.size - 1, 0))
    z_same = old_z[z_old] == new.z_level if old_z.size else np.zeros(new.z_level.size, dtype=bool)
    new_z = np.where(
        z_same,
        col[n_f + z_old] if old_z.size else _LOWER,
        np.where(row[z_par] == _BASIC, _LOWER, _BASIC),
    )
    new_col = np.concatenate([col[:n_f], new_z])
    new_row = np.concatenate([new_row, row[n_old:]])  # the p row, if any
    out = highspy.HighsBasis()
    out.col_status = _STATUS[new_col].tolist()
    out.row_status = _STATUS[new_row].tolist()
    out.valid = True
    n_basic = int((new_col == _BASIC).sum() + (new_row == _BASIC).sum())
    # renumbered levels: a customer's first radius may have gone, so HiGHS checks the basis
    out.alien = renumber is not None or n_basic != new_row.size
    return out


def _map_cut(old: _Radii, new: _Radii, z_cut: np.ndarray | None) -> np.ndarray | None:
    """A node's z fixings on ``old`` carried to ``new`` (a new radius starts unfixed)."""
    if z_cut is None or not old.z_level.size:
        return None
    pos = np.minimum(np.searchsorted(old.z_level, new.z_level), old.z_level.size - 1)
    return np.where(old.z_level[pos] == new.z_level, z_cut[pos], False)


def _level_mass(lev: _Levels, y: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open mass at each level and the mass strictly below it (same customer)."""
    active = lev.lev_local <= top[lev.lev_client]
    pa = active[lev.pair_level]
    mass = np.bincount(lev.pair_level[pa], weights=y[lev.pf[pa]], minlength=lev.n_levels)
    cum = np.cumsum(mass)
    before_client = np.concatenate(([0.0], cum))[lev.lev_first[lev.lev_client]]
    below = cum - mass - before_client
    return mass, below


def _landing(lev: _Levels, y: np.ndarray, top: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Levels where open mass sits while the customer is not yet fully served below it.

    These are exactly the radii a coarse model must have for its cost of ``y`` to be exact.
    """
    mass, below = _level_mass(lev, y, top)
    return (mass > tol) & (below < 1.0 - tol)


def _true_cost(problem: FacilityProblem, lev: _Levels, open_: np.ndarray) -> float:
    """Cost of an open set on the full problem (inf if a customer has no open pair)."""
    ok = open_[lev.pf]
    best = np.full(problem.n_customers, np.inf)
    np.minimum.at(best, lev.pc[ok], lev.cost[ok])
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    return float(best.sum() + f[open_].sum())


class _Runner:
    """HiGHS runs sharing one wall-clock deadline, seed, stop event and progress."""

    def __init__(
        self,
        deadline: float,
        seed: int,
        stop: threading.Event | None,
        progress: ProgressFn | None,
        t0: float,
        integral: bool,
    ) -> None:
        self.deadline, self.seed = deadline, seed
        self.stop, self.progress, self.t0, self.integral = stop, progress, t0, integral

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def expired(self) -> bool:
        return self.left() <= 0 or (self.stop is not None and self.stop.is_set())

    def highs(self, model: _Model, *, mip: bool, node_lp: bool = False) -> highspy.Highs:
        """A HiGHS object holding ``model`` (an LP unless ``mip``), seeded, with the deadline.

        ``node_lp``: branch-and-bound node LPs (a fraction of a second each) rely on HiGHS's
        own time limit, set before each node, and take the per-iteration interrupt callback
        only for a stop event: the callback runs Python at every simplex iteration (about
        3 % of pmed36's tree search).
        """
        h = new_highs()
        h.setOptionValue("random_seed", int(self.seed))
        h.setOptionValue("time_limit", float(max(self.left(), 0.01)))
        h.setOptionValue("mip_rel_gap", 0.0)
        # integral costs: a gap below 1 proves optimality without a tolerance
        h.setOptionValue("mip_abs_gap", 0.999 if self.integral else 1e-6)
        lp = model.lp
        if mip:
            lp.integrality_ = [highspy.HighsVarType.kInteger] * model.n_f + [
                highspy.HighsVarType.kContinuous
            ] * (lp.num_col_ - model.n_f)
        else:
            lp.integrality_ = []
        h.passModel(lp)

        def on_interrupt(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
            # HiGHS checks its own limit only between some phases: enforce the deadline here
            if self.expired():
                e.interrupt()

        if node_lp and self.stop is None:
            return h
        h.cbMipInterrupt.subscribe(on_interrupt)
        h.cbSimplexInterrupt.subscribe(on_interrupt)
        h.cbIpmInterrupt.subscribe(on_interrupt)
        if mip and self.progress is not None:
            progress, t0 = self.progress, self.t0

            def on_improve(e: highspy.cb.HighsCallbackEvent) -> None:  # type: ignore[name-defined]
                progress(
                    ProgressEvent(
                        time.perf_counter() - t0,
                        float(e.data_out.objective_function_value),
                        float(e.data_out.mip_dual_bound),
                        "radius-mip",
                    )
                )

            h.cbMipImprovingSolution.subscribe(on_improve)
        return h


def _z_start(lev: _Levels, model: _Model, open_: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Column values of an open set in a built model (z = 1 while not served below)."""
    y = open_.astype(float)
    _, below = _level_mass(lev, y, top)
    z = np.where(below[model.z_level] < 0.5, 1.0, 0.0)
    return np.concatenate([y, z])


def solve_radius(
    problem: FacilityProblem,
    *,
    time_limit: float,
    seed: int = 0,
    start: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    max_lp_rounds: int = 50,
    max_mip_rounds: int = 30,
    lagrangian_seconds: float = 5.0,
    lagrangian_iterations: int = 800,
    mip_radii: str = "auto",
    all_radii_below: int = 60_000,
    options: dict[str, bool | int | float | str] | None = None,
    mip_method: str = "branch",
    max_nodes: int = 100_000,
    lp_warm: bool = True,
) -> RadiusResult:
    """Solve an uncapacitated facility problem to proven optimality (or the deadline).

    Parameters
    ----------
    problem : FacilityProblem
        Must satisfy :func:`radius_applies`.
    time_limit : float
        Wall-clock seconds for this call (model building, LPs and MIPs together).
    seed : int
        HiGHS ``random_seed`` (one thread, ``solvers.highs_model.HIGHS_THREADS``): the answer
        is deterministic.
    start : numpy.ndarray, optional
        (n_facilities,) bool open set of a feasible solution: its cost is the upper bound U
        for the reductions and the MIP start.
    progress, stop
        Progress callback and cancel event (checked inside HiGHS as well).
    t0 : float, optional
        ``time.perf_counter()`` of the overall run, for progress times.
    max_lp_rounds, max_mip_rounds : int
        Caps on radius-refinement rounds (each round re-solves the LP or the MIP).
    lagrangian_seconds : float
        Safety cap on the subgradient time of the pre-reduction (exactly p only; 0 = skip).
    lagrangian_iterations : int
        Subgradient steps of the pre-reduction: a work limit, so the reduction (and the whole
        answer) does not depend on the machine's speed unless ``lagrangian_seconds`` binds.
    mip_radii : {"auto", "all", "landing"}
        Radii of the MIP: every radius under the caps ("all"), the LP's radii refined by the
        MIP's solutions ("landing"), or "all" when at most ``all_radii_below`` ("auto").
    all_radii_below : int
        Threshold for ``mip_radii="auto"``.
    options : dict, optional
        Extra HiGHS options for the MIP (name → value); the branch-and-bound reads only
        ``mip_rel_gap`` (stop when the gap to the least open node is within it).
    mip_method : {"branch", "highs"}
        After the LP: the branch-and-bound on the facilities, or HiGHS's MIP solver.
    max_nodes : int
        Node limit of the branch-and-bound (a work limit; the bound stays valid).
    lp_warm : bool
        Start each refinement round of the LP phase from the last round's basis carried
        over to the refined model (:func:`_map_basis`); ``False`` solves every round from
        scratch (the same LP values, several times slower: for comparison).

    Returns
    -------
    RadiusResult
        ``optimal`` only when the bound equals the objective on the full problem.

    Raises
    ------
    ValueError
        When the problem is not uncapacitated (see :func:`radius_applies`), or for an
        unknown ``mip_method``.
    """
    if not radius_applies(problem):
        raise ValueError("the radius formulation needs an uncapacitated problem without fallbacks")
    if mip_method not in ("branch", "highs"):
        raise ValueError(f"mip_method must be 'branch' or 'highs', not {mip_method!r}")
    t_begin = time.perf_counter()
    t0 = t_begin if t0 is None else t0
    integral = bool(
        np.allclose(problem.pair_cost, np.round(problem.pair_cost), rtol=0, atol=1e-9)
        and np.allclose(problem.open_cost, np.round(problem.open_cost), rtol=0, atol=1e-9)
    )
    run = _Runner(t_begin + time_limit, seed, stop, progress, t0, integral)
    n_f = problem.n_facilities
    full = _Levels(problem, problem.forbidden)  # true costs are always taken on the full problem
    info: dict[str, object] = {"method": "radius", "levels": full.n_levels}
    if (full.counts() == 0).any():
        return RadiusResult("infeasible", np.inf, np.inf, None, time.perf_counter() - t_begin, info)
    y_lo = problem.fixed_open.astype(float)
    y_hi = np.where(problem.forbidden, 0.0, 1.0)
    best_open: np.ndarray | None = None
    upper = np.inf
    if start is not None:
        best_open = np.asarray(start, dtype=bool).copy()
        upper = _true_cost(problem, full, best_open)
        if not np.isfinite(upper):
            best_open, upper = None, np.inf
    lower = -np.inf

    # -- Lagrangian pre-reduction (exactly p): pairs and facilities no solution ≤ U uses ------
    work = problem
    if np.isfinite(upper) and lagrangian_seconds > 0 and lagrangian_applies(problem):
        # limit U + ε (not U − 1): the incumbent and every solution costing ≤ U survive
        lag = lagrangian_eliminate(
            problem,
            upper + 1.0 if integral else upper + 4e-9 * max(1.0, abs(upper)),
            integral=integral,
            time_limit=min(lagrangian_seconds, max(run.left(), 0.0) / 4),
            max_iter=lagrangian_iterations,
        )
        lower = max(lower, lag.bound)
        dropped = lag.dropped if lag.dropped is not None else np.zeros(problem.n_pairs, bool)
        y_hi[lag.closed] = 0.0
        y_lo[lag.opened] = 1.0
        work = problem.restrict(~dropped & ~lag.closed[problem.pair_facility], None)
        info.update(
            lagrangian_bound=lag.bound,
            lagrangian_seconds=round(lag.seconds, 3),
            lagrangian_iterations=lag.iterations,
            lagrangian_pairs=int(dropped.sum()),
            eliminated_pairs=int(problem.n_pairs - work.n_pairs),
        )
    lev = _Levels(work, y_hi < 0.5)
    if (lev.counts() == 0).any():
        # a customer has no pair that a solution costing ≤ U could use: U is optimal
        info["bound_source"] = "lagrangian"
        lower = upper
    # radius cap per customer: nobody pays more than its cost to a must-open facility
    cap = _open_cap(problem, lev, y_lo > 0.5)
    top = lev.top(cap)

    def better(open_: np.ndarray) -> None:
        nonlocal best_open, upper
        val = _true_cost(problem, full, open_)
        if val < upper and (not np.isfinite(upper) or val < upper - 1e-9 * max(1.0, abs(upper))):
            best_open, upper = open_.copy(), val

    def proven() -> bool:
        if not np.isfinite(upper):
            return False
        lb = float(np.ceil(lower - 1e-6)) if integral else lower
        return lb >= upper - 1e-6 * max(1.0, abs(upper))

    def result(status: str) -> RadiusResult:
        bound = min(lower, upper) if np.isfinite(upper) else lower
        if integral and np.isfinite(bound):
            bound = float(np.ceil(bound - 1e-6))
        if best_open is None and status != "infeasible":
            status = "no_solution"
        return RadiusResult(status, upper, bound, best_open, time.perf_counter() - t_begin, info)

    if proven():
        info.setdefault("bound_source", "lagrangian")
        return result("optimal")
    # initial radii: each customer's first two levels and its level in the start
    chosen = np.zeros(lev.n_levels, dtype=bool)
    chosen[lev.lev_first[:-1]] = True
    second = lev.lev_first[:-1] + 1
    chosen[second[second < lev.lev_first[1:]]] = True
    if best_open is not None:
        chosen |= _landing(lev, best_open.astype(float), top)

    # -- LP phase: refine the radii until the coarse LP is exact, then fix by reduced cost ----
    lp_rounds, lp_value, lp_iterations = 0, -np.inf, 0
    y_lp = np.zeros(n_f)
    tried: list[np.ndarray] = []
    last_lp: tuple[_Model, _Levels, highspy.Highs] | None = None
    while lp_rounds < max_lp_rounds and not run.expired():
        lp_rounds += 1
        model = _build(problem, lev, chosen, top, y_lo, y_hi)
        h = run.highs(model, mip=False)
        if last_lp is not None and lp_warm:
            # warm: the last round's optimal basis carried over to the refined model
            basis = _map_basis(last_lp[0].radii(), model.radii(), last_lp[2].getBasis())
            if basis is not None:
                h.setBasis(basis)
        h.run()
        lp_iterations += int(h.getInfo().simplex_iteration_count)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
                info["lp_rounds"] = lp_rounds
                return result("infeasible")
            break
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        y_lp = x[:n_f]
        last_lp = (model, lev, h)
        # every coarse LP is a relaxation: its value is a bound, its reduced costs fix
        lp_now = float(h.getInfo().objective_function_value)
        lower = max(lower, lp_now)
        # the LP solution rounded and improved by swaps: often better than the greedy start
        # (LP rounds near the end only: a swap search costs up to a second on 900 nodes)
        exact = not (_landing(lev, y_lp, top) & ~chosen).any()
        near = not np.isfinite(upper) or upper - lp_now <= 0.005 * max(abs(upper), 1.0)
        rounded = _round_lp(problem, y_lp, y_lo > 0.5, y_hi < 0.5) if exact or near else None
        if (
            rounded is not None
            and len(tried) < 3
            and not any(np.array_equal(rounded, r) for r in tried)
        ):
            tried.append(rounded)
            ls = uncapacitated_local_search(
                problem, time_limit=min(1.0, max(run.left(), 0.0) / 20), initial=rounded
            )
            if ls is not None:
                before = upper
                better(ls)
                if upper < before:
                    info["lp_rounding_improved"] = True
        if np.isfinite(upper):
            closed, opened, cut = _fixings(lp_now, np.asarray(sol.col_dual), x, model, upper)
            y_hi[closed] = 0.0
            y_lo[opened] = 1.0
            # a cut z: the customer pays at most the level just below it
            np.minimum.at(cap, lev.lev_client[cut], lev.lev_cost[cut - 1])
            cap = np.minimum(cap, _open_cap(problem, lev, y_lo > 0.5))
            # Lagrangian caps from the LP duals: cost ≥ L(λ) + (d_i − λ_i)⁺ for any λ
            lam = lev.lev_cost[lev.lev_first[:-1]] + _first_row_duals(model, sol.row_dual)
            lag_val, _ = _lagrangian_value(work, lam, y_lo > 0.5, y_hi < 0.5)
            slack = 1e-6 * max(1.0, abs(upper))
            cap = np.minimum(cap, lam + max(upper - lag_val, 0.0) + slack)
            top = np.minimum(top, lev.top(cap))
            info.update(
                dual_lagrangian_bound=lag_val,
                closed_facilities=int((y_hi < 0.5).sum()),
                fixed_open_facilities=int((y_lo > 0.5).sum()),
                radius_cuts=int(info.get("radius_cuts", 0)) + int(cut.size),  # type: ignore[call-overload]
            )
        if proven() or (top < 0).any():
            break
        add = _landing(lev, y_lp, top) & ~chosen
        if add.any():
            chosen |= add  # the coarse LP charged someone too little: refine and re-solve
            continue
        lp_value = lp_now  # exact: this coarse LP is the full LP
        break
    info["lp_rounds"] = lp_rounds
    info["lp_iterations"] = lp_iterations
    info["lp_bound"] = lp_value
    info["lp_seconds"] = round(time.perf_counter() - t_begin, 3)
    if progress is not None:
        progress(ProgressEvent(time.perf_counter() - t0, upper, lower, "radius-lp"))
    if proven():
        info["bound_source"] = "lp"
        return result("optimal")

    # -- branch-and-bound over the LP's coarse model, warm from its last basis --------------
    if mip_method == "branch" and not (lev.top(cap) < 0).any():
        # the levels without the facilities the LP closed: their pairs leave the model, and
        # so do the radii only they had (a smaller LP at every node); a chosen radius whose
        # pairs all left becomes the customer's next radius (the same charges, never less)
        red = _Levels(work, y_hi < 0.5)
        red_top = red.top(cap)
        if (red_top < 0).any():
            info["bound_source"] = "reduction"
            lower = upper
            return result("optimal")
        old = np.flatnonzero(chosen)
        hit = red.find(lev.lev_client[old], lev.lev_cost[old], or_next=True)
        red_chosen = np.zeros(red.n_levels, dtype=bool)
        red_chosen[hit[hit >= 0]] = True
        red_chosen[red.lev_first[:-1]] = True
        warm = None
        if last_lp is not None and last_lp[1] is lev:
            model = _build(problem, red, red_chosen, red_top, y_lo, y_hi)
            h = run.highs(model, mip=False, node_lp=True)
            renumber = red.find(lev.lev_client, lev.lev_cost)
            basis = _map_basis(last_lp[0].radii(), model.radii(), last_lp[2].getBasis(), renumber)
            if basis is not None:
                h.setBasis(basis)
            warm = (model, h)
        lev, chosen, top = red, red_chosen, red_top
        tree = _branch_and_bound(
            problem,
            lev,
            chosen,
            top,
            y_lo,
            y_hi,
            run,
            lambda: upper,
            better,
            rel_gap=float((options or {}).get("mip_rel_gap", 0.0)),
            max_nodes=max_nodes,
            warm=warm,
        )
        lower = max(lower, tree.bound)
        info.update(
            bb_nodes=tree.nodes,
            bb_iterations=tree.iterations,
            bb_refinements=tree.refinements,
            bb_exhausted=tree.exhausted,
            radii=tree.radii,
            mip_seconds=round(time.perf_counter() - t_begin - float(info["lp_seconds"]), 3),  # type: ignore[arg-type]
        )
        if tree.exhausted and not np.isfinite(upper):
            return result("infeasible")
        if proven():
            info["bound_source"] = "branch"
            return result("optimal")
        return result("feasible")

    # -- MIP phase on the reduced problem: closed facilities gone, radii capped -------------
    red = _Levels(work, y_hi < 0.5)
    top = red.top(cap)
    kept = int((red.lev_local[red.pair_level] <= top[red.pc]).sum())
    info["eliminated_pairs"] = int(problem.n_pairs - kept)
    if (top < 0).any():
        # some customer has no radius left that a solution costing ≤ U could use: U is optimal
        info["bound_source"] = "reduction"
        lower = upper
        return result("optimal")
    active = red.lev_local <= top[red.lev_client]
    info["active_levels"] = int(active.sum())
    if mip_radii == "all" or (mip_radii == "auto" and active.sum() <= all_radii_below):
        chosen = active.copy()
    else:
        # the LP's radii (mapped onto the reduced levels) plus where the LP solution lands
        old = np.flatnonzero(chosen)
        hit = red.find(lev.lev_client[old], lev.lev_cost[old])
        chosen = np.zeros(red.n_levels, dtype=bool)
        chosen[hit[hit >= 0]] = True
        chosen[red.lev_first[:-1]] = True
        chosen |= _landing(red, y_lp, top)
        if best_open is not None:
            chosen |= _landing(red, best_open.astype(float), top)
    lev = red

    # -- MIP rounds: solve the coarse model, add the radii its solution lands on, repeat ------
    mip_rounds = 0
    presolve = True
    while mip_rounds < max_mip_rounds and not run.expired():
        mip_rounds += 1
        model = _build(problem, lev, chosen, top, y_lo, y_hi)
        h = run.highs(model, mip=True)
        for key, value in (options or {}).items():
            h.setOptionValue(key, value)
        if not presolve:
            h.setOptionValue("presolve", "off")
        if best_open is not None and np.all(best_open >= y_lo) and np.all(best_open <= y_hi):
            val = _z_start(lev, model, best_open, top)
            h.setSolution(val.size, np.arange(val.size, dtype=np.int32), val)
        h.run()
        ms = h.getModelStatus()
        mi = h.getInfo()
        info["mip_nodes"] = int(info.get("mip_nodes", 0)) + int(mi.mip_node_count)  # type: ignore[call-overload]
        if ms == highspy.HighsModelStatus.kInfeasible:
            # no solution costing ≤ U was cut off, so none exists at all, or U is optimal
            if np.isfinite(upper):
                lower = upper
                break
            info["mip_rounds"] = mip_rounds
            return result("infeasible")
        if mi.primal_solution_status != 2:
            lower = max(lower, float(mi.mip_dual_bound))
            break
        x = np.asarray(h.getSolution().col_value)
        rep = float(mi.objective_function_value)
        col_obj = float(np.dot(model.lp.col_cost_, x) + model.offset)
        if abs(col_obj - rep) > 1e-6 * max(1.0, abs(rep)) or rep < lower - 1e-6 * max(1, abs(rep)):
            # HiGHS 1.16 presolve fault seen on reduced p-median models (pmed4 reported 2974,
            # below the LP bound 3034): trust nothing from that run, solve again unpresolved
            info["presolve_mismatch"] = True
            if not presolve:
                break
            presolve = False
            continue
        y = x[:n_f] > 0.5
        better(y)
        # a bound of the coarse model is a bound of the full problem (a relaxation)
        lower = max(lower, float(mi.mip_dual_bound))
        add = _landing(lev, y.astype(float), top) & ~chosen
        if ms == highspy.HighsModelStatus.kOptimal and not add.any():
            # exact on its own radii: the coarse optimum is a full solution of equal cost,
            # and the coarse model's bound (already taken) is a bound of the full problem
            break
        if proven() or not add.any():
            break
        chosen |= add
    info["mip_rounds"] = mip_rounds
    info["mip_seconds"] = round(time.perf_counter() - t_begin - float(info["lp_seconds"]), 3)  # type: ignore[arg-type]
    info["radii"] = int(chosen.sum())
    if proven():
        info["bound_source"] = "mip"
        return result("optimal")
    return result("feasible")


def _round_lp(
    problem: FacilityProblem, y: np.ndarray, must: np.ndarray, banned: np.ndarray
) -> np.ndarray | None:
    """Open the must-open facilities and then the largest LP values (p of them if exactly p)."""
    score = np.where(banned, -1.0, np.where(must, 2.0, y))
    if problem.p is not None and problem.p_limit == "exactly":
        k = problem.p
    else:
        k = int((score > 0.5).sum())
        if problem.p is not None:
            k = min(k, problem.p)
    if k <= 0 or int((~banned).sum()) < k:
        return None
    order = np.argsort(-score, kind="stable")[:k]
    out = np.zeros(problem.n_facilities, dtype=bool)
    out[order] = True
    return out


def _first_row_duals(model: _Model, row_dual: object) -> np.ndarray:
    """Dual of each customer's first chained row (its rows come first, one per chosen level)."""
    duals = np.abs(np.asarray(row_dual, dtype=float))
    return duals[model.first_row]


def _lagrangian_value(
    problem: FacilityProblem, lam: np.ndarray, must: np.ndarray, banned: np.ndarray
) -> tuple[float, np.ndarray]:
    """L(λ) = Σ λ_i + min over allowed open sets S of Σ_{j∈S} ρ_j (exact, on the kept pairs).

    ρ_j = f_j + Σ_i min(0, c_ij − λ_i). Any solution with open set S and customers at their
    nearest open facility costs at least L(λ) + (d_i − λ_i)⁺ for every single customer i.
    """
    f = np.where(problem.fixed_open, 0.0, problem.open_cost).astype(float)
    red = np.minimum(problem.pair_cost - lam[problem.pair_customer], 0.0)
    rho = f + np.bincount(problem.pair_facility, weights=red, minlength=problem.n_facilities)
    free = np.flatnonzero(~must & ~banned)
    take = must.copy()
    rest = np.sort(rho[free])
    k_must = int(must.sum())
    if problem.p is not None and problem.p_limit == "exactly":
        k = max(problem.p - k_must, 0)
        extra = float(rest[:k].sum())
    else:
        k = rest.size if problem.p is None else max(problem.p - k_must, 0)
        extra = float(np.minimum(rest[:k], 0.0).sum())
    return float(lam.sum() + rho[take].sum() + extra), rho


def _open_cap(problem: FacilityProblem, lev: _Levels, is_open: np.ndarray) -> np.ndarray:
    """Per customer the cheapest cost to a facility that is surely open (inf if none)."""
    cap = np.full(problem.n_customers, np.inf)
    fx = is_open[lev.pf]
    np.minimum.at(cap, lev.pc[fx], lev.cost[fx])
    return cap


def _fixings(
    lp_value: float,
    rc: np.ndarray,
    x: np.ndarray,
    model: _Model,
    upper: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduced-cost fixing: closed and opened facilities, and z levels that no solution ≤ U uses.

    A column at a bound with reduced cost r: moving it by one unit costs at least
    ``lp_value + |r|``. If that exceeds U, every solution costing ≤ U keeps it at its bound.
    """
    n_f = model.n_f
    slack = 1e-6 * max(1.0, abs(upper))
    # "> U" (not "≥ U − 1") keeps every solution costing ≤ U, the incumbent included
    limit = upper + slack
    ry, yv = rc[:n_f], x[:n_f]
    closed = (yv < 1e-9) & (lp_value + ry > limit)
    opened = (yv > 1 - 1e-9) & (lp_value - ry > limit)
    rz, zv = rc[n_f:], x[n_f:]
    cut = model.z_level[(zv < 1e-9) & (lp_value + rz > limit)]
    return closed, opened, cut


@dataclass
class _Tree:
    """Outcome of :func:`_branch_and_bound`: a valid bound and the search effort."""

    bound: float
    nodes: int
    exhausted: bool
    refinements: int
    radii: int
    iterations: int  # dual simplex iterations of all node LPs (work, whatever the machine load)


def _branch_and_bound(
    problem: FacilityProblem,
    lev: _Levels,
    chosen: np.ndarray,
    top: np.ndarray,
    y_lo: np.ndarray,
    y_hi: np.ndarray,
    run: _Runner,
    upper: Callable[[], float],
    better: Callable[[np.ndarray], None],
    *,
    rel_gap: float,
    max_nodes: int,
    warm: tuple[_Model, highspy.Highs] | None = None,
    max_refinements: int = 50,
) -> _Tree:
    """Best-first LP branch-and-bound on the facilities over the coarse radius model.

    The coarse model (``chosen`` radii) is a relaxation, so every node's LP value is a valid
    bound for its subtree. A node whose LP optimum has integral y is solved when the coarse
    cost of that open set is its true cost; otherwise the radii it lands on are added, the
    model is rebuilt (a refinement) and the node is solved again. Radii that fractional node
    optima land on are collected and added at the next rebuild.

    Each node re-solves the LP from its parent's basis (dual simplex after a bound change):
    the closing child at once (HiGHS still holds the basis), the opening child later from the
    queue, least key first. Reduced costs fix y and z in the subtree; the branching facility
    is the most fractional y. Only solutions cheaper than the incumbent are searched for: a
    node whose LP value exceeds U − 1 (integral costs) or U − tolerance is pruned (the dual
    simplex stops there, HiGHS ``objective_bound``), so an exhausted tree proves U optimal.
    The bound is the least key left in the tree, so it stays valid when the deadline or the
    node limit stops the search.
    """
    n_f = problem.n_facilities
    chosen = chosen.copy()
    pending = np.zeros(lev.n_levels, dtype=bool)
    if warm is not None:
        model, h = warm
    else:
        model = _build(problem, lev, chosen, top, y_lo, y_hi)
        h = run.highs(model, mip=False, node_lp=True)
    gen, refinements = 0, 0
    shapes = {gen: model.radii()}  # each generation's radii, to carry queued nodes' bases over

    def z_upper(model: _Model) -> np.ndarray:
        # caps tightened after the model was built: "pays less than this radius" ⇒ z = 0
        over = lev.lev_local[model.z_level] > top[lev.lev_client[model.z_level]]
        return np.where(over, 0.0, highspy.kHighsInf)

    z_hi = z_upper(model)
    heap: list[_Node] = [_Node(-np.inf, 0, y_lo.copy(), y_hi.copy())]
    dive: _Node | None = None  # a child of the node just solved: HiGHS holds its basis
    seq, nodes, iterations = 1, 0, 0
    while heap or dive is not None:
        limit = _prune_limit(upper(), run.integral)
        key = min([n.key for n in (heap[:1] + ([dive] if dive is not None else []))])
        if key > limit:
            heap.clear()
            dive = None
            break
        if np.isfinite(key) and upper() - key <= rel_gap * max(abs(upper()), 1.0):
            break
        if run.expired() or nodes >= max_nodes or refinements >= max_refinements:
            break
        if run.progress is not None and nodes % PROGRESS_NODES == 0 and nodes:
            bound = float(np.ceil(key - 1e-6)) if run.integral else key
            run.progress(
                ProgressEvent(
                    time.perf_counter() - run.t0, upper(), bound, f"radius-branch {nodes} nodes"
                )
            )
        if dive is not None:
            node, dive = dive, None
        else:
            node = heapq.heappop(heap)
        if node.gen != gen:  # queued before the last refinement: carry its basis and z cuts over
            was, now = shapes[node.gen], shapes[gen]
            node.z_cut = _map_cut(was, now, node.z_cut)
            if node.basis is not None:
                node.basis = _map_basis(was, now, node.basis)
            node.gen = gen
        key, lo, hi, z_cut = node.key, node.lo, node.hi, node.z_cut
        n_col = int(model.lp.num_col_)
        h.changeColsBounds(
            n_col,
            np.arange(n_col, dtype=np.int32),
            np.concatenate([lo, np.zeros(n_col - n_f)]),
            np.concatenate([hi, z_hi if z_cut is None else np.where(z_cut, 0.0, z_hi)]),
        )
        if node.basis is not None:
            h.setBasis(node.basis)
        # HiGHS's time limit counts from the object's creation, not from this run
        h.setOptionValue("time_limit", float(h.getRunTime() + max(run.left(), 0.01)))
        # dual simplex stops once its objective (a bound in phase 2) passes the limit
        h.setOptionValue("objective_bound", float(limit) if np.isfinite(limit) else np.inf)
        h.run()
        iterations += int(h.getInfo().simplex_iteration_count)  # this run's
        nodes += 1
        status = h.getModelStatus()
        if status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kObjectiveBound,
        ):
            continue
        if status != highspy.HighsModelStatus.kOptimal:
            # deadline or stop inside the LP: the node stays open so the bound stays valid
            heapq.heappush(heap, node)
            break
        value = max(float(h.getInfo().objective_function_value), key)
        if value > limit:
            continue
        sol = h.getSolution()
        x = np.asarray(sol.col_value)[:n_f]
        frac = np.flatnonzero((x > 1e-6) & (x < 1 - 1e-6))
        pending |= _landing(lev, x, top) & ~chosen
        if frac.size == 0:
            open_ = x > 0.5
            better(open_)
            if _true_cost(problem, lev, open_) <= value + 1e-6 * max(1.0, abs(value)):
                continue  # exact: the node's LP optimum is its best open set
        if frac.size == 0 or pending.sum() > REFINE_SHARE * chosen.sum():
            # refine: rebuild with the radii the node optima landed on, solve the node again
            chosen |= pending
            pending[:] = False
            was, basis = model.radii(), h.getBasis()
            model = _build(problem, lev, chosen, top, y_lo, y_hi)
            h = run.highs(model, mip=False, node_lp=True)
            z_hi = z_upper(model)
            gen += 1
            shapes[gen] = model.radii()
            refinements += 1
            # the node again, from its own optimal basis carried over to the refined model
            z_cut = _map_cut(was, shapes[gen], z_cut)
            new_basis = _map_basis(was, shapes[gen], basis)
            heapq.heappush(heap, _Node(value, seq, lo, hi, z_cut, new_basis, gen))
            seq += 1
            continue
        dual = np.asarray(sol.col_dual)
        rc = dual[:n_f]
        lo, hi = lo.copy(), hi.copy()
        hi[(x < 1e-9) & (value + rc > limit)] = 0.0
        lo[(x > 1 - 1e-9) & (value - rc > limit)] = 1.0
        # a z at 0 whose reduced cost exceeds the gap: the customer pays less than that radius
        zv = np.asarray(sol.col_value)[n_f:]
        cut = (zv < 1e-9) & (value + dual[n_f:] > limit)
        z_cut = cut if z_cut is None else z_cut | cut
        j = int(frac[np.argmin(np.abs(x[frac] - 0.5))])  # the most fractional facility
        # plunge into the closing branch (no basis to reload); the opening one waits its turn
        c_lo, c_hi = lo.copy(), hi.copy()
        c_lo[j] = c_hi[j] = 1.0
        heapq.heappush(heap, _Node(value, seq, c_lo, c_hi, z_cut, h.getBasis(), gen))
        hi = hi.copy()
        hi[j] = 0.0
        dive = _Node(value, seq + 1, lo, hi, z_cut, None, gen)
        seq += 2
    if dive is not None:
        heapq.heappush(heap, dive)
    bound = upper() if not heap else min(n.key for n in heap)
    return _Tree(bound, nodes, not heap, refinements, int(chosen.sum()), iterations)


@dataclass(order=True)
class _Node:
    """A branch-and-bound node; ordered by its key (the parent's LP value), then creation."""

    key: float
    seq: int
    lo: np.ndarray = field(compare=False)
    hi: np.ndarray = field(compare=False)
    z_cut: np.ndarray | None = field(default=None, compare=False)  # z fixed at 0 (by rc)
    basis: highspy.HighsBasis | None = field(default=None, compare=False)  # the parent's
    gen: int = field(default=0, compare=False)  # model generation of z_cut and basis


def _prune_limit(upper: float, integral: bool) -> float:
    """Largest LP value a node may have and still hold a solution cheaper than ``upper``."""
    if not np.isfinite(upper):
        return np.inf
    if integral:
        return upper - 1.0 + 1e-6  # a better solution costs at most U − 1
    return upper - 1e-9 * max(1.0, abs(upper))
