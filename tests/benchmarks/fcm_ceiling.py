"""How many FCM sends per second the local stand-in takes, and how close the Sender gets.

    .venv/bin/python -m tests.benchmarks.fcm_ceiling [--seconds 5] [--concurrency 128]
                                                     [--messages 20000] [--rounds 3]

Starts the FCM stand-in (``python -m infra.local.fcm_standin``) as a subprocess on a free
port of 127.0.0.1, then measures on this machine, in the same run:

* the ceiling: the lightest client here (the sender's own HTTP/1.1 keep-alive pool on
  uvloop, ``concurrency`` requests in flight) posting small valid messages to distinct
  tokens to ``messages:send`` for ``seconds`` (bench_push measures it with its own pushes);
* the Sender: ``lederappen.notifications.fcm.Sender.send_all`` of ``messages`` messages
  (same payload shape, distinct tokens, firebase-admin ``messaging.Message`` objects), as
  messages per second over the whole call and as CPU microseconds per message in this
  process (a figure a busy neighbour hardly moves), for both transports side by side: the
  hand-written aiohttp one and firebase-admin's ``send_each_async`` (a tenth as many
  messages: it is that much slower).

Both alternate for ``rounds`` rounds against one stand-in; the best round of each is reported.

Target (issue F9): a stand-in ceiling of at least 5,000 messages/s, and a Sender close to it.
The client and the stand-in share the machine (2 cores), so the figures are per machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

PROJECT = "lederappen-local"


def _message(i: int) -> dict:
    return {
        "token": f"bench-{i:08d}",
        "notification": {"title": "Nytt kurs", "body": "Ledelse i praksis, 12. mars"},
        "data": {"kind": "course", "id": f"course-{i % 97:03d}"},
    }


def measure_ceiling(
    base_url: str,
    project: str = PROJECT,
    seconds: float = 5.0,
    concurrency: int = 128,
    body: Callable[[int], bytes] | None = None,
) -> float:
    """Messages per second (200 answers) that the lightest client here gets from
    ``base_url``: the sender's own HTTP/1.1 keep-alive pool (notifications/http1.py, nothing
    of the sender around it) on uvloop, ``concurrency`` requests in flight. The client shares
    the two cores with the stand-in, so the cheaper it is the closer the figure comes to what
    the stand-in itself can take: aiohttp's client on asyncio's loop spent ~200 us a message
    against the stand-in's ~70, and the figure measured the client. `body(i)` is the i-th
    request body (distinct tokens); by default a small message (`_message`)."""
    import uvloop
    from lederappen.notifications import http1

    pool = http1.Pool(f"{base_url.rstrip('/')}/v1/projects/{project}/messages:send")
    headers = {"Authorization": "Bearer local-standin", "Content-Type": "application/json"}

    make = body or (lambda i: json.dumps({"message": _message(i)}).encode())

    async def one(i: int) -> bool:
        status, _, _ = await pool.post(make(i), headers)
        return status == 200

    async def run() -> float:
        try:
            # Warm the connections first so the figure is the steady state.
            await asyncio.gather(*(one(i) for i in range(concurrency)))
            counter = iter(range(concurrency, 1 << 40))
            ok = 0
            stop_at = time.perf_counter() + seconds

            async def worker() -> None:
                nonlocal ok
                while time.perf_counter() < stop_at:
                    if await one(next(counter)):
                        ok += 1

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return ok / (time.perf_counter() - t0)
        finally:
            await pool.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run())


def _sdk_message(i: int):
    """The same message as ``_message(i)``, as firebase-admin's ``messaging.Message``."""
    from firebase_admin import messaging

    m = _message(i)
    return messaging.Message(
        token=m["token"], data=m["data"], notification=messaging.Notification(**m["notification"])
    )


def measure_sender(
    base_url: str,
    project: str = PROJECT,
    messages: int = 20_000,
    concurrency: int = 128,
    transport: str = "aiohttp",
) -> tuple[float, float]:
    """(messages per second, CPU microseconds per message in this process) of one
    ``Sender.send_all`` of ``messages`` distinct firebase-admin messages over `transport`."""
    import warnings

    from lederappen.notifications.fcm import Sender

    warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
    s = Sender(
        base_url, project, concurrency=concurrency, transport=transport, deadline_seconds=600
    )
    try:
        s.send_all([_sdk_message(i) for i in range(concurrency)])  # warm the pool
        batch = [_sdk_message(10_000_000 + i) for i in range(messages)]
        c0, t0 = time.process_time(), time.perf_counter()
        outcomes = s.send_all(batch)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        s.close()
    sent = sum(o.status == "sent" for o in outcomes)
    if sent != messages:
        raise RuntimeError(f"only {sent} of {messages} were sent")
    return messages / elapsed, cpu / messages * 1e6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_standin(port: int | None = None) -> tuple[subprocess.Popen, str]:
    """The stand-in as a subprocess, and its base URL once it listens."""
    port = port or _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local.fcm_standin",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stderr.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the stand-in did not start: {line.strip()}")
    return proc, f"http://127.0.0.1:{port}"


def stop_standin(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.fcm_ceiling")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds; the best of each is reported (the machine "
        "may be shared, and a busy neighbour only ever slows a round)",
    )
    args = parser.parse_args(argv)
    # Stopped with SIGTERM (bench_load's busy neighbour is): exit through the `finally` below,
    # which stops the stand-in; Python's default for SIGTERM skips it, and the stand-in, in a
    # session of its own, was left serving after the benchmark ended.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    proc, base = start_standin()
    ceilings: list[tuple[float, float]] = []
    senders: dict[str, list[tuple[float, float]]] = {"aiohttp": [], "sdk": []}
    try:
        for r in range(1, args.rounds + 1):
            c0 = time.process_time()
            rate = measure_ceiling(base, seconds=args.seconds, concurrency=args.concurrency)
            ceilings.append((rate, (time.process_time() - c0) / (rate * args.seconds) * 1e6))
            for transport, figures in senders.items():
                n = args.messages if transport == "aiohttp" else max(1, args.messages // 10)
                figures.append(
                    measure_sender(
                        base, messages=n, concurrency=args.concurrency, transport=transport
                    )
                )
            print(
                f"round {r}: ceiling {ceilings[-1][0]:,.0f}/s, Sender (aiohttp) "
                f"{senders['aiohttp'][-1][0]:,.0f}/s, Sender (sdk) "
                f"{senders['sdk'][-1][0]:,.0f}/s, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        stop_standin(proc)
    ceiling, ceiling_cpu = max(ceilings)
    print(
        f"stand-in ceiling (bare client, concurrency {args.concurrency}): "
        f"{ceiling:,.0f} messages/s (target >= 5,000), client CPU {ceiling_cpu:.0f} us/message"
    )
    for transport, label in (
        ("aiohttp", "hand-written aiohttp transport"),
        ("sdk", "firebase-admin send_each_async (httpx)"),
    ):
        rate, cpu = max(senders[transport])
        print(
            f"Sender, {label}: {rate:,.0f} messages/s ({rate / ceiling:.0%} of the ceiling), "
            f"CPU {cpu:.0f} us/message"
        )
    return 0 if ceiling >= 5000 else 1


if __name__ == "__main__":
    sys.exit(main())
