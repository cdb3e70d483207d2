"""The sample county generator: determinism, shape invariants, the story, history truth, CLI."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from typer.testing import CliRunner

from api.cli_generate import register, split_schools
from planner.generate import (
    ASSUMPTIONS,
    BASE_YEAR,
    CRS,
    county_boundary,
    generator_metadata,
    make_district,
)
from planner.model import (
    BACKBONE_LEVELS,
    SCHOOL_COLUMNS,
    SUBJECTS,
    TEACHER_COLUMNS,
    UNIT_COLUMNS,
    Column,
    District,
)
from planner.policy import LEVELS

#: "small": 300 units, 8 primary + 4 secondary schools, 400 teachers, seed 7 (fast to build).
SMALL = dict(units=300, primary_schools=8, secondary_schools=4, teachers=400, seed=7)


@pytest.fixture(scope="module")
def county() -> District:
    """The default county: 1,500 units, 40 primary + 20 secondary schools, 3,000 teachers."""
    return make_district()


@pytest.fixture(scope="module")
def small() -> District:
    return make_district(**SMALL)  # type: ignore[arg-type]


def _utilisation(d: District, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(assigned pupils, seats, is-open) per school for ``level`` under today's catchments."""
    cur = d.current(level)  # type: ignore[arg-type]
    ok = cur >= 0
    dem = np.bincount(cur[ok], weights=d.pupils(level)[ok], minlength=len(d.schools))  # type: ignore[arg-type]
    return dem, d.seats(level).astype(float), (d.schools["status"] == "open").to_numpy()  # type: ignore[arg-type]


def _dtype_ok(series: pd.Series, col: Column) -> bool:
    if col.kind == "str":
        return pd.api.types.is_string_dtype(series)
    return series.dtype == {"int": np.int64, "float": np.float64, "bool": np.bool_}[col.kind]


def _assert_invariants(d: District, teachers: int, seed: int) -> None:
    """Shape rules that must hold for any arguments."""
    u, s, t = d.units, d.schools, d.teachers
    assert t is not None
    # columns and dtypes exactly as planner.model says
    for table, cols in ((s, SCHOOL_COLUMNS), (u, UNIT_COLUMNS), (t, TEACHER_COLUMNS)):
        assert [c.name for c in cols] == [c for c in table.columns if c != "geometry"]
        for c in cols:
            assert _dtype_ok(table[c.name], c), (c.name, table[c.name].dtype)
    # ids unique
    for table, col in ((u, "unit_id"), (s, "school_id"), (t, "teacher_id")):
        assert table[col].is_unique
    # grades add up; nothing negative; migrants are among the pupils
    g = u[[f"g{k}" for k in range(1, 10)]].to_numpy()
    assert (g >= 0).all()
    assert (g[:, :6].sum(axis=1) == u["pupils_primary"]).all()
    assert (g[:, 6:].sum(axis=1) == u["pupils_junior"]).all()
    assert (u["migrant_pupils"] <= u["pupils_primary"] + u["pupils_junior"]).all()
    # today's schools exist, are open and teach the level
    for level in LEVELS:
        cur = d.current(level)
        has = u[f"current_{level}"] != ""
        assert (cur[has.to_numpy()] >= 0).all()
        assert d.serves(level)[cur[cur >= 0]].all()
        assert (s["status"].to_numpy()[cur[cur >= 0]] == "open").all()
        # units without a catchment have no pupils (parks, industry)
        assert (u.loc[~has, f"pupils_{level}"] == 0).all()
    # polygons valid and inside the county; x,y inside their own unit
    geoms = u.geometry.to_numpy()
    assert (shapely.get_type_id(geoms) == 3).all()
    assert shapely.is_valid(geoms).all()
    assert shapely.covers(county_boundary(len(u), seed).buffer(1.0), geoms).all()
    assert shapely.covers(geoms, shapely.points(u[["x", "y"]].to_numpy())).all()
    # teachers work at open schools and look like people
    assert len(t) == teachers
    open_ids = set(s.loc[s["status"] == "open", "school_id"])
    assert set(t["school_id"]) <= open_ids
    assert set(t["subject"]) <= set(SUBJECTS)
    assert set(t["backbone"]) <= set(BACKBONE_LEVELS)
    assert set(t["gender"]) <= {"F", "M"}
    assert t["age"].between(22, 60).all()
    assert (t.loc[t["gender"] == "F", "age"] <= 55).all()
    assert (t["years_at_school"] >= 0).all()
    assert (t["years_at_school"] <= t["age"] - 22).all()
    assert set(t["exempt_reason"]) <= {"", *ASSUMPTIONS.exempt_weights}


