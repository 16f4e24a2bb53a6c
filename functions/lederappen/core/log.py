"""Structured JSON logs that Cloud Logging understands, with members pseudonymised.

One JSON object per line on stdout: `severity`, `message`, the trace fields Cloud Logging
links to a request, and explicit structured fields. Callers pass only what may be logged:
never a profile field, a token or a salary figure. A member appears only as `pseudonym()`,
a keyed hash (HMAC-SHA256 with PSEUDONYM_KEY) that cannot be reversed without the key and
differs between deployments.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_trace: ContextVar[str | None] = ContextVar("trace", default=None)
#: read-only default: a ContextVar default is shared by every context, so it must not be mutable
_fields: ContextVar[Mapping[str, Any]] = ContextVar("log_fields", default=MappingProxyType({}))
_key: bytes | None = None


def configure(pseudonym_key: bytes, level: str = "INFO") -> None:
    """Installs the JSON handler on the root logger once per instance."""
    global _key
    _key = pseudonym_key
    root = logging.getLogger()
    if not any(isinstance(h, _JsonHandler) for h in root.handlers):
        for h in list(root.handlers):
            root.removeHandler(h)
        root.addHandler(_JsonHandler())
    root.setLevel(level)
    # Libraries must not echo request data or SQL parameters into our logs.
    for noisy in ("urllib3", "google", "werkzeug", "pg8000"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def pseudonym(member_id: str) -> str:
    """A stable, keyed, irreversible stand-in for a member key, safe to log."""
    if _key is None:
        raise RuntimeError("log.configure() must run before pseudonym()")
    return _pseudonym(_key, member_id)


@functools.lru_cache(maxsize=16384)
def _pseudonym(key: bytes, member_id: str) -> str:
    # cached (~2.5 us an HMAC): work on a batch of members (a delivery batch holds up to
    # 10,000) asks for the same pseudonyms more than once; in memory only, like the ids the
    # batch holds anyway
    return "m_" + hmac.new(key, member_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def set_request_context(trace: str | None, **fields: str) -> None:
    _trace.set(trace)
    _fields.set(fields)


def bind(**fields: str) -> None:
    """Adds fields (already safe to log) to every line written for the current request."""
    _fields.set({**_fields.get(), **fields})


def trace_from_headers(headers, project: str) -> str | None:
    """Cloud Logging trace resource name from `traceparent` or `X-Cloud-Trace-Context`."""
    tp = headers.get("traceparent")
    trace_id = None
    if tp:
        parts = tp.split("-")
        if len(parts) >= 3 and len(parts[1]) == 32:
            trace_id = parts[1]
    if trace_id is None:
        xc = headers.get("X-Cloud-Trace-Context")
        if xc:
            trace_id = xc.split("/", 1)[0] or None
    if trace_id is None or not all(c in "0123456789abcdef" for c in trace_id.lower()):
        return None
    return f"projects/{project}/traces/{trace_id}"


def safe_traceback(exc: BaseException) -> str:
    """Where an exception happened, without its message (messages can carry data values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(
        f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in reversed(frames)
    )
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where}"


class _JsonHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = {
                "severity": record.levelname if record.levelname != "WARN" else "WARNING",
                "message": record.getMessage() if not record.args else record.msg,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z",
                "logger": record.name,
            }
            trace = _trace.get()
            if trace:
                entry["logging.googleapis.com/trace"] = trace
            entry.update(_fields.get())
            extra = getattr(record, "fields", None)
            if extra:
                entry.update(extra)
            if record.exc_info and record.exc_info[1] is not None:
                entry["error"] = safe_traceback(record.exc_info[1])
            sys.stdout.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            sys.stdout.flush()
        except Exception:  # a log line must never break a request  # noqa: BLE001
            self.handleError(record)


def event(logger: logging.Logger, message: str, level: int = logging.INFO, **fields) -> None:
    """Writes one structured line; `message` is a constant, details go in `fields`."""
    if logger.isEnabledFor(level):
        logger.log(level, message, extra={"fields": fields})
