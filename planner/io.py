"""Loading a district folder (format v1, ``docs/formats.md``) into a validated :class:`District`.

The folder holds ``district.toml``, ``schools.*`` and ``units.*`` (CSV, Excel, GeoJSON or
GeoPackage), and optionally ``teachers.*``, ``travel.csv``, ``adjacency.csv`` and extra tables
(``staffing.csv``, ``couples.csv``, ``preferences.csv``, ``enrolment_history.csv``,
``births.csv``, ``housing.csv`` and any other ``*.csv``).

Reading is two-phase: every cell is first read as text, so a bad cell can be reported exactly as
the user typed it (file, spreadsheet row, column, value), then each column is coerced to its
normalised dtype by the rules in :mod:`planner.validate`. Nothing stops at the first problem:
:func:`inspect_folder` returns every problem, :func:`load_district` raises
:class:`~planner.errors.ValidationFailed` with all of them. Nothing is ever written.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import ValidationError

from geo.crs import (
    WGS84,
    area_of_use,
    check_projected_metres,
    from_lonlat,
    is_geographic,
    looks_like_lonlat,
    outside_area_of_use,
    to_lonlat,
    utm_crs_for,
)
from planner.errors import Problem, ValidationFailed
from planner.headers import HEADER_ALIASES, map_headers, normalise_label
from planner.model import (
    SCHOOL_COLUMNS,
    SERVES,
    TEACHER_COLUMNS,
    UNIT_COLUMNS,
    Column,
    District,
)
from planner.policy import GRADES, LEVELS, Policy
from planner.validate import (
    NON_NEGATIVE_INTEGER,
    Problems,
    References,
    cap_repeats,
    check_allowed_schools,
    check_current_serves,
    check_grade_totals,
    check_unique,
    closest,
    parse_bool,
    parse_code,
    parse_float,
    parse_id,
    parse_int,
    quote,
)

TOML = "district.toml"
GEO_SUFFIXES = (".geojson", ".gpkg")
#: Accepted file suffixes per core table, in order of preference.
TABLE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "schools": (".csv", ".xlsx", ".geojson", ".gpkg"),
    "units": (".csv", ".xlsx", ".geojson", ".gpkg"),
    "teachers": (".csv", ".xlsx"),
    "travel": (".csv",),
    "adjacency": (".csv",),
}
REQUIRED_TABLES = ("schools", "units")
TOML_KEYS = ("name", "crs", "travel_unit", "policy", "generator")
TOML_MISSING = (
    "expected district.toml (it may be empty: name defaults to the folder name, "
    "crs may be left out when coordinates are lon/lat)"
)
#: A CSV or Excel header may sit in any of the first rows (below a title row, say).
HEADER_SEARCH_ROWS = 10
HEADER_HINT = f"the header must be in row 1 (or among the first {HEADER_SEARCH_ROWS} rows)"
#: The id column of each table that other tables refer to.
ID_COLUMNS = {"schools": "school_id", "units": "unit_id", "teachers": "teacher_id"}

#: Extra tables with basic checks: column -> kind (``school``/``unit``/``teacher`` = a known id,
#: ``int`` = non-negative integer, ``year``, ``grade`` (1–9), ``rank`` (≥ 1), ``subject``,
#: ``dwelling`` = a key of ``policy.dwelling_yield``).
EXTRA_SCHEMAS: dict[str, dict[str, str]] = {
    "staffing": {"school_id": "school", "subject": "subject", "required": "int"},
    "couples": {"teacher_a": "teacher", "teacher_b": "teacher"},
    "preferences": {"teacher_id": "teacher", "school_id": "school", "rank": "rank"},
    "enrolment_history": {"unit_id": "unit", "year": "year", "grade": "grade", "pupils": "int"},
    "births": {"unit_id": "unit", "year": "year", "births": "int"},
    "housing": {
        "unit_id": "unit",
        "year_complete": "year",
        "dwellings": "int",
        "type": "dwelling",
    },
}

_OWN_COLUMNS: dict[str, set[str]] = {
    "schools": {c.name for c in SCHOOL_COLUMNS} | {"lon", "lat", "classrooms", "capacity"},
    "units": {c.name for c in UNIT_COLUMNS} | {"lon", "lat", "wkt"},
    "teachers": {c.name for c in TEACHER_COLUMNS},
    "travel": {"unit_id", "school_id", "cost"},
    "adjacency": {"unit_a", "unit_b"},
    **{stem: set(schema) for stem, schema in EXTRA_SCHEMAS.items()},
}

#: Required columns per table: a row holding them all is the header row.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "schools": ("school_id", "level"),
    "units": ("unit_id",),
    "teachers": ("teacher_id", "school_id", "subject", "years_at_school", "age", "gender"),
    "travel": ("unit_id", "school_id", "cost"),
    "adjacency": ("unit_a", "unit_b"),
    **{stem: tuple(schema) for stem, schema in EXTRA_SCHEMAS.items()},
}
_REF_TABLES = {"school": "schools", "unit": "units", "teacher": "teachers"}


@dataclass
class RawTable:
    """A table read as text: canonical headers, index = spreadsheet row, optional geometry."""

    file: str
    df: pd.DataFrame
    headers: list[str]
    geometry: np.ndarray | None = None
    geo_crs: str | None = None
    #: Spreadsheet row of the header (1 unless a title row is above it).
    header_row: int = 1
    #: False when no row among the first rows looks like a header of this table.
    header_found: bool = True

    def col(self, name: str) -> pd.Series:
        """The text of column ``name``, or empty cells when the column is absent."""
        if name in self.df.columns:
            return cast(pd.Series, self.df[name])
        return pd.Series("", index=self.df.index, dtype=str)

    def has(self, *names: str) -> bool:
        """True when every named column is present."""
        return all(n in self.df.columns for n in names)


@dataclass(frozen=True)
class LoadResult:
    """What :func:`inspect_folder` found: the district (None when there are errors), every
    problem (sorted by file, then row) and the names of the files read."""

    district: District | None
    problems: list[Problem]
    files: list[str]
    #: severity -> problems left out of ``problems`` (runs of the same problem are cut)
    hidden: dict[str, int] = field(default_factory=dict)


# -- reading -------------------------------------------------------------------------------------
def _read_csv_grid(path: Path) -> pd.DataFrame:
    """Every CSV record as text, without a header (ragged records are padded with "")."""
    data = path.read_bytes()
    # Excel on Chinese Windows saves CSV as GBK; try UTF-8 (with or without BOM) first.
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("not UTF-8 or GB18030 text")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise ValueError("empty file")
    width = max(len(r) for r in rows)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)


def _geo_attributes_as_text(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for name in gdf.columns:
        if name == gdf.geometry.name:
            continue
        s = gdf[name]
        if pd.api.types.is_float_dtype(s):
            vals = s.dropna()
            if len(vals) and np.all(np.mod(vals.to_numpy(dtype=float), 1) == 0):
                s = s.astype("Int64")  # 1001.0 from a float column is the id 1001
        cols[str(name)] = s.astype(object).where(s.notna(), "").astype(str)
    return pd.DataFrame(cols, index=gdf.index)


def _canonical(table: str, headers: list[str]) -> list[str]:
    if table in HEADER_ALIASES:
        return map_headers(table, headers)
    return [normalise_label(h) for h in headers]


def _header_position(grid: pd.DataFrame, table: str) -> tuple[int, bool]:
    """Position of the header among the first rows of ``grid``, and whether it looks like one.

    Row 1 is the header when it holds every required column. Otherwise the first of the first
    :data:`HEADER_SEARCH_ROWS` rows holding the most required columns is, when it holds more than
    row 1. The header is "found" when the row chosen names any column of the table.
    """
    need = set(REQUIRED_COLUMNS.get(table, ()))
    own = _OWN_COLUMNS.get(table, set())
    top = grid.iloc[:HEADER_SEARCH_ROWS].to_numpy(dtype=str).tolist()
    if not top:
        return 0, False
    found = [set(_canonical(table, row)) for row in top]
    score = [len(need & f) for f in found]
    best = max(range(len(score)), key=lambda i: (score[i], -i))
    pos = best if score[best] > score[0] else 0
    return pos, bool(found[pos] & own)


def _split_header(grid: pd.DataFrame, pos: int) -> pd.DataFrame:
    """The rows below row ``pos`` with that row as header; empty-headed empty columns dropped."""
    names = [str(h).strip() for h in grid.iloc[pos]]
    body = grid.iloc[pos + 1 :]
    keep = [
        bool(n) or bool((body[c].astype(str).str.strip() != "").any())
        for n, c in zip(names, body.columns, strict=True)
    ]
    df = body.loc[:, keep]
    df.columns = pd.Index(
        [n or f"Unnamed: {i}" for i, (n, k) in enumerate(zip(names, keep, strict=True)) if k]
    )
    return df


def read_raw(path: Path, table: str, out: Problems) -> RawTable | None:
    """Read one table file as text with canonical headers; None when unreadable.

    ``table`` selects the header alias table (``schools``, ``units``, ``teachers``, ...); other
    tables only get their headers normalised. In CSV and Excel files the header may be below a
    title row (see :func:`_header_position`); data rows keep their spreadsheet numbers.
    """
    file = path.name
    geometry: np.ndarray | None = None
    geo_crs: str | None = None
    pos, found = 0, True
    try:
        if path.suffix.lower() in (".csv", ".xlsx"):
            if path.suffix.lower() == ".csv":
                grid = _read_csv_grid(path)
            else:
                grid = pd.read_excel(
                    path, dtype=str, sheet_name=0, header=None, keep_default_na=False
                )
            if grid.empty:
                raise ValueError("empty file")
            grid = grid.fillna("").astype(str)
            pos, found = _header_position(grid, table)
            df = _split_header(grid, pos)
        else:
            gdf = gpd.read_file(path)
            geometry = np.asarray(gdf.geometry.array, dtype=object)
            geo_crs = gdf.crs.to_string() if gdf.crs is not None else None
            df = _geo_attributes_as_text(gdf)
    except Exception as exc:  # noqa: BLE001 - every reader raises its own types
        out.error(
            file, None, None, f"unreadable ({exc})", f"expected a readable {path.suffix} file"
        )
        return None
    if pos > 0:
        out.warning(file, None, None, f"header found in row {pos + 1}", "rows above it ignored")
    headers = [str(h) for h in df.columns]
    canonical = _canonical(table, headers)
    seen: dict[str, str] = {}
    keep = []
    for orig, canon in zip(headers, canonical, strict=True):
        if canon in seen:
            out.error(
                file,
                None,
                canon,
                f"{quote(seen[canon])} and {quote(orig)}",
                f"expected one column for {canon}",
            )
            keep.append(False)
        else:
            seen[canon] = orig
            keep.append(True)
    df = df.loc[:, keep]
    df.columns = pd.Index([c for c, k in zip(canonical, keep, strict=True) if k])
    df = df.fillna("").astype(str).apply(lambda s: s.str.strip())
    # Row numbers as a spreadsheet shows them: the first data row is just below the header.
    df.index = pd.RangeIndex(pos + 2, len(df) + pos + 2)
    # Blank spreadsheet rows are skipped but keep the row numbers of the others.
    nonblank = (
        (df != "").any(axis=1).to_numpy().copy() if len(df.columns) else np.zeros(len(df), bool)
    )
    if geometry is not None:
        nonblank |= ~shapely.is_missing(geometry)
        geometry = geometry[nonblank]
    df = df.loc[nonblank]
    return RawTable(file, df, headers, geometry, geo_crs, pos + 1, found)


def _find(root: Path, stem: str, suffixes: tuple[str, ...], out: Problems) -> Path | None:
    hits = [root / f"{stem}{s}" for s in suffixes if (root / f"{stem}{s}").is_file()]
    if len(hits) > 1:
        out.error(
            hits[0].name,
            None,
            None,
            ", ".join(h.name for h in hits),
            f"expected only one {stem} table",
        )
    return hits[0] if hits else None


# -- district.toml ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Settings:
    name: str
    crs: str | None
    crs_given: bool
    travel_unit: Literal["m", "min"]
    policy: Policy
    #: False when district.toml is missing or not valid TOML (then its own error says so).
    read_ok: bool = True


def _policy_problems(exc: ValidationError, out: Problems) -> None:
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "[key]")
        column = f"policy.{loc}" if loc else "policy"
        if err["type"] == "extra_forbidden":
            hint = closest(str(err["loc"][-1]), Policy.model_fields)
            expected = "expected a Policy field" + (f"; did you mean '{hint}'?" if hint else "")
            out.error(TOML, None, column, "unknown key", expected)
        else:
            out.error(
                TOML, None, column, quote(err.get("input")), f"expected a valid value: {err['msg']}"
            )


def read_settings(root: Path, out: Problems, files: list[str]) -> _Settings:
    """Read ``district.toml`` (name, crs, travel_unit, [policy]); problems go to ``out``."""
    path = root / TOML
    data: dict[str, Any] = {}
    read_ok = False
    if not path.is_file():
        out.error(TOML, None, None, "file missing", TOML_MISSING)
    else:
        files.append(TOML)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
            read_ok = True
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            out.error(TOML, None, None, "invalid TOML", f"expected valid TOML ({exc})")
    for key in data:
        if key not in TOML_KEYS:
            hint = closest(key, TOML_KEYS)
            out.warning(
                TOML,
                None,
                key,
                "unknown key",
                f"ignored; expected one of {', '.join(TOML_KEYS)}"
                + (f"; did you mean '{hint}'?" if hint else ""),
            )
    name = data.get("name", root.name)
    if not isinstance(name, str) or not name.strip():
        out.error(TOML, None, "name", quote(name), "expected a non-empty text")
        name = root.name
    unit = data.get("travel_unit", "m")
    if unit not in ("m", "min"):
        out.error(TOML, None, "travel_unit", quote(unit), "expected one of m, min")
        unit = "m"
    crs = data.get("crs")
    crs_ok: str | None = None
    if crs is not None:
        try:
            check_projected_metres(str(crs))
            crs_ok = str(crs)
        except ValueError as exc:
            out.error(
                TOML,
                None,
                "crs",
                quote(crs),
                f"expected a projected CRS in metres, e.g. EPSG:32650 ({exc}); "
                "or leave crs out to use the UTM zone of lon/lat data",
            )
    raw_policy = data.get("policy", {})
    policy = Policy()
    if not isinstance(raw_policy, dict):
        out.error(TOML, None, "policy", quote(raw_policy), "expected a [policy] table")
    else:
        try:
            policy = Policy.from_mapping(raw_policy)
        except ValidationError as exc:
            _policy_problems(exc, out)
    return _Settings(name.strip(), crs_ok, crs is not None, cast(Any, unit), policy, read_ok)


# -- coordinates ------------------------------------------------------------------------------------
def _numeric_quiet(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.where(s != ""), errors="coerce").to_numpy(dtype=float)


def _centre_lonlat(t: RawTable, district_crs: str | None) -> tuple[float, float] | None:
    """A lon/lat inside the table's data, for choosing a UTM zone; None if not lon/lat data."""
    if t.geometry is not None:
        src = t.geo_crs or (WGS84 if t.file.lower().endswith(".geojson") else district_crs)
        ok = ~shapely.is_missing(t.geometry)
        if src is None or not ok.any():
            return None
        xmin, ymin, xmax, ymax = shapely.total_bounds(t.geometry[ok])
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        if is_geographic(src):
            return float(cx), float(cy)
        lon, lat = to_lonlat(src, np.array([cx]), np.array([cy]))
        return float(lon[0]), float(lat[0])
    if t.has("x", "y"):
        x, y = _numeric_quiet(t.col("x")), _numeric_quiet(t.col("y"))
        if looks_like_lonlat(x, y):
            return float(np.nanmedian(x)), float(np.nanmedian(y))
        return None
    if t.has("lon", "lat"):
        lon, lat = _numeric_quiet(t.col("lon")), _numeric_quiet(t.col("lat"))
        ok = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        if ok.any():
            return float(np.median(lon[ok])), float(np.median(lat[ok]))
    return None


