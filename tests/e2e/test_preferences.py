"""Preferences and interests: voluntary, validated, clearable, safe against two devices."""

import pytest

from infra.local import demo_data

pytestmark = pytest.mark.stack
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[130:140]]


def test_defaults_without_any_choice(api, token):
    resp = api.get("/v1/preferences", token=token(MEMBERS[0]))
    body = resp.json()
    assert resp.headers["ETag"] == '"0"'
    assert body["interests"] == [] and body["language"] is None
    assert "marketing" not in body["effective_notification_categories"]


def test_save_change_and_clear(api, token, db_exec):
    tok = token(MEMBERS[1])
    resp = api.put(
        "/v1/preferences",
        token=tok,
        headers={"If-Match": '"0"'},
        json_body={
            "language": "en",
            "notification_categories": ["news", "course_reminders"],
            "notification_channels": ["push"],
            "interests": ["leadership", "labour_law"],
        },
    )
    assert resp.status == 200 and resp.headers["ETag"] == '"1"'
    assert resp.json()["interests"] == ["leadership", "labour_law"]
    resp = api.put(
        "/v1/preferences", token=tok, headers={"If-Match": '"1"'}, json_body={"interests": []}
    )
    assert resp.json()["language"] is None and resp.json()["interests"] == []
    assert api.delete("/v1/preferences", token=tok).status == 204
    assert db_exec("SELECT 1 FROM member_preferences WHERE member_id = %s", (MEMBERS[1],)) == []


def test_two_devices_cannot_silently_overwrite_each_other(api, token):
    tok = token(MEMBERS[2])
    assert api.put("/v1/preferences", token=tok, json_body={"language": "nb"}).status == 428
    assert (
        api.put(
            "/v1/preferences", token=tok, headers={"If-Match": '"0"'}, json_body={"language": "nb"}
        ).status
        == 200
    )
    stale = api.put(
        "/v1/preferences", token=tok, headers={"If-Match": '"0"'}, json_body={"language": "en"}
    )
    assert stale.status == 412
    assert api.get("/v1/preferences", token=tok).json()["language"] == "nb"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"interests": ["leadership", "astrology"]}, "interests[1]"),
        ({"notification_categories": ["spam"]}, "notification_categories[0]"),
        ({"notification_channels": ["fax"]}, "notification_channels[0]"),
        ({"language": "de"}, "language"),
        ({"interests": ["leadership", "leadership"]}, "interests[1]"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_preferences_name_the_field_and_change_nothing(api, token, db_exec, body, field):
    resp = api.put(
        "/v1/preferences", token=token(MEMBERS[3]), headers={"If-Match": '"0"'}, json_body=body
    )
    assert resp.status == 422 and resp.json()["errors"][0]["field"] == field
    assert db_exec("SELECT 1 FROM member_preferences WHERE member_id = %s", (MEMBERS[3],)) == []
