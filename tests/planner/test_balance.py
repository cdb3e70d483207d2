"""Balance indicators and the enrolment-weighted coefficient of variation.

The fixture ``three_primaries`` is small enough to check by hand: three primary schools of 900,
900 and 200 pupils that are included, one of 40 pupils (under ``balance_min_pupils``) and one
closed school, both with outlandish values that would wreck the coefficients if they counted.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from planner.balance import (
    balance_report,
    indicator_totals,
    level_shares,
    school_indicators,
    unweighted_cv,
    weighted_cv,
)
from planner.model import SCHOOL_COLUMNS, TEACHER_COLUMNS, UNIT_COLUMNS, District
from planner.policy import BALANCE_INDICATORS, Level, Policy


# -- a District built directly from rows (also used by test_metrics) ---------------------------
def _table(rows: list[dict[str, Any]], columns: tuple[Any, ...]) -> pd.DataFrame:
    data: dict[str, list[Any]] = {}
    for col in columns:
        missing = [r for r in rows if col.name not in r]
        if missing and col.default is None:
            raise KeyError(f"test row lacks required column {col.name}")
        data[col.name] = [r.get(col.name, col.default) for r in rows]
    return pd.DataFrame(data)


def make_test_district(
    schools: list[dict[str, Any]],
    units: list[dict[str, Any]] | None = None,
    teachers: list[dict[str, Any]] | None = None,
    *,
    policy: Policy | None = None,
    travel: pd.DataFrame | None = None,
) -> District:
    """A District from row dicts; missing optional columns take the model's defaults."""
    units = units or []
    unit_df = _table(units, UNIT_COLUMNS)
    units_gdf = gpd.GeoDataFrame(
        unit_df,
        geometry=[Point(x, y) for x, y in zip(unit_df["x"], unit_df["y"], strict=True)],
        crs="EPSG:32650",
    )
    return District(
        name="test",
        crs="EPSG:32650",
        policy=policy or Policy(),
        schools=_table(schools, SCHOOL_COLUMNS),
        units=units_gdf,
        travel=travel,
        teachers=None if teachers is None else _table(teachers, TEACHER_COLUMNS),
    )


def teacher_rows(school_id: str, count: int, **attrs: Any) -> list[dict[str, Any]]:
    """``count`` identical teachers of one school (ids ``<school>-<attrs>-<k>``)."""
    base = {"subject": "math", "years_at_school": 3, "age": 40, "gender": "F"}
    tag = "-".join(str(v) for v in attrs.values())
    return [
        {**base, **attrs, "teacher_id": f"{school_id}-{tag}-{k}", "school_id": school_id}
        for k in range(count)
    ]


def _primary(school_id: str, **kw: Any) -> dict[str, Any]:
    return {"school_id": school_id, "level": "primary", "x": 0.0, "y": 0.0, **kw}


# Per-pupil values (pupils 900 / 900 / 200 at A / B / C):
#   teaching area   4500/900 = 5,   4500/900 = 5,    2800/200 = 14
#   sports area     1350/900 = 1.5, 5400/900 = 6,    1200/200 = 6
#   equipment       2500 each, multimedia per 100: 2700/900 = 3, 3, 400/200 = 2
#   teachers: higher-degree 5 per 100, backbone 1 per 100, PE/arts 1 per 100 everywhere
THREE_PRIMARIES = [
    _primary(
        "A",
        teaching_area_m2=4500.0,
        sports_area_m2=1350.0,
        equipment_value=2_250_000.0,
        multimedia_rooms=27.0,
    ),
    _primary(
        "B",
        teaching_area_m2=4500.0,
        sports_area_m2=5400.0,
        equipment_value=2_250_000.0,
        multimedia_rooms=27.0,
    ),
    _primary(
        "C",
        teaching_area_m2=2800.0,
        sports_area_m2=1200.0,
        equipment_value=500_000.0,
        multimedia_rooms=4.0,
    ),
    # 40 pupils: left out (balance_min_pupils = 50) although its values are extreme
    _primary(
        "D",
        teaching_area_m2=40_000.0,
        sports_area_m2=40_000.0,
        equipment_value=1.0,
        multimedia_rooms=40.0,
    ),
    # closed: left out
    _primary(
        "E",
        status="closed",
        teaching_area_m2=1.0,
        sports_area_m2=1.0,
        equipment_value=1.0,
        multimedia_rooms=0.0,
    ),
]
THREE_PRIMARY_PUPILS = np.array([900, 900, 200, 40, 500])
THREE_PRIMARY_TEACHERS = (
    teacher_rows("A", 9, higher_degree=True, backbone="county", subject="pe")
    + teacher_rows("A", 36, higher_degree=True, backbone="none", subject="math")
    + teacher_rows("B", 9, higher_degree=True, backbone="province", subject="art")
    + teacher_rows("B", 36, higher_degree=True, backbone="none", subject="chinese")
    + teacher_rows("C", 2, higher_degree=True, backbone="city", subject="music")
    + teacher_rows("C", 8, higher_degree=True, backbone="none", subject="chinese")
    + teacher_rows("ZZ", 5, higher_degree=True)  # unknown school: ignored
)


