"""``schoolplan solve rotation`` twice on a generated county: same bytes, and the validator passes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from planner.generate import make_district
from planner.writer import write_district


def test_cli_twice_same_bytes_and_check_passes(tmp_path: Path) -> None:
    d = make_district(seed=3, units=300, primary_schools=12, secondary_schools=6, teachers=800)
    write_district(d, tmp_path / "district")
    runner = CliRunner()
    outs = []
    for k in ("a", "b"):
        out = tmp_path / k
        res = runner.invoke(
            app,
            [
                "solve",
                "rotation",
                str(tmp_path / "district"),
                "--out",
                str(out),
                "--year",
                "2025",
                "--seed",
                "0",
                "--time-limit",
                "60",
            ],
        )
        assert res.exit_code == 0, res.output
        assert "tiers: shortfall optimal" in res.output
        assert "reproducible (deterministic limits): yes" in res.output
        outs.append(out)
        chk = runner.invoke(app, ["check", "rotation", str(tmp_path / "district"), str(out)])
        assert chk.exit_code == 0, chk.output
    a, b = outs
    assert (a / "rotation.csv").read_bytes() == (b / "rotation.csv").read_bytes()
    s = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    assert s["deterministic"] is True
    assert s["stages"]["budget"]["status"] == "deterministic limits"
