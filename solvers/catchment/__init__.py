"""Catchment (施教区) optimisation: which school each planning unit belongs to, per level.

Main entry points: :func:`build_problem`, :func:`solve_level`, :func:`solve_levels`,
:func:`solve_catchment`, :func:`explain_infeasibility`. See ``docs/catchment.md``.
"""

from solvers.catchment.explain import capacity_warnings, explain_infeasibility
from solvers.catchment.problem import CatchmentProblem, Evaluation, build_problem, evaluate
from solvers.catchment.solve import solve_catchment, solve_level, solve_levels
from solvers.catchment.types import (
    CatchmentSettings,
    LevelSolution,
    ObjectiveWeights,
    SolveStatus,
)

__all__ = [
    "CatchmentProblem",
    "CatchmentSettings",
    "Evaluation",
    "LevelSolution",
    "ObjectiveWeights",
    "SolveStatus",
    "build_problem",
    "capacity_warnings",
    "evaluate",
    "explain_infeasibility",
    "solve_catchment",
    "solve_level",
    "solve_levels",
]
