"""``solve_facility``: explain, start, sparsify with a proof, solve, verify.

Sparsification with a proof (no pair is lost silently). For large problems every customer j
keeps only its cheapest pairs: the ``k`` cheapest, all pairs as cheap as its cost in the
starting solution, and ties. A fallback variable ``u_j`` with cost φ_j = the cheapest *dropped*
pair of j replaces the dropped pairs; it serves j without using any seat. Any solution of the
full problem maps to a solution of this relaxation that costs no more (a customer on a dropped
pair pays at least φ_j there), so the relaxation's bound is a valid bound of the full problem.
If the relaxation's optimum uses no fallback, it is feasible for the full problem, hence
optimal. Otherwise the customers that used it get twice as many pairs and the relaxation is
solved again (until proven, or out of time: then the fallback customers are repaired to their
cheapest open facility and the relaxation's bound is reported). Sparsification is skipped when
a minimum load applies (a fallback customer would not count towards it, so it would not be a
relaxation).

Uncapacitated problems (p-median, facility location: a solution is its open set) go instead to
the radius formulation of :mod:`solvers.layout.radius` (settings ``radius``; the classical path
above is kept for solver ``cpsat``, an explicit ``k_nearest`` and everything capacitated). Its
time limit leaves room for the final verification on the full pair set, so the whole call stays
within ``time_limit``.

Small single-source capacitated problems (SSCFLP; CPMP up to ``LNS_AUTO_ABOVE`` pairs) use
the open-set search of :mod:`solvers.layout.open_search` (open-set moves judged by exact
assignments) from the swap search's plan:

- with exactly p open (CPMP), two short descents first (from the swap plan and the rounded
  LP); a first MIP runs on ``open_search_mip_first`` of the clock (easy instances are proven
  there); if it does not prove, the open-set search (descent and iterated search,
  work-limited) continues from the cheaper of its plan and the MIP's incumbent, and when it
  beats that incumbent a second MIP starts from it for the time left;
- with a free count (SSCFLP; ``open_search_parallel``), the search (descent, then iterated
  search) runs on a second thread for the whole MIP: each plan it finds becomes the MIP's
  incumbent, and it continues from the MIP's incumbents when they are cheaper. HiGHS releases
  the GIL while it solves, so both cores work. The MIP's end (proof or clock) stops the search.
  (``open_search_parallel=True`` does this with exactly p too, after the descents.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from planner.errors import InfeasiblePlan
from solvers.layout.cap_start import WorkBudget, cost_order, gap_assign
from solvers.layout.capacitated import (
    SWAP_SEARCH_MAX_EVALUATIONS,
    LnsResult,
    capacitated_start,
    improve_solution,
    lns_applies,
    open_moves_apply,
    polish_assignment,
    solution_cost,
)
from solvers.layout.cluster_cg import cluster_cg_applies
from solvers.layout.cpsat_model import solve_cpsat
from solvers.layout.heuristics import (
    assign_cheapest,
    capacitated_local_search,
    is_uncapacitated,
    uncapacitated_local_search,
)
from solvers.layout.highs_model import PlanOffers, RawSolve, integral_costs, solve_highs
from solvers.layout.lagrangian import applies as lagrangian_applies
from solvers.layout.lagrangian import knapsack_applies, lagrangian_eliminate, lagrangian_knapsack
from solvers.layout.open_search import OPEN_SEARCH_MAX_PAIRS, lp_rounded_start, open_set_search
from solvers.layout.problem import (
    FacilityProblem,
    FacilitySolution,
    assigned_pairs,
    evaluate,
    explain_infeasible,
    loads,
)
from solvers.layout.radius import radius_applies, solve_radius
from solvers.progress import Cancelled, ProgressEvent, ProgressFn


class FacilitySettings(BaseModel):
    """How to solve a :class:`FacilityProblem` (the benchmark CLI and ``solve_layout`` use it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_limit: float = Field(60.0, gt=0, description="Wall-clock seconds for the whole solve.")
    seed: int = Field(0, description="Random seed; same inputs and seed give the same answer.")
    solver: Literal["highs", "cpsat"] = Field("highs", description="MIP solver.")
    num_workers: int = Field(2, ge=1, description="CP-SAT workers (fixed for determinism).")
    gap_limit: float = Field(
        0.0, ge=0, description="Stop at this relative gap (0 = prove optimal)."
    )
    k_nearest: int | None = Field(
        None, ge=1, description="Pairs kept per customer when sparsifying; None = automatic."
    )
    sparsify_above: int = Field(
        40_000, ge=0, description="Sparsify only problems with more pairs than this."
    )
    heuristic_seconds: float = Field(5.0, ge=0, description="Time for the starting heuristic.")
    lagrangian: bool = Field(
        True,
        description="Lagrangian bound, facility and pair elimination (uncapacitated, exactly p).",
    )
    lagrangian_knapsack: bool = Field(
        False,
        description="Also the knapsack Lagrangian for the capacitated p-median (measured: no "
        "gain on Osman–Christofides, so off by default).",
    )
    capacitated_lns: bool | None = Field(
        None,
        description="None (auto): on for CPMP with more than LNS_AUTO_ABOVE pairs, off for "
        "smaller ones (there the MIP's own search, on the clock, does better: "
        "Osman–Christofides 18/20 at the optimum against 13/20 in 10 s on a loaded machine). "
        "Single-source capacitated problems with exactly p open (CPMP): start "
        "from a swap search or the scalable start + LNS, then the MIP for bound and proof, "
        "then an LNS polish (solvers.layout.capacitated, cap_start). The start and LNS are "
        "limited by work (node limits, a calibrated budget), not the clock; the wall clock is "
        "only a safety cap (info['deterministic'] is false when it struck).",
    )
    lns_deterministic: bool = Field(
        True,
        description="CPMP: the plan comes from the work-limited stages, or from the MIP only "
        "when it proves a better plan optimal, so the same seed gives the same plan under "
        "any load (except when the proof finishes in one run and not in another). False: "
        "also take an unproven MIP incumbent that is better (load-dependent).",
    )
    lns_start_share: float = Field(
        0.7,
        ge=0,
        le=1,
        description="CPMP: share of the time limit (as calibrated work) for the start and the "
        "LNS (solvers.layout.capacitated.capacitated_start).",
    )
    lns_large_share: float = Field(
        1.0,
        ge=0,
        le=3,
        description="CPMP whose sparsified MIP is too large for its plan to count "
        "(PLAN_MIP_MAX_NNZ): share of the time limit (as calibrated work) for the start and the "
        "LNS instead of lns_start_share; the MIP then only adds its bound (or a proven optimum). "
        "The LNS is charged about 1.5-3 × its wall time, so 1.0 is about half the clock.",
    )
    lns_alone_share: float = Field(
        1.5,
        ge=0,
        le=3,
        description="CPMP whose MIP's root is out of reach within the limit "
        "(MIP_BOUND_MAX_ROOT_WORK: nonzeros × customers): the MIP is skipped and the start and "
        "LNS get this share of the time limit (as calibrated work) instead of lns_large_share; "
        "no bound is reported unless the LNS's own stages give one.",
    )
    lns_iterate: bool = Field(
        True,
        description="Where the MIP's plan is not taken (PLAN_MIP_MAX_NNZ), spend the LNS budget "
        "left after it converges on an iterated local search (kick a few medians, search "
        "around them, keep the better plan; solvers.layout.capacitated._iterated).",
    )
    lns_kernel: bool = Field(
        True,
        description="Where the MIP's plan is not taken (PLAN_MIP_MAX_NNZ) and clusters are "
        "not large (OPEN_MOVES_MIN_CLUSTER), solve after the first LNS the whole problem "
        "restricted to the sites its sparsified LP opens and the plan's medians "
        "(solvers.layout.capacitated.kernel_search).",
    )
    lns_cluster_cg: bool = Field(
        True,
        description="CPMP with small clusters (solvers.layout.cluster_cg.cluster_cg_applies: "
        "at most CG_MAX_CLUSTER customers per median): after the first LNS, the "
        "set-partitioning column generation, a dive and the restricted master MIP; its "
        "Lagrangian bound is reported.",
    )
    lns_mip_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="CPMP: share of the time limit (as calibrated work) that sets the node "
        "limit within which the full MIP's best plan is taken (deterministic: the same nodes "
        "under any load); the MIP then runs on to the clock for the bound. 0: the MIP only "
        "adds its bound, or its optimum when it proves one.",
    )
    open_search: bool = Field(
        True,
        description="Single-source capacitated problems solved by the MIP directly (CPMP up "
        "to LNS_AUTO_ABOVE pairs, SSCFLP): open-set moves judged by exact assignments and an "
        "iterated local search (solvers.layout.open_search, work-limited) around a first MIP "
        "(see the module docstring). Measured on a loaded 2-core machine: "
        "Osman–Christofides pmedcap08 820 (was 823), Holmberg p57/p59 at the optimum. "
        "False: the swap search + assignment polish + one MIP, as before.",
    )
    open_search_share: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Share of the time limit (as calibrated work) for the open-set search.",
    )
    open_search_descent_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of the time limit (as calibrated work) for the open-set descent "
        "before the first MIP (part of open_search_share).",
    )
    open_search_idle_kicks: int = Field(
        30,
        ge=0,
        description="The iterated open-set search ends after this many kicks in a row "
        "without improvement (a work limit).",
    )
    open_search_iterate: bool | None = Field(
        None,
        description="Run the iterated open-set search around a first MIP (True), or only "
        "the descent before one MIP (False); None: iterate with exactly p open (CPMP), "
        "descent only with a free count (SSCFLP).",
    )
    open_search_lp_start: bool = Field(
        True,
        description="With exactly p open: a second open-set descent, from the LP relaxation "
        "rounded to its p largest y (solvers.layout.open_search.lp_rounded_start), on a "
        "budget of open_search_descent_share of its own; the cheaper descent goes on. "
        "Osman–Christofides pmedcap20: 1005 (the optimum) from the LP, 1014 from the swap "
        "search.",
    )
    open_search_parallel: bool | None = Field(
        None,
        description="Run the open-set search on a second thread while the MIP runs on the "
        "first: each plan the search finds becomes the MIP's incumbent, and the search "
        "continues from the MIP's incumbents when they are cheaper (HiGHS releases the GIL "
        "while it solves, so both cores work). The MIP's end (a proof, or the clock) stops "
        "the search; the answer is the cheaper plan. With a free count the search (descent, "
        "then iterated search) starts beside the MIP from the swap search's plan; with "
        "exactly p the two descents run first and the iterated search beside one undivided "
        "MIP. None (default): beside the MIP with a free count only (Holmberg at 30 s on a "
        "slow machine: 71 of 71 at the optimum, against 68 on one core); with exactly p the "
        "one-core path (descents, a first MIP, the search, a second MIP) measured better "
        "(Osman–Christofides at 10 s on the same machine: 19 of 20 one-core, 17–19 of 20 "
        "beside the MIP). True: beside the MIP with exactly p too. False: never.",
    )
    open_search_descents_threaded: bool = Field(
        False,
        description="With exactly p: the two open-set descents (from the swap search's plan "
        "and from the rounded LP) run at once on two threads. Each is work-limited on its "
        "own budget, so the plans are those of one after the other; HiGHS releases the GIL "
        "in their LPs and MIPs, so they take less wall time and leave more to the MIP "
        "(pmedcap14/19/20 on a slow machine: 6.9-7.4 s of 10 instead of about 8.9 s). Off by "
        "default: Osman–Christofides at 10 s gave 18 of 20 with it, 19 without (one bench "
        "run each on the same machine; the later MIPs run on the clock, so the rows vary).",
    )
    open_search_mip_first: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the time limit for a first MIP from the descent's plan; the "
        "rest of the open-set search (and a second MIP) runs only when it does not prove "
        "optimality, so easy instances keep their quick proof.",
    )
    lns_polish_share: float = Field(
        0.1,
        ge=0,
        le=1,
        description="CPMP: share of the time limit (as calibrated work) kept for an LNS on "
        "the MIP's unproven answer.",
    )
    highs_options: dict[str, bool | int | float | str] = Field(
        default_factory=dict, description="Extra HiGHS options for the main MIP (name → value)."
    )
    radius: bool = Field(
        True,
        description="Uncapacitated problems (p-median, facility location): solve with the "
        "radius formulation (solvers.layout.radius) instead of the classical MIP. Not used "
        "with solver='cpsat' or when k_nearest is set (that asks for the classical sparsified "
        "model).",
    )
    radius_lagrangian_seconds: float = Field(
        5.0,
        ge=0,
        description="Safety cap on the subgradient time before the radius LP (pair "
        "elimination); radius_lagrangian_iterations is the work limit that normally stops it.",
    )
    radius_lagrangian_iterations: int = Field(
        800,
        ge=0,
        description="Subgradient steps before the radius LP: a work limit, so the pair "
        "elimination and the answer do not depend on the machine's speed.",
    )
    radius_branch: bool = Field(
        True,
        description="Prove the radius model by its own LP branch-and-bound on the facilities "
        "(warm dual simplex per node) instead of HiGHS's MIP solver.",
    )
    cpsat_scale: float | None = Field(
        None, gt=0, description="CP-SAT cost scale (costs × scale rounded); None = automatic."
    )


