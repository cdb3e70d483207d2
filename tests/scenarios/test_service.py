"""The service layer without HTTP: the CLI demo's entry point runs the real catchment solver."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.runs.runners import RunnerRegistry
from scenarios.service import ScenarioService, parse_assignment, run_scenario_sync
from scenarios.store import Store


def test_run_scenario_sync_with_the_real_catchment_solver(tmp_path: Path, tiny_zip: bytes) -> None:
    if RunnerRegistry.default().availability()["catchment"]:
        pytest.skip("catchment solver not installed")
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        service = ScenarioService(store, RunnerRegistry.default(), tmp_path / "data")
        ds, created = service.create_dataset(tiny_zip, "tiny", "test")
        assert created and ds.info["units"] == 50
        sc = service.create_scenario(name="today", dataset_id=ds.id, actor="test")
        run = run_scenario_sync(
            store,
            sc.id,
            "catchment",
            {"level": "primary", "num_workers": 1},
            time_limit=5,
            data_dir=tmp_path / "data",
        )
        assert run.status == "done", run.error
        assert run.summary is not None and run.summary["seed"] == 0
        assert len(store.assignments(run.id)) == 50
        assert store.run_file(run.id, "metrics.json") is not None
    finally:
        store.close()


def test_parse_assignment_long_and_wide() -> None:
    long = b"unit_id,level,school_id\nU1,primary,S1\nU1,junior,S2\n"
    wide = b"unit_id,school_primary,school_junior\nU1,S1,S2\n"
    assert (
        sorted(parse_assignment(long))
        == sorted(parse_assignment(wide))
        == [
            ("junior", "U1", "S2"),
            ("primary", "U1", "S1"),
        ]
    )
