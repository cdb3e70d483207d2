"""Write a :class:`~planner.model.District` as a district folder (format v1).

The folder holds ``district.toml`` (name, CRS, travel unit, the full ``[policy]`` table and,
for generated districts, a ``[generator]`` table), ``schools.csv`` (``x``, ``y`` in the district
CRS plus ``lon``, ``lat``), ``units.geojson`` (polygons in WGS84 per RFC 7946, with every unit
column), ``teachers.csv``, ``travel.csv`` and ``adjacency.csv`` when present, and one
``<name>.csv`` per extra table.

Writing is atomic: everything goes into a hidden temporary folder next to ``out`` that is
renamed into place at the end, so a failure never leaves a half-written district behind.
"""

from __future__ import annotations

import math
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from planner.model import District

#: Units file formats :func:`write_district` can write, and their file names.
UNITS_FORMATS: dict[str, str] = {
    "geojson": "units.geojson",
    "gpkg": "units.gpkg",
    "csv": "units.csv",
}
#: File stems that extra tables may not use.
RESERVED_STEMS: frozenset[str] = frozenset(
    {"district", "schools", "units", "teachers", "travel", "adjacency"}
)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_EXTRA_NAME = re.compile(r"[A-Za-z0-9_-]+")


def write_district(
    district: District,
    out: Path | str,
    *,
    units_format: str = "geojson",
    overwrite: bool = False,
    generator: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write ``district`` as a district folder at ``out``, atomically.

    Parameters
    ----------
    district : District
        The district to write.
    out : pathlib.Path or str
        Folder to create. It may exist only if empty, unless ``overwrite``.
    units_format : {"geojson", "gpkg", "csv"}
        ``geojson``: WGS84 lon/lat polygons (RFC 7946); ``gpkg``: polygons in the district CRS;
        ``csv``: the unit columns without geometry.
    overwrite : bool
        Replace an existing non-empty folder (the old one is removed only after the new one
        is complete).
    generator : mapping, optional
        Written as the ``[generator]`` table of ``district.toml`` (see
        :func:`planner.generate.generator_metadata`).

    Returns
    -------
    list of pathlib.Path
        The files written, inside ``out``, in writing order.

    Raises
    ------
    FileExistsError
        If ``out`` is a file, or a non-empty folder and ``overwrite`` is false.
    ValueError
        For an unknown ``units_format``, or an extra table whose name is not a plain file stem
        or clashes with a standard file.
    """
    out = Path(out)
    if units_format not in UNITS_FORMATS:
        raise ValueError(
            f"units_format must be one of {sorted(UNITS_FORMATS)}, got {units_format!r}"
        )
    for name in district.extra:
        if not _EXTRA_NAME.fullmatch(name) or name in RESERVED_STEMS:
            raise ValueError(f"extra table name {name!r} is not a free plain file stem")
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not overwrite:
            raise FileExistsError(f"{out} is not empty; pass overwrite=True to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)

    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        names = _write_all(district, tmp, units_format, generator)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / n for n in names]


def to_toml(data: Mapping[str, Any]) -> str:
    """Serialise a mapping as TOML: scalars first, then nested tables (``[a.b]``).

    Supports str, bool, int, float (``nan``/``inf`` included), numpy scalars, lists and tuples
    (as arrays; mappings inside arrays become inline tables) and nested mappings.

    Raises
    ------
    TypeError
        For ``None`` or a value of any other type (TOML has no null).
    """
    lines: list[str] = []
    _table(lines, [], data)
    return "\n".join(lines).strip() + "\n"


# ======================================================================================
# the files
# ======================================================================================
def _write_all(
    d: District, folder: Path, units_format: str, generator: Mapping[str, Any] | None
) -> list[str]:
    names: list[str] = []

    def put(name: str, writer: Callable[[Path], object]) -> None:
        writer(folder / name)
        names.append(name)

    put("district.toml", lambda p: p.write_text(_district_toml(d, generator), encoding="utf-8"))
    put("schools.csv", lambda p: _write_csv(_schools_with_lonlat(d), p))
    put(UNITS_FORMATS[units_format], lambda p: _write_units(d, p, units_format))
    if d.teachers is not None:
        put("teachers.csv", lambda p: _write_csv(d.teachers, p))  # type: ignore[arg-type]
    if d.travel is not None:
        put("travel.csv", lambda p: _write_csv(d.travel, p))  # type: ignore[arg-type]
    if d.adjacency is not None:
        put("adjacency.csv", lambda p: _write_csv(d.adjacency, p))  # type: ignore[arg-type]
    for name in sorted(d.extra):
        table = d.extra[name]
        put(f"{name}.csv", lambda p, t=table: _write_csv(t, p))  # type: ignore[misc]
    return names


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    # UTF-8 without BOM; floats at full precision so a round trip is exact
    pd.DataFrame(df).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _district_toml(d: District, generator: Mapping[str, Any] | None) -> str:
    doc: dict[str, Any] = {"name": d.name, "crs": d.crs, "travel_unit": d.travel_unit}
    doc["policy"] = d.policy.model_dump(mode="python")
    if generator is not None:
        doc["generator"] = dict(generator)
    header = "# schoolplan district folder, format v1 (docs/formats.md)\n"
    return header + to_toml(doc)


def _schools_with_lonlat(d: District) -> pd.DataFrame:
    df = d.schools.copy()
    lon, lat = _to_lonlat(d.crs, df["x"].to_numpy(float), df["y"].to_numpy(float))
    df["lon"] = np.round(lon, 7)
    df["lat"] = np.round(lat, 7)
    return df


def _to_lonlat(crs: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = t.transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _write_units(d: District, path: Path, units_format: str) -> None:
    units = d.units
    if units_format == "csv":
        _write_csv(pd.DataFrame(units.drop(columns=units.geometry.name)), path)
        return
    if units.crs is None:
        units = units.set_crs(d.crs)
    if units_format == "geojson":
        # RFC 7946: WGS84 lon/lat; GDAL then writes 7 decimals (about 1 cm)
        units.to_crs("EPSG:4326").to_file(
            path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES"}
        )
    else:
        units.to_file(path, driver="GPKG", engine="pyogrio", layer="units")


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` folder to ``out``; an old ``out`` goes only at the end."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
    out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ======================================================================================
# TOML, by hand (the standard library reads TOML but does not write it)
# ======================================================================================
def _table(lines: list[str], path: list[str], data: Mapping[str, Any]) -> None:
    scalars = [(k, v) for k, v in data.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for k, v in scalars:
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables:
        _table(lines, [*path, str(k)], v)


def _key(k: object) -> str:
    s = str(k)
    return s if _BARE_KEY.fullmatch(s) else _string(s)


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(v: object) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, Path):
        return _string(str(v))
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple | np.ndarray):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} value {v!r} to TOML")


__all__ = ["RESERVED_STEMS", "UNITS_FORMATS", "to_toml", "write_district"]
