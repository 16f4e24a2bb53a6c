"""The shared HTTP edge: routing, auth per route, body limits, problem+json, one log line."""

import base64
import json
from typing import Annotated

import flask
import jwt
import msgspec
import pytest
from lederappen.core import auth, config, http, log
from lederappen.core.manifest import Function, Route
from lederappen.core.problems import DependencyUnavailable
from lederappen.core.validation import Body

from tests.support.tokens import Minter, new_key, public_jwks

ISSUER, AUD = "https://login.lederne.test", "lederappen"
JOB_ISSUER, JOB_AUD = "https://accounts.google.test", "https://fn.test/"
INVOKER = "scheduler@p.iam.gserviceaccount.com"


class Thing(Body):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    size: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1


api = http.Api()


@api.get("/v1/things/{thing_id}")
def get_thing(req):
    if req.params["thing_id"] != f"owned-by-{req.member_id}":
        from lederappen.core.problems import NotFound

        raise NotFound()
    return {"id": req.params["thing_id"], "locale": req.locale}


@api.post("/v1/things", body=Thing)
def create_thing(req):
    return http.Reply({"name": req.body.name, "size": req.body.size}, status=201)


@api.get("/v1/open")
def open_route(req):
    return {"ok": True}


@api.delete("/v1/admin")
def admin(req):
    return http.Reply(status=204)


@api.post("/jobs/run")
def job(req):
    return {"invoker": req.principal.subject}


@api.get("/v1/boom")
def boom(req):
    raise RuntimeError("secret value kari@example.no 01017012345")


@api.get("/v1/slow")
def slow(req):
    raise DependencyUnavailable("member-register")


class Shape(msgspec.Struct, forbid_unknown_fields=True):
    """A declared answer: the edge checks the handler's body against it."""

    name: str
    size: Annotated[int, msgspec.Meta(ge=1)]


@api.get("/v1/shapes/{kind}", response=Shape, operation_id="getShape", summary="A shape.")
def shape(req):
    kind = req.params["kind"]
    if kind == "good":
        return {"name": "square", "size": 4}
    if kind == "extra":
        return {"name": "square", "size": 4, "owner": "kari@example.no"}
    return {"name": "kari@example.no", "size": 0}  # size out of range


FN = Function(
    name="things",
    entry_point="things",
    kind="http",
    description="test",
    uses=("oidc", "job_oidc"),
    routes=(
        Route("GET", "/v1/things/{thing_id}", "member"),
        Route("POST", "/v1/things", "member"),
        Route("GET", "/v1/open", "public"),
        Route("DELETE", "/v1/admin", "staff:privacy_officer"),
        Route("POST", "/jobs/run", "job"),
        Route("GET", "/v1/boom", "public"),
        Route("GET", "/v1/slow", "public"),
        Route("GET", "/v1/shapes/{kind}", "public"),
    ),
)


class FakeJwks:
    def __init__(self, key):
        self.set = jwt.PyJWKSet.from_dict(public_jwks(key))

    def get_signing_key(self, kid):
        for k in self.set.keys:
            if k.key_id == kid:
                return k
        raise jwt.PyJWKClientError("no key")


@pytest.fixture(scope="module")
def keys():
    return new_key(), new_key()


