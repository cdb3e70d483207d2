"""Solve the catchment model: explain, LP bound and warm start, fixing, CP-SAT or HiGHS.

Pipeline per level (:func:`solve_level`), all against one budget (:class:`_Budget`)
-------------------------------------------------------------------------------
1. :func:`.explain.explain_infeasibility` — raise :class:`~planner.errors.InfeasiblePlan`
   with numbers before any solver runs; seat shortages become warnings.
2. :func:`.mip.build_model` — the rows of the formulation. With ``price_pairs`` (and the
   district), :func:`_price_loop` first prices the pairs beyond the k nearest against the LP
   duals and adds those that could improve the plan (:mod:`.pricing`, column generation).
3. Closer-neighbour: a contiguous plan at once — :func:`.heuristic.grow` (catchments grown from
   the schools' units, capacity-aware) and :func:`.heuristic.local_search` (boundary moves).
4. :func:`.lp.solve_lp` — the LP relaxation (HiGHS): a proven lower bound for the sparse model.
   Round it (repairing the closer-neighbour rule) and improve it by local search. If a plan
   meets the LP bound within ``gap_limit``, no MIP runs.
   Lexicographic overflow pass (:func:`_overflow_pass`), when the plan overflows more than
   ``K`` = the LP's overflow rounded up: overflow is integer, so plans split into ``Σ o ≤ K``
   (HiGHS on the full model with that row: often an overflow-free plan the heuristics miss,
   and a dual bound) and ``Σ o ≥ K + 1`` (an LP bound, about ``W_o`` higher); ``min`` of the
   two is a proven bound. It runs before priced growth when ``K = 0`` (all ``o_s`` fixed to 0:
   hard capacity rows HiGHS handles well) and after it otherwise.
   Closer-neighbour: priced growth (:func:`.heuristic.price_search`, seat prices by
   subgradient, from zero and from the LP's seat duals) makes the outward cascades that free
   over-full schools.
5. Reduced-cost fixing against the best plan; RINS: units where the plan and the LP disagree
   (plus neighbours) are freed, the rest fixed, and HiGHS solves that small MIP; while the plan
   overflows more than the LP, the units of over-full schools are freed too and a round stops
   at its first better plan (:func:`rins_core`).
6. CP-SAT (``settings.solver="cpsat"``, hinted with the best plan) or HiGHS (given it as a MIP
   start) on the reduced model, for the time left.
   With pricing, the omitted pairs that could beat the best plan join the model first
   (step 2d), and RINS runs before the overflow pass when there is no contiguity.
7. Re-evaluate the best plan in exact floats (:func:`.problem.evaluate`); the reported bound is
   the best proven one: ``max(LP bound, overflow-pass bound, min(solver bound, plan used for
   fixing))``. Status ``optimal`` only when proven; stopped at ``gap_limit`` or the clock:
   ``feasible``.
   ``info`` also splits off overflow (``gap_travel_moved``, ``overflow_lower_bound``).

Budget: ``settings.deterministic`` (default) splits ``time_limit`` by *work* — every stage is
charged an estimate of its time on the calibration machine computed from work counts only (pair
visits of the heuristics, simplex iterations, CP-SAT's deterministic time), so the same inputs,
settings and seed give the same plan whatever the machine's speed or load; the wall clock is only
a safety cap (:data:`WALL_CAP_FACTOR` × ``time_limit``), and a stage it stops makes
``info["deterministic"]`` false. Otherwise the stages share the wall-clock ``time_limit``.

With pricing (the default when :func:`.pricing.pricing_applies`), the bound holds for all allowed
pairs (:func:`_full_scope_bound`); otherwise it is proven for the *sparse pair set* (``k_nearest``
cheapest allowed pairs per unit plus today's school; ``info["bound_scope"]``).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from planner.errors import InfeasiblePlan
from planner.model import District
from planner.policy import Level
from solvers.catchment.chains import eject_chains
from solvers.catchment.cpsat import solve_cpsat
from solvers.catchment.explain import capacity_warnings, explain_infeasibility
from solvers.catchment.heuristic import WorkMeter, grow, local_search, price_search
from solvers.catchment.lp import (
    LPResult,
    carry_basis,
    hard_violations,
    overflow_lower_bound,
    reduced_cost_fixing,
    round_assignment,
    solution_vector,
    solve_lp,
)
from solvers.catchment.mip import LinearModel, RawResult, build_model, solve_highs
from solvers.catchment.pricing import price_pairs, price_tolerance, pricing_applies
from solvers.catchment.problem import CatchmentProblem, build_problem, evaluate
from solvers.catchment.types import (
    CatchmentSettings,
    LevelSolution,
    ObjectiveWeights,
    SolveStatus,
)
from solvers.progress import Cancelled, ProgressEvent, ProgressFn

#: Share of the time left the LP relaxation may use.
LP_TIME_SHARE = 0.5
#: Share of the budget the pricing rounds (LP, price, add pairs) may use; unconverged, the
#: bound takes the remaining negative reduced costs into account (:func:`_full_scope_bound`).
PRICE_BUDGET_SHARE = 0.3
#: ... or this share while each round still lowers the LP by more than 1 − PRICE_SHARP_DROP.
PRICE_SHARP_BUDGET_SHARE = 0.6
PRICE_SHARP_DROP = 0.9
#: A pricing round's LP runs the primal simplex from the carried basis when the round added
#: at most this many pairs per row of the model (else HiGHS's default simplex).
WARM_PRIMAL_SHARE = 0.1
#: Pricing completion (step 2d) adds the omitted pairs that could improve the best plan when
#: there are at most max(this many, this share of the model's pairs).
COMPLETION_MIN_PAIRS = 2000
COMPLETION_SHARE = 0.5
#: Share of the time left each local search may use.
HEURISTIC_TIME_SHARE = 0.15
#: Share of the time left the LP-guided neighbourhood search (RINS) may use.
RINS_TIME_SHARE = 0.6
#: Share of the time left one RINS round may use.
RINS_ROUND_SHARE = 0.3
#: Relative gap at which a neighbourhood MIP stops.
RINS_GAP = 1e-5
#: Share of the budget left the lexicographic overflow pass (its capped MIP) may use.
LEX_TIME_SHARE = 0.7
#: A RINS round is an *overflow round* when the plan overflows by more than this many pupils
#: beyond the LP relaxation's overflow; it stops at this many improving solutions (the MIP
#: start not counted).
OVERFLOW_ROUND_SLACK = 0.5
OVERFLOW_ROUND_SOLUTIONS = 1
#: Share of the time left the priced growth (closer-neighbour) may use, and its iterations
#: from zero prices and from the LP's seat duals.
PRICE_TIME_SHARE = 0.5
#: ... and when the plan overflows no more than the LP (only the LP-dual run).
PRICE_CLEAN_TIME_SHARE = 0.15
PRICE_ITERATIONS = (25, 15)
#: LP seat duals used as starting prices are clipped to this many median pair costs.
PRICE_DUAL_CLIP = 3.0

# Deterministic mode: the wall-clock safety cap and the work → seconds calibration. The rates
# were measured on the development machine (2 shared cores, load 4–6) on make_district(seed=0)
# and smaller closer-neighbour counties, so that a run cut by its budget ends near time_limit
# there; on a faster or idle machine it ends earlier, on a slower one later (up to the cap).
#: Wall-clock safety cap of a deterministic solve, as a multiple of ``time_limit``.
WALL_CAP_FACTOR = 2.5
#: Seconds per pair visit of the heuristics (growth, local search sweeps).
HEURISTIC_SECONDS_PER_VISIT = 4.0e-7
#: Seconds per simplex iteration of the LP relaxation: a fixed part plus a part per nonzero of
#: its matrix. HiGHS's iterations are hyper-sparse, so their cost hardly grows with the matrix
#: (CPU seconds per iteration, idle machine: 5.1e-5 sample, 5.8e-5 contig2k, 4.3e-5 county10k,
#: 6.9e-5 city50k at 704k nonzeros); the rates are about 1.8 × those, like the other rates.
#: (Until 2026-11-24 it was 1.2e-9 × nonzeros: 12 × too much at city scale.)
LP_SECONDS_PER_ITERATION = 9.0e-5
LP_SECONDS_PER_ITERATION_NZ = 5.0e-11
#: Seconds per HiGHS MIP checkpoint (interrupt-callback call) per nonzero of its active columns.
MIP_SECONDS_PER_CHECKPOINT_NZ = 3.0e-6
#: Seconds per active nonzero to set up a MIP (HiGHS presolve, CP-SAT model build).
SETUP_SECONDS_PER_NZ = 2.0e-6
#: Fixed seconds per HiGHS MIP call (model passing, hint, Python around it).
MIP_CALL_SECONDS = 0.006
#: CP-SAT deterministic time per second of budget (``num_workers`` 2, interleaved search).
CPSAT_DTIME_PER_SECOND = 0.2


class _Budget:
    """The budget of one level solve: work (deterministic) or the wall clock.

    Deterministic: stages are charged their calibrated time from work counts (module doc) and
    ``left`` is what remains of ``time_limit``; the wall clock only sets ``cap``
    (``WALL_CAP_FACTOR`` × ``time_limit``), and ``cuts`` names the stages it (or ``stop``)
    ended. Wall clock: ``left`` is the time to ``t0 + time_limit``; charges are ignored.
    """

    def __init__(self, settings: CatchmentSettings, t0: float) -> None:
        self.deterministic = settings.deterministic
        self.total = settings.time_limit
        self.used = 0.0
        factor = WALL_CAP_FACTOR if self.deterministic else 1.0
        self.cap = t0 + factor * settings.time_limit
        self.cuts: list[str] = []

    def left(self) -> float:
        """Budget left (seconds of work, or of wall clock)."""
        if self.deterministic:
            return self.total - self.used
        return self.cap - time.perf_counter()

    def wall_left(self) -> float:
        """Wall-clock seconds to the cap (the deadline when not deterministic)."""
        return self.cap - time.perf_counter()

    def mark(self, share: float) -> float:
        """The end of a stage allowed ``share`` of the budget left (for :meth:`until`)."""
        now = self.used if self.deterministic else time.perf_counter()
        return now + share * max(self.left(), 0.0)

    def until(self, end: float) -> float:
        """Budget left before ``end`` (from :meth:`mark`)."""
        return end - (self.used if self.deterministic else time.perf_counter())

    def charge(self, seconds: float) -> None:
        """Count a stage's calibrated time (deterministic mode)."""
        self.used += seconds

    def meter(self, share: float) -> tuple[WorkMeter, float | None]:
        """A heuristic's work meter and wall deadline for ``share`` of the budget left."""
        if self.deterministic:
            limit = share * max(self.left(), 0.0) / HEURISTIC_SECONDS_PER_VISIT
            return WorkMeter(limit=limit), self.cap
        return WorkMeter(), time.perf_counter() + share * max(self.left(), 0.0)

    def settle(self, stage: str, meter: WorkMeter) -> None:
        """Charge a heuristic's work; note a wall-clock cut."""
        self.charge(meter.visits * HEURISTIC_SECONDS_PER_VISIT)
        self.note(stage, meter.clock_cut)

    def note(self, stage: str, clock_cut: bool) -> None:
        """Record that the wall clock (or ``stop``) ended ``stage`` (deterministic mode)."""
        if clock_cut and self.deterministic and stage not in self.cuts:
            self.cuts.append(stage)


