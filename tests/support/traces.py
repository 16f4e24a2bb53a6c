"""What a member leaves in every store, and a scan of every store for a member's traces: the
proof, in the erasure and membership-end tests, that a forgotten member is gone everywhere."""

import uuid

from google.cloud.firestore_v1.base_query import FieldFilter
from lederappen.core import datamap

from tests.conftest import eventually

EDITOR = "redaktor"


def consent(api, tok, purpose):
    terms = {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}[purpose]
    assert api.post(
        "/v1/consents",
        token=tok,
        json_body={
            "purpose": purpose,
            "action": "give",
            "terms_version": terms["version"],
            "text_hash": terms["text_hash"],
            "app_version": "3.2.1",
        },
    ).status in (200, 201)


def device_registration(
    platform: str = "android", locale: str = "nb", installation_id: str | None = None
) -> dict:
    """A `POST /v1/devices` body with a fresh FCM-shaped token."""
    return {
        "fcm_token": f"{uuid.uuid4().hex[:22]}:APA91b{uuid.uuid4().hex * 4}"[:163],
        "platform": platform,
        "app_version": "3.2.1",
        "locale": locale,
        "installation_id": installation_id or str(uuid.uuid4()),
    }


def give_data(api, token, member) -> None:
    """The member leaves something in every kind of store the app has."""
    tok = token(member)
    current = api.get("/v1/preferences", token=tok)
    assert (
        api.put(
            "/v1/preferences",
            token=tok,
            headers={"If-Match": current.headers["ETag"]},
            json_body={"interests": ["leadership"]},
        ).status
        == 200
    )
    consent(api, tok, "newsletter")
    consent(api, tok, "mentor_contact_sharing")
    assert (
        api.put(
            "/v1/mentoring/engagement/mentee",
            token=tok,
            headers={"If-Match": '"0"'},
            json_body={
                "notice_acknowledged": True,
                "topics": ["leadership"],
                "formats": ["digital"],
                "languages": ["nb"],
            },
        ).status
        == 201
    )
    assert (
        api.post(
            "/v1/devices",
            token=tok,
            json_body=device_registration(),
        ).status
        == 201
    )
    sent = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body={
            "category": "news",
            "title": {"nb": "Hei", "en": "Hi"},
            "body": {"nb": "En melding til deg.", "en": "A message for you."},
            "audience": {"kind": "member", "member_id": member},
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert sent.status == 201, sent.text
    eventually(lambda: api.get("/v1/inbox", token=tok).json()["items"], timeout=30)


def traces(db_exec, fs, member) -> list[str]:
    """Every place in every store that still mentions the member (empty: forgotten)."""
    found = []
    tables = [
        r[0]
        for r in db_exec(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE'"
        )
    ]
    for table in tables:
        n = db_exec(
            f"SELECT count(*) FROM {table} t WHERE row_to_json(t)::text LIKE %s", (f"%{member}%",)
        )[0][0]
        if n:
            found.append(f"sql:{table}:{n}")
    for store in datamap.firestore_collections().values():
        if store.export == "document":
            if fs.collection(store.name).document(member).get().exists:
                found.append(f"firestore:{store.name}")
        else:
            docs = list(
                fs.collection(store.name)
                .where(filter=FieldFilter(store.member_key, "==", member))
                .stream()
            )
            if docs:
                found.append(f"firestore:{store.name}:{len(docs)}")
    return found


# -- the forget-proof (issue 18): every store filled through the API, then a scan of every
# column of every table, every Firestore document and the messages still queued in Pub/Sub
# for the member number, the pseudonym and the installation-id hash ---------------------------

COORDINATOR = "mentorkoordinator"
OFFICER = "personvern"


def _sign_up(api, tok, role):
    body = {
        "notice_acknowledged": True,
        "topics": ["leadership", "hse"],
        "industry": "C",
        "county": "03",
        "position_level": "first_line" if role == "mentee" else "senior",
        "years_as_manager": 1 if role == "mentee" else 15,
        "formats": ["digital", "in_person"],
        "languages": ["nb"],
        "presentation": f"Forget-proof {role}.",
    }
    if role == "mentor":
        body["capacity"] = 1
    current = api.get("/v1/mentoring/engagement", token=tok).json()[role]
    resp = api.put(
        f"/v1/mentoring/engagement/{role}",
        token=tok,
        json_body=body,
        headers={"If-Match": f'"{current["version"] if current else 0}"'},
    )
    assert resp.status in (200, 201), resp.text


def _pair(api, token, mentee, mentor) -> str:
    """A round proposes mentee and mentor (the pool holds only them); both accept and both
    see the other's contact details (audited, each the actor of an entry about the other)."""
    _sign_up(api, token(mentee), "mentee")
    _sign_up(api, token(mentor), "mentor")
    resp = api.post("/v1/admin/mentoring/rounds", token=token(COORDINATOR))
    assert resp.status == 201, resp.text
    [p] = [
        x
        for x in api.get("/v1/mentoring/proposals", token=token(mentee)).json()["items"]
        if x["status"] == "open"
    ]
    for who in (mentee, mentor):
        assert api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=token(who)).status == 200
        consent(api, token(who), "mentor_contact_sharing")
    for who in (mentee, mentor):
        shown = api.get(f"/v1/mentoring/mentorships/{p['id']}/contact", token=token(who))
        assert shown.status == 200, shown.text
    return p["id"]


