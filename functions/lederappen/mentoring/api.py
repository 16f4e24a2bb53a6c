"""HTTP endpoints of the mentoring function: the member's own mentor engagement (F7).

`GET /v1/mentoring/engagement` shows both roles (null when not signed up) and the notice;
`PUT /v1/mentoring/engagement/{role}` signs up or changes (If-Match: the role's ETag, "0"
before the first sign-up); `DELETE` withdraws at once. A member reaches only their own
engagement: no route takes a member id.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import msgspec

from ..core import db
from ..core.http import Api, Reply, Request, etag, require_if_match
from ..core.problems import NotFound
from ..core.public_cache import topic_ids
from ..core.validation import Body
from . import engagement

api = Api()

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Engagement(Body):
    topics: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=engagement.MAX_TOPICS)]
    formats: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=2)]
    languages: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=2)]
    notice_acknowledged: bool = False
    industry: Short | None = None
    county: Short | None = None
    position_level: Short | None = None
    years_as_manager: Annotated[int, msgspec.Meta(ge=0, le=60)] | None = None
    capacity: Annotated[int, msgspec.Meta(ge=1, le=engagement.MAX_CAPACITY)] | None = None
    presentation: Annotated[str, msgspec.Meta(
        max_length=engagement.MAX_PRESENTATION_CHARS)] | None = None


def _role(request: Request) -> str:
    role = request.params["role"]
    if role not in engagement.ROLES:
        raise NotFound({"nb": "Ukjent rolle; bruk mentor eller mentee.",
                        "en": "Unknown role; use mentor or mentee."})
    return role


def _now() -> datetime:
    return datetime.now(timezone.utc)


@api.get("/v1/mentoring/engagement")
def get_engagement(request: Request) -> Reply:
    roles = db.read(lambda cur: engagement.get_all(cur, request.member_id))
    return Reply({**roles, "notice": engagement.NOTICE}, headers={"Cache-Control": "no-store"})


@api.put("/v1/mentoring/engagement/{role}", body=Engagement)
def put_engagement(request: Request) -> Reply:
    role = _role(request)
    body = msgspec.structs.asdict(request.body)
    engagement.check(role, body, topic_ids(request.settings))

    def work(cur) -> Reply:
        current = engagement.version_of(cur, request.member_id, role)
        require_if_match(request, current)
        view, created = engagement.put(cur, request.member_id, role, body, current, _now())
        return Reply(view, status=201 if created else 200,
                     headers={"ETag": etag(view["version"]), "Cache-Control": "no-store"})

    return db.transaction(work)


@api.delete("/v1/mentoring/engagement/{role}")
def delete_engagement(request: Request) -> Reply:
    role = _role(request)
    if not db.transaction(lambda cur: engagement.withdraw(cur, request.member_id, role)):
        raise NotFound({"nb": "Du er ikke påmeldt i denne rollen.",
                        "en": "You have not signed up in this role."})
    return Reply(None, status=204)
