"""Sign-in with the staff identity provider: OpenID Connect authorization code flow with PKCE.

1. `/staff/login` makes a random `state`, `nonce` and PKCE verifier, keeps them in the signed
   sign-in cookie, and sends the browser to the provider's authorization endpoint with the
   S256 challenge of the verifier.
2. The provider signs the user in and redirects to `/staff/callback?code&state`.
3. The callback checks `state` against the cookie, redeems the code at the token endpoint
   with the verifier (so a stolen code is useless without it), and verifies the ID token
   exactly as the API verifies bearer tokens (core.auth.TokenVerifier: JWKS signature,
   allowed algorithm, issuer, audience = the console's client id, expiry), plus the `nonce`.

The endpoints come from the provider's discovery document, fetched once per instance.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..core.auth import TokenVerifier
from ..core.problems import DependencyUnavailable, Unauthenticated

CALLBACK_PATH = "/staff/callback"
TIMEOUT_SECONDS = 5.0
_FAILED = {
    "nb": "Innloggingen mislyktes. Prøv igjen.",
    "en": "Signing in failed. Please try again.",
}


class SignInFailed(Unauthenticated):
    """Raised when the provider's answer does not complete a sign-in (bad state, code, token)."""

    def __init__(self) -> None:
        super().__init__(_FAILED)


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier (43 characters of base64url, RFC 7636) and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    jwks: str


class Provider:
    """The staff identity provider as the console's OIDC client sees it."""

    def __init__(self, issuer: str, client_id: str, redirect_uri: str):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._endpoints: Endpoints | None = None
        self._verifier: TokenVerifier | None = None
        self._lock = threading.Lock()

    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            with self._lock:
                if self._endpoints is None:
                    url = self.issuer + "/.well-known/openid-configuration"
                    try:
                        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as resp:
                            doc = json.load(resp)
                        self._endpoints = Endpoints(
                            doc["authorization_endpoint"], doc["token_endpoint"], doc["jwks_uri"]
                        )
                    except Exception as exc:
                        raise DependencyUnavailable("identity-provider") from exc
        return self._endpoints

    def authorization_url(self, state: str, nonce: str, challenge: str) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": "openid",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.endpoints().authorization}?{query}"

    def redeem(self, code: str, verifier: str) -> str:
        """The ID token for an authorization code (the PKCE verifier proves it is ours)."""
        body = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "client_id": self.client_id,
                "code_verifier": verifier,
            }
        ).encode()
        req = urllib.request.Request(
            self.endpoints().token,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
                answer = json.load(resp)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise DependencyUnavailable("identity-provider") from None
            raise SignInFailed() from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DependencyUnavailable("identity-provider") from exc
        token = answer.get("id_token") if isinstance(answer, dict) else None
        if not isinstance(token, str):
            raise SignInFailed()
        return token

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims, checked like the API's bearer tokens plus the nonce."""
        if self._verifier is None:
            self._verifier = TokenVerifier(
                self.issuer, self.client_id, ("RS256",), self.endpoints().jwks
            )
        try:
            claims = self._verifier.verify(id_token)
        except Unauthenticated:
            raise SignInFailed() from None
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, nonce):
            raise SignInFailed()
        return claims