# -- determinism ----------------------------------------------------------------------------------
def _assert_same(a: District, b: District) -> None:
    pd.testing.assert_frame_equal(a.schools, b.schools)
    pd.testing.assert_frame_equal(a.units, b.units)
    pd.testing.assert_frame_equal(a.teachers, b.teachers)
    assert a.extra.keys() == b.extra.keys()
    for k in a.extra:
        pd.testing.assert_frame_equal(a.extra[k], b.extra[k])


def test_same_seed_gives_identical_tables(small: District) -> None:
    _assert_same(small, make_district(**SMALL))  # type: ignore[arg-type]


def test_different_seed_gives_different_county(small: District) -> None:
    other = make_district(**{**SMALL, "seed": 8})  # type: ignore[arg-type]
    assert not small.units["pupils_primary"].equals(other.units["pupils_primary"])
    assert not np.allclose(small.school_xy(), other.school_xy())
    assert not county_boundary(300, 7).equals(county_boundary(300, 8))


def test_metadata_is_deterministic_and_names_the_arguments() -> None:
    m = generator_metadata(**SMALL)  # type: ignore[arg-type]
    assert m == generator_metadata(**SMALL)  # type: ignore[arg-type]
    assert (m["units"], m["primary_schools"], m["secondary_schools"], m["seed"]) == (300, 8, 4, 7)
    assert m["base_year"] == 2025
    assert sorted(m["progression"]) == [f"g{g}" for g in range(2, 10)]
    lo, hi = ASSUMPTIONS.progression_range
    assert all(lo <= r <= hi for r in m["progression"].values())
    assert 0.93 <= m["birth_to_entry_ratio"] <= 0.97


# -- shape invariants -------------------------------------------------------------------------
def test_default_county_invariants(county: District) -> None:
    _assert_invariants(county, 3000, seed=0)


def test_small_county_invariants(small: District) -> None:
    _assert_invariants(small, 400, seed=7)


def test_ids_look_like_the_documented_ones(county: District) -> None:
    assert county.units["unit_id"].iloc[0] == "U00001"
    assert county.units["unit_id"].iloc[-1] == "U01500"
    assert county.schools["school_id"].iloc[0] == "S001"
    assert county.teachers is not None and county.teachers["teacher_id"].iloc[-1] == "T03000"
    assert county.schools["name"].is_unique


def test_county_sits_near_hefei_and_has_the_default_size(county: District) -> None:
    assert county.crs == CRS == "EPSG:32650"
    minx, miny, maxx, maxy = county.units.total_bounds
    assert 30_000 < maxx - minx < 60_000 and 22_000 < maxy - miny < 45_000
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(
        (minx + maxx) / 2, (miny + maxy) / 2
    )
    assert abs(lon - 117.2) < 0.3 and abs(lat - 31.8) < 0.3


def test_units_are_small_in_the_centre_and_large_in_villages(county: District) -> None:
    zone = county.extra["zones"]["zone"].to_numpy()
    area = county.units.geometry.area.to_numpy()
    assert np.median(area[zone == "centre"]) * 5 < np.median(area[zone == "village"])
    # about 1 % locked, about 3 % of urban units without pupils
    assert 10 <= county.units["locked"].sum() <= 20
    assert 20 <= (zone == "nonresidential").sum() <= 40


def test_school_counts_split_as_asked(county: District) -> None:
    s = county.schools
    open_ = s[s["status"] == "open"]
    assert (open_["level"] == "primary").sum() == 40
    assert open_["level"].isin(["junior", "nine_year"]).sum() == 20
    assert (open_["level"] == "nine_year").sum() >= 3
    cand = s[s["status"] == "candidate"]
    assert 3 <= len(cand) <= 5
    assert (cand["open_cost"] > 0).all() and (open_["open_cost"] == 0).all()
    assert (s["classrooms_primary"] > 0).eq(s["level"] != "junior").all()
    assert (s["classrooms_junior"] > 0).eq(s["level"] != "primary").all()


