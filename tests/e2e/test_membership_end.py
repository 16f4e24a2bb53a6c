"""Forgotten at membership end (R5) end to end: the nightly job, fired as Cloud Scheduler would,
reconciles every member key the backend holds with the member register, queues erasure jobs
for ended memberships, and afterwards the ended members are gone from every store while
active members keep their data. The privacy officer's dry run lists who would go, and why,
without queueing anything; a run cut short resumes; a second run changes nothing."""

import base64
import json
import uuid

import pytest
from lederappen.core import log

from infra.local import demo_data, fire
from tests.conftest import LederneControl, eventually
from tests.support.firestore import emulator_client
from tests.support.traces import QueuedMessages, fill_every_store, forget_scan, give_data, traces

pytestmark = pytest.mark.stack
ACTIVE = [
    m["member_id"]
    for m in demo_data.generate_members(400)[280:300]
    if m["membership"]["status"] == "active"
]
OFFICER = "personvern"
GONE = "membership-end-test-gone"  # a key the register has never heard of
STAFF_OWNER = "staff:personvern"


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


def _fire(stack) -> dict:
    state = stack.state()
    target = fire.job_target(state, "membership-end")
    tok = fire.fetch_job_token(state, target["job_audience"])
    status, body = fire.send(fire.build_request(state, "membership-end", tok), timeout=300)
    assert status == 200, body
    return json.loads(body)


def _preview_all(api, token) -> tuple[list[dict], int]:
    found, checked, cursor = [], 0, None
    while True:
        resp = api.get(
            "/v1/admin/privacy/membership-end/preview?limit=1000"
            + (f"&cursor={cursor}" if cursor else ""),
            token=token(OFFICER),
        )
        assert resp.status == 200, resp.text
        page = resp.json()
        found += page["would_forget"]
        checked += page["checked"]
        cursor = page["next_cursor"]
        if not cursor:
            return found, checked


def _idle(db_exec) -> bool:
    return not db_exec(
        "SELECT 1 FROM privacy_requests WHERE origin = 'membership_end' AND status <> 'done'"
    )


@pytest.fixture(scope="module")
def ended(stack, api, token, db_exec, fs):
    """Two members with data in every store whose memberships then end, one who stays, and a
    key the register does not know."""
    log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))
    leaving, staying = ACTIVE[:2], ACTIVE[2]
    for member in (*leaving, staying):
        give_data(api, token, member)
    control = LederneControl(stack.urls["lederne"])
    for member in leaving:
        r = control.http.request("POST", f"{control.base}/_control/members/{member}/end")
        assert r.status == 204
    db_exec(
        "INSERT INTO member_preferences (member_id, interests) VALUES (%s, %s)", (GONE, ["hse"])
    )
    # a staff caller's idempotency key: the same column, but not a member's key
    db_exec(
        "INSERT INTO idempotency_keys (owner, key, fingerprint) VALUES (%s, %s, 'x') "
        "ON CONFLICT DO NOTHING",
        (STAFF_OWNER, "membership-end-test"),
    )
    return leaving, staying


def test_the_dry_run_lists_who_would_be_forgotten_and_changes_nothing(api, token, db_exec, ended):
    leaving, staying = ended
    before = db_exec("SELECT count(*) FROM privacy_requests")[0][0]
    found, checked = _preview_all(api, token)
    by_member = {f["member_id"]: f for f in found}
    assert checked >= 4
    for member in leaving:
        assert by_member[member]["reason"] == "membership_ended"
        assert {"member_preferences", "devices", "inbox_items", "consent_events"} <= set(
            by_member[member]["held_in"]
        )
    assert by_member[GONE]["reason"] == "unknown_to_register"
    assert staying not in by_member and STAFF_OWNER not in by_member
    assert db_exec("SELECT count(*) FROM privacy_requests")[0][0] == before
    assert (
        db_exec(
            "SELECT count(*) FROM outbox WHERE topic = 'privacy-jobs' AND published_at IS NULL"
        )[0][0]
        == 0
    )
    # each member shown to the officer is an audited access, pseudonymised
    assert (
        db_exec(
            "SELECT count(*) FROM audit_events WHERE action = 'membership_end_preview' "
            "AND member_pseudonym = %s",
            (log.pseudonym(leaving[0]),),
        )[0][0]
        >= 1
    )
    # staff only, and a bad cursor is a clear 422
    assert api.get("/v1/admin/privacy/membership-end/preview", token=token(staying)).status == 403
    bad = api.get("/v1/admin/privacy/membership-end/preview?cursor=%%%", token=token(OFFICER))
    assert bad.status == 422 and bad.headers["Content-Type"].startswith("application/problem+json")


