"""Deterministic budgets of the HiGHS backend, the balance segments and the time-limit warning."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rotation_fixtures import make  # noqa: E402

from planner.generate import make_district  # noqa: E402
from planner.policy import Policy  # noqa: E402
from solvers.rotation import (  # noqa: E402
    RotationSettings,
    build_problem,
    mip,  # noqa: E402
    solve_rotation,
)
from solvers.rotation.check import check_rotation  # noqa: E402
from solvers.rotation.greedy import greedy_moves  # noqa: E402
from solvers.rotation.problem import indicator_cvs  # noqa: E402

OPEN = Policy().with_value("max_leave_share", 0.5).with_value("max_arrive_share", 0.5)


@pytest.fixture(scope="module")
def county():  # type: ignore[no-untyped-def]
    """A small generated county: 800 teachers, 18 schools (pool 339)."""
    return make_district(seed=3, units=300, primary_schools=12, secondary_schools=6, teachers=800)


def test_budget_stopped_passes_give_the_same_bytes(county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # one pricing round and a few hundred simplex iterations per pass: the budgets, not the
    # clock, end the search, so two runs write the same list
    st = RotationSettings(
        year=2025, time_limit=60.0, seed=0, cg_rounds=1, lp_iterations=300, mip_nodes=1
    )
    outs = []
    for k in range(2):
        r = solve_rotation(county, st)
        assert r.summary["deterministic"] is True
        assert "warnings" not in r.summary
        assert r.summary["stages"]["budget"]["status"] == "deterministic limits"
        assert r.summary["stages"]["rest"]["status"] == "feasible"  # the budget stopped it
        out = tmp_path / str(k)
        r.write(out)
        rep = check_rotation(county, out)
        assert rep.ok, str(rep)
        outs.append(out)
    for name in ("rotation.csv", "not_selected.csv", "exempt.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_generous_budgets_prove_the_county(county) -> None:  # type: ignore[no-untyped-def]
    r = solve_rotation(county, RotationSettings(year=2025, time_limit=60.0, seed=0))
    st = r.summary["stages"]
    assert st["shortfall"]["status"] == st["rest"]["status"] == "optimal"
    assert st["tie_break"]["status"] == "optimal"
    assert r.summary["deterministic"] is True
    # the model never leaves more subject places unfilled than the HR list
    p = build_problem(county, RotationSettings(year=2025))
    from solvers.rotation.result import build_result

    g = build_result(county, p, RotationSettings(year=2025), greedy_moves(p), {})
    assert r.summary["shortfall_after"] <= g.summary["shortfall_after"]


def test_balance_segments_price_sum_cv2_exactly() -> None:
    """Segment costs + constant = W_b × TIER2_SCALE × Σ CV² up to a move-independent constant:
    the difference between two lists matches the CVs the result reports."""
    d = make(policy=OPEN)
    st = RotationSettings(year=2025, seed=0)
    p = build_problem(d, st)
    md = mip._build(p, st, d.policy)

    def model_balance(xv: np.ndarray) -> float:
        full = mip._complete(md, xv, md.mip.n_cols)
        return float(md.cost2[md.seg_cols] @ full[md.seg_cols]) + md.const2

    def sum_cv2(xv: np.ndarray) -> float:
        after = p.ind_counts.copy()
        for k in np.flatnonzero(xv > 0):
            g = p.groups[int(md.xg[k])]
            for f in range(3):
                if g.flags[f]:
                    after[g.school, f] -= int(xv[k])
                    after[int(md.xj[k]), f] += int(xv[k])
        return sum(v * v for v in indicator_cvs(d, p.pupils, after).values() if v == v)

    rng = np.random.default_rng(0)
    zero = np.zeros(md.nx)
    w = st.weights.balance * mip.TIER2_SCALE
    for _ in range(20):
        xv = np.zeros(md.nx)
        # one move of a random group to a random target, within the caps
        k = int(rng.integers(md.nx))
        xv[k] = 1.0
        got = model_balance(xv) - model_balance(zero)
        want = w * (sum_cv2(xv) - sum_cv2(zero))
        assert got == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_time_limit_firing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    orig = mip._LpChain.solve

    def slow(self, *a, **k):  # type: ignore[no-untyped-def]
        r = orig(self, *a, **k)
        self.timed_out = True  # as if the wall clock had stopped a re-solve
        return r

    monkeypatch.setattr(mip._LpChain, "solve", slow)
    r = solve_rotation(make(policy=OPEN), RotationSettings(year=2025, time_limit=5.0, seed=0))
    s = r.summary
    assert s["deterministic"] is False
    assert s["status"] == "feasible"
    assert s["stages"]["budget"]["status"] == "time limit fired"
    assert "another list" in s["warnings"][0]


@pytest.mark.parametrize("policy", [None, OPEN])
def test_an_lp_budget_of_one_iteration_still_gives_a_valid_list(
    tmp_path: Path, policy: Policy | None
) -> None:
    # the LP stops at once: the HR list (when it keeps every rule) or branch and bound over the
    # held columns gives the list; whatever it is, the validator accepts it
    st = RotationSettings(year=2025, time_limit=10.0, seed=0, lp_iterations=1)
    d = make(policy=policy)
    r = solve_rotation(d, st)
    r.write(tmp_path)
    rep = check_rotation(d, tmp_path)
    assert rep.ok, str(rep)
    assert r.summary["deterministic"] is True
    assert r.summary["rotated"] >= r.summary["quota"]
