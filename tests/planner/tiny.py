"""A tiny, hand-checkable district folder for tests ("3 schools, 6 units, 6 teachers").

Written into a temporary folder by :func:`write_tiny_district`; variants override one file::

    from tests.planner.tiny import tiny_units, write_tiny_district

    units = tiny_units()
    units[2]["pupils_primary"] = -3                     # row 4 of units.csv
    root = write_tiny_district(tmp_path, units=units)

Numbers (class-size caps 45 / 50):

- S1 primary, 12 primary classrooms → 540 seats; S2 junior, 10 junior classrooms → 500 seats;
  S3 nine-year, 6 + 3 classrooms → 270 primary and 150 junior seats.
- Units U1–U6 on a 3 × 2 grid, 1000 m apart in x and 1500 m in y; 420 primary and 205 junior
  pupils in total. Today U1, U2, U4 go to S1/S2 and U3, U5, U6 to S3.
- Teachers T1–T6, two per school.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

TINY_CRS = "EPSG:32650"
TINY_TOML = 'name = "Tiny"\ncrs = "EPSG:32650"\n\n[policy]\nclass_size_cap = { primary = 45, junior = 50 }\n'

Rows = list[dict[str, Any]]


def tiny_schools() -> Rows:
    """The schools of the tiny district (fresh copies; change them freely)."""
    return [
        {"school_id": "S1", "name": "Alpha Primary", "level": "primary", "x": 440000.0,
         "y": 4420000.0, "classrooms_primary": 12, "classrooms_junior": 0},
        {"school_id": "S2", "name": "Beta Junior", "level": "junior", "x": 442000.0,
         "y": 4420000.0, "classrooms_primary": 0, "classrooms_junior": 10},
        {"school_id": "S3", "name": "Gamma School", "level": "nine_year", "x": 441000.0,
         "y": 4422000.0, "classrooms_primary": 6, "classrooms_junior": 3},
    ]  # fmt: skip


def tiny_units() -> Rows:
    """The planning units of the tiny district: rows 2–7 of units.csv."""
    primary = [60, 90, 120, 30, 45, 75]
    junior = [30, 45, 60, 15, 20, 35]
    cur = ["1", "1", "3", "1", "3", "3"]
    return [
        {
            "unit_id": f"U{i + 1}",
            "x": 439500.0 + 1000.0 * (i % 3),
            "y": 4419500.0 + 1500.0 * (i // 3),
            "pupils_primary": primary[i],
            "pupils_junior": junior[i],
            "current_primary": f"S{cur[i]}",
            "current_junior": "S2" if cur[i] == "1" else "S3",
        }
        for i in range(6)
    ]


def tiny_teachers() -> Rows:
    """The teachers of the tiny district: rows 2–7 of teachers.csv."""
    cols = (
        "teacher_id",
        "school_id",
        "subject",
        "backbone",
        "higher_degree",
        "years_at_school",
        "age",
        "gender",
        "exempt_reason",
    )
    rows = [
        ("T1", "S1", "chinese", "county", 1, 8, 40, "F", ""),
        ("T2", "S1", "math", "none", 0, 3, 30, "M", ""),
        ("T3", "S2", "english", "city", 1, 10, 45, "M", ""),
        ("T4", "S2", "pe", "none", 0, 7, 35, "F", ""),
        ("T5", "S3", "music", "none", 0, 2, 28, "F", "maternity"),
        ("T6", "S3", "math", "province", 1, 12, 50, "M", ""),
    ]  # fmt: skip
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _file_name(key: str) -> str:
    if key == "district":
        return "district.toml"
    return key if "." in key else f"{key}.csv"


def write_tiny_district(path: Path, **overrides: Any) -> Path:
    """Write the tiny district folder into ``path`` (created if needed) and return it.

    Parameters
    ----------
    path : pathlib.Path
        Target folder (e.g. pytest's ``tmp_path``).
    **overrides
        By file: ``district`` (district.toml), ``schools``, ``units``, ``teachers``, ``travel``,
        any other stem (written as ``<stem>.csv``) or a full name such as ``units.geojson``.
        A value may be a list of row dicts, a DataFrame, raw file text (str or bytes), or None
        to leave the file out.
    """
    path.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {
        "district.toml": TINY_TOML,
        "schools.csv": tiny_schools(),
        "units.csv": tiny_units(),
        "teachers.csv": tiny_teachers(),
    }
    for key, value in overrides.items():
        files[_file_name(key)] = value
    for name, value in files.items():
        target = path / name
        if value is None:
            target.unlink(missing_ok=True)
        elif isinstance(value, bytes):
            target.write_bytes(value)
        elif isinstance(value, str):
            target.write_text(value, encoding="utf-8")
        else:
            frame = value if isinstance(value, pd.DataFrame) else pd.DataFrame(value)
            if name.endswith(".xlsx"):
                frame.to_excel(target, index=False)
            else:
                frame.to_csv(target, index=False)
    return path


__all__ = [
    "TINY_CRS",
    "TINY_TOML",
    "tiny_schools",
    "tiny_teachers",
    "tiny_units",
    "write_tiny_district",
]
