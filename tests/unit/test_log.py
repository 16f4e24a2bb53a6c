"""Logs: one JSON object per line, Cloud Logging fields, members only as keyed pseudonyms."""

import json
import logging

from lederappen.core import log


def _capture(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_pseudonym_is_stable_keyed_and_not_the_member_id():
    log.configure(b"a" * 32)
    p1 = log.pseudonym("1000001")
    assert p1 == log.pseudonym("1000001")
    assert "1000001" not in p1
    log.configure(b"b" * 32)
    assert log.pseudonym("1000001") != p1


def test_lines_are_json_with_severity_trace_and_fields(capsys):
    log.configure(b"a" * 32)
    log.set_request_context("projects/p/traces/abc", function="profile")
    log.event(logging.getLogger("t"), "request", logging.WARNING, status=503)
    (entry,) = _capture(capsys)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "request"
    assert entry["logging.googleapis.com/trace"] == "projects/p/traces/abc"
    assert entry["function"] == "profile" and entry["status"] == 503


def test_exceptions_are_logged_without_their_message(capsys):
    log.configure(b"a" * 32)
    try:
        raise ValueError("Key (member_id)=(1000001) already exists, email kari@example.no")
    except ValueError as exc:
        logging.getLogger("t").error("failed", exc_info=exc)
    (entry,) = _capture(capsys)
    assert "1000001" not in json.dumps(entry) and "kari@" not in json.dumps(entry)
    assert "ValueError" in entry["error"]


def test_trace_is_read_from_traceparent_or_cloud_header():
    tid = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (
        log.trace_from_headers({"traceparent": f"00-{tid}-00f067aa0ba902b7-01"}, "p")
        == f"projects/p/traces/{tid}"
    )
    assert (
        log.trace_from_headers({"X-Cloud-Trace-Context": f"{tid}/1;o=1"}, "p")
        == f"projects/p/traces/{tid}"
    )
    assert log.trace_from_headers({"X-Cloud-Trace-Context": "not hex!/1"}, "p") is None
    assert log.trace_from_headers({}, "p") is None
