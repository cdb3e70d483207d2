"""The published rotation list (公示): rotation.xlsx, the 说明 sheet and the Chinese reasons.

District of ``rotation_fixtures`` with Chinese school names (U1 城关一小, U2 城关二小, V1 新河村小,
V2 山头村小) and two named teachers (u1c 李强, u2c 王芳). With the default policy and u1f exempt
(nursing): pool = 9 eligible at U1/U2 (villages have only 2-year teachers), quota ⌈10 % × 9⌉ = 1;
the list is u1b (backbone, U1 → U2) and u2c (art, U2 → V1, fills V1's art need of 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rotation_fixtures import SCHOOLS, base_teachers, make  # noqa: E402

from planner.model import District  # noqa: E402
from planner.policy import Policy  # noqa: E402
from solvers.rotation import RotationResult, RotationSettings, solve_rotation  # noqa: E402
from solvers.rotation.check import check_rotation  # noqa: E402
from solvers.rotation.result import (  # noqa: E402
    ROTATION_COLUMNS,
    backbone_zh,
    exempt_reason_zh,
)

SETTINGS = RotationSettings(year=2025, time_limit=5.0, seed=0)
OPEN = Policy().with_value("max_leave_share", 0.5).with_value("max_arrive_share", 0.5)
NAMES_ZH = {"U1": "城关一小", "U2": "城关二小", "V1": "新河村小", "V2": "山头村小"}


def _district(
    policy: Policy | None = None,
    extra: dict[str, pd.DataFrame] | None = None,
    **years: int,
) -> District:
    sch = SCHOOLS.copy()
    sch["name"] = sch["school_id"].map(NAMES_ZH)
    rows = base_teachers()
    for r in rows:
        r["name"] = {"u1c": "李强", "u2c": "王芳"}.get(r["teacher_id"], "")
        if r["teacher_id"] == "u1f":
            r["exempt_reason"] = "nursing"
        if r["teacher_id"] in years:
            r["years_at_school"] = years[r["teacher_id"]]
    return make(rows, policy=policy, extra=extra, schools=sch)


def _solve(d: District, out: Path) -> RotationResult:
    """Solve, write, and run the validator on the written files."""
    r = solve_rotation(d, SETTINGS)
    r.write(out)
    rep = check_rotation(d, out)
    assert rep.ok, str(rep)
    return r


def _sheet(path: Path, title: str) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    return [tuple(r) for r in load_workbook(path)[title].iter_rows(values_only=True)]


def test_xlsx_headers_and_a_full_row(tmp_path: Path) -> None:
    _solve(_district(), tmp_path)
    rows = _sheet(tmp_path / "rotation.xlsx", "交流轮岗名单")
    assert rows[0] == ("序号", "工号", "姓名", "原学校", "交流学校", "学科", "骨干级别", "交流理由")
    assert rows[1:] == [
        (
            1,
            "u1b",
            None,  # no name given: an empty cell
            "城关一小",
            "城关二小",
            "语文",
            "市级骨干",
            "本校任教10年（满6年）；由优质学校交流至薄弱学校；充实城关二小语文学科师资；"
            "计入骨干教师20%比例；通勤3.0公里（不超过30公里）",
        ),
        (
            2,
            "u2c",
            "王芳",
            "城关二小",
            "新河村小",
            "美术",
            "无",
            "本校任教8年（满6年）；由城区学校交流至农村学校；"
            "补足新河村小美术学科缺口（现有0人，需1人）；通勤12.0公里（不超过30公里）",
        ),
    ]


def test_xlsx_layout(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    _solve(_district(), tmp_path)
    wb = load_workbook(tmp_path / "rotation.xlsx")
    assert wb.sheetnames == ["交流轮岗名单", "说明"]
    for ws in wb:
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold for c in ws[1])
    ws = wb["交流轮岗名单"]
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEFGH"}
    assert all(w >= 8 for w in widths.values())
    assert widths["D"] >= 10 and widths["E"] >= 10  # 4 CJK characters + margin
    assert widths["H"] == 80  # the reason wraps at 80
    assert ws["H2"].alignment.wrap_text


def test_rows_by_school_then_staff_id_csv_in_tie_break_order(tmp_path: Path) -> None:
    # u2c (U2) serves 20 years: first in the tie-break order, but U1's rows come first in the
    # published list.
    r = _solve(_district(u2c=20), tmp_path)
    assert r.rotation["teacher_id"].tolist() == ["u2c", "u1b"]
    rows = _sheet(tmp_path / "rotation.xlsx", "交流轮岗名单")[1:]
    assert [(x[0], x[1], x[3]) for x in rows] == [(1, "u1b", "城关一小"), (2, "u2c", "城关二小")]


def test_notes_sheet_figures(tmp_path: Path) -> None:
    r = _solve(_district(), tmp_path)
    notes = dict(_sheet(tmp_path / "rotation.xlsx", "说明")[1:])
    s = r.summary
    assert (s["year"], s["eligible"], s["exempt"], s["pool"], s["quota"]) == (2025, 9, 1, 9, 1)
    assert (s["rotated"], s["backbone_rotated"]) == (2, 1)
    assert notes["年度"] == "2025"
    assert notes["符合交流条件教师"] == "9人（另有免于交流1人，不计入）"
    assert notes["其中在派出学校（交流基数）"] == "9人"
    assert notes["应交流人数"] == "⌈10%×9⌉=1人"
    assert notes["实际交流人数"] == "2人（占交流基数22.2%）"
    assert notes["骨干教师交流人数"] == "1人，占交流人数2人的50.0%（要求不低于20%，即至少1人）"
    assert notes["同等条件排序规则"] == "同等条件下，本校任教年限长者优先，再按工号顺序"
    assert notes["政策依据：任教年限"] == "在本校连续任教满6年"
    assert notes["政策依据：交流比例"] == "不低于交流基数的10%（向上取整）"
    assert notes["政策依据：年龄"] == "男未满55岁，女未满50岁；距退休（男60岁，女55岁）超过5年"
    assert notes["政策依据：通勤距离"] == (
        "住址至交流学校直线距离不超过30公里（无住址时按原学校计）"
    )
    assert notes["政策依据：调出、调入上限"] == (
        "每校调出不超过教师数的15%，调入不超过15%（每校至少可调出、调入1人）"
    )


def test_notes_backbone_against_the_eligible_backbone(tmp_path: Path) -> None:
    # denominator "eligible": 2 backbone in the pool (u1a, u1b) → ⌈20 % × 2⌉ = 1.
    pol = Policy().with_value("backbone_denominator", "eligible")
    _solve(_district(policy=pol), tmp_path)
    notes = dict(_sheet(tmp_path / "rotation.xlsx", "说明")[1:])
    assert notes["骨干教师交流人数"] == (
        "1人，占派出学校符合条件骨干教师2人的50.0%（要求不低于⌈20%×2⌉=1人）"
    )
    assert notes["政策依据：骨干教师比例"] == (
        "派出学校符合条件的骨干教师中不低于20%参加交流（骨干教师指县级骨干及以上）"
    )


def test_lock_reason(tmp_path: Path) -> None:
    locks = pd.DataFrame({"teacher_id": ["u1c"], "school_id": ["V2"], "kind": ["lock"]})
    r = _solve(_district(policy=OPEN, extra={"rotation_locks": locks}), tmp_path)
    rot = r.rotation.set_index("teacher_id")
    assert rot.at["u1c", "reason"] == (
        "assigned by the HR office (lock) to 山头村小; 9 years at school (≥6); urban → rural; "
        "fills the pe need at 山头村小 (0 of 1); commute 18.0 km (≤30 km)."
    )
    assert rot.at["u1c", "reason_zh"] == (
        "按人事科指定（锁定）交流至山头村小；本校任教9年（满6年）；由城区学校交流至农村学校；"
        "补足山头村小体育学科缺口（现有0人，需1人）；通勤18.0公里（不超过30公里）"
    )
    # only the locked teacher's reason mentions the lock
    assert not rot.drop(index="u1c")["reason_zh"].str.contains("锁定").any()
    row = [x for x in _sheet(tmp_path / "rotation.xlsx", "交流轮岗名单") if x[1] == "u1c"]
    assert row[0][2:7] == ("李强", "城关一小", "山头村小", "体育", "无")
    assert row[0][7] == rot.at["u1c", "reason_zh"]


def test_rotation_csv_keeps_its_columns_and_adds_name_and_reason_zh(tmp_path: Path) -> None:
    r = _solve(_district(), tmp_path)
    csv = pd.read_csv(tmp_path / "rotation.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == [*ROTATION_COLUMNS, "name", "reason_zh"]
    u2c = csv.set_index("teacher_id").loc["u2c"]
    assert (u2c["from_school"], u2c["to_school"], u2c["subject"], u2c["backbone"]) == (
        "U2",
        "V1",
        "art",
        "none",
    )
    assert u2c["reason"] == (
        "8 years at school (≥6); urban → rural; fills the art need at 新河村小 (0 of 1); "
        "commute 12.0 km (≤30 km)."
    )
    assert u2c["name"] == "王芳"
    assert csv.set_index("teacher_id").at["u1b", "name"] == ""
    published = r.public.set_index("工号")["交流理由"]
    assert csv.set_index("teacher_id")["reason_zh"].to_dict() == published.to_dict()


def test_exempt_and_not_selected_reason_zh(tmp_path: Path) -> None:
    _solve(_district(), tmp_path)
    ex = pd.read_csv(tmp_path / "exempt.csv", dtype=str, keep_default_na=False)
    assert ex.to_dict("records") == [
        {"teacher_id": "u1f", "school_id": "U1", "exempt_reason": "nursing", "reason_zh": "哺乳期"}
    ]
    ns = pd.read_csv(tmp_path / "not_selected.csv", dtype=str, keep_default_na=False)
    assert list(ns.columns) == [
        "teacher_id",
        "school_id",
        "subject",
        "backbone",
        "years_at_school",
        "reason",
        "reason_zh",
    ]
    ns = ns.set_index("teacher_id")
    assert ns.at["u1a", "reason"] == (
        "Eligible, but 城关一小 has 2 math teachers for a need of 2; none may leave."
    )
    assert ns.at["u1a", "reason_zh"] == "符合交流条件，但城关一小数学教师现有2人、需2人，无人可调出"
    assert ns.at["u2b", "reason_zh"] == (
        "符合交流条件（优先顺序第5位，共9人：本校任教年限长者优先，再按工号顺序）；"
        "交流名额已由按学科需求、均衡、通勤和优先顺序选定的其他教师补足"
    )


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("pregnancy", "孕期"),
        ("nursing", "哺乳期"),
        ("illness", "病休"),
        ("certified illness", "病休"),
        ("lead_deferral", "暂缓交流"),
        ("Lead deferral", "暂缓交流"),
        (" nursing ", "哺乳期"),
        ("pregnancy; illness", "孕期；病休"),
        ("支教返回", "支教返回"),  # other text passes through
        ("maternity leave", "maternity leave"),
        ("", ""),
    ],
)
def test_exempt_reason_zh_mapping(text: str, zh: str) -> None:
    assert exempt_reason_zh(text) == zh


def test_backbone_zh() -> None:
    assert [backbone_zh(x) for x in ("none", "county", "city", "province", "", None)] == [
        "无",
        "县级骨干",
        "市级骨干",
        "省级骨干",
        "无",
        "无",
    ]


def test_validator_wants_a_chinese_reason(tmp_path: Path) -> None:
    d = _district()
    _solve(d, tmp_path)
    rot = pd.read_csv(tmp_path / "rotation.csv", dtype=str, keep_default_na=False)
    rot.loc[rot["teacher_id"] == "u2c", "reason_zh"] = " "
    rot.to_csv(tmp_path / "rotation.csv", index=False)
    rep = check_rotation(d, tmp_path)
    assert rep.violations == ["u2c: no Chinese reason (reason_zh) given"]
