"""Schemathesis hooks for the fuzz runs (loaded with SCHEMATHESIS_HOOKS=tests.support.fuzz_hooks).

They make a generated request what a real client could send, where the document cannot say it:

* `Idempotency-Key`: a generated key is often the same short string for different bodies,
  which the API rightly refuses as a reused key (422). Each call gets a fresh key, as a
  client's first attempt.
* `cursor`: a cursor is opaque and issued by the server (`next_cursor`); no client makes one
  up, and a made-up one is refused (422 naming `cursor`). Generated cursors are left out;
  forged cursors are covered by tests/e2e/test_any_input.py.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    if case.query and "cursor" in case.query:
        del case.query["cursor"]
