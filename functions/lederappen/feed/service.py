"""The feed rules: courses (F2), professional content (F4) and member benefits (F5).

* The lists are lederne.no's public documents (`/api/courses`, `/api/content`,
  `/api/benefits`, `/api/topics`). Each is fetched whole and filtered here (topic, county,
  type, category), so an instance caches a handful of documents instead of one per filter.
* `core.public_cache.PublicCache` holds them per instance, in memory, for `TTL`, keyed only by the upstream
  path and query: public content, never a member key, an interest or a ranked list. Ranking
  works on copies, so nothing derived from a member ever reaches the cache.
* When lederne.no is down or slow (DependencyUnavailable), the last good copy is served with
  `stale: true` and `as_of` (when it was fetched), and lederne.no is left alone for
  `FAILURE_BACKOFF` so each request does not wait for a timeout. With no copy at all the 503
  stands. `refresh` (the app's pull-to-refresh, `Cache-Control: no-cache`) asks again for a
  copy older than `REFRESH_MIN_AGE`.
* Ranking: with the member's interests (only from `preferences.personalisation_interests`,
  i.e. consent in force and processing not restricted), items sharing more topics come first,
  each marked with `matched_topics`; ties and everything else keep the neutral order: courses
  by start, soonest first; content newest first; benefits by title in the request's language.
  A failing interests read degrades to the neutral order (personalisation is optional).
* Pagination: the cursor is the offset into the ranked list plus a fingerprint of that list
  (its item ids in order). A cursor whose list has changed (new data, other interests, other
  language, other filters) is refused with 422 `cursor`/`expired`: the app starts again from
  the first page instead of getting duplicates or gaps.

Interests never leave this module except as the member's own `matched_topics`; nothing here
logs them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Protocol

from ..core import pagination
from ..core.lederne import DEPENDENCY
from ..core.problems import DependencyUnavailable
from ..core.public_cache import (  # noqa: F401 (re-exported for callers and tests)
    FAILURE_BACKOFF,
    MAX_ENTRIES,
    REFRESH_MIN_AGE,
    TTL,
    PublicCache,
    Snapshot,
)
from ..core.validation import field_error

log = logging.getLogger(__name__)

#: Courses are "upcoming" from this day on, in Norwegian time.
TIME_ZONE = "Europe/Oslo"

#: The 15 counties (fylker) from 1 January 2024, as lederne.no spells them.
COUNTIES: tuple[str, ...] = (
    "Oslo",
    "Rogaland",
    "Møre og Romsdal",
    "Nordland",
    "Østfold",
    "Akershus",
    "Buskerud",
    "Innlandet",
    "Vestfold",
    "Telemark",
    "Agder",
    "Vestland",
    "Trøndelag",
    "Troms",
    "Finnmark",
)
CONTENT_TYPES: tuple[str, ...] = ("ebook", "podcast", "article")
BENEFIT_CATEGORIES: tuple[str, ...] = (
    "insurance",
    "banking",
    "travel",
    "shopping",
    "education",
    "health",
)
#: Benefits carry a category, not topics; these are the topics each category serves, so the
#: member's interests can rank benefits too. A benefit that has its own `topics` keeps them.
BENEFIT_CATEGORY_TOPICS: dict[str, tuple[str, ...]] = {
    "insurance": ("pension", "economy"),
    "banking": ("economy",),
    "travel": (),
    "shopping": (),
    "education": ("career",),
    "health": ("wellbeing",),
}

KINDS = ("courses", "content", "benefits")
_PATHS = {
    "courses": "/api/courses",
    "content": "/api/content",
    "benefits": "/api/benefits",
    "topics": "/api/topics",
}
_FIELDS = {
    "courses": (
        "id",
        "title",
        "topics",
        "county",
        "format",
        "starts_at",
        "ends_at",
        "url",
        "seats_left",
    ),
    "content": ("id", "type", "title", "summary", "topics", "published_at", "url"),
    "benefits": (
        "id",
        "title",
        "description",
        "partner",
        "category",
        "url",
        "valid_until",
        "topics",
    ),
}
_REQUIRED = {
    "courses": ("starts_at", "url"),
    "content": ("type", "published_at", "url"),
    "benefits": ("category", "url"),
}
_FILTERS = {"courses": ("topic", "county"), "content": ("type", "topic"), "benefits": ("category",)}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@lru_cache(maxsize=1)
def _oslo():
    from zoneinfo import ZoneInfo

    return ZoneInfo(TIME_ZONE)


def local_date(moment: datetime) -> date:
    """The date in Norway at `moment`."""
    return moment.astimezone(_oslo()).date()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(value: Any) -> datetime:
    """An RFC 3339 timestamp; anything unreadable sorts as the distant past."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- the documents --------------------------------------------------------------------------


