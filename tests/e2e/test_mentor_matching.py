"""Mentor matching end to end (F7, R9): a round proposes pairs with reasons, both accept,
both consent, and only then each sees the other's contact details, read live and audited.

Rounds run over the whole pool, so each test starts from a pool of only its own members
(`pool` clears every sign-up and proposal first)."""

import concurrent.futures
import json
import uuid

import pytest

from infra.local import demo_data, fire
from tests.conftest import eventually

pytestmark = pytest.mark.stack
MEMBERS = [
    m["member_id"]
    for m in demo_data.generate_members(400)[340:380]
    if m["membership"]["status"] == "active"
]
COORDINATOR = "mentorkoordinator"


def sign_up(api, tok, role, **overrides):
    body = {
        "notice_acknowledged": True,
        "topics": ["leadership", "hse"],
        "industry": "C",
        "county": "03",
        "position_level": "first_line" if role == "mentee" else "senior",
        "years_as_manager": 1 if role == "mentee" else 15,
        "formats": ["digital", "in_person"],
        "languages": ["nb"],
        "presentation": f"Presentasjon for {role}.",
    }
    if role == "mentor":
        body["capacity"] = 1
    body.update(overrides)
    current = api.get("/v1/mentoring/engagement", token=tok).json()[role]
    resp = api.put(
        f"/v1/mentoring/engagement/{role}",
        token=tok,
        json_body=body,
        headers={"If-Match": f'"{current["version"] if current else 0}"'},
    )
    assert resp.status in (200, 201), resp.text
    return resp.json()


@pytest.fixture()
def pool(db_exec):
    for table in ("mentorship_feedback", "mentorships", "mentor_proposals", "mentor_engagements"):
        db_exec(f"DELETE FROM {table}")
    db_exec("DELETE FROM processing_restrictions WHERE member_id = ANY(%s)", (MEMBERS,))
    yield


def run_round(api, token):
    resp = api.post("/v1/admin/mentoring/rounds", token=token(COORDINATOR))
    assert resp.status == 201, resp.text
    return resp.json()


def proposals(api, tok):
    resp = api.get("/v1/mentoring/proposals", token=tok)
    assert resp.status == 200
    return resp.json()["items"]


def consent(api, tok, action="give"):
    terms = {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}
    t = terms["mentor_contact_sharing"]
    body = {
        "purpose": "mentor_contact_sharing",
        "action": action,
        "terms_version": t["version"],
        "text_hash": t["text_hash"] if action == "give" else None,
        "app_version": "3.2.1",
    }
    assert api.post("/v1/consents", token=tok, json_body=body).status in (200, 201)


