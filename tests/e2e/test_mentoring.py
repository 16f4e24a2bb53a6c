"""Mentor engagement end to end (F7): sign up, change, withdraw; voluntary, validated,
one's own only."""

import pytest

from infra.local import demo_data

pytestmark = pytest.mark.stack
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[260:280]]


def mentor(**overrides) -> dict:
    body = {
        "notice_acknowledged": True,
        "topics": ["leadership", "hse"],
        "industry": "C",
        "county": "03",
        "position_level": "senior",
        "years_as_manager": 12,
        "formats": ["digital", "in_person"],
        "languages": ["nb", "en"],
        "capacity": 2,
        "presentation": "Jeg har ledet produksjon i femten år.",
    }
    body.update(overrides)
    return body


def test_a_member_signs_up_as_both_and_sees_it(api, token):
    tok = token(MEMBERS[0])
    start = api.get("/v1/mentoring/engagement", token=tok)
    assert start.status == 200
    assert start.json()["mentor"] is None and start.json()["mentee"] is None
    assert "frivillig" in start.json()["notice"]["nb"]
    resp = api.put(
        "/v1/mentoring/engagement/mentor",
        token=tok,
        headers={"If-Match": '"0"'},
        json_body=mentor(),
    )
    assert resp.status == 201 and resp.headers["ETag"] == '"1"'
    assert resp.json()["capacity"] == 2 and resp.json()["topics"] == ["leadership", "hse"]
    mentee = mentor(capacity=None, position_level="middle", topics=["labour_law"])
    assert (
        api.put(
            "/v1/mentoring/engagement/mentee",
            token=tok,
            headers={"If-Match": '"0"'},
            json_body=mentee,
        ).status
        == 201
    )
    both = api.get("/v1/mentoring/engagement", token=tok).json()
    assert both["mentor"]["role"] == "mentor" and both["mentee"]["topics"] == ["labour_law"]
    assert "capacity" not in both["mentee"]


def test_changes_need_the_current_version(api, token):
    tok = token(MEMBERS[1])
    path = "/v1/mentoring/engagement/mentor"
    assert api.put(path, token=tok, headers={"If-Match": '"0"'}, json_body=mentor()).status == 201
    assert api.put(path, token=tok, json_body=mentor()).status == 428
    assert api.put(path, token=tok, headers={"If-Match": '"0"'}, json_body=mentor()).status == 412
    changed = api.put(path, token=tok, headers={"If-Match": '"1"'}, json_body=mentor(capacity=3))
    assert changed.status == 200 and changed.json()["capacity"] == 3
    assert changed.json()["version"] == 2


def test_withdrawing_deletes_the_sign_up(api, token, db_exec):
    tok = token(MEMBERS[2])
    api.put(
        "/v1/mentoring/engagement/mentee",
        token=tok,
        headers={"If-Match": '"0"'},
        json_body=mentor(capacity=None),
    )
    assert api.delete("/v1/mentoring/engagement/mentee", token=tok).status == 204
    assert (
        db_exec("SELECT count(*) FROM mentor_engagements WHERE member_id = %s", (MEMBERS[2],))[0][0]
        == 0
    )
    assert api.delete("/v1/mentoring/engagement/mentee", token=tok).status == 404


@pytest.mark.parametrize(
    "role, change, fields",
    [
        ("mentor", {"notice_acknowledged": False}, {"notice_acknowledged"}),
        ("mentor", {"topics": ["knitting"]}, {"topics"}),
        ("mentor", {"capacity": None}, {"capacity"}),
        ("mentee", {}, {"capacity"}),
        ("mentor", {"county": None}, {"county"}),
        (
            "mentor",
            {"industry": "ZZ", "position_level": "boss", "languages": ["de"]},
            {"industry", "position_level", "languages"},
        ),
        ("mentor", {"capacity": 11}, {"capacity"}),
        ("mentor", {"presentation": "x" * 1001}, {"presentation"}),
    ],
)
def test_bad_sign_ups_name_every_field_and_change_nothing(
    api, token, db_exec, role, change, fields
):
    tok = token(MEMBERS[3])
    resp = api.put(
        f"/v1/mentoring/engagement/{role}",
        token=tok,
        headers={"If-Match": '"0"'},
        json_body=mentor(**change),
    )
    assert resp.status == 422, resp.text
    assert fields <= {e["field"] for e in resp.json()["errors"]}
    assert (
        db_exec("SELECT count(*) FROM mentor_engagements WHERE member_id = %s", (MEMBERS[3],))[0][0]
        == 0
    )


def test_unknown_roles_and_staff_get_nothing(api, token):
    tok = token(MEMBERS[4])
    assert (
        api.put(
            "/v1/mentoring/engagement/guru",
            token=tok,
            headers={"If-Match": '"0"'},
            json_body=mentor(),
        ).status
        == 404
    )
    assert api.get("/v1/mentoring/engagement", token=token("redaktor")).status == 403
    assert api.get("/v1/mentoring/engagement").status == 401
