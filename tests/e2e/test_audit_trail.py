"""The audit trail (S2, R9) end to end: sharing a member's newsletter choice with the newsletter
system at lederne.no, operations staff inspecting, replaying and discarding a message about
members, and an editor addressing, following and cancelling a message to one member each leave
one audit entry per member concerned: who, which category, what, why and when, with the
member only as a pseudonym and never the data itself. The member sees the entries in their
access view. Uses the last active demo members of 8..49 (the first belong to the erasure
fault tests) and the last ended one."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lederappen.core import log

from infra.local import demo_data
from tests.conftest import eventually

pytestmark = pytest.mark.stack

_DEMO = demo_data.generate_members(400)[8:50]
MEMBERS = [m["member_id"] for m in _DEMO if m["membership"]["status"] == "active"][-5:]
ENDED = [m["member_id"] for m in _DEMO if m["membership"]["status"] == "ended"][-1]
OPS, OPS_SUBJECT = "driftsvakt", "staff-0005"
EDITOR, EDITOR_SUBJECT = "redaktor", "staff-0002"
COLUMNS = ("member_pseudonym", "actor_kind", "actor", "category", "action", "purpose")


@pytest.fixture(scope="module", autouse=True)
def pseudonyms(stack):
    log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))


def _entries(db_exec, member, **where) -> list[dict]:
    """The member's audit entries (as stored), oldest first, narrowed by column values."""
    sql = (
        f"SELECT {', '.join(COLUMNS)}, at FROM audit_events WHERE member_pseudonym = %s"
        + "".join(f" AND {k} = %s" for k in where)
        + " ORDER BY id"
    )
    rows = db_exec(sql, (log.pseudonym(member), *where.values()))
    return [dict(zip((*COLUMNS, "at"), r)) for r in rows]


def _nothing_identifying(db_exec, secrets) -> None:
    """No audit column anywhere holds a member number or any of the data values."""
    for secret in secrets:
        assert (
            db_exec(
                "SELECT count(*) FROM audit_events t WHERE row_to_json(t)::text LIKE %s",
                (f"%{secret}%",),
            )[0][0]
            == 0
        ), secret


def _seen_by_member(api, token, member) -> list[dict]:
    """The entries in the member's own access view (GET /v1/privacy/access), without `at`
    and the codes in words (`meaning`: every entry has them, in both languages)."""
    resp = api.get("/v1/privacy/access?store=audit_events", token=token(member))
    assert resp.status == 200, resp.text
    [section] = resp.json()["sections"]
    assert section["store"] == "audit_events" and section["items"]
    assert all(item["at"] for item in section["items"])
    assert all(
        item["meaning"]["action"]["nb"] and item["meaning"]["purpose"]["en"]
        for item in section["items"]
    )
    return [
        {k: v for k, v in item.items() if k not in ("at", "meaning")} for item in section["items"]
    ]


def _shown(entry: dict) -> dict:
    """A stored entry as the member's access view shows it."""
    return {k: entry[k] for k in ("actor_kind", "actor", "category", "action", "purpose")}


# -- sharing outside the backend: the newsletter system -----------------------------------------


def _terms(api, purpose):
    return {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}[purpose]


def _newsletter_consent(api, tok, action):
    t = _terms(api, "newsletter")
    body = {"purpose": "newsletter", "action": action, "terms_version": t["version"]}
    if action == "give":
        body["text_hash"] = t["text_hash"]
    resp = api.post("/v1/consents", token=tok, json_body=body)
    assert resp.status == 201, resp.text


def test_sharing_the_newsletter_choice_is_audited_once_per_event_and_shown_to_the_member(
    api, token, db_exec, pubsub, lederne
):
    member, tok = MEMBERS[-1], token(MEMBERS[-1])
    _newsletter_consent(api, tok, "give")
    eventually(lambda: api.get("/v1/consents", token=tok).json()["newsletter_sync"]["confirmed"])
    shared = {
        "actor_kind": "job",
        "actor": "newsletter-sync",
        "category": "consent",
        "action": "shared_with_newsletter_system",
        "purpose": "newsletter_subscription",
    }
    [entry] = _entries(db_exec, member, action=shared["action"])
    assert {k: entry[k] for k in COLUMNS} == {"member_pseudonym": log.pseudonym(member), **shared}

    # the same event delivered again: the newsletter system is called again, no second entry
    (payload,) = db_exec(
        "SELECT payload FROM outbox WHERE member_id = %s "
        "AND topic = 'newsletter-sync' ORDER BY id DESC LIMIT 1",
        (member,),
    )[0]
    payload = payload if isinstance(payload, dict) else json.loads(payload)

    def calls() -> int:
        return len(
            [r for r in lederne.requests() if r["path"] == f"/api/newsletter/subscribers/{member}"]
        )

    before = calls()
    pubsub.publish("newsletter-sync", json.dumps(payload).encode())
    eventually(lambda: calls() > before)
    time.sleep(1.5)  # the duplicate's confirming transaction, which finds its claim
    assert len(_entries(db_exec, member, action=shared["action"])) == 1

    # withdrawing sends the unsubscription: one entry of its own
    _newsletter_consent(api, tok, "withdraw")
    eventually(lambda: _entries(db_exec, member, action="unsubscribed_at_newsletter_system"))
    assert [e["action"] for e in _entries(db_exec, member, actor="newsletter-sync")] == [
        "shared_with_newsletter_system",
        "unsubscribed_at_newsletter_system",
    ]

    seen = _seen_by_member(api, token, member)
    assert {**shared, "action": "unsubscribed_at_newsletter_system"} in seen
    assert shared in seen
    _nothing_identifying(db_exec, [member, payload["event_id"]])


