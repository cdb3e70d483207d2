"""The district model: schools, planning units, teachers and policy, as validated tables.

A :class:`District` is what every command works on. It is built by :func:`planner.io.load_district`
from a district folder (format v1, ``docs/formats.md``) and holds *normalised* tables: the
column names, dtypes and defaults below are guaranteed, whatever the input file looked like
(CSV, Excel with Chinese headers, GeoJSON, GeoPackage). Coordinates are in the district's
projected CRS, in metres.

Solvers never see a District: ``solvers/*`` compile it into immutable array-backed problem
objects first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.policy import GRADES, LEVELS, Level, Policy

SchoolId = str
UnitId = str
TeacherId = str

SCHOOL_LEVELS: tuple[str, ...] = ("primary", "junior", "nine_year")
SCHOOL_STATUSES: tuple[str, ...] = ("open", "candidate", "closed")
SCHOOL_CATEGORIES: tuple[str, ...] = ("urban", "town", "village")
BACKBONE_LEVELS: tuple[str, ...] = ("none", "county", "city", "province")
GENDERS: tuple[str, ...] = ("M", "F")

#: Which school levels serve which pupil level (nine-year schools serve both).
SERVES: dict[Level, tuple[str, ...]] = {
    "primary": ("primary", "nine_year"),
    "junior": ("junior", "nine_year"),
}


@dataclass(frozen=True)
class Column:
    """One column of a normalised table: name, dtype kind, default, documentation."""

    name: str
    kind: Literal["str", "int", "float", "bool"]
    required: bool
    default: object
    doc: str


#: schools table, after loading. ``x``,``y`` are always present (converted from lon/lat).
SCHOOL_COLUMNS: tuple[Column, ...] = (
    Column("school_id", "str", True, None, "Unique school id."),
    Column("name", "str", False, "", "Display name."),
    Column("level", "str", True, None, "primary | junior | nine_year (九年一贯制)."),
    Column("x", "float", True, None, "Easting in the district CRS (metres)."),
    Column("y", "float", True, None, "Northing in the district CRS (metres)."),
    Column("classrooms_primary", "int", False, 0, "Primary classrooms (seats = × cap)."),
    Column("classrooms_junior", "int", False, 0, "Junior classrooms (seats = × cap)."),
    Column("capacity_primary", "float", False, np.nan, "Primary seats; overrides classrooms."),
    Column("capacity_junior", "float", False, np.nan, "Junior seats; overrides classrooms."),
    Column("status", "str", False, "open", "open | candidate | closed."),
    Column("open_cost", "float", False, 0.0, "Cost to open a candidate school."),
    Column("max_extra_classrooms", "int", False, 0, "Classrooms that may be added."),
    Column("cost_per_classroom", "float", False, 0.0, "Cost of one added classroom."),
    Column("category", "str", False, "", "urban | town | village (for rotation direction)."),
    Column("strong", "bool", False, False, "A high-quality (优质) school, for rotation direction."),
    Column("group_id", "str", False, "", "School group (集团化办学) id, empty = none."),
    Column("teaching_area_m2", "float", False, np.nan, "Teaching and auxiliary floor area."),
    Column("sports_area_m2", "float", False, np.nan, "Sports ground area."),
    Column("equipment_value", "float", False, np.nan, "Teaching equipment value (yuan)."),
    Column("multimedia_rooms", "float", False, np.nan, "Networked multimedia classrooms."),
)

#: units table (a GeoDataFrame). ``x``,``y`` are the representative point in the district CRS.
UNIT_COLUMNS: tuple[Column, ...] = (
    Column("unit_id", "str", True, None, "Unique planning-unit id (小区, village, block)."),
    Column("x", "float", True, None, "Representative point easting (metres)."),
    Column("y", "float", True, None, "Representative point northing (metres)."),
    Column("pupils_primary", "int", True, 0, "Primary pupils living here (sum of g1–g6)."),
    Column("pupils_junior", "int", True, 0, "Junior pupils living here (sum of g7–g9)."),
    *(
        Column(f"g{g}", "int", False, 0, f"Pupils in grade {g}.")
        for g in (*GRADES["primary"], *GRADES["junior"])
    ),
    Column("current_primary", "str", False, "", "Today's primary school id, empty = none."),
    Column("current_junior", "str", False, "", "Today's junior school id, empty = none."),
    Column("locked", "bool", False, False, "Keep today's schools (1) or free to move (0)."),
    Column("migrant_pupils", "int", False, 0, "Migrant children (随迁子女) among the pupils."),
)

#: teachers table.
TEACHER_COLUMNS: tuple[Column, ...] = (
    Column("teacher_id", "str", True, None, "Unique staff id (工号)."),
    Column("name", "str", False, "", "Teacher's name (姓名), printed on the public rotation list."),
    Column("school_id", "str", True, None, "Current school."),
    Column("subject", "str", True, None, "Subject code (see SUBJECTS)."),
    Column("backbone", "str", False, "none", "none | county | city | province (骨干级别)."),
    Column("higher_degree", "bool", False, False, "Degree above the required level."),
    Column("years_at_school", "int", True, None, "Years at the current school."),
    Column("age", "int", True, None, "Age in years."),
    Column("gender", "str", True, None, "M | F."),
    Column("exempt_reason", "str", False, "", "Exemption reason; empty = none."),
    Column("home_x", "float", False, np.nan, "Home easting (metres), optional."),
    Column("home_y", "float", False, np.nan, "Home northing (metres), optional."),
    Column("last_rotated_year", "float", False, np.nan, "Year of the last rotation, optional."),
)

#: Subject codes and the Chinese names accepted for them.
SUBJECTS: dict[str, str] = {
    "chinese": "语文",
    "math": "数学",
    "english": "英语",
    "science": "科学",
    "morality": "道德与法治",
    "pe": "体育",
    "music": "音乐",
    "art": "美术",
    "it": "信息技术",
    "physics": "物理",
    "chemistry": "化学",
    "biology": "生物",
    "history": "历史",
    "geography": "地理",
    "psychology": "心理健康",
    "other": "其他",
}


@dataclass(frozen=True)
class District:
    """A validated district: normalised tables plus policy.

    Attributes
    ----------
    name : str
        District name from ``district.toml``.
    crs : str
        Projected CRS in metres (e.g. ``"EPSG:32650"``).
    travel_unit : {"m", "min"}
        Unit of ``travel.cost``; straight-line distances are metres.
    policy : Policy
        Policy numbers (defaults overridden by ``[policy]``).
    schools : pandas.DataFrame
        One row per school, columns :data:`SCHOOL_COLUMNS`, in file order.
    units : geopandas.GeoDataFrame
        One row per planning unit, columns :data:`UNIT_COLUMNS` plus ``geometry``.
    travel : pandas.DataFrame or None
        ``unit_id, school_id, cost``; when present only these pairs are allowed.
    adjacency : pandas.DataFrame or None
        ``unit_a, unit_b`` as given; ``None`` means "compute from geometry".
    teachers : pandas.DataFrame or None
        One row per teacher, columns :data:`TEACHER_COLUMNS`.
    root : pathlib.Path or None
        The folder it was loaded from.
    extra : dict
        Optional extra tables by file stem (``staffing``, ``couples``, ``preferences``,
        ``enrolment_history``, ``births``, ``housing``...), as read.
    """

    name: str
    crs: str
    policy: Policy
    schools: pd.DataFrame
    units: gpd.GeoDataFrame
    travel_unit: Literal["m", "min"] = "m"
    travel: pd.DataFrame | None = None
    adjacency: pd.DataFrame | None = None
    teachers: pd.DataFrame | None = None
    root: Path | None = None
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    # -- derived views -------------------------------------------------------------------
    def school_index(self) -> dict[SchoolId, int]:
        """Map school id to its row position."""
        return {s: i for i, s in enumerate(self.schools["school_id"])}

    def unit_index(self) -> dict[UnitId, int]:
        """Map unit id to its row position."""
        return {u: i for i, u in enumerate(self.units["unit_id"])}

    def serves(self, level: Level) -> np.ndarray:
        """Boolean mask over schools: the school teaches ``level`` (nine-year serves both)."""
        return self.schools["level"].isin(SERVES[level]).to_numpy()

    def seats(self, level: Level) -> np.ndarray:
        """Seats per school for ``level``: capacity column if given, else classrooms × cap.

        Schools that do not teach ``level`` have 0 seats. Closed schools keep their seats here;
        solvers decide what ``status`` means.
        """
        cap = self.policy.class_size_cap[level]
        rooms = self.schools[f"classrooms_{level}"].to_numpy(dtype=float)
        given = self.schools[f"capacity_{level}"].to_numpy(dtype=float)
        seats = np.where(np.isnan(given), rooms * cap, given)
        return np.where(self.serves(level), seats, 0.0).round().astype(np.int64)

    def pupils(self, level: Level) -> np.ndarray:
        """Pupils per unit for ``level`` (int64)."""
        return self.units[f"pupils_{level}"].to_numpy(dtype=np.int64)

    def school_xy(self) -> np.ndarray:
        """(n_schools, 2) coordinates in metres."""
        return self.schools[["x", "y"]].to_numpy(dtype=float)

    def unit_xy(self) -> np.ndarray:
        """(n_units, 2) representative-point coordinates in metres."""
        return self.units[["x", "y"]].to_numpy(dtype=float)

    def current(self, level: Level) -> np.ndarray:
        """Today's school position per unit for ``level``; -1 where none or unknown."""
        idx = self.school_index()
        return np.array(
            [idx.get(s, -1) if s else -1 for s in self.units[f"current_{level}"]], dtype=np.int64
        )

    def with_tables(self, **changes: object) -> District:
        """Return a copy with some fields replaced (scenario edits build on this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


__all__ = [
    "BACKBONE_LEVELS",
    "District",
    "GENDERS",
    "LEVELS",
    "SCHOOL_CATEGORIES",
    "SCHOOL_COLUMNS",
    "SCHOOL_LEVELS",
    "SCHOOL_STATUSES",
    "SERVES",
    "SUBJECTS",
    "TEACHER_COLUMNS",
    "UNIT_COLUMNS",
    "Column",
    "SchoolId",
    "TeacherId",
    "UnitId",
]