@pytest.fixture()
def app(keys):
    settings = config.load(
        ("oidc", "job_oidc"),
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "PSEUDONYM_KEY": base64.b64encode(b"k" * 32).decode(),
            "OIDC_ISSUER": ISSUER,
            "OIDC_AUDIENCE": AUD,
            "OIDC_JWKS_URL": "https://unused",
            "JOB_OIDC_ISSUER": JOB_ISSUER,
            "JOB_OIDC_AUDIENCE": JOB_AUD,
            "JOB_OIDC_JWKS_URL": "https://unused",
            "JOB_INVOKER_EMAILS": INVOKER,
            "MAX_REQUEST_BYTES": "2048",
        },
    )
    log.configure(settings.pseudonym_key)
    auth.reset()
    auth.verifier("app", settings)._client = FakeJwks(keys[0])
    auth.verifier("job", settings)._client = FakeJwks(keys[1])
    fn = http.build(api, FN, settings)
    flask_app = flask.Flask("test")

    def call(method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with flask_app.test_request_context(path, method=method, headers=headers, **kw):
            return fn(flask.request)

    yield call
    auth.reset()


@pytest.fixture()
def member(keys):
    return Minter(keys[0], ISSUER, AUD)


def _problem(resp):
    assert resp.content_type == "application/problem+json"
    body = json.loads(resp.get_data())
    assert body["status"] == resp.status_code
    return body


def test_member_reads_own_resource_with_no_store(app, member):
    resp = app("GET", "/v1/things/owned-by-1000001", member.token("1000001"))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert json.loads(resp.get_data())["id"] == "owned-by-1000001"


def test_another_members_resource_is_404_not_403(app, member):
    resp = app("GET", "/v1/things/owned-by-1000002", member.token("1000001"))
    assert resp.status_code == 404
    assert _problem(resp)["type"] == "https://api.lederne.no/problems/not-found"


@pytest.mark.parametrize(
    "kind",
    ["expired", "wrong_audience", "wrong_issuer", "unsigned", "other_key", "hs256_with_public_key"],
)
def test_bad_tokens_get_401_problem(app, member, kind):
    resp = app("GET", "/v1/things/owned-by-1", getattr(member, kind)("1"))
    assert resp.status_code == 401
    assert _problem(resp)["type"].endswith("/unauthenticated")
    assert "Bearer" in resp.headers["WWW-Authenticate"]


def test_missing_token_gets_401(app):
    assert app("GET", "/v1/things/x").status_code == 401


def test_member_token_cannot_reach_staff_or_job_routes(app, member):
    assert app("DELETE", "/v1/admin", member.token("1000001")).status_code == 403
    assert app("POST", "/jobs/run", member.token("1000001")).status_code == 401  # wrong issuer


def test_staff_role_reaches_staff_route(app, member):
    token = member.token("staff-0001", roles=("staff", "privacy_officer"))
    assert app("DELETE", "/v1/admin", token).status_code == 204
    editor = member.token("staff-0002", roles=("staff", "editor"))
    assert app("DELETE", "/v1/admin", editor).status_code == 403


def test_job_route_accepts_the_scheduler_token(app, keys):
    minter = Minter(keys[1], JOB_ISSUER, JOB_AUD)
    token = minter.token("123", roles=None, email=INVOKER, email_verified=True)
    resp = app("POST", "/jobs/run", token)
    assert resp.status_code == 200 and json.loads(resp.get_data()) == {"invoker": INVOKER}
    other = minter.token(
        "124", roles=None, email="x@p.iam.gserviceaccount.com", email_verified=True
    )
    assert app("POST", "/jobs/run", other).status_code == 403


def test_valid_body_creates(app, member):
    resp = app("POST", "/v1/things", member.token("1"), json={"name": "a", "size": 2})
    assert resp.status_code == 201 and json.loads(resp.get_data()) == {"name": "a", "size": 2}


def test_invalid_body_is_422_naming_the_field_in_the_asked_language(app, member):
    resp = app(
        "POST",
        "/v1/things",
        member.token("1"),
        json={"name": "a", "size": 99},
        headers={"Accept-Language": "en"},
    )
    body = _problem(resp)
    assert resp.status_code == 422
    assert body["errors"] == [{"field": "size", "code": "range", "message": "Must be at most 10."}]
    assert resp.headers["Content-Language"] == "en"


def test_unknown_field_is_422(app, member):
    resp = app("POST", "/v1/things", member.token("1"), json={"name": "a", "admin": True})
    assert resp.status_code == 422 and _problem(resp)["errors"][0]["field"] == "admin"


def test_non_json_body_is_415(app, member):
    resp = app(
        "POST",
        "/v1/things",
        member.token("1"),
        data="name=a",
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 415


def test_body_over_the_limit_is_413(app, member):
    resp = app("POST", "/v1/things", member.token("1"), json={"name": "a" * 5000})
    assert resp.status_code == 413


def test_unknown_path_is_404_and_wrong_method_is_405_with_allow(app):
    assert _problem(app("GET", "/v1/nowhere"))["status"] == 404
    resp = app("PUT", "/v1/open")
    assert resp.status_code == 405 and "GET" in resp.headers["Allow"]


def test_unexpected_error_is_500_problem_and_logs_no_data(app, capsys):
    resp = app("GET", "/v1/boom")
    body = _problem(resp)
    assert resp.status_code == 500 and "kari" not in json.dumps(body)
    out = capsys.readouterr().out
    assert "RuntimeError" in out
    assert "kari@example.no" not in out and "01017012345" not in out


def test_an_answer_of_its_declared_type_is_sent(app):
    resp = app("GET", "/v1/shapes/good")
    assert resp.status_code == 200
    assert json.loads(resp.get_data()) == {"name": "square", "size": 4}


@pytest.mark.parametrize("kind", ["bad", "extra"])
def test_an_answer_that_is_not_its_declared_type_is_500_and_logs_where_not_what(app, capsys, kind):
    capsys.readouterr()
    resp = app("GET", f"/v1/shapes/{kind}")
    assert resp.status_code == 500 and _problem(resp)["type"].endswith("/internal-error")
    out = capsys.readouterr().out
    assert "response does not match its declared type" in out and "getShape" in out
    assert "kari@example.no" not in out


def test_dependency_down_is_503_with_retry_after(app):
    resp = app("GET", "/v1/slow")
    assert resp.status_code == 503 and resp.headers["Retry-After"].isdigit()
    assert _problem(resp)["dependency"] == "member-register"


def test_one_log_line_per_request_with_pseudonym_not_member_id(app, member, capsys):
    capsys.readouterr()
    token = member.token("1000001")
    app(
        "GET",
        "/v1/things/owned-by-1000001",
        token,
        headers={"X-Cloud-Trace-Context": "4bf92f3577b34da6a3ce929d0e0e4736/1"},
    )
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    (entry,) = [x for x in lines if x["message"] == "request"]
    assert entry["httpRequest"]["requestUrl"] == "/v1/things/{thing_id}"
    assert entry["member"] == log.pseudonym("1000001")
    assert entry["logging.googleapis.com/trace"].endswith("4bf92f3577b34da6a3ce929d0e0e4736")
    text = json.dumps(lines)
    assert "1000001" not in text and token not in text


def test_build_refuses_handlers_that_disagree_with_the_manifest(app):
    settings = config.load(
        (), {"GOOGLE_CLOUD_PROJECT": "p", "PSEUDONYM_KEY": base64.b64encode(b"k" * 32).decode()}
    )
    fewer = Function(
        name="things",
        entry_point="things",
        kind="http",
        description="",
        uses=(),
        routes=(Route("GET", "/v1/open", "public"),),
    )
    with pytest.raises(RuntimeError, match="not in manifest"):
        http.build(api, fewer, settings)
