"""Local stand-in for lederne.no: OIDC issuer, member register (MinSide), feeds, newsletter.

Run it::

    python -m infra.local.lederne_standin --host 127.0.0.1 --port 8081 \\
        [--key-file PATH] [--api-key KEY] [--audience lederappen] [--seed 42] [--members 300] \\
        [--reference-date YYYY-MM-DD] [--issuer URL]

or in-process with ``build_app(...)`` (aiohttp ``TestServer``). When no issuer is given to
``build_app`` the issuer is the base URL the request was addressed to.

Endpoints (all answers are JSON; errors are ``{"error": code, "error_description": text}``
in the RFC 6749 style everywhere):

* OIDC for member and staff ID tokens: ``GET /.well-known/openid-configuration``,
  ``GET /oauth2/jwks``, ``POST /oauth2/token`` (password grant; password is "demo";
  ``client_id`` = audience; optional ``ttl`` seconds 1..86400).
* The authorization code flow with PKCE for the staff console (client id
  ``--console-client-id``): ``GET /oauth2/authorize`` shows a login page (pick a staff demo
  user, or type a demo member number; no passwords), ``POST /oauth2/authorize`` redirects back
  with a one-time code (60 s), and ``POST /oauth2/token`` with ``grant_type=authorization_code``
  checks client, redirect URI and the S256 ``code_verifier`` and returns an ID token with the
  ``nonce`` and ``aud`` = the console's client id. Registered redirect URIs: ``--redirect-uri``
  (repeatable); none given, any ``http://127.0.0.1`` or ``http://localhost`` URI.
* A Google-style issuer for job tokens (Cloud Scheduler OIDC): ``/google/.well-known/
  openid-configuration``, ``GET /google/jwks``, ``POST /google/token`` JSON
  ``{"email", "audience"[, "ttl"]}``. It signs with a separate RSA key.
* Member register, ``/api/*`` (``Authorization: Bearer <api_key>``): ``GET/PATCH
  /api/members/{id}`` (ETag/If-Match on ``version``; PATCH is a merge patch of ``email``,
  ``phone``, ``position``, ``address``, ``employer``, where a null inside ``address`` or
  ``employer`` clears that part, and a new postal code sets the county), ``PUT/GET/DELETE
  /api/members/{id}/photo``, ``POST /api/members:batchStatus``, ``GET /api/members``
  (``status``, ``county``, ``page_size``, ``page_token``: member ids in id order).
* Feeds: ``GET /api/topics``, ``/api/courses``, ``/api/content``, ``/api/benefits``.
* Newsletter: ``PUT/GET/DELETE /api/newsletter/subscribers/{member_id}``.
* Test control (never delayed or failed, not in the request log): ``POST /_control/faults``,
  ``GET /_control/faults``, ``POST /_control/reset``, ``GET /_control/requests``,
  ``POST /_control/members`` (add/replace), ``POST /_control/members/{id}/end``,
  ``GET /_control/newsletter`` (object keyed by member_id).

Keys: ``--key-file`` is an RSA private key in PKCS8 PEM; it is created (2048 bit, mode 0600)
when absent, and ``<key-file>.google`` likewise holds the job-token issuer's key. Other tests
read the PEM to sign their own tokens, so the file is the contract. ``kid`` is the RFC 7638
thumbprint of the public key.

Faults: each ``POST /_control/faults`` adds a rule. A request is affected by every rule that
matches it: their delays add up, the most recently added matching rule with a ``status``
decides the status, and each matching rule with a ``count`` uses up one. Without
``path_prefix`` a rule covers ``/api``, ``/oauth2`` and ``/google`` paths except the key
documents (``/.well-known/...``, ``/oauth2/jwks``, ``/google/jwks``,
``/google/.well-known/...``); those are affected only by a rule whose ``path_prefix`` starts
with their own path (e.g. ``"/oauth2/jwks"``). An optional ``retry_after`` (seconds) adds a
``Retry-After`` header to injected errors.

Nothing personal is logged: no access log, one line on start.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import copy
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import sys
import time
from bisect import bisect_right
from collections import deque
from http import HTTPStatus
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local import aioserve, demo_data
from infra.local.faults import FaultRules
from infra.local.faults import is_int as _is_int

log = logging.getLogger("infra.local.lederne_standin")

DEFAULT_AUDIENCE = "lederappen"
DEFAULT_CONSOLE_CLIENT_ID = "lederappen-staff-console"
CODE_SECONDS = 60
DEFAULT_API_KEY = "local-dev-api-key"
DEMO_PASSWORD = "demo"
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_BATCH = 1000
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
REQUEST_LOG_SIZE = 100_000
FEED_MAX_AGE = 300
JWKS_CACHE_CONTROL = "public, max-age=3600"

_FAULT_ROOTS = ("/api", "/oauth2", "/google")
_KEY_DOC_PATHS = ("/.well-known", "/oauth2/jwks", "/google/jwks", "/google/.well-known")
_JSON = "application/json"

# --------------------------------------------------------------------------------------
# Keys and tokens
# --------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def load_or_create_rsa_key(path: str | os.PathLike | None) -> rsa.RSAPrivateKey:
    """The RSA key in ``path`` (PKCS8 PEM); created there (2048 bit, mode 0600) if absent.

    Without a path the key lives in memory only. Creation is race-safe: two processes that
    start with the same absent path end up with the same key.
    """
    if path is None:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = os.fspath(path)
    if not os.path.exists(path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(
            directory, f".{os.path.basename(path)}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        )
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic; fails if another process won the race
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{path} does not hold an RSA private key")
    return key


def jwk_thumbprint(n_b64: str, e_b64: str) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA public JWK."""
    canonical = json.dumps(
        {"e": e_b64, "kty": "RSA", "n": n_b64}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


class SigningKey:
    """An RSA private key with its public JWK and ``kid``."""

    def __init__(self, key: rsa.RSAPrivateKey):
        self.key = key
        numbers = key.public_key().public_numbers()
        n, e = _int_b64url(numbers.n), _int_b64url(numbers.e)
        self.kid = jwk_thumbprint(n, e)
        self.jwk = {"kty": "RSA", "n": n, "e": e, "kid": self.kid, "alg": "RS256", "use": "sig"}
        self.jwks_body = json.dumps({"keys": [self.jwk]}).encode()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def google_sub(email: str) -> str:
    """A stable 21-digit numeric subject for a service-account e-mail (like Google's)."""
    digest = int.from_bytes(hashlib.sha256(email.lower().encode()).digest()[:10], "big")
    return "1" + f"{digest % 10**20:020d}"


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode(),
        status=status,
        content_type=_JSON,
        headers=headers,
    )


