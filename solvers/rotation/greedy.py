"""The rule an HR office applies by hand, as a baseline and as the model's starting hint.

Longest-serving first (the published tie-break order), each to the weakest allowed school that
needs their subject (fewest backbone teachers per 100 pupils; if no allowed school needs the
subject, the weakest allowed school), keeping every hard rule: locks first, then each school's
own quota, then backbone teachers until the backbone share is met, then the rest until the
county quota is met. Couples are left in place (always allowed). It may fail to meet a quota
that the model meets; :func:`greedy_moves` then returns what it has and the caller sees it.
"""

from __future__ import annotations

import math

import numpy as np

from solvers.rotation.problem import RotationProblem


def greedy_moves(p: RotationProblem) -> list[tuple[int, int]]:
    """Moves (teacher row, target school) by the HR rule; see the module docstring."""
    t = p.teachers
    count = p.count.copy()
    out_n = np.zeros(p.n_schools, dtype=np.int64)
    in_n = np.zeros(p.n_schools, dtype=np.int64)
    total = np.maximum(p.pupils.sum(axis=1), 1.0)
    bb = p.ind_counts[:, 1].astype(float).copy()
    couple_members = {i for ab in p.couples for i in ab}
    group_of = {i: g for g in p.groups for i in g.members}
    moves: list[tuple[int, int]] = []
    moved: set[int] = set()

    def try_move(i: int, only: int = -1) -> bool:
        g = group_of.get(i)
        if g is None or i in moved or not len(g.targets):
            return False
        s, u = g.school, g.subject
        if out_n[s] >= p.leave_cap[s] or count[s, u] - 1 < min(p.count[s, u], p.need[s, u]):
            return False
        cand = [int(j) for j in g.targets if in_n[j] < p.arrive_cap[j]]
        if only >= 0:
            cand = [j for j in cand if j == only]
        if not cand:
            return False
        needy = [j for j in cand if count[j, u] < p.need[j, u]]
        pick = min(needy or cand, key=lambda j: (bb[j] / total[j], j))
        moves.append((i, pick))
        moved.add(i)
        out_n[s] += 1
        in_n[pick] += 1
        count[s, u] -= 1
        count[pick, u] += 1
        if g.flags[1]:
            bb[s] -= 1
            bb[pick] += 1
        return True

    for g in p.groups:
        if g.locked >= 0:
            try_move(g.members[0], g.locked)
    order = [int(i) for i in p.pool if int(i) not in couple_members]
    for s, q in sorted(p.school_quota.items()):
        for i in order:
            if int(out_n[s]) >= q:
                break
            if int(t.at[i, "spos"]) == s:
                try_move(i)
    n_bb = sum(1 for i in moved if bool(t.at[i, "backbone_teachers_per100"]))
    bb_goal = max(p.backbone_min, math.ceil(p.backbone_share * p.quota))
    for i in order:
        if n_bb >= bb_goal:
            break
        if bool(t.at[i, "backbone_teachers_per100"]) and try_move(i):
            n_bb += 1
    for i in order:
        if len(moves) >= p.quota:
            break
        try_move(i)
    return moves


__all__ = ["greedy_moves"]
