"""Sparse candidate pairs: k nearest, masks, forced pairs, travel tables."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance import Pairs, candidate_pairs, straight_line

# Four units on a line at x = 0, 1000, 2000, 3000; three schools at x = 0, 1500, 3000.
UNITS = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0], [3000.0, 0.0]])
SCHOOLS = np.array([[0.0, 0.0], [1500.0, 0.0], [3000.0, 0.0]])


def test_two_nearest_per_unit_sorted_by_distance() -> None:
    p = candidate_pairs(UNITS, SCHOOLS, k=2)
    assert p.unit.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert p.school.tolist() == [0, 1, 1, 0, 1, 2, 2, 1]
    assert p.cost.tolist() == [0.0, 1500.0, 500.0, 1000.0, 500.0, 1000.0, 0.0, 1500.0]


def test_mask_and_max_dist_with_a_forced_pair() -> None:
    mask = np.array([True, False, True])
    p = candidate_pairs(
        UNITS,
        SCHOOLS,
        k=1,
        max_dist=1000.0,
        school_mask=mask,
        must_include=(np.array([1]), np.array([1])),
    )
    # unit 1 keeps its forced pair to the masked school 1 (500 m) and its nearest allowed (0, 1000 m);
    # unit 2's nearest allowed school is 2 at 1000 m; unit 3 at 0 m.
    assert list(zip(p.unit.tolist(), p.school.tolist(), strict=True)) == [
        (0, 0),
        (1, 1),
        (1, 0),
        (2, 2),
        (3, 2),
    ]
    assert p.offsets(4).tolist() == [0, 1, 3, 4, 5]


def test_k_below_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        candidate_pairs(UNITS, SCHOOLS, k=0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8), st.integers(1, 5), st.integers(0, 2**16))
def test_pairs_are_the_true_k_nearest(n_units: int, n_schools: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    u = rng.uniform(0, 10_000, (n_units, 2))
    s = rng.uniform(0, 10_000, (n_schools, 2))
    p: Pairs = candidate_pairs(u, s, k=k)
    d = straight_line(u, s)
    kk = min(k, n_schools)
    assert len(p) == n_units * kk
    for i in range(n_units):
        got = np.sort(p.cost[p.unit == i])
        assert np.allclose(got, np.sort(d[i])[:kk])
