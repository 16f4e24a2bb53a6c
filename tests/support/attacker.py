"""An intruder with every published table of a salary round: what can they prove about counts?

Independent of the code that protects the tables (salary/disclosure.py, salary/inference.py):
it reads only what the API serves (cells with `published`, `persons`, `reason`) and what the
survey asks (which questions every answer has), builds the exact integer programme over every
cell of every table (a breakdown along a required question sums to its cell, along an optional
one to at most it; a published cell lies in its band; `too_few` in [0, 4]; any other hidden
cell >= 5), and solves for the smallest and largest count of every hidden cell with HiGHS.

It reports a hidden cell whose count is pinned (smallest == largest) and a `too_few` cell that
is provably non-empty (smallest >= 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lederappen.salary import vocabulary as v
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

BIG = 10**7
REQUIRED = {d for d in v.DIMENSIONS if d in v.QUESTIONS and v.QUESTIONS[d]["required"]}


def key(group: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(group.items()))


@dataclass
class Finding:
    group: dict[str, str]
    reason: str
    smallest: int
    largest: int

    def __str__(self) -> str:
        return f"{self.group} ({self.reason}) has {self.smallest}..{self.largest} persons"


def attack(tables: dict[str, list[dict]]) -> list[Finding]:
    """`tables`: table key -> its cells, as served. Returns what the intruder proves."""
    cells = {key(c["group"]): c for cs in tables.values() for c in cs}
    names = sorted(cells)
    index = {g: i for i, g in enumerate(names)}
    lo = np.zeros(len(names))
    hi = np.full(len(names), float(BIG))
    for g, c in cells.items():
        i = index[g]
        if c["published"]:
            lo[i] = c["persons"]["min"]
            hi[i] = c["persons"]["max"] if c["persons"]["max"] is not None else BIG
        elif c["reason"] == "too_few":
            hi[i] = 4
        elif c["reason"] != "round_too_small":  # that label says nothing about a count
            lo[i] = 5

    # Every cell with one more dimension than another, and agreeing on the rest, is inside it.
    rows: list[tuple[list[int], int, bool]] = []
    for g in names:
        present = dict(g)
        for d in v.DIMENSIONS:
            if d in present:
                continue
            kids = [
                index[k]
                for k in (key({**present, d: val}) for val in v.DIMENSIONS[d]["values"])
                if k in index
            ]
            if kids:
                rows.append((kids, index[g], d in REQUIRED))
    a = lil_matrix((len(rows), len(names)))
    lower = np.zeros(len(rows))
    for r, (kids, parent, exact) in enumerate(rows):
        a[r, kids] = 1
        a[r, parent] = -1
        lower[r] = 0 if exact else -np.inf
    constraint = LinearConstraint(a.tocsr(), lower, np.zeros(len(rows)))
    integrality = np.ones(len(names))

    hidden = [index[g] for g in names if not cells[g]["published"]]
    low_seen = np.full(len(names), np.inf)
    high_seen = np.full(len(names), -np.inf)

    def solve(c: np.ndarray) -> np.ndarray:
        res = milp(c, constraints=[constraint], integrality=integrality, bounds=Bounds(lo, hi))
        assert res.status == 0, f"the published tables are inconsistent: {res.message}"
        x = np.rint(res.x)
        np.minimum(low_seen, x, out=low_seen)
        np.maximum(high_seen, x, out=high_seen)
        return x

    def extreme(i: int, sign: float) -> int:
        c = np.zeros(len(names))
        c[i] = sign
        return int(solve(c)[i])

    # Every hidden cell as small, then as large, as it can be, again while that still tells
    # something new: most questions are answered by these; a cell is then solved alone only
    # while what was seen could still be a proof.
    solve(np.zeros(len(names)))
    for sign in (1.0, -1.0):
        while True:
            open_cells = [
                i
                for i in hidden
                if low_seen[i] == high_seen[i]
                or (sign > 0 and cells[names[i]]["reason"] == "too_few" and low_seen[i] >= 1)
            ]
            if not open_cells:
                break
            c = np.zeros(len(names))
            c[open_cells] = sign
            before = (low_seen.copy(), high_seen.copy())
            solve(c)
            if np.array_equal(before[0], low_seen) and np.array_equal(before[1], high_seen):
                break
    findings = []
    for i in hidden:
        c = cells[names[i]]
        too_few = c["reason"] == "too_few"
        smallest = (
            extreme(i, 1.0)
            if (too_few and low_seen[i] >= 1) or low_seen[i] == high_seen[i]
            else int(low_seen[i])
        )
        largest = extreme(i, -1.0) if low_seen[i] == high_seen[i] else int(high_seen[i])
        if smallest == largest or (too_few and smallest >= 1):
            findings.append(Finding(dict(names[i]), c["reason"], smallest, largest))
    return findings