class Upstream(Protocol):
    def get_public(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]: ...


def _text(value: Any) -> dict[str, str] | None:
    if isinstance(value, dict) and all(isinstance(value.get(k), str) for k in ("nb", "en")):
        return {"nb": value["nb"], "en": value["en"]}
    return None


def _project(kind: str, raw: Any) -> dict[str, Any] | None:
    """The app's fields of one upstream item, or None when it lacks what the app needs."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        return None
    title = _text(raw.get("title"))
    if title is None or any(raw.get(f) in (None, "") for f in _REQUIRED[kind]):
        return None
    item = {f: raw.get(f) for f in _FIELDS[kind]}
    item["title"] = title
    for f in ("summary", "description"):
        if f in item:
            item[f] = _text(item[f])
    topics = raw.get("topics")
    if kind == "benefits" and not isinstance(topics, list):
        topics = list(BENEFIT_CATEGORY_TOPICS.get(str(raw.get("category")), ()))
    item["topics"] = [t for t in topics if isinstance(t, str)] if isinstance(topics, list) else []
    return item


def _project_topic(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        return None
    label = _text(raw.get("label"))
    return {"id": raw["id"], "label": label} if label else None


class Feeds:
    """lederne.no's public documents through the instance's cache, as tuples of app items."""

    def __init__(self, upstream: Upstream, cache: PublicCache, *, refresh: bool = False):
        self.upstream = upstream
        self.cache = cache
        self.refresh = refresh

    def _load(self, what: str) -> Callable[[str, dict[str, str]], tuple]:
        def load(path: str, params: dict[str, str]) -> tuple:
            doc = self.upstream.get_public(path, params or None)
            items = doc.get("items") if isinstance(doc, dict) else None
            if not isinstance(items, list):
                raise DependencyUnavailable(DEPENDENCY)
            project = _project_topic if what == "topics" else (lambda r: _project(what, r))
            kept = tuple(p for p in map(project, items) if p is not None)
            if len(kept) < len(items):
                log.warning(
                    "lederne.no items skipped",
                    extra={"fields": {"document": path, "skipped": len(items) - len(kept)}},
                )
            return kept

        return load

    def topics(self) -> Snapshot:
        return self.cache.get(_PATHS["topics"], None, self._load("topics"), refresh=self.refresh)

    def items(self, kind: str, today: date) -> Snapshot:
        # Courses are asked for from today (a smaller document); the filter below repeats it,
        # so yesterday's copy is still right when served as the stale fallback after midnight.
        params = {"from": today.isoformat()} if kind == "courses" else None
        return self.cache.get(
            _PATHS[kind],
            params,
            self._load(kind),
            refresh=self.refresh,
            any_query=kind == "courses",
        )


def wants_refresh(cache_control: str | None) -> bool:
    """True for a request that asks to revalidate (`Cache-Control: no-cache` or `max-age=0`)."""
    if not cache_control:
        return False
    directives = {d.strip().lower().replace(" ", "") for d in cache_control.split(",")}
    return "no-cache" in directives or "max-age=0" in directives


# -- filters, ranking, pages ----------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    topic: str | None = None
    county: str | None = None
    type: str | None = None
    category: str | None = None


def _check(
    query: Mapping[str, str], name: str, allowed: Iterable[str], nb: str, en: str
) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    if value not in set(allowed):
        raise field_error(name, "enum", nb, en)
    return value


def parse_filters(
    kind: str, query: Mapping[str, str], vocabulary: Callable[[], Iterable[str]]
) -> Filters:
    """The filters of `kind` from the query; 422 naming the field for an unknown value.
    `vocabulary` (the topic ids) is asked for only when a topic is given."""
    names = _FILTERS[kind]
    out: dict[str, str | None] = {}
    if "type" in names:
        out["type"] = pagination.choice(query, "type", CONTENT_TYPES)
    if "category" in names:
        out["category"] = pagination.choice(query, "category", BENEFIT_CATEGORIES)
    if "county" in names:
        out["county"] = _check(query, "county", COUNTIES, "Ukjent fylke.", "Unknown county.")
    if "topic" in names and query.get("topic") is not None:
        out["topic"] = _check(query, "topic", vocabulary(), "Ukjent tema.", "Unknown topic.")
    return Filters(**out)


def _keep(kind: str, item: dict[str, Any], f: Filters, today: date) -> bool:
    if f.topic is not None and f.topic not in item["topics"]:
        return False
    if kind == "courses":
        if local_date(_instant(item["starts_at"])) < today:
            return False
        return f.county is None or item.get("county") == f.county
    if kind == "content":
        return f.type is None or item.get("type") == f.type
    return f.category is None or item.get("category") == f.category


_NORWEGIAN_ORDER = str.maketrans({"æ": "{", "ø": "|", "å": "}"})  # after z, in that order


def collation_key(text: str) -> str:
    """Alphabetical order for Norwegian and English titles (… z, æ, ø, å)."""
    return text.casefold().translate(_NORWEGIAN_ORDER)


def neutral_key(kind: str, locale: str) -> Callable[[dict[str, Any]], tuple]:
    """The order with no personal data: courses soonest first, content newest first,
    benefits by title in `locale`; the id breaks ties, so the order is total."""
    if kind == "courses":
        return lambda i: (_instant(i["starts_at"]), i["id"])
    if kind == "content":
        return lambda i: (-_instant(i["published_at"]).timestamp(), i["id"])
    return lambda i: (collation_key(i["title"].get(locale) or i["title"]["en"]), i["id"])


def rank(
    kind: str, items: Iterable[dict[str, Any]], interests: Sequence[str] | None, locale: str
) -> list[dict[str, Any]]:
    """New dicts (the cached ones stay untouched) in the neutral order, or with interests:
    most shared topics first, each marked with `matched_topics`, the neutral order within."""
    neutral = sorted(items, key=neutral_key(kind, locale))
    if interests is None:
        return [dict(i) for i in neutral]
    wanted = set(interests)
    marked = [{**i, "matched_topics": [t for t in i["topics"] if t in wanted]} for i in neutral]
    marked.sort(key=lambda i: -len(i["matched_topics"]))  # stable: neutral order within ties
    return marked


def fingerprint(kind: str, ranked: Sequence[dict[str, Any]]) -> str:
    """Identifies a ranked list by its ids in order (nothing else about the member)."""
    h = hashlib.sha256(kind.encode())
    for item in ranked:
        h.update(b"\x1f" + item["id"].encode())
    return h.hexdigest()[:16]


def parse_cursor(raw: str | None) -> tuple[int, str] | None:
    value = pagination.decode_cursor(raw)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or type(value[0]) is not int
        or value[0] < 0
        or not isinstance(value[1], str)
    ):
        raise field_error("cursor", "invalid", "Ugyldig cursor.", "Invalid cursor.")
    return value[0], value[1]


def paginate(
    kind: str, ranked: Sequence[dict[str, Any]], size: int, cursor: tuple[int, str] | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `ranked` and the cursor of the next (None on the last page)."""
    mark = fingerprint(kind, ranked)
    offset = 0
    if cursor is not None:
        offset, seen = cursor
        if seen != mark:
            raise field_error(
                "cursor",
                "expired",
                "Listen er endret siden forrige side. Begynn fra første side.",
                "The list has changed since the previous page. Start again from the first page.",
            )
    end = offset + size
    return list(ranked[offset:end]), (
        pagination.encode_cursor([end, mark]) if end < len(ranked) else None
    )


