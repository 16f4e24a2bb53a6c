"""Firestore access: one lazily created client per instance, and failures as 503.

google-cloud-firestore (with gRPC and protobuf) costs ~190 ms to import in a bare interpreter
and ~120 ms on top of what a functions-framework function with token verification has already
imported, so it is imported on first use only: importing an entry point stays cheap, and
functions that never touch Firestore never pay. The client is created once per instance
and reused (it holds the gRPC channel). With FIRESTORE_EMULATOR_HOST set (the local stack),
the library talks to the emulator without credentials; nothing else changes.

Services take the client as an argument (their "document store" port); handlers get it from
`client(settings)` and run the service inside `guard()`, which turns an unreachable or slow
Firestore into DependencyUnavailable (503 with Retry-After) instead of a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import config
from .problems import DependencyUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from google.cloud import firestore as _firestore

#: Time allowed for one Firestore call (read, query, commit) before the request gets a 503.
TIMEOUT_SECONDS = 5.0

_client = None
_lock = threading.Lock()


def client(settings: config.Settings) -> _firestore.Client:
    """The instance's Firestore client, created on first use (never at import)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                from google.cloud import firestore

                _client = bounded(
                    firestore.Client(
                        project=settings.google_cloud_project, database=settings.firestore_database
                    )
                )
    return _client


def bounded(db_client, seconds: float = TIMEOUT_SECONDS):
    """Caps every Firestore call of `db_client`, retries included, at `seconds`.

    The library's defaults retry an unreachable Firestore for up to 60 s (begin transaction,
    commit) or 300 s (reads), far beyond a function's timeout, so a request would hang instead
    of answering 503. Explicit `retry=` arguments cannot reach the calls that `@transactional`
    makes itself (begin, commit, rollback), so the cap is set where every call takes its
    defaults: the generated client's wrapped methods, keeping each method's own retryable
    errors. The names are the generated client's internals, pinned with the library in
    requirements.txt; tests/unit/test_notifications.py fails if they change.
    """
    transport = db_client._firestore_api._transport
    for wrapped in transport._wrapped_methods.values():
        retry = getattr(wrapped, "_retry", None)
        if retry is not None:
            wrapped._retry = retry.with_timeout(seconds)
        wrapped._timeout = seconds
    return db_client


@contextmanager
def guard() -> Iterator[None]:
    """Runs Firestore work; an outage, a timeout or throttling becomes a 503.

    Only availability errors are translated, also when the library re-raises them wrapped (a
    transaction whose begin failed surfaces as a ValueError from its rollback, chained to the
    cause; one that lost every attempt to contention, as a ValueError from Aborted). A
    precondition failure or a bug still surfaces as itself (a 500): faults are not hidden as
    outages.
    """
    try:
        yield
    except Exception as exc:
        if _unavailable(exc):
            raise DependencyUnavailable("firestore") from exc
        raise


def _unavailable(exc: BaseException | None) -> bool:
    from google.api_core import exceptions as gexc

    transient = (
        gexc.ServiceUnavailable,
        gexc.DeadlineExceeded,
        gexc.RetryError,
        gexc.TooManyRequests,
        gexc.ResourceExhausted,
        gexc.InternalServerError,
        gexc.Unknown,
        gexc.Aborted,
    )
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, transient):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def timestamp(value) -> str | None:
    """RFC 3339 in UTC for a Firestore timestamp (or None)."""
    if value is None:
        return None
    if not isinstance(value, datetime):  # pragma: no cover - the library returns datetimes
        return None
    utc = value.astimezone(UTC)
    # Always with microseconds, so the strings sort as the instants do.
    return (
        datetime(
            utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond
        ).isoformat(timespec="microseconds")
        + "Z"
    )