def _error(
    status: int, code: str, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    return _json_response({"error": code, "error_description": description}, status, headers)


class _Reject(Exception):
    """Raised inside handlers to answer with a JSON error."""

    def __init__(
        self, status: int, code: str, description: str, headers: dict[str, str] | None = None
    ):
        super().__init__(description)
        self.response = _error(status, code, description, headers)


def _status_code_name(status: int) -> str:
    try:
        return (
            HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")
        )
    except ValueError:
        return "error"


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise _Reject(400, "invalid_request", "request body must be JSON")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _Reject(400, "invalid_request", "request body is not valid JSON") from None


def _parse_rfc3339(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise _Reject(400, "invalid_request", f"{field} must be an RFC 3339 string")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _Reject(400, "invalid_request", f"{field} must be an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise _Reject(400, "invalid_request", f"{field} must carry a time zone offset")
    return parsed


# --------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------

_PATCH_FIELDS = {"email": str, "phone": str, "position": str, "address": dict, "employer": dict}
_COUNTY_BY_POSTAL_CODE = {
    code: county for county, places in demo_data._POSTAL_PLACES.items() for code, _town in places
}
_ADDRESS_KEYS = {"street", "postal_code", "city", "county"}
_EMPLOYER_KEYS = {"name", "org_number"}
_NEWSLETTER_KEYS = {"subscribed", "terms_version", "event_id", "occurred_at"}


class LederneState:
    def __init__(
        self,
        *,
        issuer: str | None,
        audience: str,
        api_key: str,
        member_key: SigningKey,
        google_key: SigningKey,
        seed: int,
        members: int,
        reference_date: dt.date | str | None,
        console_client_id: str = DEFAULT_CONSOLE_CLIENT_ID,
        redirect_uris: tuple[str, ...] = (),
    ):
        self.issuer = issuer.rstrip("/") if issuer else None
        self.audience = audience
        self.console_client_id = console_client_id
        self.redirect_uris = tuple(redirect_uris)
        #: Authorization codes not yet redeemed: code -> what the token will say.
        self.codes: dict[str, dict[str, Any]] = {}
        self.api_key = api_key
        self._bearer = f"Bearer {api_key}".encode()
        self.member_key = member_key
        self.google_key = google_key
        self.pristine = demo_data.generate_members(
            members, seed=seed, reference_date=reference_date
        )
        self.staff = {s["username"]: s for s in demo_data.generate_staff()}
        self.topics = demo_data.generate_topics()
        self.courses = demo_data.generate_courses(reference_date, seed=seed)
        self.content = demo_data.generate_content(reference_date, seed=seed)
        self.benefits = demo_data.generate_benefits(reference_date, seed=seed)
        self.faults = FaultRules(_FAULT_ROOTS, _KEY_DOC_PATHS)
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.reset()

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()
        self.members: dict[str, dict[str, Any]] = {m["member_id"]: m for m in self.pristine}
        self.cache: dict[str, tuple[bytes, str]] = {}
        self._sorted_ids: list[str] | None = None
        self.photos: dict[str, tuple[str, bytes]] = {}
        self.newsletter: dict[str, dict[str, Any]] = {}
        self.newsletter_seen: dict[tuple[str, str], dict[str, Any]] = {}
        self.newsletter_watermark: dict[str, dt.datetime] = {}

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self._bearer)

    def base_url(self, request: web.Request) -> str:
        return self.issuer or f"{request.scheme}://{request.host}"

    def put_member(self, member: dict[str, Any]) -> None:
        """Stores a new member object (never mutate a stored one: copy, change, put)."""
        mid = member["member_id"]
        if mid not in self.members:
            self._sorted_ids = None
        self.members[mid] = member
        self.cache.pop(mid, None)

    def member_body(self, mid: str) -> tuple[bytes, str] | None:
        hit = self.cache.get(mid)
        if hit is None:
            member = self.members.get(mid)
            if member is None:
                return None
            hit = (json.dumps(member, ensure_ascii=False).encode(), f'"{member.get("version", 1)}"')
            self.cache[mid] = hit
        return hit

    def sorted_ids(self) -> list[str]:
        if self._sorted_ids is None:
            self._sorted_ids = sorted(self.members)
        return self._sorted_ids


STATE = web.AppKey("lederne_state", LederneState)

# --------------------------------------------------------------------------------------
# Middleware
# --------------------------------------------------------------------------------------


def _http_exception_response(exc: web.HTTPException) -> web.Response:
    headers = {}
    if "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    return _error(exc.status, _status_code_name(exc.status), exc.reason, headers)


async def _call(handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Reject as rej:
        return rej.response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_exception_response(exc)
    except Exception:
        log.exception("stand-in handler failed")
        return _error(500, "internal_error", "stand-in handler failed")


@web.middleware
async def _middleware(request: web.Request, handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/_control/"):
        return await _call(handler, request)
    state = request.app[STATE]
    response: web.StreamResponse | None = None
    if state.faults.rules:
        fault = state.faults.take(path)
        if fault is not None:
            delay, status, retry_after = fault
            if delay:
                await asyncio.sleep(delay)
            if status is not None:
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
                response = _error(status, _status_code_name(status), "injected fault", headers)
    if response is None:
        if path.startswith("/api/") and not state.authorized(request.headers.get("Authorization")):
            response = _error(
                401,
                "unauthorized",
                "a valid API key is required",
                {"WWW-Authenticate": 'Bearer realm="lederne"'},
            )
        else:
            response = await _call(handler, request)
    state.requests.append((request.method, path, response.status))
    return response


# --------------------------------------------------------------------------------------
# OIDC (member and staff tokens)
# --------------------------------------------------------------------------------------

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(
    status: int, code: str, description: str, extra: dict[str, str] | None = None
) -> web.Response:
    headers = dict(_NO_STORE)
    if extra:
        headers.update(extra)
    return _error(status, code, description, headers)


async def openid_configuration(request: web.Request) -> web.Response:
    state = request.app[STATE]
    base = state.base_url(request)
    return _json_response(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "jwks_uri": f"{base}/oauth2/jwks",
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": ["password", "authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
            "scopes_supported": ["openid"],
            "claims_supported": ["iss", "aud", "sub", "iat", "exp", "auth_time", "amr", "roles"],
        },
        headers={"Cache-Control": JWKS_CACHE_CONTROL},
    )


async def jwks(request: web.Request) -> web.Response:
    key = request.app[STATE].member_key
    return web.Response(
        body=key.jwks_body, content_type=_JSON, headers={"Cache-Control": JWKS_CACHE_CONTROL}
    )


def _basic_client_id(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.content_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            400, "invalid_request", "the token request must be application/x-www-form-urlencoded"
        )
    form = await request.post()
    if form.get("grant_type") == "authorization_code":
        return _redeem_code(state, form, state.base_url(request))
    basic = _basic_client_id(request.headers.get("Authorization"))
    client_id = form.get("client_id") or basic
    if client_id != state.audience:
        extra = {"WWW-Authenticate": 'Basic realm="lederne"'} if basic is not None else None
        return _oauth_error(401, "invalid_client", "unknown client", extra)
    grant_type = form.get("grant_type")
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type != "password":
        return _oauth_error(400, "unsupported_grant_type", "only the password grant is supported")
    username, password = form.get("username"), form.get("password")
    if not username or not password:
        return _oauth_error(400, "invalid_request", "username and password are required")
    ttl = 3600
    if form.get("ttl") not in (None, ""):
        try:
            ttl = int(form["ttl"])
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= 86400:
            return _oauth_error(400, "invalid_request", "ttl must be an integer 1..86400")
    if password != DEMO_PASSWORD:
        return _oauth_error(400, "invalid_grant", "invalid username or password")
    staff = state.staff.get(username)
    if staff is not None:
        sub, roles, amr = staff["sub"], list(staff["roles"]), ["pwd", "mfa"]
    elif username in state.members:
        sub, roles, amr = username, ["member"], ["pwd"]
    else:
        return _oauth_error(400, "invalid_grant", "invalid username or password")
    now = int(time.time())
    claims = {
        "iss": state.base_url(request),
        "aud": state.audience,
        "sub": sub,
        "iat": now,
        "exp": now + ttl,
        "auth_time": now,
        "amr": amr,
        "roles": roles,
    }
    return _json_response(
        {"id_token": state.member_key.sign(claims), "token_type": "Bearer", "expires_in": ttl},
        headers=_NO_STORE,
    )


# -- the authorization code flow with PKCE (the staff console) -----------------------------

_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _redirect_allowed(state: LederneState, uri: str) -> bool:
    if state.redirect_uris:
        return uri in state.redirect_uris
    return uri.startswith(("http://127.0.0.1:", "http://localhost:"))


def _authorize_problem(state: LederneState, params) -> str | None:
    """Why an authorization request is refused (shown to the user, never redirected), or None."""
    if params.get("client_id") != state.console_client_id:
        return "unknown client_id"
    if not params.get("redirect_uri") or not _redirect_allowed(state, params["redirect_uri"]):
        return "redirect_uri is not registered for this client"
    if params.get("response_type") != "code":
        return "response_type must be code"
    if "openid" not in (params.get("scope") or "").split():
        return "scope must include openid"
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return "PKCE is required: code_challenge with code_challenge_method=S256"
    if not params.get("state"):
        return "state is required"
    return None


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=f"<!doctype html><html lang='nb'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width, initial-scale=1'><title>Lederne – logg inn (demo)</title>"
        f"</head><body>{body}</body></html>",
        status=status,
        content_type="text/html",
        headers={
            **_NO_STORE,
            "Content-Security-Policy": "default-src 'none'; form-action *; frame-ancestors 'none'",
            "X-Frame-Options": "DENY",
        },
    )


async def authorize_page(request: web.Request) -> web.Response:
    """The login page: pick a staff demo user (or type a demo member number)."""
    import html

    state = request.app[STATE]
    params = request.query
    problem = _authorize_problem(state, params)
    if problem:
        return _html(f"<h1>Ugyldig innloggingsforespørsel</h1><p>{html.escape(problem)}</p>", 400)
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{html.escape(params[k], quote=True)}'>"
        for k in _AUTHORIZE_PARAMS
        if k in params
    )
    buttons = "".join(
        f"<li><button type='submit' name='username' value='{html.escape(s['username'])}' "
        f"id='login-{html.escape(s['username'])}'>{html.escape(s['username'])} "
        f"({html.escape(', '.join(r for r in s['roles'] if r != 'staff'))})</button></li>"
        for s in state.staff.values()
    )
    return _html(
        "<main><h1>Lederne – logg inn (lokal demo)</h1>"
        "<p>Dette er den lokale stand-in-en for Lederne sin innlogging: velg en demobruker. "
        "Ingen passord.</p>"
        f"<form method='post' action='/oauth2/authorize'>{hidden}<h2>Ansatte</h2>"
        f"<ul>{buttons}</ul></form>"
        f"<form method='post' action='/oauth2/authorize'>{hidden}<h2>Medlem</h2>"
        "<label for='member'>Medlemsnummer</label> <input id='member' name='username'> "
        "<button type='submit' id='login-member'>Logg inn som medlem</button></form></main>"
    )


async def authorize_submit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    problem = _authorize_problem(state, form)
    if problem:
        return _html(f"<h1>Ugyldig innloggingsforespørsel</h1><p>{problem}</p>", 400)
    username = (form.get("username") or "").strip()
    staff = state.staff.get(username)
    if staff is not None:
        sub, roles, amr = staff["sub"], list(staff["roles"]), ["pwd", "mfa"]
    elif username in state.members:
        sub, roles, amr = username, ["member"], ["pwd"]
    else:
        return _html("<h1>Ukjent demobruker</h1>", 400)
    now = time.time()
    for old in [c for c, v in state.codes.items() if v["expires"] < now]:
        state.codes.pop(old, None)
    code = base64.urlsafe_b64encode(os.urandom(24)).rstrip(b"=").decode()
    state.codes[code] = {
        "client_id": form["client_id"],
        "redirect_uri": form["redirect_uri"],
        "challenge": form["code_challenge"],
        "nonce": form.get("nonce"),
        "sub": sub,
        "roles": roles,
        "amr": amr,
        "expires": now + CODE_SECONDS,
    }
    from urllib.parse import urlencode

    sep = "&" if "?" in form["redirect_uri"] else "?"
    raise web.HTTPFound(
        form["redirect_uri"] + sep + urlencode({"code": code, "state": form["state"]})
    )


def _redeem_code(state: LederneState, form, issuer: str) -> web.Response:
    if form.get("client_id") != state.console_client_id:
        return _oauth_error(401, "invalid_client", "unknown client")
    grant = state.codes.pop(form.get("code") or "", None)  # one use, even when it fails
    if grant is None or grant["expires"] < time.time():
        return _oauth_error(400, "invalid_grant", "unknown, used or expired code")
    if grant["client_id"] != form.get("client_id") or grant["redirect_uri"] != form.get(
        "redirect_uri"
    ):
        return _oauth_error(400, "invalid_grant", "client or redirect_uri differ from the request")
    verifier = form.get("code_verifier") or ""
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
        digest.decode(), grant["challenge"]
    ):
        return _oauth_error(400, "invalid_grant", "code_verifier does not match the challenge")
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": grant["client_id"],
        "sub": grant["sub"],
        "iat": now,
        "exp": now + 300,
        "auth_time": now,
        "amr": grant["amr"],
        "roles": grant["roles"],
    }
    if grant["nonce"]:
        claims["nonce"] = grant["nonce"]
    return _json_response(
        {"id_token": state.member_key.sign(claims), "token_type": "Bearer", "expires_in": 300},
        headers=_NO_STORE,
    )


