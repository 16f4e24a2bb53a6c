"""Every input is answered by design: 4xx problem+json naming the field, never a 500.

One regression test per cause that fuzzing and hand-made bad input found (issue 20): bodies
that are not UTF-8, NUL characters and unpaired surrogates in text (PostgreSQL refuses them),
integers beyond the database column, cursors of the right shape with the wrong types, ids
Firestore reserves or that hold control characters, numbers beyond `integer` in the path,
and URLs or request lines the gateway and the functions' framework answer themselves. All go
through the real stack (gateway, functions-framework, PostgreSQL, Firestore emulator).
"""

import base64
import json
import socket
import uuid
from urllib.parse import urlsplit

import pytest
import urllib3
from lederappen.core import manifest as manifest_mod

from infra.local import demo_data
from tests.conftest import Client

pytestmark = pytest.mark.stack
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[190:200]]
#: The demo staff user holding each staff role (demo_data.STAFF).
STAFF = {s["roles"][1]: s["username"] for s in demo_data.generate_staff()}


def _token_for(token, auth: str) -> str | None:
    if auth == "public":
        return None
    if auth == "member":
        return token(MEMBERS[0])
    return token(STAFF[auth.split(":", 1)[1]])


def _concrete(path: str) -> str:
    values = {"year": "2031", "role": "mentor", "purpose": "marketing", "version": "1", "id": "1"}
    out = path
    for name in [p[1:-1] for p in path.split("/") if p.startswith("{")]:
        out = out.replace("{" + name + "}", values.get(name, str(uuid.uuid4())))
    return out


def _json_body_routes() -> list[tuple[str, str, str]]:
    """(method, path, auth) of every public route that decodes a JSON body."""
    doc = json.loads((manifest_mod.MANIFEST_PATH.parent / "openapi.json").read_text())
    auth = {(r.method, r.path): r.auth for f in manifest_mod.load().functions for r in f.routes}
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                out.append((method.upper(), path, auth[(method.upper(), path)]))
    return sorted(out)


