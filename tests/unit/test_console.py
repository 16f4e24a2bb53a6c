"""The staff console's session, CSRF and page guard, without the network (Flask's test client).

The browser tests (tests/browser) prove the same against the real stack in Chromium; these
pin the rules one by one, including the ones an adversary would try.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import flask
import pytest
from lederappen.console import app as console_app
from lederappen.console import oidc
from lederappen.console import store as revocation
from lederappen.console.session import COOKIE, SIGNIN_COOKIE, Sessions, csrf_ok
from lederappen.core import config, manifest

KEY = b"k" * 32
STATIC = Path(console_app.__file__).parent / "static"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- the session cookie ------------------------------------------------------------------------


def test_a_session_round_trips_through_its_signed_cookie():
    s = Sessions(KEY, 1800, 8 * 3600)
    sess = s.start("staff-0002", ["staff", "editor"])
    back = s.load(s.dump(sess))
    assert back == sess and back.roles == frozenset({"staff", "editor"})
    assert len(sess.csrf) >= 40


def test_a_cookie_with_changed_roles_or_another_key_is_refused():
    s = Sessions(KEY, 1800, 8 * 3600)
    value = s.dump(s.start("staff-0002", ["staff", "editor"]))
    payload, _, _sig = value.rpartition(".")
    forged = value.replace(
        payload.split(".")[0],
        base64.urlsafe_b64encode(
            json.dumps(
                {"s": "staff-0002", "r": ["staff", "privacy_officer"], "c": "x", "t0": 1, "t": 1}
            ).encode()
        )
        .decode()
        .rstrip("="),
    )
    assert s.load(forged) is None
    assert Sessions(b"o" * 32, 1800, 8 * 3600).load(value) is None
    assert s.load("") is None and s.load("garbage") is None and s.load(value + "x") is None


def test_a_session_ends_after_the_idle_time_without_a_request():
    clock = Clock()
    s = Sessions(KEY, 1800, 8 * 3600, clock)
    value = s.dump(s.start("staff-0001", ["staff", "privacy_officer"]))
    clock.now += 1799
    assert s.load(value) is not None
    clock.now += 2
    assert s.load(value) is None


def test_a_session_ends_at_the_absolute_lifetime_however_active():
    clock = Clock()
    s = Sessions(KEY, 1800, 8 * 3600, clock)
    sess = s.start("staff-0001", ["staff", "privacy_officer"])
    for _ in range(8 * 4 + 1):  # a request every 15 minutes, past eight hours
        clock.now += 900
        sess = s.load(s.dump(s.touch(sess)))
        if sess is None:
            break
    assert sess is None, "the absolute lifetime must end even a busy session"
    assert clock.now - 1_800_000_000.0 <= 8 * 3600 + 900


def test_the_cookie_lives_no_longer_than_the_session():
    clock = Clock()
    s = Sessions(KEY, 1800, 8 * 3600, clock)
    sess = s.start("a", ["staff"])
    assert s.cookie_max_age(sess) == 1800
    clock.now += 8 * 3600 - 60
    assert s.cookie_max_age(s.touch(sess)) == 60


def test_a_sign_in_cookie_is_not_a_session_and_a_session_is_not_a_sign_in():
    clock = Clock()
    s = Sessions(KEY, 1800, 8 * 3600, clock)
    signin = s.dump_signin({"state": "a", "nonce": "b", "verifier": "c", "next": "/staff/home"})
    session = s.dump(s.start("a", ["staff"]))
    assert s.load(signin) is None and s.load_signin(session) is None
    assert s.load_signin(signin)["state"] == "a"
    clock.now += 601
    assert s.load_signin(signin) is None, "a sign-in must complete within ten minutes"


def test_csrf_token_must_be_the_sessions_own():
    s = Sessions(KEY, 1800, 8 * 3600)
    a, b = s.start("a", ["staff"]), s.start("b", ["staff"])
    assert csrf_ok(a, a.csrf)
    assert not csrf_ok(a, b.csrf)
    assert not csrf_ok(a, None) and not csrf_ok(a, "") and not csrf_ok(None, a.csrf)


def test_pkce_challenge_is_the_s256_of_a_fresh_verifier():
    v1, c1 = oidc.pkce_pair()
    v2, _ = oidc.pkce_pair()
    assert v1 != v2 and 43 <= len(v1) <= 128 and re.fullmatch(r"[A-Za-z0-9_-]+", v1)
    expected = base64.urlsafe_b64encode(hashlib.sha256(v1.encode()).digest()).rstrip(b"=")
    assert c1 == expected.decode()


# -- the page guard, through Flask's test client ---------------------------------------------------

ENV = {
    "GOOGLE_CLOUD_PROJECT": "p",
    "PSEUDONYM_KEY": base64.b64encode(b"p" * 32).decode(),
    "DB_NAME": "none",
    "DB_USER": "none",
    "DB_PASSWORD": "none",
    "DB_PORT": "9",
    "DB_CONNECT_TIMEOUT_SECONDS": "0.2",
    "OIDC_ISSUER": "http://127.0.0.1:9",
    "OIDC_AUDIENCE": "lederappen",
    "LEDERNE_API_URL": "http://127.0.0.1:9",
    "LEDERNE_API_KEY": "k",
    "CONSOLE_OIDC_ISSUER": "http://127.0.0.1:9",
    "CONSOLE_OIDC_CLIENT_ID": "console",
    "CONSOLE_BASE_URL": "https://console.example",
    "CONSOLE_SESSION_KEY": base64.b64encode(KEY).decode(),
}


@pytest.fixture()
def console():
    fn = manifest.load().by_name("staff-console")
    c = console_app.Console(fn, config.load(fn.uses, ENV), revoked=revocation.Memory())
    c.provider._endpoints = oidc.Endpoints(
        "https://idp.example/authorize", "https://idp.example/token", "https://idp.example/jwks"
    )
    return c


@pytest.fixture()
def client(console):
    app = flask.Flask("console-test")
    app.add_url_rule(
        "/<path:p>",
        "any",
        lambda p: console(flask.request),
        methods=["GET", "POST", "PUT", "DELETE"],
    )
    return app.test_client()


def _sign_in(client, console, *roles):
    sess = console.sessions.start("staff-9", ["staff", *roles])
    client.set_cookie(COOKIE, console.sessions.dump(sess), domain="localhost", path="/staff/")
    return sess


def test_without_a_session_a_page_redirects_to_sign_in_and_shows_nothing(client):
    r = client.get("/staff/privacy/requests")
    assert r.status_code == 303
    assert r.headers["Location"] == "/staff/login?next=%2Fstaff%2Fprivacy%2Frequests"
    assert r.data == b""


def test_a_bearer_token_opens_no_page(client, console):
    # The console knows only its session cookie: the API's bearer tokens count for nothing.
    r = client.get("/staff/home", headers={"Authorization": "Bearer a.b.c"})
    assert r.status_code == 303 and b"<main" not in r.data


def test_a_forged_session_cookie_opens_no_page(client, console):
    other = Sessions(b"x" * 32, 1800, 8 * 3600)
    value = other.dump(other.start("staff-1", ["staff", "privacy_officer"]))
    client.set_cookie(COOKIE, value, domain="localhost", path="/staff/")
    assert client.get("/staff/privacy/requests").status_code == 303


def test_a_page_for_another_role_is_403_html_in_the_users_language(client, console):
    _sign_in(client, console, "editor")
    r = client.get(
        "/staff/privacy/requests", headers={"Accept-Language": "en", "Accept": "application/json"}
    )
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"Your sign-in does not give access to this page." in r.data
    assert b'"type"' not in r.data, "never a raw problem document"


def test_a_form_without_its_csrf_token_is_refused_and_nothing_runs(client, console):
    sess = _sign_in(client, console, "mentor_coordinator")
    other = console.sessions.start("staff-9", ["staff", "mentor_coordinator"])
    for data in ({}, {"csrf": ""}, {"csrf": other.csrf}, {"csrf": sess.csrf + "x"}):
        r = client.post("/staff/mentoring/rounds", data=data)
        # 403 before the page runs: the page itself would need the (absent) database
        assert r.status_code == 403, data
        assert "Skjemaet er utløpt".encode() in r.data


def test_a_form_with_its_csrf_token_reaches_the_page(client, console):
    sess = _sign_in(client, console, "mentor_coordinator")
    r = client.post("/staff/mentoring/rounds", data={"csrf": sess.csrf})
    # past the guard, the page calls the API's code, which cannot reach the database here
    assert r.status_code in (500, 503)
    assert r.headers["Content-Type"].startswith("text/html")


def test_the_csrf_token_may_come_as_a_header_for_htmx(client, console):
    sess = _sign_in(client, console, "editor")
    r = client.post(
        "/staff/messages/preview",
        headers={"X-CSRF-Token": sess.csrf, "HX-Request": "true"},
        data={
            "title_nb": "Hei",
            "title_en": "Hi",
            "body_nb": "Tekst",
            "body_en": "Text",
            "category": "news",
            "audience_kind": "member",
            "member_id": "100001",
        },
    )
    assert r.status_code == 200
    # a message to one member is sensitive: the lock screen shows only the neutral text
    assert b"Du har en ny melding i Lederappen." in r.data
    assert b"You have a new message in Lederappen." in r.data
    assert re.search(rb'id="push-size" class="ok"', r.data)


def test_every_page_sends_a_strict_content_security_policy(client, console):
    _sign_in(client, console, "editor")
    for path in ("/staff/home", "/staff/login?next=/staff/home", "/staff/nowhere"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"


def test_no_template_has_inline_script_or_style(console):
    for path in (Path(console_app.__file__).parent / "templates").glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert not re.search(r"\bon[a-z]+=", text), path.name
        assert "style=" not in text and "<style" not in text, path.name


def test_the_session_cookie_is_httponly_secure_strict_and_scoped(client, console):
    _sign_in(client, console, "editor")
    r = client.get("/staff/home")
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    for part in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/staff/", "Max-Age=1800"):
        assert part in cookie


def test_sign_out_clears_the_session(client, console):
    sess = _sign_in(client, console, "editor")
    r = client.post("/staff/logout", data={"csrf": sess.csrf})
    assert r.status_code == 200
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "Max-Age=0" in cookie or "expires=Thu, 01 Jan 1970" in cookie.lower()


def test_a_copy_of_the_cookie_opens_nothing_after_sign_out(client, console):
    sess = _sign_in(client, console, "editor")
    copied = console.sessions.dump(sess)
    assert client.get("/staff/messages/new").status_code == 200
    assert client.post("/staff/logout", data={"csrf": sess.csrf}).status_code == 200
    # the copy is still correctly signed and not expired, but its session was revoked
    assert console.sessions.load(copied) == sess
    client.set_cookie(COOKIE, copied, domain="localhost", path="/staff/")
    r = client.get("/staff/messages/new")
    assert r.status_code == 303 and r.headers["Location"].startswith("/staff/login")
    r = client.post("/staff/mentoring/rounds", data={"csrf": sess.csrf})
    assert r.status_code == 401
    # a new sign-in is a new session, not revoked
    _sign_in(client, console, "editor")
    assert client.get("/staff/messages/new").status_code == 200


def test_a_revocation_is_kept_until_the_session_would_have_ended():
    clock = Clock()
    s = Sessions(KEY, 1800, 8 * 3600, clock)
    store = revocation.Memory()
    first, second = s.start("a", ["staff"]), s.start("b", ["staff"])
    assert first.sid != second.sid
    now = datetime.fromtimestamp(clock(), UTC)
    store.revoke(first.sid, datetime.fromtimestamp(s.ends_at(first), UTC), now)
    assert store.is_revoked(first.sid) and not store.is_revoked(second.sid)
    clock.now += 8 * 3600 + 1  # the first session has ended by itself: its entry may go
    later = datetime.fromtimestamp(clock(), UTC)
    store.revoke(second.sid, datetime.fromtimestamp(s.ends_at(second), UTC), later)
    assert not store.is_revoked(first.sid) and store.is_revoked(second.sid)
    assert s.load(s.dump(first)) is None  # and its cookie is refused by its age anyway


def test_a_session_cookie_without_an_id_is_no_session():
    s = Sessions(KEY, 1800, 8 * 3600)
    sess = s.start("a", ["staff"])
    from itsdangerous import URLSafeSerializer

    old = URLSafeSerializer(KEY, salt="lederappen.console.session").dumps(
        {"s": "a", "r": ["staff"], "c": sess.csrf, "t0": sess.started, "t": sess.seen}
    )
    assert s.load(old) is None


def test_sign_in_starts_the_code_flow_with_pkce_state_and_nonce(client, console):
    r = client.get("/staff/login?next=/staff/messages")
    assert r.status_code == 302
    target = r.headers["Location"]
    assert target.startswith("https://idp.example/authorize?")
    from urllib.parse import parse_qs, urlsplit

    q = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
    assert q["response_type"] == "code" and q["code_challenge_method"] == "S256"
    assert q["client_id"] == "console" and q["scope"] == "openid"
    assert q["redirect_uri"] == "https://console.example/staff/callback"
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(SIGNIN_COOKIE))
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    pending = console.sessions.load_signin(cookie.split(";")[0].split("=", 1)[1])
    assert pending["state"] == q["state"] and pending["nonce"] == q["nonce"]
    assert oidc.s256(pending["verifier"]) == q["code_challenge"]
    assert pending["next"] == "/staff/messages"


@pytest.mark.parametrize(
    "next_",
    ["https://evil.example/", "//evil.example/x", "/v1/profile", "/staff/login", "/staff\\..\\x"],
)
def test_sign_in_returns_only_to_a_console_page(console, client, next_):
    from urllib.parse import quote

    r = client.get("/staff/login?next=" + quote(next_))
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(SIGNIN_COOKIE))
    assert (
        console.sessions.load_signin(cookie.split(";")[0].split("=", 1)[1])["next"] == "/staff/home"
    )


def test_a_callback_without_the_matching_state_signs_nobody_in(client, console):
    r = client.get("/staff/callback?code=abc&state=guessed")
    assert r.status_code == 401
    assert not [h for h in r.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    pending = console.sessions.dump_signin(
        {"state": "real", "nonce": "n", "verifier": "v", "next": "/staff/home"}
    )
    client.set_cookie(SIGNIN_COOKIE, pending, domain="localhost", path="/staff/")
    r = client.get("/staff/callback?code=abc&state=guessed")
    assert r.status_code == 401
    assert b"Innloggingen mislyktes" in r.data


def test_the_language_switch_is_remembered(client, console):
    _sign_in(client, console, "editor")
    r = client.get("/staff/home?lang=en")
    assert b"<h1>Overview</h1>" in r.data and b'lang="en"' in r.data
    assert any(h.startswith("staff_lang=en") for h in r.headers.getlist("Set-Cookie"))
    assert b"<h1>Overview</h1>" in client.get("/staff/home").data
    assert b"<h1>Oversikt</h1>" in client.get("/staff/home?lang=nb").data


def test_pages_show_in_the_header_only_what_the_roles_open(client, console):
    _sign_in(client, console, "operations")
    page = client.get("/staff/home").data.decode()
    assert "/staff/dead-letters" in page
    for other in (
        "/staff/messages",
        "/staff/privacy/requests",
        "/staff/mentoring",
        "/staff/salary-rounds",
    ):
        assert other not in page


def test_only_the_console_assets_are_served_from_static(client):
    assert client.get("/staff/static/htmx.min.js").status_code == 200
    assert client.get("/staff/static/console.css").status_code == 200
    for name in ("VENDORED.json", "htmx.LICENSE", "..%2F..%2Fapp.py", ".hidden.js"):
        assert client.get(f"/staff/static/{name}").status_code == 404


def test_vendored_htmx_is_the_pinned_npm_file():
    pinned = json.loads((STATIC / "VENDORED.json").read_text())["files"]["htmx.min.js"]
    assert pinned["package"] == "htmx.org" and re.fullmatch(r"\d+\.\d+\.\d+", pinned["version"])
    digest = hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest()
    assert digest == pinned["sha256"], "htmx.min.js differs from the pinned npm file"


def test_every_console_role_page_uses_a_role_the_admin_api_uses():
    m = manifest.load()
    api_roles = {r.staff_role for _, r in m.routes() if r.path.startswith("/v1/")} - {None}
    console = m.by_name("staff-console")
    for r in console.routes:
        assert r.auth in ("public", "staff") or r.staff_role in api_roles, r.path
        assert r.auth != "member", r.path


def test_console_grants_are_no_wider_than_the_admin_functions_it_mirrors():
    m = manifest.load()
    console = m.by_name("staff-console")
    mirrored = [
        m.by_name(n)
        for n in (
            "privacy-admin",
            "messages-admin",
            "dead-letters",
            "mentoring-admin",
            "salary-admin",
            "salary-releases",
        )
    ]
    # its one table of its own: the ids of sessions ended by signing out (revocation.py)
    own = {"console_revoked_sessions": {"SELECT", "INSERT", "DELETE"}}
    for table, privileges in console.db_privileges.items():
        allowed = {p for f in mirrored for p in f.db_privileges.get(table, ())}
        assert set(privileges) <= allowed | own.get(table, set()), table
    assert not any(table in f.db_privileges for f in m.functions for table in own if f != console)
    assert set(console.publishes) <= {t for f in mirrored for t in f.publishes}
    assert set(console.pulls) <= {t for f in mirrored for t in f.pulls}


def test_a_static_file_is_cacheable_and_carries_no_cookie(client, console):
    _sign_in(client, console, "editor")
    r = client.get("/staff/static/console.css")
    assert r.status_code == 200 and r.headers["Cache-Control"].startswith("public")
    assert not r.headers.getlist("Set-Cookie")


def test_the_staff_mode_needs_the_staff_role_and_nothing_more():
    from lederappen.core import auth
    from lederappen.core.problems import Forbidden

    assert auth.principal_for("staff", {"sub": "s", "roles": ["staff"]}).kind == "staff"
    for roles in (["member"], [], ["editor"], None):
        with pytest.raises(Forbidden):
            auth.principal_for("staff", {"sub": "s", "roles": roles})


def test_console_grants_cover_what_the_mirrored_admin_functions_need():
    """A page runs the admin route's own handler, so it needs that function's grants: one
    missing (privacy-admin's message_batches for the membership-end preview, say) is a
    'permission denied' on that page only."""
    m = manifest.load()
    console = m.by_name("staff-console")
    for name in (
        "privacy-admin",
        "messages-admin",
        "dead-letters",
        "mentoring-admin",
        "salary-admin",
    ):
        for table, privileges in m.by_name(name).db_privileges.items():
            assert set(privileges) <= set(console.db_privileges.get(table, ())), (name, table)


def test_answers_over_time_are_drawn_with_their_figures_in_words_and_escaped():
    from lederappen.console import charts

    days = [
        {"date": "2026-11-02", "answers": 26, "cumulative": 26},
        {"date": "2026-11-03", "answers": 0, "cumulative": 26},
        {"date": "2026-11-04", "answers": 8, "cumulative": 34},
    ]
    svg = str(charts.time_chart(days, "Svar <2026>", "per dag", "i alt"))
    assert svg.startswith("<svg") and "<script" not in svg and "<2026>" not in svg
    assert "Svar &lt;2026&gt;: 2026-11-02 – 2026-11-04; i alt: 34" in svg
    assert "per dag, max 26 (2026-11-02)" in svg
    assert svg.count("<rect") == 3 and svg.count("<polyline") == 1
    assert charts.time_chart([], "x", "y", "z") == ""
