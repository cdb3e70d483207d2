"""A realistic sample county (样例县): geometry, pupils, schools, catchments, teachers, history.

:func:`make_district` builds a :class:`~planner.model.District` in memory that looks like a
Chinese county around 117.2°E, 31.8°N (UTM 50N): a dense old centre with big, full, strong
schools; new housing estates at the edge of town with more children than seats; townships with
central schools; villages spread over the countryside with small, half-empty schools and
teaching points (教学点). Today's catchments are "nearest school, with a few historical quirks",
so an optimiser has something to improve. Extra tables carry the forecasting history
(``enrolment_history``, ``births``, ``housing``) generated from known parameters, which
:func:`generator_metadata` returns so that tests can check that a forecaster recovers them.

Every number the generator assumes lives in :class:`Assumptions` and is documented with its
reason in ``docs/generator.md``. Policy numbers (class-size caps, staffing ratios) come from
:class:`planner.policy.Policy`. The same arguments always give identical tables: each stage
draws from its own ``numpy`` stream spawned from ``SeedSequence(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from planner.model import SCHOOL_COLUMNS, TEACHER_COLUMNS, UNIT_COLUMNS, Column, District
from planner.policy import GRADES, Level, Policy

#: The year of the current g1..g9 columns; history ends here.
BASE_YEAR = 2025
#: Projected CRS of the sample county (UTM zone 50N, metres).
CRS = "EPSG:32650"
#: Where the county sits (lon, lat): central Anhui, near Hefei.
ORIGIN_LONLAT: tuple[float, float] = (117.2, 31.8)
#: Residential zones of the county, in generation order.
ZONES: tuple[str, ...] = ("centre", "estate", "town", "village")
#: Zone label of parks and industrial units (no pupils, no catchment).
NONRESIDENTIAL = "nonresidential"
#: School kinds used internally; ``category`` is urban for centre and estate.
_CATEGORY = {"centre": "urban", "estate": "urban", "town": "town", "village": "village"}

#: Approximate national births in China, millions (NBS; 2025 assumed). Used only as a shape:
#: births and cohorts follow it, scaled per unit.
NATIONAL_BIRTHS_M: dict[int, float] = {
    1995: 20.63, 1996: 20.67, 1997: 20.38, 1998: 19.42, 1999: 18.34, 2000: 17.71,
    2001: 17.02, 2002: 16.47, 2003: 15.99, 2004: 15.93, 2005: 16.17, 2006: 15.85,
    2007: 15.94, 2008: 16.08, 2009: 15.91, 2010: 15.92, 2011: 16.04, 2012: 16.35,
    2013: 16.40, 2014: 16.87, 2015: 16.55, 2016: 17.86, 2017: 17.23, 2018: 15.23,
    2019: 14.65, 2020: 12.02, 2021: 10.62, 2022: 9.56, 2023: 9.02, 2024: 9.54,
    2025: 8.70,
}  # fmt: skip

_ALL_GRADES: tuple[int, ...] = (*GRADES["primary"], *GRADES["junior"])
_MAX_HISTORY_YEARS = 12  # grade 9 of the first history year must be born after 1995


@dataclass(frozen=True)
class Assumptions:
    """Every number the sample generator assumes (see ``docs/generator.md`` for the reasons).

    These shape a *sample*; they are not policy. Distances are metres at the default size
    (1,500 units) and scale with the county's linear size.
    """

    # -- geometry ------------------------------------------------------------------------
    base_units: int = 1500
    base_half_extent_m: tuple[float, float] = (20_000.0, 15_000.0)
    area_exponent: float = 0.5  # area ∝ units**0.5, so more units are also smaller units
    boundary_vertices: int = 240
    seat_offset: float = 0.25  # county seat lies this share of the radius off-centre
    centre_radius_m: float = 2_200.0
    centre_sigma_m: float = 900.0
    estate_ring_m: tuple[float, float] = (2_600.0, 5_000.0)
    estate_arc_deg: float = 75.0  # half-width of the growth direction's arc
    estate_sigma_m: float = 450.0
    estate_units_per_cluster: int = 60
    town_sigma_m: float = 600.0
    zone_unit_share: dict[str, float] = field(
        default_factory=lambda: {"centre": 0.30, "estate": 0.12, "town": 0.18, "village": 0.40}
    )
    nonresidential_share: float = 0.03  # of centre/estate/town units: parks, industry
    locked_share: float = 0.01
    # -- pupils --------------------------------------------------------------------------
    primary_pupils_per_school: float = 800.0
    zone_pupil_share: dict[str, float] = field(
        default_factory=lambda: {"centre": 0.38, "estate": 0.17, "town": 0.22, "village": 0.23}
    )
    unit_pupil_gamma_shape: float = 2.0
    migrant_share: dict[str, float] = field(
        default_factory=lambda: {"centre": 0.15, "estate": 0.25, "town": 0.05, "village": 0.01}
    )
    # -- forecasting truth ---------------------------------------------------------------
    birth_to_entry_range: tuple[float, float] = (0.93, 0.97)
    progression_range: tuple[float, float] = (0.98, 1.02)
    zone_progression_multiplier: dict[str, float] = field(
        default_factory=lambda: {"centre": 1.00, "estate": 1.03, "town": 0.99, "village": 0.98}
    )
    zone_birth_growth: dict[str, float] = field(
        default_factory=lambda: {"centre": 0.99, "estate": 1.05, "town": 0.98, "village": 0.96}
    )
    housing_unit_share: float = 0.015
    housing_years: tuple[int, int] = (2026, 2030)
    apartment_share: float = 0.85
    apartment_dwellings: tuple[int, int] = (300, 2000)
    single_family_dwellings: tuple[int, int] = (20, 150)
    # -- schools -------------------------------------------------------------------------
    towns_per_primary_school: float = 0.2
    primary_share: dict[str, float] = field(
        default_factory=lambda: {"centre": 0.20, "estate": 0.10}
    )
    secondary_share: dict[str, float] = field(
        default_factory=lambda: {"centre": 0.25, "estate": 0.10, "town": 0.40}
    )
    utilisation: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "centre": (1.02, 1.15),
            "estate": (1.15, 1.40),
            "town": (0.85, 1.00),
            "village": (0.45, 0.70),
        }
    )
    min_seat_surplus: float = 0.08  # county-wide seats ≥ (1 + this) × pupils, per level
    teaching_point_share: float = 0.25  # of village primary schools
    teaching_point_pupils: int = 45  # a teaching point keeps its nearest units up to this many
    teaching_point_classrooms: tuple[int, int] = (2, 4)
    quirk_share: float = 0.03  # units assigned to a farther school for historical reasons
    quirk_max_ratio: float = 2.0  # ... at most this many times the nearest distance
    quirk_slack_m: float = 500.0  # ... plus this
    strong_centre_share: float = 0.6
    schools_per_group: tuple[int, int] = (2, 4)  # members besides the leader
    candidates_per_primary_school: float = 0.1
    min_candidates: int = 3
    candidate_classrooms: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"primary": (36, 0), "nine_year": (30, 18), "junior": (0, 30)}
    )
    open_cost_per_classroom: tuple[float, float] = (2.5e6, 3.5e6)  # yuan, land + building
    cost_per_classroom: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "centre": (1.8e6, 2.6e6),
            "estate": (1.2e6, 2.0e6),
            "town": (1.0e6, 1.6e6),
            "village": (0.8e6, 1.4e6),
        }
    )
    max_extra_classrooms: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {
            "centre": (0, 2),
            "estate": (6, 12),
            "town": (6, 12),
            "village": (0, 6),
        }
    )
    # per seat: teaching m², sports m², equipment yuan, multimedia rooms per classroom
    resources: dict[str, tuple[tuple[float, float], ...]] = field(
        default_factory=lambda: {
            "centre": ((3.5, 4.8), (4.0, 8.0), (2600.0, 4000.0), (1.0, 1.3)),
            "estate": ((5.0, 6.5), (7.0, 11.0), (2500.0, 3800.0), (1.1, 1.3)),
            "town": ((4.5, 6.0), (7.0, 12.0), (1800.0, 3000.0), (0.9, 1.2)),
            "village": ((5.0, 7.5), (9.0, 16.0), (900.0, 2000.0), (0.5, 1.0)),
        }
    )
    # -- teachers ------------------------------------------------------------------------
    subject_share: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "primary": {
                "chinese": 0.30,
                "math": 0.24,
                "english": 0.09,
                "science": 0.06,
                "morality": 0.04,
                "pe": 0.09,
                "music": 0.05,
                "art": 0.05,
                "it": 0.03,
                "psychology": 0.01,
                "other": 0.04,
            },
            "junior": {
                "chinese": 0.15,
                "math": 0.15,
                "english": 0.14,
                "physics": 0.06,
                "chemistry": 0.04,
                "biology": 0.05,
                "history": 0.06,
                "geography": 0.05,
                "morality": 0.07,
                "pe": 0.07,
                "music": 0.03,
                "art": 0.03,
                "it": 0.03,
                "psychology": 0.02,
                "other": 0.05,
            },
        }
    )
    village_pe_arts_factor: float = 0.35  # village schools have this share of the usual PE/arts
    min_staff_teaching_point: int = 2
    backbone_share: dict[str, float] = field(
        default_factory=lambda: {"strong": 0.35, "urban": 0.20, "town": 0.16, "village": 0.08}
    )
    backbone_level_split: dict[str, float] = field(
        default_factory=lambda: {"county": 0.65, "city": 0.28, "province": 0.07}
    )
    higher_degree_share: dict[str, float] = field(
        default_factory=lambda: {"urban": 0.90, "town": 0.85, "village": 0.60}
    )
    female_share: float = 0.70
    age_mean: dict[str, float] = field(
        default_factory=lambda: {"urban": 39.0, "town": 41.0, "village": 45.0}
    )
    age_sd: float = 9.0
    age_range: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"F": (22, 55), "M": (22, 60)}
    )
    years_gamma: tuple[float, float] = (2.0, 4.5)  # shape, scale: ~60 % have ≥ 6 years
    exempt_share: float = 0.03
    exempt_weights: dict[str, float] = field(
        default_factory=lambda: {
            "pregnancy": 0.30,
            "nursing": 0.30,
            "illness": 0.25,
            "lead_deferral": 0.15,
        }
    )
    rotated_share: float = 0.25  # of teachers with ≤ 10 years here, who came by rotation
    home_sigma_m: float = 1_500.0
    village_commuter_share: float = 0.6  # village teachers living in a town
    home_missing_share: float = 0.05


#: The assumptions used by :func:`make_district`.
ASSUMPTIONS = Assumptions()


# ======================================================================================
# public API
# ======================================================================================
def make_district(
    units: int = 1500,
    primary_schools: int = 40,
    secondary_schools: int = 20,
    teachers: int = 3000,
    seed: int = 0,
    history_years: int = 6,
    name: str = "Sample County",
) -> District:
    """Build a realistic sample county in memory.

    Parameters
    ----------
    units : int
        Planning units (Voronoi cells of the county), at least 50.
    primary_schools : int
        Open primary schools (teaching points included), at least 1.
    secondary_schools : int
        Open junior and nine-year (九年一贯制) schools, at least 1.
    teachers : int
        Teachers, spread over open schools by staffing need.
    seed : int
        Seed; the same arguments give identical tables.
    history_years : int
        Years of enrolment history ending at 2025 (1 to 12).
    name : str
        District name.

    Returns
    -------
    District
        Normalised ``schools``, ``units`` (polygons in EPSG:32650) and ``teachers``, policy
        defaults, and extra tables ``enrolment_history``, ``births``, ``housing`` and
        ``zones`` (each unit's generating zone). Candidate sites (status ``candidate``) are
        added on top of the requested school counts.

    Raises
    ------
    ValueError
        For sizes out of range.
    """
    _check_args(units, primary_schools, secondary_schools, teachers, history_years)
    a = ASSUMPTIONS
    policy = Policy()
    rngs = _streams(seed)
    truth = _truth(rngs["truth"], a)

    boundary = county_boundary(units, seed)
    scale = _scale(units, a)
    geo = _layout(boundary, units, primary_schools, scale, rngs["points"], a)
    cells = _voronoi(geo.points, boundary)
    order = _reading_order(geo.points)
    geo = geo.reorder(order)
    cells = cells[order]
    # from here on a unit is its representative point, as planner.io computes it on loading
    geo.points = shapely.get_coordinates(shapely.point_on_surface(cells))

    pupils = _pupils(
        geo, units, primary_schools, secondary_schools, history_years, truth, rngs["pupils"], a
    )
    schools = _place_schools(geo, pupils, primary_schools, secondary_schools, rngs["schools"], a)
    catch = _catchments(geo, pupils, schools, rngs["catchment"], a)
    _size_schools(schools, catch, policy, rngs["schools"], a)
    _candidates(schools, geo, policy, rngs["schools"], a)
    _groups(schools, rngs["schools"], a)
    _resources(schools, policy, rngs["schools"], a)
    staff = _teachers(schools, catch, geo, teachers, policy, rngs["teachers"], a)
    housing = _housing(schools, geo, rngs["housing"], a)

    unit_ids = _ids("U", len(geo.points), 5)
    school_ids = _ids("S", len(schools.kind), 3)
    units_df = _units_frame(unit_ids, school_ids, geo, pupils, catch, cells)
    schools_df = _schools_frame(school_ids, schools)
    teachers_df = _teachers_frame(staff, school_ids, seed)
    extra = {
        "enrolment_history": _history_frame(unit_ids, pupils),
        "births": _births_frame(unit_ids, pupils),
        "housing": pd.DataFrame(
            {
                "unit_id": pd.Series(unit_ids[housing["unit"]], dtype="str"),
                "year_complete": housing["year"].astype(np.int64),
                "dwellings": housing["dwellings"].astype(np.int64),
                "type": pd.Series(housing["type"], dtype="str"),
            }
        ),
        "zones": pd.DataFrame(
            {
                "unit_id": pd.Series(unit_ids, dtype="str"),
                "zone": pd.Series(geo.zone_label(), dtype="str"),
            }
        ),
    }
    return District(
        name=name,
        crs=CRS,
        policy=policy,
        schools=schools_df,
        units=units_df,
        travel_unit="m",
        teachers=teachers_df,
        extra=extra,
    )


def generator_metadata(
    units: int = 1500,
    primary_schools: int = 40,
    secondary_schools: int = 20,
    teachers: int = 3000,
    seed: int = 0,
    history_years: int = 6,
    name: str = "Sample County",
) -> dict[str, Any]:
    """The generator's parameters and the true forecasting parameters behind its history.

    Takes the same arguments as :func:`make_district` and returns what
    :func:`planner.writer.write_district` writes as the ``[generator]`` table: the arguments,
    the base year, the birth-to-entry ratio, per-grade progression ratios (``g2``..``g9``),
    and the per-zone multipliers on progression and on births.

    Raises
    ------
    ValueError
        For sizes out of range.
    """
    _check_args(units, primary_schools, secondary_schools, teachers, history_years)
    a = ASSUMPTIONS
    truth = _truth(_streams(seed)["truth"], a)
    return {
        "generator": "planner.generate",
        "version": 1,
        "name": name,
        "seed": seed,
        "units": units,
        "primary_schools": primary_schools,
        "secondary_schools": secondary_schools,
        "teachers": teachers,
        "history_years": history_years,
        "base_year": BASE_YEAR,
        "birth_to_entry_ratio": truth["b2e"],
        "progression": {f"g{g}": truth["progression"][g] for g in _ALL_GRADES[1:]},
        "zone_progression_multiplier": dict(a.zone_progression_multiplier),
        "zone_birth_growth": dict(a.zone_birth_growth),
        "dwelling_yield": dict(Policy().dwelling_yield),
    }


def county_boundary(units: int = 1500, seed: int = 0) -> shapely.Polygon:
    """The county boundary :func:`make_district` uses for these ``units`` and ``seed``.

    An irregular star-shaped polygon (so always simple and valid) in EPSG:32650, about
    40 × 30 km for 1,500 units; the area grows as ``sqrt(units)``.
    """
    a = ASSUMPTIONS
    rng = _streams(seed)["boundary"]
    s = _scale(units, a)
    n = a.boundary_vertices
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    # a few broad lobes and some fine roughness; total amplitude < 0.35 keeps r > 0
    for k in range(2, 16):
        amp = (0.09 if k <= 6 else 0.012) * rng.uniform(0.3, 1.0)
        r += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    hx, hy = a.base_half_extent_m
    rot = rng.uniform(-0.4, 0.4)
    x0, y0 = hx * s * r * np.cos(theta), hy * s * r * np.sin(theta)
    x = x0 * math.cos(rot) - y0 * math.sin(rot)
    y = x0 * math.sin(rot) + y0 * math.cos(rot)
    ox, oy = _origin()
    return shapely.Polygon(np.column_stack([x + ox, y + oy]))


# ======================================================================================
# internals: streams, scale, truth
# ======================================================================================
_STREAMS = ("truth", "boundary", "points", "pupils", "schools", "catchment", "teachers", "housing")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    # one independent stream per stage, so that a change in one stage leaves the others alone
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {k: np.random.default_rng(c) for k, c in zip(_STREAMS, children, strict=True)}


def _check_args(units: int, primary: int, secondary: int, teachers: int, history: int) -> None:
    if units < 50:
        raise ValueError(f"units must be at least 50, got {units}")
    if primary < 1 or secondary < 1:
        raise ValueError(
            f"need at least 1 primary and 1 secondary school, got {primary} and {secondary}"
        )
    if primary + secondary > units // 4:
        raise ValueError(
            f"{primary + secondary} schools for {units} units: need at least 4 units per school"
        )
    if teachers < 0:
        raise ValueError(f"teachers must be non-negative, got {teachers}")
    if not 1 <= history <= _MAX_HISTORY_YEARS:
        raise ValueError(f"history_years must be 1..{_MAX_HISTORY_YEARS}, got {history}")


def _scale(units: int, a: Assumptions) -> float:
    """Linear scale of the county against the default (area ∝ units**area_exponent)."""
    return float((units / a.base_units) ** (a.area_exponent / 2))


def _origin() -> tuple[float, float]:
    t = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = t.transform(*ORIGIN_LONLAT)
    return round(float(x)), round(float(y))


def _truth(rng: np.random.Generator, a: Assumptions) -> dict[str, Any]:
    lo, hi = a.progression_range
    prog = {g: round(float(rng.uniform(lo, hi)), 4) for g in _ALL_GRADES[1:]}
    b2e = round(float(rng.uniform(*a.birth_to_entry_range)), 4)
    return {"b2e": b2e, "progression": prog}


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    w = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{w}d}" for i in range(1, n + 1)], dtype=object)


# ======================================================================================
# geometry: zones, seed points, Voronoi cells
# ======================================================================================
@dataclass
class _Geo:
    points: np.ndarray  # (n, 2)
    zone: np.ndarray  # int index into ZONES
    residential: np.ndarray  # bool
    town: np.ndarray  # township index for town units, -1 otherwise
    seat: np.ndarray  # county seat (2,)
    town_xy: np.ndarray  # (k, 2) township centres
    scale: float

    def reorder(self, order: np.ndarray) -> _Geo:
        return _Geo(
            self.points[order],
            self.zone[order],
            self.residential[order],
            self.town[order],
            self.seat,
            self.town_xy,
            self.scale,
        )

    def zone_label(self) -> np.ndarray:
        lab = np.array(ZONES, dtype=object)[self.zone]
        lab[~self.residential] = NONRESIDENTIAL
        return lab


def _sample_in(
    boundary: shapely.Polygon,
    n: int,
    draw: Callable[[int], np.ndarray],
    keep: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Rejection-sample ``n`` points from ``draw`` that fall inside ``boundary``."""
    out: list[np.ndarray] = []
    have = 0
    for _ in range(10_000):
        if have >= n:
            break
        pts = draw(max(256, 2 * (n - have)))
        ok = shapely.contains_xy(boundary, pts[:, 0], pts[:, 1])
        if keep is not None:
            ok &= keep(pts)
        out.append(pts[ok])
        have += int(ok.sum())
    if have < n:
        raise RuntimeError("could not place sample points inside the county boundary")
    return np.concatenate(out)[:n]


def _layout(
    boundary: shapely.Polygon,
    n: int,
    primary_schools: int,
    s: float,
    rng: np.random.Generator,
    a: Assumptions,
) -> _Geo:
    minx, miny, maxx, maxy = boundary.bounds
    cx, cy = boundary.centroid.x, boundary.centroid.y
    ang = rng.uniform(0, 2 * np.pi)
    half = min(maxx - minx, maxy - miny) / 2
    seat = np.array(
        [cx + a.seat_offset * half * math.cos(ang), cy + a.seat_offset * half * math.sin(ang)]
    )
    r_c = a.centre_radius_m * s

    def uniform(k: int) -> np.ndarray:
        return np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])

    counts = _apportion(np.array([a.zone_unit_share[z] for z in ZONES]), n, rng)
    n_c, n_e, n_t, n_v = (int(c) for c in counts)

    # old centre: a truncated Gaussian around the county seat
    def centre(k: int) -> np.ndarray:
        return seat + rng.normal(0, a.centre_sigma_m * s, (k, 2))

    p_c = _sample_in(boundary, n_c, centre, lambda p: np.hypot(*(p - seat).T) <= r_c)

    # new estates: clusters on an arc around the centre in the growth direction
    n_clusters = max(2, round(n_e / a.estate_units_per_cluster))
    g_dir = rng.uniform(0, 2 * np.pi)

    def cluster_centre(k: int) -> np.ndarray:
        th = g_dir + np.radians(rng.uniform(-a.estate_arc_deg, a.estate_arc_deg, k))
        rr = rng.uniform(*a.estate_ring_m, k) * s
        return seat + np.column_stack([rr * np.cos(th), rr * np.sin(th)])

    est_c = _sample_in(boundary, n_clusters, cluster_centre)
    est_w = rng.dirichlet(np.full(n_clusters, 3.0))

    def estate(k: int) -> np.ndarray:
        which = rng.choice(n_clusters, size=k, p=est_w)
        return est_c[which] + rng.normal(0, a.estate_sigma_m * s, (k, 2))

    p_e = _sample_in(boundary, n_e, estate, lambda p: np.hypot(*(p - seat).T) > r_c)

    # townships spread over the countryside by farthest-point sampling from the seat
    n_towns = max(1, round(primary_schools * a.towns_per_primary_school))
    inner = boundary.buffer(-2_000.0 * s)
    if inner.is_empty:
        inner = boundary
    cand = _sample_in(
        inner, 40 * n_towns + 400, uniform, lambda p: np.hypot(*(p - seat).T) > 3 * r_c
    )
    town_xy = cand[_fps(cand, n_towns, seat[None, :], rng)]
    town_w = rng.dirichlet(np.full(n_towns, 4.0))

    def township(k: int) -> np.ndarray:
        which = rng.choice(n_towns, size=k, p=town_w)
        return town_xy[which] + rng.normal(0, a.town_sigma_m * s, (k, 2))

    p_t = _sample_in(boundary, n_t, township)
    t_of = cKDTree(town_xy).query(p_t)[1].astype(np.int64)

    # villages: an uneven density field (plains dense, hills sparse), none in the town centre
    waves = [
        (
            rng.normal(0, 1, 2) * 2 * np.pi / (15_000.0 * s),
            rng.uniform(0, 2 * np.pi),
            rng.uniform(0.3, 0.7),
        )
        for _ in range(4)
    ]

    def density(p: np.ndarray) -> np.ndarray:
        f = np.zeros(len(p))
        for kvec, phase, amp in waves:
            f += amp * np.cos(p @ kvec + phase)
        return np.exp(f - 2.0)  # ≤ 1 since Σ amp < 2

    p_v = _sample_in(
        boundary,
        n_v,
        uniform,
        lambda p: (np.hypot(*(p - seat).T) > 1.3 * r_c) & (rng.uniform(0, 1, len(p)) < density(p)),
    )

    pts = np.vstack([p_c, p_e, p_t, p_v])
    zone = np.repeat(np.arange(4), [n_c, n_e, n_t, n_v])
    town = np.concatenate([np.full(n_c + n_e, -1), t_of, np.full(n_v, -1)])
    residential = np.ones(n, dtype=bool)
    urbanish = np.flatnonzero(zone < 3)
    n_empty = round(a.nonresidential_share * len(urbanish))
    residential[rng.choice(urbanish, size=n_empty, replace=False)] = False
    return _Geo(pts, zone, residential, town, seat, town_xy, s)