@pytest.fixture
def three_primaries() -> District:
    return make_test_district(THREE_PRIMARIES, teachers=THREE_PRIMARY_TEACHERS)


def _pupils(primary: np.ndarray, n_schools: int) -> dict[Level, np.ndarray]:
    return {"primary": primary, "junior": np.zeros(n_schools)}


# -- weighted_cv: hand-checked values -----------------------------------------------------------
def test_weighted_cv_hand_checked() -> None:
    # x = (5, 5, 14), n = (900, 900, 200): N = 2000, X̄ = (4500 + 4500 + 2800) / 2000 = 5.9
    # var = 0.45·0.81 + 0.45·0.81 + 0.10·65.61 = 0.729 + 6.561 = 7.29, sd = 2.7
    # CV = 2.7 / 5.9 = 0.457627...
    assert weighted_cv([5, 5, 14], [900, 900, 200]) == pytest.approx(2.7 / 5.9, abs=1e-12)
    # unweighted: mean 8, deviations (−3, −3, 6), var = 54 / 3 = 18, CV = sqrt(18) / 8 = 0.5303
    assert unweighted_cv([5, 5, 14]) == pytest.approx(math.sqrt(18) / 8, abs=1e-12)


def test_weighted_and_unweighted_verdicts_differ_against_limit() -> None:
    limit = Policy().cv_limit["primary"]  # 0.50
    # teaching area: weighted 0.4576 passes, unweighted 0.5303 would fail
    assert weighted_cv([5, 5, 14], [900, 900, 200]) <= limit < unweighted_cv([5, 5, 14])
    # sports area (1.5, 6, 6): unweighted mean 4.5, var (9 + 2.25 + 2.25)/3 = 4.5,
    # CV = sqrt(4.5)/4.5 = 0.4714 passes; weighted X̄ = (1350 + 5400 + 1200)/2000 = 3.975,
    # var = 0.45·2.475² + 0.45·2.025² + 0.1·2.025² = 5.0118750, CV = 2.23872/3.975 = 0.5632 fails
    w_cv = weighted_cv([1.5, 6, 6], [900, 900, 200])
    assert w_cv == pytest.approx(math.sqrt(5.011875) / 3.975, abs=1e-12)
    assert unweighted_cv([1.5, 6, 6]) == pytest.approx(math.sqrt(4.5) / 4.5, abs=1e-12)
    assert unweighted_cv([1.5, 6, 6]) <= limit < w_cv


def test_weighted_cv_edge_cases() -> None:
    assert weighted_cv([3.0], [10]) == 0.0  # one school
    assert weighted_cv([7, 7, 7], [1, 50, 900]) == 0.0
    assert math.isnan(weighted_cv([0, 0], [10, 20]))  # X̄ = 0: undefined
    assert math.isnan(weighted_cv([1, 2], [0, 0]))  # no weight
    assert math.isnan(weighted_cv([], []))
    assert math.isnan(weighted_cv([1.0, np.nan], [5, 5]))
    # a zero-weight school does not count, even with a nan value
    assert weighted_cv([1.0, 3.0, np.nan], [1, 1, 0]) == pytest.approx(0.5)
    assert math.isnan(unweighted_cv([]))
    with pytest.raises(ValueError, match="differ in length"):
        weighted_cv([1, 2], [1])
    with pytest.raises(ValueError, match="non-negative"):
        weighted_cv([1, 2], [1, -1])


# -- weighted_cv: invariants --------------------------------------------------------------------
values_and_weights = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0.01, 1e4), min_size=n, max_size=n),
        st.lists(st.integers(1, 5000), min_size=n, max_size=n),
    )
)


def _loop_cv(x: list[float], n: list[int]) -> float:
    total = sum(n)
    mean = sum(xi * ni for xi, ni in zip(x, n, strict=True)) / total
    var = sum(ni / total * (xi - mean) ** 2 for xi, ni in zip(x, n, strict=True))
    return math.sqrt(var) / mean


@settings(max_examples=200, deadline=None)
@given(values_and_weights)
def test_weighted_cv_matches_independent_computations(vw: tuple[list[float], list[int]]) -> None:
    x, n = vw
    cv = weighted_cv(x, n)
    mean = np.average(x, weights=n)
    cov_cv = math.sqrt(float(np.cov(x, aweights=n, bias=True))) / mean
    assert cv == pytest.approx(cov_cv, rel=1e-12, abs=1e-12)
    assert cv == pytest.approx(_loop_cv(x, n), rel=1e-12, abs=1e-12)
    assert cv >= 0


