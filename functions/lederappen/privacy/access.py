"""Access (R1): everything the backend holds about one member, read from the data map.

Nothing here names a table. Every SQL table, Firestore collection and message type comes from
`datamap.STORES`, found by every member key the store declares (both sides of a mentoring
pair, an array of keys, a pseudonym), with the columns the store declares as meaningful to the
member. A store added to the data map is in the member's access view without a change here.

Consistency and cost
    All SQL stores are read in one READ ONLY transaction at REPEATABLE READ (the `snapshot`
    port), so every table is seen at one instant: a consent given while the view is built is
    in all of its tables or in none. Each store costs one statement that returns at most
    `limit` rows, newest first, and the store's total (a window count). The member register
    (the profile) and Firestore are read at the same time in two worker threads, so the answer
    takes about as long as the slowest source, not the sum. Firestore has no snapshot across
    collections; each of its queries is consistent on its own.

Long stores
    The inbox keeps a year of messages; other stores can grow too. Each section holds at most
    `limit` items (newest first), says its `total`, and carries `next_cursor` when more remain:
    `GET /v1/privacy/access?store=NAME&cursor=...` gives the next page of that store alone
    (keyset pagination on the store's `order_by`, so a page never shifts when new rows arrive).

Nobody else's data
    In a row about two members (a mentoring pair) the other member's key is never selected:
    the caller's role (`your_role`) takes its place. Columns a store leaves out (tokens,
    leases, request fingerprints) are never selected, and a column may redact itself (the
    audit trail names staff and jobs, but another member only as `member`).
"""

from __future__ import annotations

import base64
import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import UUID

from ..core import datamap, db, pagination
from ..core.datamap import Column, Store
from ..core.db import Cursor
from ..core.times import rfc3339
from ..core.validation import field_error
from .record import readers

T = TypeVar("T")

#: Items per store in one answer (the conventions' largest page).
DEFAULT_LIMIT = 100
MAX_LIMIT = 100
#: Replaces the other member's key in a row about two members.
ROLE_COLUMN = datamap.col(
    "your_role",
    "Din rolle i denne raden (den andre medlemmets nummer vises ikke)",
    "Your role in this row (the other member's number is not shown)",
    derived=True,
)

NOTICE = {
    "nb": "Dette er alt Lederappen har lagret om deg, hentet nå: hver tabell og samling i "
    "appens dataoversikt, og profilen din slik medlemsregisteret har den. Hver del sier "
    "hvor opplysningene ligger, hvorfor de behandles, på hvilket rettslig grunnlag og hvor "
    "lenge de lagres. Lange lister viser de nyeste først; resten hentes med next_cursor. "
    "Skriv til personvern@lederne.no hvis du vil vite mer.",
    "en": "This is everything Lederappen has stored about you, read now: every table and "
    "collection in the app's data map, and your profile as the member register holds "
    "it. Each part says where the data is kept, why it is processed, on which legal "
    "basis and for how long. Long lists show the newest first; fetch the rest with "
    "next_cursor. Write to personvern@lederne.no to learn more.",
}
IN_TRANSIT_NOTE = {
    "nb": "Meldinger under levering ligger bare i Pub/Sub til de er levert (høyst 7 dager), og "
    "Pub/Sub kan ikke slå opp meldinger etter innhold, så de kan ikke listes her. Det som "
    "tas vare på av dem, står under «Utgående meldinger» og «Meldinger som ikke kunne "
    "behandles».",
    "en": "Messages being delivered are held in Pub/Sub only until delivered (at most 7 days), "
    "and Pub/Sub cannot look messages up by content, so they cannot be listed here. What "
    'is kept of them is under "Outgoing messages" and "Messages that could not be '
    'processed".',
}
OUTSIDE_NOTE = {
    "nb": "Logger og sikkerhetskopier kan ikke slås opp per medlem, så de kan ikke listes her. "
    "De slettes etter tiden som står under «lagringstid»; etter en sletting er "
    "opplysningene dine ute av dem innen tiden under «erased_after».",
    "en": "Logs and backups cannot be looked up per member, so they cannot be listed here. "
    'They are deleted after the time under "retention"; after an erasure your data '
    'has left them within the time under "erased_after".',
}
NOT_IN_REGISTER_NOTE = {
    "nb": "Medlemsregisteret kjenner deg ikke (lenger), så ingen profil ble hentet.",
    "en": "The member register does not (or no longer) know you, so no profile was read.",
}


class Register(Protocol):
    def get_member(self, member_id: str) -> dict[str, Any] | None: ...


