"""A member's proposals and mentorships: answer, see each other, end, give feedback (F7).

A member reaches only proposals and mentorships they are part of; anything else is 404,
whether it exists or not. The other member appears by role and by what they signed up with
(topics, industry, county, level, experience, formats, languages, presentation), never by
name or contact details: those are read live from the register only through `contacts`,
only in an active mentorship, and only when both have consented to sharing them for
mentoring (the consent ledger's `mentor_contact_sharing`). Each time they are shown, an audit
entry says so (the viewer and the member shown, pseudonymised).

Concurrency. Answering locks the proposal row (FOR UPDATE), so the two sides accepting at
once see each other's answer and exactly one of them completes the pair. Completing a pair
then locks the mentor's engagement row and counts their active mentorships, so two mentees
completing the last free slot of a mentor at once cannot both win: the second gets 409 and
nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core import audit
from ..core.db import Cursor
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..notifications import outgoing
from . import store, texts

_NOT_FOUND = {"nb": "Fant ikke forslaget.", "en": "No such proposal."}
_NO_MENTORSHIP = {"nb": "Fant ikke mentorskapet.", "en": "No such mentorship."}
SHARING_PURPOSE = "mentor_contact_sharing"
SYSTEM = "mentoring"
#: Closed proposals stay visible to the two members this long, then only the figures remain.
SHOW_CLOSED_DAYS = 90


def _role_in(row: store.Proposal, member_id: str) -> str:
    return "mentee" if row.mentee_id == member_id else "mentor"


def _other(cur: Cursor, other_id: str, other_role: str) -> dict[str, Any] | None:
    """What the other member signed up with in their role (None after they withdrew)."""
    row = store.profile(cur, other_id, other_role)
    if row is None:
        return None
    topics, industry, county, level, years, formats, languages, presentation = row
    return {
        "topics": list(topics),
        "industry": industry,
        "county": county,
        "position_level": level,
        "years_as_manager": years,
        "formats": list(formats),
        "languages": list(languages),
        "presentation": presentation,
    }


def _proposal_view(cur: Cursor, row: store.Proposal, member_id: str) -> dict[str, Any]:
    (
        pid,
        mentee,
        mentor,
        score,
        parts,
        reasons,
        shared,
        status,
        mentee_answer,
        mentor_answer,
        created,
        expires,
        closed,
    ) = row
    role = _role_in(row, member_id)
    other_role = "mentor" if role == "mentee" else "mentee"
    mine, theirs = (
        (mentee_answer, mentor_answer) if role == "mentee" else (mentor_answer, mentee_answer)
    )
    return {
        "id": str(pid),
        "role": role,
        "status": status,
        "score": round(float(score), 4),
        "parts": parts,
        "reasons": [{"code": c, **texts.REASONS[c]} for c in reasons],
        "shared_topics": list(shared),
        "other": {
            "role": other_role,
            "engagement": _other(cur, mentor if role == "mentee" else mentee, other_role),
        },
        "your_answer": mine,
        # the other side's answer is shown only once it changes nothing for you to know it
        "their_answer": theirs if status != "open" else ("answered" if theirs else None),
        "created_at": _ts(created),
        "expires_at": _ts(expires),
        "closed_at": _ts(closed),
    }


def list_proposals(cur: Cursor, member_id: str, now: datetime) -> list[dict[str, Any]]:
    rows = store.member_proposals(cur, member_id, now, SHOW_CLOSED_DAYS)
    return [_proposal_view(cur, r, member_id) for r in rows]


def _load_mine(
    cur: Cursor, member_id: str, proposal_id: str, *, for_update: bool
) -> store.Proposal:
    row = store.member_proposal(cur, member_id, proposal_id, for_update=for_update)
    if row is None:
        raise NotFound(_NOT_FOUND)
    return row


def get_proposal(cur: Cursor, member_id: str, proposal_id: str) -> dict[str, Any]:
    return _proposal_view(cur, _load_mine(cur, member_id, proposal_id, for_update=False), member_id)


def answer(
    cur: Cursor, member_id: str, proposal_id: str, answer_: str, now: datetime
) -> tuple[dict[str, Any], list[int]]:
    """Accepts or declines; returns the proposal as the member now sees it, and outbox ids to
    flush after the commit. Answering the same again changes nothing (idempotent)."""
    row = _load_mine(cur, member_id, proposal_id, for_update=True)
    role = _role_in(row, member_id)
    status, expires = row.status, row.expires_at
    mine = row.mentee_answer if role == "mentee" else row.mentor_answer
    theirs = row.mentor_answer if role == "mentee" else row.mentee_answer
    other = row.mentor_id if role == "mentee" else row.mentee_id
    if mine == answer_ and (status != "open" or answer_ == "accepted"):
        return _proposal_view(cur, row, member_id), []
    if status == "expired" or (status == "open" and expires <= now):
        raise Conflict(
            {
                "nb": "Svarfristen for forslaget har gått ut.",
                "en": "The time to answer this proposal has run out.",
            },
            reason="expired",
        )
    if status != "open":
        raise Conflict(
            {"nb": "Forslaget er allerede avsluttet.", "en": "The proposal is already closed."},
            reason=status,
        )
    side = "mentee" if role == "mentee" else "mentor"
    outbox_ids: list[int] = []
    if answer_ == "declined":
        store.decline(cur, proposal_id, side, now)
        outbox_ids = outgoing.send_direct_many(
            cur, [(other, texts.declined())], created_by=SYSTEM, now=now
        )
    elif theirs != "accepted":
        store.accept(cur, proposal_id, side, now)
    else:
        mentee_id, mentor_id = row.mentee_id, row.mentor_id
        _take_slot(cur, mentor_id)
        store.complete(cur, proposal_id, side, mentee_id, mentor_id, now)
        outbox_ids = outgoing.send_direct_many(
            cur,
            [(mentee_id, texts.accepted()), (mentor_id, texts.accepted())],
            created_by=SYSTEM,
            now=now,
        )
    return _proposal_view(
        cur, _load_mine(cur, member_id, proposal_id, for_update=False), member_id
    ), outbox_ids


def _take_slot(cur: Cursor, mentor_id: str) -> None:
    """Raises 409 unless the mentor has a free place for one more active mentorship. Holds the
    lock on the mentor's engagement row until the caller's commit."""
    capacity = store.mentor_capacity(cur, mentor_id)
    active = store.active_mentees(cur, mentor_id)
    if capacity is None or active >= capacity:
        raise Conflict(
            {
                "nb": "Mentoren har ikke lenger ledig plass.",
                "en": "The mentor no longer has a free place.",
            },
            reason="no_capacity",
        )


def withdraw_open(cur: Cursor, member_id: str, role: str, now: datetime) -> list[int]:
    """The member left `role`: their open proposals in it close as withdrawn and the other
    side hears so. Active mentorships are agreements between two people and go on until one
    of them ends it."""
    others = store.withdraw_open(cur, member_id, role, now)
    drafts = [(other, texts.withdrawn()) for other in others]
    return outgoing.send_direct_many(cur, drafts, created_by=SYSTEM, now=now)


#: The mentor's mentorships that have not ended.
active_mentees = store.active_mentees


# --- mentorships ------------------------------------------------------------------------------


def _load_mentorship(
    cur: Cursor, member_id: str, mentorship_id: str, *, for_update: bool = False
) -> store.Mentorship:
    row = store.member_mentorship(cur, member_id, mentorship_id, for_update=for_update)
    if row is None:
        raise NotFound(_NO_MENTORSHIP)
    return row


def _sharing(cur: Cursor, member_id: str, other_id: str, now: datetime) -> dict[str, bool]:
    from ..consents.service import covered_members

    covered = covered_members(cur, [member_id, other_id], SHARING_PURPOSE, now)
    return {"you": member_id in covered, "other": other_id in covered}


def _mentorship_view(
    cur: Cursor, row: store.Mentorship, member_id: str, now: datetime
) -> dict[str, Any]:
    mid, mentee, mentor, started, ended, ended_by = row
    role = "mentee" if mentee == member_id else "mentor"
    other_role = "mentor" if role == "mentee" else "mentee"
    other_id = mentor if role == "mentee" else mentee
    consent = _sharing(cur, member_id, other_id, now) if ended is None else None
    fb = store.feedback(cur, mid, member_id)
    return {
        "id": str(mid),
        "role": role,
        "status": "active" if ended is None else "ended",
        "other": {"role": other_role, "engagement": _other(cur, other_id, other_role)},
        "contact_sharing": consent
        and {
            "you_consented": consent["you"],
            "other_consented": consent["other"],
            "available": consent["you"] and consent["other"],
        },
        "started_at": _ts(started),
        "ended_at": _ts(ended),
        "ended_by": (
            None
            if ended_by is None
            else "you"
            if ended_by == role
            else "other"
            if ended_by in ("mentee", "mentor")
            else ended_by
        ),
        "your_feedback": fb and {"rating": fb[0], "comment": fb[1], "given_at": _ts(fb[2])},
    }


def list_mentorships(cur: Cursor, member_id: str, now: datetime) -> list[dict[str, Any]]:
    return [
        _mentorship_view(cur, r, member_id, now) for r in store.member_mentorships(cur, member_id)
    ]


def contacts(
    cur: Cursor, register, member_id: str, mentorship_id: str, now: datetime
) -> dict[str, Any]:
    """The other member's name and contact details, read live from the register, when the
    mentorship is active and both have consented to sharing; audited. 404 for a mentorship
    that is not the member's, 409 when it has ended or a consent is missing."""
    row = _load_mentorship(cur, member_id, mentorship_id)
    if row.ended_at is not None:
        raise Conflict(
            {"nb": "Mentorskapet er avsluttet.", "en": "The mentorship has ended."}, reason="ended"
        )
    other_id = row.mentor_id if row.mentee_id == member_id else row.mentee_id
    consent = _sharing(cur, member_id, other_id, now)
    if not consent["you"]:
        raise Conflict(
            {
                "nb": "Du har ikke samtykket til å dele kontaktopplysninger i mentorprogrammet.",
                "en": "You have not consented to sharing contact details in the mentor programme.",
            },
            reason="your_consent_missing",
        )
    if not consent["other"]:
        raise Conflict(
            {
                "nb": "Den andre har ikke samtykket til å dele kontaktopplysninger ennå.",
                "en": "The other member has not consented to sharing contact details yet.",
            },
            reason="other_consent_missing",
        )
    record = register.get_member(other_id)
    if record is None or (record.get("membership") or {}).get("status") != "active":
        raise Conflict(
            {
                "nb": "Den andre er ikke lenger medlem.",
                "en": "The other member is no longer a member.",
            },
            reason="not_a_member",
        )
    audit.record(
        cur,
        other_id,
        actor_kind="member",
        actor=member_id,
        category="profile",
        action="shown_to_mentoring_partner",
        purpose="mentoring",
        at=now,
    )
    return {
        "mentorship_id": str(row.id),
        "given_name": record.get("given_name"),
        "family_name": record.get("family_name"),
        "email": record.get("email"),
        "phone": record.get("phone"),
        "source": "lederne.no member register",
        "retrieved_at": _ts(now),
    }


def end(
    cur: Cursor, member_id: str, mentorship_id: str, now: datetime
) -> tuple[dict[str, Any], list[int]]:
    row = _load_mentorship(cur, member_id, mentorship_id, for_update=True)
    if row.ended_at is not None:
        return _mentorship_view(cur, row, member_id, now), []
    role = "mentee" if row.mentee_id == member_id else "mentor"
    other = row.mentor_id if role == "mentee" else row.mentee_id
    store.end_mentorship(cur, mentorship_id, role, now)
    ids = outgoing.send_direct_many(cur, [(other, texts.ended())], created_by=SYSTEM, now=now)
    return _mentorship_view(
        cur, _load_mentorship(cur, member_id, mentorship_id), member_id, now
    ), ids


def put_feedback(
    cur: Cursor, member_id: str, mentorship_id: str, rating: int, comment: str | None, now: datetime
) -> dict[str, Any]:
    _load_mentorship(cur, member_id, mentorship_id)
    store.put_feedback(cur, mentorship_id, member_id, rating, comment, now)
    return {"rating": rating, "comment": comment, "given_at": _ts(now)}
