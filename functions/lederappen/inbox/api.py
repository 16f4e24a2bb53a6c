"""HTTP endpoints of the inbox function: list, mark read and delete the caller's items."""

from __future__ import annotations

from ..core import firestore, pagination
from ..core.http import Api, Reply, Request
from ..core.problems import NotFound
from . import service

api = Api()


@api.get("/v1/inbox")
def list_inbox(request: Request) -> Reply:
    size = pagination.limit(request.query)
    after = service.decode_cursor(request.query.get("cursor"))
    with firestore.guard():
        db_client = firestore.client(request.settings)
        items, next_cursor = service.page(db_client, request.member_id, size, after)
        unread = service.unread_count(db_client, request.member_id)
    return Reply({"items": items, "next_cursor": next_cursor, "unread_count": unread})


@api.post("/v1/inbox/{item_id}/read")
def mark_read(request: Request) -> Reply:
    with firestore.guard():
        found = service.mark_read(
            firestore.client(request.settings), request.member_id, request.params["item_id"]
        )
    if not found:
        raise NotFound()
    return Reply(status=204)


@api.delete("/v1/inbox/{item_id}")
def delete_item(request: Request) -> Reply:
    with firestore.guard():
        found = service.delete(
            firestore.client(request.settings), request.member_id, request.params["item_id"]
        )
    if not found:
        raise NotFound()
    return Reply(status=204)
