"""The rotation problem as frozen arrays, compiled from a District, and its pre-solve checks.

:func:`build_problem` turns a :class:`~planner.model.District` and
:class:`~solvers.rotation.settings.RotationSettings` into a :class:`RotationProblem`: per-school
pupils, subject needs and staff, the eligible pool grouped into interchangeable teacher groups
with their candidate receiving schools, the quotas and per-school caps. :func:`explain_infeasible`
then states, with numbers, why no plan can meet the hard rules (before any solver runs).

Definitions (also in ``docs/rotation.md``):

* **Sending school**: an open school that at least one direction rule lets send to some open
  school (default rules: urban, town centre schools and strong schools). **Pool**: eligible,
  non-exempt teachers at sending schools. Quota ``Q = ⌈ρ × |pool|⌉`` (ρ =
  ``policy.rotation_share``); with ``policy.rotation_share_per_school`` every urban or strong
  sending school ``i`` also sends ``≥ ⌈ρ × |pool_i|⌉``.
* **Backbone**: title rank ≥ ``policy.backbone_min_level``. With ``backbone_denominator =
  "rotated"`` backbone moves ``B ≥ β × R`` (R = teachers moved); with ``"eligible"``
  ``B ≥ ⌈β × backbone teachers in the pool⌉``.
* **Caps**: school i sends ≤ ``max(min_cap, ⌊max_leave_share × staff_i⌋)`` and receives ≤
  ``max(min_cap, ⌊max_arrive_share × staff_i⌋)``.
* **Subject need** of school j in subject u: ``⌈Σ_levels classes_j,L × lessons_L,u /
  weekly_lessons_per_teacher⌉`` with classes = Σ_grades ⌈pupils_g / class_size_cap⌉ and pupils
  from today's assignment (``current_primary`` / ``current_junior``); or ``required`` from
  ``staffing.csv`` when given. A school teaches u when its need is > 0.
* **Protection**: after the moves every school keeps ``≥ min(today, need)`` teachers in each
  subject it teaches.
* **Commute**: home to new school, straight line; a teacher without a home uses their current
  school as home. Teachers are grouped by home cell (``home_cell_m``) and a group may go to a
  school only if every member's commute is within ``policy.max_commute_m``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from planner.balance import weighted_cv as balance_weighted_cv
from planner.eligibility import assess_eligibility
from planner.model import District
from planner.policy import BACKBONE_RANK, GRADES, LEVELS, Level, Policy
from solvers.rotation.settings import DirectionRule, RotationSettings

#: The three teacher indicators of the 2017 standard that rotation changes.
TEACHER_INDICATORS: tuple[str, ...] = (
    "higher_degree_teachers_per100",
    "backbone_teachers_per100",
    "pe_arts_teachers_per100",
)


# -- plain helpers (shared with the validator and the greedy baseline) ----------------------------
def ceil_share(share: float, n: int) -> int:
    """⌈share × n⌉ computed exactly (0.1 × 70 is 7, not 8)."""
    return math.ceil(Fraction(str(share)) * n)


def matches(selector: str, category: str, strong: bool) -> bool:
    """Whether a school of ``category`` / ``strong`` matches a rule selector."""
    return {
        "urban": category == "urban",
        "town": category == "town",
        "village": category == "village",
        "rural": category in ("town", "village"),
        "strong": strong,
        "weak": not strong,
        "any": True,
    }[selector]


def direction_matrix(schools: pd.DataFrame, rules: tuple[DirectionRule, ...]) -> np.ndarray:
    """(S, S) int: index of the first rule allowing i → j, −1 where none (or i = j, or closed)."""
    n = len(schools)
    cat = schools["category"].fillna("").astype(str).to_numpy()
    strong = schools["strong"].fillna(False).astype(bool).to_numpy()
    group = schools["group_id"].fillna("").astype(str).to_numpy()
    is_open = (schools["status"].fillna("open").astype(str) != "closed").to_numpy()
    out = np.full((n, n), -1, dtype=np.int64)
    for r in range(len(rules) - 1, -1, -1):  # first rule wins: fill in reverse
        rule = rules[r]
        src = np.array([matches(rule.source, c, s) for c, s in zip(cat, strong, strict=True)])
        tgt = np.array([matches(rule.target, c, s) for c, s in zip(cat, strong, strict=True)])
        ok = src[:, None] & tgt[None, :]
        if rule.same_group:
            ok &= (group[:, None] == group[None, :]) & (group[:, None] != "")
        out[ok] = r
    out[:, ~is_open] = -1
    out[~is_open, :] = -1
    np.fill_diagonal(out, -1)
    return out


def school_pupils(district: District) -> np.ndarray:
    """(S, 2) pupils per school and level (primary, junior) from today's assignment."""
    idx = district.school_index()
    out = np.zeros((len(district.schools), 2))
    for li, level in enumerate(LEVELS):
        cur = district.units[f"current_{level}"].fillna("").astype(str).to_numpy()
        pup = district.units[f"pupils_{level}"].to_numpy(dtype=float)
        for s, p in zip(cur, pup, strict=True):
            j = idx.get(s)
            if j is not None:
                out[j, li] += p
    return out


