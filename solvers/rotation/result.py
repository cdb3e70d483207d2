"""A rotation list: moves turned into files people can read and object to (公示).

Every figure in :attr:`RotationResult.summary` is recomputed here from the moves and the
district, not taken from the solver; :mod:`solvers.rotation.check` recomputes them again from
the written files.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.jsonsafe import dumps
from planner.model import SUBJECTS, District
from solvers.rotation.problem import TEACHER_INDICATORS, RotationProblem, indicator_cvs
from solvers.rotation.settings import RotationSettings

#: Files :meth:`RotationResult.write` produces.
OUTPUT_FILES: tuple[str, ...] = (
    "rotation.csv",
    "rotation.xlsx",
    "not_selected.csv",
    "exempt.csv",
    "summary.json",
)
ROTATION_COLUMNS: tuple[str, ...] = (
    "teacher_id",
    "from_school",
    "to_school",
    "subject",
    "backbone",
    "reason",
)
#: Chinese headers of rotation.xlsx, for public notice (公示).
XLSX_HEADERS: dict[str, str] = {
    "teacher_id": "工号",
    "from_school": "原学校",
    "to_school": "交流学校",
    "subject": "学科",
    "backbone": "骨干级别",
    "reason": "交流理由",
}
_ORD = {1: "1st", 2: "2nd", 3: "3rd"}


def shortfall(need: np.ndarray, count: np.ndarray) -> int:
    """Teachers missing from subject needs: Σ max(0, need − count) where need > 0."""
    return int(np.where(need > 0, np.maximum(need - count, 0), 0).sum())


def counts_after(p: RotationProblem, moves: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(subject counts, indicator counts) per school after ``moves`` (teacher row, to school)."""
    count = p.count.copy()
    ind = p.ind_counts.copy()
    t = p.teachers
    flags = t[list(TEACHER_INDICATORS)].to_numpy().astype(np.int64)
    for i, j in moves:
        s, u = int(t.at[i, "spos"]), int(t.at[i, "upos"])
        count[s, u] -= 1
        count[j, u] += 1
        ind[s] -= flags[i]
        ind[j] += flags[i]
    return count, ind


