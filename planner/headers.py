"""Header and cell-value aliases: the one table that maps what offices type to format v1 names.

HR and planning offices keep their lists in Excel with Chinese headers and Chinese cell values.
:data:`HEADER_ALIASES` maps, per table, each canonical column of the district format (v1,
``docs/formats.md``) to the other headers accepted for it; :data:`VALUE_ALIASES` does the same
for the cell values of coded columns (subjects, levels, backbone titles, ...). Both tables are
rendered into ``docs/formats.md`` by :func:`alias_tables_markdown`, so the documentation cannot
drift from the code.

Matching is case-, width- and whitespace-insensitive (:func:`normalise_label`): ``" School ID "``,
``"school_id"`` and ``"ＳＣＨＯＯＬ_ＩＤ"`` are the same header, and a trailing unit in brackets
(``"年龄（岁）"``) is ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from planner.model import SUBJECTS

# -- headers ----------------------------------------------------------------------------------

_GRADE_NAMES: dict[int, tuple[str, ...]] = {
    1: ("一年级",),
    2: ("二年级",),
    3: ("三年级",),
    4: ("四年级",),
    5: ("五年级",),
    6: ("六年级",),
    7: ("七年级", "初一"),
    8: ("八年级", "初二"),
    9: ("九年级", "初三"),
}

#: Accepted headers per table: canonical column -> other accepted headers.
#: ``classrooms`` and ``capacity`` (schools) are single-level shorthands, see docs/formats.md.
HEADER_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "schools": {
        "school_id": ("学校代码", "学校编号", "学校编码", "学校标识码", "学校id"),
        "name": ("学校名称", "校名", "名称"),
        "level": ("学段", "学校类型", "办学类型"),
        "x": ("x坐标", "横坐标"),
        "y": ("y坐标", "纵坐标"),
        "lon": ("经度", "longitude", "lng"),
        "lat": ("纬度", "latitude"),
        "classrooms": ("班级数", "教室数", "班数"),
        "classrooms_primary": ("小学班级数", "小学教室数", "小学班数"),
        "classrooms_junior": ("初中班级数", "初中教室数", "初中班数"),
        "capacity": ("学位数", "核定学位数"),
        "capacity_primary": ("小学学位数", "小学核定学位数"),
        "capacity_junior": ("初中学位数", "初中核定学位数"),
        "status": ("状态", "办学状态"),
        "open_cost": ("新建成本", "建设成本"),
        "max_extra_classrooms": ("可扩建教室数", "最多新增教室数"),
        "cost_per_classroom": ("每间教室成本", "扩建单价"),
        "category": ("城乡类别", "城乡分类"),
        "strong": ("优质学校", "是否优质学校"),
        "group_id": ("教育集团", "集团", "集团编号"),
        "teaching_area_m2": ("教学及辅助用房面积", "教学辅助用房面积"),
        "sports_area_m2": ("运动场地面积", "体育运动场馆面积"),
        "equipment_value": ("教学仪器设备值", "仪器设备值"),
        "multimedia_rooms": ("网络多媒体教室数", "多媒体教室数"),
    },
    "units": {
        "unit_id": ("单元编号", "单元代码", "小区编号", "片区编号"),
        "x": ("x坐标", "横坐标"),
        "y": ("y坐标", "纵坐标"),
        "lon": ("经度", "longitude", "lng"),
        "lat": ("纬度", "latitude"),
        "wkt": ("geometry", "几何", "边界"),
        "pupils_primary": ("小学生数", "小学学生数", "小学适龄儿童数"),
        "pupils_junior": ("初中生数", "初中学生数", "初中适龄少年数"),
        **{f"g{g}": names for g, names in _GRADE_NAMES.items()},
        "current_primary": ("对口小学", "现小学", "当前小学"),
        "current_junior": ("对口初中", "现初中", "当前初中"),
        "locked": ("锁定", "是否锁定"),
        "migrant_pupils": ("随迁子女数", "随迁子女"),
    },
    "teachers": {
        "teacher_id": ("工号", "教师编号", "职工号", "教职工号", "教师id"),
        "name": ("姓名", "教师姓名"),
        "school_id": ("学校", "学校代码", "所在学校", "任教学校", "学校编号"),
        "subject": ("学科", "任教学科", "科目"),
        "backbone": ("骨干级别", "骨干教师级别", "骨干等级", "骨干"),
        "higher_degree": ("高学历", "高于规定学历", "是否高于规定学历", "学历达标以上"),
        "years_at_school": ("本校任教年限", "本校工作年限", "在校年限", "任教年限"),
        "age": ("年龄",),
        "gender": ("性别",),
        "exempt_reason": ("免交流原因", "豁免原因", "不参加交流原因", "免于交流原因"),
        "home_x": ("住址x坐标", "家庭住址x"),
        "home_y": ("住址y坐标", "家庭住址y"),
        "last_rotated_year": ("上次交流年份", "最近交流年份"),
    },
    "travel": {
        "unit_id": ("单元编号", "小区编号"),
        "school_id": ("学校代码", "学校编号"),
        "cost": ("通学距离", "通学时间", "距离", "时间"),
    },
    "adjacency": {"unit_a": (), "unit_b": ()},
}

# -- cell values -------------------------------------------------------------------------------

_SUBJECT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "morality": ("品德", "思想品德", "道法", "品德与社会", "品德与生活"),
    "pe": ("体育与健康",),
    "it": ("信息科技", "信息"),
    "psychology": ("心理",),
    "math": ("mathematics", "maths"),
    "art": ("美术与设计",),
}

#: Accepted cell values per coded column: canonical value -> other accepted spellings.
VALUE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "level": {
        "primary": ("小学",),
        "junior": ("初中", "初级中学"),
        "nine_year": ("九年一贯制", "九年一贯制学校", "九年一贯", "nine-year"),
    },
    "status": {
        "open": ("在用", "现有", "开办", "正常"),
        "candidate": ("候选", "拟建", "规划", "新建"),
        "closed": ("关闭", "撤并", "停办"),
    },
    "category": {
        "urban": ("城区", "城市", "城镇"),
        "town": ("镇区", "乡镇", "镇"),
        "village": ("乡村", "农村", "村"),
    },
    "backbone": {
        "none": ("无", "否", "非骨干"),
        "county": ("县级", "区级", "县级骨干", "区级骨干"),
        "city": ("市级", "市级骨干"),
        "province": ("省级", "省级骨干"),
    },
    "gender": {"M": ("男", "male", "m"), "F": ("女", "female", "f")},
    "subject": {code: (zh, *_SUBJECT_SYNONYMS.get(code, ())) for code, zh in SUBJECTS.items()},
    "bool": {
        "1": ("true", "yes", "y", "t", "是", "1.0"),
        "0": ("false", "no", "n", "f", "否", "0.0"),
    },
}

_BRACKETED_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")
_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_label(text: object) -> str:
    """Normalise a header or coded cell value for matching.

    NFKC (full-width to half-width), trimmed, lower-case, runs of spaces and hyphens become one
    ``_``, and a trailing bracketed unit such as ``(岁)`` or ``(m2)`` is dropped.
    """
    s = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip().lower()
    s = _BRACKETED_SUFFIX.sub("", s) or s
    return _SEPARATORS.sub("_", s).strip("_")


def _header_lookup(table: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, aliases in HEADER_ALIASES.get(table, {}).items():
        for name in (canonical, *aliases):
            out.setdefault(normalise_label(name), canonical)
    return out


def _value_lookup(kind: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, aliases in VALUE_ALIASES[kind].items():
        for name in (canonical, *aliases):
            out.setdefault(normalise_label(name), canonical)
    return out


_HEADER_LOOKUPS: dict[str, dict[str, str]] = {t: _header_lookup(t) for t in HEADER_ALIASES}
_VALUE_LOOKUPS: dict[str, dict[str, str]] = {k: _value_lookup(k) for k in VALUE_ALIASES}


def canonical_header(table: str, header: object) -> str:
    """The canonical column name for ``header`` in ``table``, or its normalised form.

    Examples
    --------
    >>> canonical_header("teachers", " 工号 ")
    'teacher_id'
    >>> canonical_header("schools", "School ID")
    'school_id'
    """
    key = normalise_label(header)
    return _HEADER_LOOKUPS.get(table, {}).get(key, key)


def map_headers(table: str, headers: Iterable[object]) -> list[str]:
    """Canonical names for a list of headers (same order; unknown headers normalised)."""
    return [canonical_header(table, h) for h in headers]


def canonical_value(kind: str, value: object) -> str | None:
    """The canonical code for a coded cell value, or None when it is not recognised.

    ``kind`` is a key of :data:`VALUE_ALIASES` (``level``, ``status``, ``category``,
    ``backbone``, ``gender``, ``subject``, ``bool``).

    Examples
    --------
    >>> canonical_value("subject", "语文")
    'chinese'
    >>> canonical_value("gender", "女")
    'F'
    """
    return _VALUE_LOOKUPS[kind].get(normalise_label(value))


def value_lookup(kind: str) -> dict[str, str]:
    """The normalised-spelling -> code mapping of ``kind`` (for vectorised mapping)."""
    return dict(_VALUE_LOOKUPS[kind])


def accepted_values(kind: str) -> str:
    """Human list of the canonical codes of ``kind`` with their first Chinese alias.

    >>> accepted_values("level")
    'primary, junior, nine_year (or 小学, 初中, 九年一贯制)'
    """
    codes = list(VALUE_ALIASES[kind])
    zh = [a[0] for a in VALUE_ALIASES[kind].values() if a and not a[0].isascii()]
    text = ", ".join(codes)
    if zh and kind not in ("subject",):
        text += " (or " + ", ".join(zh) + ")"
    return text


def alias_tables_markdown() -> str:
    """The header and value alias tables as Markdown (embedded in ``docs/formats.md``)."""
    lines = ["### Header aliases", ""]
    for table, columns in HEADER_ALIASES.items():
        lines += [f"**{table}**", "", "| column | also accepted |", "|---|---|"]
        for col, aliases in columns.items():
            lines.append(f"| `{col}` | {', '.join(aliases) or '—'} |")
        lines.append("")
    lines += ["### Value aliases", "", "| column | value | also accepted |", "|---|---|---|"]
    for kind, values in VALUE_ALIASES.items():
        for code, aliases in values.items():
            lines.append(f"| {kind} | `{code}` | {', '.join(aliases) or '—'} |")
    lines.append("")
    return "\n".join(lines)


__all__ = [
    "HEADER_ALIASES",
    "VALUE_ALIASES",
    "accepted_values",
    "alias_tables_markdown",
    "canonical_header",
    "canonical_value",
    "map_headers",
    "normalise_label",
    "value_lookup",
]
