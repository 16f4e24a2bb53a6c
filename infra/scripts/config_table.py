"""Prints README's configuration table from the declared settings (the one source).

    python infra/scripts/config_table.py

tests/unit/test_readme.py fails when README.md's table differs from this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))

from lederappen.core.config import REQUIRED, SETTINGS


def table() -> str:
    rows = ["| Setting | Section | Default | Secret | Meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        if s.default is REQUIRED:
            default = "**required**"
        elif s.default is None:
            default = "unset"
        elif isinstance(s.default, tuple):
            default = "`" + ",".join(s.default) + "`"
        else:
            default = f"`{s.default}`"
        rows.append(
            f"| `{s.env}` | {s.section} | {default} | {'yes' if s.secret else ''} | {s.description} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
