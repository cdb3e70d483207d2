"""A rotation list: moves turned into files people can read and object to (公示).

Every figure in :attr:`RotationResult.summary` is recomputed here from the moves and the
district, not taken from the solver; :mod:`solvers.rotation.check` recomputes them again from
the written files.

The CSV files are for machines (ids, codes, English reasons, plus ``name`` and ``reason_zh``
columns); ``rotation.xlsx`` is the list as published (school names, Chinese subject and backbone
level, a Chinese reason per line) with a second sheet 说明 (year, quota figures, the published
tie-break rule and the policy numbers used). The English and Chinese reasons are built from the
same facts, part by part.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.jsonsafe import dumps
from planner.model import SUBJECTS, District
from planner.policy import Policy
from solvers.rotation.problem import (
    TEACHER_INDICATORS,
    RotationProblem,
    ceil_share,
    indicator_cvs,
    optional_table,
)
from solvers.rotation.settings import DirectionRule, RotationSettings

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
#: Trailing columns of rotation.csv after :data:`ROTATION_COLUMNS`: the teacher's name (姓名,
#: empty if not given) and the Chinese reason printed in rotation.xlsx.
ROTATION_EXTRA_COLUMNS: tuple[str, ...] = ("name", "reason_zh")
#: Columns of the first sheet of rotation.xlsx (交流轮岗名单), for public notice (公示).
XLSX_HEADERS: tuple[str, ...] = (
    "序号",
    "工号",
    "姓名",
    "原学校",
    "交流学校",
    "学科",
    "骨干级别",
    "交流理由",
)
#: Columns of the second sheet of rotation.xlsx (说明).
NOTES_HEADERS: tuple[str, str] = ("项目", "内容")
#: Backbone levels (:data:`planner.model.BACKBONE_LEVELS`) as printed.
BACKBONE_ZH: dict[str, str] = {
    "none": "无",
    "county": "县级骨干",
    "city": "市级骨干",
    "province": "省级骨干",
}
#: Exemption codes (as written by HR or :mod:`planner.generate`) in Chinese; other text is kept.
EXEMPT_ZH: dict[str, str] = {
    "pregnancy": "孕期",
    "nursing": "哺乳期",
    "illness": "病休",
    "certified_illness": "病休",
    "lead_deferral": "暂缓交流",
}
#: The published tie-break rule (the order of :attr:`RotationProblem.pool`).
TIE_BREAK_ZH = "同等条件下，本校任教年限长者优先，再按工号顺序"
#: Direction-rule selectors (:data:`solvers.rotation.settings.Selector`) in Chinese.
SELECTOR_ZH: dict[str, str] = {
    "urban": "城区学校",
    "town": "中心校",
    "village": "村小",
    "rural": "农村学校",
    "strong": "优质学校",
    "weak": "薄弱学校",
    "any": "各类学校",
}
_GENDER_ZH = {"M": "男", "F": "女"}


def subject_zh(code: str) -> str:
    """Chinese name of a subject code (:data:`planner.model.SUBJECTS`); unknown codes unchanged."""
    return SUBJECTS.get(code, code)


def backbone_zh(level: object) -> str:
    """Chinese backbone level (无/县级骨干/市级骨干/省级骨干); empty or missing is 无."""
    key = "none" if level is None or pd.isna(level) or str(level).strip() == "" else str(level)
    return BACKBONE_ZH.get(key.strip().lower(), key)


def exempt_reason_zh(text: object) -> str:
    """Chinese exemption reason: known codes mapped (pregnancy → 孕期, nursing → 哺乳期, illness →
    病休, lead_deferral → 暂缓交流), any other text passed through.

    Several reasons separated by ``;``/``,`` are mapped one by one and joined with ``；``.
    """
    if text is None or pd.isna(text):
        return ""
    parts = [x.strip() for x in re.split(r"[;,；，]", str(text)) if x.strip()]
    return "；".join(EXEMPT_ZH.get(re.sub(r"[\s\-]+", "_", x.lower()), x) for x in parts)


def rule_zh(rule: DirectionRule) -> str:
    """A direction rule as a Chinese phrase, e.g. 由中心校交流至村小 (from its selectors)."""
    phrase = f"由{SELECTOR_ZH[rule.source]}交流至{SELECTOR_ZH[rule.target]}"
    return f"在同一教育集团内{phrase}" if rule.same_group else phrase


def _pct_zh(share: float) -> str:
    return f"{float(share) * 100:g}%"


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
        One row per move, columns :data:`ROTATION_COLUMNS` then :data:`ROTATION_EXTRA_COLUMNS`
        (``name``, ``reason_zh``), in tie-break order.
    not_selected : pandas.DataFrame
        ``teacher_id, school_id, subject, backbone, years_at_school, reason, reason_zh`` for
        every eligible teacher not selected.
    exempt : pandas.DataFrame
        ``teacher_id, school_id, exempt_reason, reason_zh`` (:func:`exempt_reason_zh`).
    summary : dict
        JSON-ready figures (the content of ``summary.json``).
    public : pandas.DataFrame
        The published list, columns :data:`XLSX_HEADERS`, ordered by 原学校 (the order of the
        schools table) then 工号: the first sheet of ``rotation.xlsx``.
    notes : list of (str, str)
        (项目, 内容) rows of the 说明 sheet: year, quota figures, tie-break rule, policy numbers.
    """

    rotation: pd.DataFrame
    not_selected: pd.DataFrame
    exempt: pd.DataFrame
    summary: dict[str, Any]
    public: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(XLSX_HEADERS)))
    notes: list[tuple[str, str]] = field(default_factory=list)

    def write(self, out_dir: Path | str) -> list[Path]:
        """Write :data:`OUTPUT_FILES` into ``out_dir``; each file appears whole or not at all."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        with tempfile.TemporaryDirectory(dir=out, prefix=".rotation-") as tmpd:
            tmp = Path(tmpd)
            self.rotation.to_csv(tmp / "rotation.csv", index=False, lineterminator="\n")
            _write_xlsx(self.public, self.notes, tmp / "rotation.xlsx")
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


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _sheet(ws: Any, headers: tuple[str, ...], rows: list[list[Any]], max_width: int) -> None:
    """Fill ``ws``: bold frozen header row, widths from the content (≤ ``max_width``, longer
    cells wrap)."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws.append(list(headers))
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        ws.append(row)
    for k, h in enumerate(headers, start=1):
        cells = [h] + [str(r[k - 1]) for r in rows]
        width = min(max(_display_width(x) for x in cells) + 2, max_width)
        ws.column_dimensions[get_column_letter(k)].width = max(width, 8)
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def _write_xlsx(public: pd.DataFrame, notes: list[tuple[str, str]], path: Path) -> None:
    """rotation.xlsx: sheet 交流轮岗名单 (:data:`XLSX_HEADERS`) and sheet 说明 (``notes``)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "交流轮岗名单"
    rows = [
        [int(r[0]), *("" if pd.isna(v) else str(v) for v in r[1:])]
        for r in public[list(XLSX_HEADERS)].itertuples(index=False)
    ]
    _sheet(ws, XLSX_HEADERS, rows, max_width=80)
    _sheet(wb.create_sheet("说明"), NOTES_HEADERS, [list(n) for n in notes], max_width=80)
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
    rules_zh = [rule_zh(r) for r in settings.rules]
    count_after, ind_after = counts_after(p, moves)
    moved = {i for i, _ in moves}
    order = sorted(moves, key=lambda m: int(t.at[m[0], "rank"]))
    bb_share_txt = f"{float(p.backbone_share) * 100:g} %"
    max_km = pol.max_commute_m / 1000
    names = _teacher_names(t)
    backbone = (
        t["backbone"].fillna("none").astype(str)
        if "backbone" in t
        else pd.Series("none", index=t.index)
    )
    locks = optional_table(district, "rotation_locks", ("teacher_id", "school_id", "kind"))
    locked = {(a, s) for a, s, kind in locks.itertuples(index=False) if str(kind).strip() == "lock"}

    rows = []
    for i, j in order:
        s, u = int(t.at[i, "spos"]), int(t.at[i, "upos"])
        subj, subj_zh, to_name = p.subjects[u], subject_zh(p.subjects[u]), _school_label(p, j)
        years = int(t.at[i, "years_at_school"])
        en: list[str] = []
        zh: list[str] = []
        if (str(t.at[i, "teacher_id"]), str(p.school_ids[j])) in locked:
            en.append(f"assigned by the HR office (lock) to {to_name}")
            zh.append(f"按人事科指定（锁定）交流至{to_name}")
        en.append(f"{years} years at school (≥{pol.rotation_min_years})")
        zh.append(f"本校任教{years}年（满{pol.rotation_min_years}年）")
        rule = int(p.direction[s, j])
        en.append(rule_names[rule])
        zh.append(rules_zh[rule])
        need, before = int(p.need[j, u]), int(p.count[j, u])
        if before < need:
            en.append(f"fills the {subj} need at {to_name} ({before} of {need})")
            zh.append(f"补足{to_name}{subj_zh}学科缺口（现有{before}人，需{need}人）")
        else:
            en.append(f"adds a {subj} teacher at {to_name}")
            zh.append(f"充实{to_name}{subj_zh}学科师资")
        if bool(t.at[i, "backbone_teachers_per100"]):
            en.append(f"counts toward the {bb_share_txt} backbone quota")
            zh.append(f"计入骨干教师{_pct_zh(float(p.backbone_share))}比例")
        hx, hy = float(t.at[i, "home_x_used"]), float(t.at[i, "home_y_used"])
        km = float(np.hypot(hx - p.xy[j, 0], hy - p.xy[j, 1])) / 1000.0
        en.append(f"commute {km:.1f} km (≤{max_km:g} km)")
        zh.append(f"通勤{km:.1f}公里（不超过{max_km:g}公里）")
        rows.append(
            {
                "teacher_id": t.at[i, "teacher_id"],
                "from_school": p.school_ids[s],
                "to_school": p.school_ids[j],
                "subject": subj,
                "backbone": backbone.at[i],
                "reason": "; ".join(en) + ".",
                "name": names.at[i],
                "reason_zh": "；".join(zh),
                "_spos": s,
                "_to": j,
            }
        )
    cols = [*ROTATION_COLUMNS, *ROTATION_EXTRA_COLUMNS]
    rotation = pd.DataFrame(rows, columns=[*cols, "_spos", "_to"])
    public = _public_list(p, rotation)
    rotation = rotation[cols]

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
        subj_zh = subject_zh(p.subjects[u])
        if i not in pool_set:
            why = "Eligible, but the school is not a sending school under the direction rules."
            why_zh = "符合交流条件，但所在学校按交流方向规则不是派出学校"
        elif not len(group_of[i].targets):
            why = (
                "Eligible, but no allowed receiving school within "
                f"{max_km:g} km teaches {p.subjects[u]} at their level."
            )
            why_zh = f"符合交流条件，但{max_km:g}公里内没有开设{subj_zh}学科、学段相符的可接收学校"
        elif surplus[s, u] == 0:
            why = (
                f"Eligible, but {_school_label(p, s)} has {p.count[s, u]} {p.subjects[u]} "
                f"teachers for a need of {p.need[s, u]}; none may leave."
            )
            why_zh = (
                f"符合交流条件，但{_school_label(p, s)}{subj_zh}教师现有{p.count[s, u]}人、"
                f"需{p.need[s, u]}人，无人可调出"
            )
        else:
            k = int(t.at[i, "rank"]) + 1
            why = (
                f"Eligible (priority {k} of {len(p.pool)}: longer service "
                "first, then staff id); the quota is met by others chosen for subject needs, "
                "balance, commute and priority."
            )
            why_zh = (
                f"符合交流条件（优先顺序第{k}位，共{len(p.pool)}人：本校任教年限长者优先，"
                "再按工号顺序）；交流名额已由按学科需求、均衡、通勤和优先顺序选定的其他教师补足"
            )
        ns_rows.append(
            {
                "teacher_id": t.at[i, "teacher_id"],
                "school_id": t.at[i, "school_id"],
                "subject": p.subjects[u],
                "backbone": t.at[i, "backbone"],
                "years_at_school": int(t.at[i, "years_at_school"]),
                "reason": why,
                "reason_zh": why_zh,
            }
        )
    not_selected = pd.DataFrame(
        ns_rows,
        columns=[
            "teacher_id",
            "school_id",
            "subject",
            "backbone",
            "years_at_school",
            "reason",
            "reason_zh",
        ],
    )
    ex = t[t["exempt"].to_numpy()]
    exempt = pd.DataFrame(
        {
            "teacher_id": ex["teacher_id"].to_numpy(),
            "school_id": ex["school_id"].to_numpy(),
            "exempt_reason": ex["exempt_reason"].astype(str).to_numpy(),
            "reason_zh": [exempt_reason_zh(x) for x in ex["exempt_reason"]],
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
    notes = _notes(pol, settings, summary, bb_pool)
    return RotationResult(rotation, not_selected, exempt, summary, public, notes)


def _teacher_names(t: pd.DataFrame) -> pd.Series:
    """姓名 per teacher row; empty when the teachers table has no ``name`` or it is blank."""
    if "name" not in t:
        return pd.Series("", index=t.index, dtype=object)
    return t["name"].fillna("").astype(str).str.strip()


def _public_list(p: RotationProblem, rot: pd.DataFrame) -> pd.DataFrame:
    """The published list (:data:`XLSX_HEADERS`) from the rotation rows (with ``_spos`` and
    ``_to`` school positions): ordered by 原学校 in the schools table's order, then 工号."""
    rot = rot.sort_values(["_spos", "teacher_id"], kind="mergesort")
    out = pd.DataFrame(
        {
            "序号": np.arange(1, len(rot) + 1, dtype=np.int64),
            "工号": rot["teacher_id"].astype(str).to_numpy(),
            "姓名": rot["name"].astype(str).to_numpy(),
            "原学校": [_school_label(p, int(s)) for s in rot["_spos"]],
            "交流学校": [_school_label(p, int(j)) for j in rot["_to"]],
            "学科": [subject_zh(str(u)) for u in rot["subject"]],
            "骨干级别": [backbone_zh(b) for b in rot["backbone"]],
            "交流理由": rot["reason_zh"].astype(str).to_numpy(),
        },
        columns=list(XLSX_HEADERS),
    )
    return out