def _voronoi(points: np.ndarray, boundary: shapely.Polygon) -> np.ndarray:
    """Voronoi cells of ``points`` clipped to ``boundary``: one valid Polygon per point."""
    env = shapely.box(*boundary.buffer(5_000.0).bounds)
    coll = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=env, ordered=True)
    cells = np.asarray(shapely.get_parts(coll))
    if len(cells) != len(points):
        raise RuntimeError(f"Voronoi gave {len(cells)} cells for {len(points)} points")
    shapely.prepare(boundary)
    inside = shapely.within(cells, boundary)
    edge = np.flatnonzero(~inside)
    clipped = shapely.intersection(cells[edge], boundary)
    seeds = shapely.points(points[edge])
    for j, (geom, pt) in enumerate(zip(clipped, seeds, strict=True)):
        if geom.geom_type != "Polygon":
            # a cell cut in two by a bay of the boundary keeps the piece holding its point
            parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
            holding = [p for p in parts if p.covers(pt)]
            geom = holding[0] if holding else max(parts, key=lambda p: p.area)
        clipped[j] = geom
    cells[edge] = clipped
    bad = ~shapely.is_valid(cells)
    if bad.any():
        cells[bad] = [_largest_polygon(shapely.make_valid(c)) for c in cells[bad]]
    return cells


