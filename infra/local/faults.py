"""Injected faults for the local stand-ins (`POST /_control/faults`), one rule set for both.

A rule is `{"delay_ms", "status", "path_prefix", "count", "retry_after"}`: matching requests
are delayed by the sum of matching delays and answered with the newest matching status; a rule
with `count` expires after that many requests. A rule without `path_prefix` applies to every
path under `roots` (all paths when roots is None) except the key documents (JWKS, discovery),
which only a prefix naming them can fail, so a blanket fault does not also break token checks.
"""

from __future__ import annotations

from typing import Any


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultRules:
    """Injected delays and failures; `parse` raises ValueError for a malformed rule."""

    def __init__(self, roots: tuple[str, ...] | None, key_docs: tuple[str, ...] = ()):
        self.roots = roots  # None: every non-control path
        self.key_docs = key_docs
        self.rules: list[dict[str, Any]] = []

    @staticmethod
    def parse(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ValueError("fault must be a JSON object")  # noqa: TRY004 (the caller answers every ValueError with 400)
        unknown = set(body) - {"delay_ms", "status", "path_prefix", "count", "retry_after"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        delay = body.get("delay_ms", 0)
        if delay is None:
            delay = 0
        if not is_int(delay) or not 0 <= delay <= 600_000:
            raise ValueError("delay_ms must be an integer 0..600000")
        status = body.get("status")
        if status is not None and (not is_int(status) or not 400 <= status <= 599):
            raise ValueError("status must be null or an integer 400..599")
        prefix = body.get("path_prefix")
        if prefix is not None and (not isinstance(prefix, str) or not prefix.startswith("/")):
            raise ValueError("path_prefix must be null or a path starting with /")
        count = body.get("count")
        if count is not None and (not is_int(count) or count < 1):
            raise ValueError("count must be null or an integer >= 1")
        retry_after = body.get("retry_after")
        if retry_after is not None and (not is_int(retry_after) or retry_after < 0):
            raise ValueError("retry_after must be null or an integer >= 0")
        if delay == 0 and status is None:
            raise ValueError("a fault needs delay_ms > 0 or a status")
        return {
            "delay_ms": delay,
            "status": status,
            "path_prefix": prefix,
            "count": count,
            "retry_after": retry_after,
        }

    def add(self, rule: dict[str, Any]) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def _applies(self, rule: dict[str, Any], path: str) -> bool:
        prefix = rule["path_prefix"]
        key_doc = next((d for d in self.key_docs if path.startswith(d)), None)
        if prefix is None:
            if key_doc is not None:
                return False
            return self.roots is None or path.startswith(self.roots)
        if not path.startswith(prefix):
            return False
        return key_doc is None or prefix.startswith(key_doc)

    def take(self, path: str) -> tuple[float, int | None, int | None] | None:
        """(delay seconds, status or None, retry_after or None) for this request, or None."""
        delay = 0
        status = retry_after = None
        hit = False
        for rule in list(self.rules):
            if not self._applies(rule, path):
                continue
            hit = True
            delay += rule["delay_ms"]
            if rule["status"] is not None:
                status, retry_after = rule["status"], rule["retry_after"]
            if rule["count"] is not None:
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.rules.remove(rule)
        return (delay / 1000.0, status, retry_after) if hit else None