def _interests(
    read: Callable[[datetime], Sequence[str] | None], now: datetime
) -> tuple[str, ...] | None:
    try:
        found = read(now)
    except DependencyUnavailable:
        log.warning("interests unavailable, serving the neutral order")
        return None
    return tuple(found) if found else None


def feed_page(
    kind: str,
    query: Mapping[str, str],
    feeds: Feeds,
    interests: Callable[[datetime], Sequence[str] | None],
    *,
    locale: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One page of courses, content or benefits for the member.

    `interests(now)` is the member's `personalisation_interests` (None when they may not be
    used); it is asked only after the public document is at hand.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    now = now or _utcnow()
    size = pagination.limit(query)
    cursor = parse_cursor(query.get("cursor"))
    filters = parse_filters(kind, query, lambda: {t["id"] for t in feeds.topics().value})
    today = local_date(now)
    snapshot = feeds.items(kind, today)
    chosen = [i for i in snapshot.value if _keep(kind, i, filters, today)]
    wanted = _interests(interests, now)
    ranked = rank(kind, chosen, wanted, locale)
    page, next_cursor = paginate(kind, ranked, size, cursor)
    return {
        "items": page,
        "next_cursor": next_cursor,
        "personalised": wanted is not None,
        "stale": snapshot.stale,
        "as_of": rfc3339(snapshot.fetched_at),
    }


def topics(feeds: Feeds, locale: str) -> dict[str, Any]:
    """The topic vocabulary: each label in the request's language and in both."""
    snapshot = feeds.topics()
    return {
        "items": [
            {
                "id": t["id"],
                "label": t["label"][locale] if locale in t["label"] else t["label"]["en"],
                "labels": dict(t["label"]),
            }
            for t in snapshot.value
        ],
        "next_cursor": None,
        "stale": snapshot.stale,
        "as_of": rfc3339(snapshot.fetched_at),
    }