def school_classes(district: District) -> np.ndarray:
    """(S, 2) classes per school and level: Σ_grades ⌈pupils_g / cap⌉ (grades split evenly
    when a unit has no grade columns)."""
    idx = district.school_index()
    out = np.zeros((len(district.schools), 2))
    for li, level in enumerate(LEVELS):
        grades = GRADES[level]
        cols = [f"g{g}" for g in grades]
        units = district.units
        gmat = np.column_stack(
            [
                units[c].to_numpy(dtype=float) if c in units.columns else np.zeros(len(units))
                for c in cols
            ]
        )
        tot = units[f"pupils_{level}"].to_numpy(dtype=float)
        empty = gmat.sum(axis=1) <= 0
        gmat[empty] = tot[empty, None] / len(grades)
        per_school = np.zeros((len(district.schools), len(grades)))
        cur = units[f"current_{level}"].fillna("").astype(str).to_numpy()
        for u, s in enumerate(cur):
            j = idx.get(s)
            if j is not None:
                per_school[j] += gmat[u]
        cap = district.policy.class_size_cap[level]
        out[:, li] = np.ceil(np.round(per_school, 9) / cap).sum(axis=1)
    return out


def subject_needs(
    district: District, subjects: tuple[str, ...], settings: RotationSettings
) -> np.ndarray:
    """(S, U) teachers needed per school and subject (see the module docstring)."""
    staffing = district.extra.get("staffing")
    n = len(district.schools)
    need = np.zeros((n, len(subjects)), dtype=np.int64)
    col = {u: k for k, u in enumerate(subjects)}
    if staffing is not None and len(staffing):
        idx = district.school_index()
        for s, u, r in zip(
            staffing["school_id"].astype(str),
            staffing["subject"].astype(str),
            staffing["required"],
            strict=True,
        ):
            if s in idx and u in col:
                need[idx[s], col[u]] = round(float(r))
        return need
    classes = school_classes(district)
    serves = np.column_stack([district.serves(level) for level in LEVELS])
    lessons = np.zeros((n, len(subjects)))
    for li, level in enumerate(LEVELS):
        table = settings.lessons_per_week.get(level, {})
        for u, k in col.items():
            lessons[:, k] += classes[:, li] * serves[:, li] * table.get(u, 0.0)
    frac = lessons / district.policy.weekly_lessons_per_teacher
    need[:] = np.ceil(np.round(frac, 9)).astype(np.int64)
    return need


