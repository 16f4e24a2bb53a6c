"""The profile rule: what of the register's record the app may see, and nothing stored.

The register returns more than the app needs (fødselsnummer, birth date, internal codes).
Only the fields below pass through; the rest is dropped here, so no caller can leak it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from ..core.problems import NotFound

SOURCE = "lederne.no member register"


class Register(Protocol):
    def get_member(self, member_id: str) -> dict[str, Any] | None: ...


_NOT_IN_REGISTER = {
    "nb": "Vi finner deg ikke i medlemsregisteret. Kontakt medlemsservice.",
    "en": "We cannot find you in the member register. Please contact member service.",
}


def _pick(record: dict[str, Any], key: str, fields: tuple[str, ...]) -> dict[str, Any] | None:
    value = record.get(key)
    if not isinstance(value, dict):
        return None
    return {f: value.get(f) for f in fields}


def view(record: dict[str, Any], restricted: bool, now: datetime) -> dict[str, Any]:
    """The app's profile view of a register record (data minimisation happens here)."""
    return {
        "member_id": record["member_id"],
        "given_name": record.get("given_name"),
        "family_name": record.get("family_name"),
        "email": record.get("email"),
        "phone": record.get("phone"),
        "address": _pick(record, "address", ("street", "postal_code", "city", "county")),
        "employer": _pick(record, "employer", ("name", "org_number")),
        "position": record.get("position"),
        "membership": _pick(record, "membership", ("status", "member_since", "ended_on", "category")),
        "processing_restricted": restricted,
        "source": SOURCE,
        "retrieved_at": now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
    }


def get_profile(
    member_id: str,
    register: Register,
    is_restricted: Callable[[str], bool],
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> tuple[dict[str, Any], str | None]:
    """The member's profile and its version (for ETag), read live; raises NotFound."""
    record = register.get_member(member_id)
    if record is None or record.get("member_id") != member_id:
        raise NotFound(_NOT_IN_REGISTER)
    version = record.get("version")
    return view(record, is_restricted(member_id), now()), (str(version) if version is not None else None)
