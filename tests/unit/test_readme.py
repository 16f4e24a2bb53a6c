"""README stays true: its configuration table is the declared settings, and CI runs its
test command."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _printed(script: str) -> str:
    return subprocess.run(
        [sys.executable, script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_readme_configuration_table_matches_the_declared_settings():
    expected = _printed("infra/scripts/config_table.py")
    assert expected in (ROOT / "README.md").read_text(), (
        "README's configuration table is out of date: paste the output of "
        "`python infra/scripts/config_table.py`"
    )


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Test it", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", section, re.DOTALL).group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert command in ci.splitlines()


def test_readme_functions_table_matches_the_manifest():
    expected = _printed("infra/scripts/functions_table.py")
    assert expected in (ROOT / "README.md").read_text(), (
        "README's table of functions is out of date: paste the output of "
        "`python infra/scripts/functions_table.py`"
    )
