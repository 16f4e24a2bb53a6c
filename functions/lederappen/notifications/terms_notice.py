"""The `terms-notice` handler: members are told of a material change of consent terms (R8).

Publishing a material change (consents.service.publish_terms) queues one event naming the
purpose and the version, nothing else. Here, in one transaction: the version is taken only
if it is material and not yet told (its row locked, so a redelivered or replayed event
waits for the first and then finds it told); the members whose latest choice for the
purpose is "given" are read now; each gets the notice as a direct message (inbox and a
neutral push through the message pipeline, one they need even while restricted); and the
version is marked told with how many. A forged event can name only a version that exists
and was published as material, whose notice is due anyway; any other does nothing.

The consent rules stay in consents; this module is where they meet the message pipeline, so
consents never imports notifications (the other way round, delivery asks consents).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from ..consents import service as consents
from ..core import db, events, outbox
from ..core.db import Cursor
from . import outgoing


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    purpose: str
    version: int


def tell(cur: Cursor, purpose: str, version: int, now: datetime) -> list[int]:
    """Sends the notice of one version if it is due; the outbox ids to flush after commit."""
    terms = consents.notice_due(cur, purpose, version)
    if terms is None:
        return []
    members = consents.consenting_members(cur, purpose)
    draft = consents.notice(terms)  # one object: send_direct_many checks it once
    ids = outgoing.send_direct_many(
        cur, [(m, draft) for m in members], created_by=consents.NOTICE_SENDER, now=now
    )
    consents.mark_notified(cur, terms, len(members), now)
    return ids


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data
    now = datetime.now(UTC)
    ids = db.transaction(lambda cur: tell(cur, p.purpose, p.version, now))
    outbox.flush(settings.google_cloud_project, ids)
