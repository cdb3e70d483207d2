"""Eligibility rules on a hand-checked table of six teachers (default policy, year 2025)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.eligibility import assess_eligibility
from planner.policy import Policy


@pytest.fixture
def six() -> pd.DataFrame:
    """t1 eligible; t2 4 years; t3 man aged 55; t4 exempt; t5 rotated 2021; t6 woman aged 50."""
    return pd.DataFrame(
        {
            "teacher_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
            "years_at_school": [7, 4, 10, 9, 8, 12],
            "age": [40, 35, 55, 38, 44, 50],
            "gender": ["M", "F", "M", "F", "M", "F"],
            "exempt_reason": ["", "", "", "maternity leave", "", ""],
            "last_rotated_year": [np.nan, np.nan, np.nan, np.nan, 2021.0, 2010.0],
        }
    )


def test_rules(six: pd.DataFrame) -> None:
    out = assess_eligibility(six, Policy(), year=2025)
    assert out["eligible"].tolist() == [True, False, False, False, False, False]
    assert out["exempt"].tolist() == [False, False, False, True, False, False]
    assert out["reason"].tolist() == [
        "eligible",
        "years_short",
        "age_cap;near_retirement",
        "exempt",
        "recent_rotation",
        "age_cap;near_retirement",
    ]
    text = dict(zip(out["teacher_id"], out["reason_text"], strict=True))
    assert text["t1"] == "7 years at school (≥6); age 40 (under 55 for men)."
    assert text["t2"] == "4 years at school (fewer than 6 required)."
    assert text["t4"] == "Exempt: maternity leave."
    assert text["t5"] == "Rotated in 2021, within the last 6 years before 2025."
    assert text["t3"].startswith("Age 55, at or above the cap of 55 for men.")


def test_cooldown_depends_on_year(six: pd.DataFrame) -> None:
    assert bool(assess_eligibility(six, Policy(), year=2027)["eligible"].iloc[4])


def test_policy_numbers_are_used(six: pd.DataFrame) -> None:
    pol = Policy().with_value("rotation_min_years", 4)
    assert bool(assess_eligibility(six, pol, year=2025)["eligible"].iloc[1])


def test_missing_column() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        assess_eligibility(pd.DataFrame({"teacher_id": ["a"]}), Policy(), year=2025)
