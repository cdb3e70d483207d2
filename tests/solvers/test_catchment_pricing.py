"""Pricing the pairs beyond the k nearest (solvers/catchment/pricing.py, issue #3).

Fixture ``far_seat`` (primary, straight-line metres, no contiguity)::

    C (0, 5000), 100 seats
    A (0, 0), 100 seats    B (1000, 0), 100 seats
    U1 (0, 0) 100 pupils   U2 (500, 0) 100 pupils   U3 (900, 0) 100 pupils

With ``k_nearest=2`` every unit sees only A and B: 200 seats for 300 pupils, so the sparse
model must overflow 100 pupils. C is every unit's third school. The optimum over all pairs sends
U2 to C: U1→A (0 m), U2→C (√(500² + 5000²) = 5024.9 m), U3→B (100 m), travel
100 × 5124.876 = 512,487.6, no overflow.
"""

from __future__ import annotations

import numpy as np
import pytest

from planner.generate import make_district
from solvers.catchment import build_problem
from solvers.catchment.lp import BASIC, carry_basis, solve_lp
from solvers.catchment.mip import build_model
from solvers.catchment.pricing import pair_reduced_costs, price_pairs, price_tolerance
from solvers.catchment.solve import solve_levels
from tests.solvers.test_catchment_model import school, settings, tiny_district, unit

FAR_SEAT_TRAVEL = 100 * (0.0 + float(np.hypot(500.0, 5000.0)) + 100.0)


def far_seat():  # type: ignore[no-untyped-def]
    return tiny_district(
        [school("A", 0, 100), school("B", 1000, 100), school("C", 0, 100, y=5000.0)],
        [unit("U1", 0, 100), unit("U2", 500, 100), unit("U3", 900, 100)],
    )


def test_sparse_model_overflows_where_a_farther_school_has_seats() -> None:
    sol = solve_levels(far_seat(), settings(k_nearest=2, price_pairs=False))["primary"]
    assert sol.terms["overflow_pupils"] == 100
    assert sol.info["bound_scope"].startswith("sparse pair set")


def test_pricing_adds_the_farther_school_and_proves_the_plan() -> None:
    d = far_seat()
    sol = solve_levels(d, settings(k_nearest=2))["primary"]
    assert sol.terms["overflow_pupils"] == 0
    assert sol.terms["travel_cost"] == pytest.approx(FAR_SEAT_TRAVEL)
    assert sol.assign.tolist() == [0, 2, 1]  # U1→A, U2→C, U3→B
    assert sol.status == "optimal"
    assert sol.bound == pytest.approx(sol.objective)
    assert sol.info["pricing_converged"] is True
    assert sol.info["bound_scope"].startswith("all allowed pairs")


def test_priced_pairs_respect_max_travel() -> None:
    """C is 5,025 m from U2: with max_travel 3,000 m it is not allowed, so 100 pupils overflow."""
    sol = solve_levels(far_seat(), settings(k_nearest=2, max_travel=3000.0))["primary"]
    assert sol.terms["overflow_pupils"] == 100
    assert sol.status == "optimal"


def sparse_lp(contiguity: str):  # type: ignore[no-untyped-def]
    """A 150-unit county with 3 pairs per unit: district, settings, problem, model, its LP."""
    d = make_district(units=150, primary_schools=8, secondary_schools=4, teachers=20, seed=3)
    s = settings(k_nearest=3, contiguity=contiguity)
    pb = build_problem(d, "primary", s)
    model = build_model(pb, s)
    lp = solve_lp(model, seed=0, time_limit=30)
    assert lp.status == "optimal"
    return d, s, pb, model, lp


@pytest.mark.parametrize("contiguity", ["none", "closer_neighbour"])
def test_reduced_costs_match_highs(contiguity: str) -> None:
    """The pricing formula, applied to the model's own pairs, gives HiGHS's column duals (plus
    the pair's own closer-neighbour row dual, which an omitted pair does not have)."""
    d, s, pb, model, lp = sparse_lp(contiguity)
    assert lp.row_duals is not None
    rc = pair_reduced_costs(pb, model, lp, s, pb.pair_unit, pb.pair_school, pb.pair_cost)
    if contiguity == "closer_neighbour":
        cd = pb.contig
        assert cd is not None
        rows_p = np.flatnonzero(~cd.exempt & (np.diff(cd.support_ptr) > 0))
        own = np.zeros(pb.n_pairs)
        own[rows_p] = lp.row_duals[model.families["closer_neighbour"]]
        rc = rc - own
    scale = max(1.0, float(np.abs(lp.reduced_costs).max()))
    assert np.abs(rc - lp.reduced_costs[model.cols["x"]]).max() <= 1e-7 * scale
    # and the omitted pairs with negative reduced cost are found
    found = price_pairs(d, pb, model, lp, s, -price_tolerance(pb, lp))
    assert (found.rc < 0).all()
    keys = set((pb.pair_unit * pb.n_schools + pb.pair_school).tolist())
    assert not keys & set((found.unit * pb.n_schools + found.school).tolist())


