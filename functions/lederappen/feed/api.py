"""HTTP endpoints of the feed function: courses, content, benefits and the topic vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..core import db, lederne
from ..core.http import NO_CACHE, Api, Request
from ..preferences.service import personalisation_interests
from . import service
from .schemas import (
    BenefitPage,
    ContentPage,
    CoursePage,
    ListFeedBenefitsQuery,
    ListFeedContentQuery,
    ListFeedCoursesQuery,
    TopicList,
)

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


@api.get(
    "/v1/feed/courses",
    operation_id="listFeedCourses",
    summary=(
        "Lederne's upcoming courses (F2), by topic and county, ranked by the member's interests "
        "when personalisation is allowed, else soonest first."
    ),
    response=CoursePage,
    returns="One page, ranked for the member when personalisation is allowed",
    errors=(
        422,
        503,
    ),
    headers=(NO_CACHE,),
    query=ListFeedCoursesQuery,
)
def list_courses(request: Request) -> dict:
    """Pages: `next_cursor` until null. A cursor from a list that has changed since (new data
    from lederne.no, changed interests or language) is refused with 422, field `cursor`,
    code `expired`: start again from the first page. When lederne.no is down the last good
    copy is served with `stale: true` and `as_of`; with no copy, 503.
    """
    return _page("courses", request)


@api.get(
    "/v1/feed/content",
    operation_id="listFeedContent",
    summary=(
        "Professional content (F4): e-books, podcast episodes and articles, ranked by the "
        "member's interests when personalisation is allowed, else newest first."
    ),
    response=ContentPage,
    returns="One page, ranked for the member when personalisation is allowed",
    errors=(
        422,
        503,
    ),
    headers=(NO_CACHE,),
    query=ListFeedContentQuery,
)
def list_content(request: Request) -> dict:
    """Pages: `next_cursor` until null. A cursor from a list that has changed since (new data
    from lederne.no, changed interests or language) is refused with 422, field `cursor`,
    code `expired`: start again from the first page. When lederne.no is down the last good
    copy is served with `stale: true` and `as_of`; with no copy, 503.
    """
    return _page("content", request)


@api.get(
    "/v1/feed/benefits",
    operation_id="listFeedBenefits",
    summary=(
        "Member benefits (F5), ranked by the member's interests (through the topics each category"
        " serves) when personalisation is allowed, else by title in the request's language."
    ),
    response=BenefitPage,
    returns="One page, ranked for the member when personalisation is allowed",
    errors=(
        422,
        503,
    ),
    headers=(NO_CACHE,),
    query=ListFeedBenefitsQuery,
)
def list_benefits(request: Request) -> dict:
    """Pages: `next_cursor` until null. A cursor from a list that has changed since (new data
    from lederne.no, changed interests or language) is refused with 422, field `cursor`,
    code `expired`: start again from the first page. When lederne.no is down the last good
    copy is served with `stale: true` and `as_of`; with no copy, 503.
    """
    return _page("benefits", request)


@api.get(
    "/v1/topics",
    operation_id="listTopics",
    summary=(
        "The topic vocabulary of lederne.no's content (the ids interests and the topic filter "
        "use), labelled in the request's language and in both."
    ),
    response=TopicList,
    returns="The whole vocabulary (one page)",
    errors=(503,),
    headers=(NO_CACHE,),
)
def list_topics(request: Request) -> dict:
    return service.topics(_feeds(request), request.locale)
