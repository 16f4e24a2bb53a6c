"""The feature packages depend on each other in one direction, and core on none of them.

Feature = a package under functions/lederappen/ (core is the shared kernel). The import graph
is read from the source with `ast` (imports inside functions count: a lazy import is still a
dependency). Two rules:
- core imports no feature;
- no cycle between features (where two features need each other, one of them publishes an
  event the other handles, e.g. consents' terms-notice, or the shared part moves to core,
  e.g. core/tombstones.py).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "functions" / "lederappen"


def _features() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


@lru_cache(maxsize=1)
def import_graph() -> dict[str, set[str]]:
    features = _features()
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if len(rel.parts) < 2:
            continue
        pkg = rel.parts[0]
        module = ["lederappen", *rel.with_suffix("").parts]
        if path.name == "__init__.py":
            module = module[:-1] + ["__init__"]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module[: len(module) - node.level]
                    target = [*base, *(node.module.split(".") if node.module else [])]
                    names = (
                        [".".join(target)]
                        if node.module
                        else [".".join([*target, a.name]) for a in node.names]
                    )
                elif node.module:
                    names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if (
                    len(parts) > 1
                    and parts[0] == "lederappen"
                    and parts[1] in features
                    and parts[1] != pkg
                ):
                    graph[pkg].add(parts[1])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_the_graph_is_read_from_the_source():
    graph = import_graph()
    assert "core" in graph["salary"] and "consents" in graph["notifications"]


def test_core_imports_no_feature():
    assert import_graph().get("core", set()) == set()


def test_no_cycle_between_features():
    cycle = _cycle(import_graph())
    assert cycle is None, "feature import cycle: " + " -> ".join(cycle or [])


def test_the_detector_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
