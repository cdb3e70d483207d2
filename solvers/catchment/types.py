"""Settings and per-level solutions of the catchment model, shared by its solvers and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

SolveStatus = Literal["optimal", "feasible", "infeasible"]


class ObjectiveWeights(BaseModel):
    """Weights of the catchment objective, applied in this order of importance.

    The defaults make the order lexicographic in practice: one overflow pupil costs more than any
    travel a plan could save (a pupil travels far less than 1,000 km), and one moved pupil costs
    as much as 300 pupil-metres of travel.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    overflow: float = Field(1_000_000.0, description="Per pupil over a school's seats.")
    travel: float = Field(1.0, description="Per pupil × travel cost unit (metre or minute).")
    moved: float = Field(300.0, description="Per pupil assigned away from today's school.")
    balance: float = Field(1_000.0, description="Per pupil of migrant-share deviation beyond ±δ.")


class CatchmentSettings(BaseModel):
    """Settings of a catchment solve (CLI flags, API run settings, TOML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["primary", "junior", "all"] = Field("all", description="Which level(s) to plan.")
    time_limit: float = Field(
        30.0,
        gt=0,
        description="Seconds per level (wall clock, or the work budget when deterministic).",
    )
    seed: int = Field(0, description="Random seed; same seed and inputs give the same plan.")
    solver: Literal["cpsat", "highs"] = Field("cpsat", description="Main solver.")
    num_workers: int = Field(2, ge=1, description="Solver threads (fixed for determinism).")
    k_nearest: int = Field(8, ge=1, description="Candidate schools per unit (sparse pairs).")
    price_pairs: bool = Field(
        True,
        description="Price the allowed pairs beyond the k nearest against the LP duals and add "
        "those that could improve the plan (column generation), so that full schools do not "
        "cause overflow a farther school could absorb, and the bound holds for all allowed "
        "pairs (contiguity none or closer_neighbour, no balance term).",
    )
    price_rounds: int = Field(
        20, ge=0, description="Most pricing rounds (LP, price, add pairs) per level."
    )
    price_max_pairs: int = Field(
        30_000_000,
        ge=0,
        description="Price only when units × usable schools is at most this (city scale, "
        "50,000 × 469, is 23 M: 4 warm-started rounds converge there); larger problems keep "
        "the sparse set (bound_scope says so).",
    )
    price_per_unit: int = Field(
        5, ge=1, description="Most pairs a pricing round adds per unit (lowest reduced cost)."
    )
    max_travel: float | None = Field(None, description="Absolute travel limit (travel units).")
    alpha: float | None = Field(
        None, description="Allow a school only within (1+α) × today's travel of the unit."
    )
    contiguity: Literal["none", "closer_neighbour", "exact"] = Field(
        "closer_neighbour",
        description="Connected catchments: the closer-neighbour rule, exact, or off.",
    )
    phase_in: bool = Field(False, description="Only entering grades (g1, g7) move; others stay.")
    max_moved_share: float | None = Field(
        None, ge=0, le=1, description="Cap on the share of pupils moved from today's school."
    )
    balance_delta: float | None = Field(
        None, ge=0, description="Migrant share per school within ±δ of the county share."
    )
    gap_limit: float = Field(
        0.0, ge=0, description="Stop at this relative gap (0 = prove optimal)."
    )
    deterministic: bool = Field(
        True,
        description="Budget every stage by work (iterations, nodes, CP-SAT deterministic time) "
        "derived from time_limit, so the same inputs, settings and seed give the same plan even "
        "when the solve is cut by its budget; the wall clock is only a safety cap "
        "(2.5 × time_limit). False: split time_limit by wall clock (uses it fully, but a cut "
        "solve may differ between runs).",
    )
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)  # type: ignore[arg-type]

    def levels(self) -> tuple[Literal["primary", "junior"], ...]:
        """The levels this run plans."""
        return ("primary", "junior") if self.level == "all" else (self.level,)


@dataclass
class LevelSolution:
    """A solver's answer for one level.

    ``assign[u]`` is the school position (row in ``district.schools``) of unit ``u``; every unit
    with an allowed school is assigned, whether or not it has pupils of this level (empty units
    still belong to a catchment).
    """

    level: Literal["primary", "junior"]
    assign: np.ndarray
    status: SolveStatus
    objective: float
    bound: float
    solve_seconds: float
    first_feasible_seconds: float | None
    solver: str
    terms: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative gap between objective and bound."""
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)