@dataclass
class Page:
    """Some items of one store, newest first."""

    items: list[dict[str, Any]]
    #: How many the store holds for the member; None when that cannot be known (in transit).
    total: int | None
    next_cursor: str | None = None
    #: More items exist than are shown (with `next_cursor` to fetch them where it can page).
    truncated: bool = False


# -- values ------------------------------------------------------------------------------------


def plain(value: Any, omit: Iterable[str] = ()) -> Any:
    """A database or Firestore value as JSON: timestamps RFC 3339 in UTC, numerics as numbers,
    UUIDs as text; keys in `omit` removed from maps at any depth."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    omit = tuple(omit)
    if isinstance(value, dict):
        return {str(k): plain(v, omit) for k, v in value.items() if k not in omit}
    if isinstance(value, (list, tuple)):
        return [plain(v, omit) for v in value]
    return str(value)


# -- cursors -----------------------------------------------------------------------------------


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.astimezone(UTC).isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise TypeError(f"cannot page by a {type(value).__name__}")


def _untag(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str):
        moment = datetime.fromisoformat(value["t"])
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment
    if isinstance(value, dict) and set(value) == {"u"} and isinstance(value["u"], str):
        return UUID(value["u"])
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise ValueError("not a key value")


def _key_width(store: Store) -> int:
    """Values in a cursor: the sort key, plus the document id in Firestore."""
    return len(store.order_by) + (1 if store.kind == "firestore" else 0)


def encode_cursor(store: Store, key: list[Any]) -> str:
    return pagination.encode_cursor({"s": store.name, "k": [_tag(v) for v in key]})


def decode_cursor(store: Store, cursor: str | None) -> list[Any] | None:
    """The key after which the page starts; 422 naming `cursor` when it is not one of this
    store's cursors. A cursor only ever narrows a query already limited to the caller."""
    raw = pagination.decode_cursor(cursor)
    if raw is None:
        return None
    try:
        if not isinstance(raw, dict) or raw.get("s") != store.name or not store.order_by:
            raise ValueError("another store's cursor")
        key = raw.get("k")
        if not isinstance(key, list) or len(key) != _key_width(store):
            raise ValueError("wrong width")
        return [_untag(v) for v in key]
    except (ValueError, TypeError):
        raise field_error("cursor", "invalid", "Ugyldig cursor.", "Invalid cursor.") from None


# -- reading one store -------------------------------------------------------------------------


_q = datamap.quote_ident


def columns(store: Store, derived: bool = True) -> list[Column]:
    """What the member is shown of the store (without derived values for the export), with
    the caller's role in a row about two members."""
    shown = [c for c in store.export_columns if derived or not c.derived]
    if store.roles and derived:
        shown.append(ROLE_COLUMN)
    return shown


def sql_page(
    cur: Cursor,
    store: Store,
    member_id: str,
    *,
    pseudonym: Callable[[str], str],
    limit: int,
    after: list[Any] | None = None,
    derived: bool = True,
) -> Page:
    """One page of a SQL store in one statement: the rows, and the total in a window count."""
    key = store.key_for(member_id, pseudonym)
    shown = [c for c in columns(store, derived) if c is not ROLE_COLUMN]
    select: list[str] = []
    params: list[Any] = []
    for c in shown:  # `{me}` in a column's expression is the caller's key
        expr = c.sql or _q(c.name)
        params += [key] * expr.count("{me}")
        select.append(f"{expr.replace('{me}', '%s')} AS {_q(c.name)}")
    roles = store.roles if derived else {}
    if roles:
        select.append(
            "CASE "
            + " ".join(f"WHEN {_q(k)} = %s THEN '{r}'" for k, r in roles.items())
            + f" END AS {_q(ROLE_COLUMN.name)}"
        )
        shown.append(ROLE_COLUMN)
        params += [key] * len(roles)
    width = len(select)
    order = [_q(k) for k in store.order_by]
    select += order
    select.append("count(*) OVER ()")
    where = store.match_sql
    params += [key] * store.match_arity
    if after is not None:
        where += f" AND ({', '.join(order)}) < ({', '.join(['%s'] * len(order))})"
        params += after
    sql = (
        f"SELECT {', '.join(select)} FROM {_q(store.table)} WHERE {where} "
        f"ORDER BY {', '.join(o + ' DESC' for o in order)} LIMIT %s"
    )
    cur.execute(sql, (*params, limit + 1))
    rows = cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{c.name: plain(v, c.omit) for c, v in zip(shown, row[:width])} for row in rows]
    if store.table == "audit_events" and derived:  # codes in the member's words
        from ..core import audit

        for item in items:
            item["meaning"] = audit.labels(item["category"], item["action"], item["purpose"])
    if after is None:
        total = int(rows[0][-1]) if rows else 0
    else:  # the window counted only what is after the cursor
        cur.execute(
            f"SELECT count(*) FROM {_q(store.table)} WHERE {store.match_sql}",
            tuple([key] * store.match_arity),
        )
        total = int(db.one(cur)[0])
    next_cursor = encode_cursor(store, list(rows[-1][width : width + len(order)])) if more else None
    return Page(items, total, next_cursor, more)