def test_the_job_forgets_ended_members_everywhere_and_keeps_the_others(
    stack, api, token, db_exec, fs, lederne, ended
):
    leaving, staying = ended
    outcome = _fire(stack)
    assert outcome["finished"] is True
    run = outcome["run"]
    assert run["queued"] >= 3 and run["ended"] >= 2 and run["unknown"] >= 1
    assert run["checked"] >= run["ended"] + run["unknown"]
    eventually(lambda: _idle(db_exec), timeout=120)
    for member in (*leaving, GONE):
        assert traces(db_exec, fs, member) == [], member
    assert traces(db_exec, fs, staying)  # an active member keeps everything
    # a staff caller is not a member whose membership ended
    assert (
        db_exec("SELECT count(*) FROM idempotency_keys WHERE owner = %s", (STAFF_OWNER,))[0][0] == 1
    )
    assert not any(
        ":" in q["path"].rsplit("/", 1)[-1]
        for q in lederne.requests()
        if "/newsletter/subscribers/" in q["path"]
    )
    # receipts: done, no member number, the categories covered
    receipts = db_exec(
        "SELECT member_id, categories, counts FROM privacy_requests "
        "WHERE origin = 'membership_end' AND status = 'done'"
    )
    assert len(receipts) >= 3 and all(r[0] is None for r in receipts)
    assert any(r[2].get("devices") == 1 for r in receipts)
    for member in leaving:
        assert any(
            q["method"] == "DELETE"
            and "/newsletter/subscribers/" in q["path"]
            and member in q["path"]
            for q in lederne.requests()
        )
    # the staff view of runs shows figures only
    runs = api.get("/v1/admin/privacy/membership-end/runs", token=token(OFFICER)).json()
    assert runs["items"][0]["id"] == run["id"] and runs["items"][0]["finished_at"]
    assert not any(m in json.dumps(runs) for m in leaving)


def test_a_second_run_changes_nothing(stack, db_exec, ended):
    eventually(lambda: _idle(db_exec), timeout=120)
    before = db_exec("SELECT count(*) FROM privacy_requests")[0][0]
    outcome = _fire(stack)
    assert outcome["finished"] is True and outcome["resumed"] is False
    assert outcome["run"]["queued"] == 0
    assert db_exec("SELECT count(*) FROM privacy_requests")[0][0] == before


def test_a_run_cut_short_resumes_from_its_cursor(stack, db_exec, ended):
    """A run that stopped half-way (the function's time limit) is picked up by the next call:
    the keys before its cursor are not checked again."""
    _leaving, staying = ended
    keys = sorted({r[0] for r in db_exec("SELECT member_id FROM consent_events")})
    assert staying in keys
    run_id = str(uuid.uuid4())
    db_exec(
        "INSERT INTO membership_end_runs (id, trigger, started_by, started_at, cursor, "
        "checked, batches) VALUES (%s, 'schedule', 'membership-end', now(), %s, 1000, 1)",
        (run_id, staying),
    )
    outcome = _fire(stack)
    assert outcome["resumed"] is True and outcome["run"]["id"] == run_id
    assert outcome["finished"] is True and outcome["run"]["batches"] >= 2
    total = _fire(stack)["run"]["checked"]  # a fresh run checks every key
    assert outcome["run"]["checked"] - 1000 < total
    assert db_exec("SELECT cursor FROM membership_end_runs WHERE id = %s", (run_id,)) == [(None,)]


def test_a_register_that_is_down_queues_nothing(stack, db_exec, lederne, api, token, ended):
    _leaving, staying = ended
    lederne.fault(status=503, path_prefix="/api/members:batchStatus")
    state = stack.state()
    target = fire.job_target(state, "membership-end")
    tok = fire.fetch_job_token(state, target["job_audience"])
    status, _body = fire.send(fire.build_request(state, "membership-end", tok), timeout=120)
    assert status == 503
    lederne.reset()
    assert traces(db_exec, emulator_client(stack), staying)


def test_forget_proof_at_membership_end_only_the_tombstone_remains(
    stack, api, token, db_exec, fs, pseudonyms
):
    """The adversary's scan after the nightly job forgot a member who had used every store
    (tests/e2e/test_erasure.py has the same after a request): every column of every table,
    every Firestore document, every message still queued in Pub/Sub."""
    eventually(lambda: _idle(db_exec), timeout=120)
    member, mentor, mentee = ACTIVE[3], ACTIVE[4], ACTIVE[5]
    try:
        _forget_proof(stack, api, token, db_exec, fs, pseudonyms, member, mentor, mentee)
    finally:  # the suite's other tests count these entries globally: the partners' go now
        db_exec(
            "DELETE FROM audit_events WHERE member_pseudonym = ANY(%s)",
            ([pseudonyms(mentor), pseudonyms(mentee)],),
        )


def _forget_proof(stack, api, token, db_exec, fs, pseudonyms, member, mentor, mentee):
    from lederappen.core import datamap

    from tests.e2e.test_erasure import TOMBSTONE, needles_of

    filled = fill_every_store(api, token, db_exec, member, mentor, mentee)
    needles = needles_of(stack, pseudonyms, member, filled["installation_id"])
    queued = QueuedMessages(stack)
    assert any(
        f.startswith("sql:audit_events.actor:pseudonym")
        for f in forget_scan(db_exec, fs, queued, needles)
    )
    control = LederneControl(stack.urls["lederne"])
    assert (
        control.http.request("POST", f"{control.base}/_control/members/{member}/end").status == 204
    )
    queued.start()
    try:
        assert _fire(stack)["run"]["ended"] >= 1
        eventually(lambda: _idle(db_exec), timeout=120)
        eventually(
            lambda: not db_exec("SELECT 1 FROM outbox WHERE published_at IS NULL"), timeout=30
        )
        found = forget_scan(db_exec, fs, queued, needles)
    finally:
        queued.stop()
    assert found == TOMBSTONE
    kept = db_exec(
        "SELECT DISTINCT member_pseudonym FROM audit_events WHERE actor = %s "
        "AND action = 'shown_to_mentoring_partner'",
        (datamap.ERASED_ACTOR,),
    )
    assert {k for (k,) in kept} >= {pseudonyms(mentor), pseudonyms(mentee)}
    assert traces(db_exec, fs, mentor) and traces(db_exec, fs, mentee)  # they keep theirs
