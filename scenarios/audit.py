"""The audit log writer: entries queued in memory and written to the store in batches.

Reading a result (``download_map``...) must leave an audit row, but one INSERT + COMMIT per
download makes 50 concurrent readers queue behind the database's single writer. So entries go
to an in-process queue that a background thread writes every ``interval`` seconds (or as soon
as ``batch_rows`` are waiting), in one transaction, in the order they were recorded.

Nothing queued is dropped: a failed write keeps the rows for the next attempt, :meth:`flush`
writes everything now (``GET /v1/audit`` calls it first, so a reader sees its own downloads),
and :meth:`close` (service shutdown) writes what is left. Entries that change state (create,
run, cancel, keys) are written at once with ``wait=True``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from scenarios.models import utcnow
from scenarios.store import Store

log = logging.getLogger(__name__)


class AuditQueue:
    """Batched, ordered writes of audit entries.

    Parameters
    ----------
    store : Store
    interval : float
        Seconds between background writes.
    batch_rows : int
        Write as soon as this many entries are waiting.
    """

    def __init__(self, store: Store, interval: float = 0.2, batch_rows: int = 500) -> None:
        if interval <= 0 or batch_rows < 1:
            raise ValueError("interval must be > 0 and batch_rows >= 1")
        self.store = store
        self.interval = interval
        self.batch_rows = batch_rows
        self._pending: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()  # guards _pending
        self._write_lock = threading.Lock()  # one writer at a time keeps ids in recorded order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        target_type: str,
        target_id: str,
        detail: dict[str, Any] | None = None,
        wait: bool = False,
    ) -> None:
        """Queue one entry (timestamped now); with ``wait`` also write everything queued.

        Raises
        ------
        RuntimeError
            After :meth:`close`.
        sqlalchemy.exc.SQLAlchemyError
            With ``wait=True``, when the write fails (the entries stay queued).
        """
        entry = {
            "at": utcnow(),
            "actor": actor,
            "role": role,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "detail": detail or {},
        }
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit log is closed")
            self._pending.append(entry)
            waiting = len(self._pending)
            if not wait and self._thread is None:
                self._start()
        if wait:
            self.flush()
        elif waiting >= self.batch_rows:
            self._wake.set()

    def pending(self) -> int:
        """Entries queued and not yet written."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write every queued entry now, in one transaction; returns how many were written.

        Raises
        ------
        sqlalchemy.exc.SQLAlchemyError
            The entries stay queued for the next attempt.
        """
        with self._write_lock:
            with self._lock:
                rows = list(self._pending)
            if not rows:
                return 0
            self.store.audit_many(rows)
            with self._lock:
                for _ in rows:  # only these: others may have been queued meanwhile
                    self._pending.popleft()
            return len(rows)

    def close(self) -> None:
        """Stop the background writer and write what is left (at service shutdown)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()
        try:
            self.flush()
        except Exception:
            with self._lock:
                lost = list(self._pending)
            # the database is gone: put the entries in the service log rather than nowhere
            log.error("could not write %d audit entries at shutdown: %r", len(lost), lost)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="schoolplan-audit", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            with self._lock:
                closed = self._closed
            if closed:
                return  # close() writes the rest in its own thread
            try:
                self.flush()
            except Exception:
                log.warning("audit write failed; retrying in %.1f s", self.interval, exc_info=True)
