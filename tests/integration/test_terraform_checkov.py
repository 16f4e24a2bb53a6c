"""checkov scans terraform/ and finds no failed check; every skip names its reason on the resource.

Here rather than in tests/unit: checkov runs from its own virtualenv (.venv/checkov, made by
bootstrap) and takes seconds, and `make unit` needs nothing but .venv and stays fast.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"


def _checkov_python() -> str | None:
    """An interpreter that can run checkov: this one, or checkov's own virtualenv.

    checkov cannot share .venv with the tests: every release pins packaging<24 (pytest 9 needs
    >=24) and installs bc-python-hcl2, which overwrites python-hcl2's `hcl2` package.
    """
    if importlib.util.find_spec("checkov") is not None:
        return sys.executable
    for candidate in (
        os.environ.get("CHECKOV_PYTHON"),
        ROOT / ".venv" / "checkov" / "bin" / "python",
    ):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def test_checkov_finds_no_failed_check_and_every_skip_is_justified_on_its_resource():
    python = _checkov_python()
    if python is None:
        message = (
            "checkov is not installed: python -m venv .venv/checkov && "
            ".venv/checkov/bin/pip install -r terraform/requirements-checkov.txt"
        )
        if os.environ.get("CI"):  # make test installs it; in CI its absence is a failure
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [
            python,
            "-m",
            "checkov.main",
            "-d",
            str(TF),
            "--framework",
            "terraform",
            "secrets",
            "--compact",
            "-o",
            "json",
            "--skip-download",
            "--skip-path",
            r"\.terraform",
            "--skip-path",
            r"\.build",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    assert result.stdout.strip(), result.stderr[-2000:]
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    terraform = [r for r in reports if r.get("check_type") == "terraform"]
    assert terraform, "checkov did not scan the Terraform files"
    assert terraform[0]["summary"]["passed"] > 50 and terraform[0]["summary"]["parsing_errors"] == 0
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    for r in reports:
        for c in r.get("results", {}).get("skipped_checks", []):
            reason = (c.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 40, (
                f"{c['check_id']} on {c['resource']} is skipped without a reason"
            )
