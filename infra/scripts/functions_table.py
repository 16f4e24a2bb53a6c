"""Prints README's table of functions from the manifest (functions/manifest.json, the one list).

    python infra/scripts/functions_table.py

tests/unit/test_readme.py fails when README.md's table differs from this output.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[2] / "functions" / "manifest.json"


def _trigger(f: dict) -> str:
    if f["kind"] == "pubsub":
        return f"Pub/Sub `{f['topic']}`"
    if f["kind"] == "scheduled":
        return f"Cloud Scheduler `{f['schedule']}`"
    routes = f.get("routes", [])
    return f"HTTP, {len(routes)} route{'s' if len(routes) != 1 else ''}"


def _callers(f: dict) -> str:
    if f["kind"] == "pubsub":
        return "its push subscription (OIDC)"
    auths = sorted({r["auth"] for r in f.get("routes", [])})
    return ", ".join(f"`{a}`" for a in auths)


def table() -> str:
    functions = json.loads(MANIFEST.read_text())["functions"]
    rows = ["| Function | Trigger | Who calls it | Uses | What it does |", "|---|---|---|---|---|"]
    for f in functions:
        uses = ", ".join(f.get("uses", [])) or "-"
        rows.append(
            f"| `{f['name']}` | {_trigger(f)} | {_callers(f)} | {uses} | {f['description']} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
