"""Token verification: only a well-signed, unexpired token for our app and issuer passes."""

import jwt
import pytest
from lederappen.core import auth
from lederappen.core.problems import DependencyUnavailable, Forbidden, Unauthenticated

from tests.support.tokens import Minter, new_key, public_jwks

ISSUER, AUDIENCE = "https://login.lederne.test", "lederappen"


class FakeJwks:
    """Stands in for PyJWKClient: serves the issuer's public keys from memory."""

    def __init__(self, *keys, down=False):
        self.keys = jwt.PyJWKSet.from_dict(public_jwks(*keys))
        self.down = down

    def get_signing_key(self, kid):
        if self.down:
            raise jwt.PyJWKClientConnectionError("down")
        for k in self.keys.keys:
            if k.key_id == kid:
                return k
        raise jwt.PyJWKClientError("Unable to find a signing key that matches")


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.fixture()
def verifier(key):
    v = auth.TokenVerifier(ISSUER, AUDIENCE, ("RS256",), jwks_url="https://unused")
    v._client = FakeJwks(key)
    return v


@pytest.fixture()
def minter(key):
    return Minter(key, ISSUER, AUDIENCE)


def test_valid_member_token_gives_claims(verifier, minter):
    claims = verifier.verify(minter.token("1000001"))
    assert claims["sub"] == "1000001"
    assert auth.principal_for("member", claims).member_id == "1000001"


@pytest.mark.parametrize(
    "kind",
    ["expired", "wrong_audience", "wrong_issuer", "unsigned", "other_key", "hs256_with_public_key"],
)
def test_bad_tokens_are_unauthenticated(verifier, minter, kind):
    token = getattr(minter, kind)("1000001")
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.", "Bearer x.y.z"])
def test_garbage_is_unauthenticated(verifier, garbage):
    with pytest.raises(Unauthenticated):
        verifier.verify(garbage)


@pytest.mark.parametrize(
    "claim, value",
    [
        ("exp", "9999999999"),
        ("exp", True),
        ("exp", None),
        ("exp", [9999999999]),
        ("exp", {"t": 1}),
        ("iat", "0"),
        ("iat", False),
        ("nbf", "0"),
        ("nbf", True),
        ("nbf", [0]),
    ],
)
def test_a_time_claim_that_is_not_a_number_is_refused(verifier, minter, claim, value):
    import time

    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "1000001",
        "iat": now,
        "exp": now + 600,
        "roles": ["member"],
        claim: value,
    }
    from tests.support.tokens import jwk_thumbprint

    token = jwt.encode(
        claims, minter.key, algorithm="RS256", headers={"kid": jwk_thumbprint(minter.key)}
    )
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


def test_numeric_time_claims_pass_including_fractions(verifier, minter):
    import time

    now = time.time()
    assert verifier.verify(minter.token("1000001", iat=now, exp=now + 600.5, nbf=now - 1))


def test_token_without_subject_is_refused(verifier, minter):
    with pytest.raises(Unauthenticated):
        verifier.verify(minter.token(None))


def test_jwks_unreachable_is_dependency_unavailable_not_401(key, minter):
    v = auth.TokenVerifier(ISSUER, AUDIENCE, ("RS256",), jwks_url="https://unused")
    v._client = FakeJwks(key, down=True)
    with pytest.raises(DependencyUnavailable):
        v.verify(minter.token("1000001"))


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwdw==", "Bearer", "Bearer notajwt"])
def test_missing_or_malformed_authorization_header(header):
    with pytest.raises(Unauthenticated):
        auth.bearer_token(header)


def test_member_routes_need_the_member_role(minter, verifier):
    claims = verifier.verify(minter.token("staff-0001", roles=("staff", "editor")))
    with pytest.raises(Forbidden):
        auth.principal_for("member", claims)


def test_staff_routes_need_staff_and_the_named_role(minter, verifier):
    member = verifier.verify(minter.token("1000001"))
    editor = verifier.verify(minter.token("staff-0002", roles=("staff", "editor")))
    officer = verifier.verify(minter.token("staff-0001", roles=("staff", "privacy_officer")))
    with pytest.raises(Forbidden):
        auth.principal_for("staff:privacy_officer", member)
    with pytest.raises(Forbidden):
        auth.principal_for("staff:privacy_officer", editor)
    p = auth.principal_for("staff:privacy_officer", officer)
    assert p.kind == "staff" and "privacy_officer" in p.roles
    with pytest.raises(Forbidden):
        _ = p.member_id  # a staff principal is never mistaken for a member


def test_job_routes_accept_only_allow_listed_verified_service_accounts():
    invokers = ("scheduler@p.iam.gserviceaccount.com",)
    ok = {"sub": "1", "email": invokers[0], "email_verified": True}
    assert auth.principal_for("job", ok, invokers).kind == "job"
    with pytest.raises(Forbidden):
        auth.principal_for("job", {**ok, "email": "other@p.iam.gserviceaccount.com"}, invokers)
    with pytest.raises(Forbidden):
        auth.principal_for("job", {**ok, "email_verified": False}, invokers)
    with pytest.raises(Forbidden):
        auth.principal_for("job", {"sub": "1000001", "roles": ["member"]}, invokers)
