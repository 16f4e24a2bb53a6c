"""The local stand-ins for lederne.no and FCM HTTP v1, run in-process (and once as processes)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization

from infra.local import fcm_standin, lederne_standin
from infra.local.demo_data import DEMO_ENDED_MEMBER_ID, DEMO_MEMBER_ID

REPO = Path(__file__).resolve().parents[2]
API_KEY = "local-dev-api-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
FCM_AUTH = {"Authorization": "Bearer ya29.local"}
SEND = "/v1/projects/lederappen-dev/messages:send"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return str(tmp_path_factory.mktemp("keys") / "lederne.pem")


def run_lederne(key_file, scenario, **options):
    async def go():
        app = lederne_standin.build_app(key_file=key_file, **options)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(go())


def run_fcm(scenario):
    async def go():
        async with TestClient(TestServer(fcm_standin.build_app())) as client:
            await scenario(client)

    asyncio.run(go())


def base_url(client) -> str:
    return str(client.make_url("")).rstrip("/")


async def login(client, username, password="demo", client_id="lederappen", **extra):
    return await client.post(
        "/oauth2/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": client_id,
            **extra,
        },
    )


async def verify_with_jwks(client, token, jwks_path, issuer, audience="lederappen"):
    resp = await client.get(jwks_path)
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    keys = (await resp.json())["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in keys if k["kid"] == kid)
    assert jwk["alg"] == "RS256" and jwk["use"] == "sig" and jwk["kty"] == "RSA"
    key = jwt.PyJWK(jwk).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)


def rfc7638(jwk) -> str:
    canon = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------
# lederne.no: OIDC
# --------------------------------------------------------------------------------------


def test_member_token_verifies_against_discovered_jwks_with_expected_claims(key_file):
    async def scenario(client):
        issuer = base_url(client)
        conf = await (await client.get("/.well-known/openid-configuration")).json()
        assert conf["issuer"] == issuer
        assert conf["jwks_uri"] == f"{issuer}/oauth2/jwks"
        assert conf["token_endpoint"] == f"{issuer}/oauth2/token"
        assert conf["id_token_signing_alg_values_supported"] == ["RS256"]
        resp = await login(client, DEMO_MEMBER_ID)
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
        body = await resp.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        claims = await verify_with_jwks(client, body["id_token"], "/oauth2/jwks", issuer)
        assert claims["sub"] == DEMO_MEMBER_ID and claims["aud"] == "lederappen"
        assert claims["exp"] - claims["iat"] == 3600 and abs(claims["iat"] - time.time()) < 5
        assert claims["auth_time"] == claims["iat"]
        assert claims["amr"] == ["pwd"] and claims["roles"] == ["member"]
        jwks = await (await client.get("/oauth2/jwks")).json()
        assert jwt.get_unverified_header(body["id_token"])["kid"] == rfc7638(jwks["keys"][0])

    run_lederne(key_file, scenario)


def test_staff_token_carries_staff_roles_and_mfa(key_file):
    async def scenario(client):
        body = await (await login(client, "personvern")).json()
        claims = await verify_with_jwks(client, body["id_token"], "/oauth2/jwks", base_url(client))
        assert claims["sub"] == "staff-0001"
        assert claims["roles"] == ["staff", "privacy_officer"]
        assert claims["amr"] == ["pwd", "mfa"]

    run_lederne(key_file, scenario)


def test_ttl_form_field_sets_expiry_and_is_bounded(key_file):
    async def scenario(client):
        body = await (await login(client, DEMO_MEMBER_ID, ttl="60")).json()
        claims = jwt.decode(body["id_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 60 and body["expires_in"] == 60
        resp = await login(client, DEMO_MEMBER_ID, ttl="86401")
        assert resp.status == 400 and (await resp.json())["error"] == "invalid_request"

    run_lederne(key_file, scenario)


def test_wrong_password_or_unknown_user_is_invalid_grant(key_file):
    async def scenario(client):
        for user, pw in ((DEMO_MEMBER_ID, "wrong"), ("9999999", "demo"), ("personvern", "x")):
            resp = await login(client, user, pw)
            assert resp.status == 400
            assert (await resp.json())["error"] == "invalid_grant"
        resp = await client.post(
            "/oauth2/token", data={"grant_type": "client_credentials", "client_id": "lederappen"}
        )
        assert resp.status == 400 and (await resp.json())["error"] == "unsupported_grant_type"

    run_lederne(key_file, scenario)


def test_wrong_client_id_is_invalid_client_401(key_file):
    async def scenario(client):
        resp = await login(client, DEMO_MEMBER_ID, client_id="another-app")
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"

    run_lederne(key_file, scenario)


def test_ended_member_can_still_log_in_as_member(key_file):
    async def scenario(client):
        body = await (await login(client, DEMO_ENDED_MEMBER_ID)).json()
        claims = jwt.decode(body["id_token"], options={"verify_signature": False})
        assert claims["roles"] == ["member"] and claims["sub"] == DEMO_ENDED_MEMBER_ID

    run_lederne(key_file, scenario)


def test_key_file_is_created_private_and_reused_and_is_the_signing_contract(tmp_path):
    path = tmp_path / "sub" / "key.pem"
    kids = []

    async def scenario(client):
        jwks = await (await client.get("/oauth2/jwks")).json()
        kids.append(jwks["keys"][0]["kid"])
        # A test elsewhere signs its own token with the PEM; it must verify against the JWKS.
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        now = int(time.time())
        forged = jwt.encode(
            {"iss": base_url(client), "aud": "lederappen", "sub": "x", "iat": now, "exp": now + 60},
            private,
            algorithm="RS256",
            headers={"kid": jwks["keys"][0]["kid"]},
        )
        await verify_with_jwks(client, forged, "/oauth2/jwks", base_url(client))

    run_lederne(str(path), scenario)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(f"{path}.google").st_mode) == 0o600
    run_lederne(str(path), scenario)
    assert kids[0] == kids[1]


def test_google_issuer_signs_job_tokens_with_a_separate_key(key_file):
    async def scenario(client):
        base = base_url(client)
        conf = await (await client.get("/google/.well-known/openid-configuration")).json()
        assert conf["issuer"] == f"{base}/google" and conf["jwks_uri"] == f"{base}/google/jwks"
        resp = await client.post(
            "/google/token",
            json={
                "email": "scheduler@demo.iam.gserviceaccount.com",
                "audience": "https://jobs.example",
            },
        )
        assert resp.status == 200
        tok = (await resp.json())["id_token"]
        claims = await verify_with_jwks(
            client, tok, "/google/jwks", f"{base}/google", audience="https://jobs.example"
        )
        assert claims["email"] == "scheduler@demo.iam.gserviceaccount.com"
        assert claims["email_verified"] is True and claims["sub"].isdigit()
        assert claims["exp"] - claims["iat"] == 3600
        member_kid = (await (await client.get("/oauth2/jwks")).json())["keys"][0]["kid"]
        assert jwt.get_unverified_header(tok)["kid"] != member_kid
        bad = await client.post("/google/token", json={"audience": "x"})
        assert bad.status == 400

    run_lederne(key_file, scenario)


# --------------------------------------------------------------------------------------
# lederne.no: member register
# --------------------------------------------------------------------------------------


def test_api_requires_the_api_key(key_file):
    async def scenario(client):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}):
            for path in (f"/api/members/{DEMO_MEMBER_ID}", "/api/topics"):
                resp = await client.get(path, headers=headers)
                assert resp.status == 401
                assert (await resp.json())["error"] == "unauthorized"

    run_lederne(key_file, scenario)


def test_member_lookup_returns_the_record_with_etag_and_unknown_is_404(key_file):
    async def scenario(client):
        resp = await client.get(f"/api/members/{DEMO_MEMBER_ID}", headers=AUTH)
        assert resp.status == 200 and resp.headers["ETag"] == '"1"'
        assert resp.content_type == "application/json"
        member = await resp.json()
        assert member["member_id"] == DEMO_MEMBER_ID and len(member["national_id"]) == 11
        assert member["membership"]["status"] == "active"
        missing = await client.get("/api/members/0000000", headers=AUTH)
        assert missing.status == 404 and (await missing.json())["error"] == "not_found"

    run_lederne(key_file, scenario)


def test_patch_needs_if_match_validates_shape_and_bumps_version(key_file):
    async def scenario(client):
        url = f"/api/members/{DEMO_MEMBER_ID}"
        change = {"phone": "+4791234567", "address": {"city": "Bergen", "postal_code": "5003"}}
        assert (await client.patch(url, json=change, headers=AUTH)).status == 428
        assert (
            await client.patch(url, json=change, headers={**AUTH, "If-Match": '"7"'})
        ).status == 412
        bad = await client.patch(url, json={"given_name": "X"}, headers={**AUTH, "If-Match": '"1"'})
        assert bad.status == 400
        bad = await client.patch(
            url, json={"address": {"planet": "Mars"}}, headers={**AUTH, "If-Match": '"1"'}
        )
        assert bad.status == 400
        before = await (await client.get(url, headers=AUTH)).json()
        resp = await client.patch(url, json=change, headers={**AUTH, "If-Match": '"1"'})
        assert resp.status == 200 and resp.headers["ETag"] == '"2"'
        after = await resp.json()
        assert after["version"] == 2 and after["phone"] == "+4791234567"
        assert after["address"]["city"] == "Bergen"
        assert after["address"]["street"] == before["address"]["street"]
        assert after["updated_at"] != before["updated_at"]
        assert (await (await client.get(url, headers=AUTH)).json()) == after
        stale = await client.patch(url, json=change, headers={**AUTH, "If-Match": '"1"'})
        assert stale.status == 412

    run_lederne(key_file, scenario)


def test_photo_can_be_uploaded_read_and_deleted(key_file):
    async def scenario(client):
        url = f"/api/members/{DEMO_MEMBER_ID}/photo"
        assert (await client.get(url, headers=AUTH)).status == 404
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
        resp = await client.put(url, data=png, headers={**AUTH, "Content-Type": "image/png"})
        assert resp.status == 204
        got = await client.get(url, headers=AUTH)
        assert got.status == 200 and got.content_type == "image/png" and await got.read() == png
        gif = await client.put(url, data=b"GIF89a", headers={**AUTH, "Content-Type": "image/gif"})
        assert gif.status == 415
        big = await client.put(
            url,
            data=b"\xff" * (5 * 1024 * 1024 + 1),
            headers={**AUTH, "Content-Type": "image/jpeg"},
        )
        assert big.status == 413
        assert (await client.delete(url, headers=AUTH)).status == 204
        assert (await client.get(url, headers=AUTH)).status == 404

    run_lederne(key_file, scenario)


def test_batch_status_splits_known_and_unknown_ids(key_file):
    async def scenario(client):
        resp = await client.post(
            "/api/members:batchStatus",
            headers=AUTH,
            json={"member_ids": [DEMO_MEMBER_ID, "0000001", DEMO_ENDED_MEMBER_ID]},
        )
        body = await resp.json()
        assert resp.status == 200
        assert body["unknown"] == ["0000001"]
        by_id = {m["member_id"]: m for m in body["members"]}
        assert by_id[DEMO_MEMBER_ID] == {
            "member_id": DEMO_MEMBER_ID,
            "status": "active",
            "ended_on": None,
        }
        assert (
            by_id[DEMO_ENDED_MEMBER_ID]["status"] == "ended"
            and by_id[DEMO_ENDED_MEMBER_ID]["ended_on"]
        )
        for ids in ([], [str(i) for i in range(1001)], "1000001"):
            bad = await client.post(
                "/api/members:batchStatus", headers=AUTH, json={"member_ids": ids}
            )
            assert bad.status == 400

    run_lederne(key_file, scenario)


def test_member_list_pages_through_all_ids_in_stable_order(key_file):
    async def scenario(client):
        seen, token = [], None
        while True:
            params = {"page_size": "120", **({"page_token": token} if token else {})}
            body = await (await client.get("/api/members", params=params, headers=AUTH)).json()
            seen += body["member_ids"]
            token = body["next_page_token"]
            if token is None:
                break
        assert len(seen) == 300 and seen == sorted(seen) and len(set(seen)) == 300
        ended = await (
            await client.get(
                "/api/members", params={"status": "ended", "page_size": "1000"}, headers=AUTH
            )
        ).json()
        assert (
            DEMO_ENDED_MEMBER_ID in ended["member_ids"]
            and DEMO_MEMBER_ID not in ended["member_ids"]
        )
        assert ended["next_page_token"] is None
        for params in ({"page_size": "0"}, {"status": "gone"}, {"page_token": "!!"}):
            assert (await client.get("/api/members", params=params, headers=AUTH)).status == 400

    run_lederne(key_file, scenario)


def test_control_can_end_a_membership_and_add_a_member(key_file):
    async def scenario(client):
        assert (await client.post(f"/_control/members/{DEMO_MEMBER_ID}/end")).status == 204
        member = await (await client.get(f"/api/members/{DEMO_MEMBER_ID}", headers=AUTH)).json()
        assert member["membership"]["status"] == "ended" and member["membership"]["ended_on"]
        assert member["version"] == 2
        new = dict(member, member_id="1999999", given_name="Ny", version=1)
        assert (await client.post("/_control/members", json=new)).status == 204
        got = await (await client.get("/api/members/1999999", headers=AUTH)).json()
        assert got["given_name"] == "Ny"
        assert (await login(client, "1999999")).status == 200

    run_lederne(key_file, scenario)


# --------------------------------------------------------------------------------------
# lederne.no: feeds and newsletter
# --------------------------------------------------------------------------------------


def test_feeds_filter_sort_and_answer_304_to_a_matching_etag(key_file):
    async def scenario(client):
        topics = await client.get("/api/topics", headers=AUTH)
        assert topics.headers["Cache-Control"] == "max-age=300"
        assert len((await topics.json())["items"]) == 15
        resp = await client.get(
            "/api/courses", params={"topic": "leadership", "from": "2026-01-01"}, headers=AUTH
        )
        items = (await resp.json())["items"]
        assert items and all("leadership" in c["topics"] for c in items)
        assert [c["starts_at"] for c in items] == sorted(c["starts_at"] for c in items)
        digital = (await (await client.get("/api/courses", headers=AUTH)).json())["items"]
        oslo = (
            await (await client.get("/api/courses", params={"county": "Oslo"}, headers=AUTH)).json()
        )["items"]
        assert all(c["county"] == "Oslo" for c in oslo) and len(oslo) < len(digital)
        pods = (
            await (
                await client.get("/api/content", params={"type": "podcast"}, headers=AUTH)
            ).json()
        )["items"]
        assert pods and {c["type"] for c in pods} == {"podcast"}
        ins = (
            await (
                await client.get("/api/benefits", params={"category": "insurance"}, headers=AUTH)
            ).json()
        )["items"]
        assert ins and {b["category"] for b in ins} == {"insurance"}
        again = await client.get(
            "/api/courses",
            params={"topic": "leadership", "from": "2026-01-01"},
            headers={**AUTH, "If-None-Match": resp.headers["ETag"]},
        )
        assert again.status == 304
        assert (
            await client.get("/api/courses", params={"from": "tomorrow"}, headers=AUTH)
        ).status == 400

    run_lederne(key_file, scenario, reference_date="2026-11-25")


def test_newsletter_put_is_idempotent_by_event_id_and_stale_events_do_not_overwrite(key_file):
    async def scenario(client):
        url = f"/api/newsletter/subscribers/{DEMO_MEMBER_ID}"
        assert (await client.get(url, headers=AUTH)).status == 404
        first = {
            "subscribed": True,
            "terms_version": "2026-01",
            "event_id": "ev-1",
            "occurred_at": "2026-11-01T10:00:00Z",
        }
        r1 = await (await client.put(url, json=first, headers=AUTH)).json()
        assert r1["subscribed"] is True and r1["event_id"] == "ev-1" and r1["confirmed_at"]
        assert set(r1) == {"member_id", "subscribed", "terms_version", "confirmed_at", "event_id"}
        newer = {
            "subscribed": False,
            "terms_version": "2026-01",
            "event_id": "ev-3",
            "occurred_at": "2026-11-03T10:00:00Z",
        }
        r3 = await (await client.put(url, json=newer, headers=AUTH)).json()
        assert r3["subscribed"] is False
        # Retry of ev-1 returns the same body as the first time and changes nothing.
        assert await (await client.put(url, json=first, headers=AUTH)).json() == r1
        # An older event (ev-2) arriving late does not overwrite the newer state.
        older = {
            "subscribed": True,
            "terms_version": "2026-01",
            "event_id": "ev-2",
            "occurred_at": "2026-11-02T10:00:00Z",
        }
        stale = await client.put(url, json=older, headers=AUTH)
        assert stale.status == 200 and (await stale.json()) == r3
        current = await (await client.get(url, headers=AUTH)).json()
        assert current["subscribed"] is False and current["event_id"] == "ev-3"
        table = await (await client.get("/_control/newsletter")).json()
        assert table[DEMO_MEMBER_ID]["event_id"] == "ev-3"
        bad = await client.put(
            url, json={"subscribed": "yes", "terms_version": "x", "event_id": "e"}, headers=AUTH
        )
        assert bad.status == 400
        assert (await client.delete(url, headers=AUTH)).status == 204
        assert (await client.get(url, headers=AUTH)).status == 404
        assert (await (await client.get("/_control/newsletter")).json()) == {}

    run_lederne(key_file, scenario)


# --------------------------------------------------------------------------------------
# lederne.no: faults, request log, reset
# --------------------------------------------------------------------------------------


def test_faults_fail_and_delay_only_targeted_paths_and_reset_clears_everything(key_file):
    async def scenario(client):
        member_url = f"/api/members/{DEMO_MEMBER_ID}"
        await client.post(
            "/_control/faults",
            json={"status": 503, "path_prefix": "/oauth2/token", "count": 2, "retry_after": 3},
        )
        r = await login(client, DEMO_MEMBER_ID)
        assert r.status == 503 and r.headers["Retry-After"] == "3"
        assert (await r.json())["error"] == "service_unavailable"
        assert (await client.get(member_url, headers=AUTH)).status == 200  # other path unaffected
        assert (await login(client, DEMO_MEMBER_ID)).status == 503
        assert (await login(client, DEMO_MEMBER_ID)).status == 200  # count used up

        # A fault for "all" paths spares the key documents and the control endpoints.
        assert (await client.post("/_control/faults", json={"status": 500})).status == 204
        assert (await client.get(member_url, headers=AUTH)).status == 500
        assert (
            await client.post("/google/token", json={"email": "a@b", "audience": "x"})
        ).status == 500
        assert (await client.get("/oauth2/jwks")).status == 200
        assert (await client.get("/.well-known/openid-configuration")).status == 200
        assert (await client.get("/_control/requests")).status == 200
        # ... unless a rule names them explicitly.
        await client.post(
            "/_control/faults", json={"status": 502, "path_prefix": "/oauth2/jwks", "count": 1}
        )
        assert (await client.get("/oauth2/jwks")).status == 502

        assert (await client.post("/_control/reset")).status == 204
        original = await (await client.get(member_url, headers=AUTH)).json()
        assert original["position"] != "Driftsleder"
        await client.post("/_control/reset")  # also clears the log entry of that GET
        resp = await client.patch(
            member_url, json={"position": "Driftsleder"}, headers={**AUTH, "If-Match": '"1"'}
        )
        assert resp.status == 200
        await client.post("/_control/faults", json={"delay_ms": 300, "path_prefix": "/api/topics"})
        t0 = time.perf_counter()
        assert (await client.get("/api/topics", headers=AUTH)).status == 200
        assert time.perf_counter() - t0 >= 0.28
        t0 = time.perf_counter()
        assert (await client.get(member_url, headers=AUTH)).status == 200
        assert time.perf_counter() - t0 < 0.2

        log = await (await client.get("/_control/requests")).json()
        assert log == [
            {"method": "PATCH", "path": member_url, "status": 200},
            {"method": "GET", "path": "/api/topics", "status": 200},
            {"method": "GET", "path": member_url, "status": 200},
        ]
        assert (await client.post("/_control/reset")).status == 204
        assert await (await client.get("/_control/requests")).json() == []
        member = await (await client.get(member_url, headers=AUTH)).json()
        assert member == original  # demo data restored
        t0 = time.perf_counter()
        await client.get("/api/topics", headers=AUTH)
        assert time.perf_counter() - t0 < 0.2
        bad = await client.post("/_control/faults", json={"status": 503, "colour": "red"})
        assert bad.status == 400

    run_lederne(key_file, scenario)


def test_unknown_routes_and_methods_answer_json(key_file):
    async def scenario(client):
        resp = await client.get("/no/such/thing")
        assert resp.status == 404 and (await resp.json())["error"] == "not_found"
        resp = await client.delete("/api/topics", headers=AUTH)
        assert resp.status == 405 and (await resp.json())["error"] == "method_not_allowed"

    run_lederne(key_file, scenario)


# --------------------------------------------------------------------------------------
# FCM HTTP v1
# --------------------------------------------------------------------------------------


def msg(**message):
    return {"message": message}


async def fcm_error(resp, status, google_status, error_code=None):
    body = await resp.json()
    assert resp.status == status, body
    assert body["error"]["code"] == status and body["error"]["status"] == google_status
    if error_code:
        detail = body["error"]["details"][0]
        assert detail == {
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": error_code,
        }
    return body


def test_fcm_send_returns_a_unique_message_name_and_records_the_delivery():
    async def scenario(client):
        m = {
            "token": "tok-1",
            "notification": {"title": "Hei", "body": "Nytt kurs"},
            "data": {"kind": "course", "id": "course-001"},
            "android": {"priority": "high"},
            "apns": {"headers": {"apns-priority": "10"}},
        }
        names = set()
        for _ in range(3):
            resp = await client.post(SEND, json=msg(**m), headers=FCM_AUTH)
            assert resp.status == 200
            name = (await resp.json())["name"]
            assert name.startswith("projects/lederappen-dev/messages/")
            names.add(name)
        assert len(names) == 3
        topic = await client.post(
            SEND, json=msg(topic="news-nb", data={"a": "b"}), headers=FCM_AUTH
        )
        assert topic.status == 200
        delivered = await (await client.get("/_control/messages", params={"token": "tok-1"})).json()
        assert len(delivered) == 3 and delivered[-1]["data"] == m["data"]
        assert delivered[0]["android"] == {"priority": "high"} and delivered[0][
            "received_at"
        ].endswith("Z")

    run_fcm(scenario)


def test_fcm_requires_a_bearer_token():
    async def scenario(client):
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
            resp = await client.post(SEND, json=msg(token="t"), headers=headers)
            await fcm_error(resp, 401, "UNAUTHENTICATED")

    run_fcm(scenario)


def test_fcm_rejects_invalid_messages_like_fcm():
    async def scenario(client):
        cases = [
            msg(token="t", topic="news"),  # two targets
            msg(notification={"title": "x"}),  # no target
            msg(token="t", data={"blob": "x" * 5000}),  # too big
            msg(token="t", data={"from": "x"}),  # reserved keys
            msg(token="t", data={"message_type": "x"}),
            msg(token="t", data={"google.c.a": "x"}),
            msg(token="t", data={"gcm.n.e": "1"}),
            msg(token="t", data={"count": 3}),  # non-string value
            msg(
                token="t", notification={"title": "x", "sound": "ding"}
            ),  # unknown notification key
            msg(token="t", priority="high"),  # unknown message field
            msg(token="t", android="high"),  # not an object
            {"message": {"token": "t"}, "dry_run": True},  # unknown body field
        ]
        for case in cases:
            body = await fcm_error(
                await client.post(SEND, json=case, headers=FCM_AUTH), 400, "INVALID_ARGUMENT"
            )
            # as FCM: a google.rpc.BadRequest names the field (FCM's own checks add an
            # FcmError INVALID_ARGUMENT; JSON-level errors such as unknown names do not)
            kinds = {d["@type"].rsplit("/", 1)[1]: d for d in body["error"]["details"]}
            assert len(kinds["google.rpc.BadRequest"]["fieldViolations"]) == 1, body
            assert (
                kinds.get("google.firebase.fcm.v1.FcmError", {}).get(
                    "errorCode", "INVALID_ARGUMENT"
                )
                == "INVALID_ARGUMENT"
            )
        body = await (
            await client.post(
                SEND, json=msg(token="t", data={"blob": "x" * 5000}), headers=FCM_AUTH
            )
        ).json()
        assert body["error"]["message"] == "Message is too big"
        # Android/APNs notification parts count towards the 4096 bytes as well.
        big = msg(
            token="t",
            notification={"body": "x" * 2100},
            android={"notification": {"body": "y" * 2100}},
        )
        await fcm_error(
            await client.post(SEND, json=big, headers=FCM_AUTH), 400, "INVALID_ARGUMENT"
        )
        ok = msg(token="t", data={"blob": "x" * 3900})
        assert (await client.post(SEND, json=ok, headers=FCM_AUTH)).status == 200

    run_fcm(scenario)


def test_fcm_validate_only_succeeds_without_recording_a_delivery():
    async def scenario(client):
        resp = await client.post(
            SEND, json={"message": {"token": "tok-v"}, "validate_only": True}, headers=FCM_AUTH
        )
        assert resp.status == 200 and "name" in await resp.json()
        assert (
            await (await client.get("/_control/messages", params={"token": "tok-v"})).json() == []
        )
        stats = await (await client.get("/_control/stats")).json()
        assert stats["delivered"] == 0 and stats["received"] == 1

    run_fcm(scenario)


def test_fcm_token_behaviours_apply_for_times_then_revert_with_retry_after():
    async def scenario(client):
        async def send(token):
            return await client.post(SEND, json=msg(token=token), headers=FCM_AUTH)

        await client.post(
            "/_control/tokens",
            json={"token": "q", "behaviour": "quota", "times": 2, "retry_after": 7},
        )
        for _ in range(2):
            resp = await send("q")
            await fcm_error(resp, 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
            assert resp.headers["Retry-After"] == "7"
        assert (await send("q")).status == 200

        await client.post(
            "/_control/tokens", json={"token": "u", "behaviour": "unavailable", "times": 1}
        )
        resp = await send("u")
        await fcm_error(resp, 503, "UNAVAILABLE", "UNAVAILABLE")
        assert resp.headers["Retry-After"] == "1"
        assert (await send("u")).status == 200

        await client.post("/_control/tokens", json={"token": "g", "behaviour": "unregistered"})
        for _ in range(3):
            await fcm_error(await send("g"), 404, "NOT_FOUND", "UNREGISTERED")
        await client.post("/_control/tokens", json={"token": "g", "behaviour": "ok"})
        assert (await send("g")).status == 200

        await client.post("/_control/tokens", json={"token": "i", "behaviour": "invalid"})
        body = await fcm_error(await send("i"), 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        assert (
            body["error"]["message"]
            == "The registration token is not a valid FCM registration token"
        )
        await client.post("/_control/tokens", json={"token": "x", "behaviour": "internal"})
        await fcm_error(await send("x"), 500, "INTERNAL", "INTERNAL")
        bad = await client.post("/_control/tokens", json={"token": "x", "behaviour": "explode"})
        assert bad.status == 400

    run_fcm(scenario)


def test_fcm_dead_tokens_are_always_unregistered():
    async def scenario(client):
        for _ in range(2):
            resp = await client.post(SEND, json=msg(token="dead-abc123"), headers=FCM_AUTH)
            await fcm_error(resp, 404, "NOT_FOUND", "UNREGISTERED")

    run_fcm(scenario)


def test_fcm_stats_count_received_delivered_and_by_status():
    async def scenario(client):
        await client.post(SEND, json=msg(token="a"), headers=FCM_AUTH)
        await client.post(SEND, json=msg(token="b"), headers=FCM_AUTH)
        await client.post(SEND, json=msg(token="dead-c"), headers=FCM_AUTH)
        await client.post(SEND, json=msg(token="a", topic="t"), headers=FCM_AUTH)
        await client.post(SEND, json=msg(token="a"))
        stats = await (await client.get("/_control/stats")).json()
        assert stats == {
            "received": 5,
            "delivered": 2,
            "by_status": {"200": 2, "400": 1, "401": 1, "404": 1},
        }

    run_fcm(scenario)


def test_fcm_faults_and_reset():
    async def scenario(client):
        await client.post("/_control/tokens", json={"token": "q", "behaviour": "quota"})
        await client.post("/_control/faults", json={"status": 503, "count": 1, "retry_after": 2})
        resp = await client.post(SEND, json=msg(token="a"), headers=FCM_AUTH)
        await fcm_error(resp, 503, "UNAVAILABLE", "UNAVAILABLE")
        assert resp.headers["Retry-After"] == "2"
        assert (await client.get("/_control/stats")).status == 200  # control never fails
        assert (await client.post(SEND, json=msg(token="a"), headers=FCM_AUTH)).status == 200
        await client.post(
            "/_control/faults", json={"delay_ms": 250, "path_prefix": "/v1/projects/slow/"}
        )
        t0 = time.perf_counter()
        await client.post("/v1/projects/slow/messages:send", json=msg(token="a"), headers=FCM_AUTH)
        assert time.perf_counter() - t0 >= 0.23
        t0 = time.perf_counter()
        await client.post(SEND, json=msg(token="a"), headers=FCM_AUTH)
        assert time.perf_counter() - t0 < 0.2
        log = await (await client.get("/_control/requests")).json()
        assert [e["status"] for e in log] == [503, 200, 200, 200]
        assert all(set(e) == {"method", "path", "status"} for e in log)

        assert (await client.post("/_control/reset")).status == 204
        assert await (await client.get("/_control/stats")).json() == {
            "received": 0,
            "delivered": 0,
            "by_status": {},
        }
        assert await (await client.get("/_control/requests")).json() == []
        assert await (await client.get("/_control/messages")).json() == []
        assert (await client.post(SEND, json=msg(token="q"), headers=FCM_AUTH)).status == 200
        t0 = time.perf_counter()
        await client.post("/v1/projects/slow/messages:send", json=msg(token="a"), headers=FCM_AUTH)
        assert time.perf_counter() - t0 < 0.2

    run_fcm(scenario)


# --------------------------------------------------------------------------------------
# As processes: start line, clean shutdown, busy port, no personal data in logs
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(module, port, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stderr.readline()
    return proc, line


def test_cli_servers_start_serve_and_stop_cleanly_without_logging_personal_data(key_file):
    import urllib.request

    lederne_standin.load_or_create_rsa_key(key_file)  # reuse the module's key: fast start
    lport, fport = _free_port(), _free_port()
    lederne, lline = _start("infra.local.lederne_standin", lport, "--key-file", key_file)
    fcm, fline = _start("infra.local.fcm_standin", fport)
    try:
        assert lline.strip() == f"lederne stand-in listening on http://127.0.0.1:{lport}"
        assert fline.strip() == f"fcm stand-in listening on http://127.0.0.1:{fport}"
        req = urllib.request.Request(
            f"http://127.0.0.1:{lport}/api/members/{DEMO_MEMBER_ID}", headers=AUTH
        )
        member = json.load(urllib.request.urlopen(req, timeout=5))
        conf = json.load(
            urllib.request.urlopen(
                f"http://127.0.0.1:{lport}/.well-known/openid-configuration", timeout=5
            )
        )
        assert conf["issuer"] == f"http://127.0.0.1:{lport}"
        req = urllib.request.Request(
            f"http://127.0.0.1:{fport}{SEND}",
            method="POST",
            data=json.dumps(msg(token="secret-token")).encode(),
            headers={**FCM_AUTH, "Content-Type": "application/json"},
        )
        assert urllib.request.urlopen(req, timeout=5).status == 200

        # Busy port: clear one-line error naming the port, exit code 2.
        busy = subprocess.run(
            [sys.executable, "-m", "infra.local.fcm_standin", "--port", str(lport)],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert busy.returncode == 2
        assert str(lport) in busy.stderr and len(busy.stderr.strip().splitlines()) == 1
    finally:
        lederne.send_signal(signal.SIGTERM)
        fcm.send_signal(signal.SIGINT)
        lout, lerr = lederne.communicate(timeout=10)
        fout, ferr = fcm.communicate(timeout=10)
    assert lederne.returncode == 0 and fcm.returncode == 0
    for text in (lerr, ferr, lout, fout):
        assert "Traceback" not in text
        for secret in (
            member["given_name"],
            member["email"],
            member["national_id"],
            "secret-token",
        ):
            assert secret not in text


# --------------------------------------------------------------------------------------
# lederne.no: the authorization code flow with PKCE (the staff console's sign-in)
# --------------------------------------------------------------------------------------

CONSOLE = lederne_standin.DEFAULT_CONSOLE_CLIENT_ID
CALLBACK = "http://127.0.0.1:9999/staff/callback"


def _pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def _authorize_params(challenge: str, **over) -> dict:
    params = {
        "response_type": "code",
        "client_id": CONSOLE,
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


async def _code_for(client, username: str, challenge: str, **over) -> str:
    from urllib.parse import parse_qs, urlsplit

    page = await client.get("/oauth2/authorize", params=_authorize_params(challenge, **over))
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert "password" not in (await page.text()).lower()
    resp = await client.post(
        "/oauth2/authorize",
        data={**_authorize_params(challenge, **over), "username": username},
        allow_redirects=False,
    )
    assert resp.status == 302
    target = urlsplit(resp.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    q = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert q["state"] == "st-1"
    return q["code"]


async def _redeem(client, code: str, verifier: str, **over):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": CONSOLE,
        "code_verifier": verifier,
        **over,
    }
    return await client.post("/oauth2/token", data={k: v for k, v in data.items() if v is not None})


def test_the_code_flow_gives_a_staff_id_token_with_the_nonce_for_the_console(key_file):
    async def scenario(client):
        conf = await (await client.get("/.well-known/openid-configuration")).json()
        assert conf["authorization_endpoint"] == base_url(client) + "/oauth2/authorize"
        assert conf["code_challenge_methods_supported"] == ["S256"]
        verifier, challenge = _pkce()
        code = await _code_for(client, "redaktor", challenge)
        resp = await _redeem(client, code, verifier)
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        token = (await resp.json())["id_token"]
        claims = await verify_with_jwks(
            client, token, "/oauth2/jwks", base_url(client), audience=CONSOLE
        )
        assert claims["sub"] == "staff-0002" and claims["nonce"] == "n-1"
        assert claims["roles"] == ["staff", "editor"]

    run_lederne(key_file, scenario)


def test_a_code_is_redeemed_once_and_only_with_its_verifier(key_file):
    async def scenario(client):
        verifier, challenge = _pkce()
        code = await _code_for(client, "personvern", challenge)
        other_verifier, _ = _pkce()
        wrong = await _redeem(client, code, other_verifier)
        assert wrong.status == 400 and (await wrong.json())["error"] == "invalid_grant"
        # the failed attempt used the code up: a thief who tried first leaves nothing to steal
        again = await _redeem(client, code, verifier)
        assert again.status == 400 and (await again.json())["error"] == "invalid_grant"
        code = await _code_for(client, "personvern", challenge)
        assert (await _redeem(client, code, verifier)).status == 200
        replay = await _redeem(client, code, verifier)
        assert replay.status == 400 and (await replay.json())["error"] == "invalid_grant"

    run_lederne(key_file, scenario)


def test_a_code_is_bound_to_its_client_and_redirect_uri(key_file):
    async def scenario(client):
        verifier, challenge = _pkce()
        code = await _code_for(client, "driftsvakt", challenge)
        other = await _redeem(client, code, verifier, redirect_uri="http://127.0.0.1:9/cb")
        assert other.status == 400
        code = await _code_for(client, "driftsvakt", challenge)
        app_client = await _redeem(client, code, verifier, client_id="lederappen")
        assert app_client.status == 401 and (await app_client.json())["error"] == "invalid_client"

    run_lederne(key_file, scenario)


@pytest.mark.parametrize(
    "override",
    [
        {"code_challenge": None},
        {"code_challenge_method": "plain"},
        {"client_id": "lederappen"},
        {"redirect_uri": "https://evil.example/cb"},
        {"response_type": "token"},
        {"state": None},
        {"scope": "profile"},
    ],
)
def test_an_authorization_request_without_pkce_or_from_elsewhere_is_refused(key_file, override):
    async def scenario(client):
        _, challenge = _pkce()
        params = _authorize_params(challenge, **override)
        page = await client.get("/oauth2/authorize", params=params)
        assert page.status == 400
        resp = await client.post(
            "/oauth2/authorize", data={**params, "username": "personvern"}, allow_redirects=False
        )
        assert resp.status == 400 and "Location" not in resp.headers

    run_lederne(key_file, scenario)


def test_registered_redirect_uris_are_the_only_ones_allowed(key_file):
    async def scenario(client):
        _, challenge = _pkce()
        ok = await client.get("/oauth2/authorize", params=_authorize_params(challenge))
        assert ok.status == 200
        elsewhere = await client.get(
            "/oauth2/authorize",
            params=_authorize_params(
                challenge, redirect_uri="http://127.0.0.1:9998/staff/callback"
            ),
        )
        assert elsewhere.status == 400

    run_lederne(key_file, scenario, redirect_uris=(CALLBACK,))


def test_a_member_can_go_through_the_code_flow_and_gets_only_the_member_role(key_file):
    async def scenario(client):
        verifier, challenge = _pkce()
        code = await _code_for(client, DEMO_MEMBER_ID, challenge)
        token = (await (await _redeem(client, code, verifier)).json())["id_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["roles"] == ["member"] and claims["aud"] == CONSOLE

    run_lederne(key_file, scenario)
