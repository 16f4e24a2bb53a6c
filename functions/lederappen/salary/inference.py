"""What a reader could infer about the counts behind a release, and cells to hide so they cannot.

Every published table of a release, read together, ties the cells' counts to each other: a
breakdown of a cell along a question every answer has (position level, sector, industry,
county) adds up to it exactly, one along an optional question (the rest did not answer) adds up
to at most it. A published cell tells its band of persons (`disclosure.COUNT_BANDS`), a
`too_few` cell says 0..4, a cell hidden to protect others says at least 5. An intruder who
solves that integer programme must not be able to

- pin the count of any hidden cell (every hidden cell has at least two possible counts), nor
- prove that a `too_few` cell is non-empty (0 must stay possible: empty looks like small).

`exposed` answers which hidden cells the programme gives away, solving it exactly with HiGHS
(scipy's `milp`). The true counts are one solution, so each question is one feasibility
problem, and every solution found answers the same question for many cells at once.
`disclosure.protect` hides more cells until nothing is exposed: hiding only widens what the
programme allows, so the loop ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import vocabulary as v

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

Group = tuple[tuple[str, str], ...]

#: Upper bound for a cell with no upper bound of its own (more than all members, ever).
UNBOUNDED = 10_000_000

#: Breakdowns along these add up exactly; the others (optional questions) to at most the cell.
EXACT_DIMENSIONS = frozenset(d for d in v.DIMENSION_ORDER if v.QUESTIONS.get(d, {}).get("required"))


class Programme:
    """The counting constraints of the published star of tables, built once per process."""

    def __init__(self, groups: list[Group]) -> None:
        import numpy as np
        from scipy.optimize import LinearConstraint
        from scipy.sparse import coo_matrix

        self.groups = groups
        self.index = {g: i for i, g in enumerate(groups)}
        rows, cols, vals, lo, hi = [], [], [], [], []
        breakdowns: dict[tuple[Group, str], list[int]] = {}
        for g in groups:
            for i, (d, _) in enumerate(g):
                breakdowns.setdefault((g[:i] + g[i + 1 :], d), []).append(self.index[g])
        for r, ((parent, dim), kids) in enumerate(sorted(breakdowns.items())):
            for k in kids:
                rows.append(r)
                cols.append(k)
                vals.append(1.0)
            rows.append(r)
            cols.append(self.index[parent])
            vals.append(-1.0)
            lo.append(0.0 if dim in EXACT_DIMENSIONS else -np.inf)
            hi.append(0.0)
        matrix = coo_matrix((vals, (rows, cols)), shape=(len(breakdowns), len(groups))).tocsr()
        self.constraint = LinearConstraint(matrix, lo, hi)
        self.integrality = np.ones(len(groups))

    def solve(
        self, lower: np.ndarray, upper: np.ndarray, objective: np.ndarray | None = None
    ) -> np.ndarray | None:
        """An integer solution within the bounds (minimising `objective`), or None."""
        import numpy as np
        from scipy.optimize import Bounds, milp

        c = np.zeros(len(self.groups)) if objective is None else objective
        res = milp(
            c,
            constraints=[self.constraint],
            integrality=self.integrality,
            bounds=Bounds(lower, upper),
        )
        if res.status != 0 or res.x is None:
            return None
        return np.rint(res.x)

    def cover(
        self, lower: np.ndarray, upper: np.ndarray, above: dict[int, float], zero: list[int]
    ) -> np.ndarray | None:
        """One solution that lifts as many cells of `above` (cell -> value) to at least that
        value, and brings as many cells of `zero` to 0, as can be at once: a binary indicator
        per cell, counted in the objective."""
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_matrix, hstack, vstack

        n, a, z = len(self.groups), len(above), len(zero)
        rows = list(range(a)) * 2 + [a + k for k in range(z)] * 2
        cols = list(above) + [n + k for k in range(a)] + list(zero) + [n + a + k for k in range(z)]
        vals = [1.0] * a + [-v for v in above.values()] + [1.0] * z + [-upper[i] for i in zero]
        links = coo_matrix((vals, (rows, cols)), shape=(a + z, n + a + z))
        base = hstack([self.constraint.A, coo_matrix((self.constraint.A.shape[0], a + z))])
        constraints = LinearConstraint(
            vstack([base, links]).tocsr(),
            np.concatenate([self.constraint.lb, np.zeros(a), np.full(z, -np.inf)]),
            np.concatenate([self.constraint.ub, np.full(a, np.inf), np.zeros(z)]),
        )
        c = np.concatenate([np.zeros(n), -np.ones(a), np.ones(z)])
        res = milp(
            c,
            constraints=[constraints],
            integrality=np.ones(n + a + z),
            bounds=Bounds(
                np.concatenate([lower, np.zeros(a + z)]), np.concatenate([upper, np.ones(a + z)])
            ),
            options={"mip_rel_gap": 0.25},
        )  # a good cover is enough, not the best
        if res.status != 0 or res.x is None:
            return None
        return np.rint(res.x[:n])


_PROGRAMMES: dict[tuple[Group, ...], Programme] = {}


def programme(groups: list[Group]) -> Programme:
    key = tuple(groups)
    if key not in _PROGRAMMES:
        _PROGRAMMES[key] = Programme(groups)
    return _PROGRAMMES[key]


def bounds_of(cell: dict) -> tuple[int, int]:
    """What one published or hidden cell says about its count."""
    if cell["published"]:
        persons = cell["persons"]
        return persons["min"], persons["max"] if persons["max"] is not None else UNBOUNDED
    if cell["reason"] == "too_few":
        return 0, 4
    if cell["reason"] == "round_too_small":
        return 0, UNBOUNDED
    return 5, UNBOUNDED


def exposed(groups: list[Group], cells: dict[Group, dict], counts: dict[Group, int]) -> set[Group]:
    """The hidden cells whose count the programme pins, and the `too_few` cells it proves
    non-empty. `cells` is what is published per group, `counts` the true counts (one
    solution)."""
    import numpy as np

    prog = programme(groups)
    n = len(groups)
    lower, upper = np.zeros(n), np.zeros(n)
    for i, g in enumerate(groups):
        lower[i], upper[i] = bounds_of(cells[g])
    truth = np.array([counts.get(g, 0) for g in groups], dtype=float)
    hidden = [i for i, g in enumerate(groups) if not cells[g]["published"]]
    too_few = [i for i in hidden if cells[groups[i]]["reason"] == "too_few"]
    # Questions still open: "can this cell be 0" (too_few cells that are not empty) and "can
    # this cell have another count than it has" (every hidden cell).
    need_zero = {i for i in too_few if truth[i] > 0}
    need_other = set(hidden)

    def learn(x: np.ndarray | None) -> None:
        if x is None:
            return
        need_zero.difference_update(i for i in list(need_zero) if x[i] == 0)
        need_other.difference_update(i for i in list(need_other) if x[i] != truth[i])

    # One broad solution answers most questions at once: as many open too_few cells at 0,
    # and as many open hidden cells above their count, as can be together. Again while that
    # answers more; what is left is asked cell by cell below.
    while need_zero or need_other:
        before = len(need_zero) + len(need_other)
        learn(
            prog.cover(
                lower,
                upper,
                {i: truth[i] + 1 for i in sorted(need_other) if truth[i] + 1 <= upper[i]},
                sorted(need_zero),
            )
        )
        if len(need_zero) + len(need_other) == before:
            break

    out: set[Group] = set()
    for i in sorted(need_zero):
        if i not in need_zero:
            continue
        lo, hi = lower[i], upper[i]
        lower[i] = upper[i] = 0
        x = prog.solve(lower, upper)
        lower[i], upper[i] = lo, hi
        if x is None:
            out.add(groups[i])
            need_other.discard(i)
        learn(x)
    for i in sorted(need_other):
        if i not in need_other:
            continue
        found = None
        for lo, hi in ((truth[i] + 1, upper[i]), (lower[i], truth[i] - 1)):
            if lo > hi:
                continue
            saved = lower[i], upper[i]
            lower[i], upper[i] = lo, hi
            found = prog.solve(lower, upper)
            lower[i], upper[i] = saved
            if found is not None:
                break
        if found is None:
            out.add(groups[i])
        learn(found)
    return out


def neighbours(group: Group) -> Iterable[Group]:
    """The cells whose published bounds tie `group`'s count: its parents, and its siblings in
    every breakdown of a parent (the same parent, another value of the same dimension)."""
    for i, (d, _) in enumerate(group):
        parent = group[:i] + group[i + 1 :]
        yield parent
        for value in v.DIMENSIONS[d]["values"]:
            sibling = group[:i] + ((d, value),) + group[i + 1 :]
            if sibling != group:
                yield sibling
