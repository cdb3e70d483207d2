"""The batched audit writer: order, interval and size triggers, retries, and nothing lost."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from scenarios.audit import AuditQueue
from scenarios.store import Store


def _record(q: AuditQueue, i: int, wait: bool = False) -> None:
    q.record(
        actor="key_a",
        role="analyst",
        action="download_map",
        target_type="run",
        target_id=f"run_{i}",
        detail={"i": i},
        wait=wait,
    )


def _written(store: Store) -> list[str]:
    rows, _ = store.list_audit(limit=1000)
    return [r.target_id for r in reversed(rows)]  # oldest first


def _eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_entries_wait_for_the_interval_then_are_written_in_order(store: Store) -> None:
    q = AuditQueue(store, interval=0.2, batch_rows=500)
    try:
        for i in range(3):
            _record(q, i)
        assert _written(store) == [] and q.pending() == 3
        _eventually(lambda: q.pending() == 0)
        assert _written(store) == ["run_0", "run_1", "run_2"]
        rows, _ = store.list_audit()
        assert rows[0].detail == {"i": 2} and rows[0].at >= rows[-1].at
    finally:
        q.close()


def test_a_full_batch_is_written_before_the_interval(store: Store) -> None:
    q = AuditQueue(store, interval=3600.0, batch_rows=3)
    try:
        for i in range(3):
            _record(q, i)
        _eventually(lambda: len(_written(store)) == 3)
    finally:
        q.close()


def test_wait_writes_the_queue_first_so_ids_follow_time(store: Store) -> None:
    q = AuditQueue(store, interval=3600.0)
    try:
        _record(q, 0)
        _record(q, 1)
        _record(q, 2, wait=True)  # e.g. create_run after two downloads
        assert _written(store) == ["run_0", "run_1", "run_2"] and q.pending() == 0
    finally:
        q.close()


def test_close_writes_what_is_queued(store: Store) -> None:
    q = AuditQueue(store, interval=3600.0)
    for i in range(4):
        _record(q, i)
    q.close()
    assert _written(store) == ["run_0", "run_1", "run_2", "run_3"]
    with pytest.raises(RuntimeError, match="the audit log is closed"):
        _record(q, 9)


class _FlakyStore:
    """Fails the first ``failures`` batch writes, then writes to the real store."""

    def __init__(self, store: Store, failures: int) -> None:
        self.store, self.failures, self.attempts = store, failures, 0

    def audit_many(self, rows: Sequence[dict[str, Any]]) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        self.store.audit_many(rows)


def test_a_failed_write_keeps_the_entries_for_the_next_attempt(store: Store) -> None:
    flaky = _FlakyStore(store, failures=2)
    q = AuditQueue(flaky, interval=3600.0)  # type: ignore[arg-type]
    _record(q, 0)
    with pytest.raises(OperationalError):
        q.flush()
    assert q.pending() == 1
    _record(q, 1)
    with pytest.raises(OperationalError):
        _record(q, 2, wait=True)
    assert q.pending() == 3 and _written(store) == []
    q.close()  # third attempt succeeds
    assert flaky.attempts == 3 and _written(store) == ["run_0", "run_1", "run_2"]


def test_the_background_writer_retries_after_a_failure(store: Store) -> None:
    flaky = _FlakyStore(store, failures=1)
    q = AuditQueue(flaky, interval=0.05)  # type: ignore[arg-type]
    try:
        _record(q, 0)
        _eventually(lambda: _written(store) == ["run_0"])
        assert flaky.attempts >= 2
    finally:
        q.close()


def test_rejects_bad_parameters(store: Store) -> None:
    with pytest.raises(ValueError, match="interval must be > 0"):
        AuditQueue(store, interval=0)
