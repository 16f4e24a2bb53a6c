"""Erasing ended memberships end to end, as a ratio to a plain bulk DELETE of the same rows.

    .venv/bin/python -m tests.benchmarks.bench_erasure [--members 10000] [--active 1000]
                                 [--workers 4] [--repeat 1] [--time-limit 150] [--keep]

Starts what the erasure touches and nothing else, in a temporary directory: a private
PostgreSQL cluster with the migrations applied (postgres.py), the Firestore and Pub/Sub
emulators (emulators.py, as the stack starts them; the Firestore heap raised to 4 GiB) and
the lederne.no stand-in. Then it arranges a deterministic data set (seeded; bulk SQL and
batched Firestore writes; not timed): `--members` members whose membership has ended (ids
from 2000000) and `--active` active members interleaved with them, each with 2 salary
answers (two closed rounds), a member_preferences row, 2-3 consent events, 1-2 rows in
`devices`, and 3 inbox items. The register (the stand-in,
through its `POST /_control/members`) knows the first as ended and the others as active.

Measured in one run, `--repeat` times (the data is arranged again before each measurement):

* the baseline: the least work that removes the same rows: one `DELETE ... WHERE <member
  key> = ANY(ids)` per SQL store of the data map (the same `Store.match_any_sql` the erasure
  uses) in one transaction, then every document of the members deleted by its id (the bench
  wrote them, so it knows them; finding them with `in` queries instead would cost, in the
  emulator, one scan of the collection per member, over an hour for 10,000) in batched
  writes of 500 on `--workers` threads;
* end to end, as production runs it: `membership_end.run(...)` (detection: every member key
  held in SQL and Firestore, compared with the register 1,000 at a time, erasure requests
  queued, jobs of `requests.JOB_BATCH` published to `privacy-jobs` on the Pub/Sub emulator
  by the outbox's flush), then every job pulled from a subscription on that topic and
  handed to `worker.handle` in-process by `--workers` threads (one privacy-worker instance:
  `concurrency` 4 in the manifest), a failed job delivered again after 1, 2, 4 .. 10 s up
  to 8 times, until every request is done or `--time-limit` seconds have passed (then the
  run is cut short, the jobs in flight are abandoned and the figures extrapolated).

Checked after each: no row of an erased member in any SQL store of the data map, no
document of theirs in any Firestore collection, every request done with its member number
cleared, a tombstone and a newsletter DELETE at the stand-in for each, and every active
member's data untouched.

Printed: seconds and members/s, the ratio end to end / baseline, the split of the end to end
time (detection, erasure jobs), detection step by step, where the jobs' time goes (summed
over the worker threads: newsletter deletes, the two Firestore passes, the two SQL
transactions), and the CPU seconds each process used in each phase (this machine is CPU
bound: 2 cores shared by the emulators, PostgreSQL, the stand-in and the functions' code).

Target (issue #8): all 10,000 gone from every store within 60 s locally. Printed as PASS or
FAIL; the exit code is 0 either way (this is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import logging
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

#: The emulators' heap (read when emulators.py is imported): ~120,000 documents written and
#: deleted twice need more than the 1 GiB the tests use.
os.environ.setdefault("EMULATOR_HEAP", "4g")

from infra.local import emulators, postgres
from infra.local import stack as stack_mod

TARGET_SECONDS = 60.0
SEED = 8
FIRST_ID = 2_000_000
YEARS = (2024, 2025)
TOPIC = "privacy-jobs"
SUBSCRIPTION = "privacy-jobs-bench"
#: The key the bench's device ids are derived with (devices.service.device_id).
DEVICE_KEY = b"bench-erasure-installation-key--"
#: Three messages every member got (inbox items).
MESSAGES = ("bench-message-1", "bench-message-2", "bench-message-3")
HOST = stack_mod.HOST
#: Deliveries of a failing job before the bench gives up (the manifest allows 20).
REDELIVERIES = 8


# --- the services: PostgreSQL, the Firestore and Pub/Sub emulators, the lederne stand-in ------


class Services:
    """What the erasure talks to, started as the stack starts it, in `state`."""

    def __init__(self, state: Path):
        self.state = state
        pg, fs, ps, ld = stack_mod.free_ports(4)
        self.ports = {"postgres": pg, "firestore": fs, "pubsub": ps, "lederne": ld}
        self.cluster = postgres.Cluster(
            state / "postgres", pg, secrets.token_hex(24), secrets.token_hex(24)
        )
        self.api_key = secrets.token_hex(24)
        self.lederne = f"http://{HOST}:{ld}"
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    def _log(self, name: str):
        fh = open(self.state / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        self._logs.append(fh)
        return fh

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        base = {k: os.environ[k] for k in stack_mod.PASSTHROUGH_ENV if k in os.environ}
        base.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**base, "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> None:
        from infra import migrate

        self.cluster.init()
        self.procs["postgres"] = self.cluster.spawn(self._log("postgres"))
        for name, make in (
            ("firestore", emulators.firestore_command),
            ("pubsub", emulators.pubsub_command),
        ):
            argv, extra = make(self.ports[name])
            self._spawn(name, argv, extra)
        # One demo member (the minimum); the bench's members are put in through /_control.
        self._spawn(
            "lederne",
            [
                sys.executable,
                "-m",
                "infra.local.lederne_standin",
                "--host",
                HOST,
                "--port",
                str(self.ports["lederne"]),
                "--api-key",
                self.api_key,
                "--members",
                "1",
            ],
            {"PYTHONPATH": str(ROOT)},
        )
        self.cluster.wait_ready(timeout=30, proc=self.procs["postgres"])
        self.cluster.bootstrap()
        conn = self.cluster.connect(postgres.APP_ROLE)
        try:
            migrate.migrate(conn)
        finally:
            conn.close()
        checks = {
            "firestore": lambda: emulators.http_ok(f"http://{HOST}:{self.ports['firestore']}/"),
            "pubsub": lambda: emulators.http_ok(f"http://{HOST}:{self.ports['pubsub']}/"),
            "lederne": lambda: (
                (stack_mod.http_status(self.lederne + "/.well-known/openid-configuration") or (0,))[
                    0
                ]
                == 200
            ),
        }
        deadline = time.monotonic() + 90
        while checks:
            for name in list(checks):
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise SystemExit(
                        f"{name} exited with code {proc.returncode}:\n"
                        + stack_mod.log_tail(self.state / f"{name}.log")
                    )
                if checks[name]():
                    del checks[name]
            if checks and time.monotonic() > deadline:
                raise SystemExit(f"not ready within 90 s: {', '.join(checks)}")
            time.sleep(0.1)
        pub, self.subscriber = emulators.clients(f"{HOST}:{self.ports['pubsub']}")
        pub.create_topic(name=f"projects/{stack_mod.PROJECT}/topics/{TOPIC}")
        self.subscription = None

    def subscribe(self, n: int) -> None:
        """A fresh pull subscription on the jobs' topic (what Pub/Sub pushes to the
        privacy-worker), so no job of an earlier repetition is delivered again."""
        if self.subscription:
            self.subscriber.delete_subscription(subscription=self.subscription)
        self.subscription = f"projects/{stack_mod.PROJECT}/subscriptions/{SUBSCRIPTION}-{n}"
        self.subscriber.create_subscription(
            name=self.subscription,
            topic=f"projects/{stack_mod.PROJECT}/topics/{TOPIC}",
            ack_deadline_seconds=600,
        )

    def stop(self) -> None:
        stack_mod.terminate_groups([p for n, p in self.procs.items() if n != "postgres"])
        self.cluster.stop(self.procs.get("postgres"))
        for fh in self._logs:
            fh.close()

    def configure(self, pseudonym_key: bytes, workers: int):
        """The environment a privacy-worker instance gets (core/config.py), in this process,
        and the settings it validates; the logs' pseudonym key."""
        from lederappen.core import config, db, log

        log.configure(pseudonym_key, level="WARNING")
        os.environ.update(
            {
                "GOOGLE_CLOUD_PROJECT": stack_mod.PROJECT,
                "PSEUDONYM_KEY": base64.b64encode(pseudonym_key).decode(),
                "DB_HOST": self.cluster.host,
                "DB_PORT": str(self.cluster.port),
                "DB_NAME": postgres.APP_DATABASE,
                "DB_USER": postgres.APP_ROLE,
                "DB_PASSWORD": self.cluster.app_password,
                "DB_POOL_SIZE": str(min(20, max(4, workers + 1))),
                "LEDERNE_API_URL": self.lederne,
                "LEDERNE_API_KEY": self.api_key,
                "FIRESTORE_EMULATOR_HOST": f"{HOST}:{self.ports['firestore']}",
                "PUBSUB_EMULATOR_HOST": f"{HOST}:{self.ports['pubsub']}",
            }
        )
        os.environ.pop("CLOUD_SQL_INSTANCE", None)
        config.reset()
        db.reset_pool()
        return config.load(("db", "register", "firestore", "pubsub"))

    def register(self, ended: list[str], active: list[str], threads: int = 4) -> float:
        """The register knows `ended` as ended and `active` as active (the stand-in's
        `POST /_control/members`, keep-alive, a few at once)."""
        import urllib3

        http = urllib3.PoolManager(maxsize=threads)
        today = datetime.now(UTC).date()
        members = [(m, "ended") for m in ended] + [(m, "active") for m in active]

        def put(part: list[tuple[str, str]]) -> None:
            for member, status in part:
                body = {
                    "member_id": member,
                    "membership": {
                        "status": status,
                        "member_since": "2015-01-01",
                        "ended_on": (today - timedelta(days=2)).isoformat()
                        if status == "ended"
                        else None,
                    },
                }
                r = http.request(
                    "POST",
                    self.lederne + "/_control/members",
                    body=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"},
                )
                if r.status != 204:
                    raise SystemExit(f"the stand-in refused a member: {r.status}")

        t = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, [members[k::threads] for k in range(threads)]))
        return time.perf_counter() - t

    def newsletter_deletes(self) -> tuple[Counter, bool]:
        """Newsletter DELETEs the stand-in answered 204 or 404 so far, per member, and whether
        its request log (a bounded deque) still holds every request."""
        from infra.local import lederne_standin

        r = stack_mod.http_status(self.lederne + "/_control/requests", timeout=30)
        log = json.loads(r[2])
        prefix = "/api/newsletter/subscribers/"
        deleted = Counter(
            e["path"][len(prefix) :]
            for e in log
            if e["method"] == "DELETE"
            and e["path"].startswith(prefix)
            and e["status"] in (204, 404)
        )
        return deleted, len(log) < lederne_standin.REQUEST_LOG_SIZE


