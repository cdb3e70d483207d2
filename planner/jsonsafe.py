"""JSON that every reader accepts: numpy scalars as Python numbers, NaN and ±inf as null.

``json.dumps`` writes ``NaN`` and ``-Infinity`` by default, which strict parsers (browsers,
``jq``, most languages) refuse; an unknown bound is ``null`` in our result files instead.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def json_ready(obj: Any) -> Any:
    """A copy of ``obj`` with plain Python values only (NaN/±inf → None, numpy → Python)."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):  # numpy scalar
        try:
            obj = obj.item()
        except (TypeError, ValueError):
            return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)  # paths, dates and other objects: their text


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`json_ready` (strict: never writes NaN or Infinity)."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(json_ready(obj), allow_nan=False, **kwargs)


def write_json(path: Path, obj: Any, **kwargs: Any) -> None:
    """Write ``obj`` as strict, indented JSON with a final newline."""
    kwargs.setdefault("indent", 2)
    path.write_text(dumps(obj, **kwargs) + "\n", encoding="utf-8")
