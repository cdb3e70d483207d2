"""The solver-independent validator: a feasible/infeasible pair per rule on the ``tiny`` fixture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from solvers.catchment.check import check_catchment
from solvers.catchment.plan import CatchmentPlan
from solvers.catchment.types import CatchmentSettings
from tests.solvers.test_catchment_plan import PLAN, SETTINGS, solution, tiny_district


def write_plan(
    out: Path, assign: np.ndarray = PLAN, settings: CatchmentSettings = SETTINGS, **kw: object
) -> Path:
    district = tiny_district(**kw)  # type: ignore[arg-type]
    plan = CatchmentPlan.from_solutions(district, settings, {"primary": solution(assign)})
    plan.write(out, geometry=False)
    return out


def edit_assignment(out: Path, fn: object) -> None:
    path = out / "assignment.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = fn(df)  # type: ignore[operator]
    df.to_csv(path, index=False)


def test_valid_plan_passes_with_recomputed_terms(tmp_path: Path) -> None:
    rep = check_catchment(tiny_district(), write_plan(tmp_path))
    assert rep.ok, str(rep)
    assert rep.terms["total"] == {
        "objective": 152_400.0,
        "travel_cost": 138_000.0,
        "overflow_pupils": 0.0,
        "moved_pupils": 48.0,
        "balance_excess": 0.0,
    }


def test_unit_twice(tmp_path: Path) -> None:
    out = write_plan(tmp_path)
    edit_assignment(out, lambda d: pd.concat([d, d.iloc[[0]]]))
    rep = check_catchment(tiny_district(), out)
    assert rep.rules() == {"once"} and "U1 is assigned 2 times" in str(rep)


def test_missing_unit(tmp_path: Path) -> None:
    out = write_plan(tmp_path)
    edit_assignment(out, lambda d: d[d["unit_id"] != "U3"])
    rep = check_catchment(tiny_district(), out)
    assert "once" in rep.rules()
    assert "1 unit(s) not assigned" in str(rep)


def test_closed_school(tmp_path: Path) -> None:
    extra = [{"school_id": "C", "level": "primary", "x": 501_500.0, "y": 3_400_500.0,
              "capacity_primary": 100.0, "status": "closed"}]  # fmt: skip
    ok = write_plan(tmp_path / "ok", extra_schools=extra)
    assert check_catchment(tiny_district(extra_schools=extra), ok).ok
    bad = write_plan(tmp_path / "bad", np.array([0, 2, 1, 0, 1, 1]), extra_schools=extra)
    rep = check_catchment(tiny_district(extra_schools=extra), bad)
    assert "school" in rep.rules() and "school C is not open" in str(rep)
    # ...unless the layout's decisions.csv opens it
    (bad / "decisions.csv").write_text("school_id,open,classrooms_added\nC,1,0\n")
    rep = check_catchment(tiny_district(extra_schools=extra), bad)
    assert rep.ok, str(rep)


def test_school_of_wrong_level(tmp_path: Path) -> None:
    out = write_plan(tmp_path / "j", np.array([0, 2, 1, 0, 1, 1]), junior=True)
    rep = check_catchment(tiny_district(junior=True), out)
    assert "school J does not teach primary" in str(rep)


def test_locked_unit_moved(tmp_path: Path) -> None:
    ok = write_plan(tmp_path / "ok", locked=("U1",))
    assert check_catchment(tiny_district(locked=("U1",)), ok).ok
    bad = write_plan(tmp_path / "bad", locked=("U5",))
    rep = check_catchment(tiny_district(locked=("U5",)), bad)
    assert rep.rules() == {"locked"} and "locked unit U5 moved from A to B" in str(rep)


def test_disallowed_pair(tmp_path: Path) -> None:
    # travel minutes = 1.3 × straight-line km; then the same without the pair U5 → B
    d = tiny_district()
    xy = d.units.set_index("unit_id")[["x", "y"]]
    pairs = [
        (
            u,
            s,
            1.3
            * float(np.hypot(*(xy.loc[u] - d.schools.set_index("school_id").loc[s, ["x", "y"]])))
            / 1000,
        )
        for u in xy.index
        for s in ("A", "B")
    ]
    travel = pd.DataFrame(pairs, columns=["unit_id", "school_id", "cost"])
    ok = write_plan(tmp_path / "ok", travel=travel)
    assert check_catchment(tiny_district(travel=travel), ok).ok
    cut = travel[~((travel.unit_id == "U5") & (travel.school_id == "B"))]
    rep = check_catchment(tiny_district(travel=cut), write_plan(tmp_path / "bad", travel=cut))
    assert "pair" in rep.rules() and "U5 → B is not in travel.csv" in str(rep)


def test_max_travel_and_alpha(tmp_path: Path) -> None:
    ok = CatchmentSettings(level="primary", max_travel=1000.0, alpha=0.2)
    assert check_catchment(tiny_district(), write_plan(tmp_path / "ok", settings=ok)).ok
    # U2 → B is √2 km; today it travels 1 km
    far = np.array([0, 1, 1, 0, 1, 1])
    rep = check_catchment(tiny_district(), write_plan(tmp_path / "bad", far, settings=ok))
    msgs = [v.message for v in rep.violations if v.rule == "pair"]
    assert any("> max_travel 1,000.000" in m for m in msgs)
    assert any("(1+0.2) × today's 1,000.000" in m for m in msgs)


def test_max_moved_share(tmp_path: Path) -> None:
    ok = SETTINGS.model_copy(update={"max_moved_share": 48 / 270})
    assert check_catchment(tiny_district(), write_plan(tmp_path / "ok", settings=ok)).ok
    bad = SETTINGS.model_copy(update={"max_moved_share": 0.1})
    rep = check_catchment(tiny_district(), write_plan(tmp_path / "bad", settings=bad))
    assert rep.rules() == {"max_moved_share"}


def test_broken_contiguity(tmp_path: Path) -> None:
    # U5 → A and U2 → B: B = {U2, U3, U6} is connected, A = {U1, U4, U5} too
    ok = np.array([0, 1, 1, 0, 0, 1])
    exact = SETTINGS.model_copy(update={"contiguity": "exact"})
    assert check_catchment(tiny_district(), write_plan(tmp_path / "ok", ok, settings=exact)).ok
    # U3 → A: A = {U1, U3, U4} leaves U3 cut off from U1 by U2 (B)
    bad = np.array([0, 1, 0, 0, 1, 1])
    rep = check_catchment(tiny_district(), write_plan(tmp_path / "bad", bad, settings=exact))
    assert rep.rules() == {"contiguity"}
    assert "catchment of A falls into 2 disconnected pieces" in str(rep)


def test_closer_neighbour_rule(tmp_path: Path) -> None:
    cn = SETTINGS.model_copy(update={"contiguity": "closer_neighbour"})
    assert check_catchment(tiny_district(), write_plan(tmp_path / "ok", settings=cn)).ok
    # B = {U2, U3, U5, U6} connected, but U2 → B (√2 km) has neighbours U3 (1 km) and U5 (1 km)
    # nearer to B, so it passes; A = {U1, U4}. Now U4 → B: B = {U4, U5, U6, U3}: U4 (2 km) has
    # U5 (1 km) nearer: passes. Put U3 → A instead: A = {U1, U2, U3}: U3 (2 km from A) has U2
    # (1 km) nearer: passes, so build a break: U5 → A alone with U4 → B makes B disconnected.
    bad = np.array([0, 0, 1, 1, 0, 1])
    rep = check_catchment(tiny_district(), write_plan(tmp_path / "bad", bad, settings=cn))
    assert "contiguity" in rep.rules()
    assert "closer_neighbour" in rep.rules()
    assert "unit(s) of B have no neighbour nearer to it" in str(rep)


def test_wrong_reported_travel_cost(tmp_path: Path) -> None:
    out = write_plan(tmp_path)
    s = json.loads((out / "summary.json").read_text())
    s["travel_cost"] += 1.0
    s["levels"]["primary"]["moved_pupils"] = 0
    (out / "summary.json").write_text(json.dumps(s))
    rep = check_catchment(tiny_district(), out)
    assert rep.rules() == {"summary"}
    assert "travel_cost reported 138001.0, recomputed 138000.000000" in str(rep)
    assert "moved_pupils reported 0, recomputed 48.000000" in str(rep)


def test_phase_in_tables_checked(tmp_path: Path) -> None:
    pin = SETTINGS.model_copy(update={"phase_in": True})
    out = write_plan(tmp_path, settings=pin)
    assert check_catchment(tiny_district(), out).ok
    d = pd.read_csv(out / "diff.csv")
    d["pupils"] = 48  # claims the whole unit moved
    d.to_csv(out / "diff.csv", index=False)
    rep = check_catchment(tiny_district(), out)
    assert rep.rules() == {"phase_in"}


@pytest.mark.parametrize("delta", [0.0, 0.05])
def test_balance_term_agrees(tmp_path: Path, delta: float) -> None:
    district = tiny_district()
    district.units["migrant_pupils"] = [30, 0, 0, 10, 24, 0]
    settings = SETTINGS.model_copy(update={"balance_delta": delta})
    plan = CatchmentPlan.from_solutions(district, settings, {"primary": solution(PLAN)})
    plan.write(tmp_path, geometry=False)
    rep = check_catchment(district, tmp_path)
    assert rep.ok, str(rep)
    # county share 64/270; A: 40 migrants of 126, B: 24 of 144
    share = 64 / 270
    want = sum(max(0.0, abs(m - share * p) - delta * p) for m, p in ((40, 126), (24, 144)))
    assert rep.terms["primary"]["balance_excess"] == pytest.approx(want, rel=1e-12)


# -- any solver plan passes the validator -------------------------------------------------------
solve_mod = pytest.importorskip("solvers.catchment.solve")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from planner.errors import InfeasiblePlan  # noqa: E402


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    units=st.integers(50, 160),
    contiguity=st.sampled_from(["none", "closer_neighbour", "exact"]),
    phase_in=st.booleans(),
    moved=st.sampled_from([None, 0.05, 0.3]),
    alpha=st.sampled_from([None, 0.5]),
    balance=st.sampled_from([None, 0.1]),
)
def test_solver_plans_pass_the_validator(
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    units: int,
    contiguity: str,
    phase_in: bool,
    moved: float | None,
    alpha: float | None,
    balance: float | None,
) -> None:
    from planner.generate import make_district

    district = make_district(
        units=units, primary_schools=5, secondary_schools=3, teachers=20, seed=seed
    )
    cfg = CatchmentSettings(
        time_limit=5, seed=seed, contiguity=contiguity, phase_in=phase_in,  # type: ignore[arg-type]
        max_moved_share=moved, alpha=alpha, balance_delta=balance,
    )  # fmt: skip
    try:
        plan = solve_mod.solve_catchment(district, cfg)
    except InfeasiblePlan as exc:
        assert exc.reasons  # infeasible is an answer, with reasons
        assume(False)
    waived_warned = any("waived" in w for w in plan.summary["warnings"])
    named = any(b["contiguity_waived_units"] for b in plan.summary["levels"].values())
    # a solver that waives contiguity must name the units (LevelSolution.info
    # ["contiguity_waived"]) for the validator to accept the waiver; until it does, skip
    assume(not waived_warned or named)
    out = tmp_path_factory.mktemp("hyp")
    plan.write(out, geometry=False)
    rep = check_catchment(district, out)
    assert rep.ok, str(rep) + "\n" + "\n".join(plan.summary["warnings"])