def test_two_members_are_proposed_accept_consent_and_then_see_each_other(api, token, pool, db_exec):
    mentee, mentor = MEMBERS[0], MEMBERS[1]
    a, b = token(mentee), token(mentor)
    sign_up(api, a, "mentee")
    sign_up(api, b, "mentor", presentation="Jeg liker å hjelpe nye ledere.")
    result = run_round(api, token)
    assert result["proposed"] == 1 and result["mentees_in_pool"] == 1

    mine = proposals(api, a)
    assert len(mine) == 1
    p = mine[0]
    assert p["role"] == "mentee" and p["status"] == "open" and p["score"] == 1.0
    codes = [r["code"] for r in p["reasons"]]
    assert codes[0] == "shared_topics" and {"same_county", "more_experienced"} <= set(codes)
    assert all(r["nb"] and r["en"] for r in p["reasons"])
    assert p["shared_topics"] == ["hse", "leadership"]
    assert p["other"]["engagement"]["presentation"] == "Jeg liker å hjelpe nye ledere."
    # never the other's identity before both said yes and consented
    profile_b = api.get("/v1/profile", token=b).json()
    text = json.dumps(mine)
    for secret in (mentor, profile_b["email"], profile_b["family_name"]):
        assert secret not in text
    theirs = proposals(api, b)
    assert [x["id"] for x in theirs] == [p["id"]] and theirs[0]["role"] == "mentor"

    # the proposal reached both as a direct message in the inbox
    def inbox_titles(tok):
        items = api.get("/v1/inbox", token=tok).json()["items"]
        return [i["title"] for i in items]

    assert eventually(
        lambda: any("mentor til deg" in json.dumps(t, ensure_ascii=False) for t in inbox_titles(a)),
        timeout=30,
    )
    assert eventually(
        lambda: any("mentee til deg" in json.dumps(t, ensure_ascii=False) for t in inbox_titles(b)),
        timeout=30,
    )

    first = api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=a)
    assert first.status == 200 and first.json()["status"] == "open"
    assert first.json()["your_answer"] == "accepted"
    assert proposals(api, b)[0]["their_answer"] == "answered"
    # accepting again changes nothing
    assert api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=a).status == 200
    both = api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=b)
    assert both.status == 200 and both.json()["status"] == "accepted"

    ships = api.get("/v1/mentoring/mentorships", token=a).json()["items"]
    assert len(ships) == 1 and ships[0]["status"] == "active" and ships[0]["id"] == p["id"]
    assert ships[0]["contact_sharing"] == {
        "you_consented": False,
        "other_consented": False,
        "available": False,
    }
    path = f"/v1/mentoring/mentorships/{p['id']}/contact"
    refused = api.get(path, token=a)
    assert refused.status == 409 and refused.json()["reason"] == "your_consent_missing"
    consent(api, a)
    refused = api.get(path, token=a)
    assert refused.status == 409 and refused.json()["reason"] == "other_consent_missing"
    assert (
        db_exec("SELECT count(*) FROM audit_events WHERE action = 'shown_to_mentoring_partner'")[0][
            0
        ]
        == 0
    )

    consent(api, b)
    shown = api.get(path, token=a)
    assert shown.status == 200
    assert shown.json()["email"] == profile_b["email"]
    assert shown.json()["family_name"] == profile_b["family_name"]
    back = api.get(path, token=b).json()
    assert back["email"] == api.get("/v1/profile", token=a).json()["email"]
    # audited, pseudonymised, and nothing of the contact details stored anywhere here
    audit = db_exec(
        "SELECT member_pseudonym, actor_kind, actor, category FROM audit_events "
        "WHERE action = 'shown_to_mentoring_partner'"
    )
    assert len(audit) == 2 and {r[1] for r in audit} == {"member"}
    assert not {mentee, mentor} & {v for r in audit for v in r}
    assert {r[3] for r in audit} == {"profile"}
    dump = json.dumps(db_exec("SELECT row_to_json(p)::text FROM mentor_proposals p"))
    assert profile_b["email"] not in dump

    # the acceptance reached both as a direct message
    assert eventually(
        lambda: any("sagt ja" in json.dumps(t, ensure_ascii=False) for t in inbox_titles(b)),
        timeout=30,
    )

    # a withdrawn consent closes the door again
    consent(api, b, action="withdraw")
    assert api.get(path, token=a).status == 409

    # feedback is private; ending tells the other side
    fb = api.put(
        f"/v1/mentoring/mentorships/{p['id']}/feedback",
        token=a,
        json_body={"rating": 5, "comment": "Veldig nyttig."},
    )
    assert fb.status == 200 and fb.json()["rating"] == 5
    assert api.get("/v1/mentoring/mentorships", token=b).json()["items"][0]["your_feedback"] is None
    bad = api.put(f"/v1/mentoring/mentorships/{p['id']}/feedback", token=a, json_body={"rating": 6})
    assert bad.status == 422
    ended = api.post(f"/v1/mentoring/mentorships/{p['id']}/end", token=a)
    assert ended.status == 200 and ended.json()["status"] == "ended"
    assert ended.json()["ended_by"] == "you"
    other_view = api.get("/v1/mentoring/mentorships", token=b).json()["items"][0]
    assert other_view["ended_by"] == "other" and other_view["contact_sharing"] is None
    assert api.get(path, token=a).json()["reason"] == "ended"


def test_without_consent_contact_details_are_never_shown(api, token, pool, db_exec):
    mentee, mentor = MEMBERS[2], MEMBERS[3]
    a, b = token(mentee), token(mentor)
    sign_up(api, a, "mentee")
    sign_up(api, b, "mentor")
    consent(api, a)  # only one side consents
    run_round(api, token)
    p = proposals(api, a)[0]
    for tok in (a, b):
        assert api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=tok).status == 200
    for tok in (a, b):
        resp = api.get(f"/v1/mentoring/mentorships/{p['id']}/contact", token=tok)
        assert resp.status == 409
        assert "email" not in resp.json()


