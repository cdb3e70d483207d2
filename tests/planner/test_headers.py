"""Header and value aliases: Chinese and sloppy spellings map to format v1 names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.headers import (
    HEADER_ALIASES,
    VALUE_ALIASES,
    alias_tables_markdown,
    canonical_header,
    canonical_value,
    map_headers,
    normalise_label,
)
from planner.model import SCHOOL_COLUMNS, SUBJECTS, TEACHER_COLUMNS, UNIT_COLUMNS


@pytest.mark.parametrize(
    ("table", "header", "expected"),
    [
        ("teachers", "工号", "teacher_id"),
        ("teachers", " 学科 ", "subject"),
        ("teachers", "骨干级别", "backbone"),
        ("teachers", "本校任教年限", "years_at_school"),
        ("teachers", "性别", "gender"),
        ("teachers", "年龄（岁）", "age"),
        ("teachers", "学校", "school_id"),
        ("schools", "学校代码", "school_id"),
        ("schools", "学校名称", "name"),
        ("schools", "学段", "level"),
        ("schools", "小学班级数", "classrooms_primary"),
        ("schools", "班级数", "classrooms"),
        ("schools", "School ID", "school_id"),
        ("schools", "ＳＣＨＯＯＬ_ＩＤ", "school_id"),
        ("schools", "Classrooms-Junior", "classrooms_junior"),
        ("units", "一年级", "g1"),
        ("units", "初三", "g9"),
        ("units", "随迁子女数", "migrant_pupils"),
        ("units", "something else", "something_else"),
    ],
)
def test_header_aliases(table: str, header: str, expected: str) -> None:
    assert canonical_header(table, header) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("subject", "语文", "chinese"),
        ("subject", "道德与法治", "morality"),
        ("subject", "体育与健康", "pe"),
        ("subject", "Math", "math"),
        ("backbone", "无", "none"),
        ("backbone", "县级", "county"),
        ("backbone", "市级", "city"),
        ("backbone", "省级", "province"),
        ("gender", "男", "M"),
        ("gender", "女", "F"),
        ("gender", "f", "F"),
        ("level", "小学", "primary"),
        ("level", "初中", "junior"),
        ("level", "九年一贯制", "nine_year"),
        ("status", "候选", "candidate"),
        ("status", "关闭", "closed"),
        ("category", "乡村", "village"),
        ("bool", "是", "1"),
        ("bool", "FALSE", "0"),
        ("subject", "舞蹈", None),
    ],
)
def test_value_aliases(kind: str, value: str, expected: str | None) -> None:
    assert canonical_value(kind, value) == expected


def test_every_chinese_subject_name_maps_to_its_code() -> None:
    for code, zh in SUBJECTS.items():
        assert canonical_value("subject", zh) == code


def test_aliases_name_real_columns_and_are_unambiguous() -> None:
    own = {
        "schools": {c.name for c in SCHOOL_COLUMNS} | {"lon", "lat", "classrooms", "capacity"},
        "units": {c.name for c in UNIT_COLUMNS} | {"lon", "lat", "wkt"},
        "teachers": {c.name for c in TEACHER_COLUMNS},
    }
    for table, columns in own.items():
        assert set(HEADER_ALIASES[table]) <= columns, table
        seen: dict[str, str] = {}
        for col, aliases in HEADER_ALIASES[table].items():
            for a in (col, *aliases):
                key = normalise_label(a)
                assert seen.setdefault(key, col) == col, f"{table}: {a} maps to two columns"
    for kind, values in VALUE_ALIASES.items():
        seen = {}
        for code, aliases in values.items():
            for a in (code, *aliases):
                assert seen.setdefault(normalise_label(a), code) == code, f"{kind}: {a}"


@given(st.sampled_from(sorted(HEADER_ALIASES["teachers"])), st.text(" \t", max_size=3))
def test_matching_ignores_case_and_surrounding_whitespace(col: str, pad: str) -> None:
    for header in (col, *HEADER_ALIASES["teachers"][col]):
        assert canonical_header("teachers", pad + header.upper() + pad) == col


def test_map_headers_keeps_order() -> None:
    assert map_headers("teachers", ["工号", "性别", "x"]) == ["teacher_id", "gender", "x"]


def test_markdown_lists_every_alias() -> None:
    md = alias_tables_markdown()
    assert "| `teacher_id` | 工号, 教师编号, 职工号, 教职工号, 教师id |" in md
    assert "| level | `nine_year` | 九年一贯制, 九年一贯制学校, 九年一贯, nine-year |" in md


def test_docs_show_the_current_alias_tables() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
    text = doc.read_text(encoding="utf-8")
    start = text.index("<!-- aliases:start -->\n") + len("<!-- aliases:start -->\n")
    end = text.index("<!-- aliases:end -->")
    assert text[start:end] == alias_tables_markdown()
