"""Property-based fuzzing of the served OpenAPI document with schemathesis, as the app and as staff.

One schemathesis run per identity: a member (the member and public operations) and each staff
role (the operations that role may call), against the gateway of a running local stack, with
the document the meta function serves. All checks, a fixed seed, a bounded number of examples
per operation; no server error and no conformance failure may be reported. The configuration
(bearer auth, hooks, the few state-dependent answers a schema cannot express) is in
tests/fuzz/schemathesis.toml, the hooks in tests/support/fuzz_hooks.py.

    python -m tests.support.fuzz --examples 50     # `make fuzz`: against a fresh local stack

The suite runs the same with few examples (tests/e2e/test_zz_fuzz.py), last, since staff
operations change shared state (publish terms, send messages, run matching).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "fuzz" / "schemathesis.toml"
#: The member the fuzz runs act as: its own slice of the demo register, used by no other test.
FUZZ_MEMBER_INDEX = 250
#: (auth mode of the manifest, who) for every identity the runs take.
IDENTITIES = [
    ("member", None),
    ("staff:privacy_officer", "personvern"),
    ("staff:editor", "redaktor"),
    ("staff:survey_manager", "lonnsanalytiker"),
    ("staff:operations", "driftsvakt"),
    ("staff:mentor_coordinator", "mentorkoordinator"),
]


@dataclass
class Outcome:
    identity: str
    returncode: int
    operations: int
    cases: int
    failures: str
    seconds: float
    output: str


def fuzz_member() -> str:
    from infra.local import demo_data

    return demo_data.generate_members(300)[FUZZ_MEMBER_INDEX]["member_id"]


def operations_for(auth: str) -> list[str]:
    """operationIds of the served document whose manifest route has this auth mode (the
    member also gets the public ones)."""
    from lederappen.core import manifest as manifest_mod

    doc = json.loads((ROOT / "functions" / "openapi.json").read_text())
    modes = {(r.method, r.path): r.auth for f in manifest_mod.load().functions for r in f.routes}
    wanted = {auth, "public"} if auth == "member" else {auth}
    return sorted(
        op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if modes.get((method.upper(), path)) in wanted
    )


def run_one(
    gateway: str,
    lederne: str,
    auth: str,
    who: str | None,
    *,
    examples: int,
    seed: int,
    workers: int = 1,
    phases: str = "examples,coverage,fuzzing",
) -> Outcome:
    from infra.local.stack import fetch_token

    ops = operations_for(auth)
    token = fetch_token(lederne, who or fuzz_member())
    cmd = [
        str(ROOT / ".venv" / "bin" / "st"),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        gateway.rstrip("/") + "/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--phases",
        phases,
        "--generation-database",
        "none",
        "--workers",
        str(workers),
        "--no-shrink",
    ]
    for op in ops:
        cmd += ["--include-operation-id", op]
    env = {
        **os.environ,
        "FUZZ_TOKEN": token,
        "SCHEMATHESIS_HOOKS": "tests.support.fuzz_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions")]),
    }
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=1800
    )
    out = proc.stdout + proc.stderr
    cases = re.search(r"(\d+) generated", out)
    failures = re.search(r"Failures:\n((?:  .*\n)+)", out)
    return Outcome(
        auth,
        proc.returncode,
        len(ops),
        int(cases.group(1)) if cases else 0,
        failures.group(1).strip() if failures else "",
        time.perf_counter() - started,
        out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="max examples per operation")
    parser.add_argument("--seed", type=int, default=20)
    # One worker: with several, hypothesis sometimes fails inside CPython 3.11's ast.parse
    # ("AST constructor recursion depth mismatch") while describing a filter.
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    import shutil
    import tempfile

    from infra.local import stack as stack_mod

    state = Path(tempfile.mkdtemp(prefix="lederappen-fuzz-"))
    s = stack_mod.Stack(state, port_base=None, register_members=400)
    try:
        s.start()
        total = time.perf_counter()
        outcomes = [
            run_one(
                s.urls["gateway"],
                s.urls["lederne"],
                auth,
                who,
                examples=args.examples,
                seed=args.seed,
                workers=args.workers,
            )
            for auth, who in IDENTITIES
        ]
    finally:
        s.stop()
        shutil.rmtree(state, ignore_errors=True)
    print(f"{'identity':28} {'ops':>4} {'cases':>7} {'seconds':>8}  result")
    for o in outcomes:
        print(
            f"{o.identity:28} {o.operations:>4} {o.cases:>7} {o.seconds:>8.1f}  "
            f"{'ok' if o.returncode == 0 else 'FAILED: ' + o.failures}"
        )
    print(
        f"total: {sum(o.cases for o in outcomes)} cases in {time.perf_counter() - total:.1f} s, "
        f"seed {args.seed}, {args.examples} examples per operation"
    )
    for o in outcomes:
        if o.returncode != 0:
            print(f"\n==== {o.identity} ====\n{o.output[-20000:]}")
    return 0 if all(o.returncode == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