def _document(snapshot, shown: list[Column]) -> dict[str, Any]:
    data = snapshot.to_dict() or {}
    return {
        c.name: plain(snapshot.id if c.name == "id" else data.get(c.name), c.omit) for c in shown
    }


def firestore_page(
    client,
    store: Store,
    member_id: str,
    *,
    limit: int,
    after: list[Any] | None = None,
    derived: bool = True,
) -> Page:
    """One page of a Firestore store: the member's document (`document`), or their documents
    by the member key field (`documents`), newest first when the store declares an order (the
    query its composite index serves), else in id order."""
    from google.cloud.firestore import Query
    from google.cloud.firestore_v1.base_query import FieldFilter

    from ..core.firestore import TIMEOUT_SECONDS

    shown = columns(store, derived)
    collection = client.collection(store.name)
    if store.export == "document":
        snap = collection.document(member_id).get(timeout=TIMEOUT_SECONDS)
        items = [_document(snap, shown)] if snap.exists else []
        return Page(items, len(items))
    query = collection.where(filter=FieldFilter(store.member_key, "==", member_id))
    counted = query.count(alias="n").get(timeout=TIMEOUT_SECONDS)
    total = int(counted[0][0].value) if counted and counted[0] else 0
    fields = list(dict.fromkeys([c.name for c in shown if c.name != "id"] + list(store.order_by)))
    page = query.select(fields)
    if store.order_by:
        for f in store.order_by:
            page = page.order_by(f, direction=Query.DESCENDING)
        page = page.order_by("__name__", direction=Query.DESCENDING)
        if after is not None:
            page = page.start_after(
                {**dict(zip(store.order_by, after[:-1])), "__name__": after[-1]}
            )
    snaps = list(page.limit(limit + 1).stream(timeout=TIMEOUT_SECONDS))
    more = len(snaps) > limit
    snaps = snaps[:limit]
    items = [_document(s, shown) for s in snaps]
    next_cursor = None
    if more and store.order_by:
        last = snaps[-1].to_dict() or {}
        next_cursor = encode_cursor(store, [last.get(f) for f in store.order_by] + [snaps[-1].id])
    if not store.order_by:
        items.sort(key=lambda item: str(item.get("id") or ""))
    return Page(items, total, next_cursor, more)


# -- sections ----------------------------------------------------------------------------------


def fields(shown: Iterable[Column]) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "description": dict(c.description), "derived": c.derived} for c in shown
    ]


def describe(store: Store, derived: bool = True) -> dict[str, Any]:
    """What the member (and the processing record) is told about a store, without data."""
    return {
        "store": store.name,
        "kind": store.kind,
        "source": dict(datamap.SOURCES[store.kind]),
        "title": dict(store.title or {"nb": store.name, "en": store.name}),
        "category": store.category,
        "purpose": dict(store.purpose),
        "legal_basis": store.legal_basis,
        "retention": dict(store.retention),
        "retention_days": store.retention_days,
        "readers": readers(store.readers),
        "provided_by_member": store.provided_by_member,
        "fields": fields(columns(store, derived)),
        "erased_after": dict(store.erased_after) if store.erased_after else None,
    }


def _note(store: Store) -> dict[str, str] | None:
    notes = [
        n
        for n in (
            store.note,
            IN_TRANSIT_NOTE if store.export == "in_transit" else None,
            OUTSIDE_NOTE if store.export == "outside" else None,
        )
        if n
    ]
    if not notes:
        return None
    return {lang: " ".join(n[lang] for n in notes) for lang in ("nb", "en")}


def section(store: Store, page: Page) -> dict[str, Any]:
    return {
        **describe(store),
        "items": page.items,
        "total": page.total,
        "truncated": page.truncated,
        "next_cursor": page.next_cursor,
        "note": _note(store),
    }


