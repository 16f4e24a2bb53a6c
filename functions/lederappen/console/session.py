"""The console's session and its CSRF token: a signed cookie; the server keeps only the ids of
sessions ended by signing out (revocation.py).

A staff user who has signed in (oidc.py) carries one cookie, `staff_session`, signed with
CONSOLE_SESSION_KEY (itsdangerous, HMAC-SHA256 over the JSON payload): who (the token's
`sub`), the roles the ID token carried, a random session id, a random CSRF token, when the
session began and when it was last used. Signing out revokes the id until the session would
have ended, so a copy of the cookie no longer opens anything. It is HttpOnly, Secure, SameSite=Strict and scoped to /staff/. A session
ends after CONSOLE_SESSION_IDLE_MINUTES without a request and CONSOLE_SESSION_MAX_HOURS
after sign-in, however active; each request re-signs it with a new last-used time. The
roles are fixed at sign-in: a role removed at the identity provider takes effect at the
next sign-in, at most the absolute lifetime later.

CSRF: every form and every htmx request sends the session's token (synchronizer token bound
to the session, compared in constant time); SameSite=Strict is the second fence.

The sign-in in progress (state, nonce, PKCE verifier, where to return) is a second signed
cookie, `staff_signin`, with a salt of its own, SameSite=Lax (the identity provider's
redirect back is a cross-site navigation), ten minutes long, used once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COOKIE = "staff_session"
SIGNIN_COOKIE = "staff_signin"
PATH = "/staff/"
SIGNIN_SECONDS = 600
_SESSION_SALT = "lederappen.console.session"
_SIGNIN_SALT = "lederappen.console.signin"


@dataclass(frozen=True)
class Session:
    subject: str
    roles: frozenset[str]
    csrf: str
    started: int
    seen: int
    #: Random, names the session for its revocation at sign-out (revocation.py).
    sid: str


def _serializer(key: bytes, salt: str):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(key, salt=salt)


class Sessions:
    """Issues and reads session cookies; `clock` is seconds since the epoch (tests move it)."""

    def __init__(
        self,
        key: bytes,
        idle_seconds: int,
        max_seconds: int,
        clock: Callable[[], float] = time.time,
    ):
        if len(key) < 32:
            raise ValueError("the session key must be at least 32 bytes")
        self._session = _serializer(key, _SESSION_SALT)
        self._signin = _serializer(key, _SIGNIN_SALT)
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.clock = clock

    # -- the session --------------------------------------------------------------------------

    def start(self, subject: str, roles) -> Session:
        now = int(self.clock())
        return Session(
            subject,
            frozenset(roles),
            secrets.token_urlsafe(32),
            now,
            now,
            secrets.token_urlsafe(24),
        )

    def dump(self, session: Session) -> str:
        return self._session.dumps(
            {
                "s": session.subject,
                "r": sorted(session.roles),
                "c": session.csrf,
                "t0": session.started,
                "t": session.seen,
                "i": session.sid,
            }
        )

    def load(self, value: str | None) -> Session | None:
        """The session in a cookie value, or None if it is absent, forged or has expired."""
        if not value:
            return None
        from itsdangerous import BadSignature

        try:
            data = self._session.loads(value)
        except BadSignature:
            return None
        try:
            session = Session(
                str(data["s"]),
                frozenset(str(r) for r in data["r"]),
                str(data["c"]),
                int(data["t0"]),
                int(data["t"]),
                str(data["i"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
        now = int(self.clock())
        if now - session.seen > self.idle_seconds or now - session.started > self.max_seconds:
            return None
        if session.seen > now + 60 or session.started > session.seen:
            return None
        return session

    def touch(self, session: Session) -> Session:
        return Session(
            session.subject,
            session.roles,
            session.csrf,
            session.started,
            int(self.clock()),
            session.sid,
        )

    def ends_at(self, session: Session) -> int:
        """When the session ends however active it is (seconds since the epoch)."""
        return session.started + self.max_seconds

    def cookie_max_age(self, session: Session) -> int:
        """Seconds the browser should keep the cookie: until the session would expire."""
        now = int(self.clock())
        return max(0, min(self.idle_seconds, session.started + self.max_seconds - now))

    # -- the sign-in in progress -------------------------------------------------------------

    def dump_signin(self, data: dict[str, Any]) -> str:
        return self._signin.dumps({**data, "t": int(self.clock())})

    def load_signin(self, value: str | None) -> dict[str, Any] | None:
        if not value:
            return None
        from itsdangerous import BadSignature

        try:
            data = self._signin.loads(value)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("t"), int):
            return None
        if not 0 <= int(self.clock()) - data["t"] <= SIGNIN_SECONDS:
            return None
        return data


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    """Whether a form's token is this session's (constant-time comparison)."""
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf.encode(), sent.encode())
