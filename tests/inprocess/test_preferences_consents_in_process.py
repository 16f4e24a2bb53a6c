"""The preferences and consents functions in process (create_app(...).test_client()), each with
its own database role: a member's choices are theirs alone, a stale or invalid change is a
problem that changes nothing, and consent needs the exact text shown."""

from __future__ import annotations

import uuid
from typing import Any


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_preferences_are_the_members_own_and_a_stale_or_bad_change_changes_nothing(
    function_client: Any, issuer: Any, monkeypatch: Any
) -> None:
    # lederne.no (the topic vocabulary) is configured but never asked: no interests are sent
    monkeypatch.setenv("LEDERNE_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LEDERNE_API_KEY", "unused-in-this-test")
    prefs = function_client("preferences")
    erin = _bearer(issuer.token(f"inprocess-erin-{uuid.uuid4().hex[:6]}"))
    frank = _bearer(issuer.token(f"inprocess-frank-{uuid.uuid4().hex[:6]}"))
    first = prefs.get("/v1/preferences", headers=erin)
    assert first.status_code == 200 and first.get_json()["version"] == 0
    saved = prefs.put(
        "/v1/preferences",
        json={"notification_categories": ["news"], "language": "en"},
        headers={**erin, "If-Match": first.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.get_json()["effective_notification_categories"] == ["news"]
    # another member sees their own defaults, not Erin's choices
    other = prefs.get("/v1/preferences", headers=frank).get_json()
    assert other["version"] == 0 and other["language"] is None
    # a change made on a stale version is refused and changes nothing
    stale = prefs.put(
        "/v1/preferences",
        json={"notification_categories": []},
        headers={**erin, "If-Match": first.headers["ETag"]},
    )
    assert stale.status_code == 412
    assert stale.headers["Content-Type"].startswith("application/problem+json")
    # an unknown category is a 422 naming it, and changes nothing
    bad = prefs.put(
        "/v1/preferences",
        json={"notification_categories": ["spam"]},
        headers={**erin, "If-Match": saved.headers["ETag"]},
    )
    assert bad.status_code == 422 and "notification_categories" in bad.get_data(as_text=True)
    now = prefs.get("/v1/preferences", headers=erin).get_json()
    assert now["notification_categories"] == ["news"] and now["language"] == "en"
    assert prefs.get("/v1/preferences").status_code == 401


def test_consent_needs_the_text_shown_and_is_the_members_own(
    function_client: Any, issuer: Any
) -> None:
    consents = function_client("consents")
    terms = {t["purpose"]: t for t in consents.get("/v1/consent-terms").get_json()["terms"]}[
        "personalisation"
    ]
    gina = _bearer(issuer.token(f"inprocess-gina-{uuid.uuid4().hex[:6]}"))
    hans = _bearer(issuer.token(f"inprocess-hans-{uuid.uuid4().hex[:6]}"))
    body = {
        "purpose": "personalisation",
        "action": "give",
        "terms_version": terms["version"],
        "text_hash": "0" * 64,
        "app_version": "3.2.1",
    }

    def state(who: dict[str, str]) -> dict[str, Any]:
        items = consents.get("/v1/consents", headers=who).get_json()["consents"]
        return {c["purpose"]: c for c in items}["personalisation"]

    wrong = consents.post("/v1/consents", json=body, headers=gina)
    assert wrong.status_code == 409  # not the text the terms in force have
    assert state(gina)["status"] == "never"
    given = consents.post(
        "/v1/consents", json={**body, "text_hash": terms["text_hash"]}, headers=gina
    )
    assert given.status_code == 201, given.get_data(as_text=True)
    assert state(gina)["covered"] is True
    assert state(hans)["status"] == "never"  # Gina's consent is hers alone
