"""The store on SQLite and PostgreSQL: migrations, datasets, scenarios, runs, keys, audit."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scenarios.errors import Conflict, NotFound
from scenarios.models import ApiKey, Base, Run, Scenario, new_id
from scenarios.store import Store


def _dataset(store: Store, sha: str = "a" * 64) -> str:
    ds, created = store.add_dataset(sha256=sha, name="d", content=b"zip", info={}, created_by="k")
    return ds.id


def _scenario(store: Store, ds: str, name: str = "today") -> Scenario:
    return store.add_scenario(Scenario(id=new_id("sc"), name=name, dataset_id=ds, created_by="k"))


def _run(store: Store, sc: Scenario) -> Run:
    return store.add_run(
        Run(
            id=new_id("run"),
            scenario_id=sc.id,
            dataset_id=sc.dataset_id,
            kind="catchment",
            created_by="k",
        )
    )


def test_migrations_match_the_models_and_are_idempotent(store: Store) -> None:
    store.migrate()  # a second time: nothing to do
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_same_content_is_stored_once(store: Store) -> None:
    first, created = store.add_dataset(
        sha256="b" * 64, name="x", content=b"1", info={"n": 1}, created_by="k"
    )
    again, created_again = store.add_dataset(
        sha256="b" * 64, name="y", content=b"1", info={}, created_by="k"
    )
    assert created and not created_again
    assert again.id == first.id
    assert store.dataset_content(first.id) == b"1"
    assert store.list_datasets()[1] == 1


def test_scenario_names_are_unique_and_versions_guard_updates(store: Store) -> None:
    sc = _scenario(store, _dataset(store))
    with pytest.raises(Conflict, match="a scenario named 'today' already exists"):
        _scenario(store, sc.dataset_id)
    updated = store.update_scenario(sc.id, {"description": "v2"}, expected_version=1)
    assert updated.version == 2 and updated.description == "v2"
    with pytest.raises(Conflict, match="is at version 2, not 1"):
        store.update_scenario(sc.id, {"description": "v3"}, expected_version=1)
    with pytest.raises(NotFound, match="scenario 'nope' not found"):
        store.get_scenario("nope")


def test_run_lifecycle_results_and_cancel(store: Store) -> None:
    sc = _scenario(store, _dataset(store))
    run = _run(store, sc)
    assert store.claim_run(run.id) and not store.claim_run(run.id)
    store.set_progress(run.id, {"objective": 5.0})
    assert store.get_run(run.id).progress == {"objective": 5.0}
    assert store.finish_run(
        run.id,
        status="done",
        summary={"a": 1},
        files=[("map.png", "image/png", b"\x89PNG")],
        assignments=[("primary", "U1", "S1"), ("junior", "U1", "S2")],
    )
    done = store.get_run(run.id)
    assert done.status == "done" and done.summary == {"a": 1} and done.finished_at is not None
    assert store.run_file(run.id, "map.png") == ("image/png", b"\x89PNG")
    assert store.assignments(run.id) == [("junior", "U1", "S2"), ("primary", "U1", "S1")]
    with pytest.raises(
        Conflict, match=f"run '{run.id}' has already finished \\(done\\): nothing to cancel"
    ):
        store.request_cancel(run.id)
    queued = _run(store, sc)
    cancelled = store.request_cancel(queued.id)
    assert cancelled.status == "cancelled" and not store.claim_run(queued.id)


def test_interrupted_runs_fail_and_late_results_are_ignored(store: Store) -> None:
    sc = _scenario(store, _dataset(store))
    running, queued = _run(store, sc), _run(store, sc)
    store.claim_run(running.id)
    assert sorted(store.fail_interrupted("interrupted by a service restart")) == sorted(
        [running.id, queued.id]
    )
    assert store.get_run(running.id).error == "interrupted by a service restart"
    # a worker of the old process finishing late must not overwrite the verdict
    assert not store.finish_run(running.id, status="done", summary={})
    assert store.get_run(running.id).status == "failed"


def test_keys_and_audit(store: Store) -> None:
    key = store.add_key(
        ApiKey(
            id="key_1", name="n", role="hr", key_hash="c" * 64, prefix="sp_x", created_by="admin"
        )
    )
    assert store.key_by_hash("c" * 64) is not None
    store.revoke_key(key.id)
    assert store.key_by_hash("c" * 64) is None
    with pytest.raises(Conflict, match="API key 'key_1' is already revoked"):
        store.revoke_key(key.id)
    store.audit(
        actor="admin", role="admin", action="create_key", target_type="key", target_id="key_1"
    )
    rows, count = store.list_audit()
    assert count == 1 and rows[0].action == "create_key" and rows[0].at.tzinfo is not None