def _notes(
    pol: Policy, settings: RotationSettings, summary: dict[str, Any], bb_pool: int
) -> list[tuple[str, str]]:
    """(项目, 内容) rows of the 说明 sheet, from the recomputed ``summary`` figures."""
    rho, beta = _pct_zh(pol.rotation_share), _pct_zh(pol.backbone_share)
    n_pool, quota, rotated = summary["pool"], summary["quota"], summary["rotated"]
    bb_rot = summary["backbone_rotated"]
    min_bb = BACKBONE_ZH.get(pol.backbone_min_level, pol.backbone_min_level)
    share = f"{100 * rotated / n_pool:.1f}%" if n_pool else "—"
    if pol.backbone_denominator == "rotated":
        need_bb = ceil_share(pol.backbone_share, rotated)
        of_what = f"占交流人数{rotated}人的{100 * bb_rot / rotated:.1f}%" if rotated else "—"
        bb_line = f"{bb_rot}人，{of_what}（要求不低于{beta}，即至少{need_bb}人）"
        bb_rule = f"交流教师中骨干教师不低于{beta}"
    else:
        need_bb = ceil_share(pol.backbone_share, bb_pool)
        of_what = f"占派出学校符合条件骨干教师{bb_pool}人的" + (
            f"{100 * bb_rot / bb_pool:.1f}%" if bb_pool else "—"
        )
        bb_line = f"{bb_rot}人，{of_what}（要求不低于⌈{beta}×{bb_pool}⌉={need_bb}人）"
        bb_rule = f"派出学校符合条件的骨干教师中不低于{beta}参加交流"
    per_school = (
        f"；每所城区及优质派出学校另按本校符合条件人数的{rho}（向上取整）计"
        if pol.rotation_share_per_school
        else ""
    )
    age = "，".join(
        f"{_GENDER_ZH.get(g, g)}未满{a}岁" for g, a in sorted(pol.age_cap.items(), reverse=True)
    )
    retire = "，".join(
        f"{_GENDER_ZH.get(g, g)}{a}岁" for g, a in sorted(pol.retirement_age.items(), reverse=True)
    )
    return [
        ("年度", str(summary["year"])),
        (
            "符合交流条件教师",
            f"{summary['eligible']}人（另有免于交流{summary['exempt']}人，不计入）",
        ),
        ("其中在派出学校（交流基数）", f"{n_pool}人"),
        ("应交流人数", f"⌈{rho}×{n_pool}⌉={quota}人{per_school}"),
        ("实际交流人数", f"{rotated}人（占交流基数{share}）"),
        ("骨干教师交流人数", bb_line),
        ("同等条件排序规则", TIE_BREAK_ZH),
        ("交流方向", "；".join(rule_zh(r) for r in settings.rules)),
        ("政策依据：任教年限", f"在本校连续任教满{pol.rotation_min_years}年"),
        ("政策依据：交流比例", f"不低于交流基数的{rho}（向上取整）"),
        ("政策依据：骨干教师比例", f"{bb_rule}（骨干教师指{min_bb}及以上）"),
        ("政策依据：年龄", f"{age}；距退休（{retire}）超过{pol.retirement_buffer_years}年"),
        ("政策依据：交流间隔", f"{pol.rotation_cooldown_years}年内交流过的教师不再参加"),
        (
            "政策依据：调出、调入上限",
            f"每校调出不超过教师数的{_pct_zh(pol.max_leave_share)}，调入不超过"
            f"{_pct_zh(pol.max_arrive_share)}（每校至少可调出、调入{settings.min_cap}人）",
        ),
        ("政策依据：学科保护", "各校各学科保留教师不少于现有人数与需求人数中的较小者"),
        (
            "政策依据：通勤距离",
            f"住址至交流学校直线距离不超过{pol.max_commute_m / 1000:g}公里（无住址时按原学校计）",
        ),
        ("免于交流", "孕期、哺乳期、病休及经批准暂缓交流的教师（见 exempt.csv）"),
    ]


def _clean(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if not np.isfinite(v) else round(float(v), 6)) for k, v in d.items()}


def _gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return abs(obj - bound) / max(abs(obj), 1e-9)


__all__ = [
    "BACKBONE_ZH",
    "EXEMPT_ZH",
    "NOTES_HEADERS",
    "OUTPUT_FILES",
    "ROTATION_COLUMNS",
    "ROTATION_EXTRA_COLUMNS",
    "SUBJECTS",
    "TIE_BREAK_ZH",
    "XLSX_HEADERS",
    "RotationResult",
    "backbone_zh",
    "build_result",
    "counts_after",
    "exempt_reason_zh",
    "rule_zh",
    "shortfall",
    "subject_zh",
]
