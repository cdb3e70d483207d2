"""Typed errors: bad input (with file/row/column) and infeasible plans (with numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Problem:
    """One problem found in a district folder.

    ``row`` is the 1-based data row as a spreadsheet user counts it: the header is row 1, so the
    first data row is row 2. ``None`` for file-level problems.
    """

    file: str
    row: int | None
    column: str | None
    value: str
    expected: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{self.severity}: {where}: {self.value}: {self.expected}"


class ValidationFailed(Exception):
    """A district folder has errors; ``problems`` lists every one (warnings too)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(
            f"{len(errors)} error(s) in district input:\n" + "\n".join(map(str, errors))
        )


class InfeasiblePlan(Exception):
    """No plan can meet the hard rules; ``reasons`` say why, with numbers."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("infeasible: " + "; ".join(reasons))


class NoPlanFound(Exception):
    """The solver stopped (time limit) before finding any plan; none was proved impossible.

    ``reasons`` say what was tried, with the time used, and what to change (a longer time
    limit, usually).
    """

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("no plan found: " + "; ".join(reasons))
