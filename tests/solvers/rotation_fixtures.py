"""Tiny rotation districts with written-out numbers, built directly (no files).

``base`` — 4 primary schools on a line (x in metres), one unit each (today's pupils):

==== ======== ====== ======= ====== =====
id   category strong x       pupils staff
==== ======== ====== ======= ====== =====
U1   urban    yes    0       900    10 (6 eligible: u1a..u1f, 2 backbone)
U2   urban    no     3000    900    10 (4 eligible)
V1   village  no     15000   180    2
V2   village  no     18000   180    2
==== ======== ====== ======= ====== =====

Default policy (ρ = 10 %, β = 20 % of rotated, leave/arrive ≤ 15 % of staff, at least 1),
year 2025, subject needs from ``staffing`` (so every number is visible here).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.model import District
from planner.policy import Policy

SCHOOLS = pd.DataFrame(
    {
        "school_id": ["U1", "U2", "V1", "V2"],
        "name": ["Urban One", "Urban Two", "Xinhe Village School", "Hill Village School"],
        "level": ["primary"] * 4,
        "x": [0.0, 3000.0, 15000.0, 18000.0],
        "y": [0.0, 0.0, 0.0, 0.0],
        "status": ["open"] * 4,
        "category": ["urban", "urban", "village", "village"],
        "strong": [True, False, False, False],
        "group_id": ["", "", "", ""],
    }
)


def _teacher(tid: str, school: str, subject: str, years: int, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "teacher_id": tid,
        "school_id": school,
        "subject": subject,
        "backbone": "none",
        "higher_degree": False,
        "years_at_school": years,
        "age": 40,
        "gender": "M",
        "exempt_reason": "",
        "home_x": np.nan,
        "home_y": np.nan,
        "last_rotated_year": np.nan,
    }
    row.update(kw)
    return row


def base_teachers() -> list[dict[str, Any]]:
    """U1: 6 eligible (2 backbone, 1 PE) + 4 new; U2: 4 eligible + 6 new; villages: 2 new each."""
    rows = [
        _teacher("u1a", "U1", "math", 12, backbone="county"),
        _teacher("u1b", "U1", "chinese", 10, backbone="city", higher_degree=True),
        _teacher("u1c", "U1", "pe", 9),
        _teacher("u1d", "U1", "math", 8),
        _teacher("u1e", "U1", "chinese", 7),
        _teacher("u1f", "U1", "music", 6),
    ]
    rows += [_teacher(f"u1n{k}", "U1", "chinese", 2) for k in range(4)]
    rows += [
        _teacher("u2a", "U2", "math", 11),
        _teacher("u2b", "U2", "chinese", 9),
        _teacher("u2c", "U2", "art", 8),
        _teacher("u2d", "U2", "math", 7),
    ]
    rows += [_teacher(f"u2n{k}", "U2", "chinese", 1) for k in range(6)]
    rows += [_teacher("v1a", "V1", "chinese", 2), _teacher("v1b", "V1", "math", 2)]
    rows += [_teacher("v2a", "V2", "chinese", 2), _teacher("v2b", "V2", "math", 2)]
    return rows


def staffing(extra: list[tuple[str, str, int]] | None = None) -> pd.DataFrame:
    """Needs: urban schools need 2 math, 4 chinese, villages 1 each of pe, music, art, math."""
    rows = [(s, "math", 2) for s in ("U1", "U2")] + [(s, "chinese", 4) for s in ("U1", "U2")]
    for s in ("V1", "V2"):
        rows += [(s, "pe", 1), (s, "music", 1), (s, "art", 1), (s, "math", 1), (s, "chinese", 1)]
    rows += extra or []
    df = pd.DataFrame(rows, columns=["school_id", "subject", "required"])
    return df.drop_duplicates(["school_id", "subject"], keep="last")


def make(
    teachers: list[dict[str, Any]] | None = None,
    policy: Policy | None = None,
    extra: dict[str, pd.DataFrame] | None = None,
    schools: pd.DataFrame | None = None,
) -> District:
    """A District from the tables above (variants override pieces)."""
    sch = (SCHOOLS if schools is None else schools).copy()
    pupils = {"U1": 900, "U2": 900, "V1": 180, "V2": 180}
    units = gpd.GeoDataFrame(
        {
            "unit_id": [f"n{s}" for s in sch["school_id"]],
            "x": sch["x"].to_numpy(),
            "y": sch["y"].to_numpy() + 100.0,
            "pupils_primary": [pupils.get(s, 100) for s in sch["school_id"]],
            "pupils_junior": [0] * len(sch),
            "current_primary": sch["school_id"].tolist(),
            "current_junior": [""] * len(sch),
        },
        geometry=gpd.points_from_xy(sch["x"], sch["y"] + 100.0),
        crs="EPSG:32650",
    )
    tables = {"staffing": staffing()}
    tables.update(extra or {})
    return District(
        name="tiny",
        crs="EPSG:32650",
        policy=policy or Policy(),
        schools=sch,
        units=units,
        teachers=pd.DataFrame(teachers if teachers is not None else base_teachers()),
        extra=tables,
    )