# -- operations staff: dead letters -----------------------------------------------------------


def test_staff_reading_replaying_and_discarding_a_dead_letter_is_audited_per_member(
    api, token, db_exec, pubsub
):
    named = MEMBERS[-3:-1]
    ops = token(OPS)
    marker = uuid.uuid4().hex
    data = {"member_id": named[0], "member_ids": [named[1]], "subscribed": "audit-trail-yes"}
    pubsub.publish("newsletter-sync", json.dumps(data).encode(), test=marker)

    def listed():
        resp = api.get("/v1/admin/dead-letters?limit=100", token=ops)
        assert resp.status == 200, resp.text
        return next(
            (i for i in resp.json()["items"] if i["attributes"].get("test") == marker), None
        )

    item = eventually(listed, timeout=20)
    assert item["member_count"] == 2
    # the list shows no payload and no member: no entry
    assert all(_entries(db_exec, m, actor=OPS_SUBJECT) == [] for m in named)

    detail = api.get(f"/v1/admin/dead-letters/{item['id']}", token=ops)
    assert detail.status == 200 and detail.json()["payload"]["member_id"] == "<redacted>"
    key = str(uuid.uuid4())
    for _ in range(2):  # a retried replay (same key) has one effect and one entry
        resp = api.post(
            f"/v1/admin/dead-letters/{item['id']}/replay",
            token=ops,
            headers={"Idempotency-Key": key},
        )
        assert resp.status == 200, resp.text
    for _ in range(2):  # discarding again changes nothing and adds nothing
        assert api.post(f"/v1/admin/dead-letters/{item['id']}/discard", token=ops).status == 200

    staff = {
        "actor_kind": "staff",
        "actor": OPS_SUBJECT,
        "category": "consent",
        "purpose": "fault_handling",
    }
    for member in named:
        entries = _entries(db_exec, member, actor=OPS_SUBJECT)
        assert [e["action"] for e in entries] == [
            "dead_letter_read",
            "dead_letter_replayed",
            "dead_letter_discarded",
        ]
        assert all({k: e[k] for k in staff} == staff for e in entries)
        assert all(e["member_pseudonym"] == log.pseudonym(member) for e in entries)
        seen = _seen_by_member(api, token, member)
        assert {**staff, "action": "dead_letter_read"} in seen
    _nothing_identifying(db_exec, [*named, "audit-trail-yes"])


# -- editors: a message to one member ---------------------------------------------------------


def _direct(api, tok, member, marker):
    """A message to one member, scheduled two days ahead (so it can still be cancelled)."""
    send_at = (datetime.now(UTC) + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    return api.post(
        "/v1/admin/messages",
        token=tok,
        json_body={
            "category": "news",
            "title": {"nb": f"Til deg {marker}", "en": f"For you {marker}"},
            "body": {"nb": "Bare til deg.", "en": "Just for you."},
            "audience": {"kind": "member", "member_id": member},
            "send_at": send_at,
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def test_an_editor_addressing_following_and_cancelling_a_message_to_one_member_is_audited(
    api, token, db_exec
):
    member, editor, marker = MEMBERS[-4], token(EDITOR), uuid.uuid4().hex[:10]
    sent = _direct(api, editor, member, marker)
    assert sent.status == 201, sent.text
    message_id = sent.json()["id"]
    assert member not in sent.text
    # the editors' list shows no member: no entry
    assert api.get("/v1/admin/messages?limit=100", token=editor).status == 200
    figures = api.get(f"/v1/admin/messages/{message_id}", token=editor)
    assert figures.status == 200 and member not in figures.text
    for _ in range(2):  # cancelling again changes nothing and adds nothing
        resp = api.post(f"/v1/admin/messages/{message_id}/cancel", token=editor)
        assert resp.status == 200 and resp.json()["status"] == "cancelled"

    staff = {
        "actor_kind": "staff",
        "actor": EDITOR_SUBJECT,
        "category": "messages",
        "purpose": "member_communication",
    }
    entries = _entries(db_exec, member, actor=EDITOR_SUBJECT)
    assert [e["action"] for e in entries] == [
        "direct_message_addressed",
        "direct_message_figures_read",
        "direct_message_cancelled",
    ]
    assert all({k: e[k] for k in staff} == staff for e in entries)
    seen = _seen_by_member(api, token, member)
    for e in entries:
        assert _shown(e) in seen
    _nothing_identifying(db_exec, [member, marker, message_id])


def test_an_address_the_register_rejects_is_audited_as_a_membership_check(api, token, db_exec):
    editor = token(EDITOR)
    resp = _direct(api, editor, ENDED, uuid.uuid4().hex[:10])
    assert resp.status == 422 and resp.json()["errors"][0]["field"] == "audience.member_id"
    [entry] = _entries(db_exec, ENDED, actor=EDITOR_SUBJECT)
    assert {k: entry[k] for k in COLUMNS} == {
        "member_pseudonym": log.pseudonym(ENDED),
        "actor_kind": "staff",
        "actor": EDITOR_SUBJECT,
        "category": "profile",
        "action": "membership_status_checked",
        "purpose": "member_communication",
    }
    assert not db_exec("SELECT 1 FROM messages WHERE member_id = %s", (ENDED,))
    _nothing_identifying(db_exec, [ENDED])
