"""A deterministic start for single-source capacitated problems (CPMP, SSCFLP) at any p.

The swap search of :func:`~solvers.layout.heuristics.capacitated_local_search` evaluates each
move by a full regret assignment, which does not scale to hundreds of medians (Stefanello
ali535 with p=150: +196 % after 60 s). These starts (exactly p) do:

1. an open set: the uncapacitated greedy (:func:`scalable_start`), or the density search of
   Ahmadi–Osman (:func:`density_start`: sites claim their nearest customers while seats last,
   the densest opens), which suits tight capacities and clustered customers better (ali535_150:
   +40 % against +79 % after step 3);
2. a single-source assignment for that open set: by regret (:func:`greedy_assign`), or a
   sparse HiGHS MIP of the generalised assignment problem (:func:`gap_assign`: each customer
   keeps its ``k`` cheapest open facilities and a fallback at a prohibitive cost, so the MIP is
   always feasible; customers left on the fallback get every open facility and it runs again);
3. location–allocation alternation (Mulvey–Beck, :func:`locate_allocate`): every median moves
   to the site that serves its cluster most cheaply and has the seats for it; reassigned;
   repeated while the cost falls.

The LNS of :mod:`solvers.layout.capacitated` then improves the start.

Everything is limited by *work*, never by the wall clock: sub-MIPs by HiGHS node limits, the
number of rounds by a budget in calibrated seconds (:class:`WorkBudget`), charged from work
counts only. The same inputs and seed give the same answer on any machine load; the wall clock
is only a safety cap (``WALL_CAP_FACTOR`` × the budget), and a stage it stops is reported
(``WorkBudget.cut``).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field, replace

import numpy as np

from solvers.layout.heuristics import dense_costs, dense_loads, uncapacitated_local_search
from solvers.layout.highs_model import RawSolve, solve_highs
from solvers.layout.problem import FacilityProblem, assigned_pairs

#: The wall clock stops work only at this multiple of the budget (a safety cap, reported).
WALL_CAP_FACTOR = 2.5
#: Calibrated seconds per element of a dense numpy pass (facilities × customers arrays).
SECONDS_PER_DENSE_OP = 4.0e-9
#: Calibrated seconds of a HiGHS sub-MIP: fixed + per nonzero + per nonzero and node (the
#: fixed part is mostly the model build in Python and HiGHS's presolve and root). Set to about
#: twice the quiet wall time of the LNS sub-MIPs (2026-11-24, 2-core machine, load 1: charged
#: / wall 2.1 on ali535_050, 2.7 on u724_075, 1.8 on lin318_070), so the plan stays the same
#: up to a load of about 2 and a quiet machine does not sit idle: the earlier rates (0.1 s,
#: 5e-5 s) charged 5.6× the wall on ali535_050, and the plan used a third of its clock.
MIP_SECONDS_FIXED = 0.03
MIP_SECONDS_PER_NNZ = 1.5e-5
MIP_SECONDS_PER_NNZ_NODE = 1.0e-5
#: Calibrated seconds of an LP relaxation (dual simplex): fixed + per iteration and nonzero
#: (measured 3–5e-9 s on Osman–Christofides and Holmberg, quiet).
FULL_LP_SECONDS_FIXED = 1.0e-2
FULL_LP_SECONDS_PER_ITERATION_NNZ = 6.0e-9
#: ... and of an interior-point LP, per iteration, nonzero and facility (its normal equations
#: fill in with the facility columns): 0.27–1.35e-9 s measured on u724_075, rl1304_050/200,
#: pr2392_500 and fnl4461_0500 (43 s), quiet; set at the fnl4461 end of that range.
IPM_SECONDS_PER_ITERATION_NNZ_FACILITY = 1.0e-9
#: Wall-clock safety cap of one sub-MIP (seconds); hitting it is recorded in WorkBudget.cut.
SUB_MIP_WALL_CAP = 5.0
#: HiGHS options of the work-limited sub-MIPs: trust pseudo-costs at once (strong branching
#: dominated real-valued CPMP sub-problems: Stefanello lin318_070, 2.4 s → 1.6 s); no primal
#: heuristics (the start is given; on ali535_150 sub-MIPs of 24 customers the root heuristics
#: took 2–5 s without a node, 0.2–1.3 s without them); a relative gap of 1e-4 of the
#: sub-problem's cost (a negligible share of the whole objective).
SUB_OPTIONS: dict[str, bool | int | float | str] = {
    "mip_pscost_minreliable": 0,
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_rel_gap": 1e-4,
}


@dataclass
class WorkBudget:
    """A budget of calibrated seconds charged from work counts (deterministic).

    Attributes
    ----------
    total : float
        Calibrated seconds available.
    used : float
        Calibrated seconds charged so far.
    cap : float
        ``time.perf_counter()`` at which the wall-clock safety cap stops the work.
    cut : list of str
        Stages stopped by the safety cap (then the answer may depend on machine load).
    """

    total: float
    used: float = 0.0
    cap: float = field(default=0.0)
    cut: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, seconds: float, factor: float = WALL_CAP_FACTOR) -> WorkBudget:
        """A budget of ``seconds`` with its safety cap ``factor`` × ``seconds`` from now."""
        return cls(total=seconds, cap=time.perf_counter() + factor * max(seconds, 0.05))

    def left(self) -> float:
        """Calibrated seconds left."""
        return self.total - self.used

    def wall_left(self) -> float:
        """Wall-clock seconds to the safety cap."""
        return self.cap - time.perf_counter()

    def exhausted(self, stage: str) -> bool:
        """True when the budget is spent; the safety cap also ends it (and is recorded)."""
        if self.left() <= 0:
            return True
        if self.wall_left() <= 0:
            if stage not in self.cut:
                self.cut.append(stage)
            return True
        return False

    def charge(self, seconds: float) -> None:
        """Count calibrated seconds of work."""
        self.used += seconds

    def share(self, fraction: float) -> WorkBudget:
        """A budget of ``fraction`` of what is left; charge it back with :meth:`absorb`. Its
        safety cap is its own (``WALL_CAP_FACTOR`` × its total from now), never past this
        budget's: a stage the node limits do not bound (a MIP's root) stops there."""
        total = max(fraction * self.left(), 0.0)
        own = time.perf_counter() + WALL_CAP_FACTOR * max(total, 0.05)
        return WorkBudget(total=total, cap=min(self.cap, own))

    def absorb(self, child: WorkBudget) -> None:
        """Charge a :meth:`share`'s work and the stages its safety cap stopped."""
        self.used += child.used
        self.cut.extend(s for s in child.cut if s not in self.cut)


