"""Who may be rotated this year (交流轮岗资格), and why not.

One row per teacher, rules applied in this order (every failing rule is reported, not only the
first):

===================  ==============================================================================
code                 rule (numbers from :class:`planner.policy.Policy`)
===================  ==============================================================================
``exempt``           ``exempt_reason`` is non-empty (pregnancy, nursing, certified illness, a
                     recorded deferral...). Exempt teachers are never selected and are listed with
                     their reason.
``years_short``      fewer than ``rotation_min_years`` years at the current school.
``age_cap``          age at or above ``age_cap[gender]`` (e.g. men 55, women 50).
``near_retirement``  ``retirement_age[gender] − age ≤ retirement_buffer_years``.
``recent_rotation``  rotated within the last ``rotation_cooldown_years`` years:
                     ``year − last_rotated_year < rotation_cooldown_years``.
``eligible``         none of the above: the teacher is in the pool.
===================  ==============================================================================

``reason`` holds the failing codes joined by ``;`` (``eligible`` when none fail), ``reason_text``
one plain sentence per code, e.g. ``"4 years at school (fewer than 6 required)."``.

``year`` is the planning year. When it is ``None`` the calendar year of today is used
(:func:`current_year`); pass it explicitly for reproducible lists (the rotation solver always
passes ``RotationSettings.year``).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from planner.policy import Policy

#: Codes in rule order; ``eligible`` means no rule failed.
ELIGIBILITY_CODES: tuple[str, ...] = (
    "exempt",
    "years_short",
    "age_cap",
    "near_retirement",
    "recent_rotation",
    "eligible",
)

_GENDER_WORD = {"M": "men", "F": "women"}


def current_year() -> int:
    """The calendar year today (the default planning year)."""
    return _dt.date.today().year


def assess_eligibility(
    teachers: pd.DataFrame, policy: Policy, year: int | None = None
) -> pd.DataFrame:
    """Decide for every teacher whether they are in this year's rotation pool.

    Parameters
    ----------
    teachers : pandas.DataFrame
        The teachers table (columns of :data:`planner.model.TEACHER_COLUMNS`; ``exempt_reason``
        and ``last_rotated_year`` are optional).
    policy : Policy
        Rotation numbers: ``rotation_min_years``, ``age_cap``, ``retirement_age``,
        ``retirement_buffer_years``, ``rotation_cooldown_years``.
    year : int, optional
        Planning year, for the cooldown rule; default :func:`current_year`.

    Returns
    -------
    pandas.DataFrame
        ``teacher_id, eligible, exempt, reason, reason_text`` in the input's row order.

    Raises
    ------
    ValueError
        If a required column is missing or a gender is not in the policy's age caps.
    """
    required = ("teacher_id", "years_at_school", "age", "gender")
    missing = [c for c in required if c not in teachers.columns]
    if missing:
        raise ValueError(f"teachers table lacks column(s): {', '.join(missing)}")
    yr = current_year() if year is None else int(year)
    n = len(teachers)
    gender = teachers["gender"].astype(str).str.upper().to_numpy()
    bad = sorted(set(gender) - (set(policy.age_cap) & set(policy.retirement_age)))
    if bad:
        raise ValueError(f"gender(s) {', '.join(bad)} have no age cap in the policy")

    years = teachers["years_at_school"].to_numpy(dtype=np.int64)
    age = teachers["age"].to_numpy(dtype=np.int64)
    if "exempt_reason" in teachers.columns:
        exempt_txt = teachers["exempt_reason"].fillna("").astype(str).str.strip().to_numpy()
    else:
        exempt_txt = np.full(n, "", dtype=object)
    if "last_rotated_year" in teachers.columns:
        last = pd.to_numeric(teachers["last_rotated_year"], errors="coerce").to_numpy(dtype=float)
    else:
        last = np.full(n, np.nan)
    cap = np.array([policy.age_cap[g] for g in gender], dtype=np.int64)  # type: ignore[index]
    retire = np.array([policy.retirement_age[g] for g in gender], dtype=np.int64)  # type: ignore[index]

    y_min = policy.rotation_min_years
    buffer = policy.retirement_buffer_years
    cool = policy.rotation_cooldown_years
    fails = {
        "exempt": exempt_txt != "",
        "years_short": years < y_min,
        "age_cap": age >= cap,
        "near_retirement": (retire - age) <= buffer,
        "recent_rotation": ~np.isnan(last) & ((yr - np.nan_to_num(last)) < cool),
    }
    eligible = ~np.logical_or.reduce(list(fails.values()))

    codes: list[str] = []
    texts: list[str] = []
    for i in range(n):
        c: list[str] = []
        t: list[str] = []
        g = _GENDER_WORD.get(gender[i], gender[i])
        if fails["exempt"][i]:
            c.append("exempt")
            t.append(f"Exempt: {exempt_txt[i]}.")
        if fails["years_short"][i]:
            c.append("years_short")
            t.append(f"{years[i]} years at school (fewer than {y_min} required).")
        if fails["age_cap"][i]:
            c.append("age_cap")
            t.append(f"Age {age[i]}, at or above the cap of {cap[i]} for {g}.")
        if fails["near_retirement"][i]:
            c.append("near_retirement")
            t.append(
                f"{retire[i] - age[i]} years to retirement at {retire[i]} "
                f"(more than {buffer} required)."
            )
        if fails["recent_rotation"][i]:
            c.append("recent_rotation")
            t.append(f"Rotated in {int(last[i])}, within the last {cool} years before {yr}.")
        if not c:
            c.append("eligible")
            t.append(
                f"{years[i]} years at school (≥{y_min}); age {age[i]} (under {cap[i]} for {g})."
            )
        codes.append(";".join(c))
        texts.append(" ".join(t))

    return pd.DataFrame(
        {
            "teacher_id": teachers["teacher_id"].astype(str).to_numpy(),
            "eligible": eligible,
            "exempt": fails["exempt"],
            "reason": codes,
            "reason_text": texts,
        }
    )


__all__ = ["ELIGIBILITY_CODES", "assess_eligibility", "current_year"]
