"""What-if edits of a scenario and how they change a district.

An edit is a small typed change (pydantic models, discriminated on ``op``) applied in order to
the stored dataset's :class:`planner.model.District`. :func:`apply_edits` never mutates its
input; it raises :class:`scenarios.errors.Invalid` naming the edit index and field, e.g.
``edits/3/school_id: school 'S99' is not in the district``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from planner.model import SCHOOL_COLUMNS, District
from planner.policy import ENTRY_GRADE, GRADES, Level
from scenarios.errors import FieldError, Invalid

SchoolLevel = Literal["primary", "junior", "nine_year"]
SchoolStatus = Literal["open", "candidate", "closed"]


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetSchool(_Edit):
    """Change a school's classrooms, seats or status."""

    op: Literal["set_school"] = "set_school"
    school_id: str = Field(description="An existing school.", examples=["P01"])
    classrooms_primary: int | None = Field(None, ge=0, description="Primary classrooms.")
    classrooms_junior: int | None = Field(None, ge=0, description="Junior classrooms.")
    capacity_primary: float | None = Field(
        None, ge=0, description="Primary seats (overrides classrooms)."
    )
    capacity_junior: float | None = Field(
        None, ge=0, description="Junior seats (overrides classrooms)."
    )
    status: SchoolStatus | None = Field(None, description="open | candidate | closed.")

    @model_validator(mode="after")
    def _something(self) -> SetSchool:
        if not self.changes():
            raise ValueError("set at least one of classrooms_*, capacity_*, status")
        return self

    def changes(self) -> dict[str, Any]:
        """The columns this edit sets."""
        return self.model_dump(exclude={"op", "school_id"}, exclude_none=True)


class AddSchool(_Edit):
    """Add a candidate (or open) school at a point."""

    op: Literal["add_school"] = "add_school"
    school_id: str = Field(min_length=1, description="A new, unused school id.", examples=["NEW1"])
    name: str = Field("", description="Display name.")
    level: SchoolLevel = Field(description="primary | junior | nine_year.")
    x: float = Field(description="Easting in the district CRS (metres).")
    y: float = Field(description="Northing in the district CRS (metres).")
    classrooms_primary: int = Field(0, ge=0)
    classrooms_junior: int = Field(0, ge=0)
    open_cost: float = Field(0.0, ge=0, description="Cost to open it (layout runs).")
    status: Literal["candidate", "open"] = Field("candidate", description="candidate | open.")
    category: str = Field("", description="urban | town | village, for rotation direction.")


class CloseSchool(_Edit):
    """Close a school (its status becomes ``closed``)."""

    op: Literal["close_school"] = "close_school"
    school_id: str = Field(description="An existing school.")


class LockUnit(_Edit):
    """Fix a planning unit to a school at one level (sets today's school and ``locked``)."""

    op: Literal["lock_unit"] = "lock_unit"
    unit_id: str = Field(description="An existing planning unit.")
    school_id: str = Field(description="A school that teaches ``level``.")
    level: Level = Field(description="primary | junior.")


class SetPolicy(_Edit):
    """Change one policy number by dotted path (``class_size_cap.junior``)."""

    op: Literal["set_policy"] = "set_policy"
    path: str = Field(
        min_length=1, description="Dotted path into Policy.", examples=["class_size_cap.junior"]
    )
    value: Any = Field(description="The new value.", examples=[45])


class AddPupils(_Edit):
    """Add pupils to a unit (new housing): to one grade, or spread over a level's grades."""

    op: Literal["add_pupils"] = "add_pupils"
    unit_id: str = Field(description="An existing planning unit.")
    grade: int | None = Field(None, ge=1, le=9, description="Grade 1–9; or give ``level``.")
    level: Level | None = Field(
        None, description="primary | junior: spread evenly over its grades."
    )
    count: int = Field(ge=1, description="Pupils added.")

    @model_validator(mode="after")
    def _one_of(self) -> AddPupils:
        if (self.grade is None) == (self.level is None):
            raise ValueError("give exactly one of grade and level")
        return self