def decide_crs(settings: _Settings, tables: list[RawTable], out: Problems) -> str | None:
    """The district CRS: the one given, else the UTM zone of the lon/lat data; None if unknown.

    A missing crs is not reported when district.toml itself could not be read (its own error
    is the real problem).
    """
    if settings.crs is not None or settings.crs_given:
        return settings.crs
    centres = [c for t in tables if (c := _centre_lonlat(t, None)) is not None]
    if not centres:
        if not settings.read_ok:
            return None
        out.error(
            TOML,
            None,
            "crs",
            "missing",
            "expected crs (a projected CRS in metres, e.g. EPSG:32650): "
            "the coordinates are not lon/lat, so no UTM zone can be chosen",
        )
        return None
    lon = float(np.median([c[0] for c in centres]))
    lat = float(np.median([c[1] for c in centres]))
    return utm_crs_for(lon, lat)


def _area_text(crs: str) -> str:
    b = area_of_use(crs)
    if b is None:
        return f"expected a point inside the area of use of {crs}"
    return (
        f"expected a point inside the area of use of {crs} "
        f"(lon {b[0]:g}…{b[2]:g}, lat {b[1]:g}…{b[3]:g})"
    )


def _check_area(
    t: RawTable, x: np.ndarray, y: np.ndarray, ok: np.ndarray, crs: str, out: Problems
) -> None:
    outside = np.zeros(len(x), dtype=bool)
    outside[ok] = outside_area_of_use(crs, x[ok], y[ok])
    if outside.any():
        text = _area_text(crs)
        for row, xi, yi in zip(t.df.index[outside], x[outside], y[outside], strict=True):
            out.error(t.file, int(row), "x,y", quote(f"{xi:g}, {yi:g}"), text)