def test_others_proposals_are_not_found_and_expired_ones_conflict(api, token, pool, db_exec):
    mentee, mentor, stranger = MEMBERS[4], MEMBERS[5], MEMBERS[6]
    a, b, c = token(mentee), token(mentor), token(stranger)
    sign_up(api, a, "mentee")
    sign_up(api, b, "mentor")
    run_round(api, token)
    p = proposals(api, a)[0]
    for path in (f"/v1/mentoring/proposals/{p['id']}", f"/v1/mentoring/proposals/{p['id']}/accept"):
        resp = api.request("GET" if path.endswith(p["id"]) else "POST", path, token=c)
        assert resp.status == 404 and resp.headers["Content-Type"].startswith(
            "application/problem+json"
        )
    for pid in (str(uuid.uuid4()), "not-a-uuid"):
        assert api.post(f"/v1/mentoring/proposals/{pid}/accept", token=a).status == 404
    assert api.get(f"/v1/mentoring/mentorships/{p['id']}/contact", token=c).status == 404

    db_exec(
        "UPDATE mentor_proposals SET expires_at = now() - interval '1 minute' WHERE id = %s",
        (p["id"],),
    )
    before = db_exec("SELECT status, mentee_answer FROM mentor_proposals WHERE id = %s", (p["id"],))
    late = api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=a)
    assert late.status == 409 and late.json()["reason"] == "expired"
    assert (
        db_exec("SELECT status, mentee_answer FROM mentor_proposals WHERE id = %s", (p["id"],))
        == before
    )

    # the next round expires it, tells both, and offers the mentee someone else
    other_mentor = MEMBERS[7]
    sign_up(api, token(other_mentor), "mentor")
    result = run_round(api, token)
    assert result["expired_before_round"] == 1 and result["proposed"] == 1
    now = {x["status"]: x for x in proposals(api, a)}
    assert set(now) == {"expired", "open"}
    assert now["open"]["id"] != p["id"]
    assert (
        db_exec("SELECT mentor_id FROM mentor_proposals WHERE id = %s", (now["open"]["id"],))[0][0]
        == other_mentor
    )


def test_a_declined_pair_is_never_proposed_again(api, token, pool):
    a, b = token(MEMBERS[8]), token(MEMBERS[9])
    sign_up(api, a, "mentee")
    sign_up(api, b, "mentor")
    run_round(api, token)
    p = proposals(api, b)[0]
    declined = api.post(f"/v1/mentoring/proposals/{p['id']}/decline", token=b)
    assert declined.status == 200 and declined.json()["status"] == "declined"
    assert api.post(f"/v1/mentoring/proposals/{p['id']}/accept", token=a).status == 409
    assert run_round(api, token)["proposed"] == 0
    assert [x["status"] for x in proposals(api, a)] == ["declined"]


def test_restricted_members_are_not_matched(api, token, pool, db_exec):
    a, b = token(MEMBERS[10]), token(MEMBERS[11])
    sign_up(api, a, "mentee")
    sign_up(api, b, "mentor")
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[10],))
    result = run_round(api, token)
    assert result["mentees_in_pool"] == 0 and result["proposed"] == 0
    db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (MEMBERS[10],))
    assert run_round(api, token)["proposed"] == 1


def test_concurrent_accepts_of_a_mentors_last_place_have_one_winner(api, token, pool, db_exec):
    mentor = MEMBERS[12]
    m = token(mentor)
    sign_up(api, m, "mentor", capacity=2)
    mentees = MEMBERS[13:15]
    for member in mentees:
        sign_up(api, token(member), "mentee")
    assert run_round(api, token)["proposed"] == 2
    ids = [proposals(api, token(member))[0]["id"] for member in mentees]
    for member, pid in zip(mentees, ids):
        assert api.post(f"/v1/mentoring/proposals/{pid}/accept", token=token(member)).status == 200
    sign_up(api, m, "mentor", capacity=1)  # no active mentee yet: allowed

    def accept(pid):
        return api.post(f"/v1/mentoring/proposals/{pid}/accept", token=m).status

    with concurrent.futures.ThreadPoolExecutor(2) as pool_:
        statuses = sorted(pool_.map(accept, ids))
    assert statuses == [200, 409]
    assert (
        db_exec(
            "SELECT count(*) FROM mentorships WHERE mentor_id = %s AND ended_at IS NULL", (mentor,)
        )[0][0]
        == 1
    )


