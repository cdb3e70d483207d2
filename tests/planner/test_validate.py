"""Validation: every kind of problem with its exact message, all problems in one run, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.errors import Problem
from planner.validate import (
    MAX_SAME_PROBLEMS,
    SHOWN_SAME_PROBLEMS,
    cap_repeats,
    validate_folder,
    validate_report,
)
from tests.planner.tiny import (
    TINY_TOML,
    tiny_schools,
    tiny_teachers,
    tiny_units,
    write_tiny_district,
)


def lines(root: Path) -> list[str]:
    return [str(p) for p in validate_folder(root)]


def test_tiny_district_is_clean(tmp_path: Path) -> None:
    report = validate_report(write_tiny_district(tmp_path))
    assert report.problems == []
    assert report.summary() == "0 errors, 0 warnings in 4 files"


# -- one test per kind of problem, exact wording ------------------------------------------
def test_duplicate_id_names_first_row(tmp_path: Path) -> None:
    s = tiny_schools()
    s[2]["school_id"] = "S1"
    s[2]["level"] = "primary"
    u = tiny_units()
    for r in u:
        r["current_primary"], r["current_junior"] = "S1", "S2"
    got = lines(write_tiny_district(tmp_path, schools=s, units=u, teachers=None))
    assert got == [
        "error: schools.csv, row 4, column school_id: 'S1': expected a unique school_id (first in row 2)"
    ]


def test_unknown_current_school(tmp_path: Path) -> None:
    u = tiny_units()
    u[0]["current_primary"] = "S9"
    assert lines(write_tiny_district(tmp_path, units=u)) == [
        "error: units.csv, row 2, column current_primary: 'S9': expected a school_id from schools.csv"
    ]


def test_negative_and_non_integer_counts(tmp_path: Path) -> None:
    u = tiny_units()
    u[5]["pupils_primary"] = -3
    u[1]["pupils_junior"] = 2.5
    u[2]["pupils_junior"] = "many"
    assert lines(write_tiny_district(tmp_path, units=u)) == [
        "error: units.csv, row 3, column pupils_junior: '2.5': expected a non-negative integer",
        "error: units.csv, row 4, column pupils_junior: 'many': expected a non-negative integer",
        "error: units.csv, row 7, column pupils_primary: '-3': expected a non-negative integer",
    ]


def test_unknown_level(tmp_path: Path) -> None:
    s = tiny_schools()
    s[1]["level"] = "senior"
    u = [dict(r, current_junior="S3") for r in tiny_units()]
    assert lines(write_tiny_district(tmp_path, schools=s, units=u)) == [
        "error: schools.csv, row 3, column level: 'senior': "
        "expected one of primary, junior, nine_year (or 小学, 初中, 九年一贯制)"
    ]


def test_missing_required_column_suggests_closest(tmp_path: Path) -> None:
    u = [
        {("pupil_primary" if k == "pupils_primary" else k): v for k, v in r.items()}
        for r in tiny_units()
    ]
    got = lines(write_tiny_district(tmp_path, units=u))
    assert got == [
        "warning: units.csv, column pupil_primary: unknown column: ignored; did you mean 'pupils_primary'?",
        "warning: units.csv, column pupils_primary: column missing: "
        "primary pupils taken as 0 (no pupils_primary or g1…g6 columns)",
    ]
    t = [
        {("years" if k == "years_at_school" else k): v for k, v in r.items()}
        for r in tiny_teachers()
    ]
    got = lines(write_tiny_district(tmp_path, units=tiny_units(), teachers=t))
    assert (
        "error: teachers.csv, column years_at_school: column missing: "
        "expected a column years_at_school; did you mean 'years'?"
    ) in got


def test_invalid_polygon_is_repaired_with_warning_or_rejected(tmp_path: Path) -> None:
    bowtie = (
        "POLYGON ((439000 4419000, 440000 4420000, 440000 4419000, 439000 4420000, 439000 4419000))"
    )
    flat = "POLYGON ((439000 4419000, 440000 4419000, 441000 4419000, 439000 4419000))"
    u = tiny_units()
    for r in u:
        r.pop("x"), r.pop("y")
        r["wkt"] = "POLYGON ((439000 4419000, 439500 4419000, 439500 4419500, 439000 4419000))"
    u[0]["wkt"], u[1]["wkt"] = bowtie, flat
    got = lines(write_tiny_district(tmp_path, units=u))
    assert got == [
        "warning: units.csv, row 2, column geometry: invalid polygon (Self-intersection[439500 4419500]): "
        "repaired with make_valid; check the shape",
        "error: units.csv, row 3, column geometry: invalid polygon (Self-intersection[440000 4419000]): "
        "expected a polygon that is not empty after repair",
    ]


def test_lonlat_given_as_xy_in_utm(tmp_path: Path) -> None:
    s = tiny_schools()
    for r in s:
        r["x"], r["y"] = 116.4, 39.9
    u = tiny_units()
    u[3]["x"], u[3]["y"] = 116.41, 39.91
    got = lines(write_tiny_district(tmp_path, schools=s, units=u))
    assert got == [
        "error: schools.csv, column x,y: values like '116.4, 39.9': expected metres in EPSG:32650; "
        "these look like lon/lat degrees: name the columns lon,lat",
        "error: units.csv, row 5, column x,y: '116.41, 39.91': "
        "expected metres in the district CRS; this looks like lon/lat degrees",
    ]


def test_point_outside_area_of_use(tmp_path: Path) -> None:
    u = tiny_units()
    u[0]["x"] = -4_000_000.0
    assert lines(write_tiny_district(tmp_path, units=u)) == [
        "error: units.csv, row 2, column x,y: '-4e+06, 4.4195e+06': expected a point inside "
        "the area of use of EPSG:32650 (lon 114…120, lat 0…84)"
    ]


def test_travel_pairs_with_unknown_ids_and_stranded_units(tmp_path: Path) -> None:
    travel = [
        {"unit_id": f"U{i}", "school_id": s, "cost": 100}
        for i in range(1, 7)
        for s in ("S1", "S2", "S3")
        if i != 6
    ]
    travel += [
        {"unit_id": "U6", "school_id": "S2", "cost": 10},
        {"unit_id": "U77", "school_id": "S1", "cost": 10},
        {"unit_id": "U1", "school_id": "S8", "cost": -1},
    ]
    got = lines(write_tiny_district(tmp_path, travel=travel))
    assert got == [
        "error: units.csv, row 7, column unit_id: 'U6': expected a travel.csv pair to a school "
        "teaching primary (the unit has 75 primary pupils)",
        "error: travel.csv, row 18, column unit_id: 'U77': expected a unit_id from units.csv",
        "error: travel.csv, row 19, column school_id: 'S8': expected a school_id from schools.csv",
        "error: travel.csv, row 19, column cost: '-1': expected a non-negative number",
    ]


def test_no_school_teaches_a_level(tmp_path: Path) -> None:
    s = [r for r in tiny_schools() if r["school_id"] == "S1"]
    u = [dict(r, current_primary="S1", current_junior="") for r in tiny_units()]
    assert lines(write_tiny_district(tmp_path, schools=s, units=u, teachers=None)) == [
        "error: schools.csv, column level: no school teaches junior: expected an open or candidate "
        "school teaching junior (junior or nine_year): units.csv has 205 junior pupils"
    ]


def test_current_school_must_teach_the_level(tmp_path: Path) -> None:
    u = tiny_units()
    u[0]["current_primary"] = "S2"
    assert lines(write_tiny_district(tmp_path, units=u)) == [
        "error: units.csv, row 2, column current_primary: 'S2': "
        "expected a school teaching primary (S2 is junior)"
    ]


def test_bad_bool_gender_backbone_subject(tmp_path: Path) -> None:
    u = [dict(r, locked=0) for r in tiny_units()]
    u[1]["locked"] = "maybe"
    t = tiny_teachers()
    t[0]["gender"] = "X"
    t[1]["backbone"] = "national"
    t[2]["subject"] = "dance"
    t[3]["higher_degree"] = 2
    got = lines(write_tiny_district(tmp_path, units=u, teachers=t))
    assert got == [
        "error: units.csv, row 3, column locked: 'maybe': expected 0 or 1 (or true/false, yes/no, 是/否)",
        "error: teachers.csv, row 2, column gender: 'X': expected one of M, F (or 男, 女)",
        "error: teachers.csv, row 3, column backbone: 'national': "
        "expected one of none, county, city, province (or 无, 县级, 市级, 省级)",
        "error: teachers.csv, row 4, column subject: 'dance': expected one of chinese, math, "
        "english, science, morality, pe, music, art, it, physics, chemistry, biology, history, "
        "geography, psychology, other",
        "error: teachers.csv, row 5, column higher_degree: '2': expected 0 or 1 (or true/false, yes/no, 是/否)",
    ]


def test_grade_columns_disagree_with_total(tmp_path: Path) -> None:
    u = tiny_units()
    for r in u:
        for g in range(1, 7):
            r[f"g{g}"] = (
                r["pupils_primary"] // 6
                if g > 1
                else r["pupils_primary"] - 5 * (r["pupils_primary"] // 6)
            )
    u[2]["g3"] += 1  # total says 120, grades now sum to 121
    assert lines(write_tiny_district(tmp_path, units=u)) == [
        "error: units.csv, row 4, column pupils_primary: '120': expected the sum of g1…g6 (121)"
    ]


def test_district_toml_problems(tmp_path: Path) -> None:
    toml = (
        'name = "T"\ncrs = "EPSG:4326"\ntravel_unit = "km"\nnmae = "x"\n\n[generator]\nseed = 1\n\n'
        '[policy]\nclass_size_cap = { junior = "abc" }\nrotation_min_yaers = 3\n'
    )
    got = lines(write_tiny_district(tmp_path, district=toml))
    assert got == [
        "warning: district.toml, column nmae: unknown key: ignored; expected one of name, crs, "
        "travel_unit, policy, generator; did you mean 'name'?",
        "error: district.toml, column travel_unit: 'km': expected one of m, min",
        "error: district.toml, column crs: 'EPSG:4326': expected a projected CRS in metres, e.g. "
        "EPSG:32650 (EPSG:4326 is geographic (degrees); a projected CRS in metres is needed); "
        "or leave crs out to use the UTM zone of lon/lat data",
        "error: district.toml, column policy.class_size_cap.junior: 'abc': expected a valid value: "
        "Input should be a valid integer, unable to parse string as an integer",
        "error: district.toml, column policy.rotation_min_yaers: unknown key: "
        "expected a Policy field; did you mean 'rotation_min_years'?",
    ]


def test_missing_files_and_not_a_folder(tmp_path: Path) -> None:
    # Only the real problems: no "crs missing" after a missing district.toml, and one line
    # instead of an error for every reference to the missing schools table.
    root = write_tiny_district(tmp_path / "d", schools=None, district=None, teachers=None)
    assert lines(root) == [
        "error: district.toml: file missing: expected district.toml (it may be empty: name "
        "defaults to the folder name, crs may be left out when coordinates are lon/lat)",
        "error: schools.csv: file missing: expected one of schools.csv, schools.xlsx, "
        "schools.geojson, schools.gpkg",
        "warning: units.csv, column current_primary,current_junior: 12 references to "
        "schools.csv not checked: schools.csv is missing",
    ]
    assert lines(tmp_path / "nope") == [
        f"error: {tmp_path / 'nope'}: not a folder: expected a district folder"
    ]


def test_extra_tables_basic_checks(tmp_path: Path) -> None:
    root = write_tiny_district(
        tmp_path,
        staffing=[{"school_id": "S5", "subject": "pe", "required": -1}],
        couples=[{"teacher_a": "T1", "teacher_b": "T99"}],
        preferences=[{"teacher_id": "T1", "school_id": "S2", "rank": 0}],
        enrolment_history=[{"unit_id": "U1", "year": 2023, "grade": 10, "pupils": 5}],
        births=[{"unit_id": "U0", "year": 2018, "births": 12}],
        housing=[{"unit_id": "U1", "year_complete": 2027, "dwellings": 100, "type": "villa"}],
    )
    assert lines(root) == [
        "error: births.csv, row 2, column unit_id: 'U0': expected a unit_id from units.csv",
        "error: couples.csv, row 2, column teacher_b: 'T99': expected a teacher_id from teachers.csv",
        "error: enrolment_history.csv, row 2, column grade: '10': expected a grade from 1 to 9",
        "error: housing.csv, row 2, column type: 'villa': "
        "expected one of single_family, apartment (policy.dwelling_yield)",
        "error: preferences.csv, row 2, column rank: '0': expected a positive integer",
        "error: staffing.csv, row 2, column school_id: 'S5': expected a school_id from schools.csv",
        "error: staffing.csv, row 2, column required: '-1': expected a non-negative integer",
    ]


# -- cascades: a table that failed to load does not bury its error ---------------------------
def _births(n: int) -> list[dict[str, object]]:
    return [{"unit_id": f"U{i % 6 + 1}", "year": 2000 + i % 20, "births": 3} for i in range(n)]


def test_header_typo_in_units_is_not_buried_under_reference_errors(tmp_path: Path) -> None:
    u = [{("unti_id" if k == "unit_id" else k): v for k, v in r.items()} for r in tiny_units()]
    history = [
        {"unit_id": f"U{i % 6 + 1}", "year": 2020, "grade": 1 + i % 9, "pupils": 3}
        for i in range(300)
    ]
    travel = [{"unit_id": r["unit_id"], "school_id": "S3", "cost": 1} for r in tiny_units()]
    root = write_tiny_district(
        tmp_path, units=u, births=_births(1200), enrolment_history=history, travel=travel
    )
    assert lines(root) == [
        "error: units.csv, column unit_id: column missing: expected a column unit_id; "
        "did you mean 'unti_id'?",
        "warning: units.csv, column unti_id: unknown column: ignored; did you mean 'unit_id'?",
        "warning: travel.csv, column unit_id: 6 references to units.csv not checked: "
        "units.csv has no unit_id column",
        "warning: births.csv, column unit_id: 1,200 references to units.csv not checked: "
        "units.csv has no unit_id column",
        "warning: enrolment_history.csv, column unit_id: 300 references to units.csv not "
        "checked: units.csv has no unit_id column",
    ]


def test_required_table_with_a_header_but_no_data_rows(tmp_path: Path) -> None:
    root = write_tiny_district(
        tmp_path, units="unit_id,x,y,pupils_primary,pupils_junior\n\n", births=_births(1200)
    )
    assert lines(root) == [
        "error: units.csv: no data rows: expected at least one unit below the header",
        "warning: births.csv, column unit_id: 1,200 references to units.csv not checked: "
        "units.csv has no data rows",
    ]


def test_unreadable_table_is_one_error(tmp_path: Path) -> None:
    # 0xFF is neither UTF-8 nor GB18030.
    root = write_tiny_district(tmp_path, schools=b"school_id,level\n\xff\xfe\n", teachers=None)
    assert lines(root) == [
        "error: schools.csv: unreadable (not UTF-8 or GB18030 text): expected a readable .csv file",
        "warning: units.csv, column current_primary,current_junior: 12 references to "
        "schools.csv not checked: schools.csv could not be read",
    ]
    root = write_tiny_district(tmp_path / "empty", units="", births=_births(3))
    assert lines(root) == [
        "error: units.csv: unreadable (empty file): expected a readable .csv file",
        "warning: births.csv, column unit_id: 3 references to units.csv not checked: "
        "units.csv could not be read",
    ]


def test_missing_teachers_table_is_not_repeated_per_couple(tmp_path: Path) -> None:
    couples = [{"teacher_a": f"T{i}", "teacher_b": f"T{i + 1}"} for i in range(40)]
    root = write_tiny_district(tmp_path, teachers=None, couples=couples)
    assert lines(root) == [
        "error: couples.csv: no teachers table: expected teachers.csv or teachers.xlsx",
        "warning: couples.csv, column teacher_a,teacher_b: 80 references to teachers.csv not "
        "checked: teachers.csv is missing",
    ]


# -- runs of the same problem are cut to a readable length ----------------------------------
def test_many_identical_problems_are_capped(tmp_path: Path) -> None:
    n = 5000
    u = [
        dict(tiny_units()[0], unit_id=f"U{i}", pupils_primary=-1, pupils_junior="x" if i < 3 else 1)
        for i in range(n)
    ]
    report = validate_report(write_tiny_district(tmp_path, units=u, teachers=None))
    neg = "'-1': expected a non-negative integer"
    expected = []
    for r in range(2, 22):
        expected.append(f"error: units.csv, row {r}, column pupils_primary: {neg}")
        if r < 5:  # three bad junior cells: under the limit, all listed
            expected.append(
                f"error: units.csv, row {r}, column pupils_junior: 'x': "
                "expected a non-negative integer"
            )
    expected.append(
        "error: units.csv, column pupils_primary: … and 4,980 more rows with the same problem: "
        "expected a non-negative integer"
    )
    assert [str(p) for p in report.problems] == expected
    # The count line counts every problem, shown or not.
    assert report.summary() == "5,003 errors, 0 warnings in 3 files"


def test_cap_applies_only_above_the_limit() -> None:
    def same(n: int, column: str = "age") -> list[Problem]:
        return [Problem("t.csv", r, column, "'x'", "expected a number") for r in range(2, n + 2)]

    assert MAX_SAME_PROBLEMS == 50 and SHOWN_SAME_PROBLEMS == 20
    at_limit = same(MAX_SAME_PROBLEMS)
    assert cap_repeats(at_limit) == (at_limit, {})
    head = Problem("t.csv", None, None, "file-level", "expected something")
    other = same(3, "gender")
    shown, hidden = cap_repeats([head, *same(51), *other])
    assert shown == [
        head,
        *same(20),
        Problem(
            "t.csv", None, "age", "… and 31 more rows with the same problem", "expected a number"
        ),
        *other,
    ]
    assert hidden == {"error": 30}


# -- reachability and locked units name the real cause -----------------------------------------
def _with_closed_school() -> list[dict[str, object]]:
    s = [dict(r, status="open") for r in tiny_schools()]
    s.append(
        {"school_id": "S6", "name": "Old Primary", "level": "primary", "x": 440500.0,
         "y": 4420500.0, "classrooms_primary": 4, "classrooms_junior": 0, "status": "closed"}
    )  # fmt: skip
    return s


def test_travel_pairs_only_to_a_closed_school(tmp_path: Path) -> None:
    travel = [
        {"unit_id": r["unit_id"], "school_id": sid, "cost": 1}
        for r in tiny_units()
        for sid in ("S1", "S2", "S3")
        if r["unit_id"] != "U6"
    ]
    only_closed = [*travel, {"unit_id": "U6", "school_id": "S6", "cost": 1}]
    got = lines(write_tiny_district(tmp_path, schools=_with_closed_school(), travel=only_closed))
    assert got == [
        "error: units.csv, row 7, column unit_id: 'U6': expected a travel.csv pair to an open or "
        "candidate school teaching primary; its only travel.csv pairs are to S6, which is closed "
        "(the unit has 75 primary pupils)",
        "error: units.csv, row 7, column unit_id: 'U6': expected a travel.csv pair to a school "
        "teaching junior (the unit has 35 junior pupils)",
    ]
    mixed = [*only_closed, {"unit_id": "U6", "school_id": "S2", "cost": 1}]
    got = lines(write_tiny_district(tmp_path, schools=_with_closed_school(), travel=mixed))
    assert got == [
        "error: units.csv, row 7, column unit_id: 'U6': expected a travel.csv pair to an open or "
        "candidate school teaching primary; its only travel.csv pairs are to S6 (closed), "
        "S2 (open, teaches junior) (the unit has 75 primary pupils)",
    ]


def test_locked_unit_to_a_closed_school_or_one_of_another_level(tmp_path: Path) -> None:
    u = [dict(r, locked=0) for r in tiny_units()]
    u[0].update(locked=1, current_primary="S6")
    u[1].update(locked=1, current_junior="S1")
    u[2].update(current_primary="S6")  # not locked: it may move, no error
    got = lines(write_tiny_district(tmp_path, schools=_with_closed_school(), units=u))
    assert got == [
        "error: units.csv, row 2, column current_primary: 'S6': expected an open school "
        "teaching primary (S6 is closed): locked unit U1 cannot keep its primary school",
        "error: units.csv, row 3, column current_junior: 'S1': expected a school teaching "
        "junior (S1 is primary): locked unit U2 cannot keep its junior school",
    ]


def test_broken_district_toml_is_the_only_error(tmp_path: Path) -> None:
    root = write_tiny_district(tmp_path, district='name = "T\ncrs = "EPSG:32650"\n')
    got = lines(root)
    assert len(got) == 1
    assert got[0].startswith("error: district.toml: invalid TOML: expected valid TOML (")


# -- a district broken in many ways: everything is listed in one run ------------------------
def test_broken_district_lists_every_problem(tmp_path: Path) -> None:
    s = tiny_schools()
    s[1]["classrooms_junior"] = "ten"
    u = tiny_units()
    u[0]["unit_id"] = "U2"
    u[2]["pupils_primary"] = -3
    u[4]["current_junior"] = "S4"
    t = tiny_teachers()
    t[0]["gender"] = "X"
    t[1]["school_id"] = "S7"
    t[2]["age"] = ""
    t[3]["subject"] = "dance"
    t[5]["teacher_id"] = "T1"
    travel = [{"unit_id": u["unit_id"], "school_id": "S3", "cost": 1} for u in tiny_units()]
    travel.append({"unit_id": "U9", "school_id": "S1", "cost": "x"})
    toml = TINY_TOML + "rotation_share = 2\nfoo = 1\n"
    root = write_tiny_district(
        tmp_path, district=toml, schools=s, units=u, teachers=t, travel=travel
    )
    report = validate_report(root)
    where = {(p.file, p.row, p.column) for p in report.errors}
    expected = {
        ("district.toml", None, "policy.foo"),
        ("district.toml", None, "policy.rotation_share"),  # a share above 1
        ("schools.csv", 3, "classrooms_junior"),
        ("units.csv", 3, "unit_id"),
        ("units.csv", 4, "pupils_primary"),
        ("units.csv", 6, "current_junior"),
        ("teachers.csv", 2, "gender"),
        ("teachers.csv", 3, "school_id"),
        ("teachers.csv", 4, "age"),
        ("teachers.csv", 5, "subject"),
        ("teachers.csv", 7, "teacher_id"),
        ("travel.csv", 2, "unit_id"),  # U1 was renamed, so its travel row is unknown
        ("travel.csv", 8, "unit_id"),
        ("travel.csv", 8, "cost"),
    }
    assert expected <= where, expected - where
    assert len(report.errors) == len(expected)
    assert report.summary() == "14 errors, 1 warning in 5 files"
    # Nothing is written by validation.
    assert sorted(p.name for p in root.iterdir()) == [
        "district.toml", "schools.csv", "teachers.csv", "travel.csv", "units.csv",
    ]  # fmt: skip


# -- the CLI -------------------------------------------------------------------------------------
@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_cli_validate_clean_and_broken(tmp_path: Path, runner: CliRunner) -> None:
    from api.cli import app

    clean = write_tiny_district(tmp_path / "clean")
    res = runner.invoke(app, ["validate", str(clean)])
    assert res.exit_code == 0, res.output
    assert res.output == "0 errors, 0 warnings in 4 files\n"

    u = tiny_units()
    u[5]["pupils_primary"] = -3
    broken = write_tiny_district(
        tmp_path / "broken",
        district=TINY_TOML.replace("[policy]", "extra_key = 1\n[policy]"),
        units=u,
    )
    res = runner.invoke(app, ["validate", str(broken)])
    assert res.exit_code == 1
    assert res.output.splitlines() == [
        "warning: district.toml, column extra_key: unknown key: ignored; expected one of name, "
        "crs, travel_unit, policy, generator",
        "error: units.csv, row 7, column pupils_primary: '-3': expected a non-negative integer",
        "1 error, 1 warning in 4 files",
    ]
    res = runner.invoke(app, ["validate", "--json", str(broken)])
    assert res.exit_code == 1
    assert '"column": "pupils_primary"' in res.output


def test_cli_warnings_alone_exit_zero(tmp_path: Path, runner: CliRunner) -> None:
    from api.cli import app

    root = write_tiny_district(
        tmp_path, district=TINY_TOML.replace("[policy]", "junk = 1\n[policy]")
    )
    res = runner.invoke(app, ["validate", str(root)])
    assert res.exit_code == 0
    assert res.output.endswith("0 errors, 1 warning in 4 files\n")


def test_two_headers_for_one_column_and_two_files_for_one_table(tmp_path: Path) -> None:
    text = "school_id,学校代码,level,x,y,classrooms_primary,classrooms_junior\n" + "".join(
        f"{r['school_id']},{r['school_id']},{r['level']},{r['x']},{r['y']},"
        f"{r['classrooms_primary']},{r['classrooms_junior']}\n"
        for r in tiny_schools()
    )
    root = write_tiny_district(tmp_path, schools=text, **{"schools.xlsx": tiny_schools()})
    assert lines(root) == [
        "error: schools.csv: schools.csv, schools.xlsx: expected only one schools table",
        "error: schools.csv, column school_id: 'school_id' and '学校代码': "
        "expected one column for school_id",
    ]


def test_policy_values_out_of_range_are_refused_with_the_key(tmp_path: Path) -> None:
    toml = (
        TINY_TOML.replace("junior = 50", "junior = -5")
        + "school_size_max = 0\nmax_leave_share = -0.1\n"
    )
    root = write_tiny_district(tmp_path, district=toml)
    lines = [str(p) for p in validate_report(root).errors]
    assert lines == [
        "error: district.toml, column policy.class_size_cap.junior: '-5': expected a valid value: Input should be greater than 0",
        "error: district.toml, column policy.school_size_max: '0': expected a valid value: Input should be greater than 0",
        "error: district.toml, column policy.max_leave_share: '-0.1': expected a valid value: Input should be greater than or equal to 0",
    ]