# -- the story ---------------------------------------------------------------------------------
def test_seats_cover_pupils_county_wide_but_some_schools_overflow(county: District) -> None:
    for level in LEVELS:
        dem, seats, is_open = _utilisation(county, level)
        assert seats[is_open].sum() >= county.pupils(level).sum()
        assert (dem[is_open] > seats[is_open]).sum() >= 1


def test_centre_schools_are_fuller_than_village_schools(county: District) -> None:
    cat = county.schools["category"].to_numpy()
    for level in LEVELS:
        dem, seats, is_open = _utilisation(county, level)
        util = np.where(seats > 0, dem / np.maximum(seats, 1), np.nan)
        urban = np.nanmean(util[is_open & (cat == "urban")])
        village = np.nanmean(util[is_open & (cat == "village")])
        assert urban > 0.95 and village < 0.75 and urban > village + 0.3


def test_some_teaching_points_have_under_50_pupils(county: District) -> None:
    dem, seats, is_open = _utilisation(county, "primary")
    tiny = is_open & (seats > 0) & (dem < 50)
    assert tiny.sum() >= 3
    assert (county.schools.loc[tiny, "category"] == "village").all()


def test_strong_schools_and_groups(county: District) -> None:
    s = county.schools
    assert (s.loc[s["strong"], "category"] == "urban").all()
    groups = s.loc[s["group_id"] != "", ["group_id", "strong"]].groupby("group_id")["strong"]
    assert len(groups) >= 2
    assert (groups.sum() >= 1).all() and (groups.size() >= 3).all()


def test_resources_per_pupil_differ_as_documented(county: District) -> None:
    s = county.schools[county.schools["status"] == "open"]
    seats = s["classrooms_primary"] * 45 + s["classrooms_junior"] * 50
    sports = (s["sports_area_m2"] / seats).groupby(s["category"]).median()
    equip = (s["equipment_value"] / seats).groupby(s["category"]).median()
    assert sports["village"] > sports["urban"]
    assert equip["urban"] > equip["village"]


def test_migrants_live_mostly_in_estates_and_the_centre(county: District) -> None:
    zone = county.extra["zones"]["zone"]
    u = county.units
    share = (
        u["migrant_pupils"].groupby(zone).sum()
        / (u["pupils_primary"] + u["pupils_junior"]).groupby(zone).sum()
    )
    assert share["estate"] > share["centre"] > share["village"]


def test_teachers_backbone_and_pe_arts_follow_the_story(county: District) -> None:
    t = county.teachers
    assert t is not None
    s = county.schools.set_index("school_id")
    cat = s.loc[t["school_id"], "category"].to_numpy()
    strong = s.loc[t["school_id"], "strong"].to_numpy()
    backbone = (t["backbone"] != "none").to_numpy()
    assert backbone[strong].mean() > 2 * backbone[cat == "village"].mean()
    pe_arts = t["subject"].isin(county.policy.pe_arts_subjects).to_numpy()
    assert pe_arts[cat == "village"].mean() < 0.6 * pe_arts[cat == "urban"].mean()
    assert 0.65 <= (t["gender"] == "F").mean() <= 0.75
    assert 0.015 <= (t["exempt_reason"] != "").mean() <= 0.05
    assert (t["years_at_school"] >= 6).mean() >= 0.45
    home = t[["home_x", "home_y"]].to_numpy()
    assert 0.0 < np.isnan(home[:, 0]).mean() < 0.1


def test_staffing_is_roughly_at_the_policy_ratio(county: District) -> None:
    ratio = county.policy.staffing_ratio
    norm = county.pupils("primary").sum() / ratio["primary"]
    norm += county.pupils("junior").sum() / ratio["junior"]
    assert county.teachers is not None
    assert 0.8 <= len(county.teachers) / norm <= 1.1


# -- forecasting truth ------------------------------------------------------------------------
def test_history_ends_in_the_current_grades(county: District) -> None:
    h = county.extra["enrolment_history"]
    assert sorted(h["year"].unique()) == list(range(2020, 2026))
    now = h[h["year"] == BASE_YEAR].pivot(index="unit_id", columns="grade", values="pupils")
    now = now.loc[county.units["unit_id"]]
    g = county.units[[f"g{k}" for k in range(1, 10)]].to_numpy()
    assert (now.to_numpy() == g).all()
    b = county.extra["births"]
    assert sorted(b["year"].unique()) == list(range(2014, 2026))


