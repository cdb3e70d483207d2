"""Typed errors of the scenario layer; the API maps each to one HTTP status.

Every error carries a plain-language ``detail`` and, where input was wrong, a list of
:class:`FieldError` naming the field path (``edits/2/school_id``, ``teachers.csv/14/age``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One wrong field: a ``/``-separated path and a message."""

    path: str
    message: str


class ScenarioError(Exception):
    """Base class: ``detail`` is safe to show to the client."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ScenarioError):
    """A dataset, scenario, run or result does not exist (404)."""


class Conflict(ScenarioError):
    """The request conflicts with the current state (409)."""


class Invalid(ScenarioError):
    """Input is well-formed but wrong: bad edits, settings or district files (422)."""


class Forbidden(ScenarioError):
    """The caller's role may not do this (403)."""


class TooLarge(ScenarioError):
    """An upload is over the size limit (413)."""
