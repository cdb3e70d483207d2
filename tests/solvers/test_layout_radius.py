"""Radius (covering) formulation of the uncapacitated p-median / facility location."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from pathlib import Path

import highspy
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import solvers.layout.radius as radius
from solvers.benchdata import load_instance
from solvers.highs_model import new_highs
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


# -- warm starts: bases carried over from one coarse model to a refined one --------------------
def _solved(model: radius._Model) -> tuple[highspy.Highs, float, int]:
    h = new_highs()
    h.passModel(model.lp)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h, float(h.getInfo().objective_function_value), int(h.getInfo().simplex_iteration_count)


def _basis_matrix(model: radius._Model, basis: highspy.HighsBasis) -> np.ndarray:
    """Dense [A_B | I_B]: the basic structural columns and the basic rows' logicals."""
    a = model.lp.a_matrix_
    n_row, n_col = int(model.lp.num_row_), int(model.lp.num_col_)
    dense = sp.csc_matrix(
        (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)), shape=(n_row, n_col)
    ).toarray()
    col_basic = [s == highspy.HighsBasisStatus.kBasic for s in basis.col_status]
    row_basic = [s == highspy.HighsBasisStatus.kBasic for s in basis.row_status]
    return np.hstack([dense[:, col_basic], np.eye(n_row)[:, row_basic]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pb=small_problems(), data=st.data())
def test_carried_basis_is_a_basis_of_the_refined_model(
    pb: FacilityProblem, data: st.DataObject
) -> None:
    """Radii added to a solved coarse model: the carried basis has one basic variable per row,
    is nonsingular (the split rule in _map_basis) and re-solves to the cold optimum."""
    lev = radius._Levels(pb, pb.forbidden)
    top = lev.counts() - 1
    y_lo, y_hi = pb.fixed_open.astype(float), np.where(pb.forbidden, 0.0, 1.0)
    first = np.zeros(lev.n_levels, dtype=bool)
    first[lev.lev_first[:-1]] = True
    pick = np.array(
        data.draw(st.lists(st.booleans(), min_size=lev.n_levels, max_size=lev.n_levels))
    )
    more = np.array(
        data.draw(st.lists(st.booleans(), min_size=lev.n_levels, max_size=lev.n_levels))
    )
    old = radius._build(pb, lev, first | pick, top, y_lo, y_hi)
    new = radius._build(pb, lev, first | pick | more, top, y_lo, y_hi)
    h_old, _, _ = _solved(old)
    basis = radius._map_basis(old.radii(), new.radii(), h_old.getBasis())
    assert basis is not None and not basis.alien
    b = _basis_matrix(new, basis)
    assert b.shape == (new.lp.num_row_, new.lp.num_row_)
    assert np.linalg.matrix_rank(b) == new.lp.num_row_
    _, cold, _ = _solved(new)
    h = new_highs()
    h.passModel(new.lp)
    assert h.setBasis(basis) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(cold, abs=1e-7)


def test_carried_basis_saves_simplex_iterations() -> None:
    """60 random points, p = 5: four refinement rounds as in the LP phase (each adds the radii
    the LP optimum lands on). Warm from the carried basis, each round reaches the cold
    optimum in a fraction of its simplex iterations (about 250 against 880 in all)."""
    rng = np.random.default_rng(11)
    xy = rng.integers(0, 100, size=(60, 2))
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    pb = FacilityProblem.from_instance(instance(d.tolist(), p=5))
    lev = radius._Levels(pb, pb.forbidden)
    top = lev.counts() - 1
    y_lo, y_hi = pb.fixed_open.astype(float), np.ones(pb.n_facilities)
    chosen = np.zeros(lev.n_levels, dtype=bool)
    chosen[lev.lev_first[:-1]] = chosen[lev.lev_first[:-1] + 1] = True
    warm_iters, cold_iters = 0, 0
    for _ in range(4):
        old = radius._build(pb, lev, chosen, top, y_lo, y_hi)
        h_old, _, _ = _solved(old)
        y = np.asarray(h_old.getSolution().col_value)[: pb.n_facilities]
        add = radius._landing(lev, y, top) & ~chosen
        assert add.any()
        chosen = chosen | add
        new = radius._build(pb, lev, chosen, top, y_lo, y_hi)
        _, cold, iters = _solved(new)
        cold_iters += iters
        basis = radius._map_basis(old.radii(), new.radii(), h_old.getBasis())
        assert basis is not None
        h = new_highs()
        h.passModel(new.lp)
        h.setBasis(basis)
        h.run()
        assert h.getInfo().objective_function_value == pytest.approx(cold)
        warm_iters += int(h.getInfo().simplex_iteration_count)
    assert warm_iters < cold_iters / 2


def test_carried_basis_onto_renumbered_levels_is_completed_by_highs() -> None:
    # sites 0 and 2 closed after the first solve: their radii go, the basis is "alien"
    pb = gap_instance()
    lev = radius._Levels(pb, pb.forbidden)
    top = lev.counts() - 1
    y_lo, y_hi = np.zeros(pb.n_facilities), np.ones(pb.n_facilities)
    first = np.zeros(lev.n_levels, dtype=bool)
    first[lev.lev_first[:-1]] = True
    old = radius._build(pb, lev, first, top, y_lo, y_hi)
    h_old, _, _ = _solved(old)
    y_hi[[0, 2]] = 0.0
    red = radius._Levels(pb, y_hi < 0.5)
    chosen = np.zeros(red.n_levels, dtype=bool)
    chosen[red.lev_first[:-1]] = True
    new = radius._build(pb, red, chosen, red.counts() - 1, y_lo, y_hi)
    renumber = red.find(lev.lev_client, lev.lev_cost)
    basis = radius._map_basis(old.radii(), new.radii(), h_old.getBasis(), renumber)
    assert basis is not None and basis.alien
    _, cold, _ = _solved(new)
    h = new_highs()
    h.passModel(new.lp)
    h.setBasis(basis)
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(cold)


@pytest.mark.parametrize(("name", "optimum"), [("pmed2", 4093), ("pmed6", 7824)])
def test_warm_and_cold_lp_rounds_give_the_same_bound(
    shared_benchmarks: Path, name: str, optimum: int
) -> None:
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", name))
    start = uncapacitated_local_search(pb, time_limit=5.0)
    warm = solve_radius(pb, time_limit=30, start=start, max_nodes=1)
    cold = solve_radius(pb, time_limit=30, start=start, max_nodes=1, lp_warm=False)
    lp = float(warm.info["lp_bound"])  # type: ignore[arg-type]
    assert np.isfinite(lp) and lp < optimum
    assert lp == pytest.approx(float(cold.info["lp_bound"]), rel=1e-9)  # type: ignore[arg-type]
    # the branch-and-bound's root on the reduced levels is not weaker than the LP phase
    assert warm.bound >= np.ceil(lp - 1e-6)


def test_refined_tree_carries_queued_nodes_over(
    shared_benchmarks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pmed6 refining at every node that lands on a new radius (4 rebuilds): queued nodes are
    carried to each new model; the bound stays ≤ 7824 at every node limit, the end proves it."""
    monkeypatch.setattr(radius, "REFINE_SHARE", 0.0)
    pb = FacilityProblem.from_instance(load_instance(shared_benchmarks / "orlib_pmed", "pmed6"))
    start = uncapacitated_local_search(pb, time_limit=5.0)
    for nodes in (3, 6, 9):
        res = solve_radius(pb, time_limit=30, start=start, max_nodes=nodes)
        assert res.bound <= 7824 <= res.objective
    res = solve_radius(pb, time_limit=30, start=start, seed=4)
    assert int(res.info["bb_refinements"]) >= 2  # type: ignore[call-overload]
    assert (res.status, res.objective, res.bound) == ("optimal", 7824, 7824)
    again = solve_radius(pb, time_limit=30, start=start, seed=4)  # the same tree
    assert (again.info["bb_nodes"], again.info["radii"]) == (
        res.info["bb_nodes"],
        res.info["radii"],
    )
