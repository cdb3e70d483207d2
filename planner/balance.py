"""Balance (优质均衡) indicators per school and their enrolment-weighted coefficients of variation.

The 2017 quality-balance standard judges a county by seven resource indicators per school
(``planner.policy.BALANCE_INDICATORS``): each school must meet at least
``policy.balance_min_indicators_met`` of them, and across schools each indicator's coefficient of
variation (差异系数) must stay within ``policy.cv_limit[level]``. The coefficient is weighted by
enrolment (``DOMAIN.md``):

    N = Σ n_i,   X̄ = Σ x_i n_i / N,   CV = sqrt(Σ (n_i / N) (x_i − X̄)²) / X̄

Nine-year schools (九年一贯制) serve both levels. Their teachers and resources are split between
the levels **pro rata to the level's pupils**: a level with share ``n_level / n_school`` of the
school's pupils gets that share of each teacher count and each area, value and room count. A
per-pupil indicator of a nine-year school is therefore the same number at both levels (the
school-wide value), and only its weight ``n_i`` differs. The same rule is used by the metrics and
by the rotation solver, which calls :func:`indicator_totals` and :func:`school_indicators` with
the moved staff.

Schools are left out of the coefficients (``included`` is False) when they have fewer than
``policy.balance_min_pupils`` pupils of the level or are closed. A school whose indicator is
unknown (NaN: no teachers table, or a missing area column) is left out of that indicator's
coefficient only, and counts as not meeting its threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planner.policy import BACKBONE_RANK, BALANCE_INDICATORS, LEVELS, Level, Policy

if TYPE_CHECKING:
    from planner.model import District

#: Per-school totals behind each indicator: (total column, multiplier for the per-pupil value).
#: ``_per100`` indicators are counts per 100 pupils, ``_per_pupil`` ones are amounts per pupil.
INDICATOR_SOURCES: dict[str, tuple[str, float]] = {
    "higher_degree_teachers_per100": ("higher_degree_teachers", 100.0),
    "backbone_teachers_per100": ("backbone_teachers", 100.0),
    "pe_arts_teachers_per100": ("pe_arts_teachers", 100.0),
    "teaching_area_per_pupil": ("teaching_area_m2", 1.0),
    "sports_area_per_pupil": ("sports_area_m2", 1.0),
    "equipment_value_per_pupil": ("equipment_value", 1.0),
    "multimedia_rooms_per100": ("multimedia_rooms", 100.0),
}

#: The teacher-based indicators (the ones rotation can change).
TEACHER_INDICATORS: tuple[str, ...] = BALANCE_INDICATORS[:3]


def _cv_inputs(values: ArrayLike, weights: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if x.shape != w.shape:
        raise ValueError(f"values and weights differ in length: {x.size} vs {w.size}")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return x, w


def weighted_cv(values: ArrayLike, weights: ArrayLike) -> float:
    """Enrolment-weighted coefficient of variation (差异系数) of the 2017 balance standard.

    ``N = Σ n_i``, ``X̄ = Σ x_i n_i / N``, ``CV = sqrt(Σ (n_i / N)(x_i − X̄)²) / X̄``.

    Parameters
    ----------
    values : array_like
        Per-school indicator values ``x_i``.
    weights : array_like
        Enrolments ``n_i`` (non-negative; only their ratios matter).

    Returns
    -------
    float
        The coefficient. ``nan`` when there is no weight (``N = 0``), when ``X̄ = 0`` (the
        coefficient is undefined; a county where every school has none of a resource is not
        "balanced"), or when any value with positive weight is ``nan``. One school gives 0.

    Raises
    ------
    ValueError
        If the lengths differ or a weight is negative.
    """
    x, w = _cv_inputs(values, weights)
    keep = w > 0  # a zero-weight school must not turn the result into nan
    x, w = x[keep], w[keep]
    total = w.sum()
    if total == 0:
        return float("nan")
    p = w / total
    mean = float(np.dot(p, x))
    if mean == 0 or not np.isfinite(mean):
        return float("nan")
    var = float(np.dot(p, (x - mean) ** 2))
    return float(np.sqrt(var) / mean)


def unweighted_cv(values: ArrayLike) -> float:
    """Plain coefficient of variation: population standard deviation / mean.

    This is the form local software often uses; it is reported beside :func:`weighted_cv` for
    comparison only. ``nan`` for no values, a zero mean, or a ``nan`` value.
    """
    x, _ = _cv_inputs(values, None)
    if x.size == 0:
        return float("nan")
    mean = float(x.mean())
    if mean == 0 or not np.isfinite(mean):
        return float("nan")
    return float(x.std() / mean)


def indicator_totals(district: District, teachers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Whole-school totals behind the seven indicators, one row per school (district order).

    Parameters
    ----------
    district : District
        Supplies the schools table and the policy.
    teachers : pandas.DataFrame, optional
        Teachers table (``school_id``, ``subject``, ``backbone``, ``higher_degree``); defaults to
        ``district.teachers``. The rotation solver passes the moved staff here. Teachers of an
        unknown school are ignored.

    Returns
    -------
    pandas.DataFrame
        Columns ``school_id``, ``teachers``, ``higher_degree_teachers``, ``backbone_teachers``
        (title at or above ``policy.backbone_min_level``), ``pe_arts_teachers`` (subject in
        ``policy.pe_arts_subjects``), ``teaching_area_m2``, ``sports_area_m2``,
        ``equipment_value``, ``multimedia_rooms``. The teacher columns are ``nan`` when there is
        no teachers table at all.
    """
    policy = district.policy
    schools = district.schools
    n = len(schools)
    out = pd.DataFrame({"school_id": schools["school_id"].to_numpy()})
    teachers = district.teachers if teachers is None else teachers
    if teachers is None:
        for col in ("teachers", "higher_degree_teachers", "backbone_teachers", "pe_arts_teachers"):
            out[col] = np.nan
    else:
        pos = pd.Index(schools["school_id"]).get_indexer(teachers["school_id"].astype(str))
        known = pos >= 0
        pos = pos[known]
        t = teachers.loc[known]
        min_rank = BACKBONE_RANK[policy.backbone_min_level]
        backbone = t["backbone"].map(BACKBONE_RANK).fillna(0).to_numpy() >= min_rank
        higher = t["higher_degree"].fillna(False).astype(bool).to_numpy()
        pe_arts = t["subject"].isin(policy.pe_arts_subjects).to_numpy()
        out["teachers"] = np.bincount(pos, minlength=n).astype(float)
        out["higher_degree_teachers"] = np.bincount(pos, weights=higher, minlength=n)
        out["backbone_teachers"] = np.bincount(pos, weights=backbone, minlength=n)
        out["pe_arts_teachers"] = np.bincount(pos, weights=pe_arts, minlength=n)
    for col in ("teaching_area_m2", "sports_area_m2", "equipment_value", "multimedia_rooms"):
        out[col] = schools[col].to_numpy(dtype=float)
    return out


