"""Teacher rotation lists (教师交流轮岗): who must rotate, to which school, and why.

Entry point :func:`solve_rotation`; formulation in :mod:`solvers.rotation.model`, definitions in
:mod:`solvers.rotation.problem`, the validator in :mod:`solvers.rotation.check`.
"""

from __future__ import annotations

import threading
import time

from planner.errors import InfeasiblePlan
from planner.model import District
from solvers.progress import ProgressFn
from solvers.rotation.greedy import greedy_moves
from solvers.rotation.mip import solve_mip
from solvers.rotation.model import ModelSolution, build_and_solve
from solvers.rotation.problem import RotationProblem, build_problem, explain_infeasible
from solvers.rotation.result import RotationResult, build_result
from solvers.rotation.settings import DirectionRule, ObjectiveWeights, RotationSettings


def expand_moves(p: RotationProblem, sol: ModelSolution) -> list[tuple[int, int]]:
    """Per-teacher moves from group counts: within a group the members go in tie-break order
    (longer years at school first, then teacher_id), to targets in school order."""
    moves: list[tuple[int, int]] = []
    for gi, g in enumerate(p.groups):
        members = iter(g.members)  # already in tie-break order
        for j in g.targets:
            for _ in range(sol.x.get((gi, int(j)), 0)):
                moves.append((next(members), int(j)))
    return moves


def solve_rotation(
    district: District,
    settings: RotationSettings | None = None,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
) -> RotationResult:
    """Make this year's rotation list for ``district``.

    Parameters
    ----------
    district : District
        Schools, units (today's assignment gives pupils per school), teachers; optional
        ``extra`` tables ``staffing``, ``couples``, ``rotation_locks``, ``preferences``,
        ``rotation_history``.
    settings : RotationSettings, optional
        Year, time limit, seed, direction rules, weights.
    progress, stop
        Progress callback and cancel event (:mod:`solvers.progress`).

    Returns
    -------
    RotationResult

    Raises
    ------
    InfeasiblePlan
        With reasons and numbers, before solving when a counting argument shows the hard rules
        cannot hold, or after when the solver proves it.
    ValueError
        If the district has no teachers.
    """
    t0 = time.perf_counter()
    settings = settings or RotationSettings()
    p = build_problem(district, settings)
    reasons = explain_infeasible(p, district.policy)
    if reasons:
        raise InfeasiblePlan(reasons)
    hint = greedy_moves(p)
    if settings.solver == "highs":
        sol = solve_mip(p, settings, district.policy, progress, stop, hint=hint, t_start=t0)
    else:
        # the time limit covers building the problem too
        left = max(0.1, settings.time_limit - (time.perf_counter() - t0))
        sol = build_and_solve(
            p,
            settings.model_copy(update={"time_limit": left}),
            district.policy,
            progress,
            stop,
            hint=hint,
        )
    info = {
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "tie_break_status": sol.tie_break_status,
        "solve_seconds": time.perf_counter() - t0,
    }
    res = build_result(district, p, settings, expand_moves(p, sol), info)
    res.summary["solver"] = settings.solver
    res.summary["deterministic"] = sol.deterministic
    if not sol.deterministic:
        why = (
            "before its deterministic budgets"
            if settings.solver == "highs"
            else "before CP-SAT proved both passes optimal"
        )
        res.summary["warnings"] = [
            f"The time limit ({settings.time_limit:g} s) ended the search {why}: another run "
            "with the same inputs and seed may give another list. Raise --time-limit for a "
            "reproducible list."
        ]
    if sol.stages:
        res.summary["stages"] = sol.stages
    return res


__all__ = [
    "DirectionRule",
    "InfeasiblePlan",
    "ObjectiveWeights",
    "RotationResult",
    "RotationSettings",
    "build_problem",
    "expand_moves",
    "solve_rotation",
]