def _count(info: dict[str, object], key: str) -> float:
    """A numeric entry of a backend's ``info`` (0 when absent)."""
    v = info.get(key, 0)
    return float(v) if isinstance(v, int | float) else 0.0


def _active_nz(model: LinearModel) -> int:
    """Nonzeros of the matrix in columns that are not fixed to 0."""
    return int(np.count_nonzero(model.ub[model.A.indices] > 0))


def _mip_limit(model: LinearModel, seconds: float) -> tuple[int, float, float]:
    """A HiGHS MIP's checkpoint limit for ``seconds`` of budget (at least 10), its set-up
    charge and its charge per checkpoint (:func:`.mip.solve_highs`)."""
    nz = max(_active_nz(model), 1)
    setup = MIP_CALL_SECONDS + SETUP_SECONDS_PER_NZ * nz
    per_call = MIP_SECONDS_PER_CHECKPOINT_NZ * nz
    return int(max(max(seconds - setup, 0.0) / per_call, 10)), setup, per_call


def _assign_from_values(pb: CatchmentProblem, x: np.ndarray) -> np.ndarray:
    assign = np.full(pb.n_units, -1, dtype=np.int64)
    on = np.flatnonzero(x > 0.5)
    assign[pb.pair_unit[on]] = pb.pair_school[on]
    return assign