def mip_seconds(raw: RawSolve) -> float:
    """Calibrated seconds of a HiGHS solve from its size and node count (deterministic)."""
    nnz = float(raw.info.get("nnz", 0))  # type: ignore[arg-type]
    nodes = float(raw.info.get("nodes", 0))  # type: ignore[arg-type]
    return MIP_SECONDS_FIXED + MIP_SECONDS_PER_NNZ * nnz + MIP_SECONDS_PER_NNZ_NODE * nnz * nodes


def work_mip(
    sub: FacilityProblem,
    budget: WorkBudget,
    stage: str,
    *,
    seed: int,
    max_nodes: int,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> RawSolve:
    """HiGHS on ``sub`` stopped by ``max_nodes`` (deterministic), charged to ``budget``.

    The wall clock is only the safety cap (``SUB_MIP_WALL_CAP``); a solve it stops is recorded
    in ``budget.cut``. A node limit does not bound HiGHS's root (cut rounds), so sub-problems
    are kept small by the callers.
    """
    cap = max(min(budget.wall_left(), SUB_MIP_WALL_CAP), 0.05)
    raw = solve_highs(
        sub,
        time_limit=cap,
        seed=seed,
        start=start,
        options={**SUB_OPTIONS, "mip_max_nodes": int(max_nodes)},
    )
    note_cap(budget, stage, raw, cap)
    budget.charge(mip_seconds(raw))
    return raw


def note_cap(budget: WorkBudget, stage: str, raw: RawSolve, cap: float) -> None:
    """Record ``stage`` in ``budget.cut`` when the wall-clock ``cap`` stopped ``raw`` short of
    its optimum (then the answer may depend on machine load)."""
    if raw.seconds >= 0.98 * cap and raw.status != "optimal" and stage not in budget.cut:
        budget.cut.append(stage)


#: The last few problems' pair orders (:func:`cost_order`), by the identity of their arrays.
_ORDER_CACHE: dict[int, tuple[weakref.ref[np.ndarray], weakref.ref[np.ndarray], np.ndarray]] = {}
_ORDER_CACHE_SIZE = 4


def cost_order(problem: FacilityProblem) -> np.ndarray:
    """Pairs by customer, then cost, then facility index; computed once per pair arrays.

    The starts rank pairs for one open set after another; re-sorting 20 M pairs each time
    (fnl4461, 4.7 s a sort) took most of their time.
    """
    key = id(problem.pair_cost)
    hit = _ORDER_CACHE.get(key)
    if hit is not None and hit[0]() is problem.pair_cost and hit[1]() is problem.pair_facility:
        return hit[2]
    order = np.lexsort((problem.pair_facility, problem.pair_cost, problem.pair_customer))
    if len(_ORDER_CACHE) >= _ORDER_CACHE_SIZE:
        _ORDER_CACHE.pop(next(iter(_ORDER_CACHE)))
    _ORDER_CACHE[key] = (weakref.ref(problem.pair_cost), weakref.ref(problem.pair_facility), order)
    return order


def _ranked(problem: FacilityProblem, usable: np.ndarray) -> np.ndarray:
    """Rank of each pair among its customer's usable pairs by cost, ties by facility index
    (unusable: n_pairs). One pass over the cached order (:func:`cost_order`), no sort."""
    order = cost_order(problem)
    u = np.asarray(usable, dtype=bool)[order]
    seen = np.cumsum(u)  # usable pairs up to here, over all customers
    off = problem.offsets()
    before = np.concatenate(([0], seen))[off[:-1]]  # usable pairs of earlier customers
    rank = np.full(problem.n_pairs, problem.n_pairs, dtype=np.int64)
    rank[order[u]] = (seen - 1 - before[problem.pair_customer[order]])[u]
    return rank


def greedy_assign(problem: FacilityProblem, open_: np.ndarray) -> np.ndarray:
    """Customers by decreasing regret (second minus first cheapest open) to the cheapest open
    facility with room; −1 where none has room. Deterministic (ties by index)."""
    usable = open_[problem.pair_facility]
    rank = _ranked(problem, usable)
    n_c = problem.n_customers
    first = np.full(n_c, np.inf)
    second = np.full(n_c, np.inf)
    sel0, sel1 = rank == 0, rank == 1
    first[problem.pair_customer[sel0]] = problem.pair_cost[sel0]
    second[problem.pair_customer[sel1]] = problem.pair_cost[sel1]
    with np.errstate(invalid="ignore"):  # a customer with one usable pair: inf − inf
        regret = np.where(np.isfinite(second), second - first, np.inf)
    room = np.where(open_, problem.capacity[:, 0], 0.0).astype(float)
    out = -np.ones(n_c, dtype=np.int64)
    off = problem.offsets()
    # usable pairs per customer, cheapest first, by scattering to their ranks (no sort); −1
    # after the last usable one
    by_rank = -np.ones(problem.n_pairs, dtype=np.int64)
    ok = np.flatnonzero(rank < problem.n_pairs)
    by_rank[off[problem.pair_customer[ok]] + rank[ok]] = ok
    for j in np.lexsort((np.arange(n_c), -regret)):
        for q in by_rank[off[j] : off[j + 1]]:
            if q < 0:
                break
            i = problem.pair_facility[q]
            if problem.pair_load[q] <= room[i] + 1e-9:
                out[j] = i
                room[i] -= problem.pair_load[q]
                break
    return out


def seat_rest(
    problem: FacilityProblem,
    open_: np.ndarray,
    rest: np.ndarray,
    room: np.ndarray,
    pairs: np.ndarray | None = None,
) -> np.ndarray:
    """The facility of each customer in ``rest``, placed by :func:`greedy_assign` into the
    seats ``room`` (per facility) that the others left; −1 where none has room. ``pairs``: a
    mask of the pairs to use, when the caller knows them (at least the rest's pairs to open
    facilities); by default every pair of the rest."""
    capacity = problem.capacity.copy()
    capacity[:, 0] = np.maximum(room, 0.0)
    if pairs is None:
        pairs = np.isin(problem.pair_customer, rest)
    part = replace(problem.restrict(pairs, None), capacity=capacity)
    return greedy_assign(part, open_)[rest]


def gap_assign(
    problem: FacilityProblem,
    open_: np.ndarray,
    budget: WorkBudget,
    *,
    start: np.ndarray | None = None,
    seed: int = 0,
    k: int = 8,
    max_nodes: int = 500,
) -> np.ndarray | None:
    """A single-source assignment of every customer to the open set (a sparse GAP MIP).

    Each customer keeps its ``k`` cheapest open facilities and its ``start`` facility; a
    fallback at a prohibitive cost keeps the MIP feasible. Customers the answer leaves on the
    fallback get all open facilities, and the MIP runs once more. When the MIP finds nothing
    (its node limit or safety cap came first) a complete ``start`` (or regret assignment) is
    returned as it is. Returns ``None`` when no complete assignment was found (seats too few,
    or the budget ran out).
    """
    open_ = np.asarray(open_, dtype=bool)
    usable = open_[problem.pair_facility]
    rank = _ranked(problem, usable)
    a0 = greedy_assign(problem, open_) if start is None else np.asarray(start, np.int64).copy()
    budget.charge(SECONDS_PER_DENSE_OP * 20 * problem.n_pairs)
    # a complete start is an answer already (fnl4461_0500: the regret assignment seats all
    # 4,461 customers, while the GAP MIP found nothing before its 5-s safety cap)
    given = a0.copy() if _complete(problem, open_, a0) else None
    per = np.full(problem.n_customers, k, dtype=np.int64)
    big = float(np.abs(problem.pair_cost).max(initial=1.0)) * 100.0 + 1e6
    for _ in range(2):
        cur_pair = problem.pair_facility == a0[problem.pair_customer]
        keep = usable & ((rank < per[problem.pair_customer]) | cur_pair)
        fixed = replace(
            problem, fixed_open=open_.copy(), forbidden=~open_, p=None, p_limit="exactly"
        )
        sub = fixed.restrict(keep, np.full(problem.n_customers, big))
        mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
        raw = work_mip(sub, budget, "gap", seed=seed, max_nodes=max_nodes, start=(open_, mods, a0))
        if raw.status not in ("optimal", "feasible"):
            return given
        a0 = raw.assign
        if (a0 >= 0).all():
            return a0
        per[a0 < 0] = problem.n_pairs  # every open facility for the fallback customers
        if budget.exhausted("gap"):
            break
    return given


def _complete(problem: FacilityProblem, open_: np.ndarray, assign: np.ndarray) -> bool:
    """Every customer on an open facility through one of its pairs, within the capacities."""
    if assign.size != problem.n_customers or (assign < 0).any() or not open_[assign].all():
        return False
    pos = assigned_pairs(problem, assign)
    if (pos < 0).any():
        return False
    load = np.bincount(assign, weights=problem.pair_load[pos], minlength=problem.n_facilities)
    return bool((load <= problem.capacity[:, 0] + 1e-9).all())


def _cost(
    c: np.ndarray, f: np.ndarray, open_: np.ndarray, assign: np.ndarray
) -> float:  # dense cost
    return float(f[open_].sum() + c[assign, np.arange(assign.size)].sum())


def locate_allocate(
    problem: FacilityProblem,
    open_: np.ndarray,
    assign: np.ndarray,
    budget: WorkBudget,
    *,
    seed: int = 0,
    max_rounds: int = 50,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Mulvey–Beck alternation: move each median to its cluster's best site, reassign.

    A cluster (open facility i and its customers S) moves to the facility m (closed, allowed,
    with seats for S) minimising ``f_m + Σ_{j∈S} c_mj`` when that beats i; clusters are visited
    in index order and a site taken by one cluster is not offered to the next. The new open set
    is reassigned by :func:`gap_assign` and kept when cheaper. Stops when nothing moves, the
    cost does not fall, ``max_rounds`` or the budget. Returns (open, assign, rounds).
    """
    c = dense_costs(problem)
    w = dense_loads(problem)
    w = np.where(np.isfinite(w), w, 1e300)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    cap = problem.capacity[:, 0].astype(float)
    allowed = ~problem.forbidden
    open_, a = np.asarray(open_, bool).copy(), np.asarray(assign, np.int64).copy()
    best = _cost(c, f, open_, a)
    rounds = 0
    dense_ops = float(problem.n_facilities * problem.n_customers)
    while rounds < max_rounds and not budget.exhausted("locate"):
        rounds += 1
        trial, moved_a = open_.copy(), a.copy()
        moved = False
        for i in np.flatnonzero(open_ & ~problem.fixed_open):
            mine = np.flatnonzero(a == i)
            if mine.size == 0:
                continue
            score = c[:, mine].sum(axis=1) + f
            fits = w[:, mine].sum(axis=1) <= cap + 1e-9
            ok = allowed & fits & ~trial
            ok[i] = True
            score = np.where(ok, score, np.inf)
            m = int(np.argmin(score))  # lowest index among ties
            if m != i and score[m] < score[i] - 1e-9 * max(1.0, abs(score[i])):
                trial[i], trial[m] = False, True
                moved_a[mine] = m
                moved = True
        budget.charge(SECONDS_PER_DENSE_OP * 3 * dense_ops)
        if not moved:
            break
        new = greedy_assign(problem, trial)
        budget.charge(SECONDS_PER_DENSE_OP * 20 * problem.n_pairs)
        if (new < 0).any():
            fixed = gap_assign(problem, trial, budget, start=moved_a, seed=seed)
            if fixed is None:
                break
            new = fixed
        value = _cost(c, f, trial, new)
        if value >= best - 1e-9 * max(1.0, abs(best)):
            break
        open_, a, best = trial, new, value
    return open_, a, rounds


def initial_open(problem: FacilityProblem, budget: WorkBudget) -> np.ndarray | None:
    """Exactly p: the uncapacitated greedy open set (no swaps: its work grows with p²).

    Returns ``None`` when p is not fixed or the greedy finds nothing.
    """
    if problem.p is None or problem.p_limit != "exactly":
        return None
    unc = replace(problem, capacity=np.full_like(problem.capacity, np.inf))
    is_open = uncapacitated_local_search(unc, time_limit=0.0)
    if is_open is not None:
        # charged only when it ran: above the dense limit it refuses at once, and fnl4461_0500
        # lost 119 calibrated seconds of its start to a greedy that never ran
        budget.charge(SECONDS_PER_DENSE_OP * 3 * problem.n_pairs * problem.p)
    return is_open


def scalable_start(
    problem: FacilityProblem, budget: WorkBudget, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """Greedy open set, GAP assignment, location–allocation (exactly p; else ``None``).

    Also ``None`` when the greedy open set has too few seats for a complete assignment.
    """
    open_ = initial_open(problem, budget)
    if open_ is None:
        return None
    seats = float(problem.capacity[open_, 0].sum())
    if seats < float(problem.demand.sum()) - 1e-9:
        # the cheapest medians lack the seats: add capacity-rich sites by swapping greedily
        order = np.lexsort((np.arange(problem.n_facilities), -problem.capacity[:, 0]))
        order = order[~problem.forbidden[order]]
        for i in order:
            if seats >= float(problem.demand.sum()) - 1e-9:
                break
            if open_[i]:
                continue
            cand = np.flatnonzero(open_ & ~problem.fixed_open)
            if cand.size == 0:
                return None
            r = cand[np.argmin(problem.capacity[cand, 0])]
            if problem.capacity[r, 0] >= problem.capacity[i, 0]:
                return None
            open_[r], open_[i] = False, True
            seats += float(problem.capacity[i, 0] - problem.capacity[r, 0])
    a = greedy_assign(problem, open_)
    if (a < 0).any():
        full = gap_assign(problem, open_, budget, seed=seed)
        if full is None:
            return None
        a = full
    open_, a, _ = locate_allocate(problem, open_, a, budget, seed=seed)
    return open_, a


def density_start(
    problem: FacilityProblem, budget: WorkBudget
) -> tuple[np.ndarray, np.ndarray] | None:
    """Density search (Ahmadi–Osman): exactly p medians chosen one by one.

    Each candidate site m claims its nearest unassigned customers while its seats last; its
    density is the demand claimed over the cost of serving it (plus its open cost). The
    densest site opens with its customers; repeated p times. Customers left over go to the
    cheapest open facility with room (:func:`greedy_assign` order). Returns ``None`` when p is
    not fixed or a customer finds no room.
    """
    if problem.p is None or problem.p_limit != "exactly":
        return None
    c = dense_costs(problem)
    w = dense_loads(problem)
    n_f, n_c = c.shape
    cap = problem.capacity[:, 0].astype(float)
    f = np.where(problem.fixed_open, 0.0, problem.open_cost)
    mean_w = float(problem.demand.mean()) if n_c else 1.0
    span = int(min(n_c, max(50, 6 * np.ceil(float(np.median(cap)) / max(mean_w, 1e-9)))))
    near = np.argsort(c, axis=1, kind="stable")[:, :span]  # each site's nearest customers
    rows = np.arange(n_f)[:, None]
    c_near, w_near = c[rows, near], w[rows, near]
    assigned = np.zeros(n_c, dtype=bool)
    open_ = problem.fixed_open.copy()
    a = -np.ones(n_c, dtype=np.int64)
    room = np.where(open_, cap, 0.0)
    for _ in range(int(problem.p) - int(open_.sum())):
        free = ~assigned[near]
        ww = np.where(free & np.isfinite(w_near), w_near, 0.0)
        take = free & np.isfinite(w_near) & (np.cumsum(ww, axis=1) <= cap[:, None] + 1e-9)
        with np.errstate(invalid="ignore"):  # inf × 0 where not taken; summed out by `where`
            got = (w_near * take).sum(axis=1, where=take)
            spent = (c_near * take).sum(axis=1, where=take) + f
        dens = np.where(got > 0, got / np.maximum(spent, 1e-9), -np.inf)
        dens[open_ | problem.forbidden] = -np.inf
        budget.charge(SECONDS_PER_DENSE_OP * 8 * n_f * span)
        m = int(np.argmax(dens))
        if not np.isfinite(dens[m]):
            break
        open_[m] = True
        mine = near[m][take[m]]
        a[mine] = m
        assigned[mine] = True
        room[m] = cap[m] - float(w[m, mine].sum())
    if int(open_.sum()) != problem.p:
        return None
    rest = np.flatnonzero(a < 0)
    if rest.size:
        a[rest] = seat_rest(problem, open_, rest, room)  # the leftovers by regret
        budget.charge(SECONDS_PER_DENSE_OP * 20 * problem.n_pairs)
    if (a < 0).any():
        return None
    return open_, a


def charge_lp(budget: WorkBudget, raw: RawSolve, n_facilities: int = 0) -> None:
    """Charge an LP relaxation (``solve_highs(lp_only=True)``) by its simplex and crossover
    iterations × nonzeros, and its interior-point iterations × nonzeros × ``n_facilities``."""
    iterations = int(raw.info["lp_iterations"])  # type: ignore[call-overload]
    iterations += int(raw.info.get("lp_crossover_iterations", 0))  # type: ignore[call-overload]
    ipm = int(raw.info.get("lp_ipm_iterations", 0))  # type: ignore[call-overload]
    nnz = int(raw.info["lp_nnz"])  # type: ignore[call-overload]
    budget.charge(
        FULL_LP_SECONDS_FIXED
        + FULL_LP_SECONDS_PER_ITERATION_NNZ * iterations * nnz
        + IPM_SECONDS_PER_ITERATION_NNZ_FACILITY * ipm * nnz * n_facilities
    )


def lp_open_set(problem: FacilityProblem, y: np.ndarray) -> np.ndarray | None:
    """Exactly p open: the fixed-open facilities and the allowed ones of largest LP ``y``
    (ties by index, a stable sort, so the same LP vertex gives the same set); ``None`` when
    the fixed ones exceed p or too few are allowed."""
    allowed = ~problem.forbidden
    open_ = problem.fixed_open & allowed
    free = np.flatnonzero(allowed & ~open_)
    take = int(problem.p or 0) - int(open_.sum())
    if take < 0 or take > free.size:
        return None
    open_[free[np.argsort(-y[free], kind="stable")[:take]]] = True
    return open_


#: LP start: pairs kept per customer, ``LP_START_PAIRS_PER_CLUSTER`` × the mean cluster size
#: n / p when that cluster is small (n / p ≤ ``LP_START_SMALL_CLUSTER``), else
#: ``LP_START_MIN_PAIRS``. rl1304_200 (n / p = 6.5): 20 pairs gave +3.0 % after rounding,
#: 10 pairs +6.1 %; rl1304_050 (n / p = 26): 20 pairs took 46 s of LP, 10 pairs 1.8 s.
LP_START_MIN_PAIRS = 10
LP_START_MAX_PAIRS = 20
LP_START_PAIRS_PER_CLUSTER = 3.0
LP_START_SMALL_CLUSTER = 8.0
#: Dual simplex iterations before the LP start switches to interior point (``ipm_after`` of
#: :func:`~solvers.layout.highs_model.solve_highs`). The 20 Stefanello instances up to 1,304
#: nodes need at most 23.6k (rl1304_100); pr2392_150 51k (29 s), fnl4461_0500 92k (144 s).
LP_START_SIMPLEX_ITERATIONS = 30_000


def sparse_lp_open(
    problem: FacilityProblem, budget: WorkBudget, k: int, stage: str, *, seed: int = 0
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The LP relaxation with each customer kept to its ``k`` cheapest allowed pairs (a
    prohibitive fallback keeps it feasible), by dual simplex then interior point after
    ``LP_START_SIMPLEX_ITERATIONS``, charged to ``budget``: its ``y`` per facility, its value
    and the duals of its "served once" rows, or ``None`` when the safety cap stopped it
    (recorded as ``stage``). The value bounds nothing (pairs are dropped); the duals give a
    bound through :func:`~solvers.layout.cluster_cg.lagrangian_bound`."""
    allowed = ~problem.forbidden
    rank = _ranked(problem, allowed[problem.pair_facility])
    big = float(np.abs(problem.pair_cost).max(initial=1.0)) * 100.0 + 1e6
    sub = problem.restrict(rank < k, np.full(problem.n_customers, big))
    budget.charge(SECONDS_PER_DENSE_OP * 20 * problem.n_pairs)
    raw = solve_highs(
        sub,
        time_limit=max(budget.wall_left(), 0.05),
        seed=seed,
        lp_only=True,
        ipm_after=LP_START_SIMPLEX_ITERATIONS,
    )
    charge_lp(budget, raw, problem.n_facilities)
    if raw.info.get("lp_status") != "Optimal":
        budget.exhausted(stage)  # records the cut when the safety cap stopped the LP
        return None
    return (
        np.asarray(raw.info["lp_open"], dtype=float),
        float(raw.objective),
        np.asarray(raw.info["duals"], dtype=float),
    )


def lp_start(
    problem: FacilityProblem, budget: WorkBudget, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """Exactly p: the open set of a sparsified LP relaxation, assigned, then located.

    Each customer keeps its cheapest pairs (see ``LP_START_*``) and a fallback at a
    prohibitive cost; the LP (dual simplex, the same vertex for the same model) opens the p
    facilities of largest y (ties by index); :func:`gap_assign` seats everyone and
    :func:`locate_allocate` moves the medians. Where clusters are small the LP's open set is
    far better than the greedy's (Stefanello, before the LNS: u724_200 +11.5 % against
    +38.7 %, rl1304_200 +3.0 % against +23.2 %). Returns ``None`` when p is not fixed, the LP
    does not finish before the safety cap (recorded in ``budget.cut``) or no assignment is
    found.
    """
    if problem.p is None or problem.p_limit != "exactly" or budget.exhausted("lp_start"):
        return None
    cluster = problem.n_customers / max(problem.p, 1)
    k = LP_START_MIN_PAIRS
    if cluster <= LP_START_SMALL_CLUSTER:
        k = int(np.clip(np.ceil(LP_START_PAIRS_PER_CLUSTER * cluster), k, LP_START_MAX_PAIRS))
    lp = sparse_lp_open(problem, budget, k, "lp_start", seed=seed)
    if lp is None:
        return None
    open_ = lp_open_set(problem, lp[0])
    if open_ is None:
        return None
    a = gap_assign(problem, open_, budget, seed=seed, k=10, max_nodes=200)
    if a is None:
        return None
    open_, a, _ = locate_allocate(problem, open_, a, budget, seed=seed)
    return open_, a
