"""Solver-independent validator of a rotation list, from the written files.

:func:`check_rotation` reads ``rotation.csv``, ``not_selected.csv``, ``exempt.csv`` and
``summary.json`` (for the year and the settings used), recomputes eligibility, the pool and the
quotas from the district, and checks every rule of the model one move at a time: eligibility and
exemptions, quota, per-school quota, backbone share, direction, level and subject, caps, subject
protection, commute, couples, locks, forbids and history; then recomputes the CVs and the
shortfall and compares them with the summary. It never imports the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.eligibility import assess_eligibility
from planner.model import District
from solvers.rotation.problem import (
    TEACHER_INDICATORS,
    ceil_share,
    direction_matrix,
    indicator_cvs,
    optional_table,
    school_pupils,
    subject_needs,
    teacher_flags,
)
from solvers.rotation.settings import RotationSettings


@dataclass
class CheckReport:
    """Violations (empty = the list keeps every rule) and the recomputed figures."""

    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no rule is violated."""
        return not self.violations

    def __str__(self) -> str:
        head = "OK" if self.ok else f"{len(self.violations)} violation(s)"
        lines = [head] + [f"  - {v}" for v in self.violations]
        lines += [f"  {k}: {v}" for k, v in self.figures.items() if not isinstance(v, dict)]
        return "\n".join(lines)


def _teaches(level: str, subject: str, settings: RotationSettings) -> tuple[bool, bool]:
    if level in ("primary", "junior"):
        return level == "primary", level == "junior"
    p = settings.lessons_per_week.get("primary", {}).get(subject, 0.0) > 0
    j = settings.lessons_per_week.get("junior", {}).get(subject, 0.0) > 0
    return (p or not j), (j or not p)


