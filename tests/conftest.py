"""Shared fixtures: the public benchmark folder (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    env = os.environ.get("SCHOOLPLAN_SHARED")
    return Path(env) if env else REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    """``../shared/benchmarks``; the test is skipped when a fresh clone has no ``../shared``."""
    path = _shared_dir() / "benchmarks"
    if not path.is_dir():
        pytest.skip("../shared/benchmarks is absent (fresh clone): benchmark data not available")
    return path
