"""Moves the device registrations from Firestore into PostgreSQL (issue 22), once, after the
deploy that brings migration 0018 and the code that reads the table.

    python -m infra.scripts.devices_to_sql [--dry-run]

Reads the `db` and `firestore` settings (DB_* or CLOUD_SQL_INSTANCE, GOOGLE_CLOUD_PROJECT,
FIRESTORE_DATABASE; FIRESTORE_EMULATOR_HOST locally), like `python -m infra.migrate`.

Every document of the Firestore collection `devices` is copied into the table `devices`, a
page at a time (one INSERT ... SELECT from a JSON parameter, committed), then the page's
documents are deleted. ON CONFLICT DO NOTHING makes it idempotent and lets the table win: a
registration already there (an earlier run, or the app registering again since the deploy)
or a token another registration holds by now is skipped, and its document deleted all the
same (the table holds the newer truth). A document that does not hold a valid registration
(no member, no token, an unknown platform) is left in place and counted, for a look by hand.
A registration of a member erased at or after it was last seen is erased data (since the
deploy, erasure no longer looks in the Firestore collection): it is not copied, and its
document is deleted (counted as erased). The check runs under the erasure lock's shared
side, in the transaction that inserts the page (core/tombstones.py), so an erasure cannot
slip between the check and the insert. Last, every `device_index` document (the sender's copy of the registrations, which nothing
reads any more) is deleted. Counts only are printed: never a member key or a token.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))

from lederappen.devices.service import is_device_id

COLLECTION = "devices"
INDEX_COLLECTION = "device_index"
#: Documents per page (one SQL statement and one Firestore write batch each; at most 500).
PAGE = 400


@dataclass
class Counts:
    copied: int = 0  # inserted into the table
    skipped: int = 0  # the table had the registration, or its token, already
    erased: int = 0  # the member was erased after it was last seen: not copied, deleted
    invalid: int = 0  # not a registration: left in Firestore
    deleted: int = 0  # `devices` documents deleted
    index_deleted: int = 0  # `device_index` documents deleted


def row_of(doc_id: str, data: dict[str, Any]) -> list[Any] | None:
    """The table's row for one document, or None when it is not a valid registration."""
    member, token = data.get("member_id"), data.get("fcm_token")
    platform, locale = data.get("platform"), data.get("locale")
    app_version = data.get("app_version")
    last_seen = data.get("last_seen_at")
    created = data.get("created_at") or last_seen
    if not (
        is_device_id(doc_id)
        and doc_id[-1] in "AEIMQUYcgkosw048"
        and isinstance(member, str)
        and member
        and isinstance(token, str)
        and token
        and platform in ("ios", "android")
        and locale in ("nb", "en")
        and isinstance(app_version, str)
        and isinstance(last_seen, datetime)
        and isinstance(created, datetime)
    ):
        return None
    return [
        doc_id,
        member,
        token,
        platform,
        app_version,
        locale,
        created.astimezone(UTC).isoformat(),
        last_seen.astimezone(UTC).isoformat(),
    ]


def _insert(conn, rows: list[list[Any]]) -> tuple[int, int]:
    """Inserts the page's rows, leaving out those of members erased at or after the
    registration was last seen; (inserted, left out as erased), committed."""
    from lederappen.core import tombstones

    cur = conn.cursor()
    erased = tombstones.erasures(cur, sorted({r[1] for r in rows}))  # takes the lock first
    kept = [r for r in rows if r[1] not in erased or erased[r[1]] < datetime.fromisoformat(r[7])]
    inserted = 0
    if kept:
        cur.execute(
            "INSERT INTO devices (id, member_id, fcm_token, platform, app_version, locale, "
            "created_at, last_seen_at) SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, "
            "(e->>6)::timestamptz, (e->>7)::timestamptz FROM json_array_elements(%s::json) "
            "AS e ON CONFLICT DO NOTHING",
            (json.dumps(kept),),
        )
        inserted = cur.rowcount
    conn.commit()
    return inserted, len(rows) - len(kept)


def _delete(fs, refs) -> None:
    for start in range(0, len(refs), PAGE):
        batch = fs.batch()
        for ref in refs[start : start + PAGE]:
            batch.delete(ref)
        batch.commit()


def move(fs, conn, *, dry_run: bool = False, page: int = PAGE) -> Counts:
    """Copies every `devices` document into the table and deletes it (see the module
    docstring); with `dry_run`, only counts what it would copy and leave."""
    from google.cloud.firestore_v1.field_path import FieldPath

    counts = Counts()
    query = fs.collection(COLLECTION).order_by(FieldPath.document_id()).limit(page)
    last = None
    while True:
        snaps = list((query.start_after(last) if last is not None else query).stream())
        if not snaps:
            break
        last = snaps[-1]
        rows, done = [], []
        for snap in snaps:
            row = row_of(snap.id, snap.to_dict() or {})
            if row is None:
                counts.invalid += 1
                continue
            rows.append(row)
            done.append(snap.reference)
        if dry_run:
            counts.copied += len(rows)
            continue
        inserted, erased = _insert(conn, rows) if rows else (0, 0)
        counts.copied += inserted
        counts.erased += erased
        counts.skipped += len(rows) - inserted - erased
        _delete(fs, done)  # only after the rows are committed
        counts.deleted += len(done)
        if len(snaps) < page:
            break
    if not dry_run:
        while True:
            refs = [s.reference for s in fs.collection(INDEX_COLLECTION).limit(page).stream()]
            if not refs:
                break
            _delete(fs, refs)
            counts.index_deleted += len(refs)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dry-run", action="store_true", help="count what would be copied; change nothing"
    )
    args = parser.parse_args(argv)
    from lederappen.core import config, db

    try:
        settings = config.load(("db", "firestore"))  # common: the pseudonym key
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        print("GOOGLE_CLOUD_PROJECT is missing", file=sys.stderr)
        return 2
    from google.cloud import firestore
    from lederappen.core import log

    log.configure(settings.pseudonym_key)  # tombstones are kept by pseudonym
    fs = firestore.Client(project=project, database=settings.firestore_database)
    conn = db.connect(settings)
    try:
        counts = move(fs, conn, dry_run=args.dry_run)
    finally:
        conn.close()
    verb = "would copy" if args.dry_run else "copied"
    print(
        f"devices: {verb} {counts.copied}, skipped {counts.skipped} (already in the table), "
        f"left out {counts.erased} of erased members, "
        f"left {counts.invalid} invalid document(s) in Firestore, deleted {counts.deleted}; "
        f"device_index: deleted {counts.index_deleted}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