def profile_section(
    member_id: str, record: dict[str, Any] | None, restricted: bool, now: datetime
) -> dict[str, Any]:
    """The profile as the app shows it (`profile.service.view`), read live from the register."""
    from ..profile.service import view

    reg = datamap.REGISTER
    found = record is not None and record.get("member_id") == member_id
    items = [plain(view(record, restricted, now))] if record is not None and found else []
    return {
        "store": reg.name,
        "kind": "register",
        "source": dict(reg.source),
        "title": dict(reg.title),
        "category": reg.category,
        "purpose": dict(reg.purpose),
        "legal_basis": reg.legal_basis,
        "retention": dict(reg.retention),
        "retention_days": None,
        "readers": readers(reg.readers),
        "provided_by_member": False,
        "fields": fields(reg.fields),
        "items": items,
        "total": len(items),
        "truncated": False,
        "next_cursor": None,
        "note": None if found else dict(NOT_IN_REGISTER_NOTE),
    }


# -- reading everything ------------------------------------------------------------------------


def _in_thread(pool: ThreadPoolExecutor, fn: Callable[..., T], *args) -> Future:
    """Runs `fn` in the pool with the caller's context (log fields, trace)."""
    return pool.submit(contextvars.copy_context().run, fn, *args)


def read_pages(
    member_id: str,
    stores: Iterable[Store],
    *,
    snapshot: Callable,
    firestore_client,
    pseudonym: Callable[[str], str],
    limit: int,
    derived: bool = True,
    after: dict[str, list[Any]] | None = None,
    also: Callable[[], T] | None = None,
) -> tuple[dict[str, Page], T | None]:
    """A page of each store: SQL stores in one `snapshot(work)` transaction, Firestore in a
    worker thread meanwhile, and `also()` (the register) in another. Answers the pages by
    store name and what `also()` returned."""
    stores = list(stores)
    after = after or {}
    sql = [s for s in stores if s.kind == "sql" and s.export == "rows"]
    docs = [s for s in stores if s.kind == "firestore"]

    def read_sql(cur: Cursor) -> dict[str, Page]:
        return {
            s.name: sql_page(
                cur,
                s,
                member_id,
                pseudonym=pseudonym,
                limit=limit,
                after=after.get(s.name),
                derived=derived,
            )
            for s in sql
        }

    def read_firestore() -> dict[str, Page]:
        from ..core import firestore

        with firestore.guard():
            client = firestore_client() if callable(firestore_client) else firestore_client
            return {
                s.name: firestore_page(
                    client, s, member_id, limit=limit, after=after.get(s.name), derived=derived
                )
                for s in docs
            }

    pages: dict[str, Page] = {}
    extra = None
    workers = int(bool(docs)) + int(also is not None)
    if workers == 0:
        pages.update(snapshot(read_sql) if sql else {})
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="privacy") as pool:
            fs_future = _in_thread(pool, read_firestore) if docs else None
            also_future = _in_thread(pool, also) if also is not None else None
            if sql:
                pages.update(snapshot(read_sql))
            if fs_future is not None:
                pages.update(fs_future.result())
            if also_future is not None:
                extra = also_future.result()
    for s in stores:
        if s.export in ("in_transit", "outside"):
            pages[s.name] = Page([], None)
    return pages, extra


def collect(
    member_id: str,
    *,
    snapshot: Callable,
    firestore_client,
    register: Register,
    pseudonym: Callable[[str], str],
    now: datetime,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The whole access view: the profile, then every store of the data map in its order, then
    the rows of other stores that name the member besides (`datamap.views`: what they did to
    another member, messages naming them among others)."""
    stores = [*datamap.STORES, *datamap.views()]
    pages, record = read_pages(
        member_id,
        stores,
        snapshot=snapshot,
        firestore_client=firestore_client,
        pseudonym=pseudonym,
        limit=limit,
        also=lambda: register.get_member(member_id),
    )
    restricted = bool(
        pages.get("processing_restrictions") and pages["processing_restrictions"].total
    )
    return {
        "member_id": member_id,
        "generated_at": rfc3339(now),
        "limit": limit,
        "notice": dict(NOTICE),
        "sections": [profile_section(member_id, record, restricted, now)]
        + [section(s, pages[s.name]) for s in stores],
    }


def collect_one(
    member_id: str,
    store: Store,
    *,
    snapshot: Callable,
    firestore_client,
    pseudonym: Callable[[str], str],
    now: datetime,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """One store's section alone (the next page of a long store)."""
    after = decode_cursor(store, cursor)
    pages, _ = read_pages(
        member_id,
        [store],
        snapshot=snapshot,
        firestore_client=firestore_client,
        pseudonym=pseudonym,
        limit=limit,
        after={store.name: after} if after is not None else None,
    )
    return {
        "member_id": member_id,
        "generated_at": rfc3339(now),
        "limit": limit,
        "notice": dict(NOTICE),
        "sections": [section(store, pages[store.name])],
    }