def _privacy_request(api, token, member, kind):
    from tests.conftest import eventually as _eventually

    r = api.post("/v1/privacy/requests", token=token(member), json_body={"kind": kind})
    assert r.status in (200, 201), r.text
    rid = r.json()["id"]
    assert api.post(f"/v1/admin/privacy-requests/{rid}/approve", token=token(OFFICER)).status == 200
    _eventually(
        lambda: (
            api.get(f"/v1/admin/privacy-requests/{rid}", token=token(OFFICER)).json()["status"]
            == "done"
        ),
        timeout=60,
    )
    return rid


def fill_every_store(api, token, db_exec, member, mentor, mentee) -> dict:
    """Through the API, as the app, the editors, the mentor coordinator and the privacy
    officer would: salary, preferences, every consent, a device, inbox messages, mentoring
    as mentee (with `mentor`) and as mentor (with `mentee`), contact details seen both ways,
    feedback, access and export read, a restriction and its lifting. Answers the installation
    id. The mentoring pool is cleared first (a round matches the whole pool)."""
    for table in ("mentorship_feedback", "mentorships", "mentor_proposals", "mentor_engagements"):
        db_exec(f"DELETE FROM {table}")
    give_data(api, token, member)  # preferences, newsletter, device, an inbox message
    db_exec("DELETE FROM mentor_engagements WHERE member_id = %s", (member,))
    tok = token(member)
    for purpose in ("personalisation", "marketing"):
        consent(api, tok, purpose)
    installation = str(uuid.uuid4())
    assert (
        api.post(
            "/v1/devices",
            token=tok,
            json_body=device_registration("ios", "en", installation),
        ).status
        == 201
    )
    rounds = api.get("/v1/salary/rounds", token=tok).json()["items"]
    year = max(r["year"] for r in rounds if r["status"] == "open")
    resp = api.put(
        f"/v1/salary/rounds/{year}/answer",
        token=tok,
        json_body={
            "notice_acknowledged": True,
            "base_monthly_salary": 71_250,
            "position_level": "middle",
            "sector": "private",
            "nace": "C",
            "county": "03",
        },
    )
    assert resp.status in (200, 201), resp.text  # demo members may have answered already
    as_mentee = _pair(api, token, member, mentor)
    assert (
        api.put(
            f"/v1/mentoring/mentorships/{as_mentee}/feedback",
            token=tok,
            json_body={"rating": 4, "comment": "Nyttig."},
        ).status
        == 200
    )
    for table in ("mentor_engagements",):  # the next round's pool: the member as mentor
        db_exec(f"DELETE FROM {table} WHERE member_id <> %s", (member,))
    db_exec("DELETE FROM mentor_engagements WHERE member_id = %s AND role = 'mentee'", (member,))
    as_mentor = _pair(api, token, mentee, member)
    for path in ("/v1/privacy/access", "/v1/privacy/export", "/v1/privacy/export.html"):
        assert api.get(path, token=tok).status == 200
    _privacy_request(api, token, member, "restriction")
    _privacy_request(api, token, member, "lift_restriction")
    # the partners still hold entries recording what the member saw of them
    rows = db_exec(
        "SELECT count(*) FROM audit_events WHERE actor_kind = 'member' "
        "AND action = 'shown_to_mentoring_partner'"
    )
    assert rows[0][0] >= 4
    return {"installation_id": installation, "mentorships": [as_mentee, as_mentor]}