def check_rotation(district: District, out_dir: Path | str) -> CheckReport:
    """Check the rotation list in ``out_dir`` against ``district``, rule by rule.

    Raises
    ------
    FileNotFoundError
        If ``rotation.csv`` or ``summary.json`` is missing.
    """
    out = Path(out_dir)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    settings = RotationSettings.model_validate(summary.get("settings", {}))
    year = int(summary["year"])
    rot = pd.read_csv(out / "rotation.csv", dtype=str, keep_default_na=False)
    rep = CheckReport()
    v = rep.violations
    pol = district.policy
    if district.teachers is None:
        v.append("the district has no teachers")
        return rep
    t = district.teachers.reset_index(drop=True).copy()
    t["teacher_id"] = t["teacher_id"].astype(str)
    t["school_id"] = t["school_id"].astype(str)
    el = assess_eligibility(t, pol, year)
    t["eligible"], t["exempt"] = el["eligible"].to_numpy(), el["exempt"].to_numpy()
    flags = teacher_flags(t, pol)
    sch = district.schools.reset_index(drop=True)
    sidx = district.school_index()
    S = len(sch)
    D = direction_matrix(sch, settings.rules)
    sending = np.asarray((D >= 0).any(axis=1))
    spos = t["school_id"].map(sidx).fillna(-1).astype(int).to_numpy()
    pool = t["eligible"].to_numpy() & (spos >= 0) & sending[np.maximum(spos, 0)]
    subjects = tuple(sorted(set(t["subject"].astype(str))))
    ucol = {u: k for k, u in enumerate(subjects)}
    upos = t["subject"].astype(str).map(ucol).to_numpy()
    need = subject_needs(district, subjects, settings)
    count = np.zeros((S, len(subjects)), dtype=np.int64)
    ok = spos >= 0
    np.add.at(count, (spos[ok], upos[ok]), 1)
    staff = count.sum(axis=1)
    xy = sch[["x", "y"]].to_numpy(dtype=float)
    tid = {x: i for i, x in enumerate(t["teacher_id"])}

    # -- per move ----------------------------------------------------------------------------
    moves: list[tuple[int, int]] = []
    seen: set[str] = set()
    has_zh = "reason_zh" in rot.columns  # the published (公示) reason, in rotation.xlsx too
    for r in rot.itertuples(index=False):
        a, fr, to = str(r.teacher_id), str(r.from_school), str(r.to_school)
        if a not in tid:
            v.append(f"{a}: unknown teacher")
            continue
        if a in seen:
            v.append(f"{a}: listed twice")
        seen.add(a)
        i = tid[a]
        if fr != t.at[i, "school_id"]:
            v.append(f"{a}: from_school {fr} is not their school {t.at[i, 'school_id']}")
        if to not in sidx:
            v.append(f"{a}: unknown school {to}")
            continue
        j, s = sidx[to], int(spos[i])
        if r.subject != t.at[i, "subject"]:
            v.append(f"{a}: subject {r.subject} is not theirs ({t.at[i, 'subject']})")
        if t.at[i, "exempt"]:
            v.append(f"{a}: exempt ({t.at[i, 'exempt_reason']}) but selected")
        elif not pool[i]:
            v.append(f"{a}: not eligible at a sending school but selected ({el.at[i, 'reason']})")
        if not r.reason.strip():
            v.append(f"{a}: no reason given")
        if has_zh and not str(r.reason_zh).strip():
            v.append(f"{a}: no Chinese reason (reason_zh) given")
        if j == s:
            v.append(f"{a}: returns to their own school")
        elif D[s, j] < 0:
            v.append(f"{a}: no direction rule allows {fr} → {to}")
        u = int(upos[i])
        if need[j, u] <= 0:
            v.append(f"{a}: {to} does not teach {subjects[u]}")
        lp, lj = _teaches(str(sch.at[s, "level"]), subjects[u], settings)
        if not ((district.serves("primary")[j] and lp) or (district.serves("junior")[j] and lj)):
            v.append(f"{a}: {to} does not teach their level")
        hx, hy = (
            t.at[i, "home_x"] if "home_x" in t else np.nan,
            (t.at[i, "home_y"] if "home_y" in t else np.nan),
        )
        home = xy[s] if (pd.isna(hx) or pd.isna(hy)) else np.array([float(hx), float(hy)])
        dist = float(np.hypot(*(home - xy[j])))
        if dist > pol.max_commute_m + 1e-6:
            v.append(f"{a}: commute {dist / 1000:.1f} km > {pol.max_commute_m / 1000:g} km")
        moves.append((i, j))

    # -- totals ------------------------------------------------------------------------------
    moved = {i for i, _ in moves}
    n_pool = int(pool.sum())
    quota = ceil_share(pol.rotation_share, n_pool)
    R = len(moves)
    if quota > R:
        v.append(f"quota: {R} rotated < ⌈{pol.rotation_share:g} × {n_pool}⌉ = {quota}")
    bbflag = flags["backbone_teachers_per100"].to_numpy()
    B = int(sum(bbflag[i] for i in moved))
    if pol.backbone_denominator == "rotated":
        if R and pol.backbone_share * R - 1e-9 > B * 1.0:
            v.append(f"backbone: {B} of {R} rotated < {pol.backbone_share:.0%}")
    else:
        need_b = ceil_share(pol.backbone_share, int((bbflag & pool).sum()))
        if need_b > B:
            v.append(
                f"backbone: {B} rotated < {need_b} ({pol.backbone_share:.0%} of pool backbone)"
            )
    out_n = np.zeros(S, dtype=np.int64)
    in_n = np.zeros(S, dtype=np.int64)
    after = count.copy()
    for i, j in moves:
        out_n[spos[i]] += 1
        in_n[j] += 1
        after[spos[i], upos[i]] -= 1
        after[j, upos[i]] += 1
    leave_cap = np.maximum(settings.min_cap, np.floor(np.round(pol.max_leave_share * staff, 9)))
    arrive_cap = np.maximum(settings.min_cap, np.floor(np.round(pol.max_arrive_share * staff, 9)))
    for s in range(S):
        sid = sch.at[s, "school_id"]
        if out_n[s] > leave_cap[s]:
            v.append(f"{sid}: {out_n[s]} leave > cap {int(leave_cap[s])}")
        if in_n[s] > arrive_cap[s]:
            v.append(f"{sid}: {in_n[s]} arrive > cap {int(arrive_cap[s])}")
        for u in range(len(subjects)):
            if need[s, u] > 0 and out_n[s] and after[s, u] < min(count[s, u], need[s, u]):
                v.append(
                    f"{sid}: {subjects[u]} left at {after[s, u]} < min(today {count[s, u]}, "
                    f"need {need[s, u]})"
                )
    if pol.rotation_share_per_school:
        cat = sch["category"].astype(str).to_numpy()
        strong = sch["strong"].astype(bool).to_numpy()
        for s in range(S):
            n_s = int((pool & (spos == s)).sum())
            if n_s and (cat[s] == "urban" or strong[s]):
                q = ceil_share(pol.rotation_share, n_s)
                if out_n[s] < q:
                    v.append(f"{sch.at[s, 'school_id']}: sends {out_n[s]} < school quota {q}")

    # -- personal tables --------------------------------------------------------------------
    where = {i: j for i, j in moves}

    def work(i: int) -> int:
        return where.get(i, int(spos[i]))

    for a, b in optional_table(district, "couples", ("teacher_a", "teacher_b")).itertuples(
        index=False
    ):
        if a in tid and b in tid:
            ia, ib = tid[a], tid[b]
            lim = max(settings.couple_distance_m, float(np.hypot(*(xy[spos[ia]] - xy[spos[ib]]))))
            d_after = float(np.hypot(*(xy[work(ia)] - xy[work(ib)])))
            if d_after > lim + 1e-6:
                v.append(f"couple {a}/{b}: {d_after / 1000:.1f} km apart > {lim / 1000:.1f} km")
    locks = optional_table(district, "rotation_locks", ("teacher_id", "school_id", "kind"))
    for a, s, kind in locks.itertuples(index=False):
        if a in tid and s in sidx:
            here = work(tid[a]) == sidx[s]
            if kind == "lock" and not (here and tid[a] in moved):
                v.append(f"{a}: locked to {s} but not moved there")
            if kind != "lock" and here and tid[a] in moved:
                v.append(f"{a}: moved to forbidden school {s}")
    hist = optional_table(district, "rotation_history", ("teacher_id", "school_id"))
    for a, s in hist.itertuples(index=False):
        if a in tid and tid[a] in moved and s in sidx and where[tid[a]] == sidx[s]:
            v.append(f"{a}: returns to {s}, a school they left before")

    # -- lists ---------------------------------------------------------------------------------
    ns_path, ex_path = out / "not_selected.csv", out / "exempt.csv"
    if ns_path.exists():
        ns = set(pd.read_csv(ns_path, dtype=str, keep_default_na=False)["teacher_id"])
        want = {t.at[i, "teacher_id"] for i in np.flatnonzero(t["eligible"]) if i not in moved}
        if ns != want:
            v.append(f"not_selected.csv: {len(want ^ ns)} teacher(s) missing or extra")
    else:
        v.append("not_selected.csv missing")
    if ex_path.exists():
        ex = set(pd.read_csv(ex_path, dtype=str, keep_default_na=False)["teacher_id"])
        if ex != set(t.loc[t["exempt"], "teacher_id"]):
            v.append("exempt.csv does not list exactly the exempt teachers")
    else:
        v.append("exempt.csv missing")

    # -- figures ---------------------------------------------------------------------------------
    pupils = school_pupils(district)
    ind = np.zeros((S, 3), dtype=np.int64)
    fl = flags[list(TEACHER_INDICATORS)].to_numpy().astype(np.int64)
    for i in range(len(t)):
        w = work(i) if spos[i] >= 0 else -1
        if w >= 0:
            ind[w] += fl[i]
    cv_after = indicator_cvs(district, pupils, ind)
    short_after = int(np.where(need > 0, np.maximum(need - after, 0), 0).sum())
    rep.figures.update(
        {
            "pool": n_pool,
            "quota": quota,
            "rotated": R,
            "backbone_rotated": B,
            "shortfall_after": short_after,
            "cv_after": cv_after,
        }
    )
    if summary.get("rotated") != R:
        v.append(f"summary.json says {summary.get('rotated')} rotated, the list has {R}")
    if summary.get("shortfall_after") != short_after:
        v.append(f"summary.json shortfall_after {summary.get('shortfall_after')} ≠ {short_after}")
    for k, val in cv_after.items():
        got = summary.get("cv_after", {}).get(k)
        if math.isfinite(val) and (got is None or abs(got - val) > 1e-5):
            v.append(f"summary.json cv_after[{k}] = {got} ≠ recomputed {val:.6f}")
    return rep


__all__ = ["CheckReport", "check_rotation"]