# --------------------------------------------------------------------------------------
# Google-style issuer (job tokens)
# --------------------------------------------------------------------------------------


async def google_configuration(request: web.Request) -> web.Response:
    base = request.app[STATE].base_url(request) + "/google"
    return _json_response(
        {
            "issuer": base,
            "jwks_uri": f"{base}/jwks",
            "token_endpoint": f"{base}/token",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": [
                "aud",
                "azp",
                "email",
                "email_verified",
                "exp",
                "iat",
                "iss",
                "sub",
            ],
        },
        headers={"Cache-Control": JWKS_CACHE_CONTROL},
    )


async def google_jwks(request: web.Request) -> web.Response:
    key = request.app[STATE].google_key
    return web.Response(
        body=key.jwks_body, content_type=_JSON, headers={"Cache-Control": JWKS_CACHE_CONTROL}
    )


async def google_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise _Reject(400, "invalid_request", "body must be a JSON object")
    email, audience = body.get("email"), body.get("audience")
    if not isinstance(email, str) or "@" not in email:
        raise _Reject(400, "invalid_request", "email must be a service-account e-mail")
    if not isinstance(audience, str) or not audience:
        raise _Reject(400, "invalid_request", "audience must be a non-empty string")
    ttl = body.get("ttl", 3600)
    if not _is_int(ttl) or not 1 <= ttl <= 86400:
        raise _Reject(400, "invalid_request", "ttl must be an integer 1..86400")
    now = int(time.time())
    sub = google_sub(email)
    claims = {
        "iss": state.base_url(request) + "/google",
        "aud": audience,
        "azp": sub,
        "email": email,
        "email_verified": True,
        "sub": sub,
        "iat": now,
        "exp": now + ttl,
    }
    return _json_response({"id_token": state.google_key.sign(claims)}, headers=_NO_STORE)


