"""The privacy officer reads one member's audit trail by member number (S2): the entries as the
member sees them, the look-up itself audited, the number never in a URL, and nobody else may
look."""

import pytest

pytestmark = pytest.mark.stack

OFFICER, OFFICER_SUBJECT = "personvern", "staff-0001"
PATH = "/v1/admin/privacy/audit-trail"
#: A member key that only this file uses (no register entry needed to hold audit entries).
MEMBER = "1980001"


def test_the_officers_look_up_is_itself_in_the_members_trail(api, token, db_exec, pseudonyms):
    db_exec("DELETE FROM audit_events WHERE member_pseudonym = %s", (pseudonyms(MEMBER),))
    first = api.post(PATH, json_body={"member_id": MEMBER}, token=token(OFFICER))
    assert first.status == 200 and first.headers["Cache-Control"] == "no-store"
    assert first.json() == {"member_id": MEMBER, "items": [], "total": 0, "next_cursor": None}
    second = api.post(
        PATH,
        json_body={"member_id": MEMBER},
        token=token(OFFICER),
        headers={"Accept-Language": "en"},
    ).json()
    assert second["total"] == 1
    [entry] = second["items"]
    assert (entry["actor_kind"], entry["actor"], entry["category"], entry["action"]) == (
        "staff",
        OFFICER_SUBJECT,
        "audit",
        "read",
    )
    assert entry["meaning"]["purpose"]["en"] == "Handling your privacy request"
    stored = db_exec(
        "SELECT count(*) FROM audit_events WHERE member_pseudonym = %s", (pseudonyms(MEMBER),)
    )[0][0]
    assert stored == 2
    # nothing in the trail names the member: they are there only as a pseudonym
    assert (
        db_exec(
            "SELECT count(*) FROM audit_events t WHERE row_to_json(t)::text LIKE %s",
            (f"%{MEMBER}%",),
        )[0][0]
        == 0
    )


@pytest.mark.parametrize("who", ["redaktor", "driftsvakt", "1000001"])
def test_only_the_privacy_officer_reads_a_members_trail(api, token, who, db_exec, pseudonyms):
    before = db_exec(
        "SELECT count(*) FROM audit_events WHERE member_pseudonym = %s", (pseudonyms(MEMBER),)
    )[0][0]
    assert api.post(PATH, json_body={"member_id": MEMBER}, token=token(who)).status == 403
    assert api.post(PATH, json_body={"member_id": MEMBER}).status == 401
    assert (
        db_exec(
            "SELECT count(*) FROM audit_events WHERE member_pseudonym = %s", (pseudonyms(MEMBER),)
        )[0][0]
        == before
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"member_id": ""}, {"member_id": "a b"}, {"member_id": "1" * 65}, {"member_id": 1980001}],
)
def test_a_missing_or_malformed_member_number_is_422_naming_the_field(api, token, body):
    resp = api.post(PATH, json_body=body, token=token(OFFICER))
    assert resp.status == 422 and resp.json()["errors"][0]["field"] == "member_id"


def test_the_member_number_is_never_in_the_url(api, token):
    # a GET with the number in the query string is not served: no URL (and so no request
    # log line) ever carries whose trail was read
    assert api.get(f"{PATH}?member_id={MEMBER}", token=token(OFFICER)).status == 405
