"""A Firestore client for tests, pointed at the test stack's emulator (as the functions are)."""

from __future__ import annotations

import os


def emulator_client(stack):
    """A google-cloud-firestore client on the stack's Firestore emulator, bounded like the
    functions' own (core.firestore.client).

    The library reads FIRESTORE_EMULATOR_HOST when the client is created, so it is set only
    for that moment; the test process's environment is left as it was.
    """
    from google.cloud import firestore
    from lederappen.core.firestore import bounded

    env = stack.env  # what every function gets (FIRESTORE_EMULATOR_HOST, project)
    saved = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = env["FIRESTORE_EMULATOR_HOST"]
    try:
        return bounded(firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"]))
    finally:
        if saved is None:
            del os.environ["FIRESTORE_EMULATOR_HOST"]
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = saved
