"""Cohort-survival forecasting: hand-computed fixtures and recovery of known ratios."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from planner.forecast import (
    ForecastSettings,
    backtest,
    fit_ratios,
    forecast_district,
    history_cube,
    seat_warnings,
)
from planner.model import SCHOOL_COLUMNS, UNIT_COLUMNS, District
from planner.policy import Policy


def tiny_district(n_units: int, extra: dict[str, pd.DataFrame], classrooms: int = 6) -> District:
    """n units on a line, one nine-year school with ``classrooms`` rooms per level."""
    schools = pd.DataFrame({c.name: [c.default] for c in SCHOOL_COLUMNS})
    schools["school_id"] = "S1"
    schools["name"] = "Test School"
    schools["level"] = "nine_year"
    schools["x"], schools["y"] = 0.0, 0.0
    schools["classrooms_primary"] = classrooms
    schools["classrooms_junior"] = classrooms // 2
    units = pd.DataFrame({c.name: [c.default] * n_units for c in UNIT_COLUMNS})
    units["unit_id"] = [f"U{i}" for i in range(n_units)]
    units["x"] = np.arange(n_units) * 100.0
    units["y"] = 0.0
    units["current_primary"] = "S1"
    units["current_junior"] = "S1"
    gdf = gpd.GeoDataFrame(units, geometry=[Point(x, 0) for x in units["x"]], crs="EPSG:32650")
    return District("tiny", "EPSG:32650", Policy(), schools, gdf, extra=extra)


def history_frame(rows: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    """{(unit, year): [g1..g9]} as an enrolment_history table."""
    out = [
        {"unit_id": u, "year": y, "grade": g + 1, "pupils": p}
        for (u, y), grades in rows.items()
        for g, p in enumerate(grades)
    ]
    return pd.DataFrame(out)


def test_hand_computed_progression_one_unit_three_years() -> None:
    # 2023: g1..g9 = 100..900 step 100; 2024 each grade = 0.9 × previous grade of 2023,
    # g1 = 110; 2025 the same ratio 0.9, g1 = 120. Window 2, no births: entry trend g1 ratio =
    # (110 + 120) / (100 + 110) = 230/210.
    g23 = [100.0 * k for k in range(1, 10)]
    g24 = [110.0] + [0.9 * x for x in g23[:-1]]
    g25 = [120.0] + [0.9 * x for x in g24[:-1]]
    hist = history_frame({("U0", 2023): g23, ("U0", 2024): g24, ("U0", 2025): g25})
    d = tiny_district(1, {"enrolment_history": hist})
    s = ForecastSettings(years=1, window=2, min_cohort=0)
    fc = forecast_district(d, s)
    mid = fc.table[(fc.table["variant"] == "mid")].sort_values("grade")
    assert fc.base_year == 2025
    assert mid["year"].unique().tolist() == [2026]
    expected = [120.0 * 230 / 210] + [0.9 * x for x in g25[:-1]]
    assert np.allclose(mid["pupils"].to_numpy(), expected)


def test_entrants_follow_births_six_years_earlier() -> None:
    # Births 2014..2025 = 100, 110, ..., 210; entry ratio 0.95 exactly; progression 1.0.
    births = pd.DataFrame(
        {
            "unit_id": "U0",
            "year": list(range(2014, 2026)),
            "births": [100.0 + 10 * k for k in range(12)],
        }
    )
    rows = {}
    for y in range(2020, 2026):
        b = 100.0 + 10 * (y - 6 - 2014)
        rows[("U0", y)] = [0.95 * b] + [50.0] * 8
    # make progression exactly 1: grade g at y equals grade g-1 at y-1
    for y in range(2021, 2026):
        prev = rows[("U0", y - 1)]
        rows[("U0", y)] = [rows[("U0", y)][0]] + prev[:-1]
    d = tiny_district(1, {"enrolment_history": history_frame(rows), "births": births})
    fc = forecast_district(d, ForecastSettings(years=3, window=5, min_cohort=0))
    assert fc.ratios.unit_ratio[0, 0] == pytest.approx(0.95)
    assert np.allclose(fc.ratios.unit_ratio[0, 1:], 1.0)
    g1 = fc.table[(fc.table["variant"] == "mid") & (fc.table["grade"] == 1)].sort_values("year")
    # 2026 entrants = births 2020 (160) × 0.95; 2027 = births 2021 (170) × 0.95; 2028 = 180 × 0.95
    assert g1["pupils"].round(6).tolist() == [152.0, 161.5, 171.0]


def test_synthetic_history_recovers_the_true_ratios() -> None:
    rng = np.random.default_rng(7)
    true = np.array([0.97, 1.02, 1.0, 0.99, 1.01, 0.98, 0.93, 1.0, 0.99])  # [entry, g2..g9]
    n_units, years = 40, list(range(2016, 2026))
    births = {
        (u, y): float(rng.integers(80, 160)) for u in range(n_units) for y in range(2004, 2026)
    }
    state = rng.integers(50, 150, size=(n_units, 9)).astype(float)
    rows = {}
    for y in years:
        if y > years[0]:
            nxt = np.empty_like(state)
            nxt[:, 1:] = state[:, :-1] * true[1:]
            nxt[:, 0] = [births[(u, y - 6)] * true[0] for u in range(n_units)]
            state = nxt
        for u in range(n_units):
            rows[(f"U{u}", y)] = state[u].tolist()
    bdf = pd.DataFrame(
        [{"unit_id": f"U{u}", "year": y, "births": b} for (u, y), b in births.items()]
    )
    d = tiny_district(n_units, {"enrolment_history": history_frame(rows), "births": bdf})
    cube, yrs = history_cube(d)
    from planner.forecast import births_matrix

    r = fit_ratios(cube, yrs, births_matrix(d), ForecastSettings())
    assert np.allclose(r.pooled_ratio, true, atol=1e-9)
    bt = backtest(d, holdout=2)
    assert bt.mape_level["primary"] < 1e-9
    assert bt.mape_level["junior"] < 1e-9


def test_housing_adds_yield_per_dwelling_spread_over_grades() -> None:
    hist = history_frame({("U0", 2024): [0.0] * 9, ("U0", 2025): [0.0] * 9})
    housing = pd.DataFrame(
        {"unit_id": ["U0"], "year_complete": [2026], "dwellings": [900], "type": ["apartment"]}
    )
    d = tiny_district(1, {"enrolment_history": hist, "housing": housing})
    fc = forecast_district(d, ForecastSettings(years=1, window=1, min_cohort=0))
    mid = fc.table[fc.table["variant"] == "mid"]
    # 900 apartments × 0.33 = 297 pupils, 33 per grade
    assert mid["pupils"].round(9).tolist() == [33.0] * 9


def test_seat_warning_names_school_year_and_shortfall() -> None:
    # One school, 6 primary classrooms × 45 = 270 seats; 300 primary pupils per year, flat.
    flat = [50.0] * 6 + [20.0] * 3
    hist = history_frame({("U0", 2024): flat, ("U0", 2025): flat})
    d = tiny_district(1, {"enrolment_history": hist}, classrooms=6)
    fc = forecast_district(d, ForecastSettings(years=2, window=1, min_cohort=0))
    w = seat_warnings(d, fc)
    prim = w[w["level"] == "primary"]
    assert prim["year"].tolist() == [2026, 2027]
    assert prim["seats"].tolist() == [270, 270]
    assert prim["shortfall"].tolist() == [30.0, 30.0]
    # one room per grade, 50 pupils in it > 45: every class over the cap
    assert prim["over_cap_class_share"].tolist() == [1.0, 1.0]


def test_low_mid_high_are_ordered() -> None:
    rng = np.random.default_rng(3)
    rows = {("U0", y): (rng.uniform(80, 120, 9)).tolist() for y in range(2019, 2026)}
    d = tiny_district(1, {"enrolment_history": history_frame(rows)})
    fc = forecast_district(d, ForecastSettings(years=5, min_cohort=0))
    tot = fc.table.groupby(["variant", "year"])["pupils"].sum().unstack(0)
    assert (tot["low"] <= tot["mid"] + 1e-9).all()
    assert (tot["mid"] <= tot["high"] + 1e-9).all()