def level_shares(
    district: District, school_pupils: dict[Level, np.ndarray]
) -> dict[Level, np.ndarray]:
    """Each school's share of its resources that goes to each level (pro rata to pupils).

    A single-level school gives everything to its level. A nine-year school gives
    ``n_level / (n_primary + n_junior)``; with no pupils at all it splits half and half (the
    value does not matter then: its per-pupil indicators are undefined).
    """
    serves = {lvl: district.serves(lvl) for lvl in LEVELS}
    n = {
        lvl: np.where(serves[lvl], np.asarray(school_pupils[lvl], dtype=float), 0.0)
        for lvl in LEVELS
    }
    total = n["primary"] + n["junior"]
    n_levels = serves["primary"].astype(float) + serves["junior"].astype(float)
    shares: dict[Level, np.ndarray] = {}
    for lvl in LEVELS:
        even = np.divide(1.0, n_levels, out=np.zeros_like(total), where=n_levels > 0)
        by_pupils = np.divide(n[lvl], total, out=np.zeros_like(total), where=total > 0)
        shares[lvl] = np.where(serves[lvl], np.where(total > 0, by_pupils, even), 0.0)
    return shares


def school_indicators(
    district: District,
    school_pupils: dict[Level, np.ndarray],
    teachers: pd.DataFrame | None = None,
) -> dict[Level, pd.DataFrame]:
    """The seven balance indicators of every school, per level.

    Parameters
    ----------
    district : District
        Schools, policy and (by default) teachers.
    school_pupils : dict of {level: numpy.ndarray}
        Pupils per school (length ``len(district.schools)``) for each level, e.g. from an
        assignment. A level missing from the dict counts as 0 pupils.
    teachers : pandas.DataFrame, optional
        Teachers table; defaults to ``district.teachers`` (see :func:`indicator_totals`).

    Returns
    -------
    dict of {level: pandas.DataFrame}
        One row per school teaching the level (in district order) with columns ``school``
        (row position in ``district.schools``), ``school_id``, ``school_level``, ``status``,
        ``pupils``, ``share`` (of the school's resources given to this level), the allocated
        totals (``higher_degree_teachers``... ``multimedia_rooms``), the seven indicators,
        ``meets_<indicator>`` for each, ``indicators_met`` (count) and ``included`` (pupils ≥
        ``policy.balance_min_pupils`` and status not closed).
    """
    policy = district.policy
    zeros = np.zeros(len(district.schools))
    pupils = {lvl: np.asarray(school_pupils.get(lvl, zeros), dtype=float) for lvl in LEVELS}
    totals = indicator_totals(district, teachers)
    shares = level_shares(district, pupils)
    result: dict[Level, pd.DataFrame] = {}
    for lvl in LEVELS:
        rows = np.flatnonzero(district.serves(lvl))
        n = pupils[lvl][rows]
        share = shares[lvl][rows]
        df = pd.DataFrame(
            {
                "school": rows,
                "school_id": district.schools["school_id"].to_numpy()[rows],
                "school_level": district.schools["level"].to_numpy()[rows],
                "status": district.schools["status"].to_numpy()[rows],
                "pupils": n,
                "share": share,
            }
        )
        thresholds = policy.balance_thresholds[lvl]
        met = np.zeros(len(rows), dtype=np.int64)
        for ind in BALANCE_INDICATORS:
            col, scale = INDICATOR_SOURCES[ind]
            alloc = totals[col].to_numpy(dtype=float)[rows] * share
            df[col] = alloc
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(n > 0, scale * alloc / np.where(n > 0, n, 1.0), np.nan)
            df[ind] = value
            ok = np.nan_to_num(value, nan=-np.inf) >= thresholds[ind]
            df[f"meets_{ind}"] = ok
            met += ok
        df["indicators_met"] = met
        df["included"] = (n >= policy.balance_min_pupils) & (n > 0) & (df["status"] != "closed")
        result[lvl] = df
    return result


