"""``make bench``: every benchmark script in turn; each prints a table and writes results/.

Run one with ``python -m benchmarks.run_all NAME`` (names below).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time

#: (name, module) in run order; each module has ``main(argv: list[str] | None) -> int``.
BENCHMARKS: tuple[tuple[str, str], ...] = (
    ("catchment", "benchmarks.catchment_ladder"),
    ("layout", "benchmarks.layout_bench"),
    ("rotation", "benchmarks.rotation_bench"),
    ("forecast", "benchmarks.forecast_bench"),
    ("api", "benchmarks.api_load"),
)


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks (all by default); return non-zero if any failed."""
    names = argv if argv is not None else sys.argv[1:]
    failed: list[str] = []
    for name, module in BENCHMARKS:
        if names and name not in names:
            continue
        print(f"\n=== benchmark: {name} ({module})", flush=True)
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(module)
            params = list(inspect.signature(mod.main).parameters)
            rc = mod.main([]) if params[:1] == ["argv"] else mod.main()
        except Exception as exc:  # one failing benchmark must not hide the others' tables
            print(f"benchmark {name} failed: {exc!r}", flush=True)
            rc = 1
        print(f"=== {name}: exit {rc} after {time.perf_counter() - t0:.1f}s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed benchmarks: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