def _largest_polygon(geom: shapely.Geometry) -> shapely.Polygon:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area)


def _reading_order(points: np.ndarray) -> np.ndarray:
    """Order units north to south in 2 km bands, west to east within a band (map reading)."""
    band = np.floor((points[:, 1].max() - points[:, 1]) / 2_000.0)
    return np.lexsort((points[:, 0], band))


def _fps(cand: np.ndarray, k: int, seeds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Farthest-point sampling of ``k`` candidate rows, away from ``seeds`` and each other.

    Distances are damped by a random factor per candidate so the result is not a lattice.
    """
    if k > len(cand):
        raise ValueError(f"cannot place {k} sites on {len(cand)} candidate points")
    damp = rng.uniform(0.75, 1.0, len(cand))
    d = np.full(len(cand), np.inf)
    for sxy in seeds:
        d = np.minimum(d, np.hypot(*(cand - sxy).T))
    chosen: list[int] = []
    for _ in range(k):
        i = int(rng.integers(len(cand))) if not np.isfinite(d).any() else int(np.argmax(d * damp))
        chosen.append(i)
        d = np.minimum(d, np.hypot(*(cand - cand[i]).T))
        d[i] = -1.0
    return np.array(chosen, dtype=np.int64)


def _sites(
    cand: np.ndarray,
    weight: np.ndarray,
    k: int,
    fixed: np.ndarray,
    rng: np.random.Generator,
    iters: int = 10,
) -> np.ndarray:
    """Choose ``k`` of the candidate rows as school sites with roughly even pupil catchments.

    Farthest-point start, then weighted Lloyd iterations (k-means) in which ``fixed`` sites
    (schools already placed) take their share of points but do not move; each site finally
    snaps to the nearest unused candidate point.
    """
    chosen = _fps(cand, k, fixed, rng)
    sites = cand[chosen].astype(float)
    w = weight + 1e-3  # empty units still pull a little, so a site never loses all its points
    nf = len(fixed)
    for _ in range(iters):
        _, near = cKDTree(np.vstack([fixed, sites]) if nf else sites).query(cand)
        near = near - nf
        mine = near >= 0
        tot = np.bincount(near[mine], weights=w[mine], minlength=k)
        cx = np.bincount(near[mine], weights=w[mine] * cand[mine, 0], minlength=k)
        cy = np.bincount(near[mine], weights=w[mine] * cand[mine, 1], minlength=k)
        moved = tot > 0
        sites[moved] = np.column_stack([cx[moved] / tot[moved], cy[moved] / tot[moved]])
    used = np.zeros(len(cand), dtype=bool)
    out = np.empty(k, dtype=np.int64)
    tree = cKDTree(cand)
    for j in range(k):
        _, idx = tree.query(sites[j], k=min(len(cand), 16))
        free = [int(i) for i in np.atleast_1d(idx) if not used[i]]
        out[j] = free[0] if free else int(chosen[j])
        used[out[j]] = True
    return out


def _apportion(weights: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Integers proportional to ``weights`` summing to ``total`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    rest = exact - base + rng.uniform(0, 1e-9, len(w))  # random, seeded tie-break
    short = total - int(base.sum())
    base[np.argsort(-rest, kind="stable")[:short]] += 1
    return base


# ======================================================================================
# pupils and forecasting history: a cohort simulation from known parameters
# ======================================================================================
@dataclass
class _Pupils:
    grades: np.ndarray  # (n_units, 9) in the base year
    history: np.ndarray  # (n_units, n_years, 9)
    history_years: np.ndarray
    births: np.ndarray  # (n_units, n_birth_years)
    birth_years: np.ndarray
    migrant: np.ndarray
    locked: np.ndarray

    @property
    def primary(self) -> np.ndarray:
        return self.grades[:, :6].sum(axis=1)

    @property
    def junior(self) -> np.ndarray:
        return self.grades[:, 6:].sum(axis=1)


def _pupils(
    geo: _Geo,
    n_units: int,
    primary_schools: int,
    secondary_schools: int,
    history_years: int,
    truth: dict[str, Any],
    rng: np.random.Generator,
    a: Assumptions,
) -> _Pupils:
    n = len(geo.points)
    zone_names = np.array(ZONES)[geo.zone]
    nine_year_guess = 0.45 * secondary_schools  # see _school_plan: about 45 % are nine-year
    target_primary = a.primary_pupils_per_school * (primary_schools + 0.5 * nine_year_guess)

    # each unit's share of primary pupils: zone share × a Gamma spread within the zone
    weight = rng.gamma(a.unit_pupil_gamma_shape, 1.0, n) * geo.residential
    share = np.zeros(n)
    for zi, z in enumerate(ZONES):
        m = geo.zone == zi
        if weight[m].sum() > 0:
            share[m] = a.zone_pupil_share[z] * weight[m] / weight[m].sum()
    share /= share.sum()

    b2e = truth["b2e"]
    prog = np.array([1.0] + [truth["progression"][g] for g in _ALL_GRADES[1:]])
    zmult = np.array([a.zone_progression_multiplier[z] for z in zone_names])
    zgrow = np.array([a.zone_birth_growth[z] for z in zone_names])

    def birth_curve(year: np.ndarray) -> np.ndarray:
        """Expected births per unit of β for birth years ``year`` (n, len(year))."""
        nat = np.array([NATIONAL_BIRTHS_M[int(y)] for y in year]) / NATIONAL_BIRTHS_M[2014]
        return nat[None, :] * zgrow[:, None] ** (np.asarray(year)[None, :] - 2014)

    def cohort_factor() -> np.ndarray:
        """Π progression up to grade g, per unit (n, 9)."""
        steps = prog[None, :] * np.where(np.arange(9) > 0, zmult[:, None], 1.0)
        return np.cumprod(steps, axis=1)

    grade_idx = np.arange(1, 10)
    born_now = BASE_YEAR - 5 - grade_idx
    expect_now = birth_curve(born_now) * b2e * cohort_factor()  # per β
    beta = target_primary * share / np.maximum(expect_now[:, :6].sum(axis=1), 1e-12)

    y0 = BASE_YEAR - history_years + 1
    years = np.arange(y0, BASE_YEAR + 1)
    birth_years = np.arange(min(2014, y0 - 6), BASE_YEAR + 1)
    births = rng.poisson(beta[:, None] * birth_curve(birth_years))

    hist = np.zeros((n, len(years), 9), dtype=np.int64)
    first = birth_curve(y0 - 5 - grade_idx) * b2e * cohort_factor() * beta[:, None]
    hist[:, 0, :] = rng.poisson(first)
    b_index = {int(y): i for i, y in enumerate(birth_years)}
    hist[:, 0, 0] = rng.poisson(b2e * births[:, b_index[y0 - 6]])
    for t in range(1, len(years)):
        hist[:, t, 0] = rng.poisson(b2e * births[:, b_index[int(years[t]) - 6]])
        hist[:, t, 1:] = rng.poisson(hist[:, t - 1, :-1] * prog[None, 1:] * zmult[:, None])
    hist[~geo.residential] = 0
    births[~geo.residential] = 0
    grades = hist[:, -1, :].copy()

    total = grades.sum(axis=1)
    p_mig = np.array([a.migrant_share[z] for z in zone_names])
    migrant = rng.binomial(total, p_mig)
    locked = np.zeros(n, dtype=bool)
    res = np.flatnonzero(geo.residential & (total > 0))
    n_lock = max(1, round(a.locked_share * n_units)) if len(res) else 0
    locked[rng.choice(res, size=min(n_lock, len(res)), replace=False)] = True
    return _Pupils(grades, hist, years, births, birth_years, migrant, locked)


# ======================================================================================
# schools: placement, catchments, sizing, candidates, groups, resources
# ======================================================================================
@dataclass
class _Schools:
    kind: list[str]  # centre | estate | town | village
    level: list[str]
    xy: list[np.ndarray]
    name: list[str]
    teaching_point: list[bool]
    status: list[str] = field(default_factory=list)
    spare_names: list[str] = field(default_factory=list)
    rooms_p: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rooms_j: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    strong: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    group: list[str] = field(default_factory=list)
    open_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    max_extra: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cost_room: np.ndarray = field(default_factory=lambda: np.zeros(0))
    resources: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))

    def append(self, kind: str, level: str, xy: np.ndarray, name: str, tp: bool = False) -> None:
        self.kind.append(kind)
        self.level.append(level)
        self.xy.append(np.asarray(xy, dtype=float))
        self.name.append(name)
        self.teaching_point.append(tp)

    def serves(self, lv: Level) -> np.ndarray:
        ok = ("primary", "nine_year") if lv == "primary" else ("junior", "nine_year")
        return np.array([lvl in ok for lvl in self.level])

    def coords(self) -> np.ndarray:
        return np.vstack(self.xy)


_SYL1 = ("Xin", "Bin", "Jin", "Dong", "Nan", "Xi", "Bei", "Hua", "Long", "Feng", "Qing", "Shi",
         "Yang", "He", "Tao", "Li", "Mei", "Song", "Zhu", "Yun", "Chang", "An", "Fu", "Gao",
         "Ping", "Shui", "Ma", "Wang", "Hong", "Bai")  # fmt: skip
_SYL2 = ("he", "hu", "shan", "qiao", "zhuang", "tang", "gang", "lin", "ying", "wan", "ji",
         "dian", "pu", "ting", "yuan", "quan", "ling", "tan", "an", "xing", "feng", "ning",
         "kou", "ba", "tun", "cun", "dun", "ya", "gou", "miao")  # fmt: skip


def _names(k: int, rng: np.random.Generator) -> list[str]:
    """``k`` distinct pinyin place names (numbered if the syllable pairs run out)."""
    pairs = [a + b for a in _SYL1 for b in _SYL2 if a.lower() != b]
    order = rng.permutation(len(pairs))
    out = [pairs[i] for i in order[: min(k, len(pairs))]]
    for i in range(len(out), k):
        out.append(f"{pairs[order[i % len(pairs)]]} {i // len(pairs) + 1}")
    return out


def _school_plan(
    primary: int, secondary: int, n_towns: int, a: Assumptions
) -> dict[str, tuple[int, int]]:
    """How many (primary, secondary) schools each kind of place gets."""
    p_c = max(1, round(primary * a.primary_share["centre"]))
    p_e = min(primary - p_c, round(primary * a.primary_share["estate"]))
    p_t = min(primary - p_c - p_e, n_towns)
    p_v = primary - p_c - p_e - p_t
    s_c = max(1, round(secondary * a.secondary_share["centre"]))
    s_e = min(secondary - s_c, round(secondary * a.secondary_share["estate"]))
    s_t = min(secondary - s_c - s_e, n_towns, round(secondary * a.secondary_share["town"]))
    s_v = secondary - s_c - s_e - s_t
    return {"centre": (p_c, s_c), "estate": (p_e, s_e), "town": (p_t, s_t), "village": (p_v, s_v)}


def _place_schools(
    geo: _Geo,
    pupils: _Pupils,
    primary: int,
    secondary: int,
    rng: np.random.Generator,
    a: Assumptions,
) -> _Schools:
    plan = _school_plan(primary, secondary, len(geo.town_xy), a)
    sc = _Schools([], [], [], [], [])
    pts = geo.points
    pool = _names(len(geo.town_xy) + 2 * (primary + secondary) + 64, rng)
    names = iter(pool)
    town_names = [next(names) for _ in range(len(geo.town_xy))]

    def pick(zone: int, k: int, fixed: list[np.ndarray], weight: np.ndarray) -> np.ndarray:
        cand = np.flatnonzero((geo.zone == zone) & geo.residential)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        f = np.vstack(fixed) if fixed else np.zeros((0, 2))
        return cand[_sites(pts[cand], weight[cand], k, f, rng)]

    wp = pupils.primary.astype(float)
    wj = pupils.junior.astype(float)

    # centre: numbered city schools
    p_c, s_c = plan["centre"]
    for i, u in enumerate(pick(0, p_c, [], wp)):
        sc.append("centre", "primary", pts[u], f"City No.{i + 1} Primary")
    for i, u in enumerate(pick(0, s_c, [], wj)):
        sc.append("centre", "junior", pts[u], f"City No.{i + 1} Junior Middle")
    # estates: new schools named after the estate, nine-year first
    p_e, s_e = plan["estate"]
    for u in pick(1, p_e, [], wp):
        sc.append("estate", "primary", pts[u], f"{next(names)} Primary")
    estate_xy = [sc.xy[j] for j in range(len(sc.kind)) if sc.kind[j] == "estate"]
    for i, u in enumerate(pick(1, s_e, estate_xy, wj)):
        lvl = "nine_year" if i % 2 == 0 else "junior"
        label = "Experimental School" if lvl == "nine_year" else "Middle School"
        sc.append("estate", lvl, pts[u], f"{next(names)} {label}")
    # townships: central primary (中心小学) and a middle or nine-year school near the centre
    p_t, s_t = plan["town"]
    for t in range(max(p_t, s_t)):
        mine = np.flatnonzero((geo.town == t) & geo.residential)
        if len(mine) == 0:
            continue
        near = mine[np.argsort(np.hypot(*(pts[mine] - geo.town_xy[t]).T))]
        if t < p_t:
            sc.append("town", "primary", pts[near[0]], f"{town_names[t]} Central Primary")
        if t < s_t:
            lvl = "nine_year" if t % 5 in (1, 3) else "junior"
            label = "Nine-Year School" if lvl == "nine_year" else "Middle School"
            sc.append("town", lvl, pts[near[min(1, len(near) - 1)]], f"{town_names[t]} {label}")
    # villages: nine-year schools fill the gaps between junior-serving schools, then primary
    # villages take whatever the other places did not (a township without units has no school)
    p_v = primary - sum(1 for lv in sc.level if lv == "primary")
    s_v = secondary - sum(1 for lv in sc.level if lv != "primary")
    jun = [sc.xy[i] for i in range(len(sc.kind)) if sc.level[i] != "primary"]
    for u in pick(3, s_v, jun, wj):
        sc.append("village", "nine_year", pts[u], f"{next(names)} School")
    prim = [sc.xy[i] for i in range(len(sc.kind)) if sc.level[i] != "junior"]
    for u in pick(3, p_v, prim, wp):
        sc.append("village", "primary", pts[u], f"{next(names)} Village School")
    sc.status = ["open"] * len(sc.kind)
    sc.spare_names = list(names)
    return sc


@dataclass
class _Catch:
    primary: np.ndarray  # school position per unit, -1 none
    junior: np.ndarray
    demand_p: np.ndarray  # pupils per school
    demand_j: np.ndarray


def _nearest_assign(
    unit_xy: np.ndarray, school_xy: np.ndarray, allowed: np.ndarray, k: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest allowed schools (positions) and distances per unit."""
    pos = np.flatnonzero(allowed)
    kk = min(k, len(pos))
    d, i = cKDTree(school_xy[pos]).query(unit_xy, k=kk)
    d, i = d.reshape(len(unit_xy), kk), i.reshape(len(unit_xy), kk)
    return pos[i], d


def _catchments(
    geo: _Geo, pupils: _Pupils, sc: _Schools, rng: np.random.Generator, a: Assumptions
) -> _Catch:
    xy = sc.coords()
    res = geo.residential
    n_sch = len(sc.kind)
    out: dict[str, np.ndarray] = {}
    for lv in ("primary", "junior"):
        serves = sc.serves(lv)
        near, dist = _nearest_assign(geo.points, xy, serves)
        assign = near[:, 0].copy()
        if lv == "primary":
            # teaching points: the village primaries that would get the fewest pupils
            dem = np.bincount(assign[res], weights=pupils.primary[res], minlength=n_sch)
            vill = [i for i in range(n_sch) if sc.kind[i] == "village" and sc.level[i] == "primary"]
            n_tp = round(a.teaching_point_share * len(vill))
            for i in sorted(vill, key=lambda i: (dem[i], i))[:n_tp]:
                sc.teaching_point[i] = True
                sc.name[i] = sc.name[i].replace("Village School", "Teaching Point")
            tp = np.array(sc.teaching_point)
            near, dist = _nearest_assign(geo.points, xy, serves & ~tp)
            assign = near[:, 0].copy()
            taken = np.zeros(len(assign), dtype=bool)
            tree = cKDTree(geo.points)
            for t in np.flatnonzero(tp):
                _, cand = tree.query(xy[t], k=min(12, len(geo.points)))
                total = 0
                for u in np.atleast_1d(cand):
                    if taken[u] or not res[u] or geo.zone[u] != 3:
                        continue
                    if total and total + pupils.primary[u] > a.teaching_point_pupils:
                        break
                    assign[u] = t
                    taken[u] = True
                    total += int(pupils.primary[u])
        else:
            taken = np.zeros(len(assign), dtype=bool)
        # historical quirks: a few units go to their 2nd or 3rd nearest school
        if near.shape[1] > 1:
            pool = np.flatnonzero(res & ~taken)
            k = round(a.quirk_share * len(pool))
            for u in rng.choice(pool, size=min(k, len(pool)), replace=False):
                alt = int(rng.integers(1, near.shape[1]))
                if dist[u, alt] <= a.quirk_max_ratio * dist[u, 0] + a.quirk_slack_m:
                    assign[u] = near[u, alt]
        assign[~res] = -1
        out[lv] = assign
    dp = np.bincount(out["primary"][res], weights=pupils.primary[res], minlength=n_sch)
    dj = np.bincount(out["junior"][res], weights=pupils.junior[res], minlength=n_sch)
    return _Catch(out["primary"], out["junior"], dp.astype(np.int64), dj.astype(np.int64))


def _size_schools(
    sc: _Schools, catch: _Catch, policy: Policy, rng: np.random.Generator, a: Assumptions
) -> None:
    """Classrooms from today's demand and a utilisation target per kind of place."""
    n = len(sc.kind)
    rooms = {"primary": np.zeros(n, dtype=np.int64), "junior": np.zeros(n, dtype=np.int64)}
    demand = {"primary": catch.demand_p, "junior": catch.demand_j}
    block = {"primary": len(GRADES["primary"]), "junior": len(GRADES["junior"])}
    for lv in ("primary", "junior"):
        cap = policy.class_size_cap[lv]  # type: ignore[index]
        serves = sc.serves(lv)  # type: ignore[arg-type]
        g = block[lv]
        for i in np.flatnonzero(serves):
            if sc.teaching_point[i]:
                rooms[lv][i] = int(
                    rng.integers(a.teaching_point_classrooms[0], a.teaching_point_classrooms[1] + 1)
                )
                continue
            u = rng.uniform(*a.utilisation[sc.kind[i]])
            want = demand[lv][i] / (u * cap) / g
            # whole classes per grade; the utilisation target already gives rural slack
            rooms[lv][i] = g * max(1, round(want))
        # county-wide, seats cover pupils with some slack, so an optimal plan can remove
        # overflow; the slack goes to the fullest rural schools (they have land to build on)
        pupils = math.ceil((1.0 + a.min_seat_surplus) * demand[lv].sum())
        order = [
            i
            for i in np.flatnonzero(serves)
            if sc.kind[i] in ("town", "village") and not sc.teaching_point[i]
        ]
        if not order:
            order = list(np.flatnonzero(serves))
        while rooms[lv].sum() * cap < pupils:
            util = demand[lv][order] / np.maximum(rooms[lv][order] * cap, 1)
            rooms[lv][order[int(np.argmax(util))]] += g
    sc.rooms_p, sc.rooms_j = rooms["primary"], rooms["junior"]
    sc.open_cost = np.zeros(n)
    sc.max_extra = np.array(
        [
            0
            if sc.teaching_point[i]
            else int(rng.integers(a.max_extra_classrooms[k][0], a.max_extra_classrooms[k][1] + 1))
            for i, k in enumerate(sc.kind)
        ],
        dtype=np.int64,
    )
    sc.cost_room = np.array([round(rng.uniform(*a.cost_per_classroom[k]), -4) for k in sc.kind])


def _candidates(
    sc: _Schools, geo: _Geo, policy: Policy, rng: np.random.Generator, a: Assumptions
) -> None:
    """Candidate sites (status ``candidate``) in the gaps of the growing estates."""
    n_prim = sum(1 for lv in sc.level if lv == "primary")
    k = max(a.min_candidates, round(a.candidates_per_primary_school * n_prim))
    cand = np.flatnonzero((geo.zone == 1) & geo.residential)
    if len(cand) < k:
        cand = np.flatnonzero(geo.residential)
    picks = cand[_fps(geo.points[cand], min(k, len(cand)), sc.coords(), rng)]
    names = sc.spare_names[: len(picks)]
    for j, u in enumerate(picks):
        lvl = ("primary", "nine_year", "primary", "junior")[j % 4]
        rp, rj = a.candidate_classrooms[lvl]
        label = {
            "primary": "Primary",
            "nine_year": "Experimental School",
            "junior": "Middle School",
        }[lvl]
        sc.append("estate", lvl, geo.points[u], f"{names[j]} New {label} (site)")
        sc.status.append("candidate")
        sc.rooms_p = np.append(sc.rooms_p, rp)
        sc.rooms_j = np.append(sc.rooms_j, rj)
        sc.open_cost = np.append(
            sc.open_cost, round((rp + rj) * rng.uniform(*a.open_cost_per_classroom), -5)
        )
        sc.max_extra = np.append(sc.max_extra, 0)
        sc.cost_room = np.append(
            sc.cost_room, round(rng.uniform(*a.cost_per_classroom["estate"]), -4)
        )


def _groups(sc: _Schools, rng: np.random.Generator, a: Assumptions) -> None:
    """Strong centre schools, and a few school groups (集团化办学) each led by one of them."""
    n = len(sc.kind)
    centre = [i for i in range(n) if sc.kind[i] == "centre"]
    strong = np.zeros(n, dtype=bool)
    n_strong = math.ceil(a.strong_centre_share * len(centre))
    strong[rng.choice(centre, size=n_strong, replace=False)] = True
    sc.strong = strong
    sc.group = [""] * n
    leaders = [i for i in centre if strong[i]]
    members = [
        i
        for i in range(n)
        if sc.kind[i] != "centre" and sc.status[i] == "open" and not sc.teaching_point[i]
    ]
    n_groups = min(len(leaders), max(2, round(sum(1 for lv in sc.level if lv == "primary") / 20)))
    xy = sc.coords()
    for gi, lead in enumerate(rng.choice(leaders, size=n_groups, replace=False)):
        gid = f"G{gi + 1:02d}"
        sc.group[lead] = gid
        free = [i for i in members if sc.group[i] == ""]
        if not free:
            break
        k = min(len(free), int(rng.integers(a.schools_per_group[0], a.schools_per_group[1] + 1)))
        # the nearest school of the same level joins first (a branch campus), then others
        same = [i for i in free if sc.level[i] == sc.level[lead]] or free
        first = min(same, key=lambda i: (float(np.hypot(*(xy[i] - xy[lead]))), i))
        rest = [i for i in free if i != first]
        others = list(rng.choice(rest, size=min(k - 1, len(rest)), replace=False)) if rest else []
        for i in [first, *others]:
            sc.group[int(i)] = gid


def _resources(sc: _Schools, policy: Policy, rng: np.random.Generator, a: Assumptions) -> None:
    """Floor area, sports ground, equipment and multimedia rooms, per seat by kind of place."""
    seats = (
        sc.rooms_p * policy.class_size_cap["primary"] + sc.rooms_j * policy.class_size_cap["junior"]
    )
    rooms = sc.rooms_p + sc.rooms_j
    res = np.zeros((len(sc.kind), 4))
    for i, k in enumerate(sc.kind):
        (t0, t1), (s0, s1), (e0, e1), (m0, m1) = a.resources[k]
        res[i, 0] = round(seats[i] * rng.uniform(t0, t1), -1)
        res[i, 1] = round(seats[i] * rng.uniform(s0, s1), -1)
        res[i, 2] = round(seats[i] * rng.uniform(e0, e1), -3)
        res[i, 3] = float(max(1, round(rooms[i] * rng.uniform(m0, m1))))
    sc.resources = res


# ======================================================================================
# teachers
# ======================================================================================
def _teachers(
    sc: _Schools,
    catch: _Catch,
    geo: _Geo,
    total: int,
    policy: Policy,
    rng: np.random.Generator,
    a: Assumptions,
) -> dict[str, np.ndarray]:
    n = len(sc.kind)
    is_open = np.array([s == "open" for s in sc.status])
    ratio_p = policy.staffing_ratio["primary"]
    ratio_j = policy.staffing_ratio["junior"]
    dp = np.zeros(n)
    dj = np.zeros(n)
    dp[: len(catch.demand_p)] = catch.demand_p
    dj[: len(catch.demand_j)] = catch.demand_j
    need = dp / ratio_p + dj / ratio_j
    # a small school still needs one teacher per class it runs (one class per grade at least)
    classes = np.zeros(n)
    for lv, dem in (("primary", dp), ("junior", dj)):
        g = len(GRADES[lv])  # type: ignore[index]
        cap = policy.class_size_cap[lv]  # type: ignore[index]
        classes += np.where(dem > 0, g * np.ceil(dem / (g * cap)), 0.0)
    tp = np.array(sc.teaching_point)
    need = np.where(tp, np.maximum(need, a.min_staff_teaching_point), np.maximum(need, classes))
    need[~is_open] = 0.0
    per_school = _apportion(need, total, rng)
    school = np.repeat(np.arange(n), per_school)
    m = len(school)

    cat = np.array([_CATEGORY[k] for k in sc.kind])[school]
    strong = sc.strong[school]
    village = cat == "village"

    # subject: per school, by level mix; village schools short in PE and arts
    subject = np.empty(m, dtype=object)
    start = np.concatenate([[0], np.cumsum(per_school)])
    pe_arts = set(policy.pe_arts_subjects)
    for i in range(n):
        k = int(per_school[i])
        if k == 0:
            continue
        share_p = (
            dp[i] / ratio_p / max(need[i], 1e-9)
            if sc.level[i] == "nine_year"
            else float(sc.level[i] == "primary")
        )
        mix: dict[str, float] = {}
        for lv, w in (("primary", share_p), ("junior", 1.0 - share_p)):
            for subj, s in a.subject_share[lv].items():
                mix[subj] = mix.get(subj, 0.0) + w * s
        if sc.kind[i] == "village":
            cut = sum(v * (1 - a.village_pe_arts_factor) for s2, v in mix.items() if s2 in pe_arts)
            mix = {
                s2: v * a.village_pe_arts_factor if s2 in pe_arts else v for s2, v in mix.items()
            }
            mix["chinese"] += cut / 2
            mix["math"] += cut / 2
        names = sorted(mix)
        counts = _apportion(np.array([mix[s2] for s2 in names]), k, rng)
        drawn = np.repeat(np.array(names, dtype=object), counts)
        subject[start[i] : start[i + 1]] = rng.permutation(drawn)

    gender = np.where(rng.uniform(0, 1, m) < a.female_share, "F", "M").astype(object)
    mean = np.array([a.age_mean[c] for c in cat])
    lo = np.where(gender == "F", a.age_range["F"][0], a.age_range["M"][0])
    hi = np.where(gender == "F", a.age_range["F"][1], a.age_range["M"][1])
    age = np.clip(np.rint(rng.normal(mean, a.age_sd)), lo, hi).astype(np.int64)
    years = np.minimum(np.floor(rng.gamma(*a.years_gamma, m)), age - lo).astype(np.int64)

    p_bb = np.where(
        strong, a.backbone_share["strong"], np.array([a.backbone_share[c] for c in cat])
    )
    p_bb = p_bb * np.clip((age - 24) / 10.0, 0.0, 1.0)  # nobody is backbone in the first years
    is_bb = rng.uniform(0, 1, m) < p_bb
    levels = list(a.backbone_level_split)
    bb_level = rng.choice(levels, size=m, p=[a.backbone_level_split[x] for x in levels])
    backbone = np.where(is_bb, bb_level, "none").astype(object)
    p_hd = np.array([a.higher_degree_share[c] for c in cat]) + 0.01 * np.clip(40 - age, -10, 15)
    higher = rng.uniform(0, 1, m) < p_hd

    exempt = np.full(m, "", dtype=object)
    pick = np.flatnonzero(rng.uniform(0, 1, m) < a.exempt_share)
    reasons = list(a.exempt_weights)
    for t in pick:
        ok = [
            r
            for r in reasons
            if not (r in ("pregnancy", "nursing") and (gender[t] != "F" or age[t] > 40))
            and not (r == "lead_deferral" and age[t] < 35)
        ]
        w = np.array([a.exempt_weights[r] for r in ok])
        exempt[t] = ok[int(rng.choice(len(ok), p=w / w.sum()))]

    # homes: near the school in town; many village teachers commute from a town
    sxy = sc.coords()[school]
    towns = np.vstack([geo.seat[None, :], geo.town_xy])
    near_town = towns[cKDTree(towns).query(sxy)[1]] if m else sxy
    commute = village & (rng.uniform(0, 1, m) < a.village_commuter_share)
    base = np.where(commute[:, None], near_town, sxy)
    sigma = np.where(village & ~commute, a.home_sigma_m / 2, a.home_sigma_m)
    home = base + rng.normal(0, 1, (m, 2)) * sigma[:, None]
    home = np.round(home, 0)
    missing = rng.uniform(0, 1, m) < a.home_missing_share
    home[missing] = np.nan

    rotated = (years <= 10) & (rng.uniform(0, 1, m) < a.rotated_share)
    last = np.where(rotated, BASE_YEAR - years, np.nan).astype(float)
    return {
        "school": school,
        "subject": subject,
        "backbone": backbone,
        "higher_degree": higher,
        "years": years,
        "age": age,
        "gender": gender,
        "exempt": exempt,
        "home": home,
        "last": last,
    }


def _housing(
    sc: _Schools, geo: _Geo, rng: np.random.Generator, a: Assumptions
) -> dict[str, np.ndarray]:
    """New estates completing 2026–2030, near the candidate sites (where the town grows)."""
    cand = np.array([i for i, s in enumerate(sc.status) if s == "candidate"])
    res = np.flatnonzero(geo.residential & (geo.zone <= 1))
    k_total = max(len(cand), round(a.housing_unit_share * len(geo.points)))
    chosen: list[int] = []
    if len(cand) and len(res):
        per = math.ceil(k_total / len(cand))
        tree = cKDTree(geo.points[res])
        for i in cand:
            _, idx = tree.query(sc.xy[i], k=min(per * 2, len(res)))
            for j in np.atleast_1d(idx):
                u = int(res[j])
                if u not in chosen:
                    chosen.append(u)
                if len(chosen) % per == 0:
                    break
    units = np.array(chosen[:k_total], dtype=np.int64)
    h = len(units)
    apt = rng.uniform(0, 1, h) < a.apartment_share
    dw = np.where(
        apt,
        rng.integers(a.apartment_dwellings[0], a.apartment_dwellings[1] + 1, h) // 10 * 10,
        rng.integers(a.single_family_dwellings[0], a.single_family_dwellings[1] + 1, h),
    )
    years = rng.integers(a.housing_years[0], a.housing_years[1] + 1, h)
    order = np.lexsort((units, years))
    return {
        "unit": units[order],
        "year": years[order],
        "dwellings": dw[order],
        "type": np.where(apt, "apartment", "single_family").astype(object)[order],
    }


# ======================================================================================
# frames with the normalised columns and dtypes
# ======================================================================================
def _typed(data: dict[str, Any], columns: tuple[Column, ...]) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for c in columns:
        v = data[c.name]
        if c.kind == "str":
            out[c.name] = pd.Series(np.asarray(v, dtype=object), dtype="str")
        elif c.kind == "int":
            out[c.name] = pd.Series(np.asarray(v, dtype=np.int64))
        elif c.kind == "float":
            out[c.name] = pd.Series(np.asarray(v, dtype=np.float64))
        else:
            out[c.name] = pd.Series(np.asarray(v, dtype=bool))
    return pd.DataFrame(out)


def _units_frame(
    unit_ids: np.ndarray,
    school_ids: np.ndarray,
    geo: _Geo,
    pupils: _Pupils,
    catch: _Catch,
    cells: np.ndarray,
) -> gpd.GeoDataFrame:
    sid = np.append(school_ids, "")
    data: dict[str, Any] = {
        "unit_id": unit_ids,
        "x": geo.points[:, 0],
        "y": geo.points[:, 1],
        "pupils_primary": pupils.primary,
        "pupils_junior": pupils.junior,
        "current_primary": sid[catch.primary],  # -1 picks the trailing "" (nonresidential)
        "current_junior": sid[catch.junior],
        "locked": pupils.locked,
        "migrant_pupils": pupils.migrant,
    }
    for j, g in enumerate(_ALL_GRADES):
        data[f"g{g}"] = pupils.grades[:, j]
    df = _typed(data, UNIT_COLUMNS)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(cells, crs=CRS), crs=CRS)


