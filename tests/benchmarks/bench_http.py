"""Cold start and warm latency of the HTTP functions, as ratios to bare baselines in one run.

    make bench        (or: .venv/bin/python -m tests.benchmarks.bench_http [--runs 7] [--requests 2000])

Starts PostgreSQL and the lederne.no stand-in from the local stack, then measures on this
machine, in the same run:

* cold start: process start of `functions-framework --target X` until its first successful
  (authenticated, for member routes) response, database connection and register call
  included; against a bare functions-framework function returning a constant.
* warm latency: p50/p99 of sequential keep-alive requests to a warm instance; against a bare
  functions-framework function that does the same I/O (the same SQL query, and for the
  profile the same register call) with no auth, validation or logging. The bare function
  running only the SQL is reported too.

Targets (issue #3): cold start <= 1.5x, warm p50 <= 1.5x.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from infra.local import demo_data
from infra.local import stack as stack_mod

BASELINES = ROOT / "tests" / "benchmarks" / "baseline_functions.py"
MAIN = ROOT / "functions" / "main.py"
FF = [sys.executable, "-m", "functions_framework"]


def _serve(source: Path, target: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        FF
        + ["--source", str(source), "--target", target, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _get(conn: http.client.HTTPConnection, path: str, headers: dict) -> int:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def cold_start(source: Path, target: str, path: str, headers: dict, env: dict, port: int) -> float:
    started = time.perf_counter()
    proc = _serve(source, target, port, env)
    try:
        deadline = started + 30
        while time.perf_counter() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = _get(conn, path, headers)
                conn.close()
                if status == 200:
                    return time.perf_counter() - started
                raise RuntimeError(f"{target} answered {status} on its first request")
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                time.sleep(0.002)
        raise RuntimeError(f"{target} did not answer within 30 s")
    finally:
        _stop(proc)


def warm(
    source: Path, target: str, path: str, headers: dict, env: dict, port: int, requests: int
) -> tuple[float, float]:
    proc = _serve(source, target, port, env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if _get(conn, path, headers) == 200:
                    break
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        for _ in range(max(100, requests // 10)):  # warm-up
            _get(conn, path, headers)
        samples = []
        for _ in range(requests):
            t = time.perf_counter()
            status = _get(conn, path, headers)
            samples.append(time.perf_counter() - t)
            assert status == 200, status
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]
    finally:
        _stop(proc)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Cold-start and warm-latency benchmark.")
    parser.add_argument("--runs", type=int, default=7, help="cold starts per target (median)")
    parser.add_argument("--requests", type=int, default=2000, help="warm requests per target")
    args = parser.parse_args(argv)

    state = Path(tempfile.mkdtemp(prefix="lederappen-bench-"))
    stack = stack_mod.Stack(state, port_base=None, functions=[])
    print("starting PostgreSQL and the lederne.no stand-in ...", flush=True)
    stack.start()
    try:
        member = demo_data.DEMO_MEMBER_ID
        token = stack_mod.fetch_token(stack.urls["lederne"], member)
        auth = {"Authorization": f"Bearer {token}"}
        port = stack_mod.free_ports(1)[0]
        base_env = {**os.environ, **stack.env}

        def fn_env(name: str) -> dict:
            entry = stack.manifest.by_name(name).entry_point
            return {**base_env, "FUNCTION_TARGET": entry}

        cold_targets = [
            ("bare constant (baseline)", BASELINES, "constant", "/", {}, base_env),
            ("meta: GET /v1/health", MAIN, "meta", "/v1/health", {}, fn_env("meta")),
            (
                "profile: GET /v1/profile (authenticated)",
                MAIN,
                "profile",
                "/v1/profile",
                auth,
                fn_env("profile"),
            ),
        ]
        print(f"\ncold start: median of {args.runs} process starts, first successful response")
        cold = {}
        for label, source, target, path, headers, env in cold_targets:
            times = [cold_start(source, target, path, headers, env, port) for _ in range(args.runs)]
            cold[label] = statistics.median(times)
        base = cold["bare constant (baseline)"]
        for label, value in cold.items():
            print(f"  {label:<45} {value * 1000:7.0f} ms   {value / base:4.2f}x")

        print(f"\nwarm latency: {args.requests} sequential keep-alive requests per target")
        warm_targets = [
            ("bare: same SQL (baseline)", BASELINES, "same_sql", f"/?m={member}", {}, base_env),
            (
                "bare: same SQL + register call (baseline)",
                BASELINES,
                "same_io",
                f"/?m={member}",
                {},
                base_env,
            ),
            (
                "profile: GET /v1/profile (authenticated)",
                MAIN,
                "profile",
                "/v1/profile",
                auth,
                fn_env("profile"),
            ),
            ("meta: GET /v1/health", MAIN, "meta", "/v1/health", {}, fn_env("meta")),
        ]
        results = {}
        for label, source, target, path, headers, env in warm_targets:
            results[label] = warm(source, target, path, headers, env, port, args.requests)
        sql_p50, _sql_p99 = results["bare: same SQL (baseline)"]
        io_p50, _io_p99 = results["bare: same SQL + register call (baseline)"]
        print(f"  {'target':<45} {'p50':>8} {'p99':>8}   p50 vs same-I/O   p50 vs SQL-only")
        for label, (p50, p99) in results.items():
            print(
                f"  {label:<45} {p50 * 1000:6.2f}ms {p99 * 1000:6.2f}ms   "
                f"{p50 / io_p50:5.2f}x           {p50 / sql_p50:5.2f}x"
            )
        prof = results["profile: GET /v1/profile (authenticated)"][0]
        print("\nsummary (targets: cold <= 1.5x, warm p50 <= 1.5x)")
        print(
            f"  profile cold start: {cold['profile: GET /v1/profile (authenticated)'] / base:.2f}x "
            f"the bare constant function"
        )
        print(
            f"  profile warm p50:   {prof / io_p50:.2f}x the bare function doing the same I/O, "
            f"{prof / sql_p50:.2f}x the bare function doing the SQL only"
        )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
