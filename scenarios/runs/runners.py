"""The runner registry: run kind → solver entry point and settings model, imported lazily.

Every solver follows one contract (``docs/architecture.md``)::

    solve(district, settings, progress=None, stop=None) -> result
    result.summary: dict                  # the CLI's summary.json
    result.write(out_dir) -> list[Path]   # the CLI's output files

so a runner is only the names of two objects. Solver packages are imported on first use, which
keeps the service's start-up light and lets it run while a solver package is absent
(the kind is then reported as unavailable by ``GET /v1/health`` and refused at submission).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from planner.model import District
from solvers.progress import ProgressFn


@runtime_checkable
class SolveResult(Protocol):
    """What a solver returns."""

    summary: dict[str, Any]

    def write(self, out_dir: Path) -> list[Path]:
        """Write the CLI's output files into ``out_dir``."""
        ...


class Runner(Protocol):
    """A solver for one run kind."""

    kind: str
    #: Results hold teacher personal data (visible to hr and admin only).
    personal: bool

    def settings_model(self) -> type[BaseModel]:
        """The pydantic settings model of this kind (``time_limit`` and ``seed`` fields)."""
        ...

    def solve(
        self,
        district: District,
        settings: BaseModel,
        progress: ProgressFn | None,
        stop: threading.Event | None,
    ) -> SolveResult:
        """Solve and return the result."""
        ...


class RunnerUnavailable(Exception):
    """The solver package of a kind is not installed (yet)."""


def _first(paths: tuple[str, ...]) -> Any:
    """The first ``module:attribute`` that imports, or None."""
    for path in paths:
        module, _, attr = path.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise  # a broken dependency inside the solver: report it, do not hide it
        except AttributeError:
            continue
    return None


@dataclass
class LazyRunner:
    """A runner named by ``module:attribute`` strings, imported on first use.

    Parameters
    ----------
    kind : str
        ``catchment``, ``layout`` or ``rotation``.
    solve_paths : tuple of str
        Candidate ``module:function`` locations of the solver entry point, first found wins.
    settings_paths : tuple of str
        Candidate ``module:Class`` locations of its settings model, first found wins.
    personal : bool
        Whether results hold teacher personal data.
    """

    kind: str
    solve_paths: tuple[str, ...]
    settings_paths: tuple[str, ...]
    personal: bool = False
    _loaded: tuple[Any, type[BaseModel]] | None = field(default=None, init=False, repr=False)

    def _load(self) -> tuple[Any, type[BaseModel]]:
        if self._loaded is None:
            solve = _first(self.solve_paths)
            if solve is None:
                raise RunnerUnavailable(
                    f"run kind '{self.kind}' is not available: its solver "
                    f"({' or '.join(self.solve_paths)}) is not installed"
                )
            settings = _first(self.settings_paths)
            if settings is None:
                raise RunnerUnavailable(
                    f"run kind '{self.kind}' is not available: no settings model at "
                    + " or ".join(self.settings_paths)
                )
            self._loaded = (solve, settings)
        return self._loaded

    def settings_model(self) -> type[BaseModel]:
        """The settings model (imports the solver package).

        Raises
        ------
        RunnerUnavailable
        """
        return self._load()[1]

    def solve(
        self,
        district: District,
        settings: BaseModel,
        progress: ProgressFn | None,
        stop: threading.Event | None,
    ) -> SolveResult:
        """Call the solver entry point."""
        result: SolveResult = self._load()[0](district, settings, progress=progress, stop=stop)
        return result


def default_runners() -> tuple[LazyRunner, ...]:
    """The real solvers: catchment, layout, rotation (fresh objects: they cache imports)."""
    return (
        LazyRunner(
            "catchment",
            ("solvers.catchment:solve_catchment",),
            ("solvers.catchment:CatchmentSettings", "solvers.catchment.types:CatchmentSettings"),
        ),
        LazyRunner(
            "layout",
            ("solvers.layout:solve_layout", "solvers.layout.district:solve_layout"),
            ("solvers.layout:LayoutSettings", "solvers.layout.district:LayoutSettings"),
        ),
        LazyRunner(
            "rotation",
            ("solvers.rotation:solve_rotation",),
            ("solvers.rotation:RotationSettings", "solvers.rotation.settings:RotationSettings"),
            personal=True,
        ),
    )


class RunnerRegistry:
    """Runners by kind."""

    def __init__(self, runners: Iterable[Runner]) -> None:
        self._runners: dict[str, Runner] = {r.kind: r for r in runners}

    @classmethod
    def default(cls) -> RunnerRegistry:
        """The real solvers: catchment, layout, rotation."""
        return cls(default_runners())

    def kinds(self) -> tuple[str, ...]:
        """Every registered kind."""
        return tuple(self._runners)

    def get(self, kind: str) -> Runner:
        """The runner of a kind.

        Raises
        ------
        KeyError
            For an unknown kind.
        """
        return self._runners[kind]

    def personal(self, kind: str) -> bool:
        """Whether runs of this kind hold teacher personal data (unknown kinds: yes)."""
        runner = self._runners.get(kind)
        return True if runner is None else runner.personal

    def availability(self) -> Mapping[str, str | None]:
        """Per kind: None when it can run, else why not."""
        out: dict[str, str | None] = {}
        for kind, runner in self._runners.items():
            try:
                runner.settings_model()
                out[kind] = None
            except RunnerUnavailable as exc:
                out[kind] = str(exc)
        return out