def _check_lonlat_rows(
    t: RawTable, x: np.ndarray, y: np.ndarray, ok: np.ndarray, out: Problems
) -> None:
    """Single rows typed in degrees among metre coordinates (the rest lie far from 0,0)."""
    deg = ok & (np.abs(x) <= 180) & (np.abs(y) <= 90)
    rest = ok & ~deg
    if not deg.any() or not rest.any():
        return
    if np.median(np.hypot(x[rest], y[rest])) < 100_000:  # a local CRS may have points near 0,0
        return
    for row, xi, yi in zip(t.df.index[deg], x[deg], y[deg], strict=True):
        out.error(
            t.file,
            int(row),
            "x,y",
            quote(f"{xi:g}, {yi:g}"),
            "expected metres in the district CRS; this looks like lon/lat degrees",
        )
    ok &= ~deg


def _xy_columns(
    t: RawTable, crs: str | None, crs_given: bool, out: Problems
) -> tuple[np.ndarray, np.ndarray]:
    """x,y in the district CRS from x,y (they win) or lon,lat columns; NaN where unknown."""
    n = len(t.df)
    nan = np.full(n, np.nan)
    if t.has("x", "y"):
        x = parse_float(t.col("x"), t.file, "x", out, required=True, non_negative=False)
        y = parse_float(t.col("y"), t.file, "y", out, required=True, non_negative=False)
        if crs is None:
            return nan, nan.copy()
        ok = np.isfinite(x) & np.isfinite(y)
        if looks_like_lonlat(x, y):
            if crs_given:
                i = int(np.flatnonzero(ok)[0])
                out.error(
                    t.file,
                    None,
                    "x,y",
                    f"values like {quote(f'{x[i]:g}, {y[i]:g}')}",
                    f"expected metres in {crs}; these look like lon/lat degrees: "
                    "name the columns lon,lat",
                )
                return nan, nan.copy()
            out.warning(
                t.file,
                None,
                "x,y",
                "lon/lat degrees",
                f"read as lon,lat (EPSG:4326) and converted to {crs}; name the columns lon,lat",
            )
            x, y = from_lonlat(crs, x, y)
            return x, y
        _check_lonlat_rows(t, x, y, ok, out)
        _check_area(t, x, y, ok, crs, out)
        return x, y
    if t.has("lon", "lat"):
        lon = parse_float(
            t.col("lon"),
            t.file,
            "lon",
            out,
            required=True,
            non_negative=False,
            lo=-180,
            hi=180,
            expected="expected a longitude between -180 and 180",
        )
        lat = parse_float(
            t.col("lat"),
            t.file,
            "lat",
            out,
            required=True,
            non_negative=False,
            lo=-90,
            hi=90,
            expected="expected a latitude between -90 and 90",
        )
        if crs is None:
            return nan, nan.copy()
        x, y = from_lonlat(crs, lon, lat)
        return x, y
    text = "expected columns x,y (metres in the district CRS) or lon,lat"
    out.error(
        t.file, None, "x", "column missing", text + ("" if t.header_found else f"; {HEADER_HINT}")
    )
    return nan, nan.copy()


