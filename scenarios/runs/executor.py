"""Executors: where run jobs execute.

The embedded default, :class:`ThreadExecutor`, is a pool of worker threads inside the service
process. Solvers spend their time in CP-SAT or HiGHS, which release the GIL, and every route
that touches the database runs in FastAPI's thread pool, so the event loop never waits for a
solve. Progress goes to the store; ``GET /v1/runs/{id}`` and the SSE stream read it from there.

Another engine (a process pool, a queue with remote workers) only has to implement
:class:`Executor`; a job reads everything it needs from the store by run id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

log = logging.getLogger(__name__)

#: A job: run ``run_id`` until done, stopping early once the event is set.
Job = Callable[[str, threading.Event], None]


class Executor(Protocol):
    """Runs queued runs by id."""

    def submit(self, run_id: str) -> None:
        """Queue a run (its row is already stored with status ``queued``)."""
        ...

    def cancel(self, run_id: str) -> bool:
        """Ask a queued or running run to stop; False if this executor does not hold it."""
        ...

    def shutdown(self, wait: bool = False) -> None:
        """Stop accepting runs and signal every running one to stop."""
        ...


class ThreadExecutor:
    """A fixed pool of worker threads.

    Parameters
    ----------
    job : callable
        ``job(run_id, stop)``; it must record the outcome itself and never raise.
    workers : int
        Solves at a time. Each CP-SAT solve already uses ``num_workers`` threads.
    """

    def __init__(self, job: Job, workers: int = 1) -> None:
        self._job = job
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="schoolplan-run")
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, run_id: str) -> None:
        """Queue a run."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            stop = self._stops.setdefault(run_id, threading.Event())
        future = self._pool.submit(self._execute, run_id, stop)
        future.add_done_callback(self._log_crash)

    def cancel(self, run_id: str) -> bool:
        """Set the run's stop event."""
        with self._lock:
            stop = self._stops.get(run_id)
        if stop is None:
            return False
        stop.set()
        return True

    def running(self) -> list[str]:
        """Ids of runs this executor holds (queued or running)."""
        with self._lock:
            return list(self._stops)

    def shutdown(self, wait: bool = False) -> None:
        """Cancel queued jobs, signal running ones to stop, optionally wait for them."""
        with self._lock:
            self._closed = True
            for stop in self._stops.values():
                stop.set()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _execute(self, run_id: str, stop: threading.Event) -> None:
        try:
            self._job(run_id, stop)
        finally:
            with self._lock:
                self._stops.pop(run_id, None)

    @staticmethod
    def _log_crash(future: Future[None]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            log.error("run job crashed", exc_info=exc)