# --- CPU used per process (the machine is shared and CPU-bound) ----------------------------


_TICK = os.sysconf("SC_CLK_TCK")


def _group_cpu(leader: int) -> float:
    """CPU seconds of a started process, the live processes of its group and its live
    children (PostgreSQL's backends start sessions of their own), plus what its reaped
    children used (backends come and go)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader or int(fields[1]) == leader:  # pgrp, ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if int(entry.name) == leader:
                total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / _TICK


def cpu_snapshot(services: Services) -> dict[str, float]:
    out = {name: _group_cpu(proc.pid) for name, proc in services.procs.items()}
    t = os.times()
    out["bench process (functions' code)"] = t.user + t.system
    return out


def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b[k] - a[k] for k in a}


# --- the data set ----------------------------------------------------------------------------


class Plan:
    """Who the members are and what each holds; deterministic for (members, active, seed)."""

    def __init__(self, n_ended: int, n_active: int, seed: int):
        rng = random.Random(seed)
        ids = [str(FIRST_ID + i) for i in range(n_ended + n_active)]
        active = set(rng.sample(ids, n_active))
        self.ended = [m for m in ids if m not in active]
        self.active = [m for m in ids if m in active]
        self.devices = {m: rng.choices((1, 2), (60, 40))[0] for m in ids}
        self.consents = {m: rng.choices((2, 3), (50, 50))[0] for m in ids}

    def held(self, members: list[str]) -> dict[str, int]:
        """Rows and documents these members hold, per store."""
        return {
            "salary_answers": len(YEARS) * len(members),
            "member_preferences": len(members),
            "consent_events": sum(self.consents[m] for m in members),
            "devices": sum(self.devices[m] for m in members),
            "inbox_items": len(MESSAGES) * len(members),
        }


def arrange_sql(conn, plan: Plan, members: list[str], seed: int) -> None:
    """The members' rows, each table in one INSERT ... SELECT over unnest (values derived
    from a hash of member, year and seed: deterministic, no Python-side encoding; the
    devices from a JSON parameter, their ids being keyed hashes)."""
    from lederappen.devices.service import device_id

    cur = conn.cursor()
    cur.execute(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "SELECT y, 'Lønnsundersøkelsen ' || y, 'Salary survey ' || y, "
        "make_timestamptz(y, 9, 1, 0, 0, 0, 'UTC'), make_timestamptz(y, 10, 31, 0, 0, 0, 'UTC'), "
        "'{}'::text[] FROM unnest(%s::int[]) y ON CONFLICT DO NOTHING",
        (list(YEARS),),
    )
    cur.execute(
        "INSERT INTO salary_answers (year, member_id, base_monthly, bonus_annual, other_annual, "
        "position_level, people_managed, sector, nace, county, experience_years, age_band, "
        "gender, weekly_hours) "
        "SELECT y, m, 38000 + h %% 90000, CASE WHEN h %% 3 = 0 THEN NULL ELSE (h / 7) %% 150000 END, "
        "(h / 11) %% 30000, (ARRAY['first_line', 'middle', 'senior', 'executive'])[1 + (h / 13) %% 4], "
        "(h / 17) %% 60, (ARRAY['private', 'public', 'other'])[1 + (h / 19) %% 3], "
        "substr('ABCDEFGHIJKLMNOPQRSTU', 1 + ((h / 23) %% 21)::int, 1), "
        "(ARRAY['03', '11', '15', '18', '31', '32', '33', '34', '39', '40', '42', '46', '50', "
        "'55', '56'])[1 + (h / 29) %% 15], (h / 31) %% 35, "
        "(ARRAY['under_30', '30_39', '40_49', '50_59', '60_plus'])[1 + (h / 37) %% 5], "
        "(ARRAY['female', 'male'])[1 + (h / 41) %% 2], 37.5 "
        "FROM unnest(%s::text[]) m CROSS JOIN unnest(%s::int[]) y, "
        "LATERAL (SELECT hashtext(m || ':' || y || ':' || %s)::bigint & 2147483647 AS h) x",
        (members, list(YEARS), str(seed)),
    )
    cur.execute(
        "INSERT INTO member_preferences (member_id, language, notification_categories, "
        "notification_channels, interests) "
        "SELECT m, (ARRAY['nb', 'en'])[1 + (hashtext(m) & 7 = 0)::int], ARRAY['news', 'courses'], "
        "ARRAY['push', 'inbox'], ARRAY['leadership', 'career'] FROM unnest(%s::text[]) m",
        (members,),
    )
    cur.execute(
        "INSERT INTO consent_events (member_id, purpose, terms_version, text_hash, action, "
        "locale, channel, app_version) "
        "SELECT u.m, t.purpose, t.version, t.text_hash, 'given', 'nb', 'app', '3.2.1' "
        "FROM unnest(%s::text[], %s::int[]) AS u(m, n) JOIN consent_terms t ON t.version = 1 "
        "AND t.purpose = ANY((ARRAY['newsletter', 'personalisation', 'marketing'])[1:u.n]) "
        "ORDER BY u.m, t.purpose",
        (members, [plan.consents[m] for m in members]),
    )
    # devices (as devices.service registers them): the ids are keyed hashes, made here
    cur.execute(
        "INSERT INTO devices (id, member_id, fcm_token, platform, app_version, locale, "
        "created_at, last_seen_at) SELECT e->>0, e->>1, e->>2, e->>3, '3.2.1', 'nb', now(), "
        "now() FROM json_array_elements(%s::json) AS e",
        (
            json.dumps(
                [
                    [doc, m, f"bench{m}{d}:APA91b{doc}", ("android", "ios")[d % 2]]
                    for m in members
                    for d in range(plan.devices[m])
                    for doc in [device_id(DEVICE_KEY, f"{m}-{d}")]
                ]
            ),
        ),
    )
    conn.commit()
    for table in ("salary_answers", "member_preferences", "consent_events", "devices"):
        cur.execute(f"ANALYZE {table}")
    conn.commit()


def firestore_clients(n: int) -> list:
    """Clients of their own for arranging and checking (the functions' is core.firestore's)."""
    from google.cloud import firestore
    from lederappen.core.firestore import bounded

    return [bounded(firestore.Client(project=stack_mod.PROJECT), 60.0) for _ in range(n)]


def arrange_firestore(clients: list, plan: Plan, members: list[str]) -> None:
    """Each member's three inbox items (as notifications.inbox delivers them), in batched
    writes of at most 500, a member's documents always in one batch."""
    from google.cloud import firestore
    from lederappen.notifications.inbox import item_id

    now = datetime.now(UTC)
    expires_item = now + timedelta(days=365)
    groups, group, size = [], [], 0
    for m in members:
        docs = len(MESSAGES)
        if size + docs > 500:
            groups.append(group)
            group, size = [], 0
        group.append(m)
        size += docs
    if group:
        groups.append(group)

    def work(k: int) -> None:
        fs = clients[k]
        inbox = fs.collection("inbox_items")
        for chunk in groups[k :: len(clients)]:
            batch = fs.batch()
            for m in chunk:
                for message in MESSAGES:
                    batch.set(
                        inbox.document(item_id(message, m)),
                        {
                            "member_id": m,
                            "message_id": message,
                            "category": "news",
                            "title": {"nb": "Nytt fra Lederne", "en": "News from Lederne"},
                            "body": {"nb": "Les mer i appen.", "en": "Read more in the app."},
                            "deep_link": None,
                            "sensitive": False,
                            "created_at": firestore.SERVER_TIMESTAMP,
                            "read_at": None,
                            "expires_at": expires_item,
                        },
                    )
            batch.commit()

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(work, range(len(clients))))


