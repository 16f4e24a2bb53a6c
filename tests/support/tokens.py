"""Signing test tokens: good ones, and each kind of bad one the backend must refuse."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_key(pem_path) -> rsa.RSAPrivateKey:
    with open(pem_path, "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None)


def kid_of(key: rsa.RSAPrivateKey) -> str:
    return jwt.PyJWK.from_dict(_public_jwk(key)).key_id or jwk_thumbprint(key)


def _public_jwk(key) -> dict:
    import json

    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = jwk_thumbprint(key)
    jwk["alg"] = "RS256"
    jwk["use"] = "sig"
    return jwk


def jwk_thumbprint(key) -> str:
    """RFC 7638 thumbprint of the public key (the stand-in uses it as `kid`)."""
    import base64
    import hashlib
    import json

    pub = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    canonical = json.dumps(
        {"e": pub["e"], "kty": "RSA", "n": pub["n"]}, separators=(",", ":"), sort_keys=True
    )
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


def public_jwks(*keys) -> dict:
    return {"keys": [_public_jwk(k) for k in keys]}


@dataclass
class Minter:
    """Signs tokens as an issuer would; each `bad_*` makes one kind of invalid token."""

    key: rsa.RSAPrivateKey
    issuer: str
    audience: str

    def token(self, sub: str, roles=("member",), ttl: int = 600, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "exp": now + ttl,
            "roles": list(roles) if roles is not None else None,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, self.key, algorithm="RS256", headers={"kid": jwk_thumbprint(self.key)}
        )

    def expired(self, sub: str) -> str:
        now = int(time.time())
        return self.token(sub, iat=now - 7200, exp=now - 3600)

    def wrong_audience(self, sub: str) -> str:
        return self.token(sub, aud="some-other-app")

    def wrong_issuer(self, sub: str) -> str:
        return self.token(sub, iss="https://evil.example")

    def unsigned(self, sub: str) -> str:
        now = int(time.time())
        return jwt.encode(
            {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": sub,
                "iat": now,
                "exp": now + 600,
                "roles": ["member"],
            },
            None,
            algorithm="none",
        )

    def other_key(self, sub: str) -> str:
        """Signed by a key the issuer never published, claiming the issuer's real kid."""
        other = Minter(new_key(), self.issuer, self.audience)
        now = int(time.time())
        return jwt.encode(
            {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": sub,
                "iat": now,
                "exp": now + 600,
                "roles": ["member"],
            },
            other.key,
            algorithm="RS256",
            headers={"kid": jwk_thumbprint(self.key)},
        )

    def hs256_with_public_key(self, sub: str) -> str:
        """The classic algorithm-confusion attack: HMAC keyed with the public key."""
        import base64
        import hashlib
        import hmac
        import json

        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        now = int(time.time())

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = b64(
            json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk_thumbprint(self.key)}).encode()
        )
        payload = b64(
            json.dumps(
                {
                    "iss": self.issuer,
                    "aud": self.audience,
                    "sub": sub,
                    "iat": now,
                    "exp": now + 600,
                    "roles": ["member"],
                }
            ).encode()
        )
        sig = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64(sig)}"