#: HiGHS options when a good start exists: no sub-MIP heuristics, no restarts.
PROOF_OPTIONS: dict[str, bool | int | float | str] = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_allow_restart": False,
}


#: With a start from swaps + LP rounding, HiGHS's root sub-MIP heuristics cost more than they
#: find (pmed22: root 22 s → 12 s without them).
RADIUS_PROOF_OPTIONS: dict[str, bool | int | float | str] = {
    **PROOF_OPTIONS,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
}


#: Time kept back per pair for verifying the answer on the full problem (``_finish``).
VERIFY_SECONDS_PER_PAIR = 2.5e-6
#: Time kept back for HiGHS to notice the deadline (it checks between LP solves).
HIGHS_LATENCY_SECONDS = 2.0
#: The same for the radius branch-and-bound (pure LPs, interrupted inside the simplex).
RADIUS_BRANCH_LATENCY_SECONDS = 0.5


def _auto_k(problem: FacilityProblem) -> int:
    """Pairs per customer: about twice a facility's share of customers, at least 10."""
    n_f = int((~problem.forbidden).sum())
    share = problem.n_customers / max(problem.p or max(n_f // 4, 1), 1)
    return int(min(n_f, max(10, np.ceil(2.0 * share) + 5)))


def _keep_mask(problem: FacilityProblem, kept_count: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Pairs kept: per customer the ``kept_count`` cheapest, plus all with cost ≤ radius (ties)."""
    order = cost_order(problem)  # shared with the starts' ranking (one sort per problem)
    off = problem.offsets()
    rank = np.empty(problem.n_pairs, dtype=np.int64)
    rank[order] = np.arange(problem.n_pairs) - off[problem.pair_customer[order]]
    keep = rank < kept_count[problem.pair_customer]
    kept_cost = np.where(keep, problem.pair_cost, -np.inf)
    thr = np.full(problem.n_customers, -np.inf)
    np.maximum.at(thr, problem.pair_customer, kept_cost)
    thr = np.maximum(thr, radius)
    keep |= problem.pair_cost <= thr[problem.pair_customer] + 1e-9
    return keep


def _fallback(problem: FacilityProblem, keep: np.ndarray) -> np.ndarray:
    phi = np.full(problem.n_customers, np.inf)
    dropped = ~keep
    np.minimum.at(phi, problem.pair_customer[dropped], problem.pair_cost[dropped])
    return phi


def _polish_assignment(
    problem: FacilityProblem,
    settings: FacilitySettings,
    open_: np.ndarray,
    assign: np.ndarray,
    t0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact best single-source assignment to a heuristic's open set (a small GAP MIP).

    HiGHS solves the problem with the open set fixed, started from ``assign``, for at most a
    tenth of the time limit; the better of the two assignments is returned.
    """
    fixed = replace(problem, fixed_open=open_.copy(), forbidden=~open_, p=None)
    keep = open_[problem.pair_facility]
    sub = fixed.restrict(keep, None)
    mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
    raw = solve_highs(
        sub,
        time_limit=min(2.0, settings.time_limit / 10),
        seed=settings.seed,
        start=(open_, mods, assign),
        t0=t0,
    )
    if raw.status in ("optimal", "feasible") and (raw.assign >= 0).all():
        t_new, bad = evaluate(problem, open_, mods, raw.assign)
        t_old, _ = evaluate(problem, open_, mods, assign)
        if not bad and t_new["objective"] < t_old["objective"]:
            return open_, raw.assign
    return open_, assign


def _iterates(problem: FacilityProblem, settings: FacilitySettings) -> bool:
    """Whether the iterated open-set search (and the MIP split around it) runs: by default
    only with exactly p open. There swaps alone stall (pmedcap08: 822 until a kick finds
    820); with a free count the descent's add/drop moves reach Holmberg p57/p58's optima and
    the MIP is better left undivided (p59, p66 need its whole time)."""
    if settings.open_search_iterate is not None:
        return settings.open_search_iterate
    return problem.p is not None and problem.p_limit == "exactly"


def _parallel(problem: FacilityProblem, settings: FacilitySettings) -> bool:
    """Whether the open-set search runs beside the MIP (``open_search_parallel``; by
    default with a free count only)."""
    if settings.open_search_parallel is not None:
        return settings.open_search_parallel
    return not (problem.p is not None and problem.p_limit == "exactly")


#: Plan handed from the first MIP to the open-set search: (open, assign), or None.
_Plan = tuple[np.ndarray, np.ndarray] | None


def _open_search(
    problem: FacilityProblem,
    settings: FacilitySettings,
    start: tuple[np.ndarray, np.ndarray],
    info: dict[str, object],
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
) -> tuple[np.ndarray, np.ndarray, Callable[[_Plan], tuple[np.ndarray, np.ndarray]] | None]:
    """A descent of :func:`~solvers.layout.open_search.open_set_search` (exact assignments,
    work-limited) on the swap search's plan. With :func:`_iterates`: a short one
    (``open_search_descent_share``), and the rest of the search (descent + iterated search)
    as a closure for :func:`_run_with_search`, which calls it only when a first MIP does not
    prove optimality, from the cheaper of the descent's plan and that MIP's incumbent.
    Otherwise the descent gets the whole ``open_search_share`` and no closure is returned."""
    total = settings.time_limit * settings.open_search_share
    iterate_later = _iterates(problem, settings)
    first = settings.open_search_descent_share if iterate_later else settings.open_search_share
    budget = WorkBudget.start(min(settings.time_limit * first, total))
    # a safety cap only on the one-core path: the work budget ends the descent
    # (OPEN_SEARCH_FIRST_CAP); beside the MIP the iterated search goes on from the descents'
    # plan, so they stop earlier there (PARALLEL_FIRST_CAP)
    parallel = _parallel(problem, settings) and iterate_later
    first_cap = PARALLEL_FIRST_CAP if parallel else OPEN_SEARCH_FIRST_CAP
    budget.cap = min(budget.cap, t0 + (first_cap if iterate_later else 0.5) * settings.time_limit)

    def descend(
        plan: tuple[np.ndarray, np.ndarray], part: WorkBudget, shown: ProgressFn | None
    ) -> LnsResult:
        return open_set_search(
            problem,
            plan[0],
            plan[1],
            part,
            seed=settings.seed,
            # free count: 5 swap candidates per facility (its add/drop moves widen the
            # neighbourhood; Holmberg p58's descent: 10.7 → 8.7 calibrated s, same optimum)
            candidates=10 if iterate_later else 5,
            max_idle_kicks=0,
            progress=shown,
            stop=stop,
            t0=t0,
        )

    if iterate_later and settings.open_search_lp_start:
        # a second descent, from the rounded LP relaxation (another basin), on a budget of
        # its own; its work counts against the open-set search's share
        second = WorkBudget.start(budget.total)
        second_cap = PARALLEL_SECOND_CAP if parallel else OPEN_SEARCH_SECOND_CAP
        second.cap = min(second.cap, t0 + second_cap * settings.time_limit)
        from_lp: list[LnsResult | None] = []
        failed: list[BaseException] = []
        shown = _improving_only(progress)

        def lp_descent() -> None:
            try:
                lp_plan = lp_rounded_start(problem, second, seed=settings.seed)
                from_lp.append(descend(lp_plan, second, shown) if lp_plan is not None else None)
            except BaseException as exc:  # re-raised on the caller's thread
                failed.append(exc)

        if settings.open_search_descents_threaded:
            # each descent is work-limited on its own budget: the same plans as one after
            # the other, in about half the wall time (HiGHS releases the GIL in their LPs)
            worker = threading.Thread(target=lp_descent, name="lp-descent", daemon=True)
            worker.start()
            try:
                res = descend(start, budget, shown)
            finally:
                worker.join()
        else:
            res = descend(start, budget, shown)
            lp_descent()
        if failed:
            raise failed[0]
        other = from_lp[0]
        if other is not None:
            info["open_search_lp_start"] = other.start_objective
            info["open_search_lp_descent"] = other.objective
            if other.objective < res.objective - 1e-9 * max(1.0, abs(res.objective)):
                other.start_objective = res.start_objective
                other.seconds += res.seconds
                res = other
            else:
                res.seconds += other.seconds
        budget.absorb(second)
    else:
        res = descend(start, budget, progress)
    info.update(
        open_search_start=res.start_objective,
        open_search_descent=res.objective,
        open_search_work_seconds=round(budget.used, 3),
        open_search_seconds=round(res.seconds, 3),
        open_search_cut=list(budget.cut),
    )

    def iterate(mip_plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
        left = WorkBudget.start(max(total - budget.used, 0.0))
        # the safety cap never runs past the caller's time limit
        left.cap = min(left.cap, t0 + settings.time_limit - 0.05)
        plan = (res.open, res.assign)
        if mip_plan is not None and solution_cost(problem, *mip_plan) < res.objective - 1e-9:
            plan = mip_plan
            info["open_search_from_mip"] = solution_cost(problem, *mip_plan)
        more = open_set_search(
            problem,
            plan[0],
            plan[1],
            left,
            seed=settings.seed,
            max_idle_kicks=settings.open_search_idle_kicks,
            progress=progress,
            stop=stop,
            t0=t0,
        )
        info.update(
            open_search_objective=more.objective,
            open_search_descents=more.iterations,
            open_search_improvements=more.improvements,
            open_search_work_seconds=round(budget.used + left.used, 3),
            open_search_seconds=round(res.seconds + more.seconds, 3),
            open_search_cut=list(budget.cut) + list(more.cut),
        )
        return more.open, more.assign

    return res.open, res.assign, (iterate if iterate_later else None)


def _run_with_search(
    problem: FacilityProblem,
    settings: FacilitySettings,
    time_limit: float,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    search: Callable[[_Plan], tuple[np.ndarray, np.ndarray]],
    info: dict[str, object],
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
) -> RawSolve:
    """A first MIP on a share of the clock (easy instances are proven there, with no search
    time spent); if it does not prove, the open-set search from the cheaper of its incumbent
    and the descent's plan, and when that beats the incumbent, the MIP again from the
    search's plan for the time left."""
    first = min(time_limit, settings.time_limit * settings.open_search_mip_first)
    raw = _run(problem, settings, max(first, 0.01), start, progress, stop, t0)
    if raw.status in ("optimal", "infeasible") or (stop is not None and stop.is_set()):
        return raw
    has_mip = raw.status == "feasible" and bool((raw.assign >= 0).all())
    if _clock_left(settings, t0) <= SEARCH_MIN_SECONDS:
        # too late for the search: one of its GAP MIPs alone can outlast the limit
        if has_mip or start is None:
            return raw
        obj = solution_cost(problem, start[0], start[2])
        return replace(raw, status="feasible", objective=obj, open=start[0], assign=start[2])
    open_s, assign_s = search((raw.open, raw.assign) if has_mip else None)
    mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
    best = (open_s, mods, assign_s)
    best_obj = solution_cost(problem, open_s, assign_s)
    info["open_search_mip_first"] = raw.objective
    if has_mip and raw.objective <= best_obj + 1e-9:
        return raw  # the search found nothing better: a second MIP would only repeat the first
    left = _clock_left(settings, t0)
    if left <= 0.5 or (stop is not None and stop.is_set()):
        return replace(raw, status="feasible", objective=best_obj, open=best[0], assign=best[2])
    again = _run(problem, settings, left, best, progress, stop, t0)
    if again.status not in ("optimal", "feasible"):
        return replace(raw, status="feasible", objective=best_obj, open=best[0], assign=best[2])
    if again.status == "feasible":
        again.bound = max(again.bound, raw.bound)
    nodes = int(again.info.get("nodes", 0)) + int(raw.info.get("nodes", 0))  # type: ignore[call-overload]
    again.info["nodes"] = nodes
    return again


def _run(
    problem: FacilityProblem,
    settings: FacilitySettings,
    time_limit: float,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
    plan_nodes: int | None = None,
    offers: PlanOffers | None = None,
) -> RawSolve:
    if settings.solver == "cpsat":
        return solve_cpsat(
            problem,
            time_limit=time_limit,
            seed=settings.seed,
            num_workers=settings.num_workers,
            gap_limit=settings.gap_limit,
            scale=settings.cpsat_scale,
            start=start,
            progress=progress,
            stop=stop,
            t0=t0,
        )
    options: dict[str, bool | int | float | str] = {}
    if start is not None and is_uncapacitated(problem):
        # the swap start is usually optimal already: spend the time on the proof, not on
        # HiGHS's primal heuristics (pmed6: 25 s → 3 s)
        options.update(PROOF_OPTIONS)
    options.update(settings.highs_options)
    return solve_highs(
        problem,
        time_limit=time_limit,
        seed=settings.seed,
        gap_limit=settings.gap_limit,
        start=start,
        progress=progress,
        stop=stop,
        t0=t0,
        options=options,
        plan_nodes=plan_nodes,
        offers=offers,
    )


def _improving_only(progress: ProgressFn | None) -> ProgressFn | None:
    """``progress`` for stages on two threads: an event whose plan is no cheaper than one
    already reported by either is dropped (each stage reports against its own best)."""
    if progress is None:
        return None
    lock = threading.Lock()
    best = [np.inf]

    def forward(ev: ProgressEvent) -> None:
        with lock:
            if ev.objective is not None and ev.objective >= best[0]:
                return
            if ev.objective is not None:
                best[0] = ev.objective
        progress(ev)

    return forward


def _run_parallel(
    problem: FacilityProblem,
    settings: FacilitySettings,
    time_limit: float,
    start: tuple[np.ndarray, np.ndarray, np.ndarray],
    info: dict[str, object],
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
) -> RawSolve:
    """The MIP on this thread and the open-set search on a second one, from the same plan.

    The search (descent, then the iterated search; work-limited by ``open_search_share``)
    offers each plan that beats its best to the MIP, which takes it as its incumbent
    (:class:`~solvers.layout.highs_model.PlanOffers`). The MIP runs to a proof or the clock;
    its end stops the search. The answer is the MIP's, or the search's plan when that is
    cheaper (found after the MIP last asked for one). With :func:`_iterates` (exactly p)
    ``start`` is the plan of :func:`_open_search`'s descents, whose work
    (``info["open_search_work_seconds"]``) counts against the share; the search beside the
    MIP then iterates from it.
    """
    descended = _iterates(problem, settings)
    offers = PlanOffers()
    halt = threading.Event()
    progress = _improving_only(progress)
    used = float(info.get("open_search_work_seconds", 0.0)) if descended else 0.0  # type: ignore[arg-type]
    budget = WorkBudget.start(max(settings.time_limit * settings.open_search_share - used, 0.0))
    # a safety cap only: the MIP's end normally stops the search first. It ends a GAP MIP
    # under way PARALLEL_JOIN_SECONDS before the MIP's own end, so the join does not wait
    budget.cap = min(
        budget.cap, t0 + settings.time_limit - FINISH_MIN_SECONDS - PARALLEL_JOIN_SECONDS
    )
    found: list[LnsResult] = []
    failed: list[BaseException] = []

    def search() -> None:
        try:
            found.append(
                open_set_search(
                    problem,
                    start[0],
                    start[2],
                    budget,
                    seed=settings.seed,
                    candidates=PARALLEL_SEARCH_CANDIDATES,
                    max_idle_kicks=settings.open_search_idle_kicks,
                    progress=progress,
                    stop=halt,
                    t0=t0,
                    on_improve=offers.offer,
                    incoming=offers.mip_best,
                )
            )
        except BaseException as exc:  # re-raised on the caller's thread
            failed.append(exc)

    worker = threading.Thread(target=search, name="open-set-search", daemon=True)
    worker.start()
    try:
        raw = _run(problem, settings, time_limit, start, progress, stop, t0, offers=offers)
    finally:
        halt.set()
        worker.join()
    if failed:
        raise failed[0]
    res = found[0]
    cut_before: list[str] = list(info.get("open_search_cut", [])) if descended else []  # type: ignore[call-overload]
    if not descended:
        info["open_search_start"] = solution_cost(problem, start[0], start[2])
    info.update(
        open_search_objective=res.objective,
        open_search_descents=res.iterations,
        open_search_improvements=res.improvements,
        open_search_work_seconds=round(used + budget.used, 3),
        open_search_seconds=round(res.seconds, 3),
        open_search_cut=cut_before + list(budget.cut),
        open_search_parallel=True,
        open_search_offers_taken=offers.taken,
    )
    if raw.status == "optimal":
        return raw
    if raw.status in ("feasible", "no_solution") and res.objective < raw.objective - 1e-9 * max(
        1.0, abs(res.objective)
    ):
        mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
        return replace(
            raw,
            status="feasible",
            objective=res.objective,
            open=res.open,
            modules=mods,
            assign=res.assign,
        )
    return raw


def solve_facility(
    problem: FacilityProblem,
    settings: FacilitySettings | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> FacilitySolution:
    """Solve a facility problem; the answer is verified against the full pair set.

    The capacitated p-median with ``capacitated_lns`` (by default above ``LNS_AUTO_ABOVE``
    pairs) goes through :func:`_solve_capacitated`: a work-limited start and LNS
    (:func:`~solvers.layout.capacitated.capacitated_start`), the MIP for bound and proof, and
    :func:`~solvers.layout.capacitated.improve_solution` on an unproven answer;
    ``info["deterministic"]`` says whether the plan is load-independent.

    Returns
    -------
    FacilitySolution
        ``status`` optimal (proven on the full problem), feasible (time limit or stop: ``bound``
        is still valid) or infeasible (the solver proved it; no explanation was found before).

    Raises
    ------
    planner.errors.InfeasiblePlan
        When a reason is found before solving (with numbers).
    solvers.progress.Cancelled
        When ``stop`` was set before any solution existed.
    """
    settings = settings or FacilitySettings()
    t0 = time.perf_counter()
    if not _lns_first(problem, settings):
        return _solve_facility(problem, settings, progress, stop, t0)
    return _solve_capacitated(problem, settings, progress, stop, t0)


#: Work of the capacitated swap start in the MIP path: evaluations × customers² (400
#: evaluations at 100 customers, 100 at Holmberg's 200).
SWAP_START_WORK = 4_000_000

#: Wall-clock safety caps (shares of the time limit, from the start) of the first open-set
#: descent and of the second, from the rounded LP. Each descent ends on its work budget
#: (``open_search_descent_share``); the caps only guard against an extreme load. At 0.25 and
#: 0.45 they struck on a machine about twice as slow as the one the budgets were measured on,
#: and Osman–Christofides at 10 s fell from 20 to 16 of 20 at the optimum; at 0.9 it was 19.
OPEN_SEARCH_FIRST_CAP = 0.9
OPEN_SEARCH_SECOND_CAP = 0.9
#: The same caps when the MIP then runs with the iterated search beside it
#: (``open_search_parallel``, exactly p). At 0.9 the two descents took 8.9 s of 10 on
#: Osman–Christofides pmedcap20 on the slow machine of 2026-11-25, the late MIP overran the
#: limit (10.08 s), and the search beside it had no time; at 0.3 and 0.5 the MIP starts by
#: about half the limit, ran to 9.93 s, and the search beside it still reached 1005 there.
PARALLEL_FIRST_CAP = 0.3
PARALLEL_SECOND_CAP = 0.5
#: Wall seconds the open-set search after the first MIP needs at least; with less left it is
#: skipped (a single GAP MIP of Osman–Christofides takes about 0.25 s on a slow machine, and
#: with the caps above a late search ran the answers to 10.07–10.23 s of 10).
SEARCH_MIN_SECONDS = 0.5
#: Swap candidates per open facility of the open-set search beside the MIP
#: (``open_search_parallel``): it has the whole clock there, so the wider neighbourhood
#: (Holmberg p66 from a 31,479 plan: 31,415, the optimum, after 8 s with 10).
PARALLEL_SEARCH_CANDIDATES = 10
#: Wall seconds before the MIP's end at which the search beside it stops at the latest (its
#: GAP MIPs take their time limit from this cap; the join waited for one to 9.99 s of 10 on
#: Osman–Christofides pmedcap14).
PARALLEL_JOIN_SECONDS = 0.25

#: Wall seconds per pair reserved after the full MIP of a large CPMP for checking and
#: finishing the answer (the plan is verified twice against every pair) and for the LNS
#: polish's set-up and final check. rl1304_010 at 120 s: 10 s from the MIP's end to the
#: polish, and 3.5 s of polish when 1.3 s were left (1.7 M pairs); runs ended 311 s into
#: a 300-s limit before this reserve.
FINISH_SECONDS_PER_PAIR = 1.0e-5
#: ... and at most this many seconds: the checks are vectorised passes over the pairs
#: (``assigned_pairs``), and 1e-5 s a pair kept 199 s of 300 back on fnl4461 (20 M pairs).
FINISH_MAX_SECONDS = 30.0
#: Wall seconds every MIP on the clock leaves before the time limit, for the answer's check
#: and packaging after it stops: without it Holmberg's 30-s runs ended at 30.01–30.04 s and
#: Osman–Christofides pmedcap08 at 10.03 s.
FINISH_MIN_SECONDS = 0.1
#: Calibrated seconds per nonzero and node of the full MIP when its plan is taken within a
#: node limit (``lns_mip_share``); its root is not bounded by the limit. lin318_040 (26k
#: nonzeros) on a quiet machine: about 0.11 s a node after a 25-s root, so this charges
#: nodes at about 3.5 × their wall time, which leaves room for the root and for load.
PLAN_SECONDS_PER_NNZ_NODE = 1.5e-5
#: Calibrated seconds for re-assigning the open set of a MIP plan that left customers on
#: their fallback (a GAP MIP with each customer's 10 cheapest open facilities).
REPAIR_GAP_SECONDS = 5.0
#: Wall seconds kept for the LNS polish per calibrated second of its budget (small
#: sub-MIPs are charged about their wall time; u724_200's polish hit its deadline at 1.0).
POLISH_WALL_FACTOR = 1.5
#: Share of that reserve kept free at the end of the polish.
POLISH_FINISH_SHARE = 0.3

#: ``capacitated_lns=None`` turns the LNS pipeline on above this many pairs (lin318 has
#: 101,124; Osman–Christofides at most 10,000, where the MIP on the clock does better).
LNS_AUTO_ABOVE = 40_000


#: Above this estimate of the sparsified MIP's nonzeros (:func:`_plan_mip_nnz`) the MIP's plan
#: is not taken and the LNS gets ``lns_large_share``. At 300 s the MIP's root did not reach its
#: node limit on rl1304_200 (about 94k nonzeros; node 0 after 155 s), u724_030 (159k) or
#: rl1304_010/050; lin318_040 (27.7k) reached it with its best plan at node 320.
PLAN_MIP_MAX_NNZ = 90_000
#: ... and above this product of those nonzeros and the customers (a root simplex iteration
#: costs about one pass over the customer rows, and their number grows with the rows), except
#: where the column generation gives the plan (its master MIP plays that part; those rows were
#: measured on this routing). Measured at 300 s: lin318_015 (19.6 M) proved its optimum at
#: 146 s and lin318_040 (8.7 M) took its plan at node 320, while ali535_050 (58.8k nonzeros,
#: 31.5 M) was at node 168 of 169 after 132 s of root heuristics, with 57 customers on their
#: fallback: +1.88 % that way; on the LNS's route +0.92 % (the kernel at y > 0), +0.14 % (at
#: y > 0.5). The CG rows from 15.5 M (ali535_150) to 36.7 M (u724_125) never reached their
#: node limit either.
PLAN_MIP_MAX_ROOT_WORK = 25_000_000


#: Above this product of the sparsified MIP's nonzeros and the customers the MIP is not run at
#: all (:func:`_bound_mip_out_of_reach`): its root LP did not finish in any measured run at
#: 300 s, so it gave no bound (reported as 0) and its clock is better spent on the LNS.
#: Measured: rl1304_010 (1.81e9) ran 98 s without a root LP; pr2392_020 (5.62e9) ran 61 s and
#: overran the time limit by 2.1 s (HiGHS did not stop inside its setup); pr2392_075 (1.59e9),
#: fnl4461_0100/0250 (7.6e9, 3.3e9) gave 0, fnl4461_0020/0500 (3.6e10, 1.87e9) nothing. The
#: largest MIP that gave a bound there was rl1304_100's (2.21e8: 496,316 against its kernel
#: LP's 495,749); fnl4461_1000 (1.15e9) reports the kernel LP's bound only.
MIP_BOUND_MAX_ROOT_WORK = 1_000_000_000


def _bound_mip_out_of_reach(problem: FacilityProblem, settings: FacilitySettings) -> bool:
    """Whether the MIP is skipped on the LNS route (``MIP_BOUND_MAX_ROOT_WORK``)."""
    nnz = _plan_mip_nnz(problem, settings)
    return nnz * problem.n_customers > MIP_BOUND_MAX_ROOT_WORK


def _clock_left(settings: FacilitySettings, t0: float) -> float:
    """Wall seconds a MIP on the clock may still run: the time limit less the time spent and
    ``FINISH_MIN_SECONDS`` for the answer's check and packaging."""
    return settings.time_limit - (time.perf_counter() - t0) - FINISH_MIN_SECONDS


def _plan_mip_nnz(problem: FacilityProblem, settings: FacilitySettings) -> int:
    """Nonzeros of the sparsified MIP (4 per kept pair, 2 per facility), before it is built:
    each customer keeps ``k_nearest`` (or :func:`_auto_k`) pairs."""
    if problem.n_pairs <= settings.sparsify_above:
        pairs = problem.n_pairs
    else:
        k = settings.k_nearest or _auto_k(problem)
        pairs = min(problem.n_pairs, problem.n_customers * k)
    return _model_nnz(pairs, problem.n_facilities)


def _plan_mip_too_big(problem: FacilityProblem, settings: FacilitySettings) -> bool:
    """Whether the MIP's plan is not taken (``PLAN_MIP_MAX_NNZ``, ``PLAN_MIP_MAX_ROOT_WORK``):
    then the LNS gets ``lns_large_share`` and the kernel and iterated searches."""
    nnz = _plan_mip_nnz(problem, settings)
    if nnz > PLAN_MIP_MAX_NNZ:
        return True
    if settings.lns_cluster_cg and cluster_cg_applies(problem):
        return False
    return nnz * problem.n_customers > PLAN_MIP_MAX_ROOT_WORK


def _model_nnz(n_pairs: int, n_facilities: int) -> int:
    """Nonzeros of the strong CPMP MIP: per pair served-once, capacity and x ≤ y (two); per
    facility its capacity and the open count."""
    return 4 * n_pairs + 2 * n_facilities


def _lns_first(problem: FacilityProblem, settings: FacilitySettings) -> bool:
    """Capacitated p-median with ``capacitated_lns`` (None: above ``LNS_AUTO_ABOVE`` pairs)
    and HiGHS. SSCFLP (free count) keeps the swap start + MIP (Holmberg: 69/71 at the optimum
    that way; the LNS was not measured better there)."""
    wanted = (
        settings.capacitated_lns
        if settings.capacitated_lns is not None
        else problem.n_pairs > LNS_AUTO_ABOVE
    )
    return (
        wanted
        and settings.solver == "highs"
        and lns_applies(problem)
        and problem.p is not None
        and problem.p_limit == "exactly"
    )


def _solve_capacitated(
    problem: FacilityProblem,
    settings: FacilitySettings,
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
) -> FacilitySolution:
    """CPMP: work-limited start + LNS, the MIP on the clock for bound and proof, LNS polish.

    The plan comes from the work-limited stages (same seed, same plan under any load). The MIP
    adds its bound (``optimal`` when the plan meets it) and, when it proves a better plan
    optimal, that plan (then the answer is the optimum). With ``lns_deterministic=False`` an
    unproven MIP incumbent that beats the plan is used too (better, but load-dependent).
    Above ``PLAN_MIP_MAX_NNZ`` or ``PLAN_MIP_MAX_ROOT_WORK`` (:func:`_plan_mip_too_big`) the
    MIP's plan is not taken and the LNS gets ``lns_large_share`` of the limit instead of
    ``lns_start_share``; above ``MIP_BOUND_MAX_ROOT_WORK`` (:func:`_bound_mip_out_of_reach`)
    the MIP does not run at all and the LNS gets ``lns_alone_share``.
    """
    reasons = explain_infeasible(problem)
    if reasons:
        raise InfeasiblePlan(reasons)
    # where the MIP's root alone outlasts its share of the clock, its plan is never taken:
    # that time goes to the LNS (deterministic: decided from the model's size)
    big = _plan_mip_too_big(problem, settings)
    alone = big and _bound_mip_out_of_reach(problem, settings)
    share = (
        settings.lns_alone_share
        if alone
        else settings.lns_large_share
        if big
        else settings.lns_start_share
    )
    budget = WorkBudget.start(settings.time_limit * share)
    # the safety cap stays inside the time limit (2.5 × a 70 % share would not) and leaves the
    # time to check and finish the answer (fnl4461: 20 M pairs)
    reserve = min(FINISH_SECONDS_PER_PAIR * problem.n_pairs, FINISH_MAX_SECONDS)
    budget.cap = min(budget.cap, t0 + 0.95 * settings.time_limit - reserve)
    lns = capacitated_start(
        problem,
        time_limit=budget.total,
        seed=settings.seed,
        progress=progress,
        stop=stop,
        t0=t0,
        budget=budget,
        iterate=big and settings.lns_iterate,
        kernel_lp_pairs=(
            _auto_k(problem)
            if big and settings.lns_kernel and not open_moves_apply(problem)
            else None
        ),
        cluster_cg=settings.lns_cluster_cg,
    )
    given = None
    extra: dict[str, object] = {}
    if lns is not None:
        a_p = polish_assignment(problem, lns.open, lns.assign, budget, seed=settings.seed)
        given = (lns.open, a_p)
        extra = {
            "lns_iterations": lns.iterations,
            "lns_improvements": lns.improvements,
            "lns_start_objective": lns.start_objective,
            "lns_work_seconds": round(budget.used, 3),
            # the LNS's share of the limit; lns_large_share when the MIP's plan is not taken
            "lns_share": share,
            "lns_converged": lns.converged,
            "lns_kicks": lns.kicks,
            "lns_kernel": lns.kernel,
            "cluster_cg": lns.cluster_cg,
        }
    # a converged LNS would polish the same plan again (lns_deterministic) unless the MIP's
    # plan is taken: otherwise the MIP gets it all
    converged = lns is not None and lns.converged and settings.lns_deterministic
    polish = settings.time_limit * settings.lns_polish_share
    take_mip = (
        settings.lns_deterministic and settings.lns_mip_share > 0 and given is not None and not big
    )
    if converged and not take_mip:
        polish = 0.0
    # the MIP gets the wall clock left after the start, minus the polish's budget and the
    # time to check and finish the answer after it (reserve)
    mip_end = max(
        settings.time_limit - POLISH_WALL_FACTOR * polish - reserve, time.perf_counter() - t0 + 0.02
    )
    inner = settings.model_copy(update={"time_limit": mip_end})
    plan_work = settings.time_limit * settings.lns_mip_share if take_mip else None
    mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
    if alone and given is not None:
        # no MIP: the LNS's plan as it is (the branch below finishes it and the polish runs)
        sol = _finish(
            problem,
            settings,
            (given[0], mods, given[1]),
            "feasible",
            -np.inf,
            {"pairs": problem.n_pairs, "mip_skipped": "root out of reach"},
            t0,
        )
    else:
        sol = _solve_facility(
            problem,
            inner,
            progress,
            stop,
            t0,
            given=given,
            plan_work=plan_work,
            # a repair of the MIP's plan after the clock stopped it must not pass the limit
            repair_deadline=t0 + settings.time_limit - reserve,
        )
    sol.info.update(extra)
    mip_cut: list[str] = []
    if take_mip and sol.status != "optimal" and sol.info.get("model_plan_reached") is not True:
        mip_cut = ["mip"]  # the clock stopped the MIP before its node limit: not its plan
    if (
        given is not None
        and settings.lns_deterministic
        and sol.status != "optimal"
        and (not take_mip or mip_cut)
    ):
        # an unproven MIP incumbent depends on where the clock stopped it: keep the plan
        if solution_cost(problem, given[0], given[1]) > sol.objective:
            sol.info["mip_incumbent_ignored"] = sol.objective
        plan = (given[0], mods, given[1])
        # _finish keeps "optimal" only when the plan meets the MIP's bound
        status = "optimal" if settings.gap_limit == 0 else "feasible"
        sol = _finish(problem, settings, plan, status, sol.bound, sol.info, t0)
    out = improve_solution(
        problem,
        sol,
        time_limit=polish,
        seed=settings.seed,
        progress=progress,
        stop=stop,
        t0=t0,
        # its safety cap stays inside the time limit (lin318_100 under a load of 2 ran to
        # 314 s of 300 once the sub-MIPs' charges came down to about twice their wall time),
        # less its own set-up and final check
        deadline=t0 + settings.time_limit - POLISH_FINISH_SHARE * reserve,
    )
    cut = list(budget.cut) + mip_cut + list(out.info.get("lns_cut", []))  # type: ignore[call-overload]
    if lns is not None and lns.bound > out.bound and out.status == "feasible":
        # the column generation's or the kernel LP's Lagrangian bound (valid for the whole
        # problem)
        out.bound = float(min(lns.bound, out.objective))
        if out.bound >= out.objective - max(1e-6 * abs(out.objective), 1e-6):
            out.status = "optimal"
    out.info["wall_cap_stages"] = cut  # stages a wall-clock safety cap stopped
    out.info["deterministic"] = bool(not cut and given is not None)
    return out


def _solve_facility(
    problem: FacilityProblem,
    settings: FacilitySettings,
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
    given: tuple[np.ndarray, np.ndarray] | None = None,
    plan_work: float | None = None,
    repair_deadline: float | None = None,
) -> FacilitySolution:
    """Start heuristics, Lagrangian reduction, then the (sparsified) MIP.

    ``plan_work`` (calibrated seconds, HiGHS only) turns the MIP's answer into the best plan
    it found within a node limit set from this work (see ``PLAN_SECONDS_PER_NNZ_NODE`` and
    :func:`~solvers.layout.highs_model.solve_highs`'s ``plan_nodes``); the run still goes on
    to the clock for the bound. ``repair_deadline`` (a ``time.perf_counter()`` value) is the
    latest the repair of a plan left on fallbacks may run (:func:`_repair_plan`).
    """
    reasons = explain_infeasible(problem)
    if reasons:
        raise InfeasiblePlan(reasons)
    info: dict[str, object] = {"pairs": problem.n_pairs, "rounds": 0}

    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    search: Callable[[_Plan], tuple[np.ndarray, np.ndarray]] | None = None
    parallel = False  # the open-set search runs beside the MIP (_run_parallel)
    open_h = uncapacitated_local_search(
        problem,
        time_limit=min(settings.heuristic_seconds, settings.time_limit / 4),
        seed=settings.seed,
    )
    a_h = assign_cheapest(problem, open_h) if open_h is not None else None
    if open_h is None and given is not None:
        open_h, a_h = given  # the CPMP start of _solve_capacitated (work-limited)
    elif open_h is None:
        # each evaluation is a regret pass and shift/swap moves (~customers² work): a work
        # limit that ends well before the clock cap (Holmberg p58 under load: 400 evaluations
        # ran into the 5 s cap, so the start, and the answer, depended on the load)
        evaluations = int(
            np.clip(
                SWAP_START_WORK / max(problem.n_customers, 1) ** 2,
                20,
                SWAP_SEARCH_MAX_EVALUATIONS,
            )
        )
        cap_h = capacitated_local_search(
            problem,
            time_limit=min(settings.heuristic_seconds, settings.time_limit / 4),
            seed=settings.seed,
            max_evaluations=evaluations,
        )
        if (
            cap_h is not None
            and settings.open_search
            and settings.open_search_share > 0
            and settings.solver == "highs"
            and problem.n_pairs <= OPEN_SEARCH_MAX_PAIRS
        ):
            if _parallel(problem, settings) and not _iterates(problem, settings):
                # free count: the search runs beside the MIP (_run_parallel) from the same plan
                open_h, a_h = cap_h
                parallel = True
            else:
                open_h, a_h, search = _open_search(
                    problem, settings, cap_h, info, progress, stop, t0
                )
                if _parallel(problem, settings) and search is not None:
                    # exactly p: after the descents, one undivided MIP with the iterated
                    # search beside it instead of the first MIP / search / second MIP split
                    search = None
                    parallel = True
        elif cap_h is not None:
            open_h, a_h = _polish_assignment(problem, settings, *cap_h, t0)
    if open_h is not None and a_h is not None and (a_h >= 0).all():
        mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
        start = (open_h, mods, a_h)
        h_terms, h_bad = evaluate(problem, open_h, mods, a_h)
        if h_bad:
            start = None
        else:
            info["heuristic_objective"] = h_terms["objective"]
            info["heuristic_seconds"] = round(time.perf_counter() - t0, 3)
            if progress is not None:
                progress(
                    ProgressEvent(time.perf_counter() - t0, h_terms["objective"], None, "heuristic")
                )

    if (
        settings.radius
        and settings.solver == "highs"
        and settings.k_nearest is None
        and radius_applies(problem)
    ):
        return _solve_by_radius(problem, settings, start, info, progress, stop, t0)

    incumbent = start  # feasible for the full problem; the answer is never worse than it
    # Lagrangian bound: may prove the start optimal, else closes facilities that cannot pay
    full = problem
    lag_floor = -np.inf  # any solution using an eliminated facility costs more than this
    lag_lb = -np.inf  # Lagrangian bound, valid for the full problem
    uncap_lag = lagrangian_applies(problem)
    knap_lag = settings.lagrangian_knapsack and knapsack_applies(problem)
    if start is not None and settings.lagrangian and (uncap_lag or knap_lag):
        ub = float(info["heuristic_objective"])  # type: ignore[arg-type]
        integral = integral_costs(problem)
        lag_time = min(10.0, settings.time_limit / 3)
        if uncap_lag:
            lag = lagrangian_eliminate(problem, ub, integral=integral, time_limit=lag_time)
        else:
            lag = lagrangian_knapsack(problem, ub, integral=integral, time_limit=lag_time / 2)
        dropped = lag.dropped if lag.dropped is not None else np.zeros(problem.n_pairs, bool)
        info.update(
            lagrangian_bound=lag.bound,
            lagrangian_iterations=lag.iterations,
            lagrangian_seconds=round(lag.seconds, 3),
            eliminated_facilities=int(lag.closed.sum()),
            fixed_open_facilities=int(lag.opened.sum()),
            eliminated_pairs=int(dropped.sum()),
        )
        lb = float(np.ceil(lag.bound - 1e-7)) if integral else lag.bound
        lag_lb = lb
        if progress is not None:
            progress(ProgressEvent(time.perf_counter() - t0, ub, lb, "lagrangian"))
        if lb >= ub - 1e-9 * max(1.0, abs(ub)):
            return _finish(problem, settings, start, "optimal", lb, info, t0)
        if lag.closed.any() or lag.opened.any() or dropped.any():
            delta = 1.0 - 1e-6 if integral else 1e-9 * max(1.0, abs(ub))
            lag_floor = ub - delta
            keep_p = ~lag.closed[problem.pair_facility] & ~dropped
            used = np.zeros(problem.n_pairs, bool)
            used[assigned_pairs(problem, start[2])] = True
            problem = replace(
                problem.restrict(keep_p, None),
                forbidden=problem.forbidden | lag.closed,
                fixed_open=problem.fixed_open | lag.opened,
            )
            # a start using an eliminated facility or pair is no MIP start for the reduced problem
            if (
                np.any(start[0] & lag.closed)
                or np.any(~start[0] & lag.opened)
                or np.any(used & ~keep_p)
            ):
                start = None
            if np.bincount(problem.pair_customer, minlength=problem.n_customers).min() == 0:
                # a customer has no pair left: no solution beats the incumbent
                assert incumbent is not None
                return _finish(full, settings, incumbent, "optimal", ub, info, t0)

    sparse = problem.n_pairs > settings.sparsify_above and not (problem.min_load > 0).any()
    work = problem
    kept_count = np.zeros(problem.n_customers, dtype=np.int64)
    radius = np.full(problem.n_customers, -np.inf)
    if sparse:
        kept_count[:] = settings.k_nearest or _auto_k(problem)
        if start is not None:
            radius = problem.pair_cost[assigned_pairs(problem, start[2])]
    raw: RawSolve | None = None
    while True:
        info["rounds"] = int(info["rounds"]) + 1  # type: ignore[call-overload]
        if sparse:
            keep = _keep_mask(problem, kept_count, radius)
            phi = _fallback(problem, keep)
            work = problem.restrict(keep, phi)
            info["kept_pairs"] = int(keep.sum())
        left = _clock_left(settings, t0)
        if search is not None and start is not None and not sparse and problem is full:
            raw = _run_with_search(
                work, settings, max(left, 0.01), start, search, info, progress, stop, t0
            )
        elif parallel and start is not None and not sparse and problem is full:
            raw = _run_parallel(work, settings, max(left, 0.01), start, info, progress, stop, t0)
        else:
            nodes = None
            if plan_work is not None:
                nnz = _model_nnz(work.n_pairs, work.n_facilities)
                nodes = max(int(plan_work / (PLAN_SECONDS_PER_NNZ_NODE * nnz)), 1)
                info["plan_nodes"] = nodes
            raw = _run(work, settings, max(left, 0.01), start, progress, stop, t0, nodes)
        used = (
            np.flatnonzero(raw.assign < 0)
            if raw.status in ("optimal", "feasible")
            else np.zeros(0, int)
        )
        info["fallback_customers"] = int(used.size)
        info.update({f"model_{k}": v for k, v in raw.info.items()})
        if not (sparse and raw.status == "optimal" and used.size):
            break
        if time.perf_counter() - t0 >= settings.time_limit or (stop is not None and stop.is_set()):
            break
        # the relaxation needed pairs it did not have: double them for those customers
        counts = np.bincount(work.pair_customer, minlength=problem.n_customers)
        kept_count[used] = 2 * counts[used] + 1
        repaired = raw.assign.copy()
        full_assign = assign_cheapest(problem, raw.open)
        repaired[used] = full_assign[used]
        cand = (raw.open, raw.modules, repaired)
        _, bad = evaluate(problem, *cand)
        if not bad:
            start = cand

    assert raw is not None
    if raw.status == "infeasible" and incumbent is None:
        info["note"] = "the solver proved that no plan exists"
        return _empty(full, settings, info, t0)
    if raw.status in ("infeasible", "no_solution"):
        if incumbent is None:
            if stop is not None and stop.is_set():
                raise Cancelled("stopped before any solution was found")
            info["note"] = "no solution within the time limit"
            return _empty(full, settings, info, t0, bound=raw.bound)
        cand = incumbent
        status = "optimal" if raw.status == "infeasible" else "feasible"
        bound = lag_floor if raw.status == "infeasible" else min(raw.bound, lag_floor)
    else:
        assign = raw.assign.copy()
        status = raw.status
        used = np.flatnonzero(assign < 0)
        if used.size:
            # the relaxation's plan still uses fallbacks (out of time, or a plan within the
            # node limit): give those customers real facilities
            assign = _repair_plan(
                full, raw.open, raw.modules, assign, settings.seed, info, repair_deadline
            )
            status = "feasible"
        cand = (raw.open, raw.modules, assign)
        bound = min(raw.bound, lag_floor) if np.isfinite(lag_floor) else raw.bound
        if incumbent is not None:
            t_c, bad_c = evaluate(full, *cand)
            t_s, _ = evaluate(full, *incumbent)
            if bad_c or t_s["objective"] < t_c["objective"]:
                cand = incumbent
    bound = max(bound, lag_lb)
    if integral_costs(full) and np.isfinite(bound):
        bound = float(np.ceil(bound - 1e-7))
    return _finish(full, settings, cand, status, bound, info, t0)


def _repair_plan(
    problem: FacilityProblem,
    open_: np.ndarray,
    modules: np.ndarray,
    assign: np.ndarray,
    seed: int,
    info: dict[str, object],
    deadline: float | None = None,
) -> np.ndarray:
    """A full assignment for a MIP plan that left customers (``assign`` −1) on their fallback.

    First :func:`_repair_fallbacks`. The fallbacks took no seats, so that may overflow, and
    their nearest open facility with room may be far (u724_200: the MIP's plan at 28,194 with
    6 customers on their fallback cost 28,795 so repaired, above the LNS plan's 28,558). So,
    with one seat pool and hard capacity, the open set is also assigned afresh by the
    node-limited GAP MIP (:func:`~solvers.layout.cap_start.gap_assign`, ``REPAIR_GAP_SECONDS``
    of work, from that repair), and the cheaper valid assignment is kept. ``info`` gets ``fallback_repair``
    (``gap`` or ``failed``) when the GAP ran, and ``fallback_repair_cut`` when its wall-clock
    safety cap struck; that cap is ``deadline`` at the latest (ali535_025: the GAP after a MIP
    stopped at 297.1 s ran its 12.5-s cap to 302.3 s of a 300-s limit).
    """
    used = np.flatnonzero(assign < 0)
    out = assign.copy()
    out[used] = _repair_fallbacks(problem, open_, assign, used)
    if not lns_applies(problem):
        return out
    gap = WorkBudget.start(REPAIR_GAP_SECONDS)
    if deadline is not None:
        gap.cap = min(gap.cap, deadline)
    fixed = gap_assign(problem, open_, gap, start=out, seed=seed, k=10)
    info["fallback_repair"] = "gap" if fixed is not None else "failed"
    if gap.cut:
        info["fallback_repair_cut"] = True
    if fixed is None:
        return out
    if evaluate(problem, open_, modules, out)[1]:
        return fixed
    return (
        fixed if solution_cost(problem, open_, fixed) < solution_cost(problem, open_, out) else out
    )


def _repair_fallbacks(
    problem: FacilityProblem, open_: np.ndarray, assign: np.ndarray, used: np.ndarray
) -> np.ndarray:
    """Facilities for the customers ``used`` that a sparsified MIP left on their fallback.

    With one seat pool and hard capacity (:func:`~solvers.layout.capacitated.lns_applies`),
    each (largest load first) goes to its cheapest open facility with room left after the
    others; the cheapest open one otherwise (then the plan may overflow and is checked by the
    caller). lin318_040: the MIP's best plan left one customer on its fallback, and the
    cheapest open facility was full.
    """
    cheapest = assign_cheapest(problem, open_)[used]
    if not lns_applies(problem):
        return cheapest
    off = problem.offsets()
    others = np.flatnonzero(assign >= 0)
    pos = assigned_pairs(problem, assign)[others]  # one pass; _Pairs would sort every pair
    load = np.bincount(
        assign[others], weights=problem.pair_load[pos], minlength=problem.n_facilities
    )
    out = cheapest.copy()
    demand = np.array([problem.pair_load[off[j]] for j in used])
    for k in np.argsort(-demand, kind="stable"):
        j = int(used[k])
        lo, hi = off[j], off[j + 1]
        facs = problem.pair_facility[lo:hi]
        ok = open_[facs] & (
            load[facs] + problem.pair_load[lo:hi] <= problem.capacity[facs, 0] + 1e-9
        )
        if ok.any():
            cand = np.flatnonzero(ok)
            best = cand[np.argmin(problem.pair_cost[lo:hi][cand])]
            out[k] = facs[best]
            load[facs[best]] += problem.pair_load[lo + best]
    return out


def _solve_by_radius(
    problem: FacilityProblem,
    settings: FacilitySettings,
    start: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    info: dict[str, object],
    progress: ProgressFn | None,
    stop: threading.Event | None,
    t0: float,
) -> FacilitySolution:
    """The uncapacitated case by :func:`solvers.layout.radius.solve_radius` (same contract)."""
    options: dict[str, bool | int | float | str] = dict(RADIUS_PROOF_OPTIONS) if start else {}
    if settings.gap_limit > 0:
        options["mip_rel_gap"] = settings.gap_limit
    options.update(settings.highs_options)
    # the final check on the full pair set (evaluate, loads) is inside the time limit too:
    # about 1.4 s for 810,000 pairs on a loaded 2-core machine; and HiGHS notices the deadline
    # only between LP solves (a node LP of pmed36 took up to ~2 s: measured overshoot 2.1 s)
    # (the radius branch-and-bound solves only LPs, which the interrupt callback stops within
    # a few iterations: a short latency reserve suffices there)
    latency = RADIUS_BRANCH_LATENCY_SECONDS if settings.radius_branch else HIGHS_LATENCY_SECONDS
    reserve = (
        0.2 + VERIFY_SECONDS_PER_PAIR * problem.n_pairs + min(latency, 0.04 * settings.time_limit)
    )
    left = settings.time_limit - (time.perf_counter() - t0) - reserve
    res = solve_radius(
        problem,
        time_limit=max(left, 0.01),
        seed=settings.seed,
        start=start[0] if start is not None else None,
        progress=progress,
        stop=stop,
        t0=t0,
        lagrangian_seconds=settings.radius_lagrangian_seconds,
        lagrangian_iterations=settings.radius_lagrangian_iterations,
        mip_method="branch" if settings.radius_branch else "highs",
        options=options,
    )
    info.update({f"radius_{k}" if k in info else k: v for k, v in res.info.items()})
    if res.open is None:
        if res.status == "infeasible":
            info["note"] = "no open set serves every customer"
            return _empty(problem, settings, info, t0)
        if stop is not None and stop.is_set():
            raise Cancelled("stopped before any solution was found")
        info["note"] = "no solution within the time limit"
        return _empty(problem, settings, info, t0, bound=res.bound)
    mods = np.zeros((problem.n_facilities, problem.n_levels), dtype=np.int64)
    cand = (res.open, mods, assign_cheapest(problem, res.open))
    return _finish(problem, settings, cand, res.status, res.bound, info, t0)


def _empty(
    problem: FacilityProblem,
    settings: FacilitySettings,
    info: dict[str, object],
    t0: float,
    bound: float = float("inf"),
) -> FacilitySolution:
    n_f, n_l = problem.n_facilities, problem.n_levels
    return FacilitySolution(
        "infeasible",
        float("inf"),
        bound,
        np.zeros(n_f, bool),
        np.zeros((n_f, n_l), np.int64),
        -np.ones(problem.n_customers, np.int64),
        np.zeros((n_f, n_l)),
        time.perf_counter() - t0,
        settings.solver,
        {},
        info,
    )


def _finish(
    problem: FacilityProblem,
    settings: FacilitySettings,
    cand: tuple[np.ndarray, np.ndarray, np.ndarray],
    status: str,
    bound: float,
    info: dict[str, object],
    t0: float,
) -> FacilitySolution:
    """Verify a solution on the full problem and package it."""
    open_, modules, assign = cand
    terms, bad = evaluate(problem, open_, modules, assign)
    if bad:
        info["violations"] = bad
        status = "infeasible"
    obj = terms["objective"]
    if status == "optimal" and bound < obj - max(1e-6 * abs(obj), 1e-6) and settings.gap_limit == 0:
        status = "feasible"
    bound = min(bound, obj) if np.isfinite(obj) else bound
    seats = (
        np.where(open_[:, None], problem.capacity, 0.0) + modules * problem.module_seats[None, :]
    )
    over = np.maximum(loads(problem, assign) - seats, 0.0) if not bad else np.zeros_like(seats)
    return FacilitySolution(
        status=status,
        objective=obj,
        bound=float(bound),
        open=open_,
        modules=modules,
        assign=assign,
        overflow=over,
        solve_seconds=time.perf_counter() - t0,
        solver=settings.solver,
        terms=terms,
        info=info,
    )