@settings(max_examples=100, deadline=None)
@given(values_and_weights, st.floats(1e-3, 1e3), st.integers(1, 1000))
def test_weighted_cv_invariances(vw: tuple[list[float], list[int]], c: float, k: int) -> None:
    x, n = vw
    cv = weighted_cv(x, n)
    assert weighted_cv(np.array(x) * c, n) == pytest.approx(cv, rel=1e-9, abs=1e-12)
    assert weighted_cv(x, np.array(n) * k) == pytest.approx(cv, rel=1e-9, abs=1e-12)
    assert weighted_cv([x[0]] * len(x), n) == pytest.approx(0.0, abs=1e-12)
    # equal weights: the weighted form is the plain one
    assert weighted_cv(x, [1] * len(x)) == pytest.approx(unweighted_cv(x), rel=1e-9, abs=1e-12)


# -- school indicators --------------------------------------------------------------------------
def test_indicator_totals_counts_teachers(three_primaries: District) -> None:
    t = indicator_totals(three_primaries).set_index("school_id")
    assert t.loc["A", "teachers"] == 45
    assert t.loc["A", "higher_degree_teachers"] == 45
    assert t.loc["A", "backbone_teachers"] == 9  # county counts (backbone_min_level = county)
    assert t.loc["A", "pe_arts_teachers"] == 9
    assert t.loc["C", "pe_arts_teachers"] == 2  # music
    assert t.loc["D", "teachers"] == 0
    # a stricter title: only city and province count
    strict = three_primaries.with_tables(policy=Policy().with_value("backbone_min_level", "city"))
    t2 = indicator_totals(strict).set_index("school_id")
    assert (t2.loc["A", "backbone_teachers"], t2.loc["B", "backbone_teachers"]) == (0, 9)
    assert t2.loc["C", "backbone_teachers"] == 2


def test_indicators_without_teachers_table_are_unknown() -> None:
    d = make_test_district(THREE_PRIMARIES)
    ind = school_indicators(d, _pupils(THREE_PRIMARY_PUPILS, 5))["primary"]
    assert ind["higher_degree_teachers_per100"].isna().all()
    assert not ind["meets_higher_degree_teachers_per100"].any()
    assert ind["teaching_area_per_pupil"].iloc[0] == 5.0
    rep = balance_report({"primary": ind}, d.policy)["primary"]
    assert math.isnan(rep["higher_degree_teachers_per100"]["cv"])
    assert rep["higher_degree_teachers_per100"]["pass"] is False
    assert rep["higher_degree_teachers_per100"]["n_schools"] == 0


def test_school_indicators_values(three_primaries: District) -> None:
    ind = school_indicators(three_primaries, _pupils(THREE_PRIMARY_PUPILS, 5))
    p = ind["primary"].set_index("school_id")
    assert list(p.index) == ["A", "B", "C", "D", "E"]
    assert ind["junior"].empty
    assert p.loc["A", "teaching_area_per_pupil"] == pytest.approx(5.0)
    assert p.loc["C", "teaching_area_per_pupil"] == pytest.approx(14.0)
    assert p.loc["A", "sports_area_per_pupil"] == pytest.approx(1.5)
    assert p.loc["C", "multimedia_rooms_per100"] == pytest.approx(2.0)
    assert p.loc["B", "higher_degree_teachers_per100"] == pytest.approx(5.0)
    assert p.loc["C", "backbone_teachers_per100"] == pytest.approx(1.0)
    assert p.loc["C", "pe_arts_teachers_per100"] == pytest.approx(1.0)
    # A and B miss only sports (7.5); C misses sports and multimedia (2.0 < 2.3)
    assert list(p["indicators_met"][["A", "B", "C"]]) == [6, 6, 5]
    assert bool(p.loc["C", "meets_teaching_area_per_pupil"])
    assert not bool(p.loc["C", "meets_multimedia_rooms_per100"])
    assert list(p["included"]) == [True, True, True, False, False]


