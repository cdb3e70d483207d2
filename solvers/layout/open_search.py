"""Open-set search with exact assignments for small single-source capacitated problems.

The swap search of :func:`~solvers.layout.heuristics.capacitated_local_search` judges an open
set by a regret assignment, which on tight capacities (Osman–Christofides: 94 % of the seats
used) misjudges it by several units, so it stops far from the optimum (pmedcap08: 845 against
820) and the MIP's own heuristics, slowed by a weak root bound, do not close the rest in time.
Here an open set is judged by its *best* single-source assignment (a generalised assignment
problem, GAP):

1. every move of the neighbourhood — swap (close r, open one of the ``candidates`` closed
   facilities cheapest for r's customers), and when the count is free also drop r or add a
   facility — is scored by the GAP's LP relaxation, one HiGHS LP kept warm across open sets
   (only the bounds of the pairs of the two facilities change);
2. moves are tried in order of their LP value; the GAP MIP (node-limited, cut off at the
   incumbent) runs only while the LP value can still beat the incumbent; the first that
   improves is taken (the assignment is the MIP's best within ``GAP_NODES`` nodes, usually
   the GAP's optimum; the moves are tried best-first);
3. at a local optimum, an iterated local search: ``kick`` random swaps (seeded), the same
   descent, the better of the two kept.

Determinism: the work is charged from counts (LP simplex iterations, MIP nodes, model sizes)
to a :class:`~solvers.layout.cap_start.WorkBudget`; the wall clock is only the budget's safety
cap, recorded in ``LnsResult.cut``. Same inputs and seed, same answer.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import highspy
import numpy as np
from scipy.sparse import coo_matrix

from solvers.highs_model import new_highs
from solvers.layout.cap_start import (
    SECONDS_PER_DENSE_OP,
    WorkBudget,
    charge_lp,
    lp_open_set,
    seat_rest,
)
from solvers.layout.capacitated import LnsResult, solution_cost
from solvers.layout.heuristics import capacitated_applies, dense_costs
from solvers.layout.highs_model import integral_costs, solve_highs
from solvers.layout.problem import FacilityProblem
from solvers.progress import ProgressEvent, ProgressFn

#: Largest problem (pairs) the search is offered for: its LP keeps every pair as a column.
OPEN_SEARCH_MAX_PAIRS = 200_000
#: Calibrated seconds of one GAP LP: fixed + per simplex iteration and row (a dual simplex
#: iteration costs about one pass over the rows). Measured on Osman–Christofides pmedcap08/20
#: and Holmberg p30/p57 on a 2-core machine loaded about 1.5–2× (wall 1–3 ms per LP), scaled
#: down by about 1.5.
LP_SECONDS_FIXED = 5.0e-4
LP_SECONDS_PER_ITERATION_ROW = 6.0e-7
#: ... and of one fresh LP over the open facilities' pairs (``sparse``): its build per nonzero
#: and its dual simplex per iteration and row. Measured on Stefanello rl1304_010, u724_010 and
#: pr2392_020 with random open sets (p = 10–20): 0.8–1.4e-8 s per iteration and row, builds of
#: 2–9 ms for 14–96k nonzeros; doubled for a loaded machine, like the rest.
SPARSE_LP_SECONDS_PER_NNZ = 2.0e-7
SPARSE_LP_SECONDS_PER_ITERATION_ROW = 2.0e-8
#: Calibrated seconds of one GAP MIP: fixed + per nonzero (presolve, root cuts) + per simplex
#: iteration and row + per nonzero and node (same measurements: 30 ms on pmedcap20, 0.2–3 s
#: on p57 under a load of 2–4).
MIP_SECONDS_FIXED = 5.0e-3
MIP_SECONDS_PER_NNZ = 8.0e-6
MIP_SECONDS_PER_ITERATION_ROW = 3.0e-7
MIP_SECONDS_PER_NNZ_NODE = 1.0e-6
#: Node limit of one GAP MIP (Holmberg p31: the descent took 3.8 s at 50 nodes, 8.2 s at 200,
#: same plan; HiGHS's own heuristics stay on: without RINS/RENS it took 42 s and did worse).
GAP_NODES = 50


class _GapModel:
    """The GAP of a given open set: its LP kept warm across open sets, its MIP built fresh.

    ``sparse``: the LP too is built fresh, over the open facilities' pairs only. With few
    open facilities among many (Stefanello rl1304_010: 10 of 1,304) the warm LP over every
    pair costs about a second per open set, the fresh one a few hundredths.
    """

    def __init__(self, problem: FacilityProblem, seed: int, sparse: bool = False) -> None:
        pb = problem
        self.pb = pb
        self.seed = seed
        self.sparse = sparse
        n, nf, np_ = pb.n_customers, pb.n_facilities, pb.n_pairs
        self.rows = n + nf
        self.integral = integral_costs(pb)
        # the last LP's fractional answer (pairs, values) when sparse, for round_lp
        self.last: tuple[np.ndarray, np.ndarray] | None = None
        if sparse:
            return
        h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", int(seed))
        h.addCols(
            np_,
            pb.pair_cost.astype(float),
            np.zeros(np_),
            np.zeros(np_),  # every facility starts closed
            0,
            np.zeros(np_, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        a = self._matrix(np.arange(np_))
        h.addRows(
            self.rows,
            np.concatenate([np.ones(n), np.full(nf, -highspy.kHighsInf)]),
            np.concatenate([np.ones(n), pb.capacity[:, 0].astype(float)]),
            a.nnz,
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data,
        )
        self.h = h
        order = np.argsort(pb.pair_facility, kind="stable")
        bounds = np.searchsorted(pb.pair_facility[order], np.arange(nf + 1))
        self.by_fac = [order[bounds[i] : bounds[i + 1]].astype(np.int32) for i in range(nf)]
        self.open = np.zeros(nf, dtype=bool)

    def _matrix(self, q: np.ndarray) -> coo_matrix:
        pb = self.pb
        n, nf = pb.n_customers, pb.n_facilities
        rows = np.concatenate([pb.pair_customer[q], n + pb.pair_facility[q]])
        cols = np.concatenate([np.arange(q.size)] * 2)
        vals = np.concatenate([np.ones(q.size), pb.pair_load[q].astype(float)])
        return coo_matrix((vals, (rows, cols)), shape=(n + nf, q.size)).tocsr()

    def _set_open(self, open_: np.ndarray) -> None:
        change = np.flatnonzero(open_ != self.open)
        if change.size:
            idx = np.concatenate([self.by_fac[i] for i in change])
            ub = np.concatenate([np.full(self.by_fac[i].size, float(open_[i])) for i in change])
            self.h.changeColsBounds(idx.size, idx, np.zeros(idx.size), ub)
            self.open = open_.copy()

    def rounded(self, value: float) -> float:
        """An assignment cost can only be an integer when all costs are (LP bound rounded up)."""
        if not self.integral or not math.isfinite(value):
            return value
        return float(math.ceil(value - 1e-6))

    def lp(self, open_: np.ndarray, budget: WorkBudget) -> tuple[float, np.ndarray | None]:
        """LP value of the open set's GAP (``inf`` when its seats cannot hold everyone) and
        the assignment when the LP optimum is integral."""
        per_row = LP_SECONDS_PER_ITERATION_ROW
        if self.sparse:
            q = np.flatnonzero(open_[self.pb.pair_facility])
            h = self._model(q, integer=False)
            per_row = SPARSE_LP_SECONDS_PER_ITERATION_ROW
            budget.charge(SPARSE_LP_SECONDS_PER_NNZ * 2 * q.size)
        else:
            self._set_open(open_)
            h, q = self.h, np.arange(self.pb.n_pairs)
        h.run()
        info = h.getInfo()
        budget.charge(
            LP_SECONDS_FIXED + per_row * max(int(info.simplex_iteration_count), 0) * self.rows
        )
        self.last = None
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return float("inf"), None
        x = np.asarray(h.getSolution().col_value)
        if np.abs(x - np.round(x)).max(initial=0.0) < 1e-7:
            sel = q[x > 0.5]
            a = -np.ones(self.pb.n_customers, dtype=np.int64)
            a[self.pb.pair_customer[sel]] = self.pb.pair_facility[sel]
            return float(info.objective_function_value), a
        if self.sparse:
            self.last = (q, x)  # for round_lp
        return float(info.objective_function_value), None

    def round_lp(
        self,
        open_: np.ndarray,
        last: tuple[np.ndarray, np.ndarray] | None,
        budget: WorkBudget,
    ) -> np.ndarray | None:
        """``sparse`` only: a fractional LP answer ``last`` of ``open_`` (``self.last`` after
        :meth:`lp`) rounded, each customer the LP serves whole kept there and the split ones
        seated by regret in the seats left (:func:`~solvers.layout.cap_start.seat_rest`);
        ``None`` when they do not fit. A GAP
        vertex splits few customers (at most about one per open facility), so with few open
        facilities this is often the GAP's optimum or close, at a fraction of its MIP (on
        rl1304_010 the node-limited MIP of a kicked open set found nothing before its 5-s
        cap)."""
        if not self.sparse or last is None:
            return None
        q, x = last
        pb = self.pb
        whole = q[x > 1.0 - 1e-7]
        a = -np.ones(pb.n_customers, dtype=np.int64)
        a[pb.pair_customer[whole]] = pb.pair_facility[whole]
        room = pb.capacity[:, 0] - np.bincount(
            pb.pair_facility[whole], weights=pb.pair_load[whole], minlength=pb.n_facilities
        )
        rest = np.flatnonzero(a < 0)
        # the rest's pairs among the open facilities' (q), not an isin over every pair
        mask = np.zeros(pb.n_pairs, dtype=bool)
        mask[q[a[pb.pair_customer[q]] < 0]] = True
        # the mask and the restrict are a few passes over the pairs (measured 3-4 ms on
        # rl1304_010's 1.7 M pairs under a load of 2), the regret pass over the rest's pairs
        budget.charge(SECONDS_PER_DENSE_OP * (2 * pb.n_pairs + 20 * q.size))
        a[rest] = seat_rest(pb, open_, rest, room, pairs=mask)
        return a if (a >= 0).all() else None

    def mip(
        self, open_: np.ndarray, cutoff: float, budget: WorkBudget
    ) -> tuple[float, np.ndarray] | None:
        """The best assignment to ``open_`` cheaper than ``cutoff`` found within
        ``GAP_NODES`` nodes, or ``None``. (Keeping the customers the LP assigns whole and
        solving for the rest only was tried: on Holmberg p57 the leftover seats never fitted
        the split customers under the cutoff.)"""
        res = self._solve(np.flatnonzero(open_[self.pb.pair_facility]), cutoff, budget)
        tol = 0.5 if self.integral else 1e-9 * max(1.0, abs(cutoff))
        return res if res is not None and res[0] < cutoff - tol else None

    def _model(self, q: np.ndarray, *, integer: bool) -> highspy.Highs:
        """A fresh HiGHS model of the GAP over pairs ``q`` (binary columns when ``integer``)."""
        pb = self.pb
        g = new_highs()
        for key, value in (
            ("output_flag", False),
            ("threads", 1),
            ("random_seed", int(self.seed)),
        ):
            g.setOptionValue(key, value)
        a = self._matrix(q)
        g.addCols(
            q.size,
            pb.pair_cost[q].astype(float),
            np.zeros(q.size),
            np.ones(q.size),
            0,
            np.zeros(q.size, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        n = pb.n_customers
        g.addRows(
            self.rows,
            np.concatenate([np.ones(n), np.full(pb.n_facilities, -highspy.kHighsInf)]),
            np.concatenate([np.ones(n), pb.capacity[:, 0].astype(float)]),
            a.nnz,
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data,
        )
        if integer:
            g.changeColsIntegrality(
                q.size,
                np.arange(q.size, dtype=np.int32),
                np.full(q.size, highspy.HighsVarType.kInteger, dtype=np.uint8),
            )
        return g

    def _solve(
        self, q: np.ndarray, cutoff: float, budget: WorkBudget
    ) -> tuple[float, np.ndarray] | None:
        """GAP MIP over pairs ``q``: (cost, assignment) or ``None``."""
        pb = self.pb
        n = pb.n_customers
        g = self._model(q, integer=True)
        for key, value in (
            ("mip_max_nodes", GAP_NODES),
            ("mip_abs_gap", 0.999 if self.integral else 1e-6),
            ("mip_rel_gap", 0.0),
            ("objective_bound", float(cutoff - (0.5 if self.integral else 1e-9))),
            ("time_limit", float(max(min(budget.wall_left(), 5.0), 0.05))),
        ):
            g.setOptionValue(key, value)
        nnz = 2 * q.size
        g.run()
        timed_out = g.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
        if timed_out and "open_search_gap" not in budget.cut:
            budget.cut.append("open_search_gap")  # the safety cap struck, not the node limit
        info = g.getInfo()
        iters = max(int(info.simplex_iteration_count), 0)
        budget.charge(
            MIP_SECONDS_FIXED
            + MIP_SECONDS_PER_NNZ * nnz
            + MIP_SECONDS_PER_ITERATION_ROW * iters * self.rows
            + MIP_SECONDS_PER_NNZ_NODE * nnz * int(info.mip_node_count)
        )
        if info.primal_solution_status != 2:
            return None
        x = np.asarray(g.getSolution().col_value) > 0.5
        assign = -np.ones(n, dtype=np.int64)
        assign[pb.pair_customer[q[x]]] = pb.pair_facility[q[x]]
        if (assign < 0).any():
            return None
        return float(pb.pair_cost[q[x]].sum()), assign


def lp_rounded_start(
    problem: FacilityProblem, budget: WorkBudget, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """A second start, far from the swap search's: the LP relaxation rounded.

    Opens the facilities that must open and then those with the largest ``y`` in the LP
    relaxation of the whole problem (the strong formulation), up to ``p``, and assigns by the
    GAP MIP of that open set (node-limited, as in the search). On tight capacities the swap
    search and the LP lead to different basins: on Osman–Christofides pmedcap20 the optimum
    (1005) shares 3 of its 10 medians with the swap search's local optimum (1014) and 7 with
    the 10 largest LP values, and a descent from the rounded LP reaches it.

    Parameters
    ----------
    problem : FacilityProblem
        Must satisfy :func:`~solvers.layout.heuristics.capacitated_applies`, with exactly
        ``p`` open.
    budget : WorkBudget
        Charged for the LP (simplex iterations × nonzeros) and the GAP MIP.
    seed : int
        HiGHS's random seed.

    Returns
    -------
    (open, assign) or None
        ``None`` when the problem is of another kind, the rounded set cannot seat everyone or
        the GAP MIP finds no assignment within its node limit.
    """
    if (
        problem.p is None
        or problem.p_limit != "exactly"
        or not capacitated_applies(problem)
        or budget.exhausted("lp_start")
    ):
        return None
    raw = solve_highs(problem, time_limit=max(budget.wall_left(), 0.05), seed=seed, lp_only=True)
    charge_lp(budget, raw)
    if raw.info.get("lp_status") != "Optimal":
        return None
    is_open = lp_open_set(problem, np.asarray(raw.info["lp_open"], dtype=float))
    if is_open is None:
        return None
    res = _GapModel(problem, seed).mip(is_open, float("inf"), budget)
    if res is None:
        return None
    return is_open, res[1]


def _moves(
    problem: FacilityProblem,
    c: np.ndarray,
    is_open: np.ndarray,
    assign: np.ndarray,
    candidates: int,
) -> list[tuple[int, int]]:
    """(facility in or −1, facility out or −1) of the neighbourhood, in a fixed order."""
    exact = problem.p is not None and problem.p_limit == "exactly"
    allowed = ~problem.forbidden
    closed = np.flatnonzero(allowed & ~is_open)
    out: list[tuple[int, int]] = []
    n_open = int(is_open.sum())
    for r in np.flatnonzero(is_open & ~problem.fixed_open):
        mine = assign == r
        if closed.size:
            score = c[:, mine].sum(axis=1)[closed]  # columns first: no closed × n copy
            for i in closed[np.argsort(score, kind="stable")[:candidates]]:
                out.append((int(i), int(r)))
        if not exact and n_open > 1:
            out.append((-1, int(r)))
    if not exact and (problem.p is None or n_open < problem.p):
        out.extend((int(i), -1) for i in closed)
    return out


def open_set_search(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    budget: WorkBudget,
    *,
    seed: int = 0,
    candidates: int = 10,
    kick: int = 2,
    max_idle_kicks: int = 30,
    max_tries: int = 5,
    sparse_lp: bool = False,
    block_scan: bool = False,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    on_improve: Callable[[np.ndarray, np.ndarray, float], None] | None = None,
    incoming: Callable[[], tuple[np.ndarray, np.ndarray, float] | None] | None = None,
) -> LnsResult:
    """Improve a feasible plan by open-set moves judged by exact assignments, then ILS.

    Parameters
    ----------
    problem : FacilityProblem
        Must satisfy :func:`~solvers.layout.heuristics.capacitated_applies`.
    open_, assign : numpy.ndarray
        A feasible plan (open set and facility per customer).
    budget : WorkBudget
        Calibrated seconds for the search (work, not the clock; the clock is a safety cap).
    seed : int
        Seeds the kicks of the iterated local search.
    candidates : int
        Closed facilities tried in place of each open one (the cheapest for its customers).
    kick : int
        Random swaps of one perturbation.
    max_idle_kicks : int
        The iterated search ends after this many kicks in a row without improvement (a work
        limit, so a search that has settled leaves the rest of the time to the MIP).
    max_tries : int
        Moves per step whose GAP MIP is solved (best LP first); when none of them improves,
        the descent stops (at a local optimum every promising move would cost a MIP: on
        Holmberg p58 most of the descent's time).
    sparse_lp : bool
        Build each open set's GAP LP fresh over its own pairs instead of keeping one LP over
        every pair warm (few open facilities among many; see :class:`_GapModel`).
    block_scan : bool
        Score the moves one median at a time (the swaps of the median that leaves, the adds on
        their own) and take the best improving move of the first block that has one, the
        blocks in turn from the one after the last improvement, instead of scoring every move
        of the neighbourhood per step. The local optimum is the same kind (no block improves);
        the steps on the way are far cheaper where improving moves are many.
    progress : callable, optional
        Receives a :class:`~solvers.progress.ProgressEvent` (stage ``"open_search"``) per
        improvement.
    stop : threading.Event, optional
        Checked between moves; when set, the best plan so far is returned.
    t0 : float, optional
        ``time.perf_counter()`` of the overall run, for progress times.
    on_improve : callable, optional
        Receives each plan that beats the best so far as (open, assign, cost), when it is
        found (a MIP running on another thread takes them as incumbents).
    incoming : callable, optional
        Asked before each kick for a plan found elsewhere (open, assign, cost; a MIP on
        another thread): when it beats the best, the search descends from it and goes on
        around it.

    Returns
    -------
    LnsResult
        Never worse than the start; ``iterations`` counts descents (the first one and one per
        kick), ``converged`` is false (an iterated search ends on its budget).

    Raises
    ------
    ValueError
        When the problem is not of the supported kind or the plan uses a missing pair.
    """
    t_start = time.perf_counter()
    t0 = t_start if t0 is None else t0
    if not capacitated_applies(problem):
        raise ValueError("open_set_search needs one seat pool, hard capacity and no modules")
    best_open = np.asarray(open_, dtype=bool).copy()
    best_assign = np.asarray(assign, dtype=np.int64).copy()
    best = solution_cost(problem, best_open, best_assign)
    if not math.isfinite(best):
        raise ValueError("the start assigns a customer along a pair that does not exist")
    start_obj = best
    model = _GapModel(problem, seed, sparse=sparse_lp)
    c = dense_costs(problem)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    tol = 1e-9 * max(1.0, abs(best))
    rng = np.random.default_rng(seed)
    history: list[tuple[float, float]] = []
    improvements = 0

    def halted() -> bool:
        return budget.exhausted("open_search") or (stop is not None and stop.is_set())

    def try_moves(
        moves: list[tuple[int, int]], is_open: np.ndarray, a: np.ndarray, value: float
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The best improving move of ``moves`` (LP first, then rounding or the GAP MIP for
        the ``max_tries`` best), or ``None`` (also when the budget ran out)."""
        scored: list[
            tuple[float, int, np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]
        ] = []
        for k, (i_in, i_out) in enumerate(moves):
            if halted():
                return None
            trial = is_open.copy()
            if i_in >= 0:
                trial[i_in] = True
            if i_out >= 0:
                trial[i_out] = False
            lp, a_lp = model.lp(trial, budget)
            total = model.rounded(lp) + float(f[trial].sum())
            if total < value - tol:
                scored.append((total, k, trial, a_lp, model.last))
        scored.sort(key=lambda s: (s[0], s[1]))
        for _total, _, trial, a_lp, last in scored[:max_tries]:
            if halted():
                return None
            build = float(f[trial].sum())
            if a_lp is None and last is not None:
                a_lp = model.round_lp(trial, last, budget)
                if a_lp is not None and solution_cost(problem, trial, a_lp) >= value - tol:
                    a_lp = None  # the rounding does not improve: the MIP may
            if a_lp is not None:
                new = (solution_cost(problem, trial, a_lp) - build, a_lp)
            else:
                res = model.mip(trial, value - build, budget)
                if res is None:
                    continue
                new = res
            cost = new[0] + build
            if cost < value - tol:
                return trial, new[1], cost
        return None

    def descend(
        is_open: np.ndarray, a: np.ndarray, value: float
    ) -> tuple[np.ndarray, np.ndarray, float]:
        first = 0  # block_scan: the block after the last improving one is scanned first
        while not halted():
            moves = _moves(problem, c, is_open, a, candidates)
            if block_scan:
                outs = sorted({m[1] for m in moves})
                blocks = [[m for m in moves if m[1] == r] for r in outs]
            else:
                blocks = [moves]
            moved = False
            for b in range(len(blocks)):
                i = (first + b) % len(blocks)
                step = try_moves(blocks[i], is_open, a, value)
                if step is not None:
                    is_open, a, value = step
                    moved = True
                    first = i + 1
                    # the descent's last such event is the improvement the caller keeps
                    if value < best - tol:
                        if progress is not None:
                            progress(
                                ProgressEvent(time.perf_counter() - t0, value, None, "open_search")
                            )
                        if on_improve is not None:
                            on_improve(is_open, a, value)
                    break
            if not moved:
                break
        return is_open, a, value

    # the start's own open set first: its best assignment may beat the given one
    lp0, a0 = model.lp(best_open, budget)
    if model.rounded(lp0) < best - float(f[best_open].sum()) - tol:
        build0 = float(f[best_open].sum())
        res0 = (lp0, a0) if a0 is not None else model.mip(best_open, best - build0, budget)
        if res0 is not None and res0[0] + build0 < best - tol:
            best_assign, best = res0[1], solution_cost(problem, best_open, res0[1])
            if on_improve is not None:
                on_improve(best_open, best_assign, best)
    iterations = 1
    cur_open, cur_assign, cur = descend(best_open, best_assign, best)
    if cur < best - tol:
        best_open, best_assign, best = cur_open, cur_assign, cur
        improvements += 1
        history.append((time.perf_counter() - t_start, best))
    allowed = ~problem.forbidden
    idle = 0
    while not halted() and idle < max_idle_kicks:
        idle += 1
        got = incoming() if incoming is not None else None
        if got is not None and got[2] < best - tol:
            # a plan from elsewhere: descend from it, then kick around it
            iterations += 1
            best_open, best_assign, best = descend(got[0].copy(), got[1].copy(), got[2])
            idle = 0
            history.append((time.perf_counter() - t_start, best))
            continue
        trial = best_open.copy()
        movable = np.flatnonzero(trial & ~problem.fixed_open)
        if movable.size == 0:
            break
        for r in rng.choice(movable, size=min(kick, movable.size), replace=False):
            closed = np.flatnonzero(allowed & ~trial)
            if closed.size == 0:
                break
            # r's place goes to one of the closed facilities cheapest for r's customers
            mine = best_assign == r
            score = c[:, mine].sum(axis=1)[closed] + f[closed]
            near = closed[np.argsort(score, kind="stable")[:candidates]]
            trial[r] = False
            trial[int(rng.choice(near))] = True
        lp, a_lp = model.lp(trial, budget)
        if not math.isfinite(lp):
            continue
        if a_lp is None:
            a_lp = model.round_lp(trial, model.last, budget)
        if a_lp is None:
            res = model.mip(trial, float("inf"), budget)
            if res is None:
                continue
            a_lp = res[1]
        iterations += 1
        cur_open, cur_assign, cur = descend(trial, a_lp, solution_cost(problem, trial, a_lp))
        if cur < best - tol:
            best_open, best_assign, best = cur_open, cur_assign, cur
            idle = 0
            improvements += 1
            history.append((time.perf_counter() - t_start, best))
    return LnsResult(
        best_open,
        best_assign,
        solution_cost(problem, best_open, best_assign),
        start_obj,
        iterations,
        improvements,
        time.perf_counter() - t_start,
        history,
        work_seconds=budget.used,
        cut=list(budget.cut),
        converged=False,
    )