# --- what is left --------------------------------------------------------------------------


def sql_left(conn, members: list[str]) -> dict[str, int]:
    """Rows about these members in every SQL store of the data map, by every member key
    (the pseudonym where the store keys by it); the tombstones (kept on purpose) apart."""
    from lederappen.core import datamap, log

    cur = conn.cursor()
    out = {}
    for store in datamap.sql_tables().values():
        if store.erase == "keep":
            continue
        keys = [store.key_for(m, log.pseudonym) for m in members]
        cur.execute(
            f"SELECT count(*) FROM {datamap.quote_ident(store.name)} WHERE {store.match_any_sql}",
            tuple(keys for _ in store.member_keys),
        )
        out[store.name] = cur.fetchone()[0]
    conn.commit()
    return out


def delete_sql(conn, members: list[str]) -> None:
    """One DELETE per SQL store of the data map (every member key, the pseudonym where the
    store keys by it; the same `Store.match_any_sql` the erasure uses), one transaction."""
    from lederappen.core import datamap, log

    cur = conn.cursor()
    for store in datamap.sql_tables().values():
        if store.erase == "keep":
            continue
        keys = [store.key_for(m, log.pseudonym) for m in members]
        cur.execute(
            f"DELETE FROM {datamap.quote_ident(store.name)} WHERE {store.match_any_sql}",
            tuple(keys for _ in store.member_keys),
        )
    conn.commit()


