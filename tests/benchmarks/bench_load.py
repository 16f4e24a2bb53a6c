"""Load without errors: N concurrent clients for T seconds on the member GET routes through
the local gateway, against the gateway's /v1/health measured the same way in the same run.

    make bench-load   (or: .venv/bin/python -m tests.benchmarks.bench_load [--clients 200]
                       [--seconds 30] [--busy])

Starts the local stack (PostgreSQL, emulators, stand-ins, the gateway and the functions that
serve the member GET routes, all on 127.0.0.1), then runs, each for `--seconds`:

* baseline: `--clients` clients looping `GET /v1/health` (the meta function: no database, no
  token) through the gateway;
* load: `--clients` clients, each a keep-alive connection of its own with a demo member's
  token, cycling through the member GET routes (profile, consents, preferences, feed, inbox,
  devices, salary rounds, mentoring engagement) through the gateway.

Prints requests/s, p50, p99 and errors (any answer other than 200, or no answer, by kind) of
each, and the ratios of the load to the baseline. With `--busy`, another benchmark
(`tests.benchmarks.fcm_ceiling`, its own FCM stand-in hammered by a bare client, bounded in
time) keeps both cores busy during both phases. Loopback only; every loop is bounded by time
and the script stops everything it started. Exit code 1 if any request erred.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from infra.local import demo_data
from infra.local import stack as stack_mod

FUNCTIONS = [
    "meta",
    "profile",
    "consents",
    "preferences",
    "feed",
    "inbox",
    "devices",
    "salary",
    "mentoring",
]
ROUTES = [
    "/v1/profile",
    "/v1/consents",
    "/v1/preferences",
    "/v1/feed/courses",
    "/v1/feed/content",
    "/v1/feed/benefits",
    "/v1/topics",
    "/v1/inbox",
    "/v1/devices",
    "/v1/salary/rounds",
    "/v1/mentoring/engagement",
    "/v1/consents/history",
]
MEMBERS = 8


def percentile(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * q))] if samples else float("nan")


async def hammer(
    base: str, paths: list[str], tokens: list[str | None], clients: int, seconds: float
) -> dict:
    """`clients` loops for `seconds`; every answer's latency and every error, by kind."""
    import aiohttp

    latencies: list[float] = []
    errors: Counter = Counter()
    stop_at = time.monotonic() + seconds

    async def client(n: int) -> None:
        token = tokens[n % len(tokens)]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection per client
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
            i = n
            while time.monotonic() < stop_at:
                path = paths[i % len(paths)]
                i += 1
                t0 = time.perf_counter()
                try:
                    async with session.get(path, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if status == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[f"HTTP {status} {path}"] += 1

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "ok": len(latencies),
        "errors": errors,
        "elapsed": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
    }


def usable_tokens(stack, base: str) -> list[str | None]:
    """Tokens of up to MEMBERS demo members for whom every route answers 200 (an ended
    membership, say, would answer 403: that is not what this benchmark measures)."""
    import urllib.request

    tokens: list[str | None] = []
    first = int(demo_data.DEMO_MEMBER_ID)
    for member in (str(first + i) for i in range(4 * MEMBERS)):
        if len(tokens) == MEMBERS:
            break
        try:
            token = stack_mod.fetch_token(stack.urls["lederne"], member)
        except stack_mod.StackError:
            continue
        for path in ROUTES:
            req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
            try:
                with stack_mod.LOCAL_HTTP.open(req, timeout=30) as resp:
                    resp.read()
            except Exception:  # an HTTPError for a non-2xx answer, or no answer  # noqa: BLE001
                break
        else:
            tokens.append(token)
    if not tokens:
        raise SystemExit("no demo member answers 200 on every route")
    return tokens


def busy_neighbour(seconds: float) -> subprocess.Popen:
    """Another benchmark on the same machine: the FCM ceiling, long enough to cover us."""
    rounds = max(1, int(seconds // 6) + 1)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.fcm_ceiling",
            "--seconds",
            "5",
            "--rounds",
            str(rounds),
            "--messages",
            "2000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def report(label: str, r: dict) -> None:
    errors = sum(r["errors"].values())
    print(
        f"  {label:<44} {r['rps']:8.0f}/s  p50 {r['p50'] * 1000:7.1f} ms  "
        f"p99 {r['p99'] * 1000:7.1f} ms  errors {errors}"
        + (f"  {dict(r['errors'])}" if errors else "")
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--busy",
        action="store_true",
        help="run another benchmark (the FCM ceiling) at the same time",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 1000 and 1 <= args.seconds <= 600):
        parser.error("--clients 1..1000 and --seconds 1..600")

    state = Path(tempfile.mkdtemp(prefix="lederappen-bench-load-"))
    stack = stack_mod.Stack(state, port_base=None, functions=FUNCTIONS)
    print(f"starting the local stack ({', '.join(FUNCTIONS)}) ...", flush=True)
    stack.start()
    neighbour = None
    try:
        base = stack.urls["gateway"]
        tokens: list[str | None] = usable_tokens(stack, base)
        # warm every function once (cold starts are bench_http's subject, not this one's)
        asyncio.run(hammer(base, ROUTES, tokens, len(ROUTES), 2.0))
        if args.busy:
            neighbour = busy_neighbour(2 * args.seconds + 10)
            time.sleep(3)  # let it start its stand-in and get going
        load1 = os.getloadavg()[0]
        print(
            f"\n{args.clients} clients x {args.seconds:.0f} s through the gateway "
            f"({base}){', another benchmark running' if args.busy else ''}:"
        )
        baseline = asyncio.run(hammer(base, ["/v1/health"], [None], args.clients, args.seconds))
        report("GET /v1/health (baseline)", baseline)
        load = asyncio.run(hammer(base, ROUTES, tokens, args.clients, args.seconds))
        report(f"member GET routes ({len(ROUTES)} routes, {len(tokens)} members)", load)
        load2 = os.getloadavg()[0]
        print(
            f"\n  ratio to the baseline: {load['rps'] / baseline['rps']:.2f}x requests/s, "
            f"p50 {load['p50'] / baseline['p50']:.2f}x, p99 {load['p99'] / baseline['p99']:.2f}x"
        )
        print(
            f"  1-minute load average: {load1:.1f} before, {load2:.1f} after "
            f"({os.cpu_count()} cores; the machine may be shared)"
        )
        errors = sum(baseline["errors"].values()) + sum(load["errors"].values())
        print(f"  errors: {errors}")
        return 1 if errors else 0
    finally:
        stop(neighbour)
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
