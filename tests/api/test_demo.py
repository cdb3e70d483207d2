"""`make demo` end to end: the sample county analysed and optimised, every output written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--time-limit", "2"])
    assert res.exit_code == 0, res.output
    for step in ("1. Generating", "2. Today", "3. Optimising", "4. Before → after", "5. Five-year"):
        assert step in res.output
    assert "validation: 0 errors" in res.output
    for f in (
        "district/district.toml",
        "metrics_today.json",
        "metrics_after.json",
        "catchment/assignment.csv",
        "catchment/map.png",
        "rotation/rotation.xlsx",
        "forecast/warnings.csv",
    ):
        assert (tmp_path / f).is_file(), f
    after = json.loads((tmp_path / "metrics_after.json").read_text())
    today = json.loads((tmp_path / "metrics_today.json").read_text())
    # the plan must not leave more pupils over seats than today's catchments do
    for level in ("primary", "junior"):
        assert (
            after["levels"][level]["overflow_pupils"] <= today["levels"][level]["overflow_pupils"]
        )