@dataclass
class RotationResult:
    """The rotation list and its figures.

    Attributes
    ----------
    rotation : pandas.DataFrame
        One row per move, columns :data:`ROTATION_COLUMNS`, in tie-break order.
    not_selected : pandas.DataFrame
        ``teacher_id, school_id, subject, backbone, years_at_school, reason`` for every eligible
        teacher not selected.
    exempt : pandas.DataFrame
        ``teacher_id, school_id, exempt_reason``.
    summary : dict
        JSON-ready figures (the content of ``summary.json``).
    """

    rotation: pd.DataFrame
    not_selected: pd.DataFrame
    exempt: pd.DataFrame
    summary: dict[str, Any]

    def write(self, out_dir: Path | str) -> list[Path]:
        """Write :data:`OUTPUT_FILES` into ``out_dir``; each file appears whole or not at all."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        with tempfile.TemporaryDirectory(dir=out, prefix=".rotation-") as tmpd:
            tmp = Path(tmpd)
            self.rotation.to_csv(tmp / "rotation.csv", index=False, lineterminator="\n")
            _write_xlsx(self.rotation, tmp / "rotation.xlsx")
            self.not_selected.to_csv(tmp / "not_selected.csv", index=False, lineterminator="\n")
            self.exempt.to_csv(tmp / "exempt.csv", index=False, lineterminator="\n")
            (tmp / "summary.json").write_text(
                dumps(self.summary, indent=2, sort_keys=True) + "\n",
                encoding="utf-8",
            )
            for name in OUTPUT_FILES:
                os.replace(tmp / name, out / name)
                paths.append(out / name)
        return paths


def _write_xlsx(rot: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "交流轮岗名单"
    ws.append([XLSX_HEADERS[c] for c in ROTATION_COLUMNS])
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in rot[list(ROTATION_COLUMNS)].itertuples(index=False):
        ws.append([str(v) for v in row])
    widths = {"A": 12, "B": 22, "C": 22, "D": 10, "E": 10, "F": 90}
    for col, wdt in widths.items():
        ws.column_dimensions[col].width = wdt
    for row in ws.iter_rows(min_row=2, min_col=6, max_col=6):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.save(path)


def _school_label(p: RotationProblem, s: int) -> str:
    return str(p.school_names[s] or p.school_ids[s])


def build_result(
    district: District,
    p: RotationProblem,
    settings: RotationSettings,
    moves: list[tuple[int, int]],
    solver_info: dict[str, Any],
) -> RotationResult:
    """Turn moves (teacher row, target school) into a :class:`RotationResult`."""
    pol = district.policy
    t = p.teachers
    rule_names = [r.name for r in settings.rules]
    count_after, ind_after = counts_after(p, moves)
    moved = {i for i, _ in moves}
    order = sorted(moves, key=lambda m: int(t.at[m[0], "rank"]))
    bb_share_txt = f"{float(p.backbone_share) * 100:g} %"

    rows = []
    for i, j in order:
        s, u = int(t.at[i, "spos"]), int(t.at[i, "upos"])
        subj = p.subjects[u]
        parts = [f"{int(t.at[i, 'years_at_school'])} years at school (≥{pol.rotation_min_years})"]
        parts.append(rule_names[int(p.direction[s, j])])
        need, before = int(p.need[j, u]), int(p.count[j, u])
        if before < need:
            parts.append(f"fills the {subj} need at {_school_label(p, j)} ({before} of {need})")
        else:
            parts.append(f"adds a {subj} teacher at {_school_label(p, j)}")
        if bool(t.at[i, "backbone_teachers_per100"]):
            parts.append(f"counts toward the {bb_share_txt} backbone quota")
        hx, hy = float(t.at[i, "home_x_used"]), float(t.at[i, "home_y_used"])
        km = float(np.hypot(hx - p.xy[j, 0], hy - p.xy[j, 1])) / 1000.0
        parts.append(f"commute {km:.1f} km (≤{pol.max_commute_m / 1000:g} km)")
        rows.append(
            {
                "teacher_id": t.at[i, "teacher_id"],
                "from_school": p.school_ids[s],
                "to_school": p.school_ids[j],
                "subject": subj,
                "backbone": t.at[i, "backbone"] if "backbone" in t else "none",
                "reason": "; ".join(parts) + ".",
            }
        )
    rotation = pd.DataFrame(rows, columns=list(ROTATION_COLUMNS))

    # not selected: every eligible teacher who does not move, with why
    group_of = {i: g for g in p.groups for i in g.members}
    ns_rows = []
    elig = t.index[t["eligible"].to_numpy()]
    pool_set = set(int(i) for i in p.pool)
    surplus = np.maximum(p.count - np.minimum(p.count, p.need), 0)
    for i in sorted(
        elig,
        key=lambda i: (int(t.at[i, "rank"]) if i in pool_set else 10**9, t.at[i, "teacher_id"]),
    ):
        if i in moved:
            continue
        s, u = int(t.at[i, "spos"]), int(t.at[i, "upos"])
        if i not in pool_set:
            why = "Eligible, but the school is not a sending school under the direction rules."
        elif not len(group_of[i].targets):
            why = (
                "Eligible, but no allowed receiving school within "
                f"{pol.max_commute_m / 1000:g} km teaches {p.subjects[u]} at their level."
            )
        elif surplus[s, u] == 0:
            why = (
                f"Eligible, but {_school_label(p, s)} has {p.count[s, u]} {p.subjects[u]} "
                f"teachers for a need of {p.need[s, u]}; none may leave."
            )
        else:
            why = (
                f"Eligible (priority {int(t.at[i, 'rank']) + 1} of {len(p.pool)}: longer service "
                "first, then staff id); the quota is met by others chosen for subject needs, "
                "balance, commute and priority."
            )
        ns_rows.append(
            {
                "teacher_id": t.at[i, "teacher_id"],
                "school_id": t.at[i, "school_id"],
                "subject": p.subjects[u],
                "backbone": t.at[i, "backbone"],
                "years_at_school": int(t.at[i, "years_at_school"]),
                "reason": why,
            }
        )
    not_selected = pd.DataFrame(
        ns_rows,
        columns=["teacher_id", "school_id", "subject", "backbone", "years_at_school", "reason"],
    )
    ex = t[t["exempt"].to_numpy()]
    exempt = pd.DataFrame(
        {
            "teacher_id": ex["teacher_id"].to_numpy(),
            "school_id": ex["school_id"].to_numpy(),
            "exempt_reason": ex["exempt_reason"].astype(str).to_numpy(),
        }
    )

    n_pool = len(p.pool)
    rotated = len(moves)
    bb_rot = int(sum(bool(t.at[i, "backbone_teachers_per100"]) for i in moved))
    bb_pool = int(t.loc[p.pool, "backbone_teachers_per100"].sum()) if n_pool else 0
    cv_before = indicator_cvs(district, p.pupils, p.ind_counts)
    cv_after = indicator_cvs(district, p.pupils, ind_after)
    summary: dict[str, Any] = {
        "status": solver_info.get("status", "feasible"),
        "year": p.year,
        "eligible": int(t["eligible"].sum()),
        "pool": n_pool,
        "exempt": int(t["exempt"].sum()),
        "quota": p.quota,
        "rotated": rotated,
        "backbone_rotated": bb_rot,
        "backbone_pool": bb_pool,
        "rotated_share": rotated / n_pool if n_pool else 0.0,
        "backbone_share": (
            (bb_rot / rotated if rotated else 0.0)
            if pol.backbone_denominator == "rotated"
            else (bb_rot / bb_pool if bb_pool else 0.0)
        ),
        "backbone_denominator": pol.backbone_denominator,
        "cv_before": _clean(cv_before),
        "cv_after": _clean(cv_after),
        "cv_limit": dict(pol.cv_limit),
        "shortfall_before": shortfall(p.need, p.count),
        "shortfall_after": shortfall(p.need, count_after),
        "groups": len(p.groups),
        "solve_seconds": round(float(solver_info.get("solve_seconds", 0.0)), 3),
        "seed": settings.seed,
        "objective": solver_info.get("objective"),
        "bound": solver_info.get("bound"),
        "gap": _gap(solver_info.get("objective"), solver_info.get("bound")),
        "tie_break": solver_info.get("tie_break_status", "skipped"),
        "settings": settings.model_dump(mode="json"),
    }
    return RotationResult(rotation, not_selected, exempt, summary)


def _clean(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if not np.isfinite(v) else round(float(v), 6)) for k, v in d.items()}


def _gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9)


__all__ = [
    "OUTPUT_FILES",
    "ROTATION_COLUMNS",
    "SUBJECTS",
    "XLSX_HEADERS",
    "RotationResult",
    "build_result",
    "counts_after",
    "shortfall",
]