# --------------------------------------------------------------------------------------
# Member register
# --------------------------------------------------------------------------------------


def _not_found(what: str = "member") -> _Reject:
    return _Reject(404, "not_found", f"{what} not found")


async def get_member(request: web.Request) -> web.Response:
    hit = request.app[STATE].member_body(request.match_info["member_id"])
    if hit is None:
        raise _not_found()
    body, etag = hit
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, content_type=_JSON, headers={"ETag": etag})


def _validate_patch(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body:
        raise _Reject(400, "invalid_request", "body must be a non-empty JSON object")
    unknown = set(body) - set(_PATCH_FIELDS)
    if unknown:
        raise _Reject(
            400, "invalid_request", f"fields cannot be changed: {', '.join(sorted(unknown))}"
        )
    for field, kind in _PATCH_FIELDS.items():
        if field in body and not isinstance(body[field], kind):
            raise _Reject(
                400, "invalid_request", f"{field} must be a {'string' if kind is str else 'object'}"
            )
    for field, keys in (("address", _ADDRESS_KEYS), ("employer", _EMPLOYER_KEYS)):
        if field in body:
            sub = body[field]
            bad = set(sub) - keys
            if bad or not sub:
                raise _Reject(
                    400,
                    "invalid_request",
                    f"{field} takes {', '.join(sorted(keys))}; "
                    f"got {', '.join(sorted(sub)) or 'nothing'}",
                )
            if not all(isinstance(v, str) or v is None for v in sub.values()):
                raise _Reject(400, "invalid_request", f"{field} values must be strings or null")
    return body


def _if_match(request: web.Request, etag: str) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        raise _Reject(428, "precondition_required", 'If-Match: "<version>" is required')
    if etag not in (tag.strip() for tag in header.split(",")):
        raise _Reject(412, "precondition_failed", "the member has changed (version mismatch)")


async def patch_member(request: web.Request) -> web.Response:
    state = request.app[STATE]
    mid = request.match_info["member_id"]
    current = state.members.get(mid)
    if current is None:
        raise _not_found()
    version = current.get("version", 1)
    _if_match(request, f'"{version}"')
    patch = _validate_patch(await _json_body(request))
    member = copy.deepcopy(current)
    for field, value in patch.items():
        if isinstance(value, dict):
            merged = dict(member.get(field) or {})
            merged.update(value)  # merge patch: a null clears that part
            member[field] = merged
        else:
            member[field] = value
    address = patch.get("address") or {}
    if "postal_code" in address and "county" not in address:
        # Like the real register, the county follows the postal code (None if unknown here).
        member["address"]["county"] = _COUNTY_BY_POSTAL_CODE.get(address["postal_code"] or "")
    member["version"] = version + 1
    member["updated_at"] = _now_rfc3339()
    state.put_member(member)
    body, etag = state.member_body(mid)
    return web.Response(body=body, content_type=_JSON, headers={"ETag": etag})


async def put_photo(request: web.Request) -> web.Response:
    state = request.app[STATE]
    mid = request.match_info["member_id"]
    if mid not in state.members:
        raise _not_found()
    ctype = request.content_type
    if ctype not in ("image/jpeg", "image/png"):
        raise _Reject(415, "unsupported_media_type", "photo must be image/jpeg or image/png")
    if request.content_length is not None and request.content_length > MAX_PHOTO_BYTES:
        raise _Reject(413, "payload_too_large", "photo must be at most 5 MiB")
    data = await request.read()
    if not data:
        raise _Reject(400, "invalid_request", "photo body is empty")
    state.photos[mid] = (ctype, data)
    return web.Response(status=204)


async def get_photo(request: web.Request) -> web.Response:
    state = request.app[STATE]
    mid = request.match_info["member_id"]
    if mid not in state.members:
        raise _not_found()
    photo = state.photos.get(mid)
    if photo is None:
        raise _not_found("photo")
    return web.Response(body=photo[1], content_type=photo[0])


async def delete_photo(request: web.Request) -> web.Response:
    state = request.app[STATE]
    mid = request.match_info["member_id"]
    if mid not in state.members:
        raise _not_found()
    state.photos.pop(mid, None)
    return web.Response(status=204)


async def batch_status(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json_body(request)
    ids = body.get("member_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BATCH:
        raise _Reject(400, "invalid_request", f"member_ids must be a list of 1..{MAX_BATCH} ids")
    if not all(isinstance(i, str) for i in ids):
        raise _Reject(400, "invalid_request", "member_ids must be strings")
    found, unknown = [], []
    for mid in dict.fromkeys(ids):
        member = state.members.get(mid)
        if member is None:
            unknown.append(mid)
        else:
            ms = member.get("membership") or {}
            found.append(
                {"member_id": mid, "status": ms.get("status"), "ended_on": ms.get("ended_on")}
            )
    return _json_response({"members": found, "unknown": unknown})


def _encode_page_token(last_id: str) -> str:
    return _b64url(json.dumps({"after": last_id}).encode())


def _decode_page_token(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = data["after"]
        if isinstance(after, str):
            return after
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise _Reject(400, "invalid_request", "page_token is not valid")


async def list_members(request: web.Request) -> web.Response:
    state = request.app[STATE]
    q = request.query
    status = q.get("status")
    if status not in (None, "active", "ended"):
        raise _Reject(400, "invalid_request", "status must be active or ended")
    try:
        page_size = int(q.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        page_size = 0
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise _Reject(400, "invalid_request", f"page_size must be 1..{MAX_PAGE_SIZE}")
    county = q.get("county")
    ids = state.sorted_ids()
    start = bisect_right(ids, _decode_page_token(q["page_token"])) if q.get("page_token") else 0
    members = state.members
    out: list[str] = []
    more = False
    for i in range(start, len(ids)):
        mid = ids[i]
        if status is not None and (members[mid].get("membership") or {}).get("status") != status:
            continue
        if county is not None and (members[mid].get("address") or {}).get("county") != county:
            continue
        if len(out) == page_size:
            more = True
            break
        out.append(mid)
    return _json_response(
        {"member_ids": out, "next_page_token": _encode_page_token(out[-1]) if more else None}
    )


# --------------------------------------------------------------------------------------
# Feeds
# --------------------------------------------------------------------------------------


def _feed(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    body = json.dumps({"items": items}, ensure_ascii=False).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"max-age={FEED_MAX_AGE}"}
    inm = request.headers.get("If-None-Match")
    if inm and (
        inm.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in inm.split(","))
    ):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=_JSON, headers=headers)


async def feed_topics(request: web.Request) -> web.Response:
    return _feed(request, request.app[STATE].topics)


async def feed_courses(request: web.Request) -> web.Response:
    q = request.query
    items = request.app[STATE].courses
    if q.get("topic"):
        items = [c for c in items if q["topic"] in c["topics"]]
    if q.get("county"):
        items = [c for c in items if c["county"] == q["county"]]
    if q.get("from"):
        try:
            since = dt.date.fromisoformat(q["from"]).isoformat()
        except ValueError:
            raise _Reject(400, "invalid_request", "from must be YYYY-MM-DD") from None
        items = [c for c in items if c["starts_at"] >= since]
    return _feed(request, sorted(items, key=lambda c: c["starts_at"]))


async def feed_content(request: web.Request) -> web.Response:
    q = request.query
    items = request.app[STATE].content
    if q.get("type"):
        items = [c for c in items if c["type"] == q["type"]]
    if q.get("topic"):
        items = [c for c in items if q["topic"] in c["topics"]]
    return _feed(request, items)


async def feed_benefits(request: web.Request) -> web.Response:
    q = request.query
    items = request.app[STATE].benefits
    if q.get("category"):
        items = [b for b in items if b["category"] == q["category"]]
    return _feed(request, items)


# --------------------------------------------------------------------------------------
# Newsletter
# --------------------------------------------------------------------------------------


async def put_subscriber(request: web.Request) -> web.Response:
    state = request.app[STATE]
    mid = request.match_info["member_id"]
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise _Reject(400, "invalid_request", "body must be a JSON object")
    unknown = set(body) - _NEWSLETTER_KEYS
    if unknown:
        raise _Reject(400, "invalid_request", f"unknown fields: {', '.join(sorted(unknown))}")
    if not isinstance(body.get("subscribed"), bool):
        raise _Reject(400, "invalid_request", "subscribed must be a boolean")
    for field in ("terms_version", "event_id"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise _Reject(400, "invalid_request", f"{field} must be a non-empty string")
    occurred = (
        _parse_rfc3339(body["occurred_at"], "occurred_at")
        if body.get("occurred_at") is not None
        else None
    )

    key = (mid, body["event_id"])
    seen = state.newsletter_seen.get(key)
    if seen is not None:
        return _json_response(seen)
    watermark = state.newsletter_watermark.get(mid)
    current = state.newsletter.get(mid)
    if (
        current is not None
        and occurred is not None
        and watermark is not None
        and occurred < watermark
    ):
        result = dict(current)  # a stale event: the newer state stands
    else:
        result = {
            "member_id": mid,
            "subscribed": body["subscribed"],
            "terms_version": body["terms_version"],
            "confirmed_at": _now_rfc3339(),
            "event_id": body["event_id"],
        }
        state.newsletter[mid] = result
        state.newsletter_watermark[mid] = occurred or dt.datetime.now(dt.UTC)
        result = dict(result)
    state.newsletter_seen[key] = result
    return _json_response(result)


async def get_subscriber(request: web.Request) -> web.Response:
    current = request.app[STATE].newsletter.get(request.match_info["member_id"])
    if current is None:
        raise _not_found("subscriber")
    return _json_response(current)


async def delete_subscriber(request: web.Request) -> web.Response:
    state = request.app[STATE]
    mid = request.match_info["member_id"]
    state.newsletter.pop(mid, None)
    state.newsletter_watermark.pop(mid, None)
    for key in [k for k in state.newsletter_seen if k[0] == mid]:
        del state.newsletter_seen[key]
    return web.Response(status=204)


# --------------------------------------------------------------------------------------
# Control
# --------------------------------------------------------------------------------------


async def control_add_fault(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        rule = FaultRules.parse(await _json_body(request))
    except ValueError as exc:
        raise _Reject(400, "invalid_request", str(exc)) from None
    state.faults.add(rule)
    return web.Response(status=204)


async def control_list_faults(request: web.Request) -> web.Response:
    return _json_response(request.app[STATE].faults.rules)


async def control_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.Response(status=204)


async def control_requests(request: web.Request) -> web.Response:
    return _json_response(
        [{"method": m, "path": p, "status": s} for m, p, s in request.app[STATE].requests]
    )


async def control_end_member(request: web.Request) -> web.Response:
    state = request.app[STATE]
    current = state.members.get(request.match_info["member_id"])
    if current is None:
        raise _not_found()
    member = copy.deepcopy(current)
    membership = dict(member.get("membership") or {})
    membership.update(status="ended", ended_on=dt.datetime.now(dt.UTC).date().isoformat())
    member["membership"] = membership
    member["version"] = member.get("version", 1) + 1
    member["updated_at"] = _now_rfc3339()
    state.put_member(member)
    return web.Response(status=204)


async def control_put_member(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _json_body(request)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("member_id"), str)
        or not body["member_id"]
    ):
        raise _Reject(400, "invalid_request", "body must be a member object with a member_id")
    member = copy.deepcopy(body)
    member.setdefault("version", 1)
    member.setdefault("updated_at", _now_rfc3339())
    state.put_member(member)
    return web.Response(status=204)


async def control_newsletter(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = {}
    for mid, row in state.newsletter.items():
        entry = dict(row)
        entry["occurred_at"] = (
            state.newsletter_watermark[mid].astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        )
        table[mid] = entry
    return _json_response(table)


# --------------------------------------------------------------------------------------
# App and CLI
# --------------------------------------------------------------------------------------


def build_app(
    *,
    issuer: str | None = None,
    host: str | None = None,
    port: int | None = None,
    audience: str = DEFAULT_AUDIENCE,
    api_key: str = DEFAULT_API_KEY,
    key_file: str | os.PathLike | None = None,
    seed: int = demo_data.DEFAULT_SEED,
    members: int = 300,
    reference_date: dt.date | str | None = None,
    console_client_id: str = DEFAULT_CONSOLE_CLIENT_ID,
    redirect_uris: tuple[str, ...] = (),
) -> web.Application:
    """The lederne.no stand-in as an aiohttp application.

    ``issuer``: the public base URL; else ``http://host:port`` when both are given; else the
    base URL each request was addressed to (handy with aiohttp's TestServer).
    """
    if issuer is None and host and port:
        issuer = aioserve.base_url(host, port)
    member_key = SigningKey(load_or_create_rsa_key(key_file))
    google_file = f"{os.fspath(key_file)}.google" if key_file is not None else None
    google_key = SigningKey(load_or_create_rsa_key(google_file))
    state = LederneState(
        issuer=issuer,
        audience=audience,
        api_key=api_key,
        member_key=member_key,
        google_key=google_key,
        seed=seed,
        members=members,
        reference_date=reference_date,
        console_client_id=console_client_id,
        redirect_uris=tuple(redirect_uris),
    )
    app = web.Application(middlewares=[_middleware], client_max_size=MAX_PHOTO_BYTES)
    app[STATE] = state
    r = app.router
    r.add_get("/.well-known/openid-configuration", openid_configuration)
    r.add_get("/oauth2/jwks", jwks)
    r.add_post("/oauth2/token", token)
    r.add_get("/oauth2/authorize", authorize_page)
    r.add_post("/oauth2/authorize", authorize_submit)
    r.add_get("/google/.well-known/openid-configuration", google_configuration)
    r.add_get("/google/jwks", google_jwks)
    r.add_post("/google/token", google_token)
    r.add_post("/api/members:batchStatus", batch_status)
    r.add_get("/api/members", list_members)
    r.add_get("/api/members/{member_id}", get_member)
    r.add_patch("/api/members/{member_id}", patch_member)
    r.add_put("/api/members/{member_id}/photo", put_photo)
    r.add_get("/api/members/{member_id}/photo", get_photo)
    r.add_delete("/api/members/{member_id}/photo", delete_photo)
    r.add_get("/api/topics", feed_topics)
    r.add_get("/api/courses", feed_courses)
    r.add_get("/api/content", feed_content)
    r.add_get("/api/benefits", feed_benefits)
    r.add_put("/api/newsletter/subscribers/{member_id}", put_subscriber)
    r.add_get("/api/newsletter/subscribers/{member_id}", get_subscriber)
    r.add_delete("/api/newsletter/subscribers/{member_id}", delete_subscriber)
    r.add_post("/_control/faults", control_add_fault)
    r.add_get("/_control/faults", control_list_faults)
    r.add_post("/_control/reset", control_reset)
    r.add_get("/_control/requests", control_requests)
    r.add_post("/_control/members", control_put_member)
    r.add_post("/_control/members/{member_id}/end", control_end_member)
    r.add_get("/_control/newsletter", control_newsletter)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.lederne_standin", description="Local stand-in for lederne.no."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--key-file",
        default=None,
        help="RSA private key (PKCS8 PEM); created if absent; <file>.google for job tokens",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--audience", default=DEFAULT_AUDIENCE)
    parser.add_argument("--console-client-id", default=DEFAULT_CONSOLE_CLIENT_ID)
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="a registered redirect URI of the console (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=demo_data.DEFAULT_SEED)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument(
        "--reference-date",
        default=None,
        help="YYYY-MM-DD for date-relative demo data (default: today)",
    )
    parser.add_argument(
        "--issuer", default=None, help="public base URL (default: http://HOST:PORT as bound)"
    )
    args = parser.parse_args(argv)
    if args.members < 1:
        parser.error("--members must be >= 1")

    def make_app(host: str, port: int) -> web.Application:
        return build_app(
            issuer=args.issuer or aioserve.base_url(host, port),
            audience=args.audience,
            api_key=args.api_key,
            key_file=args.key_file,
            seed=args.seed,
            members=args.members,
            reference_date=args.reference_date,
            console_client_id=args.console_client_id,
            redirect_uris=tuple(args.redirect_uri),
        )

    return aioserve.run("lederne stand-in", args.host, args.port, make_app)


if __name__ == "__main__":
    sys.exit(main())