def firestore_left(fs) -> dict[str, Counter]:
    """Documents per member in every Firestore collection of the data map (read whole)."""
    from lederappen.core import datamap

    out = {}
    for store in datamap.firestore_collections().values():
        query = fs.collection(store.name)
        if store.member_key == "document id":
            out[store.name] = Counter(s.id for s in query.select([]).stream())
        else:
            out[store.name] = Counter(
                s.get(store.member_key) for s in query.select([store.member_key]).stream()
            )
    return out


def check(conn, fs, plan: Plan, erased: list[str]) -> list[str]:
    """What is wrong after a deletion (empty: the `erased` members are gone from every
    store and the active members hold exactly what they were given)."""
    problems = []
    gone = {k: v for k, v in sql_left(conn, erased).items() if v}
    if gone:
        problems.append(f"erased members still in SQL: {gone}")
    kept = sql_left(conn, plan.active)
    want = plan.held(plan.active)
    for table in ("salary_answers", "member_preferences", "consent_events"):
        if kept[table] != want[table]:
            problems.append(f"active members' {table}: {kept[table]} rows, {want[table]} given")
    docs = firestore_left(fs)
    erased_set, active = set(erased), set(plan.active)
    for name, per_member in docs.items():
        left = sum(n for m, n in per_member.items() if m in erased_set)
        if left:
            problems.append(f"erased members still in Firestore {name}: {left} documents")
        held = sum(n for m, n in per_member.items() if m in active)
        if held != want[name]:
            problems.append(f"active members' {name}: {held} documents, {want[name]} given")
    return problems


# --- the end-to-end run, instrumented ------------------------------------------------------