@pytest.mark.parametrize(
    ("seed", "contiguity"), [(0, "none"), (1, "none"), (2, "closer_neighbour")]
)
def test_priced_bound_holds_for_all_pairs(seed: int, contiguity: str) -> None:
    """k=2 with pricing: the bound never exceeds the optimum over all schools (k = all)."""
    d = make_district(units=60, primary_schools=6, secondary_schools=3, teachers=20, seed=seed)
    s = settings(contiguity=contiguity)
    full = solve_levels(d, s.model_copy(update={"k_nearest": 20, "time_limit": 30}))["primary"]
    assert full.status == "optimal"
    priced = solve_levels(d, s.model_copy(update={"k_nearest": 2, "time_limit": 5}))["primary"]
    assert priced.bound <= full.objective + 1e-6 * abs(full.objective)
    assert priced.objective >= full.objective - 1e-6 * abs(full.objective)


def test_pricing_is_deterministic() -> None:
    """Two runs, one seed: the same pairs priced in, the same plan and bound (a solve that ends
    by its gap limit, so that no wall clock is involved)."""
    d = make_district(units=150, primary_schools=8, secondary_schools=4, teachers=20, seed=5)
    s = settings(k_nearest=2, contiguity="closer_neighbour", time_limit=30, gap_limit=0.02)
    a = solve_levels(d, s)["primary"]
    b = solve_levels(d, s)["primary"]
    assert a.info["deterministic"] and b.info["deterministic"]
    assert a.info["n_pairs"] == b.info["n_pairs"]
    assert a.assign.tolist() == b.assign.tolist()
    assert a.bound == b.bound


@pytest.mark.parametrize("contiguity", ["none", "closer_neighbour"])
def test_a_carried_basis_gives_the_same_lp_in_fewer_iterations(contiguity: str) -> None:
    """One pricing round by hand: the LP with the priced pairs added, from the old optimal
    basis (primal simplex) and cold, has the same optimum; the warm start needs fewer
    iterations."""
    d, s, pb, model, lp = sparse_lp(contiguity)
    assert lp.basis is not None
    found = price_pairs(d, pb, model, lp, s, -price_tolerance(pb, lp), max_per_unit=1)
    assert found.unit.size > 0
    pb2 = build_problem(
        d, "primary", s, extra=(found.unit, found.school), adjacency=(pb.adj_a, pb.adj_b)
    )
    model2 = build_model(pb2, s)
    warm = carry_basis(pb, model, pb2, model2, lp.basis)
    assert warm is not None
    assert warm[0].size == model2.n_cols and warm[1].size == model2.row_lo.size
    assert int((warm[0] == BASIC).sum() + (warm[1] == BASIC).sum()) == model2.row_lo.size
    cold = solve_lp(model2, seed=0, time_limit=30)
    hot = solve_lp(model2, seed=0, time_limit=30, basis=warm, primal=True)
    assert hot.status == cold.status == "optimal"
    assert hot.objective == pytest.approx(cold.objective, rel=1e-9)
    assert hot.objective <= lp.objective + 1e-6  # more pairs: no worse
    assert hot.iterations < cold.iterations


def test_a_basis_is_not_carried_across_other_row_families() -> None:
    d = make_district(units=60, primary_schools=6, secondary_schools=3, teachers=20, seed=0)
    a = settings(k_nearest=3, contiguity="none")
    b = settings(k_nearest=3, contiguity="closer_neighbour")
    pa, pb = build_problem(d, "primary", a), build_problem(d, "primary", b)
    ma, mb = build_model(pa, a), build_model(pb, b)
    lp = solve_lp(ma, seed=0, time_limit=30)
    assert carry_basis(pa, ma, pb, mb, lp.basis) is None
    assert carry_basis(pa, ma, pa, ma, None) is None
