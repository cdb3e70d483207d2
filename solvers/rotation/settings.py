"""Settings of a rotation solve: direction rules, curriculum table, objective weights.

Policy numbers (quotas, caps, age limits, commute) come from :class:`planner.policy.Policy`; the
fields here are the rotation-specific settings that :class:`~planner.policy.Policy` does not hold
yet (listed in ``docs/rotation.md`` as candidates to move there).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: School selectors of a direction rule.
Selector = Literal["urban", "town", "village", "rural", "strong", "weak", "any"]


class DirectionRule(BaseModel):
    """One allowed direction of a move: a school matching ``source`` may send to ``target``.

    ``rural`` means town or village; ``weak`` means not strong. With ``same_group`` both schools
    must belong to the same school group (集团化办学, non-empty ``group_id``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="Short label used in reasons, e.g. 'urban → village'.")
    source: Selector = Field(..., description="Which schools may send.")
    target: Selector = Field(..., description="Which schools may receive.")
    same_group: bool = Field(False, description="Both schools in the same school group.")


def _default_rules() -> tuple[DirectionRule, ...]:
    return (
        DirectionRule(name="urban → rural", source="urban", target="rural"),
        DirectionRule(name="strong → weak", source="strong", target="weak"),
        DirectionRule(name="centre school → village", source="town", target="village"),
        DirectionRule(name="within school group", source="strong", target="weak", same_group=True),
    )


def _default_lessons() -> dict[str, dict[str, float]]:
    # Lessons per class per week, averaged over the grades of the level (义务教育课程方案 2022,
    # rounded; English from grade 3, chemistry grade 9 only).
    return {
        "primary": {
            "chinese": 7.0,
            "math": 4.5,
            "english": 1.5,
            "science": 1.5,
            "morality": 2.0,
            "pe": 4.0,
            "music": 2.0,
            "art": 2.0,
            "it": 0.5,
            "other": 2.0,
        },
        "junior": {
            "chinese": 5.0,
            "math": 5.0,
            "english": 4.0,
            "physics": 1.5,
            "chemistry": 0.7,
            "biology": 1.3,
            "history": 2.0,
            "geography": 1.3,
            "morality": 2.0,
            "pe": 3.0,
            "music": 1.0,
            "art": 1.0,
            "it": 1.0,
            "other": 2.0,
        },
    }


class ObjectiveWeights(BaseModel):
    """Integer weights of the objective tiers, in order of importance.

    Quotas are hard. The tier weights make the order lexicographic for realistic sizes: one
    teacher of shortfall (10⁹) outweighs the whole balance term (10⁸ × Σ CV², with Σ CV² over six
    indicator-levels well under 10); one unit of Σ CV² (10⁸) outweighs any commute total below
    10⁶ km; commute per km (100) outweighs one preference rank step (20), which outweighs one
    extra move (5). The published tie-break is a separate, final pass (see the model docstring).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    shortfall: int = Field(1_000_000_000, description="Per teacher missing from a subject need.")
    village_pe_arts: int = Field(
        4, description="Multiplier of shortfall in PE/music/art at village schools (filled first)."
    )
    balance: int = Field(100_000_000, description="Per unit of Σ CV² over indicators and levels.")
    commute_per_km: int = Field(100, description="Per km of home-to-new-school distance.")
    preference_step: int = Field(20, description="Per rank step below the first choice.")
    move: int = Field(5, description="Per teacher moved (disruption).")


class RotationSettings(BaseModel):
    """Settings of one rotation solve (CLI flags, API run settings, TOML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int | None = Field(
        None, description="Planning year for the cooldown rule; None = the calendar year today."
    )
    time_limit: float = Field(
        100.0,
        gt=0,
        description="Wall-clock seconds for the whole solve. With HiGHS a safety net behind "
        "the deterministic budgets (lp_iterations, cg_rounds, mip_nodes); when it fires the "
        "summary says the list may differ between runs.",
    )
    seed: int = Field(0, description="Random seed; the same seed and inputs give the same list.")
    solver: Literal["highs", "cpsat"] = Field(
        "highs",
        description="MIP backend: 'highs' (lexicographic passes, proves optimality on the "
        "sample county; see solvers.rotation.mip) or 'cpsat' (one weighted objective).",
    )
    mip_gap: float = Field(
        1e-6, ge=0, description="HiGHS relative gap at which a pass counts as optimal."
    )
    num_workers: int = Field(
        2, ge=1, description="CP-SAT workers (fixed for determinism); HiGHS always uses 1."
    )
    deterministic: bool = Field(
        True,
        description="Interleaved search with several workers, so that the same seed gives the "
        "same list; False lets the workers race (faster, but runs may differ when the time "
        "limit stops the search before optimality).",
    )
    log: bool = Field(False, description="Print the CP-SAT search log.")
    rules: tuple[DirectionRule, ...] = Field(
        default_factory=_default_rules, description="Allowed (from, to) directions, any may apply."
    )
    lessons_per_week: dict[str, dict[str, float]] = Field(
        default_factory=_default_lessons,
        description="Lessons per class per week by level and subject, for subject needs.",
    )
    min_cap: int = Field(
        1,
        ge=0,
        description="Every school may send and receive at least this many teachers, whatever "
        "max_leave_share / max_arrive_share give for a small staff.",
    )
    couple_distance_m: float = Field(
        10_000.0, description="Couples work at most this far apart after the plan (or as today)."
    )
    home_cell_m: float = Field(
        2_000.0, description="Grid cell for grouping homes (commute limits use the farthest home)."
    )
    max_targets: int = Field(
        40, ge=1, description="Candidate receiving schools per teacher group (nearest first)."
    )
    lp_iterations: int = Field(
        140_000,
        ge=1,
        description="HiGHS: simplex iterations per pass (all column-generation rounds "
        "together; a round starts only while the iterations left cover the last round's). A "
        "deterministic budget: a pass it stops gives the same list every run. Measured on the "
        "city (50,000 teachers, 2 cores, one free): 100,000 solves in 33 s with the balance "
        "tier 3.9 % from its bound; the default 140,000 in 60 s with that tier closed to "
        "0.004 % (180,000 gives the same list).",
    )
    cg_rounds: int = Field(
        40, ge=1, description="HiGHS: column-generation (pricing) rounds per pass (deterministic)."
    )
    mip_nodes: int = Field(
        200, ge=1, description="HiGHS: branch-and-bound nodes per pass (deterministic)."
    )
    tie_break_share: float = Field(
        0.25, ge=0, lt=1, description="Share of the time limit kept for the tie-break pass."
    )
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)

    def resolved_year(self) -> int:
        """The planning year (``year`` or the calendar year today)."""
        from planner.eligibility import current_year

        return current_year() if self.year is None else self.year
