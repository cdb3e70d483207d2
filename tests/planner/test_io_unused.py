"""A command that does not read a table is not stopped by that table's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import ValidationFailed
from planner.io import FORECAST_TABLES, HR_TABLES, inspect_folder, load_district
from tests.planner.tiny import tiny_teachers, write_tiny_district


def _broken_teachers(tmp_path: Path) -> Path:
    rows = tiny_teachers()
    rows[1]["school_id"] = "S99"  # row 3: an unknown school
    for r in rows:
        r.pop("subject")  # the column is missing
    return write_tiny_district(tmp_path, teachers=rows)


def test_broken_hr_file_blocks_a_full_load(tmp_path: Path) -> None:
    root = _broken_teachers(tmp_path)
    with pytest.raises(ValidationFailed) as exc:
        load_district(root)
    assert {p.file for p in exc.value.problems if p.severity == "error"} == {"teachers.csv"}


def test_broken_hr_file_is_skipped_when_unused(tmp_path: Path) -> None:
    root = _broken_teachers(tmp_path)
    res = inspect_folder(root, HR_TABLES + FORECAST_TABLES)
    assert res.district is not None
    assert res.district.teachers is None
    assert len(res.district.units) == 6
    teacher_problems = [p for p in res.problems if p.file == "teachers.csv"]
    assert teacher_problems, "the problems are still reported"
    assert all(p.severity == "warning" for p in teacher_problems)
    assert all("this command does not read teachers.csv" in p.expected for p in teacher_problems)


def test_errors_in_used_tables_still_block(tmp_path: Path) -> None:
    root = write_tiny_district(tmp_path)
    units = (root / "units.csv").read_text().replace(",60,", ",-60,", 1)
    (root / "units.csv").write_text(units)
    with pytest.raises(ValidationFailed) as exc:
        load_district(root, HR_TABLES)
    assert any(p.file == "units.csv" and p.severity == "error" for p in exc.value.problems)
