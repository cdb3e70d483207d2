"""Benchmark loaders: the format traps on tiny files, the real sets through shared_benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solvers.benchdata import (
    BENCHMARK_SETS,
    cpmp_osman_christofides,
    instance_paths,
    load_instance,
    orlib_pmed,
    read_optima,
    sscflp_holmberg,
    write_as_district,
)


def test_pmed_last_duplicate_edge_wins(tmp_path: Path) -> None:
    # edge 1–2 is listed as 1 then 7: OR-Library's rule keeps the last one (7)
    f = tmp_path / "g.txt"
    f.write_text("3 3 1\n1 2 1\n1 2 7\n2 3 1\n")
    inst = orlib_pmed(f)
    assert inst.cost[0, 1] == 7  # last occurrence, not the minimum 1
    assert inst.cost[0, 2] == 8
    assert inst.p == 1 and inst.demand.tolist() == [1, 1, 1]


def test_holmberg_trailing_dots_and_crlf(tmp_path: Path) -> None:
    f = tmp_path / "p0"
    # 2 facilities, 3 customers; facility-major cost rows
    f.write_bytes(b"2 3\r\n10. 100.\r\n20 200\r\n4. 5 6\r\n1 2 3\r\n7. 8 9\r\n\x00\x00junk")
    inst = sscflp_holmberg(f)
    assert inst.capacity.tolist() == [10, 20]
    assert inst.fixed_cost.tolist() == [100, 200]
    assert inst.demand.tolist() == [4, 5, 6]
    assert inst.cost.tolist() == [[1, 2, 3], [7, 8, 9]]
    assert inst.objective(np.array([True, False]), np.array([0, 0, 0])) == 106


def test_osman_christofides_floors_distances(tmp_path: Path) -> None:
    f = tmp_path / "oc.txt"
    f.write_text(" 1 99\n 2 1 10\n 1 0 0 3\n 2 1 1 4\n")
    inst = cpmp_osman_christofides(f)
    assert inst.cost[0, 1] == 1  # floor(sqrt(2))
    assert inst.capacity.tolist() == [10, 10] and inst.p == 1


def test_every_set_loads(shared_benchmarks: Path) -> None:
    for s in BENCHMARK_SETS:
        names = instance_paths(shared_benchmarks / s)
        assert names, s
        small = [
            n for n in names if not n.startswith(("fnl", "pr2392", "p3038", "capa", "capb", "capc"))
        ]
        inst = load_instance(shared_benchmarks / s, small[0])
        assert inst.cost.shape == (inst.n_facilities, inst.n_customers)
        assert np.isfinite(inst.cost).all()
    opt = read_optima(shared_benchmarks / "orlib_pmed")
    assert opt["pmed1"].optimal_value == 5819 and opt["pmed1"].status == "optimal"
    capa = load_instance(shared_benchmarks / "cflp_orlib_cap", "capa_8000")
    assert capa.capacity[0] == 8000 and capa.demand.sum() == pytest.approx(50886)


def test_published_instance_through_the_district_layout(
    shared_benchmarks: Path, tmp_path: Path
) -> None:
    """pmedcap01 as a district folder, solved by solve_layout with 5 schools: 713."""
    from planner.io import load_district
    from solvers.layout.district import LayoutSettings, solve_layout

    inst = load_instance(shared_benchmarks / "cpmp_osman_christofides", "pmedcap01")
    root = write_as_district(inst, tmp_path / "d")
    d = load_district(root)
    res = solve_layout(d, LayoutSettings(open_exactly=5, overflow_penalty=None, time_limit=60))
    assert res.summary["status"] == "optimal"
    assert res.summary["objective"] == pytest.approx(713, abs=1e-6)
    assert len(res.summary["opened"]) == 5
