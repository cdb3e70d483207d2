"""Edits: each op changes the district as documented; wrong edits name index and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.io import load_district
from planner.model import District
from scenarios.edits import TEACHER_LOCKS, apply_edits, parse_edits
from scenarios.errors import Invalid


@pytest.fixture(scope="module")
def district(tiny_folder: Path) -> District:
    return load_district(tiny_folder)


def _apply(d: District, *edits: dict) -> District:
    return apply_edits(d, parse_edits(list(edits)))


def test_school_edits(district: District) -> None:
    d = _apply(
        district,
        {"op": "set_school", "school_id": "S001", "classrooms_primary": 30, "status": "open"},
        {"op": "close_school", "school_id": "S003"},
        {
            "op": "add_school",
            "school_id": "NEW1",
            "level": "primary",
            "x": 1.0,
            "y": 2.0,
            "classrooms_primary": 12,
        },
    )
    s = d.schools.set_index("school_id")
    assert s.loc["S001", "classrooms_primary"] == 30
    assert s.loc["S003", "status"] == "closed"
    assert s.loc["NEW1", "status"] == "candidate" and s.loc["NEW1", "classrooms_primary"] == 12
    assert len(d.schools) == len(district.schools) + 1
    assert (
        district.schools.set_index("school_id").loc["S003", "status"] == "open"
    )  # input untouched


def test_unit_policy_and_pupil_edits(district: District) -> None:
    u0 = district.units.iloc[0]
    d = _apply(
        district,
        {"op": "lock_unit", "unit_id": u0.unit_id, "school_id": "S002", "level": "junior"},
        {"op": "set_policy", "path": "class_size_cap.junior", "value": 45},
        {"op": "add_pupils", "unit_id": u0.unit_id, "grade": 1, "count": 10},
        {"op": "add_pupils", "unit_id": u0.unit_id, "level": "junior", "count": 7},
    )
    u = d.units.iloc[0]
    assert u.current_junior == "S002" and bool(u.locked)
    assert d.policy.class_size_cap["junior"] == 45
    assert u.g1 == u0.g1 + 10 and u.pupils_primary == u0.pupils_primary + 10
    assert (u.g7 - u0.g7, u.g8 - u0.g8, u.g9 - u0.g9) == (3, 2, 2)
    assert u.pupils_junior == u0.pupils_junior + 7


def test_teacher_edits(district: District) -> None:
    d = _apply(
        district,
        {"op": "exempt_teacher", "teacher_id": "T00001", "reason": "nursing"},
        {"op": "lock_teacher", "teacher_id": "T00002", "school_id": "S001"},
    )
    assert d.teachers is not None
    assert d.teachers.set_index("teacher_id").loc["T00001", "exempt_reason"] == "nursing"
    assert d.extra[TEACHER_LOCKS].to_dict("records") == [
        {"teacher_id": "T00002", "school_id": "S001", "kind": "lock"}
    ]


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [
        (
            {"op": "close_school", "school_id": "S99"},
            "edits/1/school_id",
            "school 'S99' is not in the district",
        ),
        (
            {"op": "add_school", "school_id": "S001", "level": "primary", "x": 0, "y": 0},
            "edits/1/school_id",
            "school 'S001' already exists",
        ),
        (
            {"op": "lock_unit", "unit_id": "U00001", "school_id": "S001", "level": "junior"},
            "edits/1/school_id",
            "school 'S001' (primary) does not teach junior pupils",
        ),
        (
            {"op": "set_policy", "path": "no_such", "value": 1},
            "edits/1/path",
            "'no_such' is not a policy setting",
        ),
        (
            {"op": "add_pupils", "unit_id": "U404", "grade": 1, "count": 1},
            "edits/1/unit_id",
            "unit 'U404' is not in the district",
        ),
        (
            {"op": "exempt_teacher", "teacher_id": "T404", "reason": "x"},
            "edits/1/teacher_id",
            "teacher 'T404' is not in the district",
        ),
    ],
)
def test_edit_errors_name_index_and_field(
    district: District, edit: dict, path: str, message: str
) -> None:
    with pytest.raises(Invalid) as err:
        _apply(district, {"op": "close_school", "school_id": "S001"}, edit)
    assert err.value.detail == f"edit 1 cannot be applied: {message}"
    assert [(e.path, e.message) for e in err.value.errors] == [(path, message)]


def test_policy_value_of_wrong_type(district: District) -> None:
    with pytest.raises(Invalid) as err:
        _apply(district, {"op": "set_policy", "path": "class_size_cap.junior", "value": "many"})
    assert err.value.errors[0].path == "edits/0/value"
    assert err.value.errors[0].message.startswith("policy 'class_size_cap.junior' cannot be 'many'")


def test_malformed_edits_are_rejected_with_paths() -> None:
    with pytest.raises(Invalid) as err:
        parse_edits([{"op": "add_pupils", "unit_id": "U1", "count": 0}, {"op": "fly"}])
    paths = [e.path for e in err.value.errors]
    assert "edits/0/add_pupils/count" in paths
    assert any(p.startswith("edits/1") for p in paths)