def test_history_recovers_the_true_ratios(county: District) -> None:
    meta = generator_metadata()
    h = county.extra["enrolment_history"].merge(county.extra["zones"], on="unit_id")
    cube = h.pivot_table(index=["zone", "year"], columns="grade", values="pupils", aggfunc="sum")
    # birth-to-entry: grade 1 in year y over births in y − 6
    b = county.extra["births"].groupby("year")["births"].sum()
    g1 = h[h["grade"] == 1].groupby("year")["pupils"].sum()
    ratio = g1.sum() / b.loc[g1.index - 6].sum()
    assert ratio == pytest.approx(meta["birth_to_entry_ratio"], abs=0.02)
    # progression: grade g in year y over grade g−1 in y−1, pooled over years, per zone
    for zone, mult in meta["zone_progression_multiplier"].items():
        z = cube.loc[zone]
        for g in range(2, 10):
            est = z[g].iloc[1:].sum() / z[g - 1].iloc[:-1].sum()
            truth = meta["progression"][f"g{g}"] * mult
            assert est == pytest.approx(truth, abs=0.05), (zone, g)


def test_housing_completes_2026_to_2030(county: District) -> None:
    hs = county.extra["housing"]
    assert len(hs) >= 5
    assert hs["year_complete"].between(2026, 2030).all()
    assert set(hs["type"]) <= set(county.policy.dwelling_yield)
    assert (hs["dwellings"] > 0).all()
    assert set(hs["unit_id"]) <= set(county.units["unit_id"])


# -- arguments and scale --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(units=10), "units must be at least 50"),
        (dict(primary_schools=0), "at least 1 primary"),
        (dict(units=100, primary_schools=30, secondary_schools=10), "at least 4 units per school"),
        (dict(teachers=-1), "non-negative"),
        (dict(history_years=13), "history_years must be 1..12"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_district(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=st.integers(60, 400),
    primary=st.integers(1, 8),
    secondary=st.integers(1, 5),
    teachers=st.integers(0, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_hold_for_any_small_county(
    units: int, primary: int, secondary: int, teachers: int, seed: int
) -> None:
    d = make_district(units, primary, secondary, teachers, seed, history_years=3)
    _assert_invariants(d, teachers, seed)
    for level in LEVELS:
        _, seats, is_open = _utilisation(d, level)
        assert seats[is_open].sum() >= d.pupils(level).sum()


def test_ten_thousand_units_build_quickly() -> None:
    t0 = time.perf_counter()
    d = make_district(units=10_000, primary_schools=70, secondary_schools=30, teachers=6000)
    assert time.perf_counter() - t0 < 30
    assert len(d.units) == 10_000 and len(d.teachers) == 6000  # type: ignore[arg-type]


@pytest.mark.slow
def test_fifty_thousand_units_build_within_a_minute() -> None:
    t0 = time.perf_counter()
    d = make_district(units=50_000, primary_schools=270, secondary_schools=130, teachers=50_000)
    assert time.perf_counter() - t0 < 60
    _assert_invariants(d, 50_000, seed=0)


# -- the CLI ------------------------------------------------------------------------------------
def test_split_schools() -> None:
    assert split_schools(60) == (40, 20)
    assert split_schools(400) == (267, 133)
    assert split_schools(2) == (1, 1)


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app, typer.Typer(), typer.Typer(), typer.Typer())

    @app.command("noop")
    def noop() -> None:  # a second command keeps "generate" a sub-command
        pass

    return app


def test_cli_generate_writes_a_folder_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "county"
    args = ["generate", str(out), "--units", "300", "--schools", "12", "--teachers", "400"]
    res = CliRunner().invoke(_cli(), [*args, "--seed", "7"])
    assert res.exit_code == 0, res.output
    assert "300 units" in res.output and "teachers 400" in res.output
    assert "8 primary" in res.output and "candidate sites" in res.output
    assert (out / "district.toml").is_file() and (out / "units.geojson").is_file()
    again = CliRunner().invoke(_cli(), [*args, "--seed", "8"])
    assert again.exit_code == 2 and "--overwrite" in again.output
    forced = CliRunner().invoke(_cli(), [*args, "--seed", "8", "--overwrite"])
    assert forced.exit_code == 0, forced.output
    assert "seed = 8" in (out / "district.toml").read_text(encoding="utf-8")
