"""``schoolplan solve catchment`` and ``schoolplan check catchment`` on the ``tiny`` folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from tests.solvers.test_catchment_plan import tiny_district

pytest.importorskip("planner.writer")
pytest.importorskip("planner.io")
pytest.importorskip("solvers.catchment.solve")

from api.cli import app  # noqa: E402
from planner.writer import write_district  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "district"
    write_district(tiny_district(junior=True), path)
    return path


def solve(district_dir: Path, out: Path, *extra: str) -> Result:
    args = ["solve", "catchment", str(district_dir), "--out", str(out), "--time-limit", "10"]
    return runner.invoke(app, [*args, *extra])


@pytest.fixture(scope="module")
def solved(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("out")
    return out, solve(tiny_dir, out, "--seed", "3")


def test_solve_writes_every_file_and_prints_summary(solved: tuple[Path, Result]) -> None:
    out, res = solved
    assert res.exit_code == 0, res.output
    text = res.output
    assert "status optimal" in text
    assert "primary: optimal" in text and "junior: optimal" in text
    for name in (
        "assignment.csv",
        "schools.csv",
        "diff.csv",
        "summary.json",
        "catchments.geojson",
        "map.png",
    ):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    assert s["seed"] == 3 and s["settings"]["level"] == "all"
    # the hand plan of test_catchment_plan is optimal for primary: U5 moves to B
    a = pd.read_csv(out / "assignment.csv")
    assert a[a.level == "primary"].set_index("unit_id")["school_id"].to_dict() == {
        "U1": "A", "U2": "A", "U3": "B", "U4": "A", "U5": "B", "U6": "B",
    }  # fmt: skip


def test_check_accepts_the_plan(tiny_dir: Path, solved: tuple[Path, Result]) -> None:
    out, _ = solved
    res = runner.invoke(app, ["check", "catchment", str(tiny_dir), str(out)])
    assert res.exit_code == 0, res.output
    assert "ok: every rule holds" in res.output
    assert "total: objective" in res.output


def test_check_fails_on_a_tampered_plan(
    tiny_dir: Path, solved: tuple[Path, Result], tmp_path: Path
) -> None:
    out, _ = solved
    for f in out.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    a = pd.read_csv(tmp_path / "assignment.csv")
    pd.concat([a, a.iloc[[0]]]).to_csv(tmp_path / "assignment.csv", index=False)
    res = runner.invoke(app, ["check", "catchment", str(tiny_dir), str(tmp_path)])
    assert res.exit_code == 1
    assert "violation [once] primary: unit U1 is assigned 2 times" in res.output


def test_same_seed_same_assignment_bytes(
    tiny_dir: Path, solved: tuple[Path, Result], tmp_path: Path
) -> None:
    out, _ = solved
    res = solve(tiny_dir, tmp_path, "--seed", "3", "--no-maps")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "assignment.csv").read_bytes() == (out / "assignment.csv").read_bytes()
    assert (tmp_path / "diff.csv").read_bytes() == (out / "diff.csv").read_bytes()


def test_invalid_folder_lists_problems(tiny_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in tiny_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    s = pd.read_csv(bad / "schools.csv")
    s.loc[0, "level"] = "kindergarten"
    s.to_csv(bad / "schools.csv", index=False)
    res = solve(bad, tmp_path / "out")
    assert res.exit_code == 1
    assert "kindergarten" in res.output
    assert not (tmp_path / "out").exists()


def test_infeasible_prints_reasons_and_writes_nothing(tmp_path: Path) -> None:
    # U3 has no school today and none within 1 m: no plan can place it (today's schools stay
    # allowed for the others), which only the solve can know, so it is explained before solving
    current = {"U1": "A", "U2": "A", "U3": "", "U4": "A", "U5": "A", "U6": "B"}
    write_district(tiny_district(current=current), tmp_path / "d")
    res = solve(tmp_path / "d", tmp_path / "out", "--level", "primary", "--max-travel", "1")
    assert res.exit_code == 2, res.output
    assert "infeasible" in res.output
    assert "U3" in res.output
    assert not (tmp_path / "out").exists()


def test_locked_unit_at_a_closed_school_is_refused_by_validation(tmp_path: Path) -> None:
    # U6 is locked to school C, which is closed: the input is invalid (exit 1), nothing written
    extra = [{"school_id": "C", "level": "primary", "x": 502_500.0, "y": 3_401_500.0,
              "capacity_primary": 100.0, "status": "closed"}]  # fmt: skip
    current = {"U1": "A", "U2": "A", "U3": "B", "U4": "A", "U5": "A", "U6": "C"}
    d = tiny_district(extra_schools=extra, current=current, locked=("U6",))
    write_district(d, tmp_path / "d")
    res = solve(tmp_path / "d", tmp_path / "out", "--level", "primary")
    assert res.exit_code == 1, res.output
    assert "locked unit U6 cannot keep its primary school" in res.output
    assert not (tmp_path / "out").exists()


def test_bad_setting_exits_2(tiny_dir: Path, tmp_path: Path) -> None:
    res = solve(tiny_dir, tmp_path / "out", "--max-moved-share", "1.5")
    assert res.exit_code == 2
    assert "--max-moved-share" in res.output


@pytest.mark.slow
def test_ladder_runs_quickly(tmp_path: Path) -> None:
    """The first rung of the benchmark ladder with its baseline, results into a temp folder."""
    from benchmarks.catchment_ladder import main

    assert main(["--rows", "sample", "--results", str(tmp_path)]) == 0
    text = (tmp_path / "catchment_ladder.md").read_text()
    assert "| sample | 1500 |" in text and "## Machine" in text
    rows = pd.read_csv(tmp_path / "catchment_ladder.csv")
    assert rows.loc[0, "check"] == "ok"
    assert rows.loc[0, "cbc_check"] == "ok"
