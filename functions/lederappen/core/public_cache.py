"""A per-instance cache of lederne.no's public documents (topics, courses, content, benefits).

Keys are the upstream path and query only: public content, never a member key, an interest
or anything derived from a member. Entries live for a TTL in a bounded LRU. When lederne.no is
down or slow (DependencyUnavailable) the last good copy is served marked stale, and lederne.no
is left alone for a short backoff so each request does not wait for a timeout; with no copy
at all the error propagates. A refresh (the app's pull-to-refresh) re-asks only for copies
older than REFRESH_MIN_AGE, so a burst of refreshes costs one upstream call.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from .problems import DependencyUnavailable

log = logging.getLogger(__name__)

#: How long a fetched document is used without asking lederne.no again.
TTL = timedelta(minutes=5)
#: Documents kept per instance, at most (least recently used dropped first).
MAX_ENTRIES = 256
#: After a failed fetch with a copy at hand, serve that copy without asking for this long.
FAILURE_BACKOFF = timedelta(seconds=15)
#: A refresh (pull-to-refresh) re-asks only for copies at least this old (coalesces bursts).
REFRESH_MIN_AGE = timedelta(seconds=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Snapshot:
    """A document as served: its value, when it was fetched, and whether that copy is stale."""

    value: Any
    fetched_at: datetime
    stale: bool = False


@dataclass
class _Entry:
    value: Any
    fetched_at: datetime
    retry_at: datetime | None = None


class PublicCache:
    """Public lederne.no documents per instance: TTL, bounded LRU, last good copy on failure.

    Keys are the upstream path and query only. Values are what `load` returned and are never
    changed afterwards (callers copy before they add anything).
    """

    def __init__(
        self,
        *,
        ttl: timedelta = TTL,
        max_entries: int = MAX_ENTRIES,
        backoff: timedelta = FAILURE_BACKOFF,
        clock: Callable[[], datetime] = _utcnow,
    ):
        self._ttl = ttl
        self._max = max_entries
        self._backoff = backoff
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._latest: dict[str, str] = {}  # path -> key of its newest good copy
        self._lock = threading.Lock()

    @staticmethod
    def key(path: str, params: Mapping[str, str] | None = None) -> str:
        query = urlencode(sorted((k, v) for k, v in (params or {}).items() if v))
        return f"{path}?{query}" if query else path

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None,
        load: Callable[[str, dict[str, str]], Any],
        *,
        refresh: bool = False,
        any_query: bool = False,
    ) -> Snapshot:
        """The document at `path?params`: cached while fresh, else `load(path, params)`.

        On DependencyUnavailable the last good copy is returned as stale (with `any_query`,
        the newest copy of the same path under any query is acceptable); without one, the
        error propagates.
        """
        params = dict(params or {})
        key = self.key(path, params)
        now = self._clock()
        with self._lock:
            own = self._entries.get(key)
            if own is not None:
                self._entries.move_to_end(key)
            fallback = own
            if fallback is None and any_query and path in self._latest:
                fallback = self._entries.get(self._latest[path])
        if own is not None:
            age = now - own.fetched_at
            if age < self._ttl and not (refresh and age >= REFRESH_MIN_AGE):
                return Snapshot(own.value, own.fetched_at)
        if fallback is not None and fallback.retry_at is not None and now < fallback.retry_at:
            return Snapshot(fallback.value, fallback.fetched_at, stale=True)
        try:
            value = load(path, params)
        except DependencyUnavailable:
            if fallback is None:
                raise
            fallback.retry_at = now + self._backoff
            log.warning(
                "lederne.no unavailable, serving the last good copy",
                extra={
                    "fields": {
                        "document": path,
                        "age_seconds": int((now - fallback.fetched_at).total_seconds()),
                    }
                },
            )
            return Snapshot(fallback.value, fallback.fetched_at, stale=True)
        with self._lock:
            self._entries[key] = _Entry(value, now)
            self._entries.move_to_end(key)
            self._latest[path] = key
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return Snapshot(value, now)


_topics = PublicCache()


def topic_ids(settings) -> frozenset[str]:
    """The content topic vocabulary (ids) that interests, message audiences and mentoring
    topics come from; one cached copy per instance, stale when lederne.no is down."""
    from . import lederne

    snapshot = _topics.get(
        "/api/topics", None, lambda path, params: lederne.client(settings).get_public(path)
    )
    return frozenset(t["id"] for t in snapshot.value.get("items", []))
