"""Bearer-token verification: the app's OpenID Connect ID tokens and the scheduler's job tokens.

PyJWT does the cryptography: the signature is checked against the issuer's JWKS (fetched
once, cached for an hour, refetched at most every 30 s when an unknown `kid` appears, so a
key rotation works and a flood of made-up key ids cannot hammer the issuer), then issuer,
audience, expiry and issued-at with a small leeway, against an allow-list of algorithms (so
`alg: none` and HMAC-with-the-public-key tricks fail). The member is the token's `sub`.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .problems import DependencyUnavailable, Forbidden, Unauthenticated

if TYPE_CHECKING:  # pragma: no cover
    import jwt

    from . import config

_INVALID = {
    "nb": "Innloggingen er ugyldig eller utløpt. Logg inn på nytt.",
    "en": "Your sign-in is invalid or has expired. Please sign in again.",
}
_MISSING = {
    "nb": "Forespørselen mangler innlogging (Bearer-token).",
    "en": "The request carries no sign-in (bearer token).",
}
_NO_ROLE = {
    "nb": "Innloggingen din gir ikke tilgang til denne funksjonen.",
    "en": "Your sign-in does not give access to this function.",
}


#: Claims that must be NumericDates when present (exp and iat are required anyway).
_TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_numeric_date(value) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a member, a staff user with roles, or a job (service account)."""

    subject: str
    kind: str  # "member" | "staff" | "job"
    roles: frozenset[str] = frozenset()

    @property
    def member_id(self) -> str:
        if self.kind != "member":
            raise Forbidden(_NO_ROLE)
        return self.subject


class TokenVerifier:
    """Verifies JWTs from one issuer; one instance per issuer per function instance."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        jwks_url: str | None = None,
        leeway: int = 30,
        timeout: float = 3.0,
    ):
        self.issuer = issuer
        self.audience = audience
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self.timeout = timeout
        self._jwks_url = jwks_url
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _jwks_client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import jwt

                    url = self._jwks_url or self._discover_jwks_url()
                    self._client = jwt.PyJWKClient(
                        url,
                        cache_keys=True,
                        lifespan=3600,
                        timeout=self.timeout,
                        cooldown_duration=30,
                    )
        return self._client

    def _discover_jwks_url(self) -> str:
        url = self.issuer + "/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                return json.load(resp)["jwks_uri"]
        except Exception as exc:
            raise DependencyUnavailable("identity-provider") from exc

    def verify(self, token: str) -> dict:
        """The token's claims, or Unauthenticated; DependencyUnavailable if keys can't be fetched."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated(_INVALID) from None
        if header.get("alg") not in self.algorithms:
            raise Unauthenticated(_INVALID)
        try:
            key = self._jwks_client().get_signing_key(header.get("kid") or "")
        except jwt.PyJWKClientConnectionError as exc:
            raise DependencyUnavailable("identity-provider") from exc
        except jwt.PyJWTError:
            raise Unauthenticated(_INVALID) from None
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            raise Unauthenticated(_INVALID) from None
        # RFC 7519 NumericDate: a JSON number. PyJWT passes each through int(), which takes
        # "9999999999" (a string) and True as well; neither is a time, so neither is trusted.
        for name in _TIME_CLAIMS:
            if name in claims and not _is_numeric_date(claims[name]):
                raise Unauthenticated(_INVALID)
        return claims


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated(_MISSING, headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or token.count(".") != 2:
        raise Unauthenticated(_INVALID)
    return token.strip()


def principal_for(auth_mode: str, claims: dict, job_invokers: tuple[str, ...] = ()) -> Principal:
    """Checks that the verified claims satisfy a route's auth mode (see manifest AUTH_MODES)."""
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        roles = []
    roles = frozenset(str(r) for r in roles)
    if auth_mode == "member":
        if "member" not in roles:
            raise Forbidden(_NO_ROLE)
        return Principal(str(claims["sub"]), "member", roles)
    if auth_mode == "staff":
        if "staff" not in roles:
            raise Forbidden(_NO_ROLE)
        return Principal(str(claims["sub"]), "staff", roles)
    if auth_mode.startswith("staff:"):
        needed = auth_mode.split(":", 1)[1]
        if "staff" not in roles or needed not in roles:
            raise Forbidden(_NO_ROLE)
        return Principal(str(claims["sub"]), "staff", roles)
    if auth_mode == "job":
        email = claims.get("email")
        if not claims.get("email_verified") or email not in job_invokers:
            raise Forbidden(_NO_ROLE)
        return Principal(str(email), "job")
    raise Forbidden(_NO_ROLE)


_verifiers: dict[str, TokenVerifier] = {}
_verifiers_lock = threading.Lock()


def verifier(kind: str, settings: config.Settings) -> TokenVerifier:
    """The instance's verifier for 'app' (member and staff tokens) or 'job' tokens."""
    found = _verifiers.get(kind)
    if found is None:
        with _verifiers_lock:
            found = _verifiers.get(kind)
            if found is None:
                if kind == "app":
                    found = TokenVerifier(
                        settings.oidc_issuer,
                        settings.oidc_audience,
                        settings.oidc_algorithms,
                        settings.oidc_jwks_url,
                        settings.oidc_leeway_seconds,
                    )
                else:
                    found = TokenVerifier(
                        settings.job_oidc_issuer,
                        settings.job_oidc_audience,
                        ("RS256",),
                        settings.job_oidc_jwks_url,
                        30,
                    )
                _verifiers[kind] = found
    return found


def reset() -> None:
    with _verifiers_lock:
        _verifiers.clear()
