"""Multi-year layout: the budget decides whether the new school opens in year 2 or year 3."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from planner.errors import InfeasiblePlan
from planner.model import SCHOOL_COLUMNS, UNIT_COLUMNS, District
from planner.policy import Policy
from solvers.layout.multiyear import MultiYearSettings, solve_multiyear


def growing_district() -> District:
    """Two units; S1 (2 classrooms = 90 seats) beside U0, candidate C1 (4 = 180) beside U1.

    Flat history: U0 has 60 primary pupils (10 per grade), U1 has 90 (15 per grade), so 150
    pupils want 90 seats until C1 opens. C1 costs 100 to open.
    """
    schools = pd.DataFrame({c.name: [c.default] * 2 for c in SCHOOL_COLUMNS})
    schools["school_id"] = ["S1", "C1"]
    schools["name"] = ["Old School", "New School"]
    schools["level"] = "primary"
    schools["x"] = [0.0, 2000.0]
    schools["y"] = 0.0
    schools["classrooms_primary"] = [2, 4]
    schools["status"] = ["open", "candidate"]
    schools["open_cost"] = [0.0, 100.0]
    units = pd.DataFrame({c.name: [c.default] * 2 for c in UNIT_COLUMNS})
    units["unit_id"] = ["U0", "U1"]
    units["x"] = [100.0, 1900.0]
    units["y"] = 0.0
    units["current_primary"] = "S1"
    per_grade = {"U0": 10.0, "U1": 15.0}
    rows = [
        {"unit_id": u, "year": y, "grade": g, "pupils": p if g <= 6 else 0.0}
        for u, p in per_grade.items()
        for y in (2023, 2024, 2025)
        for g in range(1, 10)
    ]
    gdf = gpd.GeoDataFrame(units, geometry=[Point(x, 0) for x in units["x"]], crs="EPSG:32650")
    return District(
        "growing",
        "EPSG:32650",
        Policy(),
        schools,
        gdf,
        extra={"enrolment_history": pd.DataFrame(rows)},
    )


BASE = dict(
    years=5, lead_time_years=2, max_moved_share=1.0, time_limit=30, size_deadline_years=None
)


def test_opens_in_year_two_when_the_budget_allows() -> None:
    plan = solve_multiyear(growing_district(), MultiYearSettings(budget_per_year=100.0, **BASE))
    assert plan.summary["status"] == "optimal"
    assert plan.decisions[["school_id", "year", "action"]].values.tolist() == [["C1", 2027, "open"]]
    # 2026: 150 pupils in 90 seats (60 over); from 2027 U1 goes to C1 and nobody overflows
    assert plan.summary["overflow_by_year"] == {
        "2026": 60.0,
        "2027": 0.0,
        "2028": 0.0,
        "2029": 0.0,
        "2030": 0.0,
    }
    a = plan.assignment
    assert a[(a.year == 2027) & (a.unit_id == "U1")]["school_id"].tolist() == ["C1"]


def test_a_year_without_budget_pushes_the_opening_to_year_three() -> None:
    s = MultiYearSettings(budget_per_year=[100.0, 0.0, 100.0, 100.0, 100.0], **BASE)
    plan = solve_multiyear(growing_district(), s)
    assert plan.decisions[["school_id", "year", "action"]].values.tolist() == [["C1", 2028, "open"]]
    assert plan.summary["overflow_by_year"]["2027"] == 60.0
    assert plan.summary["build_cost_by_year"] == {
        "2026": 0.0,
        "2027": 0.0,
        "2028": 100.0,
        "2029": 0.0,
        "2030": 0.0,
    }


def test_lead_time_forbids_opening_in_year_one() -> None:
    plan = solve_multiyear(growing_district(), MultiYearSettings(budget_per_year=1e9, **BASE))
    assert plan.decisions["year"].min() == 2027


def test_moved_pupils_cap_keeps_boundaries_still() -> None:
    # with a 50 % cap the plan moves U0 (60 of 150 = 40 %) to C1 and leaves U1's 90 at S1's 90
    # seats; with a 30 % cap neither unit may move, so opening C1 is pointless
    s = MultiYearSettings(budget_per_year=100.0, **{**BASE, "max_moved_share": 0.5})
    a = solve_multiyear(growing_district(), s).assignment
    assert a[(a.year == 2027)].set_index("unit_id")["school_id"].to_dict() == {
        "U0": "C1",
        "U1": "S1",
    }
    s = MultiYearSettings(budget_per_year=100.0, **{**BASE, "max_moved_share": 0.3})
    plan = solve_multiyear(growing_district(), s)
    assert set(plan.assignment["school_id"]) == {"S1"}
    assert plan.decisions.empty
    assert plan.summary["overflow_pupil_years"] == 300.0


def test_hard_size_deadline_that_no_plan_meets_is_explained() -> None:
    d = growing_district()
    pol = d.policy.with_value("school_size_max", 100)
    d2 = d.with_tables(policy=pol)
    s = MultiYearSettings(budget_per_year=0.0, **{**BASE, "size_deadline_years": 1})
    with pytest.raises(InfeasiblePlan, match="school-size deadline"):
        solve_multiyear(d2, s)


def test_same_seed_same_plan() -> None:
    s = MultiYearSettings(budget_per_year=100.0, **BASE)
    a = solve_multiyear(growing_district(), s).assignment
    b = solve_multiyear(growing_district(), s).assignment
    pd.testing.assert_frame_equal(a, b)
    assert np.isclose(a["pupils"].sum(), 150 * 5)


def test_written_plan_passes_the_year_by_year_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from solvers.layout.multiyear import check_multiyear

    d = growing_district()
    plan = solve_multiyear(d, MultiYearSettings(budget_per_year=100.0, **BASE))
    plan.write(tmp_path)
    rep = check_multiyear(d, tmp_path)
    assert rep.violations == []
    assert rep.recomputed == {"overflow_pupil_years": 60.0, "build_cost": 100.0}


def test_check_catches_an_early_opening_and_a_wrong_cost(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from solvers.layout.multiyear import check_multiyear

    d = growing_district()
    plan = solve_multiyear(d, MultiYearSettings(budget_per_year=100.0, **BASE))
    plan.write(tmp_path)
    dec = pd.read_csv(tmp_path / "decisions.csv")
    dec.loc[0, "year"] = 2026
    dec.loc[0, "cost"] = 50.0
    dec.to_csv(tmp_path / "decisions.csv", index=False)
    v = check_multiyear(d, tmp_path).violations
    assert "C1 opens in 2026, before the 2-year lead time" in v
    assert "C1 2026: reported cost 50.0 but the costs give 100.00" in v
    assert "summary build_cost 100.0 but the decisions give 100.00" not in v


def test_blocks_keep_pupils_and_share_todays_school() -> None:
    from planner.forecast import ForecastSettings, forecast_district
    from planner.generate import make_district
    from solvers.layout.multiyear import _demand, make_blocks

    d = make_district(units=400, primary_schools=10, secondary_schools=5, teachers=300, seed=4)
    dem = _demand(forecast_district(d, ForecastSettings(years=3)), d, "mid")["primary"]
    cur = d.current("primary")
    blk = make_blocks(d, dem, cur, n_blocks=60, seed=0)
    assert 40 <= len(blk.members) <= 80
    assert np.allclose(blk.demand.sum(axis=0), dem.sum(axis=0))
    for b, mem in enumerate(blk.members):
        assert len(set(cur[mem].tolist())) == 1
        assert (blk.of_unit[mem] == b).all()
    again = make_blocks(d, dem, cur, n_blocks=60, seed=0)
    assert [m.tolist() for m in again.members] == [m.tolist() for m in blk.members]


def test_sample_sized_plan_passes_its_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from planner.generate import make_district
    from solvers.layout.multiyear import check_multiyear

    d = make_district(units=300, primary_schools=8, secondary_schools=4, teachers=200, seed=2)
    s = MultiYearSettings(
        years=3, blocks_per_level=40, time_limit=20, budget_per_year=2e8, size_deadline_years=None
    )
    plan = solve_multiyear(d, s)
    plan.write(tmp_path)
    assert check_multiyear(d, tmp_path).violations == []
