"""A vectorised sparse MIP builder for HiGHS (highspy), with time limit, seed, progress and stop.

Models with 10⁵–10⁶ columns are too slow to build one ``addVar`` at a time from Python, so
variables and rows are added in numpy blocks and passed to HiGHS once as a column-wise matrix.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from solvers.progress import ProgressEvent, ProgressFn

INF = highspy.kHighsInf


@dataclass
class MipResult:
    """Outcome of a HiGHS solve: status optimal | feasible | infeasible | no_solution."""

    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    seconds: float
    first_feasible_seconds: float | None

    @property
    def gap(self) -> float:
        """Relative gap |objective − bound| / max(|objective|, 1e-9)."""
        if self.x is None:
            return float("inf")
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints a banner when an instance is created)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


#: HiGHS threads for every instance in this process. HiGHS's thread scheduler is global and
#: fixed by the first run: an instance asking for another count fails with kError ("the
#: scheduler has already been initialized"), so a layout solve (HiGHS default) followed by a
#: catchment solve (1 thread) in one process, as in the API service, would fail. One thread
#: also keeps every solve deterministic for its seed.
HIGHS_THREADS = 1


def new_highs() -> highspy.Highs:
    """A HiGHS instance with its banner and log switched off, on :data:`HIGHS_THREADS`."""
    try:
        with _quiet_stdout():
            h = highspy.Highs()
    except OSError:  # no file descriptor 1 (embedded use): accept the banner
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", HIGHS_THREADS)
    return h


class SparseMip:
    """Minimisation MIP assembled in blocks.

    Examples
    --------
    >>> m = SparseMip()
    >>> x = m.add_vars(2, lb=0, ub=1, cost=[1.0, 2.0], integer=True)
    >>> _ = m.add_rows(np.array([0, 0]), x, np.array([1.0, 1.0]), lower=[1.0], upper=[INF])
    >>> round(m.solve(time_limit=5).objective, 6)
    1.0
    """

    def __init__(self) -> None:
        self._lb: list[np.ndarray] = []
        self._ub: list[np.ndarray] = []
        self._cost: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self._rlo: list[np.ndarray] = []
        self._rup: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0
        self.offset = 0.0

    def add_vars(
        self,
        n: int,
        *,
        lb: float | np.ndarray = 0.0,
        ub: float | np.ndarray = INF,
        cost: float | np.ndarray = 0.0,
        integer: bool = False,
    ) -> np.ndarray:
        """Add ``n`` variables; return their column indices."""
        idx = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64)
        self._lb.append(np.broadcast_to(np.asarray(lb, float), (n,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, float), (n,)).copy())
        self._cost.append(np.broadcast_to(np.asarray(cost, float), (n,)).copy())
        self._int.append(np.full(n, integer, dtype=bool))
        self.n_cols += n
        return idx

    def add_rows(
        self,
        local_row: np.ndarray,
        cols: np.ndarray,
        vals: np.ndarray,
        *,
        lower: float | np.ndarray | list[float],
        upper: float | np.ndarray | list[float],
        n_rows: int | None = None,
    ) -> np.ndarray:
        """Add rows given as triplets (local row id 0..m-1, column, value); return row indices.

        ``n_rows`` defaults to ``max(local_row) + 1``; ``lower``/``upper`` broadcast to it.
        Duplicate (row, column) entries are summed.
        """
        local_row = np.asarray(local_row, dtype=np.int64)
        m = int(n_rows if n_rows is not None else (local_row.max() + 1 if local_row.size else 0))
        rows = np.arange(self.n_rows, self.n_rows + m, dtype=np.int64)
        self._r.append(local_row + self.n_rows)
        self._c.append(np.asarray(cols, dtype=np.int64))
        self._v.append(np.asarray(vals, dtype=float))
        self._rlo.append(np.broadcast_to(np.asarray(lower, float), (m,)).copy())
        self._rup.append(np.broadcast_to(np.asarray(upper, float), (m,)).copy())
        self.n_rows += m
        return rows

    def set_cost(self, cols: np.ndarray, cost: np.ndarray) -> None:
        """Overwrite the cost of some columns."""
        allc = np.concatenate(self._cost)
        allc[np.asarray(cols, dtype=np.int64)] = cost
        self._cost = [allc]

    def to_lp(self, *, relax: bool = False) -> highspy.HighsLp:
        """The model as a HiGHS LP object (integrality dropped with ``relax``)."""
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = np.concatenate(self._cost) if self._cost else np.zeros(0)
        lp.col_lower_ = np.concatenate(self._lb) if self._lb else np.zeros(0)
        lp.col_upper_ = np.concatenate(self._ub) if self._ub else np.zeros(0)
        lp.row_lower_ = np.concatenate(self._rlo) if self._rlo else np.zeros(0)
        lp.row_upper_ = np.concatenate(self._rup) if self._rup else np.zeros(0)
        lp.offset_ = self.offset
        r = np.concatenate(self._r) if self._r else np.zeros(0, np.int64)
        c = np.concatenate(self._c) if self._c else np.zeros(0, np.int64)
        v = np.concatenate(self._v) if self._v else np.zeros(0)
        mat = sp.csc_matrix((v, (r, c)), shape=(self.n_rows, self.n_cols))
        mat.sum_duplicates()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
        lp.a_matrix_.index_ = mat.indices.astype(np.int32)
        lp.a_matrix_.value_ = mat.data
        lp.a_matrix_.num_col_ = self.n_cols
        lp.a_matrix_.num_row_ = self.n_rows
        if not relax:
            integ = np.concatenate(self._int) if self._int else np.zeros(0, bool)
            if integ.any():
                lp.integrality_ = [
                    highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                    for i in integ
                ]
        return lp

    def solve(
        self,
        *,
        time_limit: float,
        seed: int = 0,
        gap: float = 1e-6,
        relax: bool = False,
        start: np.ndarray | None = None,
        progress: ProgressFn | None = None,
        stop: threading.Event | None = None,
    ) -> MipResult:
        """Solve with HiGHS (:data:`HIGHS_THREADS` threads); deterministic for a seed.

        ``start`` is a full primal vector given to HiGHS as a starting solution.
        """
        h = new_highs()
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("random_seed", int(seed))
        h.setOptionValue("mip_rel_gap", float(gap))
        h.passModel(self.to_lp(relax=relax))
        t0 = time.perf_counter()
        first: list[float] = []

        def on_solution(e: object) -> None:
            if not first:
                first.append(time.perf_counter() - t0)
            if progress is not None:
                data = e.data_out  # type: ignore[attr-defined]
                progress(
                    ProgressEvent(
                        time.perf_counter() - t0,
                        float(data.objective_function_value),
                        float(data.mip_dual_bound),
                    )
                )

        deadline = t0 + float(time_limit)

        def on_interrupt(e: object) -> None:
            # HiGHS checks its own time limit only between some phases; enforce it here too.
            if (stop is not None and stop.is_set()) or time.perf_counter() > deadline:
                e.interrupt()  # type: ignore[attr-defined]

        if progress is not None or start is not None:
            h.cbMipImprovingSolution.subscribe(on_solution)
        h.cbMipInterrupt.subscribe(on_interrupt)
        h.cbSimplexInterrupt.subscribe(on_interrupt)
        h.cbIpmInterrupt.subscribe(on_interrupt)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(np.asarray(start, float))
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        secs = time.perf_counter() - t0
        ms = h.getModelStatus()
        info = h.getInfo()
        has_sol = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if ms == highspy.HighsModelStatus.kInfeasible:
            return MipResult("infeasible", None, float("inf"), float("inf"), secs, None)
        if not has_sol:
            return MipResult("no_solution", None, float("inf"), -float("inf"), secs, None)
        x = np.asarray(h.getSolution().col_value, dtype=float)
        obj = float(info.objective_function_value)
        bound = obj if relax or not any(np.concatenate(self._int)) else float(info.mip_dual_bound)
        status = "optimal" if ms == highspy.HighsModelStatus.kOptimal else "feasible"
        return MipResult(status, x, obj, bound, secs, first[0] if first else secs)
