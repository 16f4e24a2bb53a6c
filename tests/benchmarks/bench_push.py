"""One message to every member's device, end to end, as a ratio to the FCM stand-in's ceiling.

    .venv/bin/python -m tests.benchmarks.bench_push [--devices 200000] [--ceiling-seconds 5]
        [--transport streams|aiohttp|sdk]

Starts the local stack with the sending functions (messages-admin, message-fanout,
message-delivery), a register holding enough demo members for `--devices` active members,
and one registered device per active member in PostgreSQL. Then, in one run:

* the ceiling: a bare asyncio client hammering the FCM stand-in's `messages:send` (what the
  stand-in can take at all on this machine, with nothing else running);
* end to end: an editor's message to all members through the editor API, Pub/Sub (fan-out
  steps, delivery batches), the eligibility checks and the device lookups in PostgreSQL,
  the FCM sends, until the stand-in has received one push
  per device. Printed: the total time, the sustained rate (10 % to 90 % of the pushes), both
  as messages per second and as a ratio to the ceiling.

Targets (issue 22): end to end >= 5,000 pushes/s and >= 0.5x the ceiling measured in the same
run. It also prints the CPU seconds each component's process tree spent per push (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

# A large run: give the emulators room.
os.environ.setdefault("EMULATOR_HEAP", "6g")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

from lederappen.notifications import inbox, push
from lederappen.notifications import message as msg

from infra.local import demo_data
from infra.local import stack as stack_mod
from tests.benchmarks.fcm_ceiling import measure_ceiling

FUNCTIONS = ["messages-admin", "message-fanout", "message-delivery"]


def _json(method: str, url: str, body=None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers=headers,
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def seed_devices(stack, member_ids: list[str]) -> float:
    """One device per member, inserted straight into PostgreSQL (the rows the devices
    function writes), in a few INSERT ... SELECT statements from a JSON parameter."""
    from lederappen.devices.service import device_id

    from tests.support.devices import insert_devices

    t0 = time.perf_counter()
    key = b"bench-push-installation-key"
    rows = [
        (device_id(key, member), member, f"bench-{uuid.uuid4().hex}", "android", "nb")
        for member in member_ids
    ]
    conn = stack.cluster.connect()
    try:
        if insert_devices(conn, rows, datetime.now(UTC)) != len(rows):
            raise RuntimeError("seeding the devices failed: not every row was inserted")
    finally:
        conn.close()
    return time.perf_counter() - t0


def _cpu_by_component(stack) -> dict[str, float]:
    """CPU seconds (user + system, own and reaped children's) of each stack component's
    process tree, read from /proc: where the machine's time goes during a broadcast."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        spent[pid] = sum(int(v) for v in fields[11:15]) / tick
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        return spent.get(pid, 0.0) + sum(tree(c) for c in children.get(pid, ()))

    return {name: tree(c.proc.pid) for name, c in stack.components.items() if c.proc is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200_000)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument("--port-base", type=int, default=9500)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--transport",
        choices=("streams", "aiohttp", "sdk"),
        default="streams",
        help="the FCM sender's transport (FCM_TRANSPORT of message-delivery)",
    )
    args = parser.parse_args(argv)

    # Enough register members that `--devices` of them are active (some memberships ended).
    members = demo_data.generate_members(int(args.devices * 1.25) + 100)
    active = [
        m["member_id"] for m in members if (m.get("membership") or {}).get("status") == "active"
    ][: args.devices]
    register_size = len(members)
    with tempfile.TemporaryDirectory(prefix="bench-push-") as state:
        stack = stack_mod.Stack(
            Path(state),
            port_base=args.port_base,
            functions=FUNCTIONS,
            register_members=register_size,
            extra_env={"FCM_TRANSPORT": args.transport},
        )
        with stack:
            print(
                f"stack up in {stack.startup_seconds:.1f} s; register {register_size:,} members; "
                f"FCM transport {args.transport}"
            )
            seconds = seed_devices(stack, active)
            print(f"seeded {len(active):,} devices in {seconds:.1f} s")
            fcm = stack.urls["fcm"]

            # the ceiling with the pushes this broadcast sends (notification, data, android
            # and apns blocks: what the stand-in validates), as the SDK encodes them
            sample = msg.Message(
                message_id=str(uuid.uuid4()),
                category="news",
                title=msg.Title(nb="Nytt fra Lederne", en="News"),
                body=msg.Text(nb="Benchmark.", en="Benchmark."),
            )
            pushes, item = push.Pushes(sample), inbox.broadcast_item_id(sample.message_id)
            ceiling = measure_ceiling(
                fcm,
                seconds=args.ceiling_seconds,
                body=lambda i: pushes.request(f"ceiling-{i:09d}", "nb", item),
            )
            _json("POST", fcm + "/_control/reset")
            print(f"FCM stand-in ceiling (bare client): {ceiling:,.0f} messages/s")

            editor = stack_mod.fetch_token(stack.urls["lederne"], "redaktor")
            cpu_before, load_before = _cpu_by_component(stack), os.getloadavg()[0]
            t0 = time.perf_counter()
            sent = _json(
                "POST",
                stack.urls["gateway"] + "/v1/admin/messages",
                {
                    "category": "news",
                    "title": {"nb": "Nytt fra Lederne", "en": "News"},
                    "body": {"nb": "Benchmark.", "en": "Benchmark."},
                    "audience": {"kind": "all"},
                },
                token=editor,
            )
            marks: list[tuple[float, int]] = []
            deadline = t0 + args.timeout
            while time.perf_counter() < deadline:
                delivered = _json("GET", fcm + "/_control/stats")["delivered"]
                marks.append((time.perf_counter() - t0, delivered))
                if delivered >= len(active):
                    break
                time.sleep(0.25)
            total_time, total = marks[-1]
            if total < len(active):
                print(f"TIMEOUT: {total:,} of {len(active):,} pushes after {total_time:.0f} s")
                return 1

            def at(fraction: float) -> float:
                goal = fraction * total
                return next(t for t, n in marks if n >= goal)

            sustained = 0.8 * total / max(at(0.9) - at(0.1), 1e-9)
            overall = total / total_time
            print(
                f"end to end: {total:,} pushes in {total_time:.1f} s "
                f"(first after {at(0.0001):.1f} s)"
            )
            print(f"  overall   {overall:8,.0f} messages/s = {overall / ceiling:.2f}x ceiling")
            print(
                f"  sustained {sustained:8,.0f} messages/s = {sustained / ceiling:.2f}x ceiling "
                "(10 % to 90 % of the pushes)",
                flush=True,
            )
            # The stand-in has every push; the last batches may still be writing their
            # outcomes (and members without a device may still be being recorded): the
            # figures and the CPU below are taken once every member and push is recorded.
            while True:
                view = _json(
                    "GET", stack.urls["gateway"] + f"/v1/admin/messages/{sent['id']}", token=editor
                )
                figures = view["figures"]
                settled = (
                    figures["processed"] >= figures["audience"] and not figures["push"]["pending"]
                )
                if settled or time.perf_counter() > deadline:
                    break
                time.sleep(0.25)
            print(
                f"  every member and push recorded after {time.perf_counter() - t0:.1f} s"
                if settled
                else "  TIMEOUT: not every member or push recorded"
            )
            print(f"  figures: {json.dumps(figures)}")
            cpu_after = _cpu_by_component(stack)
            print(
                f"  load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
                f"({os.cpu_count()} cores; the machine may be shared)"
            )
            print("  CPU per push, by component (its process tree):")
            used = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
            for name, secs in sorted(used.items(), key=lambda kv: -kv[1]):
                if secs >= 0.05:
                    print(f"    {name:<24} {secs:7.1f} s  {secs / total * 1e6:7.0f} us/push")
            print(
                f"    {'all':<24} {sum(used.values()):7.1f} s  "
                f"{sum(used.values()) / total * 1e6:7.0f} us/push"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
