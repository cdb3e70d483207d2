"""Strict JSON for result files."""

from __future__ import annotations

import json
import math

import numpy as np

from planner.jsonsafe import dumps, json_ready


def test_non_finite_numbers_become_null_and_numpy_becomes_python() -> None:
    data = {"bound": -math.inf, "gap": float("nan"), "n": np.int64(3), "a": np.array([1.5, np.nan])}
    assert json_ready(data) == {"bound": None, "gap": None, "n": 3, "a": [1.5, None]}
    assert json.loads(dumps(data)) == {"bound": None, "gap": None, "n": 3, "a": [1.5, None]}
    assert "Infinity" not in dumps(data) and "NaN" not in dumps(data)