def _geometry_in_crs(t: RawTable, crs: str | None, out: Problems) -> np.ndarray | None:
    """The table's geometry reprojected to the district CRS (GeoJSON without CRS is WGS84)."""
    assert t.geometry is not None
    if crs is None:
        return None
    src = t.geo_crs
    if src is None:
        if t.file.lower().endswith(".geojson"):
            src = WGS84  # RFC 7946
        else:
            out.warning(t.file, None, "geometry", "no CRS", f"assumed to be the district CRS {crs}")
            src = crs
    geoms = gpd.GeoSeries(t.geometry, crs=src)
    if geoms.crs is not None and not geoms.crs.equals(crs):
        geoms = geoms.to_crs(crs)
    return np.asarray(geoms.array, dtype=object)


def _polygonal(g: Any) -> Any:
    """The polygonal part of a repaired geometry (make_valid may add lines or points)."""
    if shapely.get_type_id(g) in (3, 6):  # Polygon, MultiPolygon
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _repair(t: RawTable, geoms: np.ndarray, out: Problems) -> tuple[np.ndarray, np.ndarray]:
    """Repair invalid polygons (warning), reject empty or wrong ones (error); returns geoms, ok."""
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    tid = shapely.get_type_id(geoms)
    wrong = ~missing & ~np.isin(tid, (0, 3, 6))  # Point, Polygon, MultiPolygon
    for row in t.df.index[missing]:
        out.error(
            t.file, int(row), "geometry", "no geometry", "expected a polygon or point geometry"
        )
    for row, k in zip(t.df.index[wrong], tid[wrong], strict=True):
        kind = shapely.GeometryType(int(k)).name.lower()
        out.error(t.file, int(row), "geometry", quote(kind), "expected a polygon or point geometry")
    ok = ~missing & ~wrong
    invalid = ok & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        reasons = shapely.is_valid_reason(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid])
        for j, (i, row) in enumerate(
            zip(np.flatnonzero(invalid), t.df.index[invalid], strict=True)
        ):
            g = _polygonal(fixed[j])
            if shapely.is_empty(g):
                out.error(
                    t.file,
                    int(row),
                    "geometry",
                    f"invalid polygon ({reasons[j]})",
                    "expected a polygon that is not empty after repair",
                )
                ok[i] = False
            else:
                out.warning(
                    t.file,
                    int(row),
                    "geometry",
                    f"invalid polygon ({reasons[j]})",
                    "repaired with make_valid; check the shape",
                )
                geoms[i] = g
    return geoms, ok


# -- table builders ----------------------------------------------------------------------------
def _require(t: RawTable, names: tuple[str, ...], out: Problems) -> bool:
    """Report missing required columns (with the closest header as a hint); True if all there."""
    table = t.file.rsplit(".", 1)[0]
    own = _OWN_COLUMNS.get(table, set())
    unused = [
        h for h, c in zip(t.headers, map_headers(table, t.headers), strict=True) if c not in own
    ]
    all_ok = True
    for name in names:
        if name in t.df.columns:
            continue
        all_ok = False
        hint = closest(name, unused or t.headers)
        text = f"expected a column {name}" + (f"; did you mean '{hint}'?" if hint else "")
        if not t.header_found:
            text += f"; {HEADER_HINT}"
        out.error(t.file, None, name, "column missing", text)
    return all_ok


def _warn_unknown_columns(t: RawTable, table: str, out: Problems) -> None:
    if not t.header_found:
        return  # a data row read as the header: the missing-column errors say so
    own = _OWN_COLUMNS[table]
    for h, c in zip(t.headers, map_headers(table, t.headers), strict=True):
        if c not in own and c in t.df.columns:
            hint = closest(c, own)
            out.warning(
                t.file,
                None,
                h,
                "unknown column",
                "ignored" + (f"; did you mean '{hint}'?" if hint else ""),
            )