class Profile:
    """Seconds spent in named steps (summed over threads)."""

    def __init__(self):
        self.spans: list[tuple[str, float]] = []
        self.local = threading.local()
        self._undo = []

    def wrap(self, module, name: str, label):
        """Times every call of module.name; `label()` names the call (None: not recorded)."""
        original = getattr(module, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            what = label()
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                if what:
                    self.spans.append((what, time.perf_counter() - t))

        setattr(module, name, timed)
        self._undo.append(lambda: setattr(module, name, original))

    def undo(self) -> None:
        for u in reversed(self._undo):
            u()
        self._undo.clear()

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for what, seconds in self.spans:
            out[what] = out.get(what, 0.0) + seconds
        return out

    def calls(self, what: str) -> int:
        return sum(1 for w, _ in self.spans if w == what)


def instrument(profile: Profile) -> None:
    """Times the steps of detection and of each job, where the code calls them."""
    from lederappen.core import db, outbox
    from lederappen.privacy import erasure, membership_end, requests
    from lederappen.privacy import events as worker

    local = profile.local

    def fixed(name):
        return lambda: name

    def counted(kind):
        """The n-th call of a step inside one erase_many (pass 1, pass 2)."""

        def label():
            if not getattr(local, "erasing", False):
                return None
            n = getattr(local, kind, 0) + 1
            setattr(local, kind, n)
            return f"{kind} {n}"

        return label

    erase_many = erasure.erase_many

    def erase_many_marked(*args, **kwargs):
        local.erasing, local.firestore, local.sql, local.erase_sql = True, 0, 0, 0
        try:
            return erase_many(*args, **kwargs)
        finally:
            local.erasing = False

    profile.wrap(erasure, "erase_newsletter", fixed("newsletter"))
    profile.wrap(erasure, "erase_firestore", counted("firestore"))
    profile.wrap(erasure, "erase_sql", counted("erase_sql"))
    profile.wrap(db, "transaction", counted("sql"))
    erasure.erase_many = erase_many_marked
    profile._undo.append(lambda: setattr(erasure, "erase_many", erase_many))
    profile.wrap(worker, "_start", fixed("mark running"))
    profile.wrap(worker, "handle", fixed("job"))
    profile.wrap(membership_end, "sql_keys", fixed("detect: member keys in SQL (one UNION)"))
    profile.wrap(
        membership_end, "_take", fixed("detect: member keys in Firestore (ordered pages), merged")
    )
    profile.wrap(membership_end, "compare", fixed("detect: register batchStatus, 1,000 a call"))
    profile.wrap(requests, "queue_membership_end", fixed("detect: requests and outbox rows (SQL)"))
    profile.wrap(outbox, "flush", fixed("detect: publish to Pub/Sub (outbox.flush)"))


class PoolWarnings:
    """Counts urllib3's "Connection pool is full" warnings (the register client's pool is
    smaller than the threads sharing it) instead of printing one line each."""

    def __init__(self):
        self.count = 0
        self._logger = logging.getLogger("urllib3.connectionpool")
        self._logger.addFilter(self)

    def filter(self, record) -> bool:
        if "Connection pool is full" in record.getMessage():
            self.count += 1
            return False
        return True


def run_jobs(
    services: Services, settings, expected: int, workers: int, deadline: float, failures: list
) -> tuple[int, int, int]:
    """Pulls the job messages from the subscription and hands each to `worker.handle`
    (decoded as events.py decodes a push) on `workers` threads; a failed job is delivered
    again, as Pub/Sub would, up to REDELIVERIES times (then it counts as dead-lettered).
    Stops handing out jobs at `deadline` (perf_counter) and leaves the ones in flight running
    (daemon threads). Returns (jobs done, jobs dead-lettered, jobs started)."""
    import queue

    import msgspec
    from lederappen.core import events
    from lederappen.privacy import events as worker

    sub, subscription = services.subscriber, services.subscription
    todo: queue.Queue = queue.Queue()
    done = threading.Semaphore(0)
    state = {"done": 0, "dead": 0, "started": 0, "error": None}
    lock = threading.Lock()

    def one(received) -> bool:
        msg = received.message
        message = events.Message(
            msg.message_id,
            dict(msg.attributes),
            msgspec.json.decode(msg.data, type=worker.Payload),
            msg.data,
        )
        for attempt in range(REDELIVERIES):
            try:
                worker.handle(message, settings)
                break
            except Exception as exc:  # noqa: BLE001 (Pub/Sub redelivers any failure, 1-10 s apart)
                cause = exc.__cause__ or exc.__context__
                failures.append(
                    f"{type(exc).__name__}: {exc}"
                    + (f" ({type(cause).__name__}: {str(cause)[:160]})" if cause else "")
                )
                time.sleep(min(10.0, 2.0**attempt))
        else:
            return False  # it would go to the dead-letter topic
        sub.acknowledge(subscription=subscription, ack_ids=[received.ack_id])
        return True

    def loop() -> None:
        while True:
            received = todo.get()
            if received is None or time.perf_counter() > deadline:
                return
            with lock:
                state["started"] += 1
            try:
                ok = one(received)
                with lock:
                    state["done" if ok else "dead"] += 1
            except BaseException as exc:  # noqa: BLE001 (handed to the main thread)
                state["error"] = exc
            done.release()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    pulled = 0
    while pulled < expected and time.perf_counter() < deadline:
        answer = sub.pull(
            subscription=subscription, max_messages=min(100, expected - pulled), timeout=30
        )
        for received in answer.received_messages:
            todo.put(received)
        pulled += len(answer.received_messages)
    for _ in threads:
        todo.put(None)
    finished = 0
    while finished < pulled:
        if not done.acquire(timeout=max(0.0, deadline - time.perf_counter())):
            break  # the time limit: leave what is in flight
        finished += 1
        if state["error"] is not None:
            raise SystemExit(f"a job failed: {state['error']}")
    with lock:
        return state["done"], state["dead"], state["started"]


def end_to_end(services: Services, settings, conn, plan: Plan, workers: int, limit: float) -> dict:
    """Detection, then the jobs, within `limit` seconds; what was done, checked."""
    from lederappen.core import db, log
    from lederappen.privacy import membership_end

    cur = conn.cursor()
    cur.execute("SELECT coalesce(max(id), 0) FROM outbox")
    last_outbox = cur.fetchone()[0]
    conn.commit()
    news_before, _ = services.newsletter_deletes()
    profile = Profile()
    instrument(profile)
    failures: list[str] = []
    started = datetime.now(UTC)
    try:
        cpu0 = cpu_snapshot(services)
        t0 = time.perf_counter()
        outcome = membership_end.run(
            settings, trigger="schedule", started_by=membership_end.JOB, budget_seconds=limit
        )
        t1 = time.perf_counter()
        cpu1 = cpu_snapshot(services)
        # who each request is for, read before the jobs clear it (to check a run cut short)
        member_of = dict(
            db.fetch_all(
                "SELECT id::text, member_id FROM privacy_requests WHERE origin = 'membership_end' "
                "AND received_at >= %s",
                (started,),
            )
        )
        expected, unpublished = db.fetch_one(
            "SELECT count(*) FILTER (WHERE published_at IS NOT NULL), "
            "count(*) FILTER (WHERE published_at IS NULL) FROM outbox "
            "WHERE topic = %s AND id > %s",
            (TOPIC, last_outbox),
        )
        t2 = time.perf_counter()
        deadline = t2 + max(0.0, limit - (t1 - t0))
        jobs_done, jobs_dead, jobs_started = (
            run_jobs(services, settings, expected, workers, deadline, failures)
            if outcome["finished"]
            else (0, 0, 0)
        )
        t3 = time.perf_counter()
        cpu2 = cpu_snapshot(services)
    finally:
        profile.undo()
    complete = outcome["finished"] and jobs_done == expected
    cur.execute(
        "SELECT id::text FROM privacy_requests WHERE id = ANY(%s::uuid[]) "
        "AND status = 'done' AND member_id IS NULL",
        (list(member_of),),
    )
    erased = sorted(member_of[r[0]] for r in cur.fetchall())
    cur.execute(
        "SELECT count(*) FROM erasure_tombstones WHERE member_pseudonym = ANY(%s) "
        "AND erased_at >= %s",
        ([log.pseudonym(m) for m in erased], started),
    )
    tombstones = cur.fetchone()[0]
    conn.commit()
    news_after, log_complete = services.newsletter_deletes()
    problems = []
    if jobs_dead:
        problems.append(f"{jobs_dead} jobs failed {REDELIVERIES} times (dead letters)")
    if unpublished:
        problems.append(f"{unpublished} job messages left unpublished")
    if outcome["finished"] and len(member_of) != len(plan.ended):
        problems.append(f"{len(member_of)} requests for {len(plan.ended)} ended members")
    if set(erased) - set(plan.ended):
        problems.append("members erased who had not ended")
    if complete and len(erased) != len(plan.ended):
        problems.append(
            f"{len(erased)} of {len(plan.ended)} requests done with the member number cleared"
        )
    if tombstones != len(erased):
        problems.append(f"{tombstones} tombstones for {len(erased)} erased members")
    missed = [m for m in erased if news_after[m] <= news_before[m]]
    if log_complete and missed:
        problems.append(f"{len(missed)} erased members without a newsletter deletion")
    return {
        "detection": t1 - t0,
        "jobs": t3 - t2,
        "total": (t1 - t0) + (t3 - t2),
        "run": outcome["run"],
        "finished": outcome["finished"],
        "complete": complete,
        "expected": expected,
        "jobs_done": jobs_done,
        "dead": jobs_dead,
        "in_flight": jobs_started - jobs_done - jobs_dead,
        "erased": erased,
        "failures": failures,
        "profile": profile,
        "problems": problems,
        "cpu": {"detection": cpu_delta(cpu0, cpu1), "jobs": cpu_delta(cpu1, cpu2)},
    }


# --- the baseline ----------------------------------------------------------------------------


def baseline(services: Services, conn, clients: list, plan: Plan) -> dict:
    """The same rows gone with the least work: `delete_sql` (one DELETE per SQL store, one
    transaction), then every document of the members deleted by its id (the bench knows
    them: it wrote them) in batched writes of 500, on as many threads (and clients) as the
    end-to-end run's workers."""
    from lederappen.notifications.inbox import item_id

    members = plan.ended
    cpu0 = cpu_snapshot(services)
    t0 = time.perf_counter()
    delete_sql(conn, members)
    t1 = time.perf_counter()
    docs = []
    for m in members:
        docs += [("inbox_items", item_id(message, m)) for message in MESSAGES]
    batches = [docs[i : i + 500] for i in range(0, len(docs), 500)]

    def work(k: int) -> None:
        fs = clients[k]
        for chunk in batches[k :: len(clients)]:
            batch = fs.batch()
            for collection, doc in chunk:
                batch.delete(fs.collection(collection).document(doc))
            batch.commit()

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(work, range(len(clients))))
    t2 = time.perf_counter()
    return {
        "sql": t1 - t0,
        "firestore": t2 - t1,
        "total": t2 - t0,
        "documents": len(docs),
        "cpu": cpu_delta(cpu0, cpu_snapshot(services)),
    }


