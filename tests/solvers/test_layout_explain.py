"""Layout infeasibility explained in the district's ids (unit, level, pupils, cause)."""

from __future__ import annotations

import pytest

from planner.errors import InfeasiblePlan
from solvers.layout.district import LayoutSettings, solve_layout
from tests.solvers.test_layout import district


def _two_schools(lock_status: str) -> list[dict[str, object]]:
    return [
        {"school_id": "S1", "level": "primary", "x": 0.0, "y": 0.0, "classrooms_primary": 4,
         "status": "open"},
        {"school_id": "S9", "level": "primary", "x": 3000.0, "y": 0.0, "classrooms_primary": 4,
         "status": lock_status},
    ]  # fmt: skip


def test_unit_locked_to_a_closed_school_is_named() -> None:
    d = district(
        _two_schools("closed"),
        [
            {"unit_id": "U0", "x": 0.0, "y": 0.0, "pupils_primary": 40, "current_primary": "S1"},
            {
                "unit_id": "U7",
                "x": 3000.0,
                "y": 0.0,
                "pupils_primary": 16,
                "current_primary": "S9",
                "locked": True,
            },
        ],  # fmt: skip
    )
    with pytest.raises(InfeasiblePlan) as exc:
        solve_layout(d, LayoutSettings(time_limit=5))
    assert exc.value.reasons == ["primary: unit U7 (16 pupils) is locked to S9, which is closed"]


def test_unit_out_of_reach_is_named_with_the_limit() -> None:
    d = district(
        _two_schools("open"),
        [
            {"unit_id": "U0", "x": 0.0, "y": 0.0, "pupils_primary": 40, "current_primary": "S1"},
            {"unit_id": "U5", "x": 20000.0, "y": 0.0, "pupils_primary": 12},
        ],
    )
    with pytest.raises(InfeasiblePlan) as exc:
        solve_layout(d, LayoutSettings(time_limit=5, max_travel=5000.0))
    assert exc.value.reasons == [
        "primary: unit U5 (12 pupils) has no school teaching primary within max_travel 5000"
    ]


def test_reachable_district_has_no_reason() -> None:
    d = district(
        _two_schools("open"),
        [{"unit_id": "U0", "x": 0.0, "y": 0.0, "pupils_primary": 40, "current_primary": "S1"}],
    )
    res = solve_layout(d, LayoutSettings(time_limit=5))
    assert res.solution.status == "optimal"
