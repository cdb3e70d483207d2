"""Loading district folders: normalised tables, formats (CSV, Excel, GeoJSON, GeoPackage), CRS."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import ValidationFailed
from planner.io import _spread, load_district, load_district_with_warnings
from planner.model import SCHOOL_COLUMNS, TEACHER_COLUMNS, UNIT_COLUMNS, Column
from tests.planner.tiny import tiny_schools, tiny_teachers, tiny_units, write_tiny_district

KIND_CHECK = {
    "str": pd.api.types.is_string_dtype,
    "int": lambda s: s.dtype == np.int64,
    "float": lambda s: s.dtype == np.float64,
    "bool": lambda s: s.dtype == bool,
}


def assert_normalised(df: pd.DataFrame, columns: tuple[Column, ...]) -> None:
    assert [c for c in df.columns if c != "geometry"] == [c.name for c in columns]
    for c in columns:
        assert KIND_CHECK[c.kind](df[c.name]), (c.name, df[c.name].dtype)


def test_tiny_district_loads_normalised(tmp_path: Path) -> None:
    d = load_district(write_tiny_district(tmp_path))
    assert (d.name, d.crs, d.travel_unit) == ("Tiny", "EPSG:32650", "m")
    assert_normalised(d.schools, SCHOOL_COLUMNS)
    assert_normalised(d.units, UNIT_COLUMNS)
    assert d.teachers is not None
    assert_normalised(d.teachers, TEACHER_COLUMNS)
    assert isinstance(d.units, gpd.GeoDataFrame) and d.units.crs == "EPSG:32650"
    assert d.seats("primary").tolist() == [540, 0, 270]
    assert d.seats("junior").tolist() == [0, 500, 150]
    assert d.pupils("primary").tolist() == [60, 90, 120, 30, 45, 75]
    assert d.current("junior").tolist() == [1, 1, 2, 1, 2, 2]
    # Defaults of optional columns.
    assert d.schools["status"].tolist() == ["open"] * 3
    assert d.schools["group_id"].tolist() == [""] * 3
    assert np.isnan(d.schools["capacity_primary"]).all()
    assert d.units["locked"].tolist() == [False] * 6
    assert d.teachers["exempt_reason"].tolist() == ["", "", "", "", "maternity", ""]
    assert d.teachers["higher_degree"].tolist() == [True, False, True, False, False, True]
    # Points: x,y equal the point itself; totals spread over grades (60 → 10 each).
    assert d.units.geometry.iloc[0].equals(shapely.Point(439500, 4419500))
    assert d.units.loc[0, ["g1", "g6", "g7", "g9"]].tolist() == [10, 10, 10, 10]
    assert d.travel is None and d.adjacency is None and d.extra == {}


def test_totals_spread_over_grades_lowest_first(tmp_path: Path) -> None:
    u = tiny_units()
    u[0]["pupils_primary"], u[0]["pupils_junior"] = 63, 5
    d = load_district(write_tiny_district(tmp_path, units=u))
    row = d.units.iloc[0]
    assert [row[f"g{g}"] for g in range(1, 10)] == [11, 11, 11, 10, 10, 10, 2, 2, 1]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=20), st.integers(1, 6))
def test_spread_sums_to_total_and_is_even(totals: list[int], n: int) -> None:
    total = np.array(totals, dtype=np.int64)
    g = _spread(total, n)
    assert (g.sum(axis=1) == total).all()
    assert (g.max(axis=1) - g.min(axis=1) <= 1).all()
    assert (np.diff(g, axis=1) <= 0).all()  # remainders go to the lowest grades


def test_grade_columns_give_totals(tmp_path: Path) -> None:
    u = tiny_units()
    for r in u:
        del r["pupils_primary"], r["pupils_junior"]
        for g in range(1, 10):
            r[f"g{g}"] = g
    d = load_district(write_tiny_district(tmp_path, units=u))
    assert d.pupils("primary").tolist() == [21] * 6
    assert d.pupils("junior").tolist() == [24] * 6


def test_geojson_polygons_in_wgs84_choose_utm_and_reproject(tmp_path: Path) -> None:
    # Two 0.01° squares near Beijing; no crs in district.toml, so the UTM zone (50N) is chosen.
    polys = [shapely.box(116.40, 39.90, 116.41, 39.91), shapely.box(116.41, 39.90, 116.42, 39.91)]
    units = gpd.GeoDataFrame(
        {"unit_id": ["A", "B"], "pupils_primary": [10, 20], "pupils_junior": [5, 5]},
        geometry=polys,
        crs="EPSG:4326",
    )
    schools = [
        {"school_id": "S1", "level": "nine_year", "lon": 116.405, "lat": 39.905,
         "classrooms_primary": 1, "classrooms_junior": 1},
    ]  # fmt: skip
    root = write_tiny_district(
        tmp_path, district='name = "Geo"\n', schools=schools, units=None, teachers=None
    )
    units.to_file(root / "units.geojson", driver="GeoJSON")
    d, warnings = load_district_with_warnings(root)
    assert warnings == []
    assert d.crs == "EPSG:32650"
    assert d.units.crs == "EPSG:32650"
    area = d.units.geometry.area.to_numpy()
    assert area == pytest.approx([1.11e6 * 0.853, 1.11e6 * 0.853], rel=0.02)  # ~855 m × 1110 m
    inside = shapely.contains_xy(d.units.geometry.to_numpy(), d.units["x"], d.units["y"])
    assert inside.all()
    assert d.schools.loc[0, "x"] == pytest.approx(449_140.5, abs=1)
    assert d.schools.loc[0, "y"] == pytest.approx(4_417_382.7, abs=1)


def test_gpkg_units_and_invalid_polygon_repaired(tmp_path: Path) -> None:
    bowtie = shapely.from_wkt(
        "POLYGON ((439000 4419000, 440000 4420000, 440000 4419000, 439000 4420000, 439000 4419000))"
    )
    units = gpd.GeoDataFrame(
        {"unit_id": ["A", "B"], "pupils_primary": [10, 20], "pupils_junior": [1, 2]},
        geometry=[bowtie, shapely.box(440000, 4419000, 441000, 4420000)],
        crs="EPSG:32650",
    )
    root = write_tiny_district(tmp_path, units=None, teachers=None)
    units.to_file(root / "units.gpkg", driver="GPKG")
    d, warnings = load_district_with_warnings(root)
    assert [str(w) for w in warnings] == [
        "warning: units.gpkg, row 2, column geometry: invalid polygon "
        "(Self-intersection[439500 4419500]): repaired with make_valid; check the shape"
    ]
    assert d.units.geometry.iloc[0].is_valid
    assert d.units.geometry.iloc[0].area == pytest.approx(500_000)


def test_excel_teachers_with_chinese_headers_and_values(tmp_path: Path) -> None:
    s = tiny_schools()
    hr = pd.DataFrame(
        {
            "工号": ["T1", "T2"],
            "学校": ["Alpha Primary", "S2"],  # a school name is matched to its id
            "学科": ["语文", "体育"],
            "骨干级别": ["县级", "无"],
            "高学历": ["是", "否"],
            "本校任教年限": [8, 3],
            "年龄（岁）": [40, 30],
            "性别": ["女", "男"],
        }
    )
    root = write_tiny_district(tmp_path, schools=s, teachers=None, **{"teachers.xlsx": hr})
    d, warnings = load_district_with_warnings(root)
    assert [str(w) for w in warnings] == [
        "warning: teachers.xlsx, column school_id: 1 school names: "
        "matched to school_id by the name column of schools.csv"
    ]
    assert d.teachers is not None
    t = d.teachers
    assert t["school_id"].tolist() == ["S1", "S2"]
    assert t["subject"].tolist() == ["chinese", "pe"]
    assert t["backbone"].tolist() == ["county", "none"]
    assert t["higher_degree"].tolist() == [True, False]
    assert t["gender"].tolist() == ["F", "M"]
    assert t["age"].tolist() == [40, 30]


def test_chinese_school_table_with_single_level_classrooms(tmp_path: Path) -> None:
    schools = pd.DataFrame(
        {
            "学校代码": ["S1", "S2", "S3"],
            "学校名称": ["甲小学", "乙中学", "丙学校"],
            "学段": ["小学", "初中", "九年一贯制"],
            "x坐标": [440000, 442000, 441000],
            "y坐标": [4420000, 4420000, 4422000],
            "班级数": [12, 10, ""],
            "小学班级数": ["", "", 6],
            "初中班级数": ["", "", 3],
            "状态": ["在用", "在用", "候选"],
        }
    )
    d = load_district(write_tiny_district(tmp_path, schools=schools))
    assert d.schools["level"].tolist() == ["primary", "junior", "nine_year"]
    assert d.schools["status"].tolist() == ["open", "open", "candidate"]
    assert d.schools["classrooms_primary"].tolist() == [12, 0, 6]
    assert d.schools["classrooms_junior"].tolist() == [0, 10, 3]


def test_travel_adjacency_and_extras(tmp_path: Path) -> None:
    travel = [
        {"unit_id": u["unit_id"], "school_id": s, "cost": 7.5}
        for u in tiny_units()
        for s in ("S3",)
    ]
    root = write_tiny_district(
        tmp_path,
        travel=travel,
        adjacency=[{"unit_a": "U1", "unit_b": "U2"}],
        staffing=[{"school_id": "S1", "subject": "音乐", "required": 2}],
        notes="a,b\n1,x\n",
        district='name = "Tiny"\ncrs = "EPSG:32650"\ntravel_unit = "min"\n[generator]\nseed = 3\n',
    )
    d, warnings = load_district_with_warnings(root)
    assert warnings == []
    assert d.travel_unit == "min"
    assert d.travel is not None and d.travel["cost"].tolist() == [7.5] * 6
    assert d.adjacency is not None and d.adjacency.to_dict("records") == [
        {"unit_a": "U1", "unit_b": "U2"}
    ]
    assert d.extra["staffing"].to_dict("records") == [
        {"school_id": "S1", "subject": "music", "required": 2}
    ]
    assert d.extra["notes"].to_dict("records") == [{"a": 1, "b": "x"}]


def test_policy_overrides_from_toml(tmp_path: Path) -> None:
    toml = 'name = "T"\ncrs = "EPSG:32650"\n[policy]\nclass_size_cap = { primary = 40 }\nrotation_min_years = 9\n'
    d = load_district(write_tiny_district(tmp_path, district=toml))
    assert d.policy.class_size_cap == {"primary": 40, "junior": 50}
    assert d.policy.rotation_min_years == 9
    assert d.seats("primary").tolist() == [480, 0, 240]


def test_lonlat_in_xy_without_crs_is_converted_with_warning(tmp_path: Path) -> None:
    s = tiny_schools()
    for i, r in enumerate(s):
        r["x"], r["y"] = 116.40 + 0.01 * i, 39.90
    u = tiny_units()
    for i, r in enumerate(u):
        r["x"], r["y"] = 116.40 + 0.002 * i, 39.91
    d, warnings = load_district_with_warnings(
        write_tiny_district(tmp_path, district='name = "T"\n', schools=s, units=u)
    )
    assert d.crs == "EPSG:32650"
    assert [w.file for w in warnings] == ["schools.csv", "units.csv"]
    assert str(warnings[0]) == (
        "warning: schools.csv, column x,y: lon/lat degrees: read as lon,lat (EPSG:4326) and "
        "converted to EPSG:32650; name the columns lon,lat"
    )
    assert 440_000 < d.schools.loc[0, "x"] < 460_000


def test_load_district_raises_with_every_error(tmp_path: Path) -> None:
    u = tiny_units()
    u[0]["pupils_primary"] = -1
    t = tiny_teachers()
    t[0]["gender"] = "?"
    with pytest.raises(ValidationFailed) as info:
        load_district(write_tiny_district(tmp_path, units=u, teachers=t))
    assert [(p.file, p.row, p.column) for p in info.value.problems] == [
        ("units.csv", 2, "pupils_primary"),
        ("teachers.csv", 2, "gender"),
    ]
    assert str(info.value).startswith("2 error(s) in district input:\nerror: units.csv, row 2")


def test_gbk_csv_and_blank_rows_keep_row_numbers(tmp_path: Path) -> None:
    text = "学校代码,学段,x坐标,y坐标,小学班级数,初中班级数\nS1,小学,440000,4420000,12,0\n\nS2,初中,442000,4420000,0,10\nS3,九年一贯制,441000,4422000,6,x\n"
    root = write_tiny_district(tmp_path, schools=text.encode("gb18030"))
    with pytest.raises(ValidationFailed) as info:
        load_district(root)
    assert [str(p) for p in info.value.problems] == [
        "error: schools.csv, row 5, column classrooms_junior: 'x': expected a non-negative integer",
        "warning: schools.csv, row 5, column classrooms_junior: 'S3': expected classrooms_junior "
        "or capacity_junior for an open school teaching junior",
    ]


def _grid_units(n_side: int, size: float = 100.0) -> gpd.GeoDataFrame:
    i, j = np.divmod(np.arange(n_side * n_side), n_side)
    x0, y0 = 400_000 + j * size, 4_400_000 + i * size
    geoms = shapely.box(x0, y0, x0 + size, y0 + size)
    n = n_side * n_side
    return gpd.GeoDataFrame(
        {
            "unit_id": [f"U{k}" for k in range(n)],
            "pupils_primary": np.arange(n) % 50,
            "pupils_junior": np.arange(n) % 20,
            "current_primary": "S1",
            "current_junior": "S2",
        },
        geometry=geoms,
        crs="EPSG:32650",
    )


def _time_large(tmp_path: Path, n_side: int) -> tuple[float, int]:
    root = write_tiny_district(tmp_path, units=None, teachers=None)
    _grid_units(n_side).to_file(root / "units.gpkg", driver="GPKG")
    start = time.perf_counter()
    d = load_district(root)
    return time.perf_counter() - start, len(d.units)


def test_load_5000_polygons_quickly(tmp_path: Path) -> None:
    seconds, n = _time_large(tmp_path, 71)
    assert n == 71 * 71
    assert seconds < 10


@pytest.mark.slow
def test_load_50000_polygons_well_under_a_minute(tmp_path: Path) -> None:
    seconds, n = _time_large(tmp_path, 224)
    assert n == 224 * 224
    assert seconds < 20


def test_excel_title_row_above_the_header(tmp_path: Path) -> None:
    import openpyxl

    root = write_tiny_district(tmp_path, teachers=None)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["某某县2026年义务教育学校教师信息表"])
    ws.append([])
    ws.append(["工号", "学校", "学科", "本校任教年限", "年龄（岁）", "性别"])
    ws.append(["T1", "S1", "语文", 8, 40, "女"])
    ws.append(["T2", "S2", "数学", 3, 30, "男"])
    wb.save(root / "teachers.xlsx")
    d, warnings = load_district_with_warnings(root)
    assert [str(w) for w in warnings] == [
        "warning: teachers.xlsx: header found in row 3: rows above it ignored"
    ]
    assert d.teachers is not None
    assert d.teachers["teacher_id"].tolist() == ["T1", "T2"]
    assert d.teachers["subject"].tolist() == ["chinese", "math"]
    # Row numbers stay as the spreadsheet shows them: the first data row is row 4.
    ws.append(["T3", "S3", "数学", "x", 30, "男"])
    wb.save(root / "teachers.xlsx")
    with pytest.raises(ValidationFailed) as info:
        load_district(root)
    assert [str(p) for p in info.value.problems] == [
        "warning: teachers.xlsx: header found in row 3: rows above it ignored",
        "error: teachers.xlsx, row 6, column years_at_school: 'x': expected a non-negative integer",
    ]


def test_csv_title_row_and_header_not_found(tmp_path: Path) -> None:
    body = pd.DataFrame(tiny_schools()).to_csv(index=False)
    # A title row without commas (ragged) above the header; row 5 is the third school.
    titled = "某某县学校信息表\n" + body.replace("nine_year,441000.0", "nine_year,-")
    with pytest.raises(ValidationFailed) as info:
        load_district(write_tiny_district(tmp_path / "a", schools=titled))
    assert [str(p) for p in info.value.problems] == [
        "warning: schools.csv: header found in row 2: rows above it ignored",
        "error: schools.csv, row 5, column x: '-': expected a number",
    ]
    # Header row missing altogether: a hint where the header must be, no unknown-column noise.
    headless = pd.DataFrame(tiny_schools()).to_csv(index=False, header=False)
    with pytest.raises(ValidationFailed) as info:
        load_district(write_tiny_district(tmp_path / "b", schools=headless))
    assert [str(p) for p in info.value.problems] == [
        "error: schools.csv, column school_id: column missing: expected a column school_id; "
        "the header must be in row 1 (or among the first 10 rows)",
        "error: schools.csv, column level: column missing: expected a column level; "
        "the header must be in row 1 (or among the first 10 rows)",
        "error: schools.csv, column x: column missing: expected columns x,y (metres in the "
        "district CRS) or lon,lat; the header must be in row 1 (or among the first 10 rows)",
        "warning: units.csv, column current_primary,current_junior: 12 references to "
        "schools.csv not checked: schools.csv has no school_id column",
        "warning: teachers.csv, column school_id: 6 references to schools.csv not checked: "
        "schools.csv has no school_id column",
    ]
