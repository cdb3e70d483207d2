"""Progress reporting and cancellation shared by every solver.

Every solver entry point takes ``progress: ProgressFn | None`` and ``stop: threading.Event | None``.
It calls ``progress`` with a :class:`ProgressEvent` whenever it improves its incumbent or bound
(and at least every few seconds), and stops as soon as it can once ``stop`` is set, returning the
best plan found with status ``feasible`` (or raising :class:`Cancelled` if it has none).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """A solver's state: best objective, best bound, relative gap, seconds elapsed."""

    elapsed: float
    objective: float | None = None
    bound: float | None = None
    message: str = ""

    @property
    def gap(self) -> float | None:
        """Relative gap |obj − bound| / max(|obj|, 1e-9); None until both are known."""
        if self.objective is None or self.bound is None:
            return None
        if not (math.isfinite(self.objective) and math.isfinite(self.bound)):
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)


ProgressFn = Callable[[ProgressEvent], None]


class Cancelled(Exception):
    """The run was cancelled before any plan was found."""


def console_progress(prefix: str = "") -> ProgressFn:
    """A progress function that rewrites one line on stderr (best, bound, gap, elapsed)."""

    # Stages report their own objective and bound; the line shows the best of each so far
    # (minimisation), and starts afresh when a new solve begins (its clock goes back).
    best: dict[str, float] = {}

    def show(ev: ProgressEvent) -> None:
        if ev.elapsed < best.get("elapsed", 0.0) or ev.message == "start":
            best.clear()
        best["elapsed"] = ev.elapsed
        if ev.objective is not None and math.isfinite(ev.objective):
            best["objective"] = min(best.get("objective", math.inf), ev.objective)
        if ev.bound is not None and math.isfinite(ev.bound):
            best["bound"] = max(best.get("bound", -math.inf), ev.bound)
        if "objective" in best and "bound" in best:
            best["bound"] = min(best["bound"], best["objective"])
        shown = ProgressEvent(ev.elapsed, best.get("objective"), best.get("bound"), ev.message)
        obj = "-" if shown.objective is None else f"{shown.objective:,.1f}"
        bnd = "-" if shown.bound is None else f"{shown.bound:,.1f}"
        gap = "-" if shown.gap is None else f"{100 * shown.gap:.3f}%"
        line = f"\r{prefix}best {obj}  bound {bnd}  gap {gap}  {ev.elapsed:6.1f}s {ev.message}"
        sys.stderr.write(line[:160].ljust(100))
        sys.stderr.flush()

    return show
