"""Solve the catchment model: explain, LP bound and warm start, fixing, CP-SAT or HiGHS.

Pipeline per level (:func:`solve_level`)
---------------------------------------
1. :func:`.explain.explain_infeasibility` — raise :class:`~planner.errors.InfeasiblePlan`
   with numbers before any solver runs; seat shortages become warnings.
2. :func:`.mip.build_model` — the rows of the formulation.
3. :func:`.lp.solve_lp` — the LP relaxation (HiGHS): a proven lower bound for the sparse model.
4. Round the LP (repairing the closer-neighbour rule): the first plan. If it meets the LP
   bound, it is optimal and no MIP runs.
5. Reduced-cost fixing against that plan, then CP-SAT (``settings.solver="cpsat"``, hinted with
   the rounded plan) or HiGHS (given it as a MIP start) on the reduced model.
6. Re-evaluate the best plan in exact floats (:func:`.problem.evaluate`); the reported bound is
   the best proven one: ``max(LP bound, min(solver bound, plan used for fixing))``.

The bound is proven for the *sparse pair set* (``k_nearest`` cheapest allowed pairs per unit plus
today's school; ``info["bound_scope"]``). A plan reported optimal is optimal for that set; a pair
outside it (a unit's (k+1)-th school) is never considered, which matters only when the k nearest
schools of a unit are all full. Raise ``k_nearest`` to widen the set.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from planner.errors import InfeasiblePlan
from planner.model import District
from planner.policy import Level
from solvers.catchment.cpsat import solve_cpsat
from solvers.catchment.explain import capacity_warnings, explain_infeasibility
from solvers.catchment.lp import (
    hard_violations,
    reduced_cost_fixing,
    round_assignment,
    solution_vector,
    solve_lp,
)
from solvers.catchment.mip import RawResult, build_model, solve_highs
from solvers.catchment.problem import CatchmentProblem, build_problem, evaluate
from solvers.catchment.types import CatchmentSettings, LevelSolution, SolveStatus
from solvers.progress import Cancelled, ProgressEvent, ProgressFn

#: Share of the time limit the LP relaxation may use.
LP_TIME_SHARE = 0.5


def _assign_from_values(pb: CatchmentProblem, x: np.ndarray) -> np.ndarray:
    assign = np.full(pb.n_units, -1, dtype=np.int64)
    on = np.flatnonzero(x > 0.5)
    assign[pb.pair_unit[on]] = pb.pair_school[on]
    return assign


def solve_level(
    problem: CatchmentProblem,
    settings: CatchmentSettings,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> LevelSolution:
    """Solve one level's catchment problem.

    Parameters
    ----------
    problem : CatchmentProblem
        From :func:`.problem.build_problem` with the same ``settings``.
    settings : CatchmentSettings
        Solver, time limit, seed, workers, weights, gap limit.
    progress : callable, optional
        Receives :class:`~solvers.progress.ProgressEvent` on each new plan or bound.
    stop : threading.Event, optional
        When set, the solve returns its best plan so far (status ``feasible``).

    Returns
    -------
    LevelSolution
        ``terms`` in exact floats; ``info`` holds ``overflow_by_school``, ``load_by_school``,
        ``warnings``, ``lp_bound``, ``solver_bound``, ``fixed_pairs``, ``bound_scope``.

    Raises
    ------
    InfeasiblePlan
        When a hard rule cannot be met (reasons with numbers).
    Cancelled
        When ``stop`` is set before any plan exists.
    """
    t0 = time.perf_counter()
    pb = problem
    w = settings.weights
    delta = settings.balance_delta
    reasons = explain_infeasibility(None, pb)
    if reasons:
        raise InfeasiblePlan(reasons)
    warnings = [*pb.warnings, *capacity_warnings(pb)]

    def elapsed() -> float:
        return time.perf_counter() - t0

    def emit(obj: float | None, bound: float | None, msg: str) -> None:
        if progress is not None:
            progress(ProgressEvent(elapsed(), obj, bound, msg))

    emit(None, None, "start")
    model = build_model(pb, settings)
    info: dict[str, object] = {
        "n_pairs": pb.n_pairs,
        "n_rows": int(model.row_lo.size),
        "bound_scope": f"sparse pair set: {settings.k_nearest} nearest allowed schools per unit "
        "plus today's school",
        "build_seconds": elapsed(),
    }
    lp = solve_lp(model, seed=settings.seed, time_limit=LP_TIME_SHARE * settings.time_limit)
    info["lp_seconds"] = lp.seconds
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

    best: np.ndarray | None = None
    best_obj = np.inf
    first_feasible: float | None = None
    if lp.status == "optimal":
        cand = round_assignment(pb, model.x(lp.values), w)
        if not hard_violations(pb, cand):
            best, best_obj = cand, evaluate(pb, cand, w, delta).terms["objective"]
            first_feasible = elapsed()
            emit(best_obj, lp_bound, "rounded LP")
    info["rounded_lp_objective"] = best_obj if best is not None else None

    tol = 1e-9 * max(1.0, abs(best_obj)) if best is not None else 0.0
    proven = best is not None and best_obj - lp_bound <= max(
        tol, settings.gap_limit * abs(best_obj)
    )
    solver_name = settings.solver
    solver_bound = -np.inf
    raw: RawResult | None = None
    fixed_bound = np.inf
    if not proven and not (stop is not None and stop.is_set()):
        ub = model.ub.copy()
        if best is not None and lp.status == "optimal":
            keep = np.zeros(pb.n_pairs, dtype=bool)
            units = np.flatnonzero(best >= 0)
            keep[pb.pair_index(units, best[units])] = True
            fix = reduced_cost_fixing(model, lp, best_obj, keep)
            ub[model.cols["x"]] = np.where(fix, 0.0, ub[model.cols["x"]])
            info["fixed_pairs"] = int(fix.sum())
            fixed_bound = best_obj
        reduced = model.with_upper(ub)
        hint = solution_vector(pb, model, best, delta) if best is not None else None
        remaining = settings.time_limit - elapsed()
        if settings.solver == "cpsat":
            if hint is None and best is not None:
                hint = np.zeros(model.n_cols)
                units = np.flatnonzero(best >= 0)
                hint[pb.pair_index(units, best[units])] = 1.0
            raw = solve_cpsat(
                pb,
                reduced,
                settings,
                time_limit=remaining,
                reference=lp_bound if np.isfinite(lp_bound) else 0.0,
                hint=hint if hint is not None else None,
                progress=progress,
                stop=stop,
                t0=t0,
            )
        else:
            raw = solve_highs(
                reduced,
                settings,
                time_limit=remaining,
                hint=hint,
                progress=progress,
                stop=stop,
                t0=t0,
            )
        info.update(raw.info)
        solver_bound = raw.bound
        if raw.values is not None:
            cand = _assign_from_values(pb, model.x(raw.values))
            obj = evaluate(pb, cand, w, delta).terms["objective"]
            if obj < best_obj - 1e-9 * max(1.0, abs(obj)) or best is None:
                best, best_obj = cand, obj
            if first_feasible is None:
                first_feasible = raw.first_feasible_seconds
        if raw.status == "infeasible" and best is None:
            raise InfeasiblePlan(
                [
                    f"no {pb.level} plan meets the hard rules together (contiguity "
                    f"'{pb.contiguity}', max_moved_share cap {pb.moved_cap}, locked units): "
                    f"the {solver_name} solver proved it"
                ]
            )
    if best is None:
        if stop is not None and stop.is_set():
            raise Cancelled(f"{pb.level}: cancelled before any plan was found")
        raise InfeasiblePlan(
            [f"no {pb.level} plan found within {settings.time_limit:g} s (status unknown)"]
        )

    ev = evaluate(pb, best, w, delta)
    obj = ev.terms["objective"]
    bound = lp_bound
    if raw is not None and np.isfinite(solver_bound):
        bound = max(bound, min(solver_bound, fixed_bound))
    bound = min(bound, obj)
    gap = abs(obj - bound) / max(abs(obj), 1e-9)
    status: SolveStatus
    if proven or (raw is not None and raw.status == "optimal") or gap <= 1e-9:
        status = "optimal"
    else:
        status = "feasible"
    info.update(
        {
            "overflow_by_school": ev.overflow_by_school,
            "load_by_school": ev.load,
            "moved_by_unit": ev.moved_by_unit,
            "warnings": warnings,
            "solver_bound": solver_bound,
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
        solver=solver_name if raw is not None else "highs-lp",
        terms=ev.terms,
        info=info,
    )


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
            out[level] = solve_level(pb, settings, progress, stop)
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
