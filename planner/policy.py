"""Local policy numbers, with documented defaults.

Every number an optimiser or metric needs from policy lives here, never as a literal in solver
code. A district's ``district.toml`` may override any field in its ``[policy]`` table, and a
scenario edit may change one by its dotted path (``class_size_cap.junior``).

Defaults follow ``DOMAIN.md``: the 2017 quality-balance standard (优质均衡) and the 2014 national
rotation policy (教师交流轮岗). Fields marked *(local)* there differ between places.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Value types with their allowed ranges, so that a bad ``[policy]`` value is refused on load.
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]

Level = Literal["primary", "junior"]
LEVELS: tuple[Level, ...] = ("primary", "junior")
Gender = Literal["M", "F"]
BackboneLevel = Literal["none", "county", "city", "province"]
BACKBONE_RANK: dict[str, int] = {"none": 0, "county": 1, "city": 2, "province": 3}

#: Grades per level: primary 1–6, junior 7–9.
GRADES: dict[Level, tuple[int, ...]] = {"primary": (1, 2, 3, 4, 5, 6), "junior": (7, 8, 9)}
#: The entering grade of each level (boundary changes usually apply to it only).
ENTRY_GRADE: dict[Level, int] = {"primary": 1, "junior": 7}

#: The seven balance indicators of the 2017 standard, in its order.
BALANCE_INDICATORS: tuple[str, ...] = (
    "higher_degree_teachers_per100",
    "backbone_teachers_per100",
    "pe_arts_teachers_per100",
    "teaching_area_per_pupil",
    "sports_area_per_pupil",
    "equipment_value_per_pupil",
    "multimedia_rooms_per100",
)

_DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "primary": {
        "higher_degree_teachers_per100": 4.2,
        "backbone_teachers_per100": 1.0,
        "pe_arts_teachers_per100": 0.9,
        "teaching_area_per_pupil": 4.5,
        "sports_area_per_pupil": 7.5,
        "equipment_value_per_pupil": 2000.0,
        "multimedia_rooms_per100": 2.3,
    },
    "junior": {
        "higher_degree_teachers_per100": 5.3,
        "backbone_teachers_per100": 1.0,
        "pe_arts_teachers_per100": 0.9,
        "teaching_area_per_pupil": 5.8,
        "sports_area_per_pupil": 10.2,
        "equipment_value_per_pupil": 2500.0,
        "multimedia_rooms_per100": 2.4,
    },
}


def _level_caps() -> dict[Level, int]:
    return {"primary": 45, "junior": 50}


def _cv_limits() -> dict[Level, float]:
    return {"primary": 0.50, "junior": 0.45}


def _thresholds() -> dict[Level, dict[str, float]]:
    return {
        "primary": dict(_DEFAULT_THRESHOLDS["primary"]),
        "junior": dict(_DEFAULT_THRESHOLDS["junior"]),
    }


def _age_caps() -> dict[Gender, int]:
    return {"M": 55, "F": 50}


def _retirement_ages() -> dict[Gender, int]:
    return {"M": 60, "F": 55}


class Policy(BaseModel):
    """Policy numbers of one district (all *(local)* values are overridable).

    Load with :meth:`Policy.from_mapping` from the ``[policy]`` table of ``district.toml``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- class size (班额) -------------------------------------------------------------
    class_size_cap: dict[Level, PosInt] = Field(
        default_factory=_level_caps,
        description="Class-size cap per level (班额上限); seats = classrooms × cap.",
    )
    large_class_min: PosInt = Field(56, description="Smallest class counted as 大班额 (56–65).")
    super_large_class_min: PosInt = Field(
        66, description="Smallest class counted as 超大班额 (≥66)."
    )
    large_class_share_max: Share = Field(
        0.05, description="National target: 大班额 ≤ 5 % of classes."
    )
    super_large_class_share_max: Share = Field(
        0.02, description="National target: 超大班额 ≤ 2 % of classes."
    )
    # -- school size ---------------------------------------------------------------------
    school_size_max: PosInt = Field(
        2000, description="Largest school (pupils) for a single-level school."
    )
    school_size_max_nine_year: PosInt = Field(
        2500, description="Largest nine-year (九年一贯制) school, in pupils."
    )
    # -- staffing (编制) --------------------------------------------------------------------
    staffing_ratio: dict[str, PosFloat] = Field(
        default_factory=lambda: {"primary": 19.0, "junior": 13.5, "senior": 12.5},
        description="Pupils per teacher post (生师比) per level.",
    )
    # -- balance (优质均衡, 2017) -----------------------------------------------------------
    cv_limit: dict[Level, PosFloat] = Field(
        default_factory=_cv_limits,
        description="Largest enrolment-weighted coefficient of variation (差异系数) per indicator.",
    )
    balance_thresholds: dict[Level, dict[str, NonNegFloat]] = Field(
        default_factory=_thresholds,
        description="Per-school threshold of each of the 7 indicators, per level.",
    )
    balance_min_indicators_met: Annotated[int, Field(ge=0, le=7)] = Field(
        6, description="A school must meet at least this many of 7."
    )
    balance_min_pupils: NonNegInt = Field(
        50, description="Schools under this enrolment are left out of CVs."
    )
    pe_arts_subjects: tuple[str, ...] = Field(
        ("pe", "music", "art"), description="Subjects counted as PE and arts (体育, 音乐, 美术)."
    )
    # -- teacher rotation (交流轮岗) -------------------------------------------------------
    rotation_min_years: NonNegInt = Field(
        6, description="Years at one school before a teacher is eligible."
    )
    rotation_share: Share = Field(
        0.10, description="Share of eligible teachers rotated each year (ρ)."
    )
    rotation_share_per_school: bool = Field(
        False,
        description="Also require each sending (urban or strong) school to send ≥ ρ of its eligible.",
    )
    backbone_share: Share = Field(
        0.20, description="Share of backbone teachers (骨干教师) required."
    )
    backbone_denominator: Literal["rotated", "eligible"] = Field(
        "rotated",
        description="Whether the backbone share counts against those rotated or eligible.",
    )
    backbone_min_level: BackboneLevel = Field(
        "county", description="Lowest backbone title that counts (county-level or above)."
    )
    age_cap: dict[Gender, PosInt] = Field(
        default_factory=_age_caps,
        description="Teachers at or above this age are not eligible (by gender).",
    )
    retirement_age: dict[Gender, PosInt] = Field(
        default_factory=_retirement_ages,
        description="Statutory retirement age by gender.",
    )
    retirement_buffer_years: NonNegInt = Field(
        5, description="Eligible only with more than this many years to retirement."
    )
    rotation_cooldown_years: NonNegInt = Field(
        6, description="Not eligible if rotated within the last K years."
    )
    max_deferral_years: NonNegInt = Field(3, description="Longest deferral for leads, in years.")
    max_leave_share: Share = Field(
        0.15, description="At most this share of a school's staff leaves."
    )
    max_arrive_share: Share = Field(
        0.15, description="At most this share of a school's staff arrives."
    )
    max_commute_m: PosFloat = Field(
        30_000.0, description="Longest home-to-school distance, metres."
    )
    weekly_lessons_per_teacher: PosFloat = Field(
        14.0, description="Lessons a full-time teacher gives per week, for subject needs."
    )
    # -- travel and forecasting -------------------------------------------------------------
    distance_bands_m: tuple[PosFloat, ...] = Field(
        (1000.0, 2000.0, 3000.0), description="Bands for the share of pupils within a distance."
    )
    dwelling_yield: dict[str, NonNegFloat] = Field(
        default_factory=lambda: {"single_family": 0.72, "apartment": 0.33},
        description="Compulsory-age pupils per new dwelling, by dwelling type.",
    )
    birth_to_entry_ratio: PosFloat = Field(
        1.0,
        description="Default grade-1 entrants per birth six years earlier, when no history fits.",
    )

    @model_validator(mode="after")
    def _bands_in_order(self) -> Policy:
        """The class-size bands must nest: a 超大班额 class is larger than a 大班额 one."""
        if self.super_large_class_min <= self.large_class_min:
            raise ValueError(
                f"super_large_class_min ({self.super_large_class_min}) must be greater than "
                f"large_class_min ({self.large_class_min})"
            )
        return self

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> Policy:
        """Build a policy from a (possibly partial) mapping; per-level dicts merge with defaults.

        Raises
        ------
        pydantic.ValidationError
            For unknown keys or values of the wrong type.
        """
        base = cls().model_dump()
        for key, value in (data or {}).items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merged = dict(base[key])
                for k2, v2 in value.items():
                    if isinstance(v2, dict) and isinstance(merged.get(k2), dict):
                        merged[k2] = {**merged[k2], **v2}
                    else:
                        merged[k2] = v2
                base[key] = merged
            else:
                base[key] = value
        return cls.model_validate(base)

    def with_value(self, path: str, value: Any) -> Policy:
        """Return a copy with one value changed by dotted path, e.g. ``class_size_cap.junior``."""
        parts = path.split(".")
        patch: dict[str, Any] = {}
        cur = patch
        for p in parts[:-1]:
            cur[p] = {}
            cur = cur[p]
        cur[parts[-1]] = value
        return Policy.model_validate(_merge(self.model_dump(), patch))

    def school_size_limit(self, school_level: str) -> int:
        """Largest pupils for a school of ``school_level`` (``nine_year`` gets the larger limit)."""
        return (
            self.school_size_max_nine_year if school_level == "nine_year" else self.school_size_max
        )


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out
