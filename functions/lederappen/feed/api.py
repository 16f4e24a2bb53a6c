"""HTTP endpoints of the feed function: courses, content, benefits and the topic vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..core import db, lederne
from ..core.http import Api, Request
from ..preferences.service import personalisation_interests
from . import service

api = Api()

#: The instance's cache of lederne.no's public documents (no member data in it).
_cache = service.PublicCache()


def _feeds(request: Request) -> service.Feeds:
    return service.Feeds(
        lederne.client(request.settings),
        _cache,
        refresh=service.wants_refresh(request.headers.get("Cache-Control")),
    )


def _interests(request: Request) -> Callable[[datetime], tuple[str, ...] | None]:
    member_id = request.member_id
    return lambda now: db.read(lambda cur: personalisation_interests(cur, member_id, now))


def _page(kind: str, request: Request) -> dict:
    return service.feed_page(
        kind, request.query, _feeds(request), _interests(request), locale=request.locale
    )


@api.get("/v1/feed/courses")
def list_courses(request: Request) -> dict:
    return _page("courses", request)


@api.get("/v1/feed/content")
def list_content(request: Request) -> dict:
    return _page("content", request)


@api.get("/v1/feed/benefits")
def list_benefits(request: Request) -> dict:
    return _page("benefits", request)


@api.get("/v1/topics")
def list_topics(request: Request) -> dict:
    return service.topics(_feeds(request), request.locale)