def _frame(columns: tuple[Column, ...], values: dict[str, Any], index: pd.Index) -> pd.DataFrame:
    """A table with exactly ``columns`` in order and their dtypes."""
    dtypes = {"str": str, "int": np.int64, "float": np.float64, "bool": bool}
    data = {}
    for c in columns:
        v = values[c.name]
        data[c.name] = pd.Series(
            np.asarray(v, dtype=object if c.kind == "str" else None), index=index
        ).astype(
            dtypes[c.kind]  # type: ignore[call-overload]
        )
    return pd.DataFrame(data, index=index)


def build_schools(t: RawTable, crs: str | None, crs_given: bool, out: Problems) -> pd.DataFrame:
    """Normalised schools (index = spreadsheet row)."""
    f = t.file
    _require(t, REQUIRED_COLUMNS["schools"], out)
    _warn_unknown_columns(t, "schools", out)
    v: dict[str, Any] = {}
    ids = parse_id(t.col("school_id"), f, "school_id", out, required="school_id" in t.df)
    check_unique(ids, f, "school_id", out)
    v["school_id"] = ids.to_numpy(dtype=object)
    v["name"] = t.col("name").to_numpy(dtype=object)
    level = (
        parse_code(t.col("level"), f, "level", out, "level")
        if "level" in t.df
        else np.full(len(t.df), "", dtype=object)
    )
    v["level"] = level
    if t.geometry is not None:
        geoms = _geometry_in_crs(t, crs, out)
        x = np.full(len(t.df), np.nan)
        y = x.copy()
        if geoms is not None:
            bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
            for row in t.df.index[bad]:
                out.error(f, int(row), "geometry", "no geometry", "expected a point geometry")
            pts = shapely.point_on_surface(geoms[~bad])
            x[~bad], y[~bad] = shapely.get_x(pts), shapely.get_y(pts)
            _check_area(t, x, y, ~bad, cast(str, crs), out)
    else:
        x, y = _xy_columns(t, crs, crs_given, out)
    v["x"], v["y"] = x, y
    # Single-level shorthands (班级数, 学位数) count for the school's own level.
    shorthand: dict[str, tuple[pd.Series, np.ndarray]] = {}
    for short, parse in (("classrooms", parse_int), ("capacity", parse_float)):
        if short in t.df.columns:
            text = t.col(short)
            shorthand[short] = (text, parse(text, f, short, out))
            nine = (text != "").to_numpy() & (level == "nine_year")
            for row, val in text[nine].items():
                out.error(
                    f,
                    int(row),  # type: ignore[arg-type]
                    short,
                    quote(val),
                    f"expected {short}_primary and {short}_junior for a nine_year school",
                )
    for lv in LEVELS:
        rooms_text, cap_text = t.col(f"classrooms_{lv}"), t.col(f"capacity_{lv}")
        rooms = parse_int(rooms_text, f, f"classrooms_{lv}", out)
        cap = parse_float(cap_text, f, f"capacity_{lv}", out)
        for short, per_level, own in (
            ("classrooms", rooms, rooms_text),
            ("capacity", cap, cap_text),
        ):
            if short in shorthand:
                text, generic = shorthand[short]
                use = (text != "").to_numpy() & (own == "").to_numpy() & (level == lv)
                per_level[use] = generic[use]
        v[f"classrooms_{lv}"], v[f"capacity_{lv}"] = rooms, cap
    v["status"] = parse_code(t.col("status"), f, "status", out, "status", default="open")
    v["open_cost"] = parse_float(t.col("open_cost"), f, "open_cost", out, default=0.0)
    v["max_extra_classrooms"] = parse_int(
        t.col("max_extra_classrooms"), f, "max_extra_classrooms", out
    )
    v["cost_per_classroom"] = parse_float(
        t.col("cost_per_classroom"), f, "cost_per_classroom", out, default=0.0
    )
    v["category"] = parse_code(t.col("category"), f, "category", out, "category", default="")
    v["strong"] = parse_bool(t.col("strong"), f, "strong", out)
    v["group_id"] = t.col("group_id").to_numpy(dtype=object)
    for name in ("teaching_area_m2", "sports_area_m2", "equipment_value", "multimedia_rooms"):
        v[name] = parse_float(t.col(name), f, name, out)
    return _frame(SCHOOL_COLUMNS, v, t.df.index)


def _spread(total: np.ndarray, n: int) -> np.ndarray:
    """Spread totals evenly over ``n`` grades, the remainder one each to the lowest grades."""
    base, rem = np.divmod(total, n)
    return base[:, None] + (np.arange(n)[None, :] < rem[:, None]).astype(np.int64)