def test_capacity_below_current_mentees_is_refused(api, token, pool, db_exec):
    mentor = MEMBERS[15]
    m = token(mentor)
    sign_up(api, m, "mentor", capacity=2)
    for member in MEMBERS[16:18]:
        sign_up(api, token(member), "mentee")
    run_round(api, token)
    for member in MEMBERS[16:18]:
        pid = proposals(api, token(member))[0]["id"]
        api.post(f"/v1/mentoring/proposals/{pid}/accept", token=token(member))
        assert (
            api.post(f"/v1/mentoring/proposals/{pid}/accept", token=m).json()["status"]
            == "accepted"
        )
    resp = api.put(
        "/v1/mentoring/engagement/mentor",
        token=m,
        headers={"If-Match": '"1"'},
        json_body={
            "notice_acknowledged": True,
            "topics": ["leadership"],
            "formats": ["digital"],
            "languages": ["nb"],
            "capacity": 1,
        },
    )
    assert resp.status == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["capacity"]
    assert db_exec(
        "SELECT capacity, topics FROM mentor_engagements WHERE member_id = %s AND role = 'mentor'",
        (mentor,),
    ) == [(2, ["leadership", "hse"])]


def test_staff_see_figures_but_no_member_or_free_text(api, token, pool):
    a, b = token(MEMBERS[18]), token(MEMBERS[19])
    sign_up(api, a, "mentee", presentation="Hemmelig mål om å bli direktør.")
    sign_up(api, b, "mentor")
    run_round(api, token)
    resp = api.get("/v1/admin/mentoring/figures", token=token(COORDINATOR))
    assert resp.status == 200
    body = resp.json()
    assert body["pool"]["mentees"] == 1 and body["proposals"]["open"] == 1
    assert body["recent_rounds"][0]["match_rate"] == 1.0
    text = json.dumps(body)
    assert "Hemmelig" not in text and MEMBERS[18] not in text and MEMBERS[19] not in text
    assert api.get("/v1/admin/mentoring/figures", token=a).status == 403
    assert api.post("/v1/admin/mentoring/rounds", token=token("redaktor")).status == 403


def test_the_scheduled_job_runs_a_round(stack, api, token, pool):
    sign_up(api, token(MEMBERS[20]), "mentee")
    sign_up(api, token(MEMBERS[21]), "mentor")
    state = stack.state()
    tok = fire.fetch_job_token(state, fire.job_target(state, "mentor-matching")["job_audience"])
    status, body = fire.send(fire.build_request(state, "mentor-matching", tok))
    assert status == 200 and json.loads(body)["proposed"] == 1
    status, body = fire.send(fire.build_request(state, "mentor-matching", tok))
    assert status == 200 and json.loads(body)["proposed"] == 0  # twice: one effect


def test_withdrawing_closes_open_proposals_and_tells_the_other(api, token, pool, db_exec):
    a, b = token(MEMBERS[22]), token(MEMBERS[23])
    sign_up(api, a, "mentee")
    sign_up(api, b, "mentor")
    run_round(api, token)
    assert api.delete("/v1/mentoring/engagement/mentor", token=b).status == 204
    p = proposals(api, a)[0]
    assert p["status"] == "withdrawn" and p["other"]["engagement"] is None


def test_members_whose_membership_ended_are_not_matched(api, token, pool, db_exec):
    ended = next(
        m["member_id"]
        for m in demo_data.generate_members(400)[340:380]
        if m["membership"]["status"] != "active"
    )
    sign_up(api, token(MEMBERS[24]), "mentor")
    db_exec(
        "INSERT INTO mentor_engagements (member_id, role, topics, formats, languages) "
        "VALUES (%s, 'mentee', %s, %s, %s)",
        (ended, ["leadership"], ["digital"], ["nb"]),
    )
    result = run_round(api, token)
    assert result["mentees_in_pool"] == 0 and result["proposed"] == 0
