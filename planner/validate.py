"""Validation of district folders: cell coercion with problems, and cross-table rules.

Everything here reports instead of raising: each rule adds :class:`~planner.errors.Problem`
entries (file, spreadsheet row, column, the value, what was expected) to a :class:`Problems`
collector, so that one run lists *every* problem. :func:`validate_folder` is the front door used
by ``schoolplan validate`` and the API; :func:`planner.io.load_district` uses the same rules and
raises :class:`~planner.errors.ValidationFailed` when any error remains.

Rows are numbered as a spreadsheet user sees them: the header is row 1, the first data row is
row 2. The wording of every message is stable (tests assert it); change it only on purpose.

All checks are vectorised (pandas ``isin``/``duplicated``), so 50 000-row tables validate in
linear time; only the rows that have a problem are visited one by one.

Two rules keep long reports readable: references to a table that could not be loaded are not
checked (one line per referring file says so, see :class:`References`), and more than
:data:`MAX_SAME_PROBLEMS` identical problems in one column are cut to the first
:data:`SHOWN_SAME_PROBLEMS` plus a count (:func:`cap_repeats`).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from planner.errors import Problem
from planner.headers import accepted_values, normalise_label, value_lookup
from planner.model import SERVES
from planner.policy import GRADES, LEVELS, Level

# -- stable message texts ----------------------------------------------------------------------
NON_NEGATIVE_INTEGER = "expected a non-negative integer"
NUMBER = "expected a number"
NON_NEGATIVE_NUMBER = "expected a non-negative number"
BOOL = "expected 0 or 1 (or true/false, yes/no, 是/否)"
NON_EMPTY = "expected a non-empty value"

#: More problems than this of one kind (same file, column, severity and expected text) are cut
#: to the first :data:`SHOWN_SAME_PROBLEMS` rows plus one line with the count of the others.
MAX_SAME_PROBLEMS = 50
#: Rows listed of a kind of problem that is cut (see :data:`MAX_SAME_PROBLEMS`).
SHOWN_SAME_PROBLEMS = 20


def quote(value: object) -> str:
    """How a cell value appears in a message: in single quotes, as typed."""
    return f"'{value}'"


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name`` (difflib, cutoff 0.6), or None."""
    cands = [c for c in candidates if c]
    lookup = {normalise_label(c): c for c in cands}
    key = normalise_label(name)
    hit = difflib.get_close_matches(key, list(lookup), n=1, cutoff=0.6)
    if hit:
        return lookup[hit[0]]
    # A shortened header ("years" for "years_at_school") is a near miss too.
    inside = sorted(c for c in lookup if len(c) >= 3 and (c in key or key in c))
    return lookup[inside[0]] if inside else None


