"""Writing a district folder: TOML by hand, file contents, atomicity, refusal, round trip."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import planner.writer as writer
from planner.generate import generator_metadata, make_district
from planner.io import load_district, load_district_with_warnings
from planner.model import UNIT_COLUMNS, District
from planner.policy import Policy
from planner.writer import to_toml, write_district

#: "tiny": 120 units, 3 primary + 2 secondary schools, 60 teachers, seed 5.
TINY = dict(units=120, primary_schools=3, secondary_schools=2, teachers=60, seed=5)


@pytest.fixture(scope="module")
def tiny() -> District:
    return make_district(**TINY, history_years=3)  # type: ignore[arg-type]


# -- TOML ----------------------------------------------------------------------------------------
def test_toml_round_trips_tricky_values() -> None:
    data = {
        "name": 'Say "hi"\\ to 县\n\ttab\x01',
        "n": 3,
        "flag": True,
        "ratio": 0.1,
        "big": 1e300,
        "missing": float("nan"),
        "far": float("-inf"),
        "bands": (1000.0, 2000.0),
        "subjects": ["pe", "music"],
        "np": np.int64(7),
        "a key": "quoted key",
        "policy": {"cap": {"primary": 45, "junior": 50}, "x": 1, "deep": {"a": {"b": 2}}},
        "empty": {},
        "rows": [{"a": 1, "b": "x"}],
    }
    back = tomllib.loads(to_toml(data))
    assert back["name"] == data["name"]
    assert back["n"] == 3 and back["flag"] is True and back["np"] == 7
    assert back["ratio"] == 0.1 and back["big"] == 1e300
    assert math.isnan(back["missing"]) and back["far"] == float("-inf")
    assert back["bands"] == [1000.0, 2000.0] and back["subjects"] == ["pe", "music"]
    assert back["a key"] == "quoted key"
    assert back["policy"] == {"cap": {"primary": 45, "junior": 50}, "x": 1, "deep": {"a": {"b": 2}}}
    assert back["empty"] == {}
    assert back["rows"] == [{"a": 1, "b": "x"}]


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(
            st.text(max_size=12),
            st.integers(-(2**63), 2**63 - 1),
            st.booleans(),
            st.floats(allow_nan=False),
            st.lists(st.integers(-5, 5), max_size=3),
        ),
        max_size=6,
    )
)
def test_toml_round_trips_any_flat_table(data: dict[str, object]) -> None:
    assert tomllib.loads(to_toml({"t": data})) == {"t": data}


def test_toml_refuses_none() -> None:
    with pytest.raises(TypeError, match="cannot write NoneType"):
        to_toml({"a": None})


# -- what is written ---------------------------------------------------------------------------
def test_writes_the_documented_files(tiny: District, tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    files = write_district(tiny, out, generator=generator_metadata(**TINY, history_years=3))  # type: ignore[arg-type]
    names = [p.name for p in files]
    assert names == [
        "district.toml",
        "schools.csv",
        "units.geojson",
        "teachers.csv",
        "births.csv",
        "enrolment_history.csv",
        "housing.csv",
        "zones.csv",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert not list(tmp_path.glob(".tiny*"))  # no temp folder left behind


def test_district_toml_has_settings_policy_and_generator(tiny: District, tmp_path: Path) -> None:
    meta = generator_metadata(**TINY, history_years=3)  # type: ignore[arg-type]
    write_district(tiny, tmp_path / "d", generator=meta)
    doc = tomllib.loads((tmp_path / "d" / "district.toml").read_text(encoding="utf-8"))
    assert doc["name"] == "Sample County"
    assert doc["crs"] == "EPSG:32650" and doc["travel_unit"] == "m"
    assert Policy.from_mapping(doc["policy"]) == tiny.policy
    assert doc["policy"]["class_size_cap"] == {"primary": 45, "junior": 50}
    assert doc["generator"]["seed"] == 5 and doc["generator"]["units"] == 120
    assert doc["generator"]["progression"] == meta["progression"]


def test_policy_changes_are_written(tiny: District, tmp_path: Path) -> None:
    d = tiny.with_tables(policy=tiny.policy.with_value("class_size_cap.junior", 45))
    write_district(d, tmp_path / "d")
    doc = tomllib.loads((tmp_path / "d" / "district.toml").read_text(encoding="utf-8"))
    assert doc["policy"]["class_size_cap"]["junior"] == 45
    assert "generator" not in doc


def test_schools_csv_has_metres_and_lonlat(tiny: District, tmp_path: Path) -> None:
    write_district(tiny, tmp_path / "d")
    s = pd.read_csv(tmp_path / "d" / "schools.csv")
    assert (s["x"].to_numpy() == tiny.schools["x"].to_numpy()).all()
    assert s["lon"].between(116.5, 118.0).all() and s["lat"].between(31.0, 32.6).all()


def test_units_geojson_is_wgs84_with_every_unit_column(tiny: District, tmp_path: Path) -> None:
    write_district(tiny, tmp_path / "d")
    g = gpd.read_file(tmp_path / "d" / "units.geojson", engine="pyogrio")
    assert g.crs is not None and g.crs.to_epsg() == 4326
    lon, lat = g.geometry.iloc[0].exterior.coords[0]
    assert 116 < lon < 119 and 31 < lat < 33
    assert [c.name for c in UNIT_COLUMNS] == [c for c in g.columns if c != "geometry"]
    back = g.to_crs(tiny.crs).geometry.to_numpy()
    assert (shapely.hausdorff_distance(back, tiny.units.geometry.to_numpy()) < 0.05).all()
    assert g["locked"].dtype == bool


def test_travel_and_adjacency_only_when_present(tiny: District, tmp_path: Path) -> None:
    write_district(tiny, tmp_path / "a")
    assert not (tmp_path / "a" / "travel.csv").exists()
    u, s = tiny.units["unit_id"].iloc[:2].tolist(), tiny.schools["school_id"].iloc[0]
    travel = pd.DataFrame({"unit_id": u, "school_id": [s, s], "cost": [100.0, 250.5]})
    adjacency = pd.DataFrame({"unit_a": [u[0]], "unit_b": [u[1]]})
    write_district(tiny.with_tables(travel=travel, adjacency=adjacency), tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b" / "travel.csv"), travel)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b" / "adjacency.csv"), adjacency)


# -- refusing, replacing, atomicity ----------------------------------------------------------
def test_refuses_a_non_empty_folder(tiny: District, tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty; pass overwrite=True"):
        write_district(tiny, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_refuses_a_file(tiny: District, tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.write_text("x")
    with pytest.raises(FileExistsError, match="is not a folder"):
        write_district(tiny, out)


def test_fills_an_empty_folder_and_overwrites_when_asked(tiny: District, tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    write_district(tiny, out)
    (out / "stale.csv").write_text("a\n1\n")
    write_district(tiny, out, overwrite=True)
    assert not (out / "stale.csv").exists() and (out / "district.toml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def _fail_on_teachers(monkeypatch: pytest.MonkeyPatch) -> None:
    real = writer._write_csv

    def flaky(df: pd.DataFrame, path: Path) -> None:
        if path.name == "teachers.csv":
            raise OSError("disk full")
        real(df, path)

    monkeypatch.setattr(writer, "_write_csv", flaky)


def test_a_failure_mid_write_leaves_nothing(
    tiny: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_on_teachers(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        write_district(tiny, tmp_path / "d")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_overwrite_keeps_the_old_folder(
    tiny: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "old.txt").write_text("old")
    _fail_on_teachers(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        write_district(tiny, out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_bad_arguments(tiny: District, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="units_format must be one of"):
        write_district(tiny, tmp_path / "a", units_format="shp")
    bad = tiny.with_tables(extra={**tiny.extra, "../evil": pd.DataFrame({"a": [1]})})
    with pytest.raises(ValueError, match="not a free plain file stem"):
        write_district(bad, tmp_path / "b")
    clash = tiny.with_tables(extra={"schools": pd.DataFrame({"a": [1]})})
    with pytest.raises(ValueError, match="not a free plain file stem"):
        write_district(clash, tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


# -- round trip through planner.io ------------------------------------------------------------
def _assert_round_trip(a: District, b: District) -> None:
    assert (b.name, b.crs, b.travel_unit, b.policy) == (a.name, a.crs, a.travel_unit, a.policy)
    pd.testing.assert_frame_equal(a.schools, b.schools)
    ua = pd.DataFrame(a.units.drop(columns="geometry"))
    ub = pd.DataFrame(b.units.drop(columns="geometry"))
    # x,y are recomputed from the polygons, which GeoJSON stores to about 1 cm
    pd.testing.assert_frame_equal(ua, ub, check_exact=False, rtol=0, atol=0.05)
    hd = shapely.hausdorff_distance(a.units.geometry.to_numpy(), b.units.geometry.to_numpy())
    assert (hd < 0.05).all()
    assert a.teachers is not None and b.teachers is not None
    pd.testing.assert_frame_equal(a.teachers, b.teachers)
    assert a.extra.keys() == b.extra.keys()
    for k in a.extra:
        pd.testing.assert_frame_equal(a.extra[k], b.extra[k], check_dtype=False)


@pytest.mark.parametrize("units_format", ["geojson", "gpkg"])
def test_round_trip_through_load_district(
    tiny: District, tmp_path: Path, units_format: str
) -> None:
    write_district(tiny, tmp_path / "d", units_format=units_format, generator=generator_metadata())
    back, problems = load_district_with_warnings(tmp_path / "d")
    assert problems == []
    _assert_round_trip(tiny, back)


def test_round_trip_of_the_default_county(tmp_path: Path) -> None:
    d = make_district()
    write_district(d, tmp_path / "d")
    _assert_round_trip(d, load_district(tmp_path / "d"))


def test_csv_units_load_back_as_points(tiny: District, tmp_path: Path) -> None:
    write_district(tiny, tmp_path / "d", units_format="csv")
    back = load_district(tmp_path / "d")
    assert np.allclose(back.unit_xy(), tiny.unit_xy())
    pd.testing.assert_series_equal(back.units["current_junior"], tiny.units["current_junior"])


def test_toml_key_with_a_trailing_newline_is_quoted() -> None:
    # re's "$" matches before a final newline: such a key must not be written bare
    assert tomllib.loads(to_toml({"t": {"a\n": 1}})) == {"t": {"a\n": 1}}
