"""Rotation lists on the tiny district of ``rotation_fixtures`` (numbers written out there)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rotation_fixtures import base_teachers, make, staffing  # noqa: E402

from planner.errors import InfeasiblePlan  # noqa: E402
from planner.model import District  # noqa: E402
from planner.policy import Policy  # noqa: E402
from solvers.rotation import RotationResult, RotationSettings, solve_rotation  # noqa: E402
from solvers.rotation.check import check_rotation  # noqa: E402

SETTINGS = RotationSettings(year=2025, time_limit=5.0, seed=0)
#: Caps opened to half the staff, so quotas, not caps, bind.
OPEN = Policy().with_value("max_leave_share", 0.5).with_value("max_arrive_share", 0.5)
#: Villages need only what they have: extra moves help nothing, so the quota is met exactly.
NO_NEEDS = staffing().query(
    "not (school_id.str.startswith('V') and subject in ['pe','music','art'])"
)


def solve_checked(d: District, out: Path) -> RotationResult:
    """Solve, write, and run the validator: every test result must pass it."""
    r = solve_rotation(d, SETTINGS)
    r.write(out)
    rep = check_rotation(d, out)
    assert rep.ok, str(rep)
    return r


def test_quota_exactly_met_by_the_only_free_backbone(tmp_path: Path) -> None:
    # pool 10 → quota ⌈10 % × 10⌉ = 1; 20 % of 1 rotated needs 1 backbone; u1a (math) is
    # protected (U1 has 2 math for a need of 2), so u1b is the only backbone who may leave.
    r = solve_checked(make(extra={"staffing": NO_NEEDS}), tmp_path)
    assert r.summary["quota"] == 1
    assert r.summary["rotated"] == 1
    assert r.rotation["teacher_id"].tolist() == ["u1b"]
    assert r.summary["backbone_rotated"] == 1


def test_backbone_share_binds(tmp_path: Path) -> None:
    # ρ = 30 % → quota 3, 20 % of 3 needs 1 backbone: exactly u1b, however many move.
    d = make(policy=OPEN.with_value("rotation_share", 0.3), extra={"staffing": NO_NEEDS})
    r = solve_checked(d, tmp_path)
    assert r.summary["quota"] == 3
    assert r.summary["rotated"] == 3
    assert r.summary["backbone_rotated"] == 1
    assert "u1b" in set(r.rotation["teacher_id"])


def test_infeasible_backbone_share_is_explained() -> None:
    # ρ = 60 % → quota 6 needs 2 backbone, but only u1b may leave.
    d = make(policy=OPEN.with_value("rotation_share", 0.6), extra={"staffing": NO_NEEDS})
    with pytest.raises(InfeasiblePlan) as exc:
        solve_rotation(d, SETTINGS)
    assert "1 backbone teachers are eligible and free to move, but 20 % of 6 rotated needs 2." in (
        exc.value.reasons
    )


def test_exempt_never_chosen(tmp_path: Path) -> None:
    rows = base_teachers()
    for row in rows:
        if row["teacher_id"] == "u1f":
            row["exempt_reason"] = "certified illness"
    r = solve_checked(make(rows), tmp_path)
    assert "u1f" not in set(r.rotation["teacher_id"])
    ex = pd.read_csv(tmp_path / "exempt.csv")
    assert ex.to_dict("records") == [
        {
            "teacher_id": "u1f",
            "school_id": "U1",
            "exempt_reason": "certified illness",
            "reason_zh": "病休",
        }
    ]


def test_subject_need_forbids_a_move(tmp_path: Path) -> None:
    r = solve_checked(make(), tmp_path)
    assert "u1a" not in set(r.rotation["teacher_id"])
    ns = r.not_selected.set_index("teacher_id")
    assert ns.at["u1a", "reason"] == (
        "Eligible, but Urban One has 2 math teachers for a need of 2; none may leave."
    )


def test_village_arts_need_is_filled_with_a_reason(tmp_path: Path) -> None:
    r = solve_checked(make(), tmp_path)
    row = r.rotation.set_index("teacher_id").loc["u2c"]
    assert (row["from_school"], row["to_school"]) == ("U2", "V1")
    assert row["reason"] == (
        "8 years at school (≥6); urban → rural; fills the art need at Xinhe Village School "
        "(0 of 1); commute 12.0 km (≤30 km)."
    )
    assert r.summary["shortfall_after"] < r.summary["shortfall_before"]


def test_couple_stays_together(tmp_path: Path) -> None:
    # u2c's partner works at U2 and cannot move; V1 and V2 are > 10 km from U2: u2c stays.
    couples = pd.DataFrame({"teacher_a": ["u2c"], "teacher_b": ["u2n0"]})
    r = solve_checked(make(extra={"couples": couples}), tmp_path)
    assert "u2c" not in set(r.rotation["teacher_id"])


def test_lock_and_forbid(tmp_path: Path) -> None:
    locks = pd.DataFrame(
        {"teacher_id": ["u1c", "u2c"], "school_id": ["V2", "V1"], "kind": ["lock", "forbid"]}
    )
    r = solve_checked(make(policy=OPEN, extra={"rotation_locks": locks}), tmp_path)
    rot = r.rotation.set_index("teacher_id")
    assert rot.at["u1c", "to_school"] == "V2"
    assert "u2c" not in rot.index or rot.at["u2c", "to_school"] != "V1"


def test_lock_on_ineligible_teacher_is_explained() -> None:
    locks = pd.DataFrame({"teacher_id": ["u1n0"], "school_id": ["V1"], "kind": ["lock"]})
    with pytest.raises(InfeasiblePlan) as exc:
        solve_rotation(make(extra={"rotation_locks": locks}), SETTINGS)
    assert exc.value.reasons == [
        "Teacher u1n0 is locked to V1, but is not in the pool: "
        "2 years at school (fewer than 6 required)."
    ]


def test_same_seed_same_list(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    solve_checked(make(policy=OPEN), a)
    solve_checked(make(policy=OPEN), b)
    assert (a / "rotation.csv").read_bytes() == (b / "rotation.csv").read_bytes()


def test_validator_catches_an_exempt_teacher(tmp_path: Path) -> None:
    rows = base_teachers()
    rows[0]["exempt_reason"] = "nursing"  # u1a
    d = make(rows)
    solve_checked(d, tmp_path)
    rot = pd.read_csv(tmp_path / "rotation.csv", dtype=str)
    extra = pd.DataFrame(
        [["u1a", "U1", "V1", "math", "county", "forged", "", "伪造"]], columns=list(rot.columns)
    )
    pd.concat([rot, extra]).to_csv(tmp_path / "rotation.csv", index=False)
    rep = check_rotation(d, tmp_path)
    assert not rep.ok
    assert "u1a: exempt (nursing) but selected" in rep.violations


def test_xlsx_has_chinese_headers(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    solve_checked(make(), tmp_path)
    ws = load_workbook(tmp_path / "rotation.xlsx").active
    assert ws is not None
    assert [c.value for c in ws[1]] == [
        "序号",
        "工号",
        "姓名",
        "原学校",
        "交流学校",
        "学科",
        "骨干级别",
        "交流理由",
    ]
