"""Infeasibility explained before solving, with numbers; seat shortages as warnings."""

from __future__ import annotations

from solvers.catchment import build_problem, capacity_warnings, explain_infeasibility
from tests.solvers.test_catchment_model import school, settings, tiny_district, unit


def test_feasible_problem_has_no_reasons() -> None:
    d = tiny_district([school("A", 0, 100)], [unit("U1", 0, 10)])
    pb = build_problem(d, "primary", settings())
    assert explain_infeasibility(d, pb) == []
    assert capacity_warnings(pb) == []


def test_unit_without_allowed_school_is_named_with_pupils() -> None:
    d = tiny_district([school("A", 0, 100)], [unit("U1", 0, 10), unit("U3", 10_000, 40)])
    pb = build_problem(d, "primary", settings(max_travel=1500))
    assert explain_infeasibility(d, pb) == [
        "unit U3 (40 primary pupils) has no allowed primary school: no open school teaching it "
        "within the travel rules"
    ]


def test_locked_to_a_school_not_teaching_the_level() -> None:
    d = tiny_district(
        [school("A", 0, 100), school("J", 0, 100, level="junior")],
        [unit("U1", 0, 10, current_primary="J", locked=True)],
    )
    pb = build_problem(d, "primary", settings())
    assert explain_infeasibility(d, pb) == ["unit U1 is locked to J, which does not teach primary"]


def test_locked_pupils_overfilling_a_school_is_a_warning() -> None:
    d = tiny_district(
        [school("A", 0, 100), school("B", 3000, 500)],
        [unit("U1", 0, 80, current_primary="A", locked=True),
         unit("U2", 0, 50, current_primary="A", locked=True)],
    )  # fmt: skip
    pb = build_problem(d, "primary", settings())
    assert explain_infeasibility(d, pb) == []
    assert capacity_warnings(pb) == [
        "locked pupils at A (130) exceed its 100 primary seats by 30",
        "seats short by 30 in the area around A: 2 units with 130 primary pupils can reach only "
        "100 seats at 1 school(s)",
    ]


def test_seats_short_in_an_area() -> None:
    # Two separate areas (max_travel 1500): the west one is 50 seats short.
    d = tiny_district(
        [school("A", 0, 100), school("B", 10_000, 500)],
        [unit("U1", 0, 90), unit("U2", 500, 60), unit("U3", 10_000, 10)],
    )
    pb = build_problem(d, "primary", settings(max_travel=1500))
    assert capacity_warnings(pb) == [
        "seats short by 50 in the area around A: 2 units with 150 primary pupils can reach only "
        "100 seats at 1 school(s)"
    ]