def _problem(resp, status: int | tuple[int, ...]) -> dict:
    wanted = status if isinstance(status, tuple) else (status,)
    assert resp.status in wanted, (resp.status, resp.data[:300])
    assert resp.headers["Content-Type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == resp.status and body["type"].startswith("https://api.lederne.no/")
    return body


def _fields(body: dict) -> set:
    return {e["field"] for e in body.get("errors", [])}


@pytest.mark.parametrize("method,path,auth", _json_body_routes())
def test_a_body_that_is_not_utf8_is_a_422_on_every_body_endpoint(api, token, method, path, auth):
    resp = api.request(
        method,
        _concrete(path),
        token=_token_for(token, auth),
        body=b'{"reason": "caf\xe9 \xff\xfe"}',
        headers={"Content-Type": "application/json", "If-Match": '"1"'},
    )
    _problem(resp, 422)  # the field is unknown or the text undecodable: either way no 500


def test_a_string_that_is_not_utf8_is_named_as_malformed_json(api, token):
    resp = api.post(
        "/v1/consents",
        token=token(MEMBERS[0]),
        body=b'{"purpose": "marketing", "action": "give", "terms_version": 1, '
        b'"app_version": "caf\xe9 \xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert _problem(resp, 422)["errors"][0]["code"] == "malformed_json"


NUL_CASES = [
    (
        "member",
        "POST",
        "/v1/consents",
        {"purpose": "marketing", "action": "give", "terms_version": 1, "app_version": "3.\u00002"},
        "app_version",
    ),
    (
        "member",
        "POST",
        "/v1/privacy/requests",
        {"kind": "restriction", "reason": "a\u0000b"},
        "reason",
    ),
    (
        "member",
        "PUT",
        "/v1/mentoring/engagement/mentor",
        {
            "topics": ["leadership"],
            "formats": ["digital"],
            "languages": ["nb"],
            "presentation": "Hei\u0000",
        },
        "presentation",
    ),
    (
        "member",
        "PUT",
        f"/v1/mentoring/mentorships/{uuid.uuid4()}/feedback",
        {"rating": 4, "comment": "\u0000"},
        "comment",
    ),
    (
        "staff:editor",
        "POST",
        "/v1/admin/messages",
        {
            "category": "news",
            "title": {"nb": "Hei\u0000", "en": "Hi"},
            "body": {"nb": "Tekst", "en": "Text"},
            "audience": {"kind": "all"},
        },
        "title.nb",
    ),
    (
        "staff:survey_manager",
        "POST",
        "/v1/admin/salary-rounds",
        {
            "year": 2099,
            "title": {"nb": "Runde\u0000", "en": "Round"},
            "opens_at": "2099-01-01T00:00:00Z",
            "closes_at": "2099-02-01T00:00:00Z",
            "questions": [],
        },
        "title.nb",
    ),
]


@pytest.mark.parametrize("auth,method,path,body,field", NUL_CASES, ids=[c[2] for c in NUL_CASES])
def test_a_nul_character_in_text_is_a_422_naming_the_field(
    api, token, auth, method, path, body, field
):
    resp = api.request(method, path, token=_token_for(token, auth), json_body=body)
    problem = _problem(resp, 422)
    assert field in _fields(problem), problem


def test_an_unpaired_surrogate_in_text_is_a_422_and_changes_nothing(api, token):
    raw = b'{"kind": "restriction", "reason": "a\\ud800b"}'
    resp = api.post(
        "/v1/privacy/requests",
        token=token(MEMBERS[1]),
        body=raw,
        headers={"Content-Type": "application/json"},
    )
    assert _problem(resp, 422)["errors"][0]["code"] in ("malformed_json", "invalid")
    assert api.get("/v1/privacy/requests", token=token(MEMBERS[1])).json()["items"] == []


@pytest.mark.parametrize("version", [2**31, 2**63, 2**70])
def test_an_integer_beyond_the_column_is_a_422_naming_the_field(api, token, version):
    resp = api.post(
        "/v1/consents",
        token=token(MEMBERS[2]),
        json_body={"purpose": "marketing", "action": "give", "terms_version": version},
    )
    assert "terms_version" in _fields(_problem(resp, 422))


def test_an_infinite_number_is_a_422_naming_the_field(api, token):
    raw = b'{"notice_acknowledged": true, "weekly_hours": 1e999}'
    resp = api.put(
        "/v1/salary/rounds/2031/answer",
        token=token(MEMBERS[2]),
        body=raw,
        headers={"Content-Type": "application/json"},
    )
    assert "weekly_hours" in _fields(_problem(resp, 422))


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CURSOR_CASES = [
    ("member", "/v1/consents/history", True),
    ("member", "/v1/consents/history", 2**70),
    ("member", "/v1/consents/history", "12"),
    ("member", "/v1/inbox", ["2020-01-01T00:00:00+00:00", 5]),
    ("staff:editor", "/v1/admin/messages", ["x", "y"]),
    ("staff:editor", "/v1/admin/messages", ["2020-01-01T00:00:00Z", "not-a-uuid"]),
    ("staff:privacy_officer", "/v1/admin/privacy-requests", ["x", "y"]),
    ("staff:privacy_officer", "/v1/admin/privacy-requests", ["2020-01-01T00:00:00Z", "\u0000"]),
    ("staff:operations", "/v1/admin/dead-letters", 2**64),
    ("staff:operations", "/v1/admin/dead-letters", False),
    ("staff:privacy_officer", "/v1/admin/privacy/membership-end/preview", "a\u0000"),
]


@pytest.mark.parametrize(
    "auth,path,key", CURSOR_CASES, ids=[f"{c[1]}-{c[2]!r}" for c in CURSOR_CASES]
)
def test_a_cursor_of_the_right_shape_with_wrong_types_is_a_422_naming_cursor(
    api, token, auth, path, key
):
    resp = api.get(f"{path}?cursor={_cursor(key)}", token=_token_for(token, auth))
    assert _fields(_problem(resp, 422)) == {"cursor"}


def test_a_nul_in_a_query_parameter_is_a_422_naming_it(api, token):
    resp = api.get("/v1/inbox?limit=5%00", token=token(MEMBERS[3]))
    assert _fields(_problem(resp, 422)) == {"limit"}


ODD_IDS = [
    "__x__",
    "__",
    "___",
    "...",
    "._.",
    "a%0Ab",
    "a%0D%0Ab",
    "%00",
    "a%09b",
    "%E2%80%8B",
    "x" * 1600,
]


@pytest.mark.parametrize("odd", ODD_IDS)
@pytest.mark.parametrize(
    "template",
    ["/v1/devices/{}", "/v1/inbox/{}/read", "/v1/inbox/{}", "/v1/mentoring/proposals/{}"],
)
def test_ids_firestore_reserves_or_with_control_characters_are_404_problems(
    api, token, odd, template
):
    method = "GET" if "proposals" in template else ("POST" if "read" in template else "DELETE")
    resp = api.request(method, template.format(odd), token=token(MEMBERS[4]))
    _problem(resp, 404)


@pytest.mark.parametrize("with_token", [False, True])
@pytest.mark.parametrize(
    "version", ["236094491747888136192", "2147483648", "0", "-1", "1.5", "%C2%B2", "%D9%A3", "1%0A"]
)
def test_a_path_number_beyond_the_column_is_a_404_with_or_without_a_token(
    api, token, version, with_token
):
    resp = api.get(
        f"/v1/consent-terms/personalisation/{version}",
        token=token(MEMBERS[5]) if with_token else None,
    )
    _problem(resp, 404)


@pytest.mark.parametrize(
    "path,auth",
    [
        ("/v1/salary/rounds/%C2%B2%C2%B2%C2%B2%C2%B2", "member"),
        ("/v1/admin/dead-letters/%C2%B2", "staff:operations"),
    ],
)
def test_digits_python_counts_but_int_refuses_are_4xx_not_500(api, token, path, auth):
    _problem(api.get(path, token=_token_for(token, auth)), (404, 422))


def _raw(base: str, request: bytes) -> tuple[int, bytes, bytes]:
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 20:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


@pytest.mark.parametrize(
    "line",
    [
        b"GET /v1/a\nb HTTP/1.1",
        b"GET v1 HTTP/1.1",
        b"GET /v1/health HTTP/9.9",
        b"G\x00T /v1/health HTTP/1.1",
        b"GET /v1/health\x7f HTTP/1.1",
    ],
)
def test_the_gateway_answers_request_lines_it_cannot_parse_with_problem_json(stack, line):
    status, head, body = _raw(stack.urls["gateway"], line + b"\r\nHost: x\r\n\r\n")
    assert 400 <= status < 500
    assert b"application/problem+json" in head
    assert json.loads(body)["status"] == status


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/nowhere", 404),
        ("GET", "/v1/", 404),
        ("GET", "/v1/consents%0A", 404),
        ("GET", "/v1/%zz", 404),
        ("PROPFIND", "/v1/health", 405),
        ("DELETE", "/v1/health", 405),
        ("GET", "/v1/devices/" + "x" * 2000, 405),
    ],
)
def test_unknown_paths_and_methods_are_problems_at_the_gateway(stack, method, path, status):
    http = urllib3.PoolManager(retries=False)
    r = http.request(method, stack.urls["gateway"] + path)
    assert r.status == status and r.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/v1/devices/a%0Ab", "/v1/a%0A", "/%0A", "/v1/devices/%00"])
def test_a_function_answers_paths_its_framework_cannot_route_with_problem_json(stack, token, path):
    """Straight to the devices function (no gateway): functions-framework's own Flask 404."""
    fn = Client(stack.function_url("devices"), check_openapi=False)
    resp = fn.request("DELETE", path, token=token(MEMBERS[6]))
    _problem(resp, 404)