def _lp_argmax(pb: CatchmentProblem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's pair with the largest LP value (school per unit) and whether it is fractional."""
    assign = np.full(pb.n_units, -1, dtype=np.int64)
    frac = np.zeros(pb.n_units, dtype=bool)
    if pb.n_pairs == 0:
        return assign, frac
    order = np.lexsort((np.arange(pb.n_pairs), -np.round(x, 9), pb.pair_unit))
    u_sorted = pb.pair_unit[order]
    first = order[np.r_[True, u_sorted[1:] != u_sorted[:-1]]]
    assign[pb.pair_unit[first]] = pb.pair_school[first]
    frac[pb.pair_unit[first]] = x[first] < 1 - 1e-6
    return assign, frac


def _neighbourhood(pb: CatchmentProblem, free: np.ndarray, rings: int) -> np.ndarray:
    """``free`` grown by ``rings`` steps on the unit adjacency graph."""
    free = free.copy()
    for _ in range(rings):
        if pb.adj_a.size == 0:
            break
        grow = free[pb.adj_a] | free[pb.adj_b]
        nxt = free.copy()
        nxt[pb.adj_a[grow]] = True
        nxt[pb.adj_b[grow]] = True
        if np.array_equal(nxt, free):
            break
        free = nxt
    return free


def rins_core(
    pb: CatchmentProblem,
    assign: np.ndarray,
    lp_arg: np.ndarray,
    lp_frac: np.ndarray,
    lp_overflow: float,
    weights: ObjectiveWeights,
    balance_delta: float | None = None,
) -> tuple[np.ndarray, bool]:
    """The units a RINS round frees first (before its rings), and whether it is an overflow round.

    The core is every unit whose school in the plan ``assign`` differs from its largest LP pair
    ``lp_arg``, or whose LP value is fractional (``lp_frac``). When the plan overflows by more
    than :data:`OVERFLOW_ROUND_SLACK` pupils beyond the LP relaxation's overflow
    ``lp_overflow`` (an *overflow round*), every unit of an over-full school joins the core: the
    outward cascades that empty such a school start there, where an overflow-free LP need not
    disagree with the plan. An overflow round stops at its first better plan
    (:data:`OVERFLOW_ROUND_SOLUTIONS`).

    Returns
    -------
    core : numpy.ndarray
        (n_units,) bool.
    overflow_round : bool
    """
    core = (lp_arg != assign) | lp_frac
    ev = evaluate(pb, assign, weights, balance_delta)
    overflow_round = bool(ev.terms["overflow_pupils"] > lp_overflow + OVERFLOW_ROUND_SLACK)
    if overflow_round:
        on = assign >= 0
        core[on] |= (ev.overflow_by_school > 0)[assign[on]]
    return core, overflow_round


def _fix_outside(
    pb: CatchmentProblem, model: LinearModel, ub: np.ndarray, assign: np.ndarray, free: np.ndarray
) -> LinearModel:
    """A copy of the model with every unit outside ``free`` fixed to its school in ``assign``."""
    ub = ub.copy()
    xs = model.cols["x"]
    fixed_unit = ~free[pb.pair_unit] & (assign[pb.pair_unit] >= 0)
    off = fixed_unit & (pb.pair_school != assign[pb.pair_unit])
    ub[xs] = np.where(off, 0.0, ub[xs])
    return model.with_upper(ub)


def solve_level(
    problem: CatchmentProblem,
    settings: CatchmentSettings,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    district: District | None = None,
) -> LevelSolution:
    """Solve one level's catchment problem.

    Parameters
    ----------
    problem : CatchmentProblem
        From :func:`.problem.build_problem` with the same ``settings``.
    settings : CatchmentSettings
        Solver, time limit (a work budget when ``deterministic``), seed, workers, weights, gap
        limit.
    progress : callable, optional
        Receives :class:`~solvers.progress.ProgressEvent` on each new plan or bound.
    stop : threading.Event, optional
        When set, the solve returns its best plan so far (status ``feasible``).
    district : District, optional
        The district ``problem`` was built from. With it (and ``settings.price_pairs``), the
        pairs beyond the k nearest are priced in (:func:`_price_loop`) and the bound holds for
        all allowed pairs; without it, only for the sparse pair set.

    Returns
    -------
    LevelSolution
        ``terms`` in exact floats; ``info`` holds ``overflow_by_school``, ``load_by_school``,
        ``warnings``, ``lp_bound``, ``solver_bound``, ``fixed_pairs``, ``bound_scope``,
        ``contiguity_waived`` (unit positions), ``overflow_lower_bound``,
        ``overflow_proven_minimal``, ``overflow_pass_*`` (:func:`_overflow_pass`, when it ran)
        and ``gap_travel_moved`` (see :func:`solve_level` docs in
        ``docs/catchment.md``), ``stages`` (seconds, work charged and objective per stage),
        ``deterministic`` (false when the wall clock or ``stop`` ended a stage: a rerun may
        give another plan), ``deterministic_reason`` and ``work_seconds``.

    Raises
    ------
    InfeasiblePlan
        When a hard rule cannot be met (reasons with numbers).
    Cancelled
        When ``stop`` is set before any plan exists.
    """
    t0 = time.perf_counter()
    budget = _Budget(settings, t0)
    pb = problem
    w = settings.weights
    delta = settings.balance_delta
    reasons = explain_infeasibility(None, pb)
    if reasons:
        raise InfeasiblePlan(reasons)

    def elapsed() -> float:
        return time.perf_counter() - t0

    def left() -> float:
        return budget.left()

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    def emit(obj: float | None, bound: float | None, msg: str) -> None:
        if progress is not None:
            progress(ProgressEvent(elapsed(), obj, bound, msg))

    emit(None, None, "start")
    model = build_model(pb, settings)
    budget.charge(SETUP_SECONDS_PER_NZ * int(model.A.nnz))
    info: dict[str, object] = {
        "bound_scope": f"sparse pair set: {settings.k_nearest} nearest allowed schools per unit "
        "plus today's school",
    }
    lp_first: LPResult | None = None
    pricing_on = (
        district is not None
        and settings.price_pairs
        and settings.price_rounds > 0
        and pricing_applies(pb, settings)
    )
    excluded = np.zeros(0, dtype=np.int64)
    if pricing_on:
        assert district is not None
        pb, model, lp_first, excluded, p_info = _price_loop(district, pb, model, settings, budget)
        info.update(p_info)
        emit(None, lp_first.objective if p_info["pricing_converged"] else None, "priced pairs")
    warnings = [*pb.warnings, *capacity_warnings(pb)]
    info.update(
        {
            "n_pairs": pb.n_pairs,
            "n_rows": int(model.row_lo.size),
            "build_seconds": elapsed(),
            "contiguity_waived": np.flatnonzero(pb.contiguity_waived).astype(np.int64),
        }
    )
    stages: dict[str, dict[str, float | None]] = {}
    best: np.ndarray | None = None
    best_obj = np.inf
    best_stage = ""
    first_feasible: float | None = None
    lp_bound = -np.inf
    lex_bound = -np.inf  # the overflow pass's proven bound (:func:`_overflow_pass`)

    def offer(cand: np.ndarray | None, stage: str) -> bool:
        """Keep ``cand`` when it is a valid plan better than the best; True if it was kept."""
        nonlocal best, best_obj, best_stage, first_feasible
        budget.charge(HEURISTIC_SECONDS_PER_VISIT * pb.n_pairs)  # checking and evaluating
        if cand is None or hard_violations(pb, cand):
            stages[stage] = {"seconds": elapsed(), "work": budget.used, "objective": None}
            return False
        obj = evaluate(pb, cand, w, delta).terms["objective"]
        stages[stage] = {"seconds": elapsed(), "work": budget.used, "objective": obj}
        if best is None or obj < best_obj - 1e-9 * max(1.0, abs(obj)):
            best, best_obj, best_stage = cand, obj, stage
            if first_feasible is None:
                first_feasible = elapsed()
            emit(best_obj, lp_bound if np.isfinite(lp_bound) else None, stage)
            return True
        return False

    def gap_ok() -> bool:
        low = max(lp_bound, lex_bound)
        if best is None or not np.isfinite(low):
            return False
        tol = max(1e-9 * max(1.0, abs(best_obj)), settings.gap_limit * abs(best_obj))
        return bool(best_obj - low <= tol)

    def overflow_of(plan: np.ndarray) -> float:
        return float(evaluate(pb, plan, w, delta).terms["overflow_pupils"])

    def improve(start: np.ndarray, stage: str, chains: bool = True) -> None:
        """Local search (and ejection chains) from ``start`` for a share of the budget left."""
        meter, deadline = budget.meter(HEURISTIC_TIME_SHARE)
        cand = local_search(pb, start, w, delta, deadline=deadline, meter=meter)
        if chains and overflow_of(cand) > 0 and not meter.spent():
            # single moves are stuck at full schools: pass units on along chains, then polish
            cand = eject_chains(pb, cand, w, delta, meter=meter, deadline=deadline)
            cand = local_search(pb, cand, w, delta, deadline=deadline, meter=meter)
        budget.settle(stage, meter)
        offer(cand, stage)

    # 1. A contiguous plan at once: growth from the schools' units, then local search.
    if pb.contiguity == "closer_neighbour" and not stopped():
        start = grow(pb, w)
        budget.charge(HEURISTIC_SECONDS_PER_VISIT * 3 * pb.n_pairs)
        offer(start, "grow")
        if best is not None:
            # the rounded LP's plan is the better start for chains (sample, contig2k)
            improve(best, "grow+local_search", chains=False)

    # 1b. Without contiguity: every unit at its cheapest pair, a plan at once (it may overflow;
    #     the plan in hand if the LP does not finish within the budget).
    if pb.contiguity == "none" and not stopped():
        has = np.diff(pb.unit_ptr) > 0
        nearest = np.full(pb.n_units, -1, dtype=np.int64)
        nearest[has] = pb.pair_school[pb.unit_ptr[:-1][has]]
        offer(nearest, "nearest school")

    # 2. LP relaxation: the bound, a rounded plan, and the guide of the neighbourhood search.
    lp = (
        lp_first
        if lp_first is not None and lp_first.status == "optimal"
        else _budgeted_lp(model, settings, budget, "LP")
    )
    info["lp_seconds"] = lp.seconds
    info["lp_iterations"] = lp.iterations
    if lp.status == "infeasible":
        raise InfeasiblePlan(
            [
                f"no {pb.level} plan meets the hard rules together (travel rules, locked units, "
                f"contiguity '{pb.contiguity}', max_moved_share cap {pb.moved_cap}): the LP "
                "relaxation is infeasible"
            ]
        )
    lp_bound = lp.objective if lp.status == "optimal" else -np.inf
    info["lp_bound"] = lp_bound
    if lp.status == "optimal":
        cand = round_assignment(pb, model.x(lp.values), w)
        budget.charge(HEURISTIC_SECONDS_PER_VISIT * 3 * pb.n_pairs)
        offer(cand, "rounded LP")
        if pb.contiguity != "exact" and not gap_ok() and not hard_violations(pb, cand):
            improve(cand, "rounded LP+local_search")
        info["rounded_lp_objective"] = stages["rounded LP"]["objective"]

    # 2b. Lexicographic overflow pass, when the plan overflows more than the LP relaxation
    #     must (K = the LP's overflow rounded up). With K = 0 it runs first: every o_s is
    #     fixed to 0, the capacity rows become hard and HiGHS usually finds an overflow-free
    #     plan, which ends the search. With K > 0 one row Σ o ≤ K is weak, so priced growth
    #     runs first and the pass gets what is left.
    k_cap = (
        float(np.ceil(float(lp.values[model.cols["overflow"]].sum()) - 1e-6)) + 0.0  # not -0.0
        if lp.status == "optimal"
        else np.inf
    )

    def overflow_pass() -> None:
        nonlocal lex_bound
        if best is None or not np.isfinite(k_cap) or gap_ok() or stopped() or left() <= 0.1:
            return  # (its MIP takes at least 10 checkpoints: city50k 51 s past its budget)
        if overflow_of(best) <= k_cap + 0.5:
            return
        values, lex_bound, lex_info = _overflow_pass(
            pb, model, settings, budget, k_cap, np.inf, stop, t0
        )
        info.update(lex_info)
        if values is not None:
            offer(_assign_from_values(pb, model.x(values)), "overflow pass")

    # With priced pairs K is usually 0. Without contiguity RINS's overflow rounds are much
    # cheaper than the pass (county10k: 3 s against 55 s), so it runs after them.
    pass_after_rins = pricing_on and pb.contiguity == "none"
    if k_cap == 0 and not pass_after_rins:
        overflow_pass()

    # 2c. Closer-neighbour: priced growth (seat prices by subgradient), from zero prices and
    #     from the LP's seat duals; it makes the outward cascades that free over-full schools.
    #     When the plan already overflows no more than the LP, only the LP-dual run is left,
    #     with a smaller share: it still finds better travel (sample junior: 0.93 → 0.41 %)
    #     but the rest of the budget is worth more to RINS (contig2k: 2.4 → 0.66 %).
    if pb.contiguity == "closer_neighbour" and not gap_ok() and not stopped():
        clean = best is not None and overflow_of(best) <= k_cap + 0.5
        meter, price_end = budget.meter(PRICE_CLEAN_TIME_SHARE if clean else PRICE_TIME_SHARE)
        if not clean:
            priced = price_search(
                pb, w, delta, iterations=PRICE_ITERATIONS[0], deadline=price_end, meter=meter
            )
            budget.settle("priced growth", meter)
            offer(priced, "priced growth")
        if lp.status == "optimal" and lp.row_duals is not None and not gap_ok():
            y = lp.row_duals[model.families["soft_capacity"]]
            clip = PRICE_DUAL_CLIP * float(np.median(pb.pair_cost)) if pb.n_pairs else 0.0
            rest = WorkMeter(limit=meter.limit - meter.visits)  # the two runs share the limit
            priced = price_search(
                pb, w, delta, price0=np.clip(-y, 0.0, clip),
                iterations=PRICE_ITERATIONS[1], deadline=price_end, meter=rest,
            )  # fmt: skip
            budget.settle("priced growth (LP duals)", rest)
            offer(priced, "priced growth (LP duals)")
    if k_cap > 0 and not pass_after_rins:
        overflow_pass()

    # 2d. Pricing, completed: every omitted pair that could be in a plan better than the best
    #     (reduced cost below best − LP) joins the model, so that the bounds proven on it hold
    #     for all allowed pairs. Bounds of the smaller model (the overflow pass) are dropped.
    if (
        pricing_on
        and best is not None
        and lp.status == "optimal"
        and not stopped()
        and budget.left() > 0
    ):
        assert district is not None
        need = best_obj - lp.objective
        cap = int(max(COMPLETION_MIN_PAIRS, COMPLETION_SHARE * pb.n_pairs))
        found = price_pairs(district, pb, model, lp, settings, need, excluded, max_pairs=cap)
        budget.charge(HEURISTIC_SECONDS_PER_VISIT * (pb.n_pairs + found.n_below))
        info["completion_pairs"] = found.n_below
        if 0 < found.n_below <= cap:
            extra = (
                np.r_[pb.pair_unit, found.unit].astype(np.int64),
                np.r_[pb.pair_school, found.school].astype(np.int64),
            )
            pb, model = _rebuild(district, pb, settings, budget, extra)
            lp_new = _budgeted_lp(model, settings, budget, "LP (completed pairs)")
            if lp_new.status == "optimal":
                lp = lp_new
                lp_bound = lp.objective
                lex_bound = -np.inf
                info["n_pairs"] = pb.n_pairs
    proven = gap_ok()

    ub = model.ub.copy()
    fixed_bound = np.inf
    if best is not None and lp.status == "optimal" and not proven:
        keep = np.zeros(pb.n_pairs, dtype=bool)
        units = np.flatnonzero(best >= 0)
        keep[pb.pair_index(units, best[units])] = True
        fix = reduced_cost_fixing(model, lp, best_obj, keep)
        ub[model.cols["x"]] = np.where(fix, 0.0, ub[model.cols["x"]])
        info["fixed_pairs"] = int(fix.sum())
        fixed_bound = best_obj

    # 3. LP-guided neighbourhood search (RINS): free the units where the plan and the LP
    #    disagree (and their neighbours), fix the rest to the plan, solve that small MIP.
    if (
        best is not None
        and lp.status == "optimal"
        and not proven
        and pb.contiguity != "exact"
        and not stopped()
    ):
        lp_arg, frac = _lp_argmax(pb, model.x(lp.values))
        lp_overflow = float(lp.values[model.cols["overflow"]].sum())
        rins_end = budget.mark(RINS_TIME_SHARE)
        rings, rounds, shrunk = 1, 0, False
        last_free = -1  # units freed by the last unimproved round (its widening freed more)
        while budget.until(rins_end) > 0.05 and not stopped() and not gap_ok():
            assert best is not None
            core, overflow_round = rins_core(pb, best, lp_arg, frac, lp_overflow, w, delta)
            if not core.any():
                break
            free = _neighbourhood(pb, core, rings)
            sub = _fix_outside(pb, model, ub, best, free)
            hint = solution_vector(pb, model, best, delta)
            share = min(budget.until(rins_end), max(1.0, RINS_ROUND_SHARE * left()))
            if budget.deterministic:
                calls, setup, per_call = _mip_limit(sub, share)
                raw = solve_highs(
                    sub, settings, time_limit=max(budget.wall_left(), 0.01), hint=hint,
                    stop=stop, t0=t0, gap=RINS_GAP, checkpoint_limit=calls,
                    solution_limit=OVERFLOW_ROUND_SOLUTIONS if overflow_round else None,
                )  # fmt: skip
                budget.charge(setup + per_call * _count(raw.info, "mip_checkpoints"))
            else:
                raw = solve_highs(
                    sub, settings, time_limit=share, hint=hint, stop=stop, t0=t0, gap=RINS_GAP,
                    solution_limit=OVERFLOW_ROUND_SOLUTIONS if overflow_round else None,
                )  # fmt: skip
            rounds += 1
            budget.note(f"rins{rounds}", raw.clock_cut)
            better = raw.values is not None and offer(
                _assign_from_values(pb, model.x(raw.values)), f"rins{rounds}"
            )
            if not better:
                if raw.status != "optimal" and rings > 0 and not shrunk:
                    rings, shrunk = 0, True  # too big to finish: the core alone
                    continue
                if raw.status != "optimal" or free.all() or int(free.sum()) <= last_free:
                    break  # no better plan, and widening would free no more units
                last_free = int(free.sum())
                rings += 1  # the neighbourhood is exhausted: widen it
            else:
                last_free = -1
        info["rins_rounds"] = rounds
        if pass_after_rins:
            overflow_pass()
        if best is not None:  # fix again against the better plan
            keep = np.zeros(pb.n_pairs, dtype=bool)
            units = np.flatnonzero(best >= 0)
            keep[pb.pair_index(units, best[units])] = True
            fix = reduced_cost_fixing(model, lp, best_obj, keep)
            ub = model.ub.copy()
            ub[model.cols["x"]] = np.where(fix, 0.0, ub[model.cols["x"]])
            info["fixed_pairs"] = int(fix.sum())
            fixed_bound = best_obj
    proven = gap_ok()

    # 4. The main solver on the reduced model, hinted with the best plan.
    solver_name = settings.solver
    solver_bound = -np.inf
    raw_main: RawResult | None = None
    if not proven and not stopped() and left() > 0.1:
        reduced = model.with_upper(ub)
        hint = solution_vector(pb, model, best, delta) if best is not None else None
        if settings.solver == "cpsat":
            if hint is None and best is not None:
                hint = np.zeros(model.n_cols)
                units = np.flatnonzero(best >= 0)
                hint[pb.pair_index(units, best[units])] = 1.0
            dtime: float | None = None
            if budget.deterministic:
                budget.charge(SETUP_SECONDS_PER_NZ * _active_nz(reduced))
                dtime = max(left(), 0.0) * CPSAT_DTIME_PER_SECOND
            raw_main = solve_cpsat(
                pb, reduced, settings, time_limit=budget.wall_left(),
                reference=lp_bound if np.isfinite(lp_bound) else 0.0,
                hint=hint, progress=progress, stop=stop, t0=t0, deterministic_time=dtime,
            )  # fmt: skip
            if budget.deterministic:
                spent = _count(raw_main.info, "cpsat_deterministic_time")
                budget.charge(spent / CPSAT_DTIME_PER_SECOND)
        elif budget.deterministic:
            calls, setup, per_call = _mip_limit(reduced, max(left(), 0.0))
            raw_main = solve_highs(
                reduced, settings, time_limit=budget.wall_left(), hint=hint,
                progress=progress, stop=stop, t0=t0, checkpoint_limit=calls,
            )  # fmt: skip
            budget.charge(setup + per_call * _count(raw_main.info, "mip_checkpoints"))
        else:
            raw_main = solve_highs(
                reduced, settings, time_limit=left(), hint=hint, progress=progress,
                stop=stop, t0=t0,
            )  # fmt: skip
        budget.note(solver_name, raw_main.clock_cut)
        info.update(raw_main.info)
        solver_bound = raw_main.bound
        if raw_main.values is not None:
            offer(_assign_from_values(pb, model.x(raw_main.values)), solver_name)
            if first_feasible is None:
                first_feasible = raw_main.first_feasible_seconds
        if raw_main.status == "infeasible" and best is None:
            raise InfeasiblePlan(
                [
                    f"no {pb.level} plan meets the hard rules together (contiguity "
                    f"'{pb.contiguity}', max_moved_share cap {pb.moved_cap}, locked units): "
                    f"the {solver_name} solver proved it"
                ]
            )
    if best is None:
        if stopped():
            raise Cancelled(f"{pb.level}: cancelled before any plan was found")
        raise InfeasiblePlan(
            [f"no {pb.level} plan found within {settings.time_limit:g} s (status unknown)"]
        )

    if stopped():
        budget.note("stopped by the caller", True)
    info["deterministic"] = settings.deterministic and not budget.cuts
    info["deterministic_reason"] = (
        "wall-clock budget (deterministic=False)"
        if not settings.deterministic
        else f"wall-clock safety cap ({WALL_CAP_FACTOR:g} × time_limit) or stop ended: "
        + ", ".join(budget.cuts)
        if budget.cuts
        else f"work budget ({budget.used:.2f} of {budget.total:g} s charged)"
    )
    info["work_seconds"] = budget.used
    ev = evaluate(pb, best, w, delta)
    obj = ev.terms["objective"]
    bound = lp_bound
    if raw_main is not None and np.isfinite(solver_bound):
        bound = max(bound, min(solver_bound, fixed_bound))
    bound = max(bound, lex_bound)
    bound = min(bound, obj)
    if pricing_on:
        bound = _full_scope_bound(district, pb, model, lp, settings, obj, bound, excluded, info)
    bound = min(max(bound, floor_bound(pb, w)), obj)
    gap = abs(obj - bound) / max(abs(obj), 1e-9)
    status: SolveStatus = "optimal" if gap <= 1e-9 else "feasible"
    if raw_main is not None and raw_main.status == "optimal" and obj <= best_obj + 1e-9 * abs(obj):
        # proven by the solver over the reduced model, whose plans include ours
        status = "optimal" if abs(obj - bound) <= 1e-6 * max(1.0, abs(obj)) else status
    # The overflow proofs use the sparse model's duals and MIP: valid for all pairs only when
    # pricing is off (then the scope note says so); with pricing, only zero overflow is proven.
    info.update(_overflow_split(model, settings, ev.terms, bound, None if pricing_on else lp))
    if info.get("overflow_pass_status") == "infeasible" and not pricing_on:  # proved: Σ o ≥ cap + 1
        over = ev.terms["overflow_pupils"]
        lo = max(_count(info, "overflow_lower_bound"), _count(info, "overflow_pass_cap") + 1)
        info["overflow_lower_bound"] = lo
        info["overflow_proven_minimal"] = bool(over <= lo)
    info.update(
        {
            "overflow_by_school": ev.overflow_by_school,
            "load_by_school": ev.load,
            "moved_by_unit": ev.moved_by_unit,
            "warnings": warnings,
            "solver_bound": solver_bound,
            "stages": stages,
        }
    )
    emit(obj, bound, "done")
    return LevelSolution(
        level=pb.level,
        assign=best,
        status=status,
        objective=obj,
        bound=bound,
        solve_seconds=elapsed(),
        first_feasible_seconds=first_feasible,
        solver=solver_name if raw_main is not None else _stage_solver(best_stage),
        terms=ev.terms,
        info=info,
    )


def _lp_iteration_seconds(model: LinearModel) -> float:
    """Calibrated seconds of one simplex iteration of ``model``'s LP (work budget)."""
    return LP_SECONDS_PER_ITERATION + LP_SECONDS_PER_ITERATION_NZ * int(model.A.nnz)


def _budgeted_lp(
    model: LinearModel,
    settings: CatchmentSettings,
    budget: _Budget,
    stage: str,
    basis: tuple[np.ndarray, np.ndarray] | None = None,
    primal: bool = False,
) -> LPResult:
    """The LP relaxation within :data:`LP_TIME_SHARE` of the budget left (work or clock),
    from ``basis`` when given (:func:`.lp.carry_basis`; ``primal``: primal simplex)."""
    if budget.deterministic:
        it_cost = _lp_iteration_seconds(model)
        lp = solve_lp(
            model, seed=settings.seed, time_limit=max(budget.wall_left(), 0.01),
            iteration_limit=int(LP_TIME_SHARE * max(budget.left(), 0.0) / it_cost) + 1,
            basis=basis, primal=primal,
        )  # fmt: skip
        budget.charge(lp.iterations * it_cost)
        budget.note(stage, lp.clock_cut)
        return lp
    return solve_lp(
        model, seed=settings.seed, time_limit=max(LP_TIME_SHARE * budget.left(), 0.01),
        basis=basis, primal=primal,
    )  # fmt: skip


def _rebuild(
    district: District,
    pb: CatchmentProblem,
    settings: CatchmentSettings,
    budget: _Budget,
    extra: tuple[np.ndarray, np.ndarray],
) -> tuple[CatchmentProblem, LinearModel]:
    """``pb`` built again with the ``extra`` pairs (same adjacency), its model, setup charged."""
    pb = build_problem(district, pb.level, settings, extra=extra, adjacency=(pb.adj_a, pb.adj_b))
    model = build_model(pb, settings)
    budget.charge(SETUP_SECONDS_PER_NZ * int(model.A.nnz))
    return pb, model


def _price_loop(
    district: District,
    pb: CatchmentProblem,
    model: LinearModel,
    settings: CatchmentSettings,
    budget: _Budget,
) -> tuple[CatchmentProblem, LinearModel, LPResult, np.ndarray, dict[str, object]]:
    """Column generation over the pairs beyond the k nearest (:mod:`.pricing`).

    Each round solves the LP, prices the omitted allowed pairs and adds, per unit, the
    ``price_per_unit`` with the most negative reduced cost (with the support pairs contiguity
    needs), until none is negative, ``price_rounds`` rounds are done, the rounds have used
    :data:`PRICE_BUDGET_SHARE` of the budget, or the LP is cut. A pair
    that :func:`.problem.build_problem` prunes (no contiguous catchment can use it) is
    excluded from later rounds.

    Returns
    -------
    pb, model, lp
        The final problem, its model and its LP solution.
    excluded : numpy.ndarray
        Keys ``u·n_schools + s`` of pruned pairs.
    info : dict
        ``pricing_rounds``, ``pricing_added_pairs``, ``pricing_converged``.
    """
    extra_u = np.zeros(0, dtype=np.int64)
    extra_s = np.zeros(0, dtype=np.int64)
    excluded = np.zeros(0, dtype=np.int64)
    start_pairs = pb.n_pairs
    rounds = 0
    converged = False
    lagrangian = -np.inf
    end = budget.mark(PRICE_BUDGET_SHARE)
    end_sharp = budget.mark(PRICE_SHARP_BUDGET_SHARE)
    prev_objective = np.inf
    warm: tuple[np.ndarray, np.ndarray] | None = None
    primal = False
    last: tuple[CatchmentProblem, LinearModel, LPResult] | None = None  # last optimal LP
    first_iterations = 0  # of the first (cold) LP
    while True:
        lp = _budgeted_lp(model, settings, budget, f"pricing LP {rounds + 1}", warm, primal)
        if lp.status != "optimal":
            break
        if last is None:
            first_iterations = lp.iterations
        last = (pb, model, lp)
        tol = price_tolerance(pb, lp)
        found = price_pairs(
            district, pb, model, lp, settings, -tol, excluded, max_per_unit=settings.price_per_unit
        )
        budget.charge(HEURISTIC_SECONDS_PER_VISIT * (pb.n_pairs + found.n_below))
        # every round's duals give a bound over all pairs; a later, degenerate LP may price
        # worse (sample primary: 39.77 M in round 4, 39.60 M from the final LP)
        lagrangian = max(lagrangian, lp.objective + found.unit_min_sum)
        if found.n_below == 0:
            converged = True
            break
        # past the usual share only while the rounds still cut the LP sharply (an LP that
        # overflows because the sparse set forces it: city50k at 30 s, 6.2e9 → 6.1e8)
        sharp = prev_objective < np.inf and lp.objective < PRICE_SHARP_DROP * prev_objective
        if rounds >= settings.price_rounds or budget.until(end_sharp if sharp else end) <= 0:
            break
        prev_objective = lp.objective
        # found holds at most price_per_unit pairs per unit, all with rc < −tol
        extra_u, extra_s = np.r_[extra_u, found.unit], np.r_[extra_s, found.school]
        old_pb, old_model = pb, model
        pb, model = _rebuild(district, pb, settings, budget, (extra_u, extra_s))
        # The new pairs join the optimal basis at 0 (it stays primal feasible). The primal
        # simplex goes on from it fastest when they are few (sample primary: 15–30
        # iterations against ~400 with HiGHS's default and ~2,300 cold); after the first
        # round, many pairs priced against an overflowing LP, the default does better.
        warm = carry_basis(old_pb, old_model, pb, model, lp.basis)
        primal = found.unit.size <= WARM_PRIMAL_SHARE * model.row_lo.size
        asked = found.unit * pb.n_schools + found.school
        pruned = ~np.isin(asked, pb.pair_unit * pb.n_schools + pb.pair_school)
        excluded = np.r_[excluded, asked[pruned]]
        rounds += 1
    if last is not None:
        # a round's LP cut by the budget leaves the model of the last optimal one (the city at
        # a 30-s limit had no LP, and so no plan, without this)
        pb, model, lp = last
    full_lp = lp.objective if converged else -np.inf  # the LP over all allowed pairs
    if extra_u.size and lp.status == "optimal":
        # Keep only the added pairs the LP uses: the others made the MIPs slower (contig2k:
        # 18k → 25k pairs) and are covered by their reduced costs in the final bound.
        x = model.x(lp.values)
        used = x > 1e-9
        keys = pb.pair_unit[used] * pb.n_schools + pb.pair_school[used]
        keep = np.isin(extra_u * pb.n_schools + extra_s, keys)
        # Its LP may start cold (a dropped pair was basic): not when a cold LP (as many
        # iterations as the first) would take more than a quarter of the budget left (city50k
        # at 30 s: cut by the budget after 3.7 s, and the larger model kept anyway).
        cold = first_iterations * _lp_iteration_seconds(model)
        if not keep.all() and (not budget.deterministic or cold <= 0.25 * budget.left()):
            old_pb, old_model = pb, model
            pb, model = _rebuild(district, pb, settings, budget, (extra_u[keep], extra_s[keep]))
            # a dropped pair may be basic (at 0): then carry_basis gives None, a cold start
            warm = carry_basis(old_pb, old_model, pb, model, lp.basis)
            kept = _budgeted_lp(model, settings, budget, "pricing LP (kept pairs)", warm, True)
            if kept.status == "optimal":
                lp = kept
            else:  # cut by the budget: keep the larger model and its optimal LP
                pb, model = old_pb, old_model
    info: dict[str, object] = {
        "pricing_rounds": rounds,
        "pricing_added_pairs": int(pb.n_pairs - start_pairs),
        "pricing_converged": converged,
        "pricing_full_lp": full_lp,
        "pricing_lagrangian": lagrangian,
    }
    return pb, model, lp, excluded, info


def _full_scope_bound(
    district: District | None,
    pb: CatchmentProblem,
    model: LinearModel,
    lp: LPResult,
    settings: CatchmentSettings,
    objective: float,
    bound: float,
    excluded: np.ndarray,
    info: dict[str, object],
) -> float:
    """``bound`` (proven for the sparse pair set) made valid for all allowed pairs.

    A plan using an omitted pair ``p`` costs at least ``LP + rc_p`` (:mod:`.pricing`), so the
    sparse bound holds for all pairs when every omitted pair has ``rc ≥ bound − LP``; else
    the bound is ``LP + min rc`` (``min rc ≥ 0``) or ``LP + Σ_u min(0, min_s rc_us)``.
    """
    if district is None or lp.status != "optimal" or not np.isfinite(bound):
        return bound
    need = max(objective - lp.objective, 0.0)
    found = price_pairs(district, pb, model, lp, settings, need, excluded, max_per_unit=1)
    if found.n_below == 0:
        full = bound
    elif found.min_rc >= 0:
        full = min(bound, lp.objective + found.min_rc)
    else:
        # duals price some pairs negative (a degenerate LP may have several optimal
        # duals); the LP value of converged pricing, or the best Lagrangian bound of the
        # pricing rounds, still bounds every plan
        lp_full = float(info.get("pricing_full_lp", -np.inf))  # type: ignore[arg-type]
        lagr = float(info.get("pricing_lagrangian", -np.inf))  # type: ignore[arg-type]
        full = min(bound, max(lp.objective + found.unit_min_sum, lp_full, lagr))
    info["bound_scope"] = (
        f"all allowed pairs: {settings.k_nearest} nearest per unit plus today's school plus "
        "priced pairs; omitted pairs proven by their LP reduced costs"
    )
    info["pricing_min_reduced_cost"] = found.min_rc
    info["sparse_bound"] = bound
    return float(full)


def floor_bound(pb: CatchmentProblem, w: ObjectiveWeights) -> float:
    """A lower bound of every plan over all allowed pairs, without any solver.

    Each unit at its cheapest allowed pair by per-pupil cost ``W_t c + W_m [moved]`` (the
    cheapest school and today's school are always in the pair set), plus ``W_o`` × the pupils
    the open schools' free seats cannot take, plus enrolled pupils' overflow at schools that
    take no one and their travel. It floors the reported bound where the LP bound is missing
    or, with unconverged pricing, weak (city50k at a 30-s limit: an LP-duals bound of
    −1.7e11 for a plan of 6.2e9).
    """
    if pb.n_pairs == 0:
        return w.travel * pb.fixed_travel
    cur = pb.current[pb.pair_unit]
    per_pupil = w.travel * pb.pair_cost + w.moved * ((cur >= 0) & (pb.pair_school != cur))
    has = np.diff(pb.unit_ptr) > 0
    cheapest = np.minimum.reduceat(per_pupil, pb.unit_ptr[:-1][has])
    travel = float((pb.movable[has] * cheapest).sum())
    free = np.maximum(pb.seats - pb.fixed_load, 0.0)
    short = max(float(pb.movable.sum()) - float(free[pb.usable].sum()), 0.0)
    stuck = float(np.maximum(pb.fixed_load - pb.seats, 0.0)[~pb.usable].sum())
    return travel + w.travel * pb.fixed_travel + w.overflow * (short + stuck)


def _stage_solver(stage: str) -> str:
    """The solver named in results when the main solver did not run: the stage of the plan."""
    return "highs-mip" if stage == "overflow pass" or stage.startswith("rins") else "highs-lp"


def _overflow_pass(
    pb: CatchmentProblem,
    model: LinearModel,
    settings: CatchmentSettings,
    budget: _Budget,
    k_cap: float,
    fixed_bound: float,
    stop: threading.Event | None,
    t0: float,
) -> tuple[np.ndarray | None, float, dict[str, object]]:
    """The lexicographic overflow pass: plans with at most ``k_cap`` overflow pupils, and a bound.

    ``k_cap`` is the LP relaxation's overflow rounded up, the least total overflow the LP allows.
    Overflow is integer, so every plan has ``Σ o ≤ k_cap`` or ``Σ o ≥ k_cap + 1``:

    * ``Σ o ≤ k_cap``: the full model with that row, solved by HiGHS (no MIP start: the plan in
      hand breaks the row). Its plans are plans of the full model. Its dual bound holds for
      every plan of that kind that avoids the pairs fixed by reduced costs; the others cost more
      than ``fixed_bound`` (the plan those pairs were fixed against; ``inf`` when none were).
      A proof of infeasibility makes this side ``+inf``.
    * ``Σ o ≥ k_cap + 1``: the LP relaxation with that row bounds them (one more overflow pupil
      costs ``W_o``, far more than the travel it can save, so this side is usually far above).

    ``min`` of the two sides is a proven lower bound of the full model (``-inf`` when either
    side is unknown). Budget: the LP first (:data:`LP_TIME_SHARE` of the budget left), then
    :data:`LEX_TIME_SHARE` of what is left for the MIP.

    Returns
    -------
    values : numpy.ndarray or None
        The MIP's best solution vector (model columns), None without one.
    bound : float
        The proven lower bound, or ``-inf``.
    info : dict
        ``overflow_pass_cap``, ``overflow_pass_status``, ``overflow_pass_mip_bound`` and
        ``overflow_pass_lp_bound`` (the ``Σ o ≥ k_cap + 1`` side).
    """
    # The Σ o ≥ k_cap + 1 side first: one LP, cheap next to the MIP.
    above = model.with_overflow_range(k_cap + 1.0, np.inf)
    lp = _budgeted_lp(above, settings, budget, "overflow pass LP")
    high = {"optimal": lp.objective, "infeasible": np.inf}.get(lp.status, -np.inf)
    capped = model.with_overflow_range(-np.inf, k_cap)
    share = LEX_TIME_SHARE * max(budget.left(), 0.0)
    if budget.deterministic:
        calls, setup, per_call = _mip_limit(capped, share)
        raw = solve_highs(
            capped, settings, time_limit=max(budget.wall_left(), 0.01), stop=stop, t0=t0,
            checkpoint_limit=calls,
        )  # fmt: skip
        budget.charge(setup + per_call * _count(raw.info, "mip_checkpoints"))
    else:
        raw = solve_highs(capped, settings, time_limit=max(share, 0.01), stop=stop, t0=t0)
    budget.note("overflow pass", raw.clock_cut)
    if raw.status == "infeasible":
        low = np.inf
    else:
        low = min(raw.bound, fixed_bound) if np.isfinite(raw.bound) else -np.inf
    bound = min(low, high)
    info: dict[str, object] = {
        "overflow_pass_cap": k_cap,
        "overflow_pass_status": raw.status,
        "overflow_pass_mip_bound": float(raw.bound),
        "overflow_pass_lp_bound": float(high),
    }
    return raw.values, float(bound) if np.isfinite(bound) else -np.inf, info


def _overflow_split(
    model: LinearModel,
    settings: CatchmentSettings,
    terms: dict[str, float],
    bound: float,
    lp: LPResult | None,
) -> dict[str, object]:
    """The gap of the travel + moved (+ balance) part alone, and a proof of minimal overflow.

    For any plan with overflow ``O' ≤ O`` (the plan's overflow) and rest ``R'``,
    ``W_o O' + R' ≥ bound`` gives ``R' ≥ bound − W_o O``: ``rest_bound``. ``gap_travel_moved``
    compares the plan's rest with it, i.e. against every plan with no more overflow. When the
    plan overflows, the LP's row duals give ``overflow_lower_bound``, a Lagrangian bound on the
    overflow alone, rounded up (:func:`.lp.overflow_lower_bound`); the overflow is proven minimal
    when the plan reaches it.
    """
    w_o = settings.weights.overflow
    over = terms["overflow_pupils"]
    rest = terms["objective"] - w_o * over
    rest_bound = min(max(bound - w_o * over, 0.0), rest) if np.isfinite(bound) else -np.inf
    out: dict[str, object] = {
        "rest_objective": rest,
        "rest_bound": rest_bound,
        "gap_travel_moved": (rest - rest_bound) / max(abs(rest), 1e-9)
        if np.isfinite(rest_bound)
        else None,
    }
    lo = overflow_lower_bound(model, lp) if lp is not None else None
    lo = None if lo is None else float(max(np.ceil(lo - 1e-6), 0.0))
    out["overflow_lower_bound"] = 0.0 if over <= 0 else lo
    out["overflow_proven_minimal"] = bool(over <= 0 or (lo is not None and over <= lo))
    return out


def solve_levels(
    district: District,
    settings: CatchmentSettings,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> dict[Level, LevelSolution]:
    """Build and solve every level of ``settings.levels()`` (levels are independent).

    Raises
    ------
    InfeasiblePlan
        With the reasons of every infeasible level, prefixed by the level.
    """
    out: dict[Level, LevelSolution] = {}
    reasons: list[str] = []
    for level in settings.levels():
        pb = build_problem(district, level, settings)
        try:
            out[level] = solve_level(pb, settings, progress, stop, district)
        except InfeasiblePlan as e:
            reasons += [f"{level}: {r}" for r in e.reasons]
    if reasons:
        raise InfeasiblePlan(reasons)
    return out


def solve_catchment(
    district: District,
    settings: CatchmentSettings,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> object:
    """Solve every level and wrap the answers in a ``CatchmentPlan`` (``summary``, ``write``)."""
    from solvers.catchment.plan import CatchmentPlan  # F2's module; imported lazily

    solutions = solve_levels(district, settings, progress, stop)
    return CatchmentPlan.from_solutions(district, settings, solutions)