class QueuedMessages:
    """Messages still queued in the Pub/Sub emulator: a pull subscription on every topic,
    made before the erasure (`start`), and the stack's own pull subscriptions (the dead-letter
    `-inspect` ones). `read()` pulls without acknowledging, then hands each message back
    (ack deadline 0), so the functions that drain them see them as before."""

    def __init__(self, stack):
        from infra.local import emulators

        self.project = emulators.PROJECT
        self.pub, self.sub = emulators.clients(stack.urls["pubsub"])
        self.mine: list[str] = []

    def start(self) -> None:
        tag = uuid.uuid4().hex[:8]
        for topic in self.pub.list_topics(request={"project": f"projects/{self.project}"}):
            name = (
                f"projects/{self.project}/subscriptions/forget-proof-{tag}-"
                + topic.name.rsplit("/", 1)[-1]
            )
            self.sub.create_subscription(
                request={"name": name, "topic": topic.name, "ack_deadline_seconds": 10}
            )
            self.mine.append(name)

    def stop(self) -> None:
        """Deletes the test subscriptions and closes the channels (no gRPC thread is left
        polling when a later test forks a process)."""
        for name in self.mine:
            self.sub.delete_subscription(request={"subscription": name})
        self.mine = []
        self.pub.transport.close()
        self.sub.transport.close()

    def _pull_subscriptions(self) -> list[str]:
        subs = self.sub.list_subscriptions(request={"project": f"projects/{self.project}"})
        return [s.name for s in subs if not s.push_config.push_endpoint]

    def read(self) -> list[tuple[str, bytes, dict]]:
        out = []
        for name in self._pull_subscriptions():
            while True:
                resp = self.sub.pull(subscription=name, max_messages=100, return_immediately=True)
                got = resp.received_messages
                if not got:
                    break
                out += [(name, m.message.data, dict(m.message.attributes)) for m in got]
                self.sub.modify_ack_deadline(
                    subscription=name, ack_ids=[m.ack_id for m in got], ack_deadline_seconds=0
                )
                if len(got) < 100:
                    break
        return out


def forget_scan(db_exec, fs, queued, needles: dict[str, str]) -> list[str]:
    """Every place that still holds one of the needles (name -> value): each column of each
    row of each table, cast to text; each field and id of each document of each Firestore
    collection (and their subcollections); each message still queued in Pub/Sub. The tombstone
    is reported too: the caller allows exactly it."""
    import json as _json

    found = []
    tables = [
        r[0]
        for r in db_exec(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY 1"
        )
    ]
    columns: dict[str, list[str]] = {}
    for table, column in db_exec(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append(column)
    for table in tables:  # one statement a table: a count per column and needle
        probes = [(c, what, value) for c in columns[table] for what, value in needles.items()]
        counts = db_exec(
            "SELECT "
            + ", ".join(
                f'count(*) FILTER (WHERE strpos("{c}"::text, %s) > 0)' for c, _, _ in probes
            )
            + f' FROM "{table}"',
            tuple(v for _, _, v in probes),
        )[0]
        found += [f"sql:{table}.{c}:{what}:{n}" for (c, what, _), n in zip(probes, counts) if n]

    def walk(collection):
        # in pages, each its own bounded request (one stream of a large collection can run
        # past the emulator's deadline on a loaded machine)
        last = None
        while True:
            query = collection.order_by("__name__").limit(500)
            if last is not None:
                query = query.start_after(last)
            docs = list(query.stream(timeout=60))
            for doc in docs:
                text = doc.id + " " + _json.dumps(doc.to_dict(), default=str, ensure_ascii=False)
                for what, value in needles.items():
                    if value in text:
                        found.append(f"firestore:{collection.id}/{doc.id}:{what}")
                for sub in doc.reference.collections():
                    walk(sub)
            if len(docs) < 500:
                return
            last = docs[-1]

    for collection in fs.collections():
        walk(collection)
    for name, data, attributes in queued.read():
        text = data.decode("utf-8", "replace") + _json.dumps(attributes)
        for what, value in needles.items():
            if value in text:
                found.append(f"pubsub:{name.rsplit('/', 1)[-1]}:{what}")
    return found
