"""Publishing to Pub/Sub: one lazily created client per instance.

google-cloud-pubsub is imported on first publish only (it costs ~200 ms to import), so an
HTTP function that publishes pays for it on its first publish, not on every cold start, and
functions that never publish never pay. With PUBSUB_EMULATOR_HOST set, the client talks to
the emulator; nothing else changes.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .problems import DependencyUnavailable

_client = None
_lock = threading.Lock()
PUBLISH_TIMEOUT_SECONDS = 10.0


def client():
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                import google.cloud.pubsub_v1 as pubsub_v1  # noqa: PLR0402 (mypy sees the namespace package only so)

                _client = pubsub_v1.PublisherClient()
    return _client


def topic_path(project: str, topic: str) -> str:
    return f"projects/{project}/topics/{topic}"


def publish(
    project: str,
    topic: str,
    payload: dict[str, Any] | bytes,
    attributes: dict[str, str] | None = None,
) -> str:
    """Publishes one message and waits for its id; DependencyUnavailable when Pub/Sub fails."""
    data = (
        payload
        if isinstance(payload, bytes)
        else json.dumps(payload, separators=(",", ":")).encode()
    )
    try:
        future = client().publish(topic_path(project, topic), data, **(attributes or {}))
        return future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception as exc:
        raise DependencyUnavailable("pubsub") from exc


def publish_many(project: str, messages: list[tuple[str, bytes, dict[str, str]]]) -> list[str]:
    """Publishes (topic, data, attributes) messages together and waits for all their ids:
    the client batches them, so n messages cost about one round trip, not n. Raises
    DependencyUnavailable when any fails (the caller retries only what it could not mark)."""
    try:
        futures = [
            client().publish(topic_path(project, topic), data, **attributes)
            for topic, data, attributes in messages
        ]
        return [f.result(timeout=PUBLISH_TIMEOUT_SECONDS) for f in futures]
    except Exception as exc:
        raise DependencyUnavailable("pubsub") from exc