@dataclass
class Problems:
    """Collects problems in the order found; :meth:`sorted` orders them for display."""

    items: list[Problem] = field(default_factory=list)

    def add(
        self,
        file: str,
        row: int | None,
        column: str | None,
        value: str,
        expected: str,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        """Record one problem."""
        self.items.append(Problem(file, row, column, value, expected, severity))

    def error(
        self, file: str, row: int | None, column: str | None, value: str, expected: str
    ) -> None:
        """Record an error."""
        self.add(file, row, column, value, expected, "error")

    def warning(
        self, file: str, row: int | None, column: str | None, value: str, expected: str
    ) -> None:
        """Record a warning."""
        self.add(file, row, column, value, expected, "warning")

    def cells(self, file: str, column: str, bad: pd.Series, expected: str) -> None:
        """One error per entry of ``bad`` (index = spreadsheet row, value = the cell text)."""
        for row, value in bad.items():
            self.error(file, int(row), column, quote(value), expected)  # type: ignore[arg-type]

    def has_errors(self) -> bool:
        """True when any problem is an error."""
        return any(p.severity == "error" for p in self.items)

    def sorted(self, file_order: list[str]) -> list[Problem]:
        """Problems by file (in ``file_order``), then file-level first, then row (stable)."""
        rank = {f: i for i, f in enumerate(file_order)}
        return sorted(
            self.items,
            key=lambda p: (rank.get(p.file, len(rank)), p.row if p.row is not None else 0),
        )


def cap_repeats(problems: list[Problem]) -> tuple[list[Problem], dict[str, int]]:
    """Cut long runs of the same problem to :data:`SHOWN_SAME_PROBLEMS` rows plus a count.

    When there are more than :data:`MAX_SAME_PROBLEMS` row problems of one kind (same file,
    column, severity and expected text), only the first :data:`SHOWN_SAME_PROBLEMS` are kept,
    followed by one line with the count of the others, e.g. ``… and 4,980 more rows with the
    same problem``. The order is kept; file-level problems are never cut.

    Returns
    -------
    list of Problem
        The problems to show.
    dict
        Severity -> number of problems left out (for the count line of a report).
    """

    def kind(p: Problem) -> tuple[str, str | None, str, str]:
        return (p.file, p.column, p.severity, p.expected)

    sizes = Counter(kind(p) for p in problems if p.row is not None)
    big = {k: n for k, n in sizes.items() if n > MAX_SAME_PROBLEMS}
    if not big:
        return problems, {}
    shown: Counter[tuple[str, str | None, str, str]] = Counter()
    hidden: dict[str, int] = {}
    kept: list[Problem] = []
    for p in problems:
        k = kind(p)
        if p.row is None or k not in big:
            kept.append(p)
            continue
        shown[k] += 1
        if shown[k] <= SHOWN_SAME_PROBLEMS:
            kept.append(p)
        if shown[k] == SHOWN_SAME_PROBLEMS:
            more = big[k] - SHOWN_SAME_PROBLEMS
            kept.append(
                Problem(
                    p.file,
                    None,
                    p.column,
                    f"… and {more:,} more rows with the same problem",
                    p.expected,
                    p.severity,
                )
            )
            # The count line stands for ``more`` problems; it is itself one of them.
            hidden[p.severity] = hidden.get(p.severity, 0) + more - 1
    return kept, hidden


# -- cell coercion (one column at a time, index = spreadsheet row) ----------------------------
def parse_int(
    s: pd.Series,
    file: str,
    column: str,
    out: Problems,
    *,
    default: int = 0,
    required: bool = False,
    minimum: int = 0,
    maximum: int | None = None,
    expected: str = NON_NEGATIVE_INTEGER,
) -> np.ndarray:
    """Integers from text cells; bad cells become errors and take ``default``.

    An empty cell takes ``default`` unless ``required``. ``"3.0"`` is accepted as 3.
    """
    raw = s.astype(str)
    empty = (raw == "").to_numpy()
    num = pd.to_numeric(raw.where(~empty), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~empty & (~np.isfinite(num) | (np.mod(num, 1) != 0) | (num < minimum))
        if maximum is not None:
            bad |= ~empty & (num > maximum)
    if required:
        bad |= empty
    if bad.any():
        out.cells(file, column, raw[bad], expected)
    return np.where(bad | empty, default, np.nan_to_num(num)).astype(np.int64)


def parse_float(
    s: pd.Series,
    file: str,
    column: str,
    out: Problems,
    *,
    default: float = np.nan,
    required: bool = False,
    non_negative: bool = True,
    lo: float | None = None,
    hi: float | None = None,
    expected: str | None = None,
) -> np.ndarray:
    """Floats from text cells; bad cells become errors and take ``default``."""
    raw = s.astype(str)
    empty = (raw == "").to_numpy()
    num = pd.to_numeric(raw.where(~empty), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~empty & ~np.isfinite(num)
        if non_negative:
            bad |= ~empty & (num < 0)
        if lo is not None:
            bad |= ~empty & (num < lo)
        if hi is not None:
            bad |= ~empty & (num > hi)
    if required:
        bad |= empty
    if bad.any():
        text = expected or (NON_NEGATIVE_NUMBER if non_negative else NUMBER)
        out.cells(file, column, raw[bad], text)
    return np.where(bad | empty, default, num).astype(np.float64)


def _map_coded(s: pd.Series, kind: str) -> pd.Series:
    """Map coded text to canonical codes via the alias table; unknown → NaN, empty → ""."""
    lookup = value_lookup(kind)
    uniq = pd.unique(s.astype(str))
    mapping = {u: ("" if u == "" else lookup.get(normalise_label(u))) for u in uniq}
    return s.astype(str).map(mapping)


def parse_bool(
    s: pd.Series, file: str, column: str, out: Problems, *, default: bool = False
) -> np.ndarray:
    """Booleans from 0/1, true/false, yes/no, 是/否; empty takes ``default``."""
    mapped = _map_coded(s, "bool")
    bad = mapped.isna().to_numpy().copy()
    if bad.any():
        out.cells(file, column, s[bad], BOOL)
    return np.where(mapped.to_numpy() == "1", True, np.where(mapped == "", default, False))


def parse_code(
    s: pd.Series,
    file: str,
    column: str,
    out: Problems,
    kind: str,
    *,
    default: str | None = None,
) -> np.ndarray:
    """Coded values (level, status, subject, ...) mapped to canonical codes.

    Empty cells take ``default``; with ``default=None`` an empty cell is an error too.
    """
    mapped = _map_coded(s, kind)
    empty = (mapped == "").to_numpy()
    bad = mapped.isna().to_numpy().copy()
    if default is None:
        bad |= empty
    if bad.any():
        out.cells(file, column, s[bad], f"expected one of {accepted_values(kind)}")
    fill = default if default is not None else ""
    return np.asarray(mapped.where(~(bad | empty), fill).to_numpy(dtype=object), dtype=object)


def parse_id(
    s: pd.Series, file: str, column: str, out: Problems, *, required: bool = True
) -> pd.Series:
    """Id text (trimmed); an empty required id is an error."""
    ids = s.astype(str)
    if required:
        empty = ids == ""
        if empty.any():
            out.cells(file, column, ids[empty], f"expected a non-empty {column}")
    return ids


# -- table and cross-table rules ----------------------------------------------------------------
def check_unique(ids: pd.Series, file: str, column: str, out: Problems) -> None:
    """Every non-empty id once; a repeat names the row of the first occurrence."""
    nonempty = ids[ids != ""]
    dup = nonempty.duplicated(keep="first")
    if not dup.any():
        return
    firsts = nonempty[~dup]
    first_row = dict(zip(firsts.to_numpy(), firsts.index, strict=True))
    for row, value in nonempty[dup].items():
        out.error(
            file,
            int(row),  # type: ignore[arg-type]
            column,
            quote(value),
            f"expected a unique {column} (first in row {first_row[value]})",
        )


def check_refs(
    values: pd.Series,
    known: pd.Index | set[str] | Iterable[str],
    file: str,
    column: str,
    out: Problems,
    expected: str,
) -> np.ndarray:
    """Non-empty values must be in ``known``; returns the mask of unknown ones."""
    known_idx = known if isinstance(known, pd.Index) else pd.Index(list(known))
    unknown = ((values != "") & ~values.isin(known_idx)).to_numpy()
    if unknown.any():
        out.cells(file, column, values[unknown], expected)
    return unknown


@dataclass
class References:
    """Reference checks against the id tables (schools, units, teachers) of a folder.

    A table that could not be loaded (missing, unreadable, no data rows, no id column) is in
    ``failed`` with the reason; references to it are not checked, so one broken table does not
    bury its real error under an error for every row of every table that refers to it. Instead
    :meth:`report_skipped` adds one warning per referring file, e.g. ``births.csv, column
    unit_id: 1,200 references to units.csv not checked: units.csv could not be read``.
    """

    #: table -> (known ids, file name, id column)
    tables: dict[str, tuple[pd.Index, str, str]] = field(default_factory=dict)
    #: table -> why it could not be loaded
    failed: dict[str, str] = field(default_factory=dict)
    _skipped: dict[tuple[str, str], tuple[list[str], int]] = field(default_factory=dict)

    def add(self, table: str, ids: Iterable[str], file: str, id_column: str) -> None:
        """Register the ids of ``table`` (read from ``file``)."""
        self.tables[table] = (pd.Index(list(ids)), file, id_column)

    def fail(self, table: str, reason: str) -> None:
        """Mark ``table`` as not loaded (the first reason wins)."""
        self.failed.setdefault(table, reason)

    def usable(self, table: str) -> bool:
        """True when references to ``table`` can be checked."""
        return table in self.tables and table not in self.failed

    def expected(self, table: str) -> str:
        """The expected text of a reference to ``table``, e.g. ``expected a unit_id from units.csv``."""
        _, file, id_column = self.tables[table]
        return f"expected a {id_column} from {file}"

    def check(
        self, values: pd.Series, table: str, file: str, column: str, out: Problems
    ) -> np.ndarray:
        """Non-empty ``values`` must be ids of ``table``; returns the mask of unknown ones.

        When ``table`` failed to load nothing is reported here; the references are counted for
        :meth:`report_skipped`.
        """
        if not self.usable(table):
            cols, n = self._skipped.get((file, table), ([], 0))
            if column not in cols:
                cols = [*cols, column]
            self._skipped[(file, table)] = (cols, n + int((values != "").sum()))
            return np.zeros(len(values), dtype=bool)
        return check_refs(values, self.tables[table][0], file, column, out, self.expected(table))

    def report_skipped(self, out: Problems) -> None:
        """One warning per referring file whose references to a failed table were not checked."""
        for (file, table), (cols, n) in self._skipped.items():
            if n == 0:
                continue
            target = self.tables[table][1] if table in self.tables else f"{table}.csv"
            out.warning(
                file,
                None,
                ",".join(cols),
                f"{n:,} reference{'' if n == 1 else 's'} to {target} not checked",
                self.failed.get(table, f"{target} could not be read"),
            )


def school_expected(schools_file: str) -> str:
    """The expected text for a reference to a school."""
    return f"expected a school_id from {schools_file}"


def unit_expected(units_file: str) -> str:
    """The expected text for a reference to a unit."""
    return f"expected a unit_id from {units_file}"


def check_current_serves(
    units: pd.DataFrame,
    schools: pd.DataFrame,
    units_file: str,
    out: Problems,
) -> None:
    """``current_<level>`` must name a school that teaches that level (unknown ids are reported elsewhere).

    A unit locked (``locked=1``) to a closed school, or to one not teaching the level, can never
    keep it: the error names the unit (a candidate site is allowed: a layout plan may open it).
    """
    # Schools with an unreadable level were reported already; do not report them twice.
    known = schools[schools["level"] != ""]
    level_of = dict(zip(known["school_id"], known["level"], strict=True))
    status_of = dict(zip(schools["school_id"], schools["status"], strict=True))
    locked = units["locked"].to_numpy(dtype=bool)
    for level in LEVELS:
        col = f"current_{level}"
        cur = units[col]
        lv = cur.map(level_of)
        wrong = (lv.notna() & ~lv.isin(SERVES[level])).to_numpy()
        closed = (
            locked
            & (cur.map(status_of) == "closed").to_numpy()
            & (units[f"pupils_{level}"].to_numpy() > 0)
            & ~wrong
        )
        for row, sid, uid, lk in zip(
            units.index[wrong], cur[wrong], units["unit_id"][wrong], locked[wrong], strict=True
        ):
            text = f"expected a school teaching {level} ({sid} is {level_of[sid]})"
            if lk:
                text += f": locked unit {uid} cannot keep its {level} school"
            out.error(units_file, int(row), col, quote(sid), text)
        for row, sid, uid in zip(
            units.index[closed], cur[closed], units["unit_id"][closed], strict=True
        ):
            out.error(
                units_file,
                int(row),
                col,
                quote(sid),
                f"expected an open school teaching {level} ({sid} is closed): "
                f"locked unit {uid} cannot keep its {level} school",
            )


#: At most this many schools are named when a unit's travel pairs all lead nowhere.
NAMED_SCHOOLS = 3


def _pair_cause(
    sids: list[str], level: Level, level_of: dict[str, str], status_of: dict[str, str]
) -> str | None:
    """Why a unit's travel pairs reach no usable school of ``level``; None if none is closed."""
    teach = [s for s in sids if level_of.get(s) in SERVES[level]]
    if not teach:
        return None  # only schools of another level: the plain message says it all

    def what(sid: str) -> str:
        if level_of.get(sid) in SERVES[level]:
            return status_of[sid]
        return f"{status_of[sid]}, teaches {level_of.get(sid) or 'an unknown level'}"

    if len(sids) == 1:
        return f"{sids[0]}, which is {what(sids[0])}"
    named = ", ".join(f"{s} ({what(s)})" for s in sids[:NAMED_SCHOOLS])
    more = len(sids) - NAMED_SCHOOLS
    return named + (f" and {more} more" if more > 0 else "")


def check_allowed_schools(
    units: pd.DataFrame,
    schools: pd.DataFrame,
    travel: pd.DataFrame | None,
    units_file: str,
    schools_file: str,
    travel_file: str,
    out: Problems,
) -> None:
    """Every unit with pupils of a level needs a school that may take them.

    Without a travel table: some open or candidate school must teach each level that has
    pupils. With one: each such unit needs a travel pair to such a school; when its pairs go to
    closed schools teaching the level, the error names them (up to :data:`NAMED_SCHOOLS`).
    """
    usable = schools["status"] != "closed"
    level_of = dict(zip(schools["school_id"], schools["level"], strict=True))
    status_of = dict(zip(schools["school_id"], schools["status"], strict=True))
    pairs_of: dict[str, list[str]] = {}
    if travel is not None:
        known = travel[travel["school_id"].isin(pd.Index(schools["school_id"]))]
        for uid, sid in zip(known["unit_id"], known["school_id"], strict=True):
            pairs_of.setdefault(uid, []).append(sid)
    for level in LEVELS:
        pupils = units[f"pupils_{level}"].to_numpy()
        serving = schools.loc[usable & schools["level"].isin(SERVES[level]), "school_id"]
        total = int(pupils.sum())
        if total > 0 and serving.empty:
            kinds = " or ".join(SERVES[level])
            out.error(
                schools_file,
                None,
                "level",
                f"no school teaches {level}",
                f"expected an open or candidate school teaching {level} ({kinds}): "
                f"{units_file} has {total:,} {level} pupils",
            )
            continue
        if travel is None:
            continue
        ok_units = pd.Index(travel.loc[travel["school_id"].isin(serving), "unit_id"].unique())
        stranded = (pupils > 0) & ~units["unit_id"].isin(ok_units).to_numpy()
        for row, uid, n in zip(
            units.index[stranded], units["unit_id"][stranded], pupils[stranded], strict=True
        ):
            sids = list(dict.fromkeys(pairs_of.get(uid, [])))
            cause = _pair_cause(sids, level, level_of, status_of)
            if cause is None:
                text = f"expected a {travel_file} pair to a school teaching {level}"
            else:
                text = (
                    f"expected a {travel_file} pair to an open or candidate school teaching "
                    f"{level}; its only {travel_file} pairs are to {cause}"
                )
            out.error(
                units_file,
                int(row),
                "unit_id",
                quote(uid),
                f"{text} (the unit has {int(n)} {level} pupils)",
            )


def check_grade_totals(
    rows: pd.Index,
    level: str,
    given: np.ndarray,
    grade_sum: np.ndarray,
    mask: np.ndarray,
    units_file: str,
    out: Problems,
) -> None:
    """Where a total was typed (``mask``), it must equal the sum of the grade columns."""
    grades = GRADES[level]  # type: ignore[index]
    label = f"g{grades[0]}…g{grades[-1]}"
    bad = mask & (given != grade_sum)
    for row, t, g in zip(rows[bad], given[bad], grade_sum[bad], strict=True):
        out.error(
            units_file,
            int(row),
            f"pupils_{level}",
            quote(int(t)),
            f"expected the sum of {label} ({int(g)})",
        )


# -- front door ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    """What :func:`validate_report` found: problems (sorted) and the files that were read."""

    problems: list[Problem]
    files: list[str]
    #: severity -> problems left out by :func:`cap_repeats` (counted in :meth:`summary`)
    hidden: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Only the errors."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Only the warnings."""
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self) -> str:
        """The count line, e.g. ``2 errors, 1 warning in 4 files``."""

        def n(k: int, word: str) -> str:
            return f"{k:,} {word}{'' if k == 1 else 's'}"

        errors = len(self.errors) + self.hidden.get("error", 0)
        warnings = len(self.warnings) + self.hidden.get("warning", 0)
        return f"{n(errors, 'error')}, {n(warnings, 'warning')} in {n(len(self.files), 'file')}"


def validate_report(path: str | Path) -> Report:
    """Validate a district folder; problems plus the list of files read. Never writes."""
    from planner.io import inspect_folder  # io builds on this module's rules

    result = inspect_folder(path)
    return Report(result.problems, result.files, result.hidden)


def validate_folder(path: str | Path) -> list[Problem]:
    """Every error and warning of a district folder (format v1). Never raises for bad content.

    Parameters
    ----------
    path : str or pathlib.Path
        The district folder (``district.toml``, ``schools.*``, ``units.*``, ...).

    Returns
    -------
    list of Problem
        Errors and warnings, by file, then row. Empty for a clean folder.
    """
    return validate_report(path).problems


__all__ = [
    "BOOL",
    "MAX_SAME_PROBLEMS",
    "NAMED_SCHOOLS",
    "NON_EMPTY",
    "NON_NEGATIVE_INTEGER",
    "NON_NEGATIVE_NUMBER",
    "NUMBER",
    "Problems",
    "References",
    "Report",
    "SHOWN_SAME_PROBLEMS",
    "cap_repeats",
    "check_allowed_schools",
    "check_current_serves",
    "check_grade_totals",
    "check_refs",
    "check_unique",
    "closest",
    "parse_bool",
    "parse_code",
    "parse_float",
    "parse_id",
    "parse_int",
    "quote",
    "validate_folder",
    "validate_report",
]