def test_balance_report_hand_checked(three_primaries: District) -> None:
    ind = school_indicators(three_primaries, _pupils(THREE_PRIMARY_PUPILS, 5))
    rep = balance_report(ind, three_primaries.policy)
    pri = rep["primary"]
    teach = pri["teaching_area_per_pupil"]
    assert teach["cv"] == pytest.approx(2.7 / 5.9, abs=1e-12)  # 0.4576: passes
    assert teach["cv_unweighted"] == pytest.approx(math.sqrt(18) / 8, abs=1e-12)  # 0.5303
    assert teach["pass"] is True
    assert teach["mean"] == pytest.approx(5.9)
    assert teach["limit"] == 0.5
    sports = pri["sports_area_per_pupil"]
    assert sports["cv"] == pytest.approx(math.sqrt(5.011875) / 3.975, abs=1e-12)  # 0.5632
    assert sports["pass"] is False
    assert sports["cv_unweighted"] < 0.5
    # multimedia (3, 3, 2): X̄ = 5800/2000 = 2.9, var = 0.9·0.01 + 0.1·0.81 = 0.09, CV = 0.3/2.9
    assert pri["multimedia_rooms_per100"]["cv"] == pytest.approx(0.3 / 2.9, abs=1e-12)
    assert pri["multimedia_rooms_per100"]["cv_unweighted"] == pytest.approx(math.sqrt(2) / 8)
    for name in (
        "higher_degree_teachers_per100",
        "backbone_teachers_per100",
        "pe_arts_teachers_per100",
        "equipment_value_per_pupil",
    ):
        assert pri[name]["cv"] == pytest.approx(0.0, abs=1e-12)
        assert pri[name]["pass"] is True
    assert pri["n_schools"] == 3
    assert pri["schools_meeting_min"] == 2  # A and B meet 6 of 7, C meets 5
    assert pri["all_cv_pass"] is False
    assert set(BALANCE_INDICATORS) <= set(pri)
    # no junior school: nothing to judge, nothing passes
    assert rep["junior"]["n_schools"] == 0
    assert math.isnan(rep["junior"]["teaching_area_per_pupil"]["cv"])


def test_moved_teachers_change_the_indicators(three_primaries: District) -> None:
    # the rotation solver passes a moved table: send A's 9 PE teachers to C
    moved = three_primaries.teachers.copy()  # type: ignore[union-attr]
    moved.loc[moved["teacher_id"].str.startswith("A-True-county-pe"), "school_id"] = "C"
    ind = school_indicators(three_primaries, _pupils(THREE_PRIMARY_PUPILS, 5), teachers=moved)
    p = ind["primary"].set_index("school_id")
    assert p.loc["A", "pe_arts_teachers_per100"] == 0.0
    assert p.loc["C", "pe_arts_teachers_per100"] == pytest.approx(100 * 11 / 200)
    # the district's own table is untouched
    base = school_indicators(three_primaries, _pupils(THREE_PRIMARY_PUPILS, 5))
    assert base["primary"]["pe_arts_teachers_per100"].iloc[0] == pytest.approx(1.0)


def test_nine_year_school_splits_pro_rata() -> None:
    # N: 300 primary + 100 junior pupils, 8 higher-degree teachers, 2000 m² teaching area
    # shares 0.75 / 0.25: primary gets 6 teachers and 1500 m², junior 2 teachers and 500 m²
    schools = [
        {"school_id": "N", "level": "nine_year", "x": 0.0, "y": 0.0, "teaching_area_m2": 2000.0},
        {"school_id": "J", "level": "junior", "x": 0.0, "y": 0.0, "teaching_area_m2": 600.0},
    ]
    d = make_test_district(schools, teachers=teacher_rows("N", 8, higher_degree=True))
    pupils: dict[Level, np.ndarray] = {
        "primary": np.array([300, 0]),
        "junior": np.array([100, 100]),
    }
    shares = level_shares(d, pupils)
    np.testing.assert_allclose(shares["primary"], [0.75, 0.0])
    np.testing.assert_allclose(shares["junior"], [0.25, 1.0])
    ind = school_indicators(d, pupils)
    pri = ind["primary"].set_index("school_id")
    jun = ind["junior"].set_index("school_id")
    assert list(pri.index) == ["N"]
    assert pri.loc["N", "higher_degree_teachers"] == pytest.approx(6.0)
    assert jun.loc["N", "higher_degree_teachers"] == pytest.approx(2.0)
    # per-pupil values equal the school-wide ones: 800/400 = 2 per 100, 2000/400 = 5 m²
    assert pri.loc["N", "higher_degree_teachers_per100"] == pytest.approx(2.0)
    assert jun.loc["N", "higher_degree_teachers_per100"] == pytest.approx(2.0)
    assert jun.loc["N", "teaching_area_per_pupil"] == pytest.approx(5.0)
    assert jun.loc["J", "teaching_area_per_pupil"] == pytest.approx(6.0)
    assert jun.loc["J", "higher_degree_teachers_per100"] == 0.0
    # with no pupils a nine-year school splits half and half
    none: dict[Level, np.ndarray] = {"primary": np.zeros(2), "junior": np.zeros(2)}
    empty = level_shares(d, none)
    np.testing.assert_allclose(empty["primary"], [0.5, 0.0])
