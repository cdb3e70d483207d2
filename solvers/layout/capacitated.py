"""Large-neighbourhood search (LNS) for single-source capacitated facility problems.

Applies to the capacitated p-median (CPMP) and the single-source capacitated facility location
problem (SSCFLP): one seat pool, hard capacities, no modules, size limits, minimum loads or
budget. The swap/shift local search in :mod:`solvers.layout.heuristics` stops at a local
optimum a few percent above the optimum (Osman–Christofides pmedcap14: +8.3 %); this module
improves such a start by solving many small sub-problems with HiGHS:

1. pick an open facility r (in a seeded random order) and the open facilities that serve r's
   customers most cheaply, until the freed customers reach a target size;
2. free those facilities and every customer assigned to them; add as candidates the closed
   facilities cheapest for each freed facility's customers, and as *hosts* the next open
   facilities (their own customers stay; the freed ones may use their spare seats); each freed
   customer keeps its ``sub_pairs`` cheapest pairs in the neighbourhood and its current one;
3. solve that sub-problem (same rules; the open count of the neighbourhood unchanged when p is
   fixed) started from the current solution, and keep the answer when it is cheaper.

When a whole pass over the open facilities brings no improvement the neighbourhood grows (by
half in customers, more candidates), up to a limit; the search stops there or when its budget
is spent. A sub-problem never touches the customers outside it, so every accepted move keeps
the solution feasible. At most half of the open facilities are freed at once (a sub-MIP close
to the whole problem has a root as dear as the full MIP's).

Entry points: :func:`capacitated_lns` (from a given solution), :func:`capacitated_start` (swap
search on small problems, :func:`~solvers.layout.cap_start.scalable_start` on large ones,
then LNS: the MIP's start), :func:`polish_assignment` (best assignment to a fixed open set),
:func:`improve_solution` (LNS on an unproven MIP answer, keeping its bound).

Determinism: the budget is work in calibrated seconds
(:class:`~solvers.layout.cap_start.WorkBudget`), sub-MIPs stop at a HiGHS node limit, the swap
search at an evaluation limit; the wall clock is only a safety cap (``SUB_MIP_WALL_CAP`` per
sub-MIP, ``WALL_CAP_FACTOR`` × the budget overall) and the stages it stopped are listed in
``LnsResult.cut``. With an empty ``cut`` the same seed gives the same answer under any load.
The search is a heuristic: it proves nothing about the full problem; :func:`improve_solution`
reports ``optimal`` only when the MIP's bound is met.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import TypedDict

import numpy as np

from solvers.layout.cap_start import (
    MIP_SECONDS_FIXED,
    MIP_SECONDS_PER_NNZ,
    SECONDS_PER_DENSE_OP,
    WorkBudget,
    density_start,
    gap_assign,
    locate_allocate,
    lp_start,
    note_cap,
    scalable_start,
    seat_rest,
    sparse_lp_open,
    work_mip,
)
from solvers.layout.cluster_cg import cluster_cg as run_cluster_cg
from solvers.layout.cluster_cg import cluster_cg_applies, lagrangian_bound
from solvers.layout.heuristics import (
    capacitated_applies,
    capacitated_local_search,
    single_source_capacitated,
)
from solvers.layout.highs_model import integral_costs, solve_highs
from solvers.layout.problem import FacilityProblem, FacilitySolution, assigned_pairs, evaluate
from solvers.progress import ProgressEvent, ProgressFn


@dataclass
class LnsResult:
    """The improved solution of :func:`capacitated_lns`.

    Attributes
    ----------
    open : numpy.ndarray
        (n_facilities,) bool, open facilities.
    assign : numpy.ndarray
        (n_customers,) facility of each customer.
    objective : float
        Objective of ``(open, assign)`` (open costs of facilities not forced open + pair costs).
    start_objective : float
        Objective of the solution the search started from.
    iterations, improvements : int
        Sub-problems solved, and how many of them improved the solution.
    seconds : float
        Wall-clock time spent.
    history : list of (float, float)
        (seconds since the start, objective) after each improvement.
    work_seconds : float
        Calibrated seconds charged (:class:`~solvers.layout.cap_start.WorkBudget`).
    cut : list of str
        Stages the wall-clock safety cap stopped (empty: the result is load-independent).
    converged : bool
        The search ended at a local optimum of its largest neighbourhoods, not its budget.
    kicks : int
        Rounds of the iterated local search after convergence (:func:`_iterated`).
    kernel : dict or None
        What :func:`kernel_search` did in :func:`capacitated_start` (None: it did not run):
        objective ``before``, kernel ``sites``, ``lp`` value, ``after`` (when it improved),
        ``work_seconds``.
    cluster_cg : dict or None
        What :func:`~solvers.layout.cluster_cg.cluster_cg` did (None: it did not run): its
        LP value, ``bound``, columns, rounds, dive, MIP plan cost and the cost ``before``.
    bound : float
        A valid lower bound of the whole problem found on the way (the column generation's
        Lagrangian bound, or the kernel LP's: :func:`kernel_search`), ``-inf`` when none.
    """

    open: np.ndarray
    assign: np.ndarray
    objective: float
    start_objective: float
    iterations: int
    improvements: int
    seconds: float
    history: list[tuple[float, float]] = field(default_factory=list)
    work_seconds: float = 0.0
    cut: list[str] = field(default_factory=list)
    converged: bool = False
    kicks: int = 0
    kernel: dict[str, object] | None = None
    cluster_cg: dict[str, object] | None = None
    bound: float = -np.inf


def lns_applies(problem: FacilityProblem) -> bool:
    """:func:`~solvers.layout.heuristics.single_source_capacitated`, with no size cap: the
    search works on the sparse pairs and never builds a dense matrix."""
    return single_source_capacitated(problem)


class _Pairs:
    """Pair lookup by (customer, facility) and pair ranges by customer, on sorted keys."""

    def __init__(self, problem: FacilityProblem) -> None:
        self.n_f = problem.n_facilities
        keys = problem.pair_customer * self.n_f + problem.pair_facility
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.off = problem.offsets()
        # the dearest pair, for a missing one in _proximity (once: a pass over every pair)
        self.dear = float(problem.pair_cost.max()) if problem.n_pairs else 1.0

    def position(self, customers: np.ndarray, facilities: np.ndarray) -> np.ndarray:
        """Pair index of each (customer, facility), −1 where no pair exists."""
        k = np.asarray(customers, np.int64) * self.n_f + np.asarray(facilities, np.int64)
        if self.keys.size == 0:
            return -np.ones(k.size, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, k), self.keys.size - 1)
        return np.where(self.keys[at] == k, self.order[at], -1)

    def of_customers(self, customers: np.ndarray) -> np.ndarray:
        """All pair indices of the given customers (in customer order)."""
        lo, hi = self.off[customers], self.off[customers + 1]
        n = hi - lo
        if n.sum() == 0:
            return np.zeros(0, dtype=np.int64)
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(n)[:-1])), n)
        return starts + np.arange(int(n.sum()))


def solution_cost(problem: FacilityProblem, open_: np.ndarray, assign: np.ndarray) -> float:
    """Open costs (facilities not forced open) plus assignment costs; ``inf`` on a missing pair.

    Capacity is not checked here (see :func:`solvers.layout.problem.evaluate`).
    """
    assign = np.asarray(assign, dtype=np.int64)
    if assign.size != problem.n_customers:
        return float("inf")
    pos = assigned_pairs(problem, assign)  # one pass, no sort (fnl4461: 20 M pairs)
    if (pos < 0).any():
        return float("inf")
    payable = np.asarray(open_, bool) & ~problem.fixed_open
    return float(problem.open_cost[payable].sum() + problem.pair_cost[pos].sum())


def _proximity(problem: FacilityProblem, pairs: _Pairs, customers: np.ndarray) -> np.ndarray:
    """Per facility, the total cost of serving ``customers`` (a missing pair counts as dear)."""
    idx = pairs.of_customers(customers)
    fac = problem.pair_facility[idx]
    total = np.bincount(fac, weights=problem.pair_cost[idx], minlength=problem.n_facilities)
    count = np.bincount(fac, minlength=problem.n_facilities)
    return total + (customers.size - count) * (pairs.dear + 1.0)


def _sub_problem(
    problem: FacilityProblem,
    pairs: _Pairs,
    facs: np.ndarray,
    custs: np.ndarray,
    n_open_in: int,
    n_open_total: int,
    hosts: np.ndarray,
    residual: np.ndarray,
    current: np.ndarray,
    per_customer: int | None,
) -> FacilityProblem:
    """The problem restricted to facilities ``facs`` and customers ``custs`` (renumbered).

    ``hosts`` (a subset of ``facs``) are open facilities whose own customers stay: they are
    fixed open (their open cost is paid outside) with their ``residual`` capacity.
    ``n_open_in`` counts the open facilities of ``facs`` including the hosts. Each customer
    keeps its ``per_customer`` cheapest pairs within ``facs`` (all when ``None``) and its
    ``current`` facility.
    """
    idx = pairs.of_customers(custs)
    local_f = -np.ones(problem.n_facilities, dtype=np.int64)
    local_f[facs] = np.arange(facs.size)
    idx = idx[local_f[problem.pair_facility[idx]] >= 0]
    if per_customer is not None:
        pc = problem.pair_customer[idx]
        order = np.lexsort((problem.pair_facility[idx], problem.pair_cost[idx], pc))
        first = np.searchsorted(pc[order], pc[order], side="left")
        rank = np.empty(idx.size, dtype=np.int64)
        rank[order] = np.arange(idx.size) - first
        cur_f = np.full(problem.n_customers, -1, dtype=np.int64)
        cur_f[custs] = current
        idx = idx[(rank < per_customer) | (problem.pair_facility[idx] == cur_f[pc])]
    local_c = -np.ones(problem.n_customers, dtype=np.int64)
    local_c[custs] = np.arange(custs.size)
    p: int | None = None
    p_limit = problem.p_limit
    if problem.p is not None:
        # the facilities outside keep their count; exactly p stays exactly p
        p = n_open_in if problem.p_limit == "exactly" else problem.p - (n_open_total - n_open_in)
    nf = facs.size
    is_host = np.isin(facs, hosts)
    capacity = problem.capacity[facs].copy()
    capacity[is_host, 0] = residual
    return replace(
        problem,
        name=f"{problem.name}:lns",
        demand=problem.demand[custs],
        customer_level=np.zeros(custs.size, dtype=np.int64),
        pair_customer=local_c[problem.pair_customer[idx]],
        pair_facility=local_f[problem.pair_facility[idx]],
        pair_cost=problem.pair_cost[idx],
        pair_load=problem.pair_load[idx],
        open_cost=problem.open_cost[facs],
        fixed_open=problem.fixed_open[facs] | is_host,
        forbidden=problem.forbidden[facs],
        counts_in_budget=problem.counts_in_budget[facs],
        capacity=capacity,
        max_modules=np.zeros((nf, 1), dtype=np.int64),
        module_cost=np.zeros((nf, 1)),
        size_limit=np.full(nf, np.inf),
        min_load=np.zeros(nf),
        module_limit=None,
        p=p,
        p_limit=p_limit,
        info={},
    )


def capacitated_lns(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    *,
    time_limit: float,
    seed: int = 0,
    first_customers: int = 24,
    max_customers: int = 160,
    max_facilities: int = 12,
    candidates_per_facility: int = 4,
    n_hosts: int = 2,
    sub_pairs: int | None = 8,
    sub_nodes: int = 50,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    budget: WorkBudget | None = None,
    focus: np.ndarray | None = None,
    pairs: _Pairs | None = None,
) -> LnsResult:
    """Improve a feasible single-source solution by exact re-optimisation of neighbourhoods.

    Parameters
    ----------
    problem : FacilityProblem
        Must satisfy :func:`lns_applies`.
    open_, assign : numpy.ndarray
        A feasible starting solution (open set and facility per customer).
    time_limit : float
        Budget of the whole search in calibrated seconds (:class:`~solvers.layout.cap_start.
        WorkBudget`: charged from sub-problem sizes and node counts, not the clock, so the
        same seed gives the same search under any load; the wall clock only stops it at
        ``WALL_CAP_FACTOR`` × this, recorded in ``LnsResult.cut``). Ignored when ``budget``
        is given.
    seed : int
        Order in which neighbourhoods are visited; same seed, same search.
    first_customers, max_customers : int
        Open facilities are freed (r first, then the nearest) until their customers reach this
        many: ``first_customers`` at first; after a pass without improvement the target grows
        by half; a pass without improvement at ``max_customers`` ends the search.
    max_facilities : int
        Cap on the freed open facilities (at least two are freed, never all of them).
    candidates_per_facility : int
        Closed facilities added per freed facility (the cheapest for its customers); grows by
        two with each growth step.
    n_hosts : int
        Further open facilities (the next nearest) whose spare seats the freed customers may
        take; their own customers stay.
    sub_pairs : int or None
        Pairs kept per freed customer in a sub-problem: its cheapest within the neighbourhood,
        plus its current one (``None``: all). Smaller sub-MIPs solve to optimality more often.
    sub_nodes : int
        HiGHS node limit of one sub-problem (work, not time); doubled (up to 8×) when a pass
        at the largest size brings nothing while some sub-problems were cut short.
    progress : callable, optional
        Receives a :class:`~solvers.progress.ProgressEvent` (stage ``"lns"``) per improvement.
    stop : threading.Event, optional
        Checked before each sub-problem; when set, the best solution so far is returned.
    t0 : float, optional
        ``time.perf_counter()`` of the overall run, for progress times.
    budget : WorkBudget, optional
        A budget shared with earlier stages (then ``time_limit`` is ignored).
    focus : numpy.ndarray, optional
        Boolean mask of facilities: a pass starts neighbourhoods only from the open ones among
        them, and a facility an improvement opens joins them (the search after a local kick,
        see :func:`capacitated_start`). ``None``: every open facility.
    pairs : _Pairs, optional
        The problem's pair lookup, when the caller has it (it sorts every pair).

    Returns
    -------
    LnsResult
        Never worse than the start.

    Raises
    ------
    ValueError
        When the problem is not of the supported kind or the start uses a missing pair.
    """
    t_start = time.perf_counter()
    t0 = t_start if t0 is None else t0
    if not lns_applies(problem):
        raise ValueError("capacitated_lns needs one seat pool, hard capacity and no modules")
    pairs = _Pairs(problem) if pairs is None else pairs
    is_open = np.asarray(open_, dtype=bool).copy()
    a = np.asarray(assign, dtype=np.int64).copy()
    cur = solution_cost(problem, is_open, a)
    if not np.isfinite(cur):
        raise ValueError("the start assigns a customer along a pair that does not exist")
    start_obj = cur
    rng = np.random.default_rng(seed)
    allowed = ~problem.forbidden
    size, per_fac = first_customers, candidates_per_facility
    cust_all = np.arange(problem.n_customers)
    iterations = improvements = 0
    history: list[tuple[float, float]] = []
    work = budget if budget is not None else WorkBudget.start(time_limit)

    cap_nodes = sub_nodes
    converged = False
    focus = None if focus is None else np.asarray(focus, dtype=bool).copy()
    while not work.exhausted("lns"):
        improved_pass = capped = False
        roots = is_open if focus is None else is_open & focus
        for r in rng.permutation(np.flatnonzero(roots)):
            if work.exhausted("lns") or (stop is not None and stop.is_set()):
                break
            if not is_open[r]:
                continue  # closed by an earlier move of this pass
            open_idx = np.flatnonzero(is_open)
            mine = np.flatnonzero(a == r)
            score = _proximity(problem, pairs, mine) if mine.size else np.zeros(is_open.size)
            # r first, then the open facilities that serve r's customers most cheaply
            near = open_idx[np.argsort(score[open_idx], kind="stable")]
            near = np.concatenate(([r], near[near != r]))
            count = np.bincount(a, minlength=problem.n_facilities)
            reach = int(np.searchsorted(np.cumsum(count[near]), size)) + 1
            # at most half the open facilities: a sub-MIP near the whole problem has a root as
            # dear as the full MIP's, which no node limit bounds (pmedcap07, p = 5)
            n_free = min(max(reach, 2), max_facilities, max(2, near.size // 2), near.size)
            take = np.arange(near.size) < n_free
            freed = near[take]
            custs = np.flatnonzero(np.isin(a, freed))
            # closed candidates: the cheapest for each freed facility's customers
            closed = np.flatnonzero(allowed & ~is_open)
            cand: list[np.ndarray] = []
            if closed.size:
                for o in freed:
                    own = np.flatnonzero(a == o)
                    if own.size == 0:
                        continue
                    sc = _proximity(problem, pairs, own)[closed]
                    cand.append(closed[np.argsort(sc, kind="stable")[:per_fac]])
            # hosts: the next open facilities, which may take freed customers into spare seats
            hosts = near[~take][:n_hosts]
            load = np.bincount(
                a, weights=problem.pair_load[pairs.position(cust_all, a)], minlength=is_open.size
            )
            residual = np.maximum(problem.capacity[hosts, 0] - load[hosts], 0.0)
            facs = np.unique(np.concatenate([freed, hosts, *cand]))
            sub = _sub_problem(
                problem,
                pairs,
                facs,
                custs,
                freed.size + hosts.size,
                int(is_open.sum()),
                hosts,
                residual[np.argsort(hosts)],
                a[custs],
                sub_pairs,
            )
            local_f = -np.ones(problem.n_facilities, dtype=np.int64)
            local_f[facs] = np.arange(facs.size)
            s_open = is_open[facs]
            s_assign = local_f[a[custs]]
            s_cur = solution_cost(sub, s_open, s_assign)
            # the neighbourhood's construction: a few passes over its pairs and the open set
            work.charge(SECONDS_PER_DENSE_OP * (40 * sub.n_pairs + 20 * problem.n_customers))
            raw = work_mip(
                sub,
                work,
                "lns",
                seed=seed,
                max_nodes=cap_nodes,
                start=(s_open, np.zeros((facs.size, 1), dtype=np.int64), s_assign),
            )
            iterations += 1
            capped |= raw.status != "optimal"
            if raw.status not in ("optimal", "feasible") or (raw.assign < 0).any():
                continue
            s_new = solution_cost(sub, raw.open, raw.assign)
            if s_new < s_cur - 1e-9 * max(1.0, abs(s_cur)):
                is_open[facs] = raw.open
                a[custs] = facs[raw.assign]
                if focus is not None:
                    focus[facs[raw.open]] = True
                cur = cur - s_cur + s_new
                improvements += 1
                improved_pass = True
                history.append((time.perf_counter() - t_start, cur))
                if progress is not None:
                    progress(ProgressEvent(time.perf_counter() - t0, cur, None, "lns"))
        if stop is not None and stop.is_set():
            break
        if not improved_pass:
            if size >= max_customers:
                if not capped or cap_nodes >= 8 * sub_nodes:
                    converged = True
                    break
                cap_nodes *= 2  # some sub-problems were cut short: give them more nodes
                continue
            size = min(int(size * 1.5), max_customers)
            per_fac += 2
    cur = solution_cost(problem, is_open, a)  # recomputed, no drift from the running sum
    return LnsResult(
        is_open,
        a,
        cur,
        start_obj,
        iterations,
        improvements,
        time.perf_counter() - t_start,
        history,
        work_seconds=work.used,
        cut=list(work.cut),
        converged=converged,
    )


#: Global phase: pairs kept per customer (its cheapest), as a multiple of the mean cluster size
#: n / p, at least ``GLOBAL_MIN_PAIRS``. lin318_040: 8 pairs gave a restricted optimum of +0.86 %
#: in 24 s, 16 pairs +0.46 % after 90 s (unproven); both started from the LNS plan at +1.3 %.
GLOBAL_PAIRS_PER_CLUSTER = 2.0
GLOBAL_MIN_PAIRS = 8
#: ... and at most this many: at small p, 2n/p pairs is nearly the whole problem, whose root
#: alone outlasts any budget (ali535_005: 214 pairs per customer ran 300 s past the limit).
GLOBAL_MAX_PAIRS = 24
#: Calibrated seconds per nonzero and node of the global MIP (its primal heuristics run, so a
#: node costs more than a sub-MIP's): lin318_040 0.27 s/node at 10.6k nonzeros, ali535_150
#: 0.07 s/node at 18k, on a quiet 2-core machine.
GLOBAL_SECONDS_PER_NNZ_NODE = 1.5e-5
#: ... or, when more, per nonzero and simplex iteration: the root (cut rounds, heuristics) is
#: not bounded by the node limit (ali535_050 at 22 pairs: 37 s and 37k iterations at 48k
#: nonzeros before its first node; charged per node only, 0.1 of its wall time).
GLOBAL_SECONDS_PER_NNZ_ITERATION = 1.5e-8


def global_pairs(problem: FacilityProblem) -> int:
    """Pairs per customer kept by :func:`restricted_mip` (see ``GLOBAL_PAIRS_PER_CLUSTER``,
    ``GLOBAL_MIN_PAIRS`` and ``GLOBAL_MAX_PAIRS``)."""
    n_open = problem.p if problem.p is not None else int((~problem.forbidden).sum())
    size = problem.n_customers / max(n_open, 1)
    return int(
        np.clip(np.ceil(GLOBAL_PAIRS_PER_CLUSTER * size), GLOBAL_MIN_PAIRS, GLOBAL_MAX_PAIRS)
    )


def global_rounds(problem: FacilityProblem) -> list[int]:
    """Pairs per customer of each :func:`restricted_mip` round of :func:`capacitated_start`:
    ``GLOBAL_MIN_PAIRS`` (small, often solved to its own optimum; ali535_050 from +11.8 % to
    +7.2 % in 1.3 calibrated seconds), then :func:`global_pairs` from there."""
    return sorted({GLOBAL_MIN_PAIRS, global_pairs(problem)})


def restricted_mip(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    budget: WorkBudget,
    *,
    k: int,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The whole problem with each customer kept to its ``k`` cheapest pairs (and its current
    one), solved by HiGHS from ``(open_, assign)`` with its primal heuristics on.

    The global phase of Gnägi & Baumann's matheuristic (Computers & OR 132, 2021): the
    sub-problems of :func:`capacitated_lns` move a few facilities at a time and stop at a local
    optimum (lin318_040 at +1.3 %) that the restricted whole problem leaves (+0.5 to +0.9 %).
    The node limit is set from ``budget`` (work, deterministic; the wall clock is a safety cap
    recorded in ``budget.cut``). Returns the plan when it is cheaper than the start, else
    ``None``. The restriction makes it a heuristic: its bound is not a bound of ``problem``.
    """
    pairs = _Pairs(problem)
    is_open = np.asarray(open_, dtype=bool)
    facs = np.flatnonzero(~problem.forbidden | is_open)
    custs = np.arange(problem.n_customers)
    n_open = int(is_open.sum())
    sub = _sub_problem(
        problem, pairs, facs, custs, n_open, n_open, facs[:0], np.zeros(0), assign, k
    )
    nnz = 4 * sub.n_pairs + 2 * facs.size
    left = budget.left() - MIP_SECONDS_FIXED - MIP_SECONDS_PER_NNZ * nnz
    nodes = int(left / (GLOBAL_SECONDS_PER_NNZ_NODE * nnz))
    if nodes < 1 or budget.wall_left() <= 0:
        return None
    local_f = -np.ones(problem.n_facilities, dtype=np.int64)
    local_f[facs] = np.arange(facs.size)
    start = (is_open[facs], np.zeros((facs.size, 1), dtype=np.int64), local_f[assign])
    cap = budget.wall_left()
    raw = solve_highs(sub, time_limit=cap, seed=seed, start=start, options={"mip_max_nodes": nodes})
    note_cap(budget, "global", raw, cap)
    done = float(raw.info.get("nodes", nodes))  # type: ignore[arg-type]
    iterations = float(raw.info.get("lp_iterations", 0))  # type: ignore[arg-type]
    budget.charge(MIP_SECONDS_FIXED + MIP_SECONDS_PER_NNZ * nnz)
    budget.charge(
        max(GLOBAL_SECONDS_PER_NNZ_NODE * done, GLOBAL_SECONDS_PER_NNZ_ITERATION * iterations) * nnz
    )
    if raw.status not in ("optimal", "feasible") or (raw.assign < 0).any():
        return None
    new_open = np.zeros(problem.n_facilities, dtype=bool)
    new_open[facs] = raw.open
    new_assign = facs[raw.assign]
    if solution_cost(problem, new_open, new_assign) >= solution_cost(problem, is_open, assign) - (
        1e-9 * max(1.0, abs(raw.objective))
    ):
        return None
    return new_open, new_assign


#: Kernel search (:func:`kernel_search`): pairs per customer of the restricted MIP, among the
#: sites of the kernel ...
KERNEL_PAIRS = 10
#: ... a site is in the kernel when the LP opens it at least this much (at most 2p sites),
#: or the plan does ...
KERNEL_MIN_Y = 0.5
#: ... and the MIP gets this share of the kernel's budget left after the LP (the rest goes back
#: to the LNS). rl1304_100 (p = 100) from the same LNS plan at +2.93 %: the 229 sites with
#: y > 0 and the plan's found nothing in 74 calibrated seconds (about 120 s wall); the 146
#: with y > 0.5 reached +0.14 % in 35 (y > 0.2, 185 sites: +0.17 % in 73; y > 0.9, 122
#: sites: +0.88 % in 6). A second MIP over every site with y > 0, from that plan on the rest
#: of the kernel's budget (a kernel search's next bucket), gained nothing on ali535_025/050
#: or rl1304_050/100 at 300 s, and on the rl1304 two its root ran into the safety cap.
KERNEL_MIP_SHARE = 0.5
#: ... the kernel's share of the :func:`capacitated_start` budget left after the first LNS
#: (its LP and its MIP). rl1304_050 at 300 s: with 0.4 the LP took 85 of its 90 calibrated
#: seconds and the MIP found nothing (+2.02 %); with 0.6 the MIP took the plan from +2.39 %
#: to +0.18 %, and the run ended at +0.03 % ...
KERNEL_SHARE = 0.6
#: ... and the largest LP it solves (customers × pairs per customer): rl1304_050's 75,600
#: pairs took 68 s; beyond this the LP would take the budget from the search.
KERNEL_MAX_LP_PAIRS = 120_000


def kernel_search(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    budget: WorkBudget,
    *,
    lp_pairs: int,
    seed: int = 0,
    report: dict[str, object] | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The whole problem restricted to a kernel of sites: those its LP relaxation opens and
    the plan's medians, each customer kept to its ``KERNEL_PAIRS`` cheapest pairs among them;
    solved by :func:`restricted_mip` from the plan. The kernel is the sites the LP opens at
    least ``KERNEL_MIN_Y`` (half) and the plan's medians.

    The LP keeps each customer's ``lp_pairs`` cheapest pairs (a prohibitive fallback keeps it
    feasible) and is charged like the LP start. Where the LP bound is tight the optimum's
    medians are nearly all among the sites it opens, and the restricted MIP over some 100
    sites is far smaller than the whole one (Stefanello, from LNS plans, LP and MIP about
    60–90 s together: rl1304_050 from +6.56 % to +0.18 % with 91 LP sites; ali535_025 from
    +2.23 % to +0.12 % with 36). A kernel search in the sense of Angelelli, Mansini and
    Speranza (Computers & OR 37, 2010), with one kernel and no buckets. Returns the plan when
    it is cheaper, else ``None`` (also when the LP does not finish before the safety cap).
    ``report`` (optional) receives ``sites`` (the kernel's size), ``gain`` (what the MIP took
    off the plan's cost), ``cut`` (whether the safety cap stopped it), ``lp`` (the LP's
    value, not a bound: pairs are dropped) and ``bound`` (the Lagrangian bound of the whole
    problem at the LP's duals, :func:`~solvers.layout.cluster_cg.lagrangian_bound`; ``-inf``
    where its knapsacks do not apply).
    """
    if problem.p is None or problem.p_limit != "exactly" or budget.exhausted("kernel"):
        return None
    is_open = np.asarray(open_, dtype=bool)
    lp = sparse_lp_open(problem, budget, lp_pairs, "kernel", seed=seed)
    if lp is None:
        return None
    y, value, duals = lp
    # the LP's duals give a bound of the whole problem (charged, like all work)
    bound = lagrangian_bound(problem, duals, budget)
    kernel = (y > KERNEL_MIN_Y) | is_open
    restricted = replace(problem, forbidden=problem.forbidden | ~kernel)
    part = budget.share(KERNEL_MIP_SHARE)
    better = restricted_mip(restricted, is_open, assign, part, k=KERNEL_PAIRS, seed=seed)
    budget.absorb(part)
    if report is not None:
        gain = 0.0
        if better is not None:
            gain = solution_cost(problem, is_open, assign) - solution_cost(problem, *better)
        report.update(sites=int(kernel.sum()), gain=gain, cut=bool(part.cut), lp=value, bound=bound)
    return better


#: Share of the :func:`capacitated_start` budget left after the first LNS that the column
#: generation gets where clusters are small (:mod:`solvers.layout.cluster_cg`).
CG_SHARE = 0.6


#: Largest facilities × customers of :func:`capacitated_start`: its density and LP starts and
#: location–allocation build dense matrices (8 bytes a cell; fnl4461's 19.9 M cells, 160 MB
#: each; a whole 300-s run of fnl4461_0020 peaked at 12 GB resident). Above the heuristics' ``MAX_DENSE`` (6 M) only those two starts run
#: (p3038, fnl4461); before, no start ran there and the MIP found no plan in 300 s.
START_MAX_DENSE = 25_000_000
#: Swap search (each move a full regret assignment) only below this facilities × customers ×
#: open-count product; above it the scalable start (:mod:`solvers.layout.cap_start`) is used.
SWAP_SEARCH_MAX_WORK = 2_000_000
#: Moves the swap search may evaluate (a work limit, so it stops at the same point under load).
SWAP_SEARCH_MAX_EVALUATIONS = 400


#: LNS settings of :func:`capacitated_start` (large CPMP): more closed candidates and pairs per
#: freed customer, no hosts, sub-MIPs of up to 80 customers with 200 nodes. lin318_040 from the
#: same start and 300 calibrated seconds: +1.20 % against +2.88 % with the defaults
#: (ali535_050: +2.82 % against +4.42 % for 12 candidates and pairs).
class _LnsOptions(TypedDict, total=False):
    """Keyword options of :func:`capacitated_lns` that a pipeline may set."""

    candidates_per_facility: int
    sub_pairs: int | None
    n_hosts: int
    sub_nodes: int
    max_customers: int


LARGE_LNS: _LnsOptions = {
    "candidates_per_facility": 20,
    "sub_pairs": 16,
    "n_hosts": 0,
    "sub_nodes": 200,
    "max_customers": 80,
}
#: Shares of the :func:`capacitated_start` budget: an LNS with small sub-problems, then the
#: global phase (:func:`restricted_mip`, a share of what is left), then an LNS with
#: ``LARGE_LNS`` to the end.
FIRST_LNS_SHARE = 0.25
GLOBAL_SHARE = 0.35
#: HiGHS seeds per global round, each on an equal part of its share, each from the plan the
#: last one left. Whether a node-limited run finds a better plan depends on its seed: from
#: the same lin318_040 plan at +2.88 % (k = 8, 18 calibrated s each), seed 0 found nothing,
#: seed 1 +2.15 %; at 55 s, seed 0 nothing, seed 1 +1.91 %.
GLOBAL_SEEDS = 2


def capacitated_start(
    problem: FacilityProblem,
    *,
    time_limit: float,
    seed: int = 0,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    budget: WorkBudget | None = None,
    global_phase: bool = False,
    lp_first: bool = True,
    iterate: bool = False,
    kernel_lp_pairs: int | None = None,
    cluster_cg: bool = False,
) -> LnsResult | None:
    """A start, then :func:`capacitated_lns`, all on one work budget (deterministic).

    Start: the swap/shift search of
    :func:`~solvers.layout.heuristics.capacitated_local_search` (at most
    ``SWAP_SEARCH_MAX_EVALUATIONS`` moves) on small problems; on large ones (exactly p) the
    scalable start (:func:`~solvers.layout.cap_start.scalable_start`) and the density search
    (:func:`~solvers.layout.cap_start.density_start`) followed by location–allocation, and
    (``lp_first``) the rounded sparsified LP (:func:`~solvers.layout.cap_start.lp_start`); the
    cheapest is kept. ``time_limit`` is the budget in calibrated seconds (see
    :func:`capacitated_lns`). Returns ``None`` when the problem is not of the supported kind or
    no feasible start is found (then the MIP starts cold).

    ``global_phase`` runs :func:`restricted_mip` rounds between the two LNS stages (off by
    default: from the same start and 210 calibrated seconds, lin318_040 ended at +1.98 % in
    174 s with it and +1.32 % in 95 s without; ali535_100 at +7.28 % in 253 s against
    +6.84 % in 114 s. The full MIP from the LNS plan, with its best plan taken within a node
    limit, does that job in :func:`~solvers.layout.solve.solve_facility`).

    ``kernel_lp_pairs``: after the first LNS, :func:`kernel_search` with an LP of this many
    pairs per customer, on ``KERNEL_SHARE`` of the budget left (skipped when the LP would
    exceed ``KERNEL_MAX_LP_PAIRS``).

    ``cluster_cg``: after the first LNS, where clusters are small
    (:func:`~solvers.layout.cluster_cg.cluster_cg_applies`), the set-partitioning column
    generation, its dive and restricted master MIP on ``CG_SHARE`` of the budget left; its
    Lagrangian bound is kept in ``bound``.

    ``iterate``: when the LNS has converged with budget left, an iterated local search spends
    the rest (:func:`_iterated`: a random kick of a few nearby medians, the LNS around it, the
    better plan kept); with large clusters (:func:`open_moves_apply`) the open-set search with
    exact assignments and its own iterated search does instead.
    """
    t_start = time.perf_counter()
    if not lns_applies(problem) or problem.n_facilities * problem.n_customers > START_MAX_DENSE:
        return None
    work = budget if budget is not None else WorkBudget.start(time_limit)
    n_open = problem.p if problem.p is not None else int((~problem.forbidden).sum())
    size = problem.n_facilities * problem.n_customers * max(n_open, 1)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    if size <= SWAP_SEARCH_MAX_WORK or problem.p is None or problem.p_limit != "exactly":
        # its clock limit is only a safety cap: the evaluation limit ends it first
        first = capacitated_local_search(
            problem,
            time_limit=max(work.wall_left(), 0.05),
            seed=seed,
            max_evaluations=SWAP_SEARCH_MAX_EVALUATIONS,
        )
        if first is not None:
            found.append(first)
            # calibrated: one evaluation is a regret pass and shift/swap moves (~n² each)
            work.charge(SECONDS_PER_DENSE_OP * 60 * size)
    if size > SWAP_SEARCH_MAX_WORK:
        big = scalable_start(problem, work, seed=seed)
        if big is not None:
            found.append(big)
        dense = density_start(problem, work)
        if dense is not None:
            found.append(locate_allocate(problem, *dense, work, seed=seed)[:2])
        if lp_first:
            lp = lp_start(problem, work, seed=seed)
            if lp is not None:
                found.append(lp)
    if not found:
        return None
    costs = [solution_cost(problem, o, a) for o, a in found]
    best = found[int(np.argmin(costs))]

    def lns(start: tuple[np.ndarray, np.ndarray], part: WorkBudget, large: bool) -> LnsResult:
        options = LARGE_LNS if large else _LnsOptions()
        return capacitated_lns(
            problem,
            *start,
            time_limit=0,
            seed=seed,
            progress=progress,
            stop=stop,
            t0=t0,
            budget=part,
            **options,
        )

    # small cheap sub-problems first (the fastest gains from a poor start)
    part = work.share(FIRST_LNS_SHARE)
    res = lns(best, part, large=False)
    work.absorb(part)
    if (
        global_phase
        and problem.p is not None
        and problem.p_limit == "exactly"
        and not (stop and stop.is_set())
    ):
        # the restricted whole problem leaves the LNS's local optimum: first with few pairs
        # (small, often solved to its optimum), then with more from there
        for k in global_rounds(problem):
            glob = work.share(GLOBAL_SHARE)
            for run in range(GLOBAL_SEEDS):
                if stop is not None and stop.is_set():
                    break
                part = glob.share(1.0 / (GLOBAL_SEEDS - run))
                better = restricted_mip(
                    problem, res.open, res.assign, part, k=k, seed=seed * GLOBAL_SEEDS + run
                )
                glob.absorb(part)
                if better is not None:
                    res.open, res.assign = better
                    res.objective = solution_cost(problem, *better)
                    res.improvements += 1
            work.absorb(glob)
    if cluster_cg and cluster_cg_applies(problem) and not (stop is not None and stop.is_set()):
        part = work.share(CG_SHARE)
        found_cg = run_cluster_cg(problem, res.open, res.assign, part, seed=seed)
        work.absorb(part)
        res.cluster_cg = dict(found_cg.report, work_seconds=round(part.used, 3))
        res.bound = max(res.bound, found_cg.bound)
        if found_cg.plan is not None:
            _take(problem, res, found_cg.plan, "cluster_cg", t_start, t0, progress, found_cg.bound)
    if (
        kernel_lp_pairs is not None
        and problem.n_customers * kernel_lp_pairs <= KERNEL_MAX_LP_PAIRS
        and not (stop is not None and stop.is_set())
    ):
        part = work.share(KERNEL_SHARE)
        res.kernel = {"before": res.objective}
        better = kernel_search(
            problem,
            res.open,
            res.assign,
            part,
            lp_pairs=kernel_lp_pairs,
            seed=seed,
            report=res.kernel,
        )
        work.absorb(part)
        res.kernel["work_seconds"] = round(part.used, 3)
        res.bound = max(res.bound, float(res.kernel.get("bound", -np.inf)))  # type: ignore[arg-type]
        if better is not None:
            _take(problem, res, better, "kernel", t_start, t0, progress)
            res.kernel["after"] = res.objective
    # then large and small sub-problems in turn to the end of the budget: each kind's local
    # optimum is often not the other's (u724_030: the large LNS converged at +2.17 % after
    # 34 s; an LNS with small sub-problems from there reached +0.94 %)
    large, idle = True, 0
    while idle < 2 and not work.exhausted("lns") and not (stop is not None and stop.is_set()):
        before = res.objective
        res = _then(res, lns((res.open, res.assign), work, large=large))
        idle = idle + 1 if res.objective >= before - 1e-9 * max(1.0, abs(before)) else 0
        large = not large
    res.converged = idle >= 2
    if (
        iterate
        and res.converged
        and problem.p is not None
        and problem.p_limit == "exactly"
        and not work.exhausted("ils")
        and not (stop is not None and stop.is_set())
    ):
        if open_moves_apply(problem):
            # module level would be circular (open_search uses LnsResult, solution_cost)
            from solvers.layout.open_search import open_set_search

            searched = open_set_search(
                problem,
                res.open,
                res.assign,
                work,
                seed=seed,
                candidates=OPEN_MOVES_CANDIDATES,
                sparse_lp=True,
                block_scan=True,
                progress=progress,
                stop=stop,
                t0=t0,
            )
            res = _then(res, searched)
            res.converged = True  # the LNS did; the open-set search ends on its budget
            res.kicks = searched.iterations - 1  # its descents after the first follow kicks
        else:
            res = _iterated(problem, res, work, seed=seed, progress=progress, stop=stop, t0=t0)
    res.work_seconds = work.used
    res.cut = list(work.cut)
    res.start_objective = float(min(costs))
    res.seconds = time.perf_counter() - t_start
    return res


#: Mean customers per median from which a converged LNS hands over to the open-set search with
#: exact assignments (:func:`~solvers.layout.open_search.open_set_search`, fresh sparse LPs)
#: instead of :func:`_iterated`. With few large clusters an LNS neighbourhood (two medians and
#: all their customers) holds a fifth of the problem and settles at once: rl1304_010 (130 per
#: median) converged at +3.16 % where one swap judged by its best assignment reached +1.24 %.
OPEN_MOVES_MIN_CLUSTER = 50.0
#: Closed sites tried in place of each median there (the cheapest for its customers; 10 by
#: default in the small problems). rl1304_010 from the same +3.16 % plan and 300 calibrated
#: seconds: +1.24 % with 10, +0.69 % with 20.
OPEN_MOVES_CANDIDATES = 20


def open_moves_apply(problem: FacilityProblem) -> bool:
    """Exactly p, clusters of at least ``OPEN_MOVES_MIN_CLUSTER`` customers on average, and
    small enough for the dense cost matrix of the open-set search."""
    return (
        problem.p is not None
        and problem.p_limit == "exactly"
        and problem.n_customers >= OPEN_MOVES_MIN_CLUSTER * max(problem.p, 1)
        and capacitated_applies(problem)
    )


#: Iterated local search (:func:`_iterated`): medians moved by one kick (a random open one and
#: the nearest others to its customers), each to one of ``KICK_CANDIDATES`` closed sites
#: cheapest for the freed customers (chosen at random) ...
KICK_FACILITIES = 3
KICK_CANDIDATES = 4
#: ... and kicks in a row that find no seats for the freed customers before it gives up.
KICK_MAX_FAILURES = 20


def _kick(
    problem: FacilityProblem,
    pairs: _Pairs,
    open_: np.ndarray,
    assign: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Move ``KICK_FACILITIES`` nearby medians to random nearby closed sites; the freed
    customers by regret into the seats left. Returns (open, assign, new sites) or ``None``
    when they do not fit."""
    movable = np.flatnonzero(open_ & ~problem.fixed_open)
    closed = np.flatnonzero(~problem.forbidden & ~open_)
    if movable.size == 0 or closed.size == 0:
        return None
    r = int(rng.choice(movable))
    mine = np.flatnonzero(assign == r)
    score = _proximity(problem, pairs, mine) if mine.size else np.zeros(open_.size)
    others = movable[movable != r]
    near = np.concatenate(([r], others[np.argsort(score[others], kind="stable")]))
    near = near[: min(KICK_FACILITIES, near.size)]
    custs = np.flatnonzero(np.isin(assign, near))
    pool = closed[np.argsort(_proximity(problem, pairs, custs)[closed], kind="stable")]
    pool = pool[: KICK_CANDIDATES * near.size]
    if pool.size < near.size:
        return None
    sites = np.sort(rng.choice(pool, size=near.size, replace=False))
    trial = open_.copy()
    trial[near] = False
    trial[sites] = True
    stay = np.flatnonzero(~np.isin(assign, near))
    load = np.bincount(
        assign[stay],
        weights=problem.pair_load[pairs.position(stay, assign[stay])],
        minlength=open_.size,
    )
    seated = seat_rest(problem, trial, custs, problem.capacity[:, 0] - load)
    if (seated < 0).any():
        return None
    out = assign.copy()
    out[custs] = seated
    return trial, out, sites


def _iterated(
    problem: FacilityProblem,
    res: LnsResult,
    work: WorkBudget,
    *,
    seed: int,
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float | None,
) -> LnsResult:
    """Iterated local search from a converged LNS plan, to the end of ``work``.

    Each round kicks the best plan (:func:`_kick`), runs the small and the large LNS in turn
    from there, rooted at the new sites and what their improvements open (``focus``), until
    neither improves, and keeps the result when it beats the best (ties: the best stays).
    Deterministic: the kicks come from ``seed``, every stage is charged to ``work``.
    """
    pairs = _Pairs(problem)
    rng = np.random.default_rng([seed, 1])
    since = time.perf_counter() if t0 is None else t0  # history times: from the run's start
    best = res
    failures = rounds = 0
    while (
        failures < KICK_MAX_FAILURES
        and not work.exhausted("ils")
        and not (stop is not None and stop.is_set())
    ):
        kicked = _kick(problem, pairs, best.open, best.assign, rng)
        # two passes over the pairs (proximities, the regret seating)
        work.charge(SECONDS_PER_DENSE_OP * 20 * problem.n_pairs)
        if kicked is None:
            failures += 1
            continue
        failures = 0
        rounds += 1
        focus = np.zeros(problem.n_facilities, dtype=bool)
        focus[kicked[2]] = True
        cur: tuple[np.ndarray, np.ndarray] = (kicked[0], kicked[1])
        value, large, idle = solution_cost(problem, *cur), False, 0
        while idle < 2 and not work.exhausted("ils") and not (stop is not None and stop.is_set()):
            step = capacitated_lns(
                problem,
                *cur,
                time_limit=0,
                seed=seed + rounds,
                stop=stop,
                budget=work,
                focus=focus,
                pairs=pairs,
                **(LARGE_LNS if large else _LnsOptions()),
            )
            focus |= step.open & ~best.open  # what the round opened stays a root
            better = step.objective < value - 1e-9 * max(1.0, abs(value))
            idle = 0 if better else idle + 1
            cur, value, large = (step.open, step.assign), step.objective, not large
            best.iterations += step.iterations
        if value < best.objective - 1e-9 * max(1.0, abs(best.objective)):
            best.open, best.assign, best.objective = cur[0], cur[1], value
            best.improvements += 1
            best.history.append((time.perf_counter() - since, value))
            if progress is not None:
                progress(ProgressEvent(time.perf_counter() - since, value, None, "lns"))
    best.kicks = rounds
    return best


def _take(
    problem: FacilityProblem,
    res: LnsResult,
    plan: tuple[np.ndarray, np.ndarray],
    stage: str,
    t_start: float,
    t0: float | None,
    progress: ProgressFn | None,
    bound: float | None = None,
) -> None:
    """Make ``plan`` (cheaper, from ``stage``) the search's plan: counts, history, progress."""
    res.open, res.assign = plan
    res.objective = solution_cost(problem, *plan)
    res.improvements += 1
    res.history.append((time.perf_counter() - t_start, res.objective))
    if progress is not None:
        now = time.perf_counter() - (t_start if t0 is None else t0)
        progress(ProgressEvent(now, res.objective, bound, stage))


def _then(before: LnsResult, after: LnsResult) -> LnsResult:
    """``after`` (a search from ``before``'s answer) with the counts of both."""
    after.iterations += before.iterations
    after.improvements += before.improvements
    after.history = before.history + after.history
    after.start_objective = before.start_objective
    after.kernel = before.kernel if after.kernel is None else after.kernel
    after.cluster_cg = before.cluster_cg if after.cluster_cg is None else after.cluster_cg
    after.bound = max(before.bound, after.bound)
    return after


def polish_assignment(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    budget: WorkBudget,
    *,
    seed: int = 0,
) -> np.ndarray:
    """The best single-source assignment to a fixed open set that a node-limited GAP MIP
    finds from ``assign`` (deterministic); ``assign`` itself when that is not cheaper."""
    # each customer's 10 cheapest open facilities: the full GAP of ali535_050 (26,750 pairs)
    # ran into the sub-MIP wall cap under load
    new = gap_assign(problem, open_, budget, start=assign, seed=seed, k=10, max_nodes=100)
    if new is None:
        return assign
    if solution_cost(problem, open_, new) < solution_cost(problem, open_, assign) - 1e-9:
        return new
    return assign


def improve_solution(
    problem: FacilityProblem,
    solution: FacilitySolution,
    *,
    time_limit: float,
    seed: int = 0,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    t0: float | None = None,
    deadline: float | None = None,
) -> FacilitySolution:
    """Run :func:`capacitated_lns` on a solver's unproven answer; keep its valid bound.

    ``time_limit`` is a work budget in calibrated seconds (see :func:`capacitated_lns`);
    ``deadline`` (a ``time.perf_counter()`` value), when given, is the latest its wall-clock
    safety cap may fall (the caller's time limit).

    Meant as the last step of a solve: the MIP's incumbent is often within a few moves of a
    better one that the MIP's own heuristics miss. The result is re-verified with
    :func:`~solvers.layout.problem.evaluate`; its status becomes ``optimal`` only when the new
    objective meets the (unchanged) proven bound. Returns ``solution`` itself when it is
    already optimal, not of the supported kind, infeasible, or not improved.
    """
    t_start = time.perf_counter()
    if (
        solution.status != "feasible"
        or not lns_applies(problem)
        or (solution.assign < 0).any()
        or time_limit <= 0
        or (stop is not None and stop.is_set())
    ):
        return solution
    budget = WorkBudget.start(time_limit)
    if deadline is not None:
        budget.cap = min(budget.cap, deadline)
    res = capacitated_lns(
        problem,
        solution.open,
        solution.assign,
        time_limit=time_limit,
        seed=seed,
        progress=progress,
        stop=stop,
        t0=t0,
        budget=budget,
    )
    terms, bad = evaluate(problem, res.open, solution.modules, res.assign)
    solution.info["lns_cut"] = list(res.cut)
    if bad or terms["objective"] >= solution.objective - 1e-9 * max(1.0, abs(solution.objective)):
        return solution
    obj = terms["objective"]
    integral = integral_costs(problem)
    tol = 1e-6 if integral else 1e-9 * max(1.0, abs(obj))
    proven = solution.bound >= obj - tol
    info = dict(solution.info)
    info.update(
        lns_objective_before=solution.objective,
        lns_iterations=res.iterations,
        lns_improvements=res.improvements,
        lns_seconds=round(res.seconds, 3),
    )
    return replace(
        solution,
        status="optimal" if proven else "feasible",
        objective=obj,
        bound=min(solution.bound, obj),
        open=res.open,
        assign=res.assign,
        overflow=np.zeros_like(solution.overflow),
        solve_seconds=solution.solve_seconds + (time.perf_counter() - t_start),
        terms=terms,
        info=info,
    )