def build_units(
    t: RawTable, crs: str | None, crs_given: bool, out: Problems
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Normalised units (index = spreadsheet row) and their geometry in the district CRS."""
    f = t.file
    _require(t, REQUIRED_COLUMNS["units"], out)
    _warn_unknown_columns(t, "units", out)
    n = len(t.df)
    v: dict[str, Any] = {}
    ids = parse_id(t.col("unit_id"), f, "unit_id", out, required="unit_id" in t.df)
    check_unique(ids, f, "unit_id", out)
    v["unit_id"] = ids.to_numpy(dtype=object)
    # -- geometry and representative point
    geoms: np.ndarray | None = None
    x = np.full(n, np.nan)
    y = x.copy()
    if t.geometry is not None or "wkt" in t.df.columns:
        if t.geometry is not None:
            geoms = _geometry_in_crs(t, crs, out)
        elif crs is not None:
            text = t.col("wkt")
            geoms = np.asarray(shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore"))
            bad_wkt = (text != "").to_numpy() & shapely.is_missing(geoms)
            for row, val in text[bad_wkt].items():
                out.error(f, int(row), "wkt", quote(str(val)[:40]), "expected WKT geometry")  # type: ignore[arg-type]
            geoms[bad_wkt] = shapely.Point()
        if geoms is not None:
            geoms, ok = _repair(t, geoms, out)
            pts = shapely.point_on_surface(geoms[ok])
            x[ok], y[ok] = shapely.get_x(pts), shapely.get_y(pts)
            _check_area(t, x, y, ok, cast(str, crs), out)
            geoms = geoms.copy()
            geoms[~ok] = None
    else:
        x, y = _xy_columns(t, crs, crs_given, out)
        if crs is not None:
            geoms = np.asarray(shapely.points(x, y))
    v["x"], v["y"] = x, y
    # -- pupils: totals and grades
    any_level = False
    for level in LEVELS:
        grades = GRADES[level]
        gcols = [f"g{g}" for g in grades]
        present = [c in t.df.columns for c in gcols]
        tcol = f"pupils_{level}"
        label = f"g{grades[0]}…g{grades[-1]}"
        if any(present) and not all(present):
            for c, p in zip(gcols, present, strict=True):
                if not p:
                    out.error(
                        f, None, c, "column missing", f"expected all of {label} when any is given"
                    )
        if all(present):
            any_level = True
            g = np.stack([parse_int(t.col(c), f, c, out) for c in gcols], axis=1)
            gsum = g.sum(axis=1)
            total = gsum
            if tcol in t.df.columns:
                text = t.col(tcol)
                given = parse_int(text, f, tcol, out)
                typed = (text != "").to_numpy() & ~pd.to_numeric(
                    text, errors="coerce"
                ).isna().to_numpy()
                check_grade_totals(t.df.index, level, given, gsum, typed, f, out)
        elif tcol in t.df.columns:
            any_level = True
            total = parse_int(t.col(tcol), f, tcol, out)
            g = _spread(total, len(grades))
        else:
            total = np.zeros(n, dtype=np.int64)
            g = np.zeros((n, len(grades)), dtype=np.int64)
            if (
                level == "junior"
                or "pupils_junior" in t.df.columns
                or any(f"g{k}" in t.df.columns for k in GRADES["junior"])
            ):
                out.warning(
                    f,
                    None,
                    tcol,
                    "column missing",
                    f"{level} pupils taken as 0 (no {tcol} or {label} columns)",
                )
        v[tcol] = total
        for j, c in enumerate(gcols):
            v[c] = g[:, j]
    if not any_level:
        # Replace the two warnings by one error: a units table must have pupils.
        out.items = [
            p
            for p in out.items
            if not (p.file == f and p.value == "column missing" and p.severity == "warning")
        ]
        _require(t, ("pupils_primary", "pupils_junior"), out)
    for level in LEVELS:
        v[f"current_{level}"] = t.col(f"current_{level}").to_numpy(dtype=object)
    v["locked"] = parse_bool(t.col("locked"), f, "locked", out)
    v["migrant_pupils"] = parse_int(t.col("migrant_pupils"), f, "migrant_pupils", out)
    return _frame(UNIT_COLUMNS, v, t.df.index), geoms


def build_teachers(
    t: RawTable, schools: pd.DataFrame, refs: References, out: Problems
) -> pd.DataFrame:
    """Normalised teachers (index = spreadsheet row); school names are matched to ids."""
    f = t.file
    _require(t, REQUIRED_COLUMNS["teachers"], out)
    _warn_unknown_columns(t, "teachers", out)
    v: dict[str, Any] = {}
    ids = parse_id(t.col("teacher_id"), f, "teacher_id", out, required="teacher_id" in t.df)
    check_unique(ids, f, "teacher_id", out)
    v["teacher_id"] = ids.to_numpy(dtype=object)
    sid = parse_id(t.col("school_id"), f, "school_id", out, required="school_id" in t.df)
    known = pd.Index(schools["school_id"])
    # HR lists often name the school instead of giving its code: match unique names.
    names = schools.loc[
        (schools["name"] != "") & (schools["school_id"] != ""), ["name", "school_id"]
    ]
    names = names[~names["name"].duplicated(keep=False)]
    by_name = dict(zip(names["name"], names["school_id"], strict=True))
    as_name = ~sid.isin(known) & sid.isin(pd.Index(list(by_name)))
    if as_name.any() and refs.usable("schools"):
        sid = sid.where(~as_name, sid.map(by_name))
        out.warning(
            f,
            None,
            "school_id",
            f"{int(as_name.sum())} school names",
            f"matched to school_id by the name column of {refs.tables['schools'][1]}",
        )
    refs.check(sid, "schools", f, "school_id", out)
    v["school_id"] = sid.to_numpy(dtype=object)
    req = "subject" in t.df
    v["subject"] = parse_code(
        t.col("subject"), f, "subject", out, "subject", default=None if req else "other"
    )
    v["backbone"] = parse_code(t.col("backbone"), f, "backbone", out, "backbone", default="none")
    v["higher_degree"] = parse_bool(t.col("higher_degree"), f, "higher_degree", out)
    v["years_at_school"] = parse_int(
        t.col("years_at_school"), f, "years_at_school", out, required="years_at_school" in t.df
    )
    v["age"] = parse_int(t.col("age"), f, "age", out, required="age" in t.df)
    v["gender"] = parse_code(
        t.col("gender"), f, "gender", out, "gender", default=None if "gender" in t.df else ""
    )
    v["exempt_reason"] = t.col("exempt_reason").to_numpy(dtype=object)
    v["name"] = t.col("name").to_numpy(dtype=object)
    v["home_x"] = parse_float(t.col("home_x"), f, "home_x", out, non_negative=False)
    v["home_y"] = parse_float(t.col("home_y"), f, "home_y", out, non_negative=False)
    v["last_rotated_year"] = parse_float(
        t.col("last_rotated_year"), f, "last_rotated_year", out, expected="expected a year"
    )
    return _frame(TEACHER_COLUMNS, v, t.df.index)


def build_travel(t: RawTable, refs: References, out: Problems) -> pd.DataFrame:
    """``unit_id, school_id, cost`` with known ids, non-negative costs and each pair once."""
    f = t.file
    _require(t, REQUIRED_COLUMNS["travel"], out)
    uid = parse_id(t.col("unit_id"), f, "unit_id", out, required="unit_id" in t.df)
    sid = parse_id(t.col("school_id"), f, "school_id", out, required="school_id" in t.df)
    refs.check(uid, "units", f, "unit_id", out)
    refs.check(sid, "schools", f, "school_id", out)
    cost = parse_float(t.col("cost"), f, "cost", out, required="cost" in t.df)
    pair = uid + "\x1f" + sid
    dup = pair.duplicated(keep="first") & (uid != "") & (sid != "")
    if dup.any():
        firsts = pair[~pair.duplicated(keep="first")]
        first_row = dict(zip(firsts.to_numpy(), firsts.index, strict=True))
        for row in t.df.index[dup.to_numpy()]:
            key = pair[row]
            out.error(
                f,
                int(row),
                "school_id",
                quote(key.replace("\x1f", " → ")),
                f"expected each unit_id, school_id pair once (first in row {first_row[key]})",
            )
    return pd.DataFrame(
        {"unit_id": uid.astype(str), "school_id": sid.astype(str), "cost": cost}, index=t.df.index
    )


def build_adjacency(t: RawTable, refs: References, out: Problems) -> pd.DataFrame:
    """``unit_a, unit_b`` with known unit ids."""
    f = t.file
    _require(t, REQUIRED_COLUMNS["adjacency"], out)
    cols = {}
    for c in ("unit_a", "unit_b"):
        ids = parse_id(t.col(c), f, c, out, required=c in t.df)
        refs.check(ids, "units", f, c, out)
        cols[c] = ids.astype(str)
    return pd.DataFrame(cols, index=t.df.index)


def build_extra(
    t: RawTable, stem: str, refs: References, policy: Policy, out: Problems
) -> pd.DataFrame:
    """An extra table: known columns of :data:`EXTRA_SCHEMAS` checked and typed, others as text."""
    f = t.file
    schema = EXTRA_SCHEMAS[stem]
    _require(t, REQUIRED_COLUMNS[stem], out)
    df = t.df.copy()
    for col, kind in schema.items():
        if col not in df.columns:
            continue
        s = t.col(col)
        if kind in _REF_TABLES:
            refs.check(parse_id(s, f, col, out), _REF_TABLES[kind], f, col, out)
        elif kind == "int":
            df[col] = parse_int(s, f, col, out, required=True)
        elif kind == "year":
            df[col] = parse_int(
                s,
                f,
                col,
                out,
                required=True,
                minimum=1900,
                maximum=2200,
                expected="expected a year (1900–2200)",
            )
        elif kind == "grade":
            df[col] = parse_int(
                s,
                f,
                col,
                out,
                required=True,
                minimum=1,
                maximum=9,
                expected="expected a grade from 1 to 9",
            )
        elif kind == "rank":
            df[col] = parse_int(
                s, f, col, out, required=True, minimum=1, expected="expected a positive integer"
            )
        elif kind == "subject":
            df[col] = parse_code(s, f, col, out, "subject")
        elif kind == "dwelling":
            types = tuple(policy.dwelling_yield)
            bad = ~s.isin(types)
            if bad.any():
                out.cells(
                    f, col, s[bad], f"expected one of {', '.join(types)} (policy.dwelling_yield)"
                )
    return df.reset_index(drop=True)


# -- the folder ---------------------------------------------------------------------------------
def _check_loaded(
    t: RawTable | None, file: str, table: str, refs: References, out: Problems
) -> None:
    """Mark ``table`` failed when it could not be read, has no rows or no id column.

    A required table with a header but no data rows is an error; the missing id column is
    reported by the table's builder.
    """
    if t is None:
        refs.fail(table, f"{file} could not be read")
        return
    if t.df.empty and table in REQUIRED_TABLES:
        out.error(
            file, None, None, "no data rows", f"expected at least one {table[:-1]} below the header"
        )
        refs.fail(table, f"{file} has no data rows")
    id_col = ID_COLUMNS.get(table)
    if id_col is not None and id_col not in t.df.columns:
        refs.fail(table, f"{file} has no {id_col} column")


#: Tables only the teacher-rotation commands read (HR files).
HR_TABLES: tuple[str, ...] = ("teachers", "couples", "preferences", "staffing")
#: Tables only the forecast and multi-year commands read.
FORECAST_TABLES: tuple[str, ...] = ("births", "enrolment_history", "housing")
#: Words every problem downgraded by ``unused`` carries in its ``expected`` text.
SKIPPED_NOTE = "this command does not read"


def inspect_folder(path: str | Path, unused: Collection[str] = ()) -> LoadResult:
    """Read and validate a district folder; never raises for bad content, never writes.

    Parameters
    ----------
    path : str or pathlib.Path
        The district folder.
    unused : collection of str
        Tables (file stems, e.g. :data:`HR_TABLES`) the calling command does not read. Their
        errors are reported as warnings and the table is left out of the district, so that a
        broken HR file does not stop a catchment plan (and the other way round).

    Returns
    -------
    LoadResult
        The district (None when any error was found), every problem sorted by file then row,
        and the names of the files read.
    """
    root = Path(path)
    out = Problems()
    files: list[str] = []
    if not root.is_dir():
        out.error(str(root), None, None, "not a folder", "expected a district folder")
        return LoadResult(None, out.items, files)
    settings = read_settings(root, out, files)
    raw: dict[str, RawTable | None] = {}
    found: set[str] = set()  # core tables with a file
    refs = References()
    for table, suffixes in TABLE_SUFFIXES.items():
        p = _find(root, table, suffixes, out)
        if p is None:
            if table in REQUIRED_TABLES:
                names = ", ".join(f"{table}{s}" for s in suffixes)
                out.error(f"{table}.csv", None, None, "file missing", f"expected one of {names}")
            refs.fail(table, f"{table}.csv is missing")
            raw[table] = None
            continue
        files.append(p.name)
        found.add(table)
        raw[table] = read_raw(p, table, out)
        _check_loaded(raw[table], p.name, table, refs, out)
    crs = decide_crs(settings, [t for t in (raw["schools"], raw["units"]) if t], out)
    fname = {k: (t.file if t else f"{k}.csv") for k, t in raw.items()}

    empty_schools = _frame(SCHOOL_COLUMNS, {c.name: [] for c in SCHOOL_COLUMNS}, pd.RangeIndex(0))
    empty_units = _frame(UNIT_COLUMNS, {c.name: [] for c in UNIT_COLUMNS}, pd.RangeIndex(0))
    schools = (
        build_schools(raw["schools"], crs, settings.crs_given, out)
        if raw["schools"] is not None
        else empty_schools
    )
    units, geoms = (
        build_units(raw["units"], crs, settings.crs_given, out)
        if raw["units"] is not None
        else (empty_units, None)
    )
    sfile, ufile = fname["schools"], fname["units"]
    refs.add("schools", schools["school_id"], sfile, "school_id")
    refs.add("units", units["unit_id"], ufile, "unit_id")
    for level in LEVELS:
        col = f"current_{level}"
        refs.check(units[col], "schools", ufile, col, out)
    check_current_serves(units, schools, ufile, out)

    teachers = travel = adjacency = None
    if raw["teachers"] is not None:
        teachers = build_teachers(raw["teachers"], schools, refs, out)
    refs.add(
        "teachers",
        teachers["teacher_id"] if teachers is not None else [],
        fname["teachers"],
        "teacher_id",
    )
    if raw["travel"] is not None:
        travel = build_travel(raw["travel"], refs, out)
    if raw["adjacency"] is not None:
        adjacency = build_adjacency(raw["adjacency"], refs, out)
    # Reachability needs both tables whole (and the schools' levels).
    whole = refs.usable("schools") and refs.usable("units")
    if whole and raw["schools"] is not None and "level" in raw["schools"].df.columns:
        check_allowed_schools(units, schools, travel, ufile, sfile, fname["travel"], out)
    _warn_seatless(schools, sfile, out)

    extra: dict[str, pd.DataFrame] = {}
    core = {f"{k}{s}" for k, ss in TABLE_SUFFIXES.items() for s in ss}
    for p in sorted(root.glob("*.csv")):
        if p.name in core:
            continue
        files.append(p.name)
        stem = p.stem
        if stem in EXTRA_SCHEMAS:
            t = read_raw(p, stem, out)
            if t is not None:
                if stem in ("couples", "preferences") and "teachers" not in found:
                    out.error(
                        p.name,
                        None,
                        None,
                        "no teachers table",
                        "expected teachers.csv or teachers.xlsx",
                    )
                extra[stem] = build_extra(t, stem, refs, settings.policy, out)
        else:
            try:
                extra[stem] = pd.read_csv(p, encoding="utf-8-sig")
            except Exception as exc:  # noqa: BLE001 - kept as read; any reader error is reported
                out.error(
                    p.name, None, None, f"unreadable ({exc})", "expected a readable .csv file"
                )
    refs.report_skipped(out)
    dropped = _downgrade_unused(out, unused)
    if "teachers" in dropped:
        teachers = None
    for stem in dropped:
        extra.pop(stem, None)

    # Display order: district.toml, the core tables (found or missing), then extras.
    order = [TOML, *fname.values(), *files]
    problems, hidden = cap_repeats(out.sorted(order))
    if out.has_errors() or crs is None:
        return LoadResult(None, problems, files, hidden)
    units_gdf = gpd.GeoDataFrame(
        units.reset_index(drop=True), geometry=list(geoms) if geoms is not None else None, crs=crs
    )
    district = District(
        name=settings.name,
        crs=crs,
        policy=settings.policy,
        schools=schools.reset_index(drop=True),
        units=units_gdf,
        travel_unit=settings.travel_unit,
        travel=travel.reset_index(drop=True) if travel is not None else None,
        adjacency=adjacency.reset_index(drop=True) if adjacency is not None else None,
        teachers=teachers.reset_index(drop=True) if teachers is not None else None,
        root=root,
        extra=extra,
    )
    return LoadResult(district, problems, files, hidden)


def _downgrade_unused(out: Problems, unused: Collection[str]) -> set[str]:
    """Turn errors in tables the command does not read into warnings; return those tables."""
    skip = set(unused)
    dropped: set[str] = set()
    if not skip:
        return dropped
    for i, prob in enumerate(out.items):
        stem = Path(prob.file).name.split(".", 1)[0]
        if prob.severity == "error" and stem in skip:
            out.items[i] = replace(
                prob,
                severity="warning",
                expected=f"{prob.expected} ({SKIPPED_NOTE} {prob.file}: skipped)",
            )
            dropped.add(stem)
    return dropped


def _warn_seatless(schools: pd.DataFrame, file: str, out: Problems) -> None:
    """An open school teaching a level with no classrooms and no capacity for it."""
    for level in LEVELS:
        serves = schools["level"].isin(SERVES[level]) & (schools["status"] == "open")
        none = (schools[f"classrooms_{level}"] == 0) & schools[f"capacity_{level}"].isna()
        for row, sid in schools.loc[serves & none, "school_id"].items():
            out.warning(
                file,
                int(row),
                f"classrooms_{level}",
                quote(sid),  # type: ignore[arg-type]
                f"expected classrooms_{level} or capacity_{level} for an open school teaching {level}",
            )


def load_district_with_warnings(
    path: str | Path, unused: Collection[str] = ()
) -> tuple[District, list[Problem]]:
    """Load a district folder, returning it with its warnings (``unused``: see inspect_folder).

    Raises
    ------
    ValidationFailed
        With every problem (errors and warnings) when there is any error.
    """
    result = inspect_folder(path, unused)
    if result.district is None:
        raise ValidationFailed(result.problems)
    return result.district, result.problems


def load_district(path: str | Path, unused: Collection[str] = ()) -> District:
    """Load a district folder (format v1) into a validated :class:`District`.

    Parameters
    ----------
    path : str or pathlib.Path
        The district folder.
    unused : collection of str
        Tables the caller does not read: their errors become warnings and the tables are left
        out (see :func:`inspect_folder`).

    Raises
    ------
    ValidationFailed
        With every problem found, when there is any error.
    """
    return load_district_with_warnings(path, unused)[0]


__all__ = [
    "EXTRA_SCHEMAS",
    "FORECAST_TABLES",
    "HR_TABLES",
    "SKIPPED_NOTE",
    "HEADER_SEARCH_ROWS",
    "LoadResult",
    "NON_NEGATIVE_INTEGER",
    "REQUIRED_COLUMNS",
    "RawTable",
    "inspect_folder",
    "load_district",
    "load_district_with_warnings",
    "read_raw",
]
