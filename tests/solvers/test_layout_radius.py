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
from solvers.layout.heuristics import uncapacitated_local_search
from solvers.layout.highs_model import solve_highs
from solvers.layout.radius import radius_applies, solve_radius
from solvers.progress import ProgressEvent
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
    ("name", "optimum"), [("pmed2", 4093), ("pmed3", 4250), ("pmed6", 7824), ("pmed11", 7696)]
)
def test_orlib_bound_never_exceeds_the_optimum(shared_benchmarks, name: str, optimum: int) -> None:  # type: ignore[no-untyped-def]
    """Instances whose LP bound is below the optimum: stopped after 1, 2 and 4 nodes the
    branch-and-bound reports a bound ≤ the optimum; run to the end it proves the optimum."""
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", name))
    start = uncapacitated_local_search(pb, time_limit=5.0)
    for nodes in (1, 2, 4):
        res = solve_radius(pb, time_limit=30, start=start, max_nodes=nodes)
        assert res.bound <= optimum <= res.objective
        if nodes == 1:  # the root LP alone cannot prove these
            assert res.status == "feasible" and res.info["bb_nodes"] == 1
    res = solve_radius(pb, time_limit=30, start=start)
    assert (res.status, res.objective, res.bound) == ("optimal", optimum, optimum)
    assert res.info["bound_source"] in ("branch", "lp", "lagrangian")


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


# -- branch-and-bound on the facilities --------------------------------------------------------
#: 14 points on a 30 × 30 grid (rounded Euclidean costs), p = 3: the radius LP bound is 70, the
#: optimum 71, so the proof needs the branch-and-bound (found by a seed search, checked by
#: enumeration in the first test).
GAP_POINTS = [
    [20, 23], [27, 17], [27, 13], [19, 18], [20, 26], [0, 16], [10, 22],
    [12, 13], [27, 10], [26, 10], [1, 17], [6, 28], [13, 13], [14, 26],
]  # fmt: skip


def gap_instance() -> FacilityProblem:
    xy = np.array(GAP_POINTS, dtype=float)
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    return FacilityProblem.from_instance(instance(d.tolist(), p=3))


def test_branch_and_bound_closes_an_integrality_gap() -> None:
    pb = gap_instance()
    assert brute_force(pb) == 71
    res = solve_radius(pb, time_limit=20, lagrangian_seconds=0)
    assert res.info["lp_bound"] == pytest.approx(70)
    assert int(res.info["bb_nodes"]) > 1  # type: ignore[call-overload]
    assert res.info["bound_source"] == "branch"
    assert (res.status, res.objective, res.bound) == ("optimal", 71, 71)


def test_highs_mip_path_agrees_with_branch_and_bound() -> None:
    res = solve_radius(gap_instance(), time_limit=20, lagrangian_seconds=0, mip_method="highs")
    assert "bb_nodes" not in res.info and "mip_rounds" in res.info
    assert (res.status, res.objective, res.bound) == ("optimal", 71, 71)


def test_node_limit_leaves_a_valid_bound() -> None:
    # only the root is solved: its LP value (70) is the bound, the rounded LP is the answer
    res = solve_radius(gap_instance(), time_limit=20, lagrangian_seconds=0, max_nodes=1)
    assert res.info["bb_nodes"] == 1 and res.info["bb_exhausted"] is False
    assert (res.status, res.objective, res.bound) == ("feasible", 71, 70)


def test_branch_and_bound_is_deterministic() -> None:
    a = solve_radius(gap_instance(), time_limit=20, seed=5, lagrangian_seconds=0)
    b = solve_radius(gap_instance(), time_limit=20, seed=5, lagrangian_seconds=0)
    assert a.open is not None and b.open is not None
    assert a.open.tolist() == b.open.tolist()
    assert a.info["bb_nodes"] == b.info["bb_nodes"]


def test_unknown_mip_method_is_refused() -> None:
    with pytest.raises(ValueError, match="mip_method must be 'branch' or 'highs', not 'cbc'"):
        solve_radius(gap_instance(), time_limit=1, mip_method="cbc")


def test_branch_and_bound_reports_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    import solvers.layout.radius as radius

    monkeypatch.setattr(radius, "PROGRESS_NODES", 1)
    events: list[ProgressEvent] = []
    solve_radius(gap_instance(), time_limit=20, lagrangian_seconds=0, progress=events.append)
    tree = [e for e in events if e.message.startswith("radius-branch")]
    assert len(tree) >= 2
    bounds = [e.bound for e in tree if e.bound is not None]
    assert len(bounds) == len(tree) and all(70 <= b <= 71 for b in bounds)
    assert bounds == sorted(bounds)  # best-first: the least open key never falls


@pytest.mark.slow
def test_orlib_pmed36_is_proven(shared_benchmarks) -> None:  # type: ignore[no-untyped-def]
    """LP 9833.26 against the optimum 9934: the branch-and-bound closes the 1 % gap (about 360
    nodes). A generous limit: speed is measured by benchmarks.layout_bench, not here."""
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", "pmed36"))
    sol = solve_facility(pb, FacilitySettings(time_limit=300))
    assert (sol.status, sol.objective, sol.bound) == ("optimal", 9934, 9934)
    assert sol.info["bound_source"] == "branch"
