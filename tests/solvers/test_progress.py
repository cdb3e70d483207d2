"""The console progress line shows the best objective and bound so far."""

from __future__ import annotations

import pytest

from solvers.progress import ProgressEvent, console_progress


def test_line_keeps_the_best_bound_and_objective(capsys: pytest.CaptureFixture[str]) -> None:
    show = console_progress("t: ")
    show(ProgressEvent(1.0, 120.0, 80.0, "lp"))
    show(ProgressEvent(2.0, 130.0, 60.0, "mip"))  # worse on both counts: the line keeps 120/80
    err = capsys.readouterr().err
    assert "best 120.0  bound 80.0  gap 33.333%" in err.split("\r")[-1]
    show(ProgressEvent(0.5, 500.0, 10.0, "start"))  # a new solve: start afresh
    assert "best 500.0  bound 10.0" in capsys.readouterr().err.split("\r")[-1]