class ExemptTeacher(_Edit):
    """Exempt a teacher from rotation, with a recorded reason (personal data)."""

    op: Literal["exempt_teacher"] = "exempt_teacher"
    teacher_id: str = Field(description="An existing teacher.")
    reason: str = Field(min_length=1, description="Why (recorded for the objection period).")


class LockTeacher(_Edit):
    """Fix a teacher's school in the rotation plan (stay, or go to the given school)."""

    op: Literal["lock_teacher"] = "lock_teacher"
    teacher_id: str = Field(description="An existing teacher.")
    school_id: str = Field(description="An existing school.")


Edit = Annotated[
    SetSchool
    | AddSchool
    | CloseSchool
    | LockUnit
    | SetPolicy
    | AddPupils
    | ExemptTeacher
    | LockTeacher,
    Field(discriminator="op"),
]
EDITS: TypeAdapter[list[Edit]] = TypeAdapter(list[Edit])

#: Edits that carry teacher personal data: written and read only by roles with teacher access.
TEACHER_OPS: frozenset[str] = frozenset({"exempt_teacher", "lock_teacher"})
#: The extra table of rotation locks read by the rotation solver: teacher_id, school_id, kind
#: ("lock" fixes the teacher's school in the plan; other kinds, e.g. "forbid", come from the
#: dataset's ``rotation_locks.csv`` and are kept).
TEACHER_LOCKS = "rotation_locks"


def parse_edits(raw: Sequence[Any], prefix: str = "edits") -> list[Edit]:
    """Validate raw edits (dicts) into typed edits.

    Raises
    ------
    Invalid
        With one :class:`FieldError` per problem, paths like ``edits/2/count``.
    """
    try:
        return EDITS.validate_python(list(raw))
    except ValidationError as exc:
        errors = [
            FieldError("/".join([prefix, *map(str, e["loc"])]), e["msg"]) for e in exc.errors()
        ]
        raise Invalid("the edits are not valid", errors) from None


def dump_edits(edits: Sequence[Edit]) -> list[dict[str, Any]]:
    """JSON-ready dicts of edits (unset optional fields left out)."""
    return [e.model_dump(mode="json", exclude_none=True) for e in edits]


def apply_edits(district: District, edits: Sequence[Edit]) -> District:
    """Apply edits in order and return a new district.

    Raises
    ------
    Invalid
        For the first edit that does not fit the district; its path names the edit index and
        field (``edits/1/unit_id``).
    """
    d = district
    for i, edit in enumerate(edits):
        d = _APPLY[edit.op](d, edit, f"edits/{i}")
    return d


# -- one function per edit ----------------------------------------------------------------
def _fail(path: str, field: str, message: str) -> Invalid:
    idx = path.rsplit("/", 1)[-1]
    return Invalid(
        f"edit {idx} cannot be applied: {message}", [FieldError(f"{path}/{field}", message)]
    )


def _school_row(d: District, school_id: str, path: str) -> int:
    pos = d.school_index().get(school_id)
    if pos is None:
        raise _fail(path, "school_id", f"school '{school_id}' is not in the district")
    return pos


def _unit_row(d: District, unit_id: str, path: str) -> int:
    pos = d.unit_index().get(unit_id)
    if pos is None:
        raise _fail(path, "unit_id", f"unit '{unit_id}' is not in the district")
    return pos


def _teacher_row(d: District, teacher_id: str, path: str) -> int:
    if d.teachers is None:
        raise _fail(path, "teacher_id", "the district has no teachers table")
    hits = np.flatnonzero(d.teachers["teacher_id"].to_numpy() == teacher_id)
    if hits.size == 0:
        raise _fail(path, "teacher_id", f"teacher '{teacher_id}' is not in the district")
    return int(hits[0])


def _set_school(d: District, e: Any, path: str) -> District:
    row = _school_row(d, e.school_id, path)
    schools = d.schools.copy()
    for col, value in e.changes().items():
        schools.iloc[row, schools.columns.get_loc(col)] = value
    return d.with_tables(schools=schools)


