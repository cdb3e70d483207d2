"""Coordinate reference systems: choosing, checking and converting to the district CRS.

Every distance in the product is metres in one projected CRS per district. Input may come as
lon/lat (WGS84), as GeoJSON (RFC 7946: WGS84 unless it says otherwise) or as x,y in the district
CRS; this module decides the CRS when ``district.toml`` leaves it out (the UTM zone of the data)
and catches the classic mistakes: degrees typed into x,y columns, a geographic CRS where metres
are needed, points far outside the area the CRS is meant for.
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

WGS84 = "EPSG:4326"

#: Degrees of slack around a CRS's published area of use before a point counts as outside it:
#: UTM stays accurate well beyond its 6° zone at county scale, so only gross mistakes are caught.
AREA_OF_USE_MARGIN_DEG = 3.0


def parse_crs(crs: str | CRS) -> CRS:
    """A :class:`pyproj.CRS` from a user string (``"EPSG:32650"``, WKT, PROJ).

    Raises
    ------
    ValueError
        When pyproj does not recognise the CRS.
    """
    if isinstance(crs, CRS):
        return crs
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise ValueError(f"unknown CRS {crs!r}") from exc


def is_geographic(crs: str | CRS) -> bool:
    """True for a lon/lat CRS (degrees), such as EPSG:4326."""
    return bool(parse_crs(crs).is_geographic)


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS84 UTM zone CRS containing ``(lon, lat)``, as ``"EPSG:326zz"`` / ``"EPSG:327zz"``.

    Examples
    --------
    >>> utm_crs_for(116.4, 39.9)
    'EPSG:32650'
    >>> utm_crs_for(-70.6, -33.4)
    'EPSG:32719'

    Raises
    ------
    ValueError
        When the point is not a valid lon/lat.
    """
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"not a lon/lat point: ({lon}, {lat})")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def looks_like_lonlat(x: np.ndarray | float, y: np.ndarray | float) -> bool:
    """True when every finite point is a plausible lon/lat (|x| ≤ 180, |y| ≤ 90) and not all 0.

    Projected coordinates in metres of a real county are never all that small (UTM eastings
    are 100 000 – 900 000), so this tells degrees typed into x,y columns apart.
    """
    xa = np.atleast_1d(np.asarray(x, dtype=float))
    ya = np.atleast_1d(np.asarray(y, dtype=float))
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        return False
    xa, ya = xa[ok], ya[ok]
    if np.all(xa == 0) and np.all(ya == 0):
        return False
    return bool(np.all(np.abs(xa) <= 180) and np.all(np.abs(ya) <= 90))


def check_projected_metres(crs: str | CRS) -> None:
    """Check that ``crs`` is a projected CRS with metre axes (distances are metres).

    Raises
    ------
    ValueError
        With a sentence saying what is wrong (unknown, geographic, or not in metres).
    """
    c = parse_crs(crs)
    if c.is_geographic:
        raise ValueError(f"{crs} is geographic (degrees); a projected CRS in metres is needed")
    if not c.is_projected:
        raise ValueError(f"{crs} is not a projected CRS; a projected CRS in metres is needed")
    units = {(a.unit_name or "").lower() for a in c.axis_info}
    if not units <= {"metre", "meter", "m"}:
        raise ValueError(f"{crs} has axis units {sorted(units)}; metres are needed")


def to_lonlat(crs: str | CRS, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` to WGS84 lon/lat (vectorised)."""
    t = Transformer.from_crs(parse_crs(crs), WGS84, always_xy=True)
    lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def from_lonlat(crs: str | CRS, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 lon/lat to ``crs`` (vectorised)."""
    t = Transformer.from_crs(WGS84, parse_crs(crs), always_xy=True)
    x, y = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def area_of_use(crs: str | CRS) -> tuple[float, float, float, float] | None:
    """The CRS's published area of use as ``(west, south, east, north)`` degrees, if any."""
    aou = parse_crs(crs).area_of_use
    if aou is None:
        return None
    return (float(aou.west), float(aou.south), float(aou.east), float(aou.north))


def outside_area_of_use(
    crs: str | CRS, x: np.ndarray, y: np.ndarray, margin_deg: float = AREA_OF_USE_MARGIN_DEG
) -> np.ndarray:
    """Boolean mask: points (in ``crs``) outside its area of use widened by ``margin_deg``.

    Points that do not convert (non-finite) count as outside. Without a published area of use
    nothing is outside.
    """
    x = np.asarray(x, dtype=float)
    bounds = area_of_use(crs)
    if bounds is None or x.size == 0:
        return np.zeros(x.shape, dtype=bool)
    west, south, east, north = bounds
    lon, lat = to_lonlat(crs, x, np.asarray(y, dtype=float))
    with np.errstate(invalid="ignore"):
        inside = (
            np.isfinite(lon)
            & np.isfinite(lat)
            & (lon >= west - margin_deg)
            & (lon <= east + margin_deg)
            & (lat >= south - margin_deg)
            & (lat <= north + margin_deg)
        )
    return ~inside


__all__ = [
    "AREA_OF_USE_MARGIN_DEG",
    "WGS84",
    "area_of_use",
    "check_projected_metres",
    "from_lonlat",
    "is_geographic",
    "looks_like_lonlat",
    "outside_area_of_use",
    "parse_crs",
    "to_lonlat",
    "utm_crs_for",
]