def balance_report(indicators: dict[Level, pd.DataFrame], policy: Policy) -> dict[str, Any]:
    """County-wide balance verdict per level and indicator.

    Parameters
    ----------
    indicators : dict of {level: pandas.DataFrame}
        Output of :func:`school_indicators`.
    policy : Policy
        Supplies ``cv_limit``, ``balance_thresholds`` and ``balance_min_indicators_met``.

    Returns
    -------
    dict
        ``{level: {indicator: {...}, "n_schools", "schools_meeting_min", "min_indicators_met",
        "all_cv_pass"}}``. Each indicator holds ``cv`` (enrolment-weighted), ``cv_unweighted``,
        ``limit``, ``pass`` (``cv ≤ limit``; False when ``cv`` is nan), ``mean`` (weighted X̄),
        ``threshold``, ``n_schools`` (included schools with a known value) and
        ``schools_meeting`` (included schools at or above the threshold). ``n_schools`` and
        ``schools_meeting_min`` at level scope count included schools and those meeting at
        least ``policy.balance_min_indicators_met`` of the seven. Values are plain Python
        floats, unrounded; ``nan`` stays ``nan``.
    """
    report: dict[str, Any] = {}
    for lvl, df in indicators.items():
        inc = df[df["included"]]
        limit = float(policy.cv_limit[lvl])
        level_out: dict[str, Any] = {}
        for ind in BALANCE_INDICATORS:
            x = inc[ind].to_numpy(dtype=float)
            w = inc["pupils"].to_numpy(dtype=float)
            known = np.isfinite(x)
            cv = weighted_cv(x[known], w[known])
            mean = (
                float(np.dot(w[known], x[known]) / w[known].sum())
                if w[known].sum() > 0
                else float("nan")
            )
            level_out[ind] = {
                "cv": cv,
                "cv_unweighted": unweighted_cv(x[known]),
                "limit": limit,
                "pass": bool(np.isfinite(cv) and cv <= limit),
                "mean": mean,
                "threshold": float(policy.balance_thresholds[lvl][ind]),
                "n_schools": int(known.sum()),
                "schools_meeting": int(inc[f"meets_{ind}"].sum()),
            }
        level_out["n_schools"] = len(inc)
        level_out["schools_meeting_min"] = int(
            (inc["indicators_met"] >= policy.balance_min_indicators_met).sum()
        )
        level_out["min_indicators_met"] = policy.balance_min_indicators_met
        level_out["all_cv_pass"] = all(level_out[ind]["pass"] for ind in BALANCE_INDICATORS)
        report[lvl] = level_out
    return report


__all__ = [
    "INDICATOR_SOURCES",
    "TEACHER_INDICATORS",
    "balance_report",
    "indicator_totals",
    "level_shares",
    "school_indicators",
    "unweighted_cv",
    "weighted_cv",
]