def _schools_frame(school_ids: np.ndarray, sc: _Schools) -> pd.DataFrame:
    xy = sc.coords()
    n = len(sc.kind)
    data: dict[str, Any] = {
        "school_id": school_ids,
        "name": sc.name,
        "level": sc.level,
        "x": xy[:, 0],
        "y": xy[:, 1],
        "classrooms_primary": sc.rooms_p,
        "classrooms_junior": sc.rooms_j,
        "capacity_primary": np.full(n, np.nan),
        "capacity_junior": np.full(n, np.nan),
        "status": sc.status,
        "open_cost": sc.open_cost,
        "max_extra_classrooms": sc.max_extra,
        "cost_per_classroom": sc.cost_room,
        "category": [_CATEGORY[k] for k in sc.kind],
        "strong": sc.strong,
        "group_id": sc.group,
        "teaching_area_m2": sc.resources[:, 0],
        "sports_area_m2": sc.resources[:, 1],
        "equipment_value": sc.resources[:, 2],
        "multimedia_rooms": sc.resources[:, 3],
    }
    return _typed(data, SCHOOL_COLUMNS)


#: Common Chinese surnames and given-name characters for the generated teachers' names.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志强海波晓东春梅雪梅文博子涵欣怡雨轩浩然思远佳怡婷婷"


