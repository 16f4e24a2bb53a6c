"""Push envelopes are decoded strictly, and the framework's own error pages echo nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import flask
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lederappen.core import events

ROOT = Path(__file__).resolve().parents[2]
DATA = base64.b64encode(b'{"a": 1}').decode()


def test_a_well_formed_envelope_gives_id_attributes_and_raw_data():
    msg = events.envelope(
        json.dumps(
            {
                "message": {"data": DATA, "messageId": "42", "attributes": {"k": "v"}},
                "subscription": "s",
            }
        ).encode()
    )
    assert (msg["_id"], msg["_attributes"], msg["_raw"]) == ("42", {"k": "v"}, b'{"a": 1}')


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "not-json"),
        (b"", "not-json"),
        (b"[]", "no-message"),
        (json.dumps({"subscription": "s"}).encode(), "no-message"),
        (json.dumps({"message": "x"}).encode(), "no-message"),
        (json.dumps({"message": {"data": DATA}}).encode(), "no-message-id"),
        (json.dumps({"message": {"data": DATA, "messageId": 7}}).encode(), "no-message-id"),
        (json.dumps({"message": {"messageId": "1"}}).encode(), "no-data"),
        (json.dumps({"message": {"messageId": "1", "data": ""}}).encode(), "no-data"),
        (json.dumps({"message": {"messageId": "1", "data": "%%%"}}).encode(), "bad-base64"),
        (b'"\x80"', "not-json"),  # a JSON string that is not UTF-8 (found by the property below)
        (b'{"message": {"messageId": "\xff", "data": "e30="}}', "not-json"),
    ],
)
def test_an_undecodable_envelope_names_its_reason(body, reason):
    with pytest.raises(events.Malformed) as err:
        events.envelope(body)
    assert err.value.reason == reason


@given(st.binary(max_size=200))
def test_any_bytes_either_decode_or_raise_malformed_never_anything_else(body):
    try:
        events.envelope(body)
    except events.Malformed as exc:
        assert exc.reason in ("not-json", "no-message", "no-message-id", "no-data", "bad-base64")


@pytest.fixture(scope="module")
def app():
    import os

    import functions_framework
    from lederappen.core import config

    env = {
        "GOOGLE_CLOUD_PROJECT": "p",
        "PSEUDONYM_KEY": base64.b64encode(b"k" * 32).decode(),
        "DB_NAME": "x",
        "DB_USER": "u",
        "DB_PASSWORD": "pw",
    }
    saved = {k: os.environ.get(k) for k in (*env, "FUNCTION_TARGET")}
    os.environ.update(env)  # meta validates its settings when created (nothing connects)
    try:
        app = functions_framework.create_app("meta", str(ROOT / "functions" / "main.py"))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        config.reset()

    def echo_bad_request():
        flask.abort(400, description=f"Got HTTP headers: {flask.request.headers}")

    def crash():
        raise RuntimeError("secret-value in an exception")

    app.add_url_rule("/_bad", "bad", echo_bad_request)
    app.add_url_rule("/_crash", "crash", crash)
    return app


@pytest.mark.parametrize("path, status", [("/_bad", 400), ("/_crash", 500), ("/favicon.ico", 404)])
def test_the_frameworks_own_errors_are_problem_json_echoing_nothing(app, path, status):
    resp = app.test_client().get(path, headers={"Authorization": "Bearer secret-token"})
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["type"].startswith("https://api.lederne.no/problems/")
    assert b"secret" not in resp.data
