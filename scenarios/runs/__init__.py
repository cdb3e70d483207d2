"""Runs: the registry of solvers by kind, the job that executes one run, and executors."""

from scenarios.runs.executor import Executor, ThreadExecutor
from scenarios.runs.runners import (
    LazyRunner,
    Runner,
    RunnerRegistry,
    RunnerUnavailable,
    SolveResult,
)

__all__ = [
    "Executor",
    "LazyRunner",
    "Runner",
    "RunnerRegistry",
    "RunnerUnavailable",
    "SolveResult",
    "ThreadExecutor",
]
