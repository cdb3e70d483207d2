"""The catchment map: a valid PNG of sensible size, one panel per level."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.maps import MapPanel, catchment_map
from tests.solvers.test_catchment_plan import tiny_district


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert head[12:16] == b"IHDR"
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


def panel(level: str) -> MapPanel:
    schools = pd.DataFrame(
        {
            "school_id": ["A", "B"],
            "pupils": [126, 160],
            "seats": [130, 150],
            "utilisation": [126 / 130, 160 / 150],
        }
    )
    return MapPanel(
        level=level,
        school_ids=np.array(["A", "A", "B", "A", "B", "B"], dtype=object),
        moved=np.array([False, False, False, False, True, False]),
        schools=schools,
        subtitle="optimal, gap 0.00%",
    )


@pytest.mark.parametrize("levels", [["primary"], ["primary", "junior"]])
def test_map_is_a_png_of_sensible_size(tmp_path: Path, levels: list[str]) -> None:
    d = tiny_district()
    out = catchment_map(
        d.units,
        d.schools[["school_id", "x", "y"]],
        [panel(lv) for lv in levels],
        tmp_path / "m.png",
        title="tiny",
    )
    w, h = png_size(out)
    assert 500 <= w <= 2500 and 400 <= h <= 1600
    assert w > h if len(levels) == 2 else True
    assert 10_000 < out.stat().st_size < 3_000_000


def test_no_panels_refused(tmp_path: Path) -> None:
    d = tiny_district()
    with pytest.raises(ValueError, match="at least one panel"):
        catchment_map(d.units, d.schools, [], tmp_path / "m.png")