# --- main ------------------------------------------------------------------------------------


def _cpu_table(phases: dict[str, dict[str, float]], walls: dict[str, float]) -> None:
    names = list(next(iter(phases.values())))
    print("\nCPU seconds per process in each phase (2 cores: at most 2 CPU seconds a second)")
    print(f"  {'process':<34}" + "".join(f"{p:>16}" for p in phases))
    for name in names:
        print(f"  {name:<34}" + "".join(f"{phases[p][name]:14.1f} s" for p in phases))
    print(
        f"  {'all processes / wall seconds':<34}"
        + "".join(f"{sum(phases[p].values()):6.1f} / {walls[p]:5.1f} s" for p in phases)
    )


def _estimate(r: dict, keys: int) -> float | None:
    """The end-to-end seconds a run cut short would have taken at the rate it was going."""
    if not r["finished"]:
        checked = r["run"]["checked"]
        return r["detection"] * keys / checked if checked else None
    if not r["jobs_done"]:
        return None
    return r["detection"] + r["jobs"] * r["expected"] / r["jobs_done"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--members", type=int, default=10_000, help="members whose membership has ended (erased)"
    )
    parser.add_argument(
        "--active",
        type=int,
        default=1_000,
        help="active members with the same data (left untouched)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="threads running privacy-jobs at once (worker concurrency)",
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--time-limit",
        type=float,
        default=150.0,
        help="seconds the end-to-end run may take before it is cut short",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (the services' logs)"
    )
    args = parser.parse_args(argv)
    repeat, workers = max(1, args.repeat), max(1, args.workers)

    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
        "(a shared machine makes the figures vary between runs)"
    )
    state = Path(tempfile.mkdtemp(prefix="lederappen-bench-erasure-"))
    services = Services(state)
    plan = Plan(args.members, args.active, args.seed)
    n, keys = len(plan.ended), len(plan.ended) + len(plan.active)
    held = plan.held(plan.ended)
    print(
        "starting PostgreSQL, the Firestore and Pub/Sub emulators and the lederne stand-in ...",
        flush=True,
    )
    t = time.perf_counter()
    results, baselines = [], []
    pool_warnings = PoolWarnings()
    try:
        services.start()
        print(f"  ready in {time.perf_counter() - t:.1f} s")
        settings = services.configure(secrets.token_bytes(32), workers)
        from lederappen.core import db, firestore

        seconds = services.register(plan.ended, plan.active)
        print(f"  register: {n:,} ended and {len(plan.active):,} active members in {seconds:.1f} s")
        conn = services.cluster.connect(postgres.APP_ROLE, timeout=600)
        clients = firestore_clients(max(workers, 4))

        def arrange(members: list[str], what: str) -> None:
            t = time.perf_counter()
            delete_sql(conn, members)  # what an earlier run left (documents are overwritten)
            arrange_sql(conn, plan, members, args.seed)
            arrange_firestore(clients, plan, members)
            print(f"  arranged {what} in {time.perf_counter() - t:.1f} s", flush=True)

        arrange(plan.active, f"{len(plan.active):,} active members")
        db.fetch_one("SELECT 1")  # the pool's first connection opens before anything is timed
        firestore.client(settings).collection("inbox_items").document("warm-up").get()
        for rep in range(repeat):
            print(f"\nrepetition {rep + 1} of {repeat}", flush=True)
            arrange(
                plan.ended,
                f"{n:,} ended members ({sum(held.values()):,} rows and "
                "documents: " + ", ".join(f"{k} {v:,}" for k, v in held.items()) + ")",
            )
            b = baseline(services, conn, clients[:workers], plan)
            b["problems"] = check(conn, clients[0], plan, plan.ended)
            baselines.append(b)
            print(
                f"  baseline: {b['total']:.1f} s (SQL {b['sql']:.2f} s, Firestore "
                f"{b['firestore']:.1f} s)"
                + ("" if not b["problems"] else "; PROBLEMS: " + "; ".join(b["problems"])),
                flush=True,
            )
            arrange(plan.ended, "the same rows again")
            services.subscribe(rep)
            r = end_to_end(services, settings, conn, plan, workers, args.time_limit)
            results.append(r)
            if r["complete"]:
                print(
                    f"  end to end: {r['total']:.1f} s (detection {r['detection']:.1f} s, "
                    f"{r['expected']} erasure jobs {r['jobs']:.1f} s)",
                    flush=True,
                )
            else:
                print(
                    f"  end to end CUT SHORT at the {args.time_limit:.0f} s limit: detection "
                    f"{'finished' if r['finished'] else 'unfinished'} in "
                    f"{r['detection']:.1f} s ({r['run']['checked']:,} of {keys:,} keys "
                    f"checked), {r['jobs_done']} of {r['expected']} jobs done in "
                    f"{r['jobs']:.1f} s, {r['dead']} failed {REDELIVERIES} times (dead letters), "
                    f"{r['in_flight']} left running",
                    flush=True,
                )
            r["problems"] += check(conn, clients[0], plan, r["erased"])
            if r["problems"]:
                print("  PROBLEMS: " + "; ".join(r["problems"]), flush=True)
            if not r["complete"]:
                # jobs still running would disturb any further measurement; and they fail
                # noisily once the services stop
                logging.getLogger().setLevel(logging.CRITICAL)
                break
        conn.close()
    finally:
        try:
            from lederappen.core import db

            db.reset_pool()
        finally:
            services.stop()
            if args.keep:
                print(f"(logs kept in {state})")
            else:
                shutil.rmtree(state, ignore_errors=True)

    from lederappen.privacy import requests

    complete = [x for x in results if x["complete"]]
    base = statistics.median(x["total"] for x in baselines)
    b = min(baselines, key=lambda x: abs(x["total"] - base))  # the median run, for the split
    if complete:
        e2e = statistics.median(x["total"] for x in complete)
        r = min(complete, key=lambda x: abs(x["total"] - e2e))
    else:
        r = results[-1]
        e2e = _estimate(r, keys)
    run = r["run"]
    print(
        f"\nmembership-end run: {run['checked']:,} member keys checked in {run['batches']} "
        f"batches, {run['ended']:,} ended, {run['unknown']:,} unknown, {run['queued']:,} "
        f"erasure requests queued in {r['expected']} jobs of up to {requests.JOB_BATCH}; "
        f"{workers} worker threads; redeliveries {len(r['failures'])}"
        + (f" ({'; '.join(sorted(set(r['failures']))[:3])})" if r["failures"] else "")
        + f"; register client 'connection pool is full' warnings: {pool_warnings.count:,}"
    )
    print(
        f"\n{n:,} ended members, {len(plan.active):,} active; median of "
        f"{len(complete) or 1} (all: end to end "
        + ", ".join(f"{x['total']:.1f} s" if x["complete"] else "cut short" for x in results)
        + "; baseline "
        + ", ".join(f"{x['total']:.1f} s" for x in baselines)
        + ")"
    )
    print(f"  {'figure':<72} {'seconds':>8} {'members/s':>10} {'vs bulk':>8}")

    def row(label: str, seconds: float | None, members: int = n) -> None:
        if seconds is None:
            print(f"  {label:<72} {'?':>8}")
            return
        print(f"  {label:<72} {seconds:8.2f} {members / seconds:10,.0f} {seconds / base:7.2f}x")

    row(f"baseline: one DELETE per SQL store + {b['documents']:,} documents deleted by id", base)
    print(
        f"  {'  of which SQL (one transaction) / Firestore (batches of 500)':<72} "
        f"{b['sql']:8.2f} / {b['firestore']:.2f}"
    )
    if complete:
        row("end to end: detection + erasure jobs, every request done", e2e)
        row("  detection: membership_end.run (keys, register, queue, publish)", r["detection"])
        row(
            f"  erasure jobs: pull + worker.handle x {r['expected']} on {workers} threads",
            r["jobs"],
        )
    else:
        row(f"end to end, ESTIMATED from the rate before the {args.time_limit:.0f} s limit", e2e)
        row(
            "  detection" + ("" if r["finished"] else " (unfinished)"), r["detection"], run["ended"]
        )
        row(
            f"  erasure jobs: {r['jobs_done']} of {r['expected']} done", r["jobs"], len(r["erased"])
        )

    totals = r["profile"].totals()
    print(f"\ndetection, step by step (one thread; {r['detection']:.2f} s)")
    for k in (k for k in totals if k.startswith("detect:")):
        print(f"  {k[8:]:<72} {totals[k]:8.2f}")
    job_time = totals.get("job", 0.0)
    steps = [
        ("mark running (SQL)", "mark running"),
        ("newsletter DELETE at lederne.no, one call per member, 8 at a time", "newsletter"),
        ("Firestore pass 1 (inbox_items by query)", "firestore 1"),
        ("SQL transaction 1 (erase_sql, tombstones, COMMIT)", "sql 1"),
        ("  of which erase_sql (every SQL store of the data map)", "erase_sql 1"),
        ("Firestore pass 2 (the same again, after the tombstones)", "firestore 2"),
        ("SQL transaction 2 (erase_sql again, receipts, COMMIT)", "sql 2"),
    ]
    print(
        f"\nerasure jobs, where the time goes (seconds summed over the {workers} threads: "
        f"{job_time:.1f} s in {r['profile'].calls('job')} deliveries)"
    )
    for label, key in steps:
        seconds = totals.get(key, 0.0)
        print(f"  {label:<72} {seconds:8.2f} {seconds / job_time if job_time else 0:9.0%}")
    _cpu_table(
        {
            "detection": r["cpu"]["detection"],
            "erasure jobs": r["cpu"]["jobs"],
            "baseline": b["cpu"],
        },
        {"detection": r["detection"], "erasure jobs": r["jobs"], "baseline": base},
    )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    problems = [p for x in results + baselines for p in x["problems"]]
    if problems:
        print("\nCHECKS FAILED:\n  " + "\n  ".join(problems))
    else:
        print(
            f"\nchecked after each run: no row or document of the "
            f"{len(r['erased']):,} members erased (of {n:,} ended) in any store of "
            "the data map, their requests done with the member number cleared, one tombstone "
            "each, a newsletter deletion each" + "; the active members' data untouched"
        )
    verdict = "PASS" if complete and e2e <= TARGET_SECONDS and not problems else "FAIL"
    if n < 10_000 and verdict == "PASS":
        verdict = "NOT JUDGED (the target is for 10,000 members)"
    if complete:
        print(
            f"\n{verdict}: {n:,} ended memberships erased end to end in {e2e:.1f} s (target "
            f"<= {TARGET_SECONDS:.0f} s for 10,000) = {n / e2e:,.0f} members/s, "
            f"{e2e / base:.2f}x the bulk DELETE ({base:.1f} s)"
        )
    else:
        guess = f"about {e2e:,.0f} s at the rate it was going" if e2e else "unknown"
        print(
            f"\n{verdict}: {n:,} ended memberships not erased within the {args.time_limit:.0f} "
            f"s limit ({len(r['erased']):,} were); end to end would take {guess} (target <= "
            f"{TARGET_SECONDS:.0f} s for 10,000), the bulk DELETE took {base:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
