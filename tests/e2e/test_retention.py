"""Retention (R7) end to end: the nightly job, fired as Cloud Scheduler would, deletes what the
data map says is no longer needed from every SQL table and Firestore collection, keeps what
is still within its time (or has no end yet), holds the data
of a member whose processing is restricted, reports counts per store, and a second run finds
nothing left to delete.

Rows are arranged directly (the members need not exist in the register) for members no other
test uses, and removed again afterwards."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lederappen.core import log
from lederappen.devices.service import device_id

from infra.local import fire
from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack

M = [f"retention-test-{i}" for i in range(10)]
HELD = "retention-test-held"  # processing restricted: nothing of theirs may go
OLD_YEAR, FRESH_YEAR = 2013, 2014  # salary rounds closed six years and a month ago
TAG = "retention-test"
DAY = timedelta(days=1)


def dev(name: str) -> str:
    return device_id(b"retention-test-key", name)


def _fire(stack) -> tuple[int, dict]:
    state = stack.state()
    target = fire.job_target(state, "retention")
    tok = fire.fetch_job_token(state, target["job_audience"])
    status, body = fire.send(fire.build_request(state, "retention", tok), timeout=120)
    return status, json.loads(body)


def _ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


@pytest.fixture(scope="module")
def arranged(stack, db_exec, fs):
    now = datetime.now(UTC)
    log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))
    ids = {}
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (HELD,))

    # Salary: a round closed six years ago goes as a whole; one closed a month ago stays.
    for year, closes in ((OLD_YEAR, now - 6 * 366 * DAY), (FRESH_YEAR, now - 30 * DAY)):
        db_exec(
            "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, "
            "questions) VALUES (%s, 'Test', 'Test', %s, %s, %s)",
            (year, closes - 60 * DAY, closes, ["people_managed"]),
        )
    for year, member, created in (
        (OLD_YEAR, M[0], now - 6 * 366 * DAY - 10 * DAY),
        (OLD_YEAR, HELD, now - 6 * 366 * DAY - 10 * DAY),
        (FRESH_YEAR, M[0], now - 40 * DAY),
    ):
        db_exec(
            "INSERT INTO salary_answers (year, member_id, base_monthly, position_level, "
            "sector, nace, county, created_at, updated_at) VALUES "
            "(%s, %s, 60000, 'middle', 'private', 'C', '03', %s, %s)",
            (year, member, created, created),
        )
    # The old round's release (anonymous figures made from its answers).
    db_exec(
        "INSERT INTO salary_releases (year, release, released_at, method, kind, cell_counts) "
        "VALUES (%s, 1, %s, 'test', 'first', '{}')",
        (OLD_YEAR, now - 6 * 366 * DAY),
    )
    db_exec(
        "INSERT INTO salary_release_tables (year, release, dimensions, cells) "
        "VALUES (%s, 1, '', '[]')",
        (OLD_YEAR,),
    )

    # Mentoring: closed proposals a year after closing, ended mentorships a year after the end
    # (their feedback with them), never an open proposal or an active mentorship.
    ids["round"] = db_exec(
        "INSERT INTO mentor_rounds (trigger, started_by, started_at) "
        "VALUES ('staff', %s, %s) RETURNING id",
        (TAG, now - 900 * DAY),
    )[0][0]
    p_old, p_fresh, p_open, p_held = ids["proposals"] = _ids(4)
    for pid, mentee, status, created, closed in (
        (p_old, M[0], "declined", now - 420 * DAY, now - 400 * DAY),
        (p_fresh, M[2], "expired", now - 30 * DAY, now - 10 * DAY),
        (p_open, M[3], "open", now - 400 * DAY, None),
        (p_held, HELD, "declined", now - 420 * DAY, now - 400 * DAY),
    ):
        db_exec(
            "INSERT INTO mentor_proposals (id, round_id, mentee_id, mentor_id, score, parts, "
            "reasons, shared_topics, status, created_at, expires_at, closed_at) VALUES "
            "(%s, %s, %s, %s, 0.5, '{\"topics\": 0.5}'::jsonb, %s, %s, %s, %s, %s, %s)",
            (
                pid,
                ids["round"],
                mentee,
                M[1],
                ["topics"],
                ["leadership"],
                status,
                created,
                created + 14 * DAY,
                closed,
            ),
        )
    s_old, s_fresh, s_active = ids["mentorships"] = _ids(3)
    for sid, mentee, started, ended in (
        (s_old, M[4], now - 800 * DAY, now - 400 * DAY),
        (s_fresh, M[6], now - 500 * DAY, now - 10 * DAY),
        (s_active, M[7], now - 900 * DAY, None),
    ):
        db_exec(
            "INSERT INTO mentorships (id, mentee_id, mentor_id, started_at, ended_at, "
            "ended_by) VALUES (%s, %s, %s, %s, %s, %s)",
            (sid, mentee, M[5], started, ended, "mentee" if ended else None),
        )
    for sid, member, created in (
        (s_old, M[4], now - 700 * DAY),  # given during: swept
        (s_old, M[5], now - 100 * DAY),  # given after the end
        (s_fresh, M[6], now - 450 * DAY),
        (s_active, M[7], now - 800 * DAY),
    ):
        db_exec(
            "INSERT INTO mentorship_feedback (mentorship_id, member_id, rating, created_at) "
            "VALUES (%s, %s, 4, %s)",
            (sid, member, created),
        )

    # The audit trail: two years.
    ids["pseudonyms"] = {
        "old": f"{TAG}-pseudo-old",
        "fresh": f"{TAG}-pseudo-fresh",
        "held": log.pseudonym(HELD),
    }
    for key, at in (
        ("old", now - 800 * DAY),
        ("fresh", now - 100 * DAY),
        ("held", now - 800 * DAY),
    ):
        db_exec(
            "INSERT INTO audit_events (at, member_pseudonym, actor_kind, actor, category, "
            "action, purpose) VALUES (%s, %s, 'job', %s, 'test', 'read', 'test')",
            (at, ids["pseudonyms"][key], TAG),
        )

    # Technical stores: idempotency keys a day, published outbox rows a week, dead letters
    # 30 days, processed event ids 37 days, erasure tombstones 30 days, receipts five years.
    for owner, key, created in (
        (M[0], "old", now - 2 * DAY),
        (M[0], "fresh", now - DAY / 24),
        (HELD, "held", now - 2 * DAY),
    ):
        db_exec(
            "INSERT INTO idempotency_keys (owner, key, fingerprint, created_at) "
            "VALUES (%s, %s, 'x', %s)",
            (owner, f"{TAG}-{key}", created),
        )
    ids["outbox"] = {}
    for key, created, published, not_before in (
        ("old", now - 20 * DAY, now - 8 * DAY, None),
        ("fresh", now - 2 * DAY, now - DAY, None),
        ("unpublished", now - 30 * DAY, None, now + 3650 * DAY),
    ):
        ids["outbox"][key] = db_exec(
            "INSERT INTO outbox (topic, member_id, payload, created_at, published_at, not_before) "
            "VALUES (%s, %s, '{}'::jsonb, %s, %s, %s) RETURNING id",
            (TAG, M[0], created, published, not_before),
        )[0][0]
    for key, members, received in (
        ("old", [M[0]], now - 31 * DAY),
        ("fresh", [M[0]], now - DAY),
        ("held", [M[0], HELD], now - 31 * DAY),
    ):
        db_exec(
            "INSERT INTO dead_letters (subscription, message_id, reason, payload, member_ids, "
            "received_at) VALUES (%s, %s, 'test', %s, %s, %s)",
            (f"{TAG}-inspect", f"{TAG}-{key}", b"{}", members, received),
        )
    for key, at in (("old", now - 40 * DAY), ("fresh", now - DAY)):
        db_exec(
            "INSERT INTO processed_events (consumer, event_key, processed_at) VALUES (%s, %s, %s)",
            (TAG, key, at),
        )
    for key, at in (("old", now - 31 * DAY), ("fresh", now - DAY)):
        db_exec(
            "INSERT INTO erasure_tombstones (member_pseudonym, erased_at) VALUES (%s, %s)",
            (f"{TAG}-tomb-{key}", at),
        )
    r_old, r_fresh, r_member = ids["requests"] = _ids(3)
    for rid, member, kind, finished in (
        (r_old, None, "erasure", now - 6 * 366 * DAY),
        (r_fresh, None, "erasure", now - 100 * DAY),
        (r_member, M[0], "restriction", now - 6 * 366 * DAY),
    ):
        db_exec(
            "INSERT INTO privacy_requests (id, member_id, kind, origin, status, received_at, "
            "finished_at) VALUES (%s, %s, %s, 'member', 'done', %s, %s)",
            (rid, member, kind, finished - DAY, finished),
        )

    # Messages a year after sending, who they reached (the inbox of a broadcast) a year too,
    # pushes 30 days.
    m_old, m_fresh, m_all, m_held = ids["messages"] = _ids(4)
    for mid, member, send_at in (
        (m_old, M[0], now - 400 * DAY),
        (m_fresh, M[0], now - 10 * DAY),
        (m_all, None, now - 400 * DAY),
        (m_held, HELD, now - 400 * DAY),
    ):
        db_exec(
            "INSERT INTO messages (id, category, title_nb, title_en, body_nb, body_en, "
            "audience_kind, member_id, send_at, status, origin, created_by, created_at) "
            "VALUES (%s, 'news', 't', 't', 'b', 'b', %s, %s, %s, 'sent', 'system', %s, %s)",
            (mid, "member" if member else "all", member, send_at, TAG, send_at),
        )
    for mid, member, at in (
        (m_old, M[0], now - 400 * DAY),
        (m_fresh, M[0], now - 370 * DAY),
        (m_fresh, M[1], now - 100 * DAY),
    ):
        db_exec(
            "INSERT INTO message_recipients (message_id, member_id, outcome, processed_at) "
            "VALUES (%s, %s, 'delivered', %s)",
            (mid, member, at),
        )
    for mid, device, at in (
        (m_old, "c", now - 400 * DAY),
        (m_fresh, "a", now - 40 * DAY),
        (m_fresh, "b", now - 5 * DAY),
    ):
        db_exec(
            "INSERT INTO push_deliveries (message_id, device_id, member_id, state, "
            "updated_at) VALUES (%s, %s, %s, 'sent', %s)",
            (mid, f"{TAG}-{device}", M[0], at),
        )

    # Firestore: inbox items a year.
    inbox = fs.collection("inbox_items")
    for key, member, created in (
        ("old", M[0], now - 400 * DAY),
        ("fresh", M[0], now - 10 * DAY),
        ("held", HELD, now - 400 * DAY),
    ):
        inbox.document(f"{TAG}-{key}").set(
            {
                "member_id": member,
                "message_id": TAG,
                "category": "news",
                "created_at": created,
                "read_at": None,
                "expires_at": created + 365 * DAY,
            }
        )
    # Device registrations (SQL): 270 days unseen.
    regs = {
        "stale0": (M[0], now - 300 * DAY),
        "live0": (M[0], now - DAY),
        "stale1": (M[1], now - 300 * DAY),
        "live2": (M[2], now - DAY),
        "held": (HELD, now - 300 * DAY),
    }
    for name, (member, seen) in regs.items():
        db_exec(
            "INSERT INTO devices (id, member_id, fcm_token, platform, app_version, locale, "
            "created_at, last_seen_at) VALUES (%s, %s, %s, 'ios', '1.0', 'nb', %s, %s)",
            (dev(name), member, f"{TAG}-token-{name}", seen, seen),
        )

    yield ids

    for mid in ids["messages"]:
        db_exec("DELETE FROM messages WHERE id = %s", (mid,))
    for sql, params in (
        ("DELETE FROM salary_answers WHERE year = ANY(%s)", ([OLD_YEAR, FRESH_YEAR],)),
        ("DELETE FROM salary_release_tables WHERE year = ANY(%s)", ([OLD_YEAR, FRESH_YEAR],)),
        ("DELETE FROM salary_releases WHERE year = ANY(%s)", ([OLD_YEAR, FRESH_YEAR],)),
        ("DELETE FROM salary_rounds WHERE year = ANY(%s)", ([OLD_YEAR, FRESH_YEAR],)),
        ("DELETE FROM mentor_proposals WHERE round_id = %s", (ids["round"],)),
        ("DELETE FROM mentor_rounds WHERE id = %s", (ids["round"],)),
        (
            "DELETE FROM mentorships WHERE id = ANY(%s::uuid[])",
            ([str(i) for i in ids["mentorships"]],),
        ),
        ("DELETE FROM audit_events WHERE actor = %s", (TAG,)),
        ("DELETE FROM idempotency_keys WHERE key LIKE %s", (TAG + "-%",)),
        ("DELETE FROM outbox WHERE topic = %s", (TAG,)),
        ("DELETE FROM dead_letters WHERE subscription = %s", (f"{TAG}-inspect",)),
        ("DELETE FROM processed_events WHERE consumer = %s", (TAG,)),
        ("DELETE FROM erasure_tombstones WHERE member_pseudonym LIKE %s", (TAG + "-%",)),
        (
            "DELETE FROM privacy_requests WHERE id = ANY(%s::uuid[])",
            ([str(i) for i in ids["requests"]],),
        ),
        ("DELETE FROM processing_restrictions WHERE member_id = %s", (HELD,)),
    ):
        db_exec(sql, params)
    for key in ("old", "fresh", "held"):
        inbox.document(f"{TAG}-{key}").delete()
    db_exec("DELETE FROM devices WHERE id = ANY(%s)", ([dev(name) for name in regs],))


@pytest.fixture(scope="module")
def runs(stack, arranged):
    first = _fire(stack)
    second = _fire(stack)
    return first, second


def _exists(db_exec, sql, params) -> bool:
    return bool(db_exec(sql, params))


def test_the_job_reports_deletions_per_store_and_a_second_run_finds_nothing(runs):
    (status, body), (status2, body2) = runs
    assert status == 200, body
    deleted = body["deleted"]
    expected = {
        "salary_answers": 1,
        "mentor_proposals": 1,
        "mentorship_feedback": 1,
        "mentorships": 1,
        "audit_events": 1,
        "idempotency_keys": 1,
        "outbox": 1,
        "dead_letters": 1,
        "processed_events": 1,
        "erasure_tombstones": 1,
        "privacy_requests": 1,
        "messages": 2,
        "message_recipients": 2,
        "push_deliveries": 2,
        "inbox_items": 1,
        "devices": 2,
    }
    short = {k: (deleted.get(k), n) for k, n in expected.items() if (deleted.get(k) or 0) < n}
    assert not short, f"deleted fewer than arranged: {short}"
    assert body["total"] == sum(deleted.values()) and body["unfinished"] == []
    assert body["swept_at"].endswith("Z")
    assert status2 == 200 and body2["total"] == 0, body2["deleted"]
    assert set(body2["deleted"]) == set(deleted)


def test_old_sql_rows_go_and_fresh_or_unfinished_ones_stay(runs, arranged, db_exec):
    ids = arranged
    gone, kept = [], []

    def check(expect_kept: bool, sql: str, params: tuple):
        (kept if _exists(db_exec, sql, params) else gone).append((sql, params, expect_kept))

    answers = "SELECT 1 FROM salary_answers WHERE year = %s AND member_id = %s"
    check(False, answers, (OLD_YEAR, M[0]))
    check(True, answers, (FRESH_YEAR, M[0]))
    p_old, p_fresh, p_open, _ = ids["proposals"]
    proposal = "SELECT 1 FROM mentor_proposals WHERE id = %s"
    check(False, proposal, (p_old,))
    check(True, proposal, (p_fresh,))
    check(True, proposal, (p_open,))
    s_old, s_fresh, s_active = ids["mentorships"]
    ship = "SELECT 1 FROM mentorships WHERE id = %s"
    check(False, ship, (s_old,))
    check(True, ship, (s_fresh,))
    check(True, ship, (s_active,))
    feedback = "SELECT 1 FROM mentorship_feedback WHERE mentorship_id = %s"
    check(False, feedback, (s_old,))
    check(True, feedback, (s_fresh,))
    check(True, feedback, (s_active,))
    audit = "SELECT 1 FROM audit_events WHERE member_pseudonym = %s"
    check(False, audit, (ids["pseudonyms"]["old"],))
    check(True, audit, (ids["pseudonyms"]["fresh"],))
    check(False, "SELECT 1 FROM idempotency_keys WHERE key = %s", (f"{TAG}-old",))
    check(True, "SELECT 1 FROM idempotency_keys WHERE key = %s", (f"{TAG}-fresh",))
    outbox = "SELECT 1 FROM outbox WHERE id = %s"
    check(False, outbox, (ids["outbox"]["old"],))
    check(True, outbox, (ids["outbox"]["fresh"],))
    check(True, outbox, (ids["outbox"]["unpublished"],))
    dead = "SELECT 1 FROM dead_letters WHERE message_id = %s"
    check(False, dead, (f"{TAG}-old",))
    check(True, dead, (f"{TAG}-fresh",))
    events = "SELECT 1 FROM processed_events WHERE consumer = %s AND event_key = %s"
    check(False, events, (TAG, "old"))
    check(True, events, (TAG, "fresh"))
    tomb = "SELECT 1 FROM erasure_tombstones WHERE member_pseudonym = %s"
    check(False, tomb, (f"{TAG}-tomb-old",))
    check(True, tomb, (f"{TAG}-tomb-fresh",))
    r_old, r_fresh, r_member = ids["requests"]
    request = "SELECT 1 FROM privacy_requests WHERE id = %s"
    check(False, request, (r_old,))
    check(True, request, (r_fresh,))
    check(True, request, (r_member,))  # not a receipt: it goes when membership ends
    m_old, m_fresh, m_all, _ = ids["messages"]
    message = "SELECT 1 FROM messages WHERE id = %s"
    check(False, message, (m_old,))
    check(False, message, (m_all,))
    check(True, message, (m_fresh,))
    recipient = "SELECT 1 FROM message_recipients WHERE message_id = %s AND member_id = %s"
    check(False, recipient, (m_fresh, M[0]))
    check(True, recipient, (m_fresh, M[1]))
    push = "SELECT 1 FROM push_deliveries WHERE device_id = %s"
    check(False, push, (f"{TAG}-a",))
    check(True, push, (f"{TAG}-b",))
    wrong = [(sql, params) for sql, params, expect in kept if not expect]
    wrong += [(sql, params) for sql, params, expect in gone if expect]
    assert not wrong, f"retention got these wrong: {wrong}"


def test_old_inbox_items_go_and_fresh_ones_stay(runs, fs):
    inbox = fs.collection("inbox_items")
    assert not inbox.document(f"{TAG}-old").get().exists
    assert inbox.document(f"{TAG}-fresh").get().exists


def test_unused_devices_go_and_recently_seen_ones_stay(runs, db_exec):
    left = {
        r[0]
        for r in db_exec(
            "SELECT id FROM devices WHERE id = ANY(%s)",
            ([dev(n) for n in ("stale0", "stale1", "live0", "live2")],),
        )
    }
    assert left == {dev("live0"), dev("live2")}


def test_a_restricted_members_data_is_held_past_its_retention(runs, arranged, db_exec, fs):
    assert _exists(
        db_exec, "SELECT 1 FROM salary_answers WHERE year = %s AND member_id = %s", (OLD_YEAR, HELD)
    )
    assert _exists(
        db_exec, "SELECT 1 FROM mentor_proposals WHERE id = %s", (arranged["proposals"][3],)
    )
    assert _exists(
        db_exec,
        "SELECT 1 FROM audit_events WHERE member_pseudonym = %s",
        (arranged["pseudonyms"]["held"],),
    )
    assert _exists(db_exec, "SELECT 1 FROM idempotency_keys WHERE key = %s", (f"{TAG}-held",))
    assert _exists(db_exec, "SELECT 1 FROM dead_letters WHERE message_id = %s", (f"{TAG}-held",))
    assert _exists(db_exec, "SELECT 1 FROM messages WHERE id = %s", (arranged["messages"][3],))
    assert fs.collection("inbox_items").document(f"{TAG}-held").get().exists
    assert _exists(db_exec, "SELECT 1 FROM devices WHERE id = %s", (dev("held"),))


def test_the_old_rounds_release_stays_when_its_answers_go(runs, db_exec):
    """A release is anonymous output, never republished: retention deletes the answers only."""
    assert not _exists(
        db_exec, "SELECT 1 FROM salary_answers WHERE year = %s AND member_id = %s", (OLD_YEAR, M[0])
    )
    assert _exists(db_exec, "SELECT 1 FROM salary_releases WHERE year = %s", (OLD_YEAR,))


def test_only_the_scheduler_may_run_the_job(stack):
    state = stack.state()
    request = fire.build_request(state, "retention", "not-a-token")
    assert fire.send(request)[0] == 401
    no_token = fire.FireRequest(request.method, request.url, {"User-Agent": fire.USER_AGENT}, None)
    assert fire.send(no_token)[0] == 401
