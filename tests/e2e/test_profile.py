"""F1 Profile, end to end: the app's call through the gateway to the profile function,
which verifies the token, reads the register stand-in live and the database, and answers."""

import time

import pytest

from infra.local import demo_data

pytestmark = pytest.mark.stack


def test_demo_member_reads_their_profile_live_from_the_register(api, token):
    resp = api.get("/v1/profile", token=token(demo_data.DEMO_MEMBER_ID))
    assert resp.status == 200, resp.text
    body = resp.json()
    assert body["member_id"] == demo_data.DEMO_MEMBER_ID
    assert body["membership"]["status"] == "active"
    assert body["processing_restricted"] is False
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["ETag"].startswith('"')
    assert "national_id" not in body and "birth_date" not in body


def test_a_member_only_ever_gets_their_own_profile(api, token):
    other = demo_data.generate_members(300)[5]["member_id"]
    assert api.get("/v1/profile", token=token(other)).json()["member_id"] == other
    assert (
        api.get("/v1/profile", token=token(demo_data.DEMO_MEMBER_ID)).json()["member_id"]
        == demo_data.DEMO_MEMBER_ID
    )


def test_ended_member_sees_ended_membership(api, token):
    body = api.get("/v1/profile", token=token(demo_data.DEMO_ENDED_MEMBER_ID)).json()
    assert body["membership"]["status"] == "ended" and body["membership"]["ended_on"]


def test_profile_is_in_english_or_norwegian_by_accept_language(api):
    nb = api.get("/v1/profile", headers={"Accept-Language": "nb"})
    en = api.get("/v1/profile", headers={"Accept-Language": "en"})
    assert nb.status == en.status == 401
    assert nb.json()["title"] == "Du må logge inn"
    assert en.json()["title"] == "Authentication required"


@pytest.mark.parametrize(
    "kind",
    ["expired", "wrong_audience", "wrong_issuer", "unsigned", "other_key", "hs256_with_public_key"],
)
def test_bad_tokens_are_refused_with_401_problem(api, issuer_minter, kind):
    resp = api.get("/v1/profile", token=getattr(issuer_minter, kind)(demo_data.DEMO_MEMBER_ID))
    assert resp.status == 401
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json()["type"] == "https://api.lederne.no/problems/unauthenticated"


def test_a_token_signed_with_the_issuers_real_key_passes(api, issuer_minter):
    resp = api.get("/v1/profile", token=issuer_minter.token(demo_data.DEMO_MEMBER_ID))
    assert resp.status == 200


def test_staff_token_cannot_read_a_member_profile(api, token):
    resp = api.get("/v1/profile", token=token("personvern"))
    assert resp.status == 403
    assert resp.json()["type"] == "https://api.lederne.no/problems/forbidden"


def test_member_unknown_to_the_register_is_404(api, issuer_minter):
    resp = api.get("/v1/profile", token=issuer_minter.token("9999999"))
    assert resp.status == 404


def test_slow_register_gives_503_with_retry_after_within_bounded_time(api, token, lederne):
    t = token(demo_data.DEMO_MEMBER_ID)
    lederne.fault(delay_ms=5000, path_prefix="/api/members")
    try:
        started = time.monotonic()
        resp = api.get("/v1/profile", token=t)
        elapsed = time.monotonic() - started
    finally:
        lederne.reset()
    assert resp.status == 503
    assert resp.headers["Retry-After"].isdigit()
    assert resp.json()["dependency"] == "member-register"
    # LEDERNE_API_TIMEOUT_SECONDS is 1 in the test stack; one retry at most for a GET.
    assert elapsed < 3.5
    assert api.get("/v1/profile", token=t).status == 200


def test_failing_register_gives_503(api, token, lederne):
    t = token(demo_data.DEMO_MEMBER_ID)
    lederne.fault(status=500, path_prefix="/api/members")
    try:
        resp = api.get("/v1/profile", token=t)
    finally:
        lederne.reset()
    assert resp.status == 503


def test_restricted_member_sees_the_restriction(api, token, db_exec):
    member = demo_data.generate_members(300)[7]["member_id"]
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (member,))
    try:
        assert api.get("/v1/profile", token=token(member)).json()["processing_restricted"] is True
    finally:
        db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (member,))


def test_no_profile_field_reaches_the_logs(api, token, stack):
    member = demo_data.generate_members(300)[0]
    api.get("/v1/profile", token=token(member["member_id"]))
    logs = stack.read_logs()
    for value in (
        member["member_id"],
        member["email"],
        member["phone"],
        member["national_id"],
        member["family_name"],
        member["address"]["street"],
    ):
        assert value not in logs, "a profile value reached a log file"


def test_unknown_path_is_404_problem(api):
    resp = api.get("/v1/nope")
    assert resp.status == 404 and resp.headers["Content-Type"] == "application/problem+json"
