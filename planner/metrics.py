"""Metrics of a district under an assignment of planning units to schools.

:func:`compute_metrics` returns one JSON-ready dict (``docs/metrics.md`` lists every key and its
formula): per school and level the pupils, seats, utilisation, classes per grade and class-size
bands; per level the travel distances, the class-size bands against the national targets, the
overflow; the seven balance indicators with their enrolment-weighted coefficients of variation
(:mod:`planner.balance`); and the teachers with the rotation pool. :func:`format_metrics` turns it
into terminal tables.

An *assignment* maps each level to an int array over units: the row position of the unit's
school in ``district.schools``, or -1 for none. The default is today's (``district.current``).

Class packing
    A school forms classes in each grade from its classrooms of the level. Every grade with
    pupils gets one room; each further room goes to the grade whose largest class is biggest
    (ties: the lower grade), as long as that class is over the cap and rooms remain. With
    enough rooms every grade has ``ceil(pupils_g / cap)`` classes; with too few the largest
    class is as small as the rooms allow (the allocation minimises the largest class). Pupils of
    a grade are spread evenly over its classes (sizes differ by at most one). A grade with pupils
    always has a class, even when the school has fewer rooms than grades.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.balance import balance_report, indicator_totals, school_indicators
from planner.errors import Problem, ValidationFailed
from planner.policy import BACKBONE_RANK, BALANCE_INDICATORS, GRADES, LEVELS, Level

if TYPE_CHECKING:
    from planner.model import District

#: Pupil-weighted travel percentile reported as ``p90``.
TRAVEL_QUANTILE = 0.9


# -- small helpers ------------------------------------------------------------------------------
def _num(x: Any, nd: int) -> float | None:
    """A JSON number rounded to ``nd`` decimals; ``None`` for nan or infinity."""
    v = float(x)
    return round(v, nd) if math.isfinite(v) else None


def _share(part: float, whole: float) -> float | None:
    return _num(part / whole, 4) if whole > 0 else None


def grade_pupils(district: District, level: Level) -> np.ndarray:
    """Pupils per unit and grade, shape ``(n_units, n_grades)``.

    Grade columns are used where they add up to the unit's level total; elsewhere (e.g. a
    District built without grades) the total is spread evenly over the grades, the remainder one
    each to the lowest grades, the loader's rule.
    """
    cols = [f"g{g}" for g in GRADES[level]]
    g = district.units[cols].to_numpy(dtype=np.int64)
    total = district.pupils(level)
    k = len(cols)
    base, rem = np.divmod(total, k)
    even = base[:, None] + (np.arange(k)[None, :] < rem[:, None]).astype(np.int64)
    return np.where((g.sum(axis=1) == total)[:, None], g, even)


def classrooms(district: District, level: Level) -> np.ndarray:
    """Classrooms of ``level`` per school used for packing.

    The ``classrooms_<level>`` column where positive; otherwise a given capacity counts as
    ``round(capacity / cap)`` rooms. 0 for schools not teaching the level.
    """
    cap = district.policy.class_size_cap[level]
    rooms = district.schools[f"classrooms_{level}"].to_numpy(dtype=np.int64)
    from_seats = np.rint(district.seats(level) / cap).astype(np.int64)
    return np.where(district.serves(level), np.where(rooms > 0, rooms, from_seats), 0)


def pack_classes(grade_pupils: np.ndarray, rooms: np.ndarray, cap: int) -> np.ndarray:
    """Classes per school and grade when each school packs its pupils into its rooms.

    See the module docstring for the rule. Vectorised over schools: one round per added room.

    Parameters
    ----------
    grade_pupils : numpy.ndarray
        ``(n_schools, n_grades)`` pupils.
    rooms : numpy.ndarray
        ``(n_schools,)`` classrooms of the level.
    cap : int
        Class-size cap of the level.

    Returns
    -------
    numpy.ndarray
        ``(n_schools, n_grades)`` int64 classes; 0 exactly where a grade has no pupils.
    """
    p = np.asarray(grade_pupils, dtype=np.int64)
    classes = (p > 0).astype(np.int64)
    spare = np.asarray(rooms, dtype=np.int64) - classes.sum(axis=1)
    rows = np.arange(p.shape[0])
    while True:
        largest = -(-p // np.maximum(classes, 1))  # ceil; 0 for empty grades
        worst = largest.argmax(axis=1)  # first maximum = the lower grade on ties
        active = (spare > 0) & (largest[rows, worst] > cap)
        if not active.any():
            return classes
        classes[rows[active], worst[active]] += 1
        spare[active] -= 1


def count_classes(
    pupils: np.ndarray, classes: np.ndarray, lo: float, hi: float = np.inf
) -> np.ndarray:
    """Classes with ``lo ≤ size < hi`` when ``pupils`` are spread evenly over ``classes``.

    With ``q = pupils // classes`` and ``m = pupils % classes`` there are ``m`` classes of
    ``q + 1`` and ``classes − m`` of ``q``. Elementwise; 0 where ``classes`` is 0.
    """
    c = np.asarray(classes, dtype=np.int64)
    q, m = np.divmod(np.asarray(pupils, dtype=np.int64), np.maximum(c, 1))

    def inside(size: np.ndarray) -> np.ndarray:
        return ((size >= lo) & (size < hi)).astype(np.int64)

    return np.where(c > 0, m * inside(q + 1) + (c - m) * inside(q), 0)


def travel_to_assigned(
    district: District, school_of_unit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Travel of each unit to its assigned school.

    Returns
    -------
    cost : numpy.ndarray
        The ``travel`` table's cost for the pair when the district has one, else the
        straight-line distance in metres; ``nan`` for unassigned units and missing pairs.
    metres : numpy.ndarray
        Straight-line distance in metres (``nan`` for unassigned units).
    allowed : numpy.ndarray
        Bool: the unit is assigned and the pair is allowed (always, without a travel table).
    """
    a = np.asarray(school_of_unit, dtype=np.int64)
    assigned = a >= 0
    sxy = district.school_xy()[np.maximum(a, 0)]
    metres = np.hypot(*(district.unit_xy() - sxy).T)
    metres = np.where(assigned, metres, np.nan)
    if district.travel is None:
        return metres, metres, assigned
    n_schools = len(district.schools)
    t = district.travel
    u = pd.Index(district.units["unit_id"]).get_indexer(t["unit_id"].astype(str))
    s = pd.Index(district.schools["school_id"]).get_indexer(t["school_id"].astype(str))
    ok = (u >= 0) & (s >= 0)
    keys = u[ok].astype(np.int64) * n_schools + s[ok]
    costs = t["cost"].to_numpy(dtype=float)[ok]
    order = np.argsort(keys, kind="stable")
    keys, costs = keys[order], costs[order]
    if keys.size == 0:
        return np.full(len(a), np.nan), metres, np.zeros(len(a), dtype=bool)
    want = np.arange(len(a), dtype=np.int64) * n_schools + np.maximum(a, 0)
    pos = np.minimum(np.searchsorted(keys, want), keys.size - 1)
    found = assigned & (keys[pos] == want)
    cost = np.where(found, costs[pos], np.nan)
    return cost, metres, found


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Smallest value ``v`` such that at least ``q`` of the weight lies at or below ``v``."""
    keep = weights > 0
    v, w = values[keep], weights[keep]
    if v.size == 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    # a relative tolerance keeps 0.9 × 10 pupils from landing past the 9th pupil by rounding
    i = int(np.searchsorted(cum, q * cum[-1] * (1 - 1e-12), side="left"))
    return float(v[order][min(i, v.size - 1)])


# -- assignment input ---------------------------------------------------------------------------
def assignment_from_table(
    district: District, table: pd.DataFrame, file: str = "assignment.csv"
) -> dict[Level, np.ndarray]:
    """Turn an ``unit_id, level, school_id`` table (the catchment solver's output) into arrays.

    A level without rows keeps today's assignment; within a level that has rows, a unit without a
    row, or with an empty ``school_id``, has no school (-1) and counts as unassigned.

    Raises
    ------
    ValidationFailed
        Listing every missing column, unknown level, unit or school and repeated unit.
    """
    problems: list[Problem] = []
    missing = [c for c in ("unit_id", "level", "school_id") if c not in table.columns]
    for c in missing:
        problems.append(
            Problem(file, None, c, "column missing", "expected unit_id,level,school_id")
        )
    if missing:
        raise ValidationFailed(problems)
    t = table.astype({"unit_id": str, "level": str, "school_id": str}).fillna("")
    t = t.assign(school_id=t["school_id"].replace({"nan": ""}).str.strip())
    rows = np.arange(len(t)) + 2  # spreadsheet rows: the header is row 1
    u = pd.Index(district.units["unit_id"]).get_indexer(t["unit_id"])
    s = pd.Index(district.schools["school_id"]).get_indexer(t["school_id"])
    for r, val in zip(rows[u < 0], t["unit_id"][u < 0], strict=True):
        problems.append(Problem(file, int(r), "unit_id", val, "a unit_id of units"))
    bad_s = (s < 0) & (t["school_id"] != "").to_numpy()
    for r, val in zip(rows[bad_s], t["school_id"][bad_s], strict=True):
        problems.append(Problem(file, int(r), "school_id", val, "a school_id of schools or empty"))
    bad_l = ~t["level"].isin(LEVELS).to_numpy()
    for r, val in zip(rows[bad_l], t["level"][bad_l], strict=True):
        problems.append(Problem(file, int(r), "level", val, "primary or junior"))
    dup = t.duplicated(["unit_id", "level"], keep="first").to_numpy()
    for r, val in zip(rows[dup], t["unit_id"][dup], strict=True):
        problems.append(Problem(file, int(r), "unit_id", val, "one row per unit and level"))
    if problems:
        raise ValidationFailed(problems)
    out: dict[Level, np.ndarray] = {}
    for level in LEVELS:
        mine = (t["level"] == level).to_numpy()
        if not mine.any():
            out[level] = district.current(level)
            continue
        a = np.full(len(district.units), -1, dtype=np.int64)
        a[u[mine]] = s[mine]
        out[level] = a
    return out


# -- the metrics --------------------------------------------------------------------------------
def _level_metrics(
    district: District, level: Level, a: np.ndarray
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """County-wide figures of one level, and per-school arrays for the school records."""
    policy = district.policy
    schools = district.schools
    n_schools = len(schools)
    cap = policy.class_size_cap[level]
    pupils_u = district.pupils(level)
    assigned = a >= 0
    pos = np.where(assigned, a, 0)
    w_assigned = np.where(assigned, pupils_u, 0)
    pupils_s = np.bincount(pos, weights=w_assigned, minlength=n_schools).astype(np.int64)
    g_units = grade_pupils(district, level)
    g_school = np.stack(
        [
            np.bincount(pos, weights=np.where(assigned, g_units[:, j], 0), minlength=n_schools)
            for j in range(g_units.shape[1])
        ],
        axis=1,
    ).astype(np.int64)
    seats = district.seats(level)
    rooms = classrooms(district, level)
    at_cap = -(-g_school // cap)
    packed = pack_classes(g_school, rooms, cap)
    over_cap = count_classes(g_school, packed, cap + 1)
    large = count_classes(g_school, packed, policy.large_class_min, policy.super_large_class_min)
    super_large = count_classes(g_school, packed, policy.super_large_class_min)
    largest = np.where(packed > 0, -(-g_school // np.maximum(packed, 1)), 0).max(axis=1, initial=0)
    over_seats = np.maximum(pupils_s - seats, 0)
    serves = district.serves(level)
    status = schools["status"].to_numpy()
    in_use = serves & ((status == "open") | (pupils_s > 0))

    # -- travel (pupil-weighted over assigned, allowed units)
    cost, metres, allowed = travel_to_assigned(district, a)
    w = np.where(allowed, pupils_u, 0).astype(float)
    measured = w.sum()
    c0 = np.nan_to_num(cost)
    unit = district.travel_unit if district.travel is not None else "m"
    band_basis = "travel" if unit == "m" else "straight_line"
    band_d = c0 if unit == "m" else np.nan_to_num(metres)
    within = {
        str(int(b)) if float(b).is_integer() else str(b): _share(
            float(w[band_d <= b].sum()), measured
        )
        for b in policy.distance_bands_m
    }
    travel = {
        "unit": unit,
        "mean": _num(np.dot(w, c0) / measured, 1) if measured > 0 else None,
        "p90": _num(weighted_quantile(c0, w, TRAVEL_QUANTILE), 1),
        "max": _num(c0[w > 0].max(), 1) if measured > 0 else None,
        "pupils_measured": int(measured),
        "within_m": within,
        "within_basis": band_basis,
    }
    n_classes = int(packed.sum())
    n_large, n_super = int(large.sum()), int(super_large.sum())
    large_share = n_large / n_classes if n_classes else 0.0
    super_share = n_super / n_classes if n_classes else 0.0
    classes = {
        "cap": cap,
        "at_cap": int(at_cap.sum()),
        "packed": n_classes,
        "over_cap": int(over_cap.sum()),
        "over_rooms": int(np.maximum(at_cap.sum(axis=1) - rooms, 0).sum()),
        "large": n_large,
        "super_large": n_super,
        "large_band": [policy.large_class_min, policy.super_large_class_min - 1],
        "super_large_min": policy.super_large_class_min,
        "large_share": _num(large_share, 4),
        "super_large_share": _num(super_share, 4),
        "large_share_max": policy.large_class_share_max,
        "super_large_share_max": policy.super_large_class_share_max,
        "large_pass": large_share <= policy.large_class_share_max,
        "super_large_pass": super_share <= policy.super_large_class_share_max,
        "largest": int(largest.max(initial=0)),
    }
    total = int(pupils_u.sum())
    at_school = np.bincount(pos, weights=w_assigned, minlength=n_schools)
    county = {
        "pupils": total,
        "assigned_pupils": int(w_assigned.sum()),
        "unassigned_pupils": int(pupils_u[~assigned].sum()),
        "not_allowed_pupils": int(pupils_u[assigned & ~allowed].sum()),
        "pupils_at_closed_schools": int(at_school[status == "closed"].sum()),
        "pupils_at_schools_not_serving_level": int(at_school[~serves].sum()),
        "seats": int(seats[in_use].sum()),
        "overflow_pupils": int(over_seats.sum()),
        "schools_over_capacity": int((over_seats > 0).sum()),
        "utilisation": _share(float(pupils_s[in_use].sum()), float(seats[in_use].sum())),
        "travel": travel,
        "classes": classes,
    }
    per_school = {
        "pupils": pupils_s,
        "grades": g_school,
        "seats": seats,
        "rooms": rooms,
        "at_cap": at_cap,
        "packed": packed,
        "over_seats": over_seats,
        "over_cap": over_cap.sum(axis=1),
        "large": large.sum(axis=1),
        "super_large": super_large.sum(axis=1),
        "largest": largest,
    }
    return county, per_school


def _teacher_metrics(
    district: District, pupils_total: int, year: int | None
) -> tuple[dict[str, Any] | None, np.ndarray | None]:
    """Teacher counts, backbone per 100 pupils, the rotation pool; eligible per school."""
    teachers = district.teachers
    if teachers is None:
        return None, None
    policy = district.policy
    backbone = (
        teachers["backbone"].map(BACKBONE_RANK).fillna(0).to_numpy()
        >= BACKBONE_RANK[policy.backbone_min_level]
    )
    by_subject = teachers["subject"].value_counts().sort_index()
    posts = sum(
        float(district.pupils(lvl).sum()) / policy.staffing_ratio[lvl]
        for lvl in LEVELS
        if lvl in policy.staffing_ratio
    )
    out: dict[str, Any] = {
        "total": len(teachers),
        "by_subject": {str(k): int(v) for k, v in by_subject.items()},
        "backbone": int(backbone.sum()),
        "backbone_min_level": policy.backbone_min_level,
        "backbone_per100_pupils": _num(100 * backbone.sum() / pupils_total, 3)
        if pupils_total
        else None,
        "posts_by_staffing_norm": _num(posts, 1),
        "pool": None,
    }
    try:  # eligibility belongs to the rotation area; metrics work without it
        from planner.eligibility import assess_eligibility, current_year
    except ImportError:
        return out, None
    year = current_year() if year is None else year
    elig = assess_eligibility(teachers, policy, year)
    ok = elig["eligible"].to_numpy(dtype=bool)
    reasons = elig["reason"].astype(str).str.split(";").explode().str.strip()
    pos = pd.Index(district.schools["school_id"]).get_indexer(teachers["school_id"].astype(str))
    known = pos >= 0
    per_school = np.bincount(pos[known], weights=ok[known], minlength=len(district.schools))
    out["pool"] = {
        "year": year,
        "eligible": int(ok.sum()),
        "eligible_backbone": int((ok & backbone).sum()),
        "by_reason": {str(k): int(v) for k, v in reasons.value_counts().sort_index().items()},
    }
    return out, per_school.astype(np.int64)


def _round_balance(report: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level, lv in report.items():
        rl: dict[str, Any] = {}
        for key, val in lv.items():
            if isinstance(val, dict):
                rl[key] = {
                    "cv": _num(val["cv"], 4),
                    "cv_unweighted": _num(val["cv_unweighted"], 4),
                    "limit": val["limit"],
                    "pass": val["pass"],
                    "mean": _num(val["mean"], 3),
                    "threshold": val["threshold"],
                    "n_schools": val["n_schools"],
                    "schools_meeting": val["schools_meeting"],
                }
            else:
                rl[key] = val
        out[level] = rl
    return out


def over_size_limit(district: District, total_pupils: np.ndarray) -> list[str]:
    """Ids of the schools whose pupils (both levels) exceed ``policy.school_size_limit``."""
    schools = district.schools
    limits = np.array([district.policy.school_size_limit(str(lv)) for lv in schools["level"]])
    return [str(x) for x in schools["school_id"].to_numpy()[np.asarray(total_pupils) > limits]]


def class_sizes(
    district: District, assignment: dict[Level, np.ndarray]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The class-size bands per level and the schools over the size limit under ``assignment``.

    The same figures as ``compute_metrics(...)["levels"][level]["classes"]`` and
    ``["school_size"]["schools"]``, without the travel, balance and teacher work (solvers call
    it on every plan). A level missing from ``assignment`` keeps today's schools.
    """
    classes: dict[str, dict[str, Any]] = {}
    total = np.zeros(len(district.schools), dtype=np.int64)
    for level in LEVELS:
        a = assignment[level] if level in assignment else district.current(level)
        figures, per = _level_metrics(district, level, np.asarray(a, dtype=np.int64))
        classes[level] = figures["classes"]
        total = total + per["pupils"]
    return classes, over_size_limit(district, total)


def compute_metrics(
    district: District,
    assignment: dict[Level, np.ndarray] | None = None,
    *,
    year: int | None = None,
) -> dict[str, Any]:
    """All metrics of ``district`` under ``assignment``, as a JSON-ready dict.

    Parameters
    ----------
    district : District
        The district.
    assignment : dict of {level: numpy.ndarray}, optional
        School row position per unit for each level (-1 = none). A missing level, or ``None``,
        means today's (``district.current(level)``).
    year : int, optional
        Planning year for the rotation pool (``planner.eligibility``); default this year.

    Returns
    -------
    dict
        Keys ``district``, ``levels``, ``schools``, ``school_size``, ``balance``, ``teachers``;
        see ``docs/metrics.md``. Floats are rounded; nan and infinity become ``None``.

    Raises
    ------
    ValueError
        If an assignment array has the wrong length or names a school position out of range.
    """
    policy = district.policy
    n_units, n_schools = len(district.units), len(district.schools)
    given = assignment or {}
    asg: dict[Level, np.ndarray] = {}
    for level in LEVELS:
        a = np.asarray(given[level], dtype=np.int64) if level in given else district.current(level)
        if a.shape != (n_units,):
            raise ValueError(f"{level} assignment has shape {a.shape}, expected ({n_units},)")
        if a.size and (a.max() >= n_schools or a.min() < -1):
            raise ValueError(f"{level} assignment names a school outside 0..{n_schools - 1}")
        asg[level] = a

    levels: dict[str, Any] = {}
    per: dict[Level, dict[str, np.ndarray]] = {}
    for level in LEVELS:
        levels[level], per[level] = _level_metrics(district, level, asg[level])

    school_pupils: dict[Level, np.ndarray] = {lvl: per[lvl]["pupils"] for lvl in LEVELS}
    indicators = school_indicators(district, school_pupils)
    balance = _round_balance(balance_report(indicators, policy))
    pupils_total = int(sum(district.pupils(lvl).sum() for lvl in LEVELS))
    teachers, eligible_per_school = _teacher_metrics(district, pupils_total, year)
    staff = indicator_totals(district)["teachers"].to_numpy()

    schools = district.schools
    total_pupils = school_pupils["primary"] + school_pupils["junior"]
    records: list[dict[str, Any]] = []
    violations = over_size_limit(district, total_pupils)
    ind_by_level = {lvl: df.set_index("school") for lvl, df in indicators.items()}
    for i in range(n_schools):
        limit = policy.school_size_limit(str(schools["level"].iat[i]))
        rec: dict[str, Any] = {
            "school_id": str(schools["school_id"].iat[i]),
            "name": str(schools["name"].iat[i]),
            "level": str(schools["level"].iat[i]),
            "status": str(schools["status"].iat[i]),
            "pupils": int(total_pupils[i]),
            "size_limit": limit,
            "over_size_limit": int(max(total_pupils[i] - limit, 0)),
            "teachers": None if np.isnan(staff[i]) else int(staff[i]),
            "eligible_teachers": None
            if eligible_per_school is None
            else int(eligible_per_school[i]),
        }
        for level in LEVELS:
            p = per[level]
            if not (district.serves(level)[i] or p["pupils"][i] > 0):
                continue
            lv: dict[str, Any] = {
                "pupils": int(p["pupils"][i]),
                "seats": int(p["seats"][i]),
                "utilisation": _num(p["pupils"][i] / p["seats"][i], 4) if p["seats"][i] else None,
                "pupils_over_seats": int(p["over_seats"][i]),
                "classrooms": int(p["rooms"][i]),
                "grade_pupils": [int(v) for v in p["grades"][i]],
                "classes_at_cap": [int(v) for v in p["at_cap"][i]],
                "classes_at_cap_total": int(p["at_cap"][i].sum()),
                "classes_over_rooms": int(max(p["at_cap"][i].sum() - p["rooms"][i], 0)),
                "classes_packed": [int(v) for v in p["packed"][i]],
                "classes_over_cap": int(p["over_cap"][i]),
                "large_classes": int(p["large"][i]),
                "super_large_classes": int(p["super_large"][i]),
                "largest_class": int(p["largest"][i]),
            }
            ind = ind_by_level[level]
            if i in ind.index:
                row = ind.loc[i]
                lv["indicators"] = {k: _num(row[k], 3) for k in BALANCE_INDICATORS}
                lv["indicators_met"] = int(row["indicators_met"])
                lv["balance_included"] = bool(row["included"])
            rec[level] = lv
        records.append(rec)

    return {
        "district": district.name,
        "assignment": "current" if not given else "given",
        "levels": levels,
        "schools": records,
        "school_size": {"violations": len(violations), "schools": violations},
        "balance": balance,
        "teachers": teachers,
    }


# -- terminal tables ----------------------------------------------------------------------------
def _fmt(v: Any, spec: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "ok" if v else "FAIL"
    return format(v, spec)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _table(headers: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """Columns right-aligned except the first ``left``; widths from the contents."""
    widths = [
        max(len(h), *(len(r[j]) for r in rows)) if rows else len(h) for j, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(widths[j]) if j < left else c.rjust(widths[j]) for j, c in enumerate(cells)
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def format_metrics(metrics: dict[str, Any], max_schools: int = 30) -> str:
    """Human-readable tables of :func:`compute_metrics` output (80–120 columns).

    Order: schools over capacity (most overflow first), school-size violations, class sizes,
    balance coefficients with pass/fail, travel, teachers. At most ``max_schools`` rows per
    school table; the rest is counted.
    """
    out: list[str] = [f"District {metrics['district']} ({metrics['assignment']} assignment)", ""]
    levels = metrics["levels"]

    # -- schools over capacity
    over: list[tuple[int, list[str]]] = []
    for s in metrics["schools"]:
        for level in LEVELS:
            lv = s.get(level)
            if lv and lv["pupils_over_seats"] > 0:
                over.append(
                    (
                        lv["pupils_over_seats"],
                        [
                            s["school_id"],
                            s["name"][:24],
                            level,
                            str(lv["pupils"]),
                            str(lv["seats"]),
                            _pct(lv["utilisation"]),
                            str(lv["pupils_over_seats"]),
                            str(lv["classes_at_cap_total"]),
                            str(lv["classrooms"]),
                            str(lv["large_classes"]),
                            str(lv["super_large_classes"]),
                            str(lv["largest_class"]),
                        ],
                    )
                )
    over.sort(key=lambda t: -t[0])
    out.append(f"Schools over capacity: {len(over)}")
    if over:
        heads = ["school", "name", "level", "pupils", "seats", "use", "over", "classes", "rooms"]
        heads += ["large", "super", "biggest"]
        out += _table(heads, [r for _, r in over[:max_schools]], left=3)
        if len(over) > max_schools:
            out.append(f"... and {len(over) - max_schools} more")
    size = metrics["school_size"]
    out.append(f"Schools over the size limit: {size['violations']}")
    big = [s for s in metrics["schools"] if s["over_size_limit"] > 0]
    if big:
        rows = [
            [
                s["school_id"],
                s["level"],
                str(s["pupils"]),
                str(s["size_limit"]),
                str(s["over_size_limit"]),
            ]
            for s in big[:max_schools]
        ]
        out += _table(["school", "type", "pupils", "limit", "over"], rows, left=2)
    out.append("")

    # -- class sizes
    c0 = levels[LEVELS[0]]["classes"]
    lo, hi = c0["large_band"]
    out.append("Class sizes (pupils packed into each school's classrooms)")
    out.append(
        f"targets: large {lo}-{hi} ≤ {_pct(c0['large_share_max'])}, super-large "
        f"≥{c0['super_large_min']} ≤ {_pct(c0['super_large_share_max'])} of classes"
    )
    rows = []
    for level in LEVELS:
        c = levels[level]["classes"]
        rows.append(
            [
                level,
                str(c["cap"]),
                str(c["at_cap"]),
                str(c["packed"]),
                str(c["over_rooms"]),
                str(c["over_cap"]),
                str(c["large"]),
                f"{_pct(c['large_share'])} {_fmt(c['large_pass'])}",
                str(c["super_large"]),
                f"{_pct(c['super_large_share'])} {_fmt(c['super_large_pass'])}",
                str(c["largest"]),
            ]
        )
    heads = ["level", "cap", "at cap", "packed", "short", "over cap", "large", "share"]
    out += _table([*heads, "super", "share", "biggest"], rows)
    for level in LEVELS:
        lv = levels[level]
        line = (
            f"{level}: {lv['pupils']} pupils, {lv['seats']} seats in use "
            f"({_pct(lv['utilisation'])}), overflow {lv['overflow_pupils']} pupils at "
            f"{lv['schools_over_capacity']} school(s)"
        )
        for key, label in (
            ("unassigned_pupils", "unassigned"),
            ("not_allowed_pupils", "not allowed"),
        ):
            if lv[key]:
                line += f", {label} {lv[key]}"
        out.append(line)
    out.append("")

    # -- balance
    out.append("Balance: enrolment-weighted coefficient of variation per indicator (unweighted)")
    bal = metrics["balance"]
    heads = ["indicator"]
    for level in LEVELS:
        heads += [f"{level} cv", "unw", "limit", "pass"]
    rows = []
    for ind in BALANCE_INDICATORS:
        row = [ind]
        for level in LEVELS:
            b = bal[level][ind]
            row += [_fmt(b["cv"], ".4f"), _fmt(b["cv_unweighted"], ".4f"), _fmt(b["limit"], ".2f")]
            row.append(_fmt(b["pass"]))
        rows.append(row)
    out += _table(heads, rows)
    for level in LEVELS:
        b = bal[level]
        out.append(
            f"{level}: {b['schools_meeting_min']} of {b['n_schools']} schools meet at least "
            f"{b['min_indicators_met']} of {len(BALANCE_INDICATORS)} indicators; "
            f"all CVs within limit: {'yes' if b['all_cv_pass'] else 'no'}"
        )
    out.append("")

    # -- travel
    unit = levels[LEVELS[0]]["travel"]["unit"]
    bands = list(levels[LEVELS[0]]["travel"]["within_m"])
    out.append(f"Travel to the assigned school (pupil-weighted, {unit})")
    heads = ["level", "mean", "p90", "max", *[f"≤{float(b) / 1000:g} km" for b in bands]]
    rows = []
    for level in LEVELS:
        t = levels[level]["travel"]
        rows.append(
            [level, _fmt(t["mean"], ".0f"), _fmt(t["p90"], ".0f"), _fmt(t["max"], ".0f")]
            + [_pct(t["within_m"][b]) for b in bands]
        )
    out += _table(heads, rows)
    out.append("")

    # -- teachers
    t = metrics["teachers"]
    if t is None:
        out.append("Teachers: no teachers table")
    else:
        out.append(
            f"Teachers: {t['total']} (staffing norm {_fmt(t['posts_by_staffing_norm'], '.0f')} "
            f"posts); backbone ({t['backbone_min_level']}+) {t['backbone']}, "
            f"{_fmt(t['backbone_per100_pupils'], '.2f')} per 100 pupils"
        )
        subj = ", ".join(f"{k} {v}" for k, v in t["by_subject"].items())
        out += textwrap.wrap(subj, 98, initial_indent="  by subject: ", subsequent_indent="    ")
        pool = t["pool"]
        if pool is None:
            out.append("  rotation pool: eligibility rules not available")
        else:
            reasons = ", ".join(f"{k} {v}" for k, v in pool["by_reason"].items() if k != "eligible")
            head = f"  rotation pool {pool['year']}: {pool['eligible']} eligible "
            head += f"({pool['eligible_backbone']} backbone); not eligible: "
            out += textwrap.wrap(reasons, 98, initial_indent=head, subsequent_indent="    ")
    return "\n".join(out) + "\n"


__all__ = [
    "TRAVEL_QUANTILE",
    "assignment_from_table",
    "classrooms",
    "compute_metrics",
    "count_classes",
    "format_metrics",
    "grade_pupils",
    "pack_classes",
    "travel_to_assigned",
    "weighted_quantile",
]