def _add_school(d: District, e: Any, path: str) -> District:
    if e.school_id in d.school_index():
        raise _fail(path, "school_id", f"school '{e.school_id}' already exists")
    row: dict[str, Any] = {c.name: c.default for c in SCHOOL_COLUMNS}
    row.update(e.model_dump(exclude={"op"}))
    new = pd.DataFrame([row]).astype(d.schools.dtypes.to_dict(), errors="ignore")
    schools = pd.concat([d.schools, new[d.schools.columns]], ignore_index=True)
    return d.with_tables(schools=schools)


def _close_school(d: District, e: Any, path: str) -> District:
    row = _school_row(d, e.school_id, path)
    schools = d.schools.copy()
    schools.iloc[row, schools.columns.get_loc("status")] = "closed"
    return d.with_tables(schools=schools)


def _lock_unit(d: District, e: Any, path: str) -> District:
    urow = _unit_row(d, e.unit_id, path)
    srow = _school_row(d, e.school_id, path)
    if not d.serves(e.level)[srow]:
        level = d.schools["level"].iloc[srow]
        raise _fail(
            path, "school_id", f"school '{e.school_id}' ({level}) does not teach {e.level} pupils"
        )
    units = d.units.copy()
    units.iloc[urow, units.columns.get_loc(f"current_{e.level}")] = e.school_id
    units.iloc[urow, units.columns.get_loc("locked")] = True
    return d.with_tables(units=units)


def _set_policy(d: District, e: Any, path: str) -> District:
    head = e.path.split(".")[0]
    if head not in type(d.policy).model_fields:
        raise _fail(path, "path", f"'{e.path}' is not a policy setting")
    try:
        policy = d.policy.with_value(e.path, e.value)
    except ValidationError as exc:
        msg = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in exc.errors())
        raise _fail(path, "value", f"policy '{e.path}' cannot be {e.value!r}: {msg}") from None
    return d.with_tables(policy=policy)


def _add_pupils(d: District, e: Any, path: str) -> District:
    row = _unit_row(d, e.unit_id, path)
    units = d.units.copy()
    if e.grade is not None:
        level: Level = "primary" if e.grade in GRADES["primary"] else "junior"
        per_grade = {e.grade: e.count}
    else:
        level = e.level
        grades = GRADES[level]
        base, extra = divmod(e.count, len(grades))
        # the remainder goes to the lowest grades, starting with the entering grade
        order = sorted(grades, key=lambda g: (g != ENTRY_GRADE[level], g))
        per_grade = {g: base + (1 if k < extra else 0) for k, g in enumerate(order)}
    for g, n in per_grade.items():
        col = units.columns.get_loc(f"g{g}")
        units.iloc[row, col] = int(units.iloc[row, col]) + n
    col = units.columns.get_loc(f"pupils_{level}")
    units.iloc[row, col] = int(units.iloc[row, col]) + e.count
    return d.with_tables(units=units)


def _exempt_teacher(d: District, e: Any, path: str) -> District:
    row = _teacher_row(d, e.teacher_id, path)
    assert d.teachers is not None
    teachers = d.teachers.copy()
    teachers.iloc[row, teachers.columns.get_loc("exempt_reason")] = e.reason
    return d.with_tables(teachers=teachers)


def _lock_teacher(d: District, e: Any, path: str) -> District:
    _teacher_row(d, e.teacher_id, path)
    _school_row(d, e.school_id, path)
    cols = ["teacher_id", "school_id", "kind"]
    old = d.extra.get(TEACHER_LOCKS)
    rows = [] if old is None else old.to_dict("records")
    # one lock per teacher: a later lock replaces an earlier one
    rows = [
        r
        for r in rows
        if not (str(r.get("teacher_id")) == e.teacher_id and r.get("kind") == "lock")
    ]
    rows.append({"teacher_id": e.teacher_id, "school_id": e.school_id, "kind": "lock"})
    table = pd.DataFrame(rows)
    table = table[cols + [c for c in table.columns if c not in cols]]
    return d.with_tables(extra={**d.extra, TEACHER_LOCKS: table})


_APPLY: dict[str, Any] = {
    "set_school": _set_school,
    "add_school": _add_school,
    "close_school": _close_school,
    "lock_unit": _lock_unit,
    "set_policy": _set_policy,
    "add_pupils": _add_pupils,
    "exempt_teacher": _exempt_teacher,
    "lock_teacher": _lock_teacher,
}
