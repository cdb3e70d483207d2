"""The comparison baseline: the catchment model written plainly in PuLP and solved by CBC.

This is what a careful analyst would write by hand: one binary ``x[u, s]`` per allowed pair (the
same sparse pair set as our solvers, from :func:`solvers.catchment.problem.build_problem`, so
both solve exactly the same model), soft capacity, the same weighted objective, the
closer-neighbour rule as ``x[u, s] ≤ Σ x[v, s]`` over nearer neighbours when asked, and no LP
tricks (no warm start, no symmetry or bound work, CBC defaults). Exact (flow) contiguity is not
offered here: the benchmark compares it only against the closer-neighbour rule.

The objective value and bound are read back from CBC's log (PuLP does not expose the bound);
the objective's constant (travel of pupils who stay under phase-in) is added back to both.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pulp

from planner.errors import InfeasiblePlan
from planner.model import District
from planner.policy import Level
from solvers.catchment.problem import CatchmentProblem, build_problem
from solvers.catchment.types import CatchmentSettings, LevelSolution, SolveStatus


def build_pulp(
    pb: CatchmentProblem, settings: CatchmentSettings
) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The PuLP model of one level: ``x`` per pair, ``o`` overflow per school, ``e`` balance.

    Raises
    ------
    ValueError
        For ``contiguity="exact"``, which the baseline does not model.
    """
    if settings.contiguity == "exact":
        raise ValueError("the PuLP baseline models contiguity only by the closer-neighbour rule")
    w = settings.weights
    m = pulp.LpProblem(f"catchment_{pb.level}", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{p}", cat=pulp.LpBinary) for p in range(pb.n_pairs)]
    mov = pb.movable.astype(float)
    # a planning unit belongs to exactly one school (units that have a pair)
    for u in range(pb.n_units):
        a, b = int(pb.unit_ptr[u]), int(pb.unit_ptr[u + 1])
        if b > a:
            m += pulp.lpSum(x[a:b]) == 1, f"one_{u}"
    # soft capacity: placed + enrolled pupils ≤ seats + overflow
    load: list[list[tuple[pulp.LpVariable, float]]] = [[] for _ in range(pb.n_schools)]
    for p in range(pb.n_pairs):
        mu = mov[pb.pair_unit[p]]
        if mu > 0:
            load[int(pb.pair_school[p])].append((x[p], mu))
    over = []
    for s in range(pb.n_schools):
        if not load[s] and pb.fixed_load[s] <= pb.seats[s]:
            continue
        o = pulp.LpVariable(f"o{s}", lowBound=0)
        over.append(o)
        expr = pulp.LpAffineExpression(load[s]) + float(pb.fixed_load[s])
        m += expr - o <= float(pb.seats[s]), f"cap_{s}"
    # moved pupils: units placed away from today's school
    moved_terms = [
        (x[p], mov[pb.pair_unit[p]])
        for p in range(pb.n_pairs)
        if pb.current[pb.pair_unit[p]] >= 0
        and pb.pair_school[p] != pb.current[pb.pair_unit[p]]
        and mov[pb.pair_unit[p]] > 0
    ]
    moved = pulp.LpAffineExpression(moved_terms)
    if pb.moved_cap is not None:
        m += moved <= pb.moved_cap, "moved_cap"
    # balance band (soft)
    bal = []
    if settings.balance_delta is not None:
        r, d = pb.county_migrant_share, settings.balance_delta
        mig_hi: list[list[tuple[pulp.LpVariable, float]]] = [[] for _ in range(pb.n_schools)]
        mig_lo: list[list[tuple[pulp.LpVariable, float]]] = [[] for _ in range(pb.n_schools)]
        for p in range(pb.n_pairs):
            u, s = int(pb.pair_unit[p]), int(pb.pair_school[p])
            mig_hi[s].append((x[p], float(pb.migrant[u] - (r + d) * mov[u])))
            mig_lo[s].append((x[p], float((r - d) * mov[u] - pb.migrant[u])))
        for s in range(pb.n_schools):
            if not mig_hi[s]:
                continue
            e = pulp.LpVariable(f"e{s}", lowBound=0)
            bal.append(e)
            fl, fm = float(pb.fixed_load[s]), float(pb.fixed_migrant[s])
            hi = pulp.LpAffineExpression(mig_hi[s]) + (fm - (r + d) * fl)
            lo = pulp.LpAffineExpression(mig_lo[s]) + ((r - d) * fl - fm)
            m += hi - e <= 0, f"bal_hi_{s}"
            m += lo - e <= 0, f"bal_lo_{s}"
    # closer-neighbour contiguity
    if settings.contiguity == "closer_neighbour" and pb.contig is not None:
        cd = pb.contig
        for p in range(pb.n_pairs):
            a, b = int(cd.support_ptr[p]), int(cd.support_ptr[p + 1])
            if not cd.exempt[p] and b > a:
                m += x[p] <= pulp.lpSum(x[q] for q in cd.support_idx[a:b]), f"cn_{p}"
    travel = pulp.LpAffineExpression(
        [(x[p], float(mov[pb.pair_unit[p]] * pb.pair_cost[p])) for p in range(pb.n_pairs)]
    )
    m += (
        w.overflow * pulp.lpSum(over)
        + w.travel * (travel + pb.fixed_travel)
        + w.moved * moved
        + w.balance * pulp.lpSum(bal)
    )
    return m, x


_RESULT = re.compile(r"^Result - (.*)$")
_OBJ = re.compile(r"^Objective value:\s+(\S+)")
_LB = re.compile(r"^Lower bound:\s+(\S+)")
_FIRST = re.compile(r"Integer solution of \S+ found .*\(([\d.]+) seconds\)")


def parse_cbc_log(text: str) -> dict[str, float | str | None]:
    """CBC's final result line, objective, lower bound and time to its first integer solution."""
    out: dict[str, float | str | None] = {"result": None, "objective": None, "bound": None,
                                          "first_feasible": None}  # fmt: skip
    for line in text.splitlines():
        line = line.strip()
        if (mt := _RESULT.match(line)) is not None:
            out["result"] = mt.group(1)
        elif (mt := _OBJ.match(line)) is not None:
            out["objective"] = float(mt.group(1))
        elif (mt := _LB.match(line)) is not None:
            out["bound"] = float(mt.group(1))
        elif out["first_feasible"] is None and (mt := _FIRST.search(line)) is not None:
            out["first_feasible"] = float(mt.group(1))
    return out


def solve_level_pulp(
    district: District, level: Level, settings: CatchmentSettings
) -> LevelSolution:
    """Build and solve one level with PuLP + CBC within ``settings.time_limit`` seconds.

    Model building counts in ``solve_seconds`` (it is part of what the analyst waits for).

    Raises
    ------
    InfeasiblePlan
        When CBC finds no integer plan within the time limit, or proves there is none.
    """
    t0 = time.perf_counter()
    pb = build_problem(district, level, settings)
    model, x = build_pulp(pb, settings)
    with tempfile.TemporaryDirectory(prefix="cbc-") as tmp:
        log = Path(tmp) / "cbc.log"
        cmd = pulp.PULP_CBC_CMD(
            msg=False,
            timeLimit=settings.time_limit,
            threads=settings.num_workers,
            gapRel=settings.gap_limit or None,
            logPath=str(log),
            options=[f"randomSeed {settings.seed + 1}", f"randomCbcSeed {settings.seed + 1}"],
        )
        t_solve = time.perf_counter()
        code = model.solve(cmd)
        info = parse_cbc_log(log.read_text() if log.exists() else "")
    seconds = time.perf_counter() - t0
    result = str(info["result"] or "")
    # sol_status: 1 optimal, 2 integer feasible, 0 none found, -1 infeasible, -2 unbounded
    if model.sol_status not in (1, 2) and pb.n_pairs > 0:
        what = "proved infeasible" if model.sol_status == -1 else "no plan found"
        raise InfeasiblePlan(
            [
                f"{level}: CBC {what} within {settings.time_limit:g} s ({result or pulp.LpStatus[code]})"
            ]
        )
    values = np.array([v.varValue or 0.0 for v in x])
    assign = np.full(pb.n_units, -1, dtype=np.int64)
    for u in range(pb.n_units):
        a, b = int(pb.unit_ptr[u]), int(pb.unit_ptr[u + 1])
        if b > a:
            assign[u] = pb.pair_school[a + int(np.argmax(values[a:b]))]
    status: SolveStatus = "optimal" if model.sol_status == 1 else "feasible"
    objective = float(pulp.value(model.objective) or 0.0)
    offset = objective - float(info["objective"]) if isinstance(info["objective"], float) else 0.0
    bound = float(info["bound"]) + offset if isinstance(info["bound"], float) else float("-inf")
    if status == "optimal" and not np.isfinite(bound):
        bound = objective
    if abs(objective - bound) > 1e-6 * max(abs(objective), 1.0):
        status = "feasible"  # stopped at gapRel or the time limit: not proven optimal
    ff = info["first_feasible"]
    return LevelSolution(
        level=level,
        assign=assign,
        status=status,
        objective=objective,
        bound=bound,
        solve_seconds=seconds,
        first_feasible_seconds=((t_solve - t0) + float(ff) if isinstance(ff, float) else None),
        solver="pulp-cbc",
        info={
            "cbc_result": result,
            "pairs": pb.n_pairs,
            "warnings": list(pb.warnings),
            "contiguity_waived": _waived_units(pb),
        },
    )


def _waived_units(pb: CatchmentProblem) -> np.ndarray:
    """Units exempted from contiguity that are neither a school's own unit nor locked."""
    cd = pb.contig
    if cd is None:
        return np.zeros(0, dtype=np.int64)
    own = cd.own_unit[pb.pair_school] == pb.pair_unit
    extra = cd.exempt & ~own & ~pb.locked[pb.pair_unit]
    return np.unique(pb.pair_unit[extra])


def solve_levels_pulp(
    district: District, settings: CatchmentSettings
) -> dict[Level, LevelSolution]:
    """The PuLP + CBC baseline for every level of ``settings`` (one model per level)."""
    return {lv: solve_level_pulp(district, lv, settings) for lv in settings.levels()}


__all__ = ["build_pulp", "parse_cbc_log", "solve_level_pulp", "solve_levels_pulp"]
