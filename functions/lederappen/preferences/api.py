"""HTTP endpoints of the preferences function."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from ..core import db
from ..core.db import Cursor
from ..core.http import IF_MATCH, Api, Header, Out, Reply, Request, etag, require_if_match
from ..core.problems import PreconditionFailed
from ..core.public_cache import topic_ids
from ..core.validation import Body
from . import service
from .schemas import Preferences as StoredPreferences

api = Api()

Short = Annotated[str, msgspec.Meta(max_length=64)]


class Preferences(Body):
    """A full replacement; null (or leaving a field out) clears it back to the default."""

    language: Short | None = None
    notification_categories: Annotated[list[Short], msgspec.Meta(max_length=20)] | None = None
    notification_channels: Annotated[list[Short], msgspec.Meta(max_length=5)] | None = None
    interests: Annotated[list[Short], msgspec.Meta(max_length=service.MAX_INTERESTS)] = (
        msgspec.field(default_factory=list)
    )


def _now() -> datetime:
    return datetime.now(UTC)


@api.get(
    "/v1/preferences",
    operation_id="getPreferences",
    summary="The member's voluntary preferences and interests (defaults when none are set).",
    response=Out(StoredPreferences, "Preferences", headers=(Header("ETag"),)),
    errors=(503,),
)
def get_preferences(request: Request) -> Reply:
    view = db.read(lambda cur: service.get(cur, request.member_id, _now()))
    return Reply(view, headers={"ETag": etag(view["version"])})


@api.put(
    "/v1/preferences",
    body=Preferences,
    operation_id="putPreferences",
    summary=(
        "Replace the preferences; null or a missing field clears it to the default. Needs "
        'If-Match ("0" before the first save).'
    ),
    response=Out(StoredPreferences, "Saved", headers=(Header("ETag"),)),
    errors=(
        412,
        428,
        503,
    ),
    headers=(IF_MATCH,),
)
def put_preferences(request: Request) -> Reply:
    body: Preferences = request.body
    topics = topic_ids(request.settings) if body.interests else frozenset()

    def work(cur: Cursor):
        current = service.current_version(cur, request.member_id)
        require_if_match(request, current)
        # The UPDATE re-checks the version, so a write from another device in between loses.
        view = service.replace(
            cur,
            request.member_id,
            language=body.language,
            categories=body.notification_categories,
            channels=body.notification_channels,
            interests=body.interests,
            topics=topics,
            expected_version=current,
            now=_now(),
        )
        if view is None:  # changed between our read and write by another device
            raise PreconditionFailed(
                {
                    "nb": "Endret av en annen enhet. Hent på nytt.",
                    "en": "Changed by another device. Fetch again.",
                }
            )
        return view

    view = db.transaction(work)
    return Reply(view, headers={"ETag": etag(view["version"])})


@api.delete(
    "/v1/preferences",
    operation_id="deletePreferences",
    summary="Delete all preferences and interests (voluntary data) at once.",
    response=None,
    returns="Deleted",
    errors=(503,),
)
def delete_preferences(request: Request) -> Reply:
    db.transaction(lambda cur: service.clear(cur, request.member_id))
    return Reply(status=204)
