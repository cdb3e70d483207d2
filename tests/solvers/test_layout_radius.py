"""Radius (covering) formulation of the uncapacitated p-median / facility location."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.benchdata import load_instance
from solvers.layout import FacilityProblem, FacilitySettings, evaluate, solve_facility
from solvers.layout.highs_model import solve_highs
from solvers.layout.radius import radius_applies, solve_radius
from tests.solvers.test_layout import instance


def line(points: list[float], p: int) -> FacilityProblem:
    """p-median on a line: every point is a customer and a candidate site."""
    x = np.array(points, dtype=float)
    return FacilityProblem.from_instance(instance(np.abs(x[:, None] - x[None, :]).tolist(), p=p))


def brute_force(pb: FacilityProblem) -> float:
    """Cheapest open set by enumeration (customers at their cheapest open allowed pair)."""
    c = np.full((pb.n_facilities, pb.n_customers), np.inf)
    c[pb.pair_facility, pb.pair_customer] = pb.pair_cost
    f = np.where(pb.fixed_open, 0.0, pb.open_cost)
    best = np.inf
    free = [i for i in range(pb.n_facilities) if not pb.forbidden[i]]
    for k in range(1, len(free) + 1):
        if pb.p is not None and (k != pb.p if pb.p_limit == "exactly" else k > pb.p):
            continue
        for s in itertools.combinations(free, k):
            if not all(i in s for i in np.flatnonzero(pb.fixed_open)):
                continue
            idx = list(s)
            best = min(best, float(c[idx].min(axis=0).sum() + f[idx].sum()))
    return best


# -- hand-checked instances ------------------------------------------------------------------
def test_two_clusters_on_a_line() -> None:
    # points 0 1 2 | 10 11, p = 2: medians 1 and 10 (or 11): 1 + 0 + 1 + 0 + 1 = 3
    pb = line([0, 1, 2, 10, 11], p=2)
    res = solve_radius(pb, time_limit=10)
    assert res.status == "optimal"
    assert res.objective == 3
    assert res.bound == 3
    assert res.open is not None and res.open[1] and (res.open[3] or res.open[4])


def test_bad_start_is_improved_and_proven() -> None:
    # start at the worst pair of medians (0 and 11): 0 + 1 + 2 + 1 + 0 = 4 → optimum 3
    pb = line([0, 1, 2, 10, 11], p=2)
    start = np.array([True, False, False, False, True])
    res = solve_radius(pb, time_limit=10, start=start)
    assert (res.status, res.objective, res.bound) == ("optimal", 3, 3)


def test_facility_location_with_open_costs() -> None:
    # customers at 0, 1, 10; sites at 0 and 10, 20 to open each: site 0 alone costs 31
    pb = FacilityProblem.from_instance(
        instance([[0, 1, 10], [10, 9, 0]], fixed_cost=np.array([20.0, 20.0]))
    )
    assert radius_applies(pb)
    res = solve_radius(pb, time_limit=10)
    assert (res.status, res.objective) == ("optimal", 31)
    assert res.open is not None and res.open.tolist() == [True, False]


def test_must_open_and_closed_sites() -> None:
    # points 0 1 2 | 10 11, p = 2 with site 1 closed and site 4 (at 11) forced open:
    # best is {0 or 2, 4}: 0 + 1 + 2 + 1 + 0 = 4 (site 2: 2 + 1 + 0 + 1 + 0 = 4 as well)
    pb = line([0, 1, 2, 10, 11], p=2)
    pb = replace(
        pb,
        forbidden=np.array([False, True, False, False, False]),
        fixed_open=np.array([False, False, False, False, True]),
    )
    res = solve_radius(pb, time_limit=10)
    assert (res.status, res.objective) == ("optimal", 4)
    assert res.open is not None and res.open[4] and not res.open[1]


def test_sparse_pairs_force_coverage() -> None:
    # customer 2 can only be served by site 1 (cost 50), so site 1 must open even though
    # site 0 is cheaper for everyone else: p = 1 leaves only {1}: 5 + 5 + 50 = 60
    pb = FacilityProblem.from_instance(instance([[0, 0, 0], [5, 5, 50]], p=1))
    keep = ~((pb.pair_customer == 2) & (pb.pair_facility == 0))
    pb = pb.restrict(keep, None)
    res = solve_radius(pb, time_limit=10)
    assert (res.status, res.objective) == ("optimal", 60)


def test_no_feasible_open_set_is_reported() -> None:
    # customer 1 has a pair only to site 1, which is closed
    pb = FacilityProblem.from_instance(instance([[0, 1], [1, 0]], p=1))
    pb = pb.restrict(~((pb.pair_customer == 1) & (pb.pair_facility == 0)), None)
    pb = replace(pb, forbidden=np.array([False, True]))
    assert solve_radius(pb, time_limit=10).status == "infeasible"


def test_capacitated_problem_is_refused() -> None:
    pb = FacilityProblem.from_instance(instance([[0, 1]], capacity=np.array([1.0]), p=1))
    assert not radius_applies(pb)
    with pytest.raises(ValueError, match="uncapacitated"):
        solve_radius(pb, time_limit=1)


def test_solve_facility_uses_radius_and_verifies() -> None:
    pb = line([0, 1, 2, 10, 11, 30, 31], p=3)  # 1 + 0 + 1 + 0 + 1 + 0 + 1 = 4
    sol = solve_facility(pb, FacilitySettings(time_limit=10))
    assert sol.info["method"] == "radius"
    assert (sol.status, sol.objective, sol.bound) == ("optimal", 4, 4)
    assert evaluate(pb, sol.open, sol.modules, sol.assign)[1] == []


def test_same_seed_same_answer() -> None:
    rng = np.random.default_rng(7)
    xy = rng.integers(0, 100, size=(40, 2))
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    pb = FacilityProblem.from_instance(instance(d.tolist(), p=4))
    a = solve_facility(pb, FacilitySettings(time_limit=20, seed=3))
    b = solve_facility(pb, FacilitySettings(time_limit=20, seed=3))
    assert a.status == "optimal"
    assert a.objective == b.objective and a.open.tolist() == b.open.tolist()


def test_time_limit_is_a_deadline() -> None:
    pb = line(list(range(0, 400, 3)), p=3)
    t = time.perf_counter()
    res = solve_radius(pb, time_limit=0.05)
    assert time.perf_counter() - t < 2.0
    assert res.bound <= res.objective or res.open is None


# -- any input: agrees with enumeration and with the classical MIP ---------------------------
@st.composite
def small_problems(draw: st.DrawFn) -> FacilityProblem:
    n_f = draw(st.integers(1, 5))
    n_c = draw(st.integers(1, 7))
    units = draw(
        st.lists(
            st.lists(st.integers(0, 12), min_size=n_c, max_size=n_c), min_size=n_f, max_size=n_f
        )
    )
    # quarter units half of the time: the non-integral proof path (no rounding up)
    scale = 4.0 if draw(st.booleans()) else 1.0
    cost = [[v / scale for v in row] for row in units]
    kind = draw(st.sampled_from(["exactly", "at_most", "free"]))
    fixed = np.array(draw(st.lists(st.integers(0, 9), min_size=n_f, max_size=n_f)), float)
    p = draw(st.integers(1, n_f))
    inst = instance(
        cost,
        fixed_cost=fixed if kind != "exactly" else np.zeros(n_f),
        p=None if kind == "free" else p,
        p_limit="at_most" if kind == "at_most" else "exactly",
    )
    return FacilityProblem.from_instance(inst)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=small_problems(), use_start=st.booleans())
def test_matches_enumeration_and_classical_mip(pb: FacilityProblem, use_start: bool) -> None:
    expected = brute_force(pb)
    start = None
    if use_start:  # any feasible open set may serve as start: the cheapest facilities
        k = pb.p if pb.p is not None else 1
        start = np.zeros(pb.n_facilities, bool)
        start[np.argsort(pb.open_cost, kind="stable")[:k]] = True
    res = solve_radius(pb, time_limit=20, start=start)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected)
    assert res.bound == pytest.approx(expected)
    classical = solve_highs(pb, time_limit=20, seed=0)
    assert classical.objective == pytest.approx(res.objective)


# -- published optima --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "optimum"),
    [("pmed1", 5819), ("pmed2", 4093), ("pmed3", 4250), ("pmed4", 3034), ("pmed5", 1355)],
)
def test_orlib_pmed_small(shared_benchmarks, name: str, optimum: int) -> None:  # type: ignore[no-untyped-def]
    inst = load_instance(shared_benchmarks / "orlib_pmed", name)
    pb = FacilityProblem.from_instance(inst)
    sol = solve_facility(pb, FacilitySettings(time_limit=60))
    assert sol.info["method"] == "radius"
    assert sol.status == "optimal"
    assert sol.objective == optimum
    assert sol.bound == optimum
    assert inst.objective(sol.open, sol.assign) == pytest.approx(optimum)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "optimum"), [("pmed16", 8162), ("pmed22", 8579)])
def test_orlib_pmed_small_p(shared_benchmarks, name: str, optimum: int) -> None:  # type: ignore[no-untyped-def]
    """The small-p instances the classical MIP could not prove within 60 s."""
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", name))
    sol = solve_facility(pb, FacilitySettings(time_limit=60))
    assert (sol.status, sol.objective, sol.bound) == ("optimal", optimum, optimum)