def teacher_names(m: int, seed: int) -> np.ndarray:
    """``m`` plausible Chinese names, deterministic for ``seed`` (an own stream: other draws keep)."""
    rng = np.random.default_rng([seed, 20260])
    sur = rng.integers(0, len(_SURNAMES), m)
    n_given = rng.choice([1, 2], size=m, p=[0.3, 0.7])
    g1 = rng.integers(0, len(_GIVEN), m)
    g2 = rng.integers(0, len(_GIVEN), m)
    return np.array(
        [
            _SURNAMES[a] + _GIVEN[b] + (_GIVEN[c] if k == 2 else "")
            for a, b, c, k in zip(sur, g1, g2, n_given, strict=True)
        ],
        dtype=object,
    )


def _teachers_frame(
    t: dict[str, np.ndarray], school_ids: np.ndarray, seed: int = 0
) -> pd.DataFrame:
    m = len(t["school"])
    data: dict[str, Any] = {
        "teacher_id": _ids("T", m, 5),
        "name": teacher_names(m, seed),
        "school_id": school_ids[t["school"]] if m else np.zeros(0, dtype=object),
        "subject": t["subject"],
        "backbone": t["backbone"],
        "higher_degree": t["higher_degree"],
        "years_at_school": t["years"],
        "age": t["age"],
        "gender": t["gender"],
        "exempt_reason": t["exempt"],
        "home_x": t["home"][:, 0],
        "home_y": t["home"][:, 1],
        "last_rotated_year": t["last"],
    }
    return _typed(data, TEACHER_COLUMNS)


def _history_frame(unit_ids: np.ndarray, p: _Pupils) -> pd.DataFrame:
    n, ny, ng = p.history.shape
    return pd.DataFrame(
        {
            "unit_id": pd.Series(np.repeat(unit_ids, ny * ng), dtype="str"),
            "year": np.tile(np.repeat(p.history_years.astype(np.int64), ng), n),
            "grade": np.tile(np.arange(1, ng + 1, dtype=np.int64), n * ny),
            "pupils": p.history.reshape(-1).astype(np.int64),
        }
    )


def _births_frame(unit_ids: np.ndarray, p: _Pupils) -> pd.DataFrame:
    n, ny = p.births.shape
    return pd.DataFrame(
        {
            "unit_id": pd.Series(np.repeat(unit_ids, ny), dtype="str"),
            "year": np.tile(p.birth_years.astype(np.int64), n),
            "births": p.births.reshape(-1).astype(np.int64),
        }
    )


__all__ = [
    "ASSUMPTIONS",
    "BASE_YEAR",
    "CRS",
    "NATIONAL_BIRTHS_M",
    "ORIGIN_LONLAT",
    "ZONES",
    "Assumptions",
    "county_boundary",
    "generator_metadata",
    "make_district",
]