def teacher_flags(teachers: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Indicator flags per teacher: higher degree, backbone (counted), PE/arts."""
    min_rank = BACKBONE_RANK[policy.backbone_min_level]
    bb = teachers["backbone"].fillna("none").astype(str).map(BACKBONE_RANK).fillna(0)
    return pd.DataFrame(
        {
            "higher_degree_teachers_per100": teachers["higher_degree"].fillna(False).astype(bool),
            "backbone_teachers_per100": bb >= min_rank,
            "pe_arts_teachers_per100": teachers["subject"]
            .astype(str)
            .isin(policy.pe_arts_subjects),
        },
        index=teachers.index,
    )


def cv_sets(district: District, pupils: np.ndarray) -> dict[Level, np.ndarray]:
    """Per level, positions of the schools in its CV (serve it, open, ≥ balance_min_pupils)."""
    is_open = (district.schools["status"].fillna("open").astype(str) != "closed").to_numpy()
    out: dict[Level, np.ndarray] = {}
    for li, level in enumerate(LEVELS):
        mask = (
            district.serves(level) & is_open & (pupils[:, li] >= district.policy.balance_min_pupils)
        )
        out[level] = np.flatnonzero(mask)
    return out


def weighted_cv(values: np.ndarray, weights: np.ndarray) -> float:
    """Enrolment-weighted coefficient of variation: sqrt(Σ w(x − X̄)² / Σw) / X̄.

    The one of :func:`planner.balance.weighted_cv`, so the rotation figures and the balance
    metrics agree (zero-weight schools are left out; ``nan`` when undefined).
    """
    return balance_weighted_cv(values, weights)


def indicator_cvs(district: District, pupils: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """CV per ``level/indicator``: x_i = 100 × count_i / pupils_i (both levels), weight = the
    school's pupils of that level. ``counts`` is (S, 3) in :data:`TEACHER_INDICATORS` order."""
    total = pupils.sum(axis=1)
    out: dict[str, float] = {}
    for li, (level, pos) in enumerate(cv_sets(district, pupils).items()):
        for k, name in enumerate(TEACHER_INDICATORS):
            x = 100.0 * counts[pos, k] / total[pos]
            out[f"{level}/{name}"] = weighted_cv(x, pupils[pos, li])
    return out


def optional_table(district: District, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """``district.extra[name]`` with string ids, or an empty table with ``columns``."""
    tab = district.extra.get(name)
    if tab is None or len(tab) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    missing = [c for c in columns if c not in tab.columns]
    if missing:
        raise ValueError(f"{name}.csv lacks column(s): {', '.join(missing)}")
    tab = tab.copy()
    for c in columns:
        if c not in ("rank",):
            tab[c] = tab[c].astype(str).str.strip()
    return tab


# -- the compiled problem -------------------------------------------------------------------------
@dataclass(frozen=True)
class Group:
    """Interchangeable pool teachers: same school, subject, flags and home cell.

    ``members`` are teacher row positions in tie-break order; ``targets`` candidate receiving
    schools; ``commute_km`` the members' mean commute to each target (objective only).
    """

    members: tuple[int, ...]
    school: int
    subject: int
    flags: tuple[bool, bool, bool]
    targets: np.ndarray
    commute_km: np.ndarray
    pref_rank: np.ndarray  # per target, 0 = no preference given / not listed
    locked: int  # target school position a singleton is locked to, −1 = none


@dataclass(frozen=True)
class RotationProblem:
    """Everything the model needs, as arrays (built once, never mutated)."""

    year: int
    school_ids: np.ndarray
    school_names: np.ndarray
    category: np.ndarray
    strong: np.ndarray
    xy: np.ndarray
    subjects: tuple[str, ...]
    pupils: np.ndarray  # (S, 2)
    need: np.ndarray  # (S, U)
    count: np.ndarray  # (S, U) teachers today
    staff: np.ndarray  # (S,)
    ind_counts: np.ndarray  # (S, 3) indicator teachers today
    direction: np.ndarray  # (S, S) rule index, −1 = not allowed
    sending: np.ndarray  # (S,) bool
    leave_cap: np.ndarray
    arrive_cap: np.ndarray
    teachers: pd.DataFrame  # all teachers + eligibility + derived columns
    pool: np.ndarray  # teacher positions in the pool, tie-break order
    groups: tuple[Group, ...]
    quota: int
    school_quota: dict[int, int]
    backbone_share: Fraction
    backbone_min: int  # used with denominator "eligible"
    couples: tuple[tuple[int, int], ...]  # teacher positions
    cv_positions: dict[Level, np.ndarray]
    lock_problems: tuple[str, ...]  # locks that cannot be honoured, as sentences

    @property
    def n_schools(self) -> int:
        """Number of schools."""
        return len(self.school_ids)


def _teacher_levels(level: str, subject: str, settings: RotationSettings) -> tuple[bool, bool]:
    """(teaches primary, teaches junior) from the school level and, for nine-year, the subject."""
    if level == "primary":
        return True, False
    if level == "junior":
        return False, True
    p = settings.lessons_per_week.get("primary", {}).get(subject, 0.0) > 0
    j = settings.lessons_per_week.get("junior", {}).get(subject, 0.0) > 0
    if p and not j:
        return True, False
    if j and not p:
        return False, True
    return True, True


def build_problem(district: District, settings: RotationSettings) -> RotationProblem:
    """Compile a district into a :class:`RotationProblem`.

    Raises
    ------
    ValueError
        If the district has no teachers table, or an optional table lacks a column.
    """
    if district.teachers is None or len(district.teachers) == 0:
        raise ValueError("the district has no teachers table (teachers.csv)")
    pol = district.policy
    year = settings.resolved_year()
    schools = district.schools.reset_index(drop=True)
    sidx = district.school_index()
    S = len(schools)
    t = district.teachers.reset_index(drop=True).copy()
    t["teacher_id"] = t["teacher_id"].astype(str)
    t["school_id"] = t["school_id"].astype(str)
    elig = assess_eligibility(t, pol, year)
    t = t.join(elig.drop(columns="teacher_id"))
    t["spos"] = t["school_id"].map(sidx).fillna(-1).astype(int)
    subjects = tuple(sorted(set(t["subject"].astype(str))))
    ucol = {u: k for k, u in enumerate(subjects)}
    t["upos"] = t["subject"].astype(str).map(ucol).astype(int)
    flags = teacher_flags(t, pol)
    for c in TEACHER_INDICATORS:
        t[c] = flags[c].to_numpy()

    pupils = school_pupils(district)
    need = subject_needs(district, subjects, settings)
    count = np.zeros((S, len(subjects)), dtype=np.int64)
    at = t["spos"].to_numpy() >= 0
    np.add.at(count, (t["spos"].to_numpy()[at], t["upos"].to_numpy()[at]), 1)
    staff = count.sum(axis=1)
    ind = np.zeros((S, 3), dtype=np.int64)
    for k, c in enumerate(TEACHER_INDICATORS):
        np.add.at(ind[:, k], t["spos"].to_numpy()[at], t[c].to_numpy()[at].astype(np.int64))

    direction = direction_matrix(schools, settings.rules)
    sending = np.asarray((direction >= 0).any(axis=1))
    leave_cap = np.maximum(settings.min_cap, np.floor(np.round(pol.max_leave_share * staff, 9)))
    arrive_cap = np.maximum(settings.min_cap, np.floor(np.round(pol.max_arrive_share * staff, 9)))
    xy = schools[["x", "y"]].to_numpy(dtype=float)
    category = schools["category"].fillna("").astype(str).to_numpy()
    strong = schools["strong"].fillna(False).astype(bool).to_numpy()
    level = schools["level"].astype(str).to_numpy()

    # the pool, in tie-break order: longer years at school first, then teacher_id
    in_pool = t["eligible"].to_numpy() & at & sending[np.maximum(t["spos"].to_numpy(), 0)]
    t["in_pool"] = in_pool
    order = t.loc[in_pool].sort_values(
        ["years_at_school", "teacher_id"], ascending=[False, True], kind="mergesort"
    )
    pool = order.index.to_numpy()
    t["rank"] = -1
    t.loc[pool, "rank"] = np.arange(len(pool))

    # optional personal tables
    tid = {v: i for i, v in enumerate(t["teacher_id"])}
    couples_t = optional_table(district, "couples", ("teacher_a", "teacher_b"))
    locks_t = optional_table(district, "rotation_locks", ("teacher_id", "school_id", "kind"))
    prefs_t = optional_table(district, "preferences", ("teacher_id", "school_id", "rank"))
    hist_t = optional_table(district, "rotation_history", ("teacher_id", "school_id"))
    couples = tuple(
        (tid[a], tid[b])
        for a, b in zip(couples_t["teacher_a"], couples_t["teacher_b"], strict=True)
        if a in tid and b in tid
    )
    personal: set[int] = {i for ab in couples for i in ab}
    lock: dict[int, int] = {}
    forbid: dict[int, set[int]] = {}
    for a, s, kind in zip(
        locks_t["teacher_id"], locks_t["school_id"], locks_t["kind"], strict=True
    ):
        if a in tid and s in sidx:
            if kind == "lock":
                lock[tid[a]] = sidx[s]
            else:
                forbid.setdefault(tid[a], set()).add(sidx[s])
    prefs: dict[int, dict[int, int]] = {}
    for a, s, r in zip(prefs_t["teacher_id"], prefs_t["school_id"], prefs_t["rank"], strict=True):
        if a in tid and s in sidx:
            prefs.setdefault(tid[a], {})[sidx[s]] = int(r)
    for a, s in zip(hist_t["teacher_id"], hist_t["school_id"], strict=True):
        if a in tid and s in sidx:
            forbid.setdefault(tid[a], set()).add(sidx[s])
    personal |= set(lock) | set(forbid) | set(prefs)

    # home: known home, else the current school
    hx = pd.to_numeric(t.get("home_x"), errors="coerce") if "home_x" in t else None
    hy = pd.to_numeric(t.get("home_y"), errors="coerce") if "home_y" in t else None
    sp = np.maximum(t["spos"].to_numpy(), 0)
    home = xy[sp].copy()
    if hx is not None and hy is not None:
        known = (~hx.isna() & ~hy.isna()).to_numpy()
        home[known, 0] = hx.to_numpy()[known]
        home[known, 1] = hy.to_numpy()[known]
    t["home_x_used"] = home[:, 0]
    t["home_y_used"] = home[:, 1]
    cell = np.floor(home / settings.home_cell_m).astype(np.int64)

    # teaches which level; which schools teach a subject
    teaches = need > 0
    serves = np.column_stack([district.serves(lv) for lv in LEVELS])
    is_open = (schools["status"].fillna("open").astype(str) != "closed").to_numpy()

    # groups of interchangeable pool teachers (same school, subject, flags, home cell; personal
    # rows alone), in the order of their first member (tie-break order), members in that order
    n_pool_ = len(pool)
    spos_a = t["spos"].to_numpy().astype(np.int64)
    upos_a = t["upos"].to_numpy().astype(np.int64)
    flag_a = np.column_stack([t[c].to_numpy().astype(bool) for c in TEACHER_INDICATORS])
    is_personal = np.zeros(len(t), bool)
    is_personal[list(personal)] = True
    kmat = np.column_stack(
        [spos_a[pool], upos_a[pool], flag_a[pool].astype(np.int64), cell[pool]]
    ).astype(np.int64)
    pers = is_personal[pool]
    kmat[pers] = -1
    kmat[pers, 0] = -1 - np.arange(n_pool_)[pers]  # a key of its own
    if n_pool_:
        _, first_pos, inv = np.unique(kmat, axis=0, return_index=True, return_inverse=True)
        inv = inv.ravel()
        gorder = np.argsort(first_pos, kind="stable")  # groups by their first member
        grank = np.empty(len(gorder), np.int64)
        grank[gorder] = np.arange(len(gorder))
        gid = grank[inv]
    else:
        gid = np.zeros(0, np.int64)
    n_groups = int(gid.max()) + 1 if n_pool_ else 0
    by_g = np.argsort(gid, kind="stable")  # pool positions grouped, tie-break order within
    mem_all = pool[by_g].astype(np.int64)
    gsize = np.bincount(gid, minlength=n_groups)
    gstart = np.r_[0, np.cumsum(gsize)[:-1]].astype(np.int64)
    g_lead = mem_all[gstart] if n_groups else np.zeros(0, np.int64)
    g_s, g_u = spos_a[g_lead], upos_a[g_lead]
    lvl_cache: dict[tuple[str, int], tuple[bool, bool]] = {}
    g_lp = np.zeros(n_groups, bool)
    g_lj = np.zeros(n_groups, bool)
    for gi in range(n_groups):
        kk = (str(level[g_s[gi]]), int(g_u[gi]))
        if kk not in lvl_cache:
            lvl_cache[kk] = _teacher_levels(kk[0], subjects[kk[1]], settings)
        g_lp[gi], g_lj[gi] = lvl_cache[kk]

    maxc = pol.max_commute_m
    groups: list[Group] = []
    lock_problems: list[str] = [
        f"Teacher {t.at[i, 'teacher_id']} is locked to {schools.at[s, 'school_id']}, but is not "
        f"in the pool: {t.at[i, 'reason_text'] if not in_pool[i] and not t.at[i, 'eligible'] else 'their school is not a sending school.'}"
        for i, s in sorted(lock.items())
        if not in_pool[i]
    ]
    flags_t = [tuple(bool(v) for v in row) for row in flag_a[g_lead]] if n_groups else []
    # candidate targets per group in chunks (distances of every member to every school)
    dir_ok = direction >= 0
    teaches_t = np.ascontiguousarray(teaches.T)  # (U, S)
    short_t = np.ascontiguousarray((need > count).T)
    chunk_members = max(1, 4_000_000 // max(S, 1))
    g0 = 0
    while g0 < n_groups:
        g1 = int(np.searchsorted(gstart, gstart[g0] + chunk_members, side="right"))
        g1 = max(g1, g0 + 1)
        g1 = min(g1, n_groups)
        m0, m1 = int(gstart[g0]), int(gstart[g1 - 1] + gsize[g1 - 1])
        hm = home[mem_all[m0:m1]]
        d = np.hypot(hm[:, 0, None] - xy[None, :, 0], hm[:, 1, None] - xy[None, :, 1])  # (m, S)
        starts = gstart[g0:g1] - m0
        if m1 - m0 == g1 - g0:  # singletons only
            dmax = dmean = d
        else:  # most groups are singletons: reduce only the others
            dmax, dmean = d[starts], d[starts]
            for r in np.flatnonzero(gsize[g0:g1] > 1).tolist():
                blk = d[starts[r] : starts[r] + gsize[g0 + r]]
                dmax[r], dmean[r] = blk.max(axis=0), blk.mean(axis=0)
        gs_c, gu_c = g_s[g0:g1], g_u[g0:g1]
        ok = dir_ok[gs_c] & teaches_t[gu_c] & is_open[None, :]
        ok &= (serves[None, :, 0] & g_lp[g0:g1, None]) | (serves[None, :, 1] & g_lj[g0:g1, None])
        ok &= dmax <= maxc
        short = short_t[gu_c]
        mean_km = dmean / 1000.0
        # short of the subject first, then nearest, then school order (stable sort)
        sort_key = np.where(ok, np.where(short, 0.0, 1e7) + mean_km, np.inf)
        order_c = np.argsort(sort_key, axis=1, kind="stable")
        for r in range(g1 - g0):
            gi = g0 + r
            members = mem_all[gstart[gi] : gstart[gi] + gsize[gi]]
            m_first = int(members[0])
            single = len(members) == 1
            okr = ok[r]
            if single and m_first in forbid:
                okr = okr.copy()
                for f in forbid[m_first]:
                    okr[f] = False
                row_order = order_c[r][okr[order_c[r]]]
            else:
                row_order = order_c[r][: settings.max_targets]
                row_order = row_order[okr[row_order]]
            cand = row_order[: settings.max_targets]
            locked = lock.get(m_first, -1) if single else -1
            if locked >= 0 and not okr[locked]:
                lock_problems.append(
                    f"Teacher {t.at[m_first, 'teacher_id']} is locked to "
                    f"{schools.at[locked, 'school_id']}, but that school is not an allowed "
                    "receiving school for them (direction, level, subject, commute or history)."
                )
                locked = -1
            elif locked >= 0 and locked not in cand:
                cand = np.append(cand, locked)
            cand = np.sort(cand)
            pr = prefs.get(m_first) if single else None
            pref_rank = (
                np.array([pr.get(int(j), 0) for j in cand], dtype=np.int64)
                if pr
                else np.zeros(len(cand), dtype=np.int64)
            )
            groups.append(
                Group(
                    members=tuple(int(v) for v in members),
                    school=int(gs_c[r]),
                    subject=int(gu_c[r]),
                    flags=flags_t[gi],  # type: ignore[arg-type]
                    targets=cand,
                    commute_km=mean_km[r, cand],
                    pref_rank=pref_rank,
                    locked=locked,
                )
            )
        g0 = g1

    n_pool = len(pool)
    quota = ceil_share(pol.rotation_share, n_pool)
    school_quota: dict[int, int] = {}
    if pol.rotation_share_per_school:
        per = pd.Series(t.loc[pool, "spos"]).value_counts()
        for s_i, n_i in per.items():
            if category[int(s_i)] == "urban" or strong[int(s_i)]:
                school_quota[int(s_i)] = ceil_share(pol.rotation_share, int(n_i))
    bb_pool = int(t.loc[pool, "backbone_teachers_per100"].sum())
    backbone_min = (
        ceil_share(pol.backbone_share, bb_pool) if pol.backbone_denominator == "eligible" else 0
    )
    return RotationProblem(
        year=year,
        school_ids=schools["school_id"].astype(str).to_numpy(),
        school_names=schools["name"].fillna("").astype(str).to_numpy(),
        category=category,
        strong=strong,
        xy=xy,
        subjects=subjects,
        pupils=pupils,
        need=need,
        count=count,
        staff=staff,
        ind_counts=ind,
        direction=direction,
        sending=sending,
        leave_cap=leave_cap.astype(np.int64),
        arrive_cap=arrive_cap.astype(np.int64),
        teachers=t,
        pool=pool,
        groups=tuple(groups),
        quota=quota,
        school_quota=school_quota,
        backbone_share=Fraction(str(pol.backbone_share)),
        backbone_min=backbone_min,
        couples=couples,
        cv_positions=cv_sets(district, pupils),
        lock_problems=tuple(lock_problems),
    )


# -- explaining infeasibility before solving ------------------------------------------------------
def couple_rules(
    p: RotationProblem,
    groups: Sequence[Group],
    gpos: dict[int, int],
    couple_distance_m: float,
) -> list[tuple[int, int, int | None, int | None]]:
    """The couple constraints both backends add, in one fixed order.

    For a couple (a, b) with limit L = max(``couple_distance_m``, today's distance), and ``gpos``
    mapping a teacher to its single-member group:

    * ``(g, j, g2, None)``: target j of g is farther than L from the partner's school, so
      ``x[g, j] ≤ y[g2]`` (the partner must move too), or ``x[g, j] = 0`` when ``g2`` is None;
    * ``(g, j, g2, k)``: targets j and k are farther than L apart: ``x[g, j] + x[g2, k] ≤ 1``.
    """
    tpos = p.teachers["spos"].to_numpy()
    rules: list[tuple[int, int, int | None, int | None]] = []
    for a, b in p.couples:
        sa, sb = int(tpos[a]), int(tpos[b])
        lim = max(couple_distance_m, float(np.hypot(*(p.xy[sa] - p.xy[sb]))))
        for me, other, s_other in ((a, b, sb), (b, a, sa)):
            gm = gpos.get(me)
            if gm is None:
                continue
            go = gpos.get(other)
            for j in groups[gm].targets:
                j = int(j)
                if np.hypot(*(p.xy[j] - p.xy[s_other])) > lim:
                    rules.append((gm, j, go, None))
                if go is not None and me == a:
                    for kk in groups[go].targets:
                        if np.hypot(*(p.xy[j] - p.xy[int(kk)])) > lim:
                            rules.append((gm, j, go, int(kk)))
    return rules


def _pct(share: Fraction | float) -> str:
    return f"{float(share) * 100:g} %"


def explain_infeasible(p: RotationProblem, policy: Policy) -> list[str]:
    """Reasons, with numbers, why the hard rules cannot all hold; empty if none is found.

    The checks are necessary conditions (counting arguments), so an empty list does not prove
    feasibility; the solver reports any remaining conflict.
    """
    reasons: list[str] = []
    t = p.teachers
    name = lambda s: p.school_names[s] or p.school_ids[s]  # noqa: E731
    n_pool = len(p.pool)
    # teachers that can leave: a candidate school, and the subject surplus at home
    surplus = np.maximum(p.count - np.minimum(p.count, p.need), 0)
    movable = np.zeros(p.n_schools, dtype=np.int64)
    movable_bb = np.zeros(p.n_schools, dtype=np.int64)
    by_su: dict[tuple[int, int], list[Group]] = {}
    for g in p.groups:
        if len(g.targets):
            by_su.setdefault((g.school, g.subject), []).append(g)
    for (s, u), gs in by_su.items():
        m = sum(len(g.members) for g in gs)
        mb = sum(len(g.members) for g in gs if g.flags[1])
        movable[s] += min(m, surplus[s, u])
        movable_bb[s] += min(mb, surplus[s, u])
    can_leave = np.minimum(movable, p.leave_cap)
    with_target = sum(len(g.members) for g in p.groups if len(g.targets))
    rho = _pct(policy.rotation_share)
    if n_pool == 0:
        return reasons
    if with_target < p.quota:
        reasons.append(
            f"{n_pool} teachers are eligible at sending schools, so {rho} needs {p.quota} rotated, "
            f"but only {with_target} have an allowed receiving school within "
            f"{policy.max_commute_m / 1000:g} km that teaches their subject and level."
        )
    elif int(can_leave.sum()) < p.quota:
        reasons.append(
            f"{rho} of {n_pool} eligible teachers needs {p.quota} rotated, but sending schools can "
            f"release only {int(can_leave.sum())} without going below a subject need or above "
            f"{_pct(policy.max_leave_share)} of their staff leaving."
        )
    receivers = np.flatnonzero((p.direction >= 0).any(axis=0))
    arrive = int(p.arrive_cap[receivers].sum())
    if arrive < p.quota:
        reasons.append(
            f"The quota needs {p.quota} rotated, but the {len(receivers)} receiving schools may take "
            f"only {arrive} ({_pct(policy.max_arrive_share)} of their staff, at least "
            f"{int(p.arrive_cap.min()) if len(p.arrive_cap) else 0} each)."
        )
    bb_pool = int(t.loc[p.pool, "backbone_teachers_per100"].sum())
    bb_move = int(np.minimum(movable_bb, p.leave_cap).sum())
    if policy.backbone_denominator == "rotated":
        need_bb = math.ceil(p.backbone_share * p.quota)
        if bb_move < need_bb:
            reasons.append(
                f"{bb_move} backbone teachers are eligible and free to move, but "
                f"{_pct(p.backbone_share)} of {p.quota} rotated needs {need_bb}."
            )
    elif bb_move < p.backbone_min:
        reasons.append(
            f"{bb_move} backbone teachers are eligible and free to move, but "
            f"{_pct(p.backbone_share)} of the {bb_pool} eligible backbone teachers needs "
            f"{p.backbone_min}."
        )
    for s, q in sorted(p.school_quota.items()):
        if can_leave[s] < q:
            reasons.append(
                f"{name(s)} must send {q} ({rho} of its "
                f"{int((t.loc[p.pool, 'spos'] == s).sum())} eligible), but can release only "
                f"{int(can_leave[s])}."
            )
    return reasons + list(p.lock_problems)
