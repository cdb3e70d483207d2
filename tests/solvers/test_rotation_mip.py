"""The HiGHS backend (``solver="highs"``) against the CP-SAT one on the tiny districts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rotation_fixtures import make  # noqa: E402

from planner.policy import Policy  # noqa: E402
from solvers.rotation import RotationSettings, solve_rotation  # noqa: E402
from solvers.rotation.check import check_rotation  # noqa: E402

OPEN = Policy().with_value("max_leave_share", 0.5).with_value("max_arrive_share", 0.5)


def _settings(solver: str) -> RotationSettings:
    return RotationSettings(year=2025, time_limit=5.0, seed=0, solver=solver)  # type: ignore[arg-type]


def test_highs_is_the_default() -> None:
    assert RotationSettings().solver == "highs"


@pytest.mark.parametrize("policy", [None, OPEN])
def test_highs_matches_cpsat(tmp_path: Path, policy: Policy | None) -> None:
    d = make(policy=policy)
    out = {}
    for solver in ("highs", "cpsat"):
        r = solve_rotation(d, _settings(solver))
        r.write(tmp_path / solver)
        rep = check_rotation(d, tmp_path / solver)
        assert rep.ok, str(rep)
        out[solver] = r.summary
    h, c = out["highs"], out["cpsat"]
    assert h["status"] == "optimal"
    assert h["solver"] == "highs" and c["solver"] == "cpsat"
    for key in ("shortfall_after", "rotated", "backbone_rotated"):
        assert h[key] == c[key], key
    for k, v in c["cv_after"].items():
        assert h["cv_after"][k] == pytest.approx(v, abs=1e-9), k
    # the same objective tiers: CP-SAT rounds the balance term to integers
    assert h["objective"] == pytest.approx(c["objective"], rel=1e-6, abs=10.0)


def test_highs_reports_every_pass(tmp_path: Path) -> None:
    r = solve_rotation(make(policy=OPEN), _settings("highs"))
    st = r.summary["stages"]
    assert st["shortfall"]["status"] == "optimal"
    assert st["rest"]["status"] == "optimal"
    assert st["shortfall"]["gap"] == 0.0
    assert r.summary["gap"] == pytest.approx(0.0, abs=1e-9)
    assert r.summary["solve_seconds"] <= 5.0 + 1.0


def test_highs_same_seed_same_list(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    solve_rotation(make(policy=OPEN), _settings("highs")).write(a)
    solve_rotation(make(policy=OPEN), _settings("highs")).write(b)
    assert (a / "rotation.csv").read_bytes() == (b / "rotation.csv").read_bytes()


def test_column_generation_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting from one target per group, pricing reaches the optimum over every target."""
    from solvers.rotation import mip

    out = {}
    for k in (1, 10_000):  # 10 000: every target in the first LP, nothing priced in
        monkeypatch.setattr(mip, "INITIAL_TARGETS", k)
        out[k] = solve_rotation(make(policy=OPEN), _settings("highs")).summary
    small, full = out[1], out[10_000]
    assert small["status"] == full["status"] == "optimal"
    assert small["objective"] == pytest.approx(full["objective"], rel=1e-9)
    for key in ("shortfall_after", "rotated", "backbone_rotated"):
        assert small[key] == full[key], key


def test_pricing_bound_is_valid_before_convergence() -> None:
    """LP of the restricted master + Σ min(0, d)·ub never exceeds the full LP optimum."""
    import numpy as np

    from solvers.rotation import build_problem, mip

    d = make(policy=OPEN)
    st = _settings("highs")
    p = build_problem(d, st)
    md = mip._build(p, st, d.policy)
    cost = md.cost2.copy()  # pass 2 costs: commute differs between targets
    no_balance = np.zeros(0, np.int64)
    full = mip._LpChain(md.mip, md.nx, md.xg, np.ones(md.nx, bool), no_balance, 0, None)
    best = full.solve(cost, 5.0, iterations=10**9, rounds=10**6)
    assert best.status == "optimal"
    master = np.zeros(md.nx, bool)
    last = md.nx - 1 - np.unique(md.xg[::-1], return_index=True)[1]
    master[last] = True  # the last target of each group only
    part = mip._LpChain(md.mip, md.nx, md.xg, master, no_balance, 0, None)
    n = len(part.cols)
    part.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost[part.cols])
    part.h.run()  # one round, no pricing
    assert part.h.getModelStatus() == mip.highspy.HighsModelStatus.kOptimal
    _, slack = part._price(cost, 1e-7)
    obj = part.h.getInfo().objective_function_value
    assert slack < 0  # something to price in, so the bound is not trivial
    assert obj + slack <= best.objective + 1e-6 <= obj + 1e-6
    # the bound that keeps each group's own limit: valid, and at least as tight
    part.group_y = np.where(md.ypos >= 0, md.y_cols[np.maximum(md.ypos, 0)], -1)
    gub = part._gub_bound(obj)
    assert obj + slack - 1e-6 <= gub <= best.objective + 1e-6
