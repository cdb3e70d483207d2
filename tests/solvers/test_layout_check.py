"""The single-year layout checker: a fresh result passes; tampered decisions are caught."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from planner.generate import make_district
from solvers.layout.check import check_layout
from solvers.layout.district import LayoutSettings, solve_layout


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    d = make_district(units=200, primary_schools=6, secondary_schools=3, teachers=100, seed=5)
    out = tmp_path_factory.mktemp("layout")
    res = solve_layout(d, LayoutSettings(budget=5e7, time_limit=20, seed=0))
    res.write(out)
    return d, out


def test_fresh_result_passes(solved: tuple[object, Path]) -> None:
    d, out = solved
    rep = check_layout(d, out)  # type: ignore[arg-type]
    assert [str(v) for v in rep.violations] == []
    summary = json.loads((out / "summary.json").read_text())
    assert rep.terms["layout"]["build_cost"] == pytest.approx(summary["build_cost"])


def test_wrong_cost_and_budget_are_caught(solved: tuple[object, Path], tmp_path: Path) -> None:
    d, out = solved
    for f in out.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    dec = pd.read_csv(tmp_path / "decisions.csv", dtype={"school_id": str}, keep_default_na=False)
    s = dec.loc[0, "school_id"]
    dec.loc[0, "cost"] = 123.0
    dec.to_csv(tmp_path / "decisions.csv", index=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    summary["layout_settings"]["budget"] = 0.0
    summary["layout_settings"]["max_open"] = 1
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    msgs = [v.message for v in check_layout(d, tmp_path).violations]  # type: ignore[arg-type]
    assert f"{s}: cost 123.0 reported, 0.00 recomputed" in msgs or any(
        m.startswith(f"{s}: cost 123.0 reported") for m in msgs
    )
    assert any(m.startswith("schools open") or "--max-open 1" in m for m in msgs)
    if summary["build_cost"] > 0:
        assert any(m.startswith("build cost") and "exceeds the budget 0.00" in m for m in msgs)


def test_cli_without_a_plan_in_time_exits_3_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`schoolplan solve layout`: a search the clock stopped before any plan exits 3 with a
    'no plan:' line (not 'infeasible:'), and OUT stays empty."""
    from typer.testing import CliRunner

    import solvers.layout.district as dmod
    from api.cli import app
    from planner.errors import NoPlanFound

    def timed_out(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise NoPlanFound(["no solution within the time limit (1.0 s of 1 s); raise it"])

    monkeypatch.setattr(dmod, "solve_layout", timed_out)
    src = tmp_path / "district"
    from planner.writer import write_district

    write_district(
        make_district(units=60, primary_schools=4, secondary_schools=2, teachers=20, seed=3), src
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["solve", "layout", str(src), "--out", str(out)])
    assert res.exit_code == 3, res.output
    assert "no plan: no solution within the time limit" in res.output
    assert "infeasible" not in res.output
    assert not out.exists() or not any(out.iterdir())
