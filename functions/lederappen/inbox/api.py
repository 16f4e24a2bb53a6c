"""HTTP endpoints of the inbox function: list, mark read and delete the caller's items."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ..core import firestore, pagination
from ..core.http import Api, Reply, Request
from ..core.problems import NotFound
from . import service
from .schemas import InboxPage, ListInboxQuery

api = Api()


@api.get(
    "/v1/inbox",
    operation_id="listInbox",
    summary="The member's inbox, newest first, and how many items are unread.",
    response=InboxPage,
    returns="A page of inbox items",
    errors=(
        422,
        503,
    ),
    query=ListInboxQuery,
)
def list_inbox(request: Request) -> Reply:
    size = pagination.limit(request.query)
    after = service.decode_cursor(request.query.get("cursor"))
    with firestore.guard():
        db_client = firestore.client(request.settings)
        items, next_cursor = service.page(db_client, request.member_id, size, after)
        unread = service.unread_count(db_client, request.member_id)
    return Reply({"items": items, "next_cursor": next_cursor, "unread_count": unread})


@api.post(
    "/v1/inbox/{item_id}/read",
    operation_id="markInboxItemRead",
    summary="Mark an item read. Idempotent: read_at keeps the first time.",
    response=None,
    returns="Read",
    errors=(503,),
    path_params={
        "item_id": Annotated[
            str, msgspec.Meta(description="An inbox item's id, from GET /v1/inbox.")
        ]
    },
)
def mark_read(request: Request) -> Reply:
    with firestore.guard():
        found = service.mark_read(
            firestore.client(request.settings), request.member_id, request.params["item_id"]
        )
    if not found:
        raise NotFound()
    return Reply(status=204)


@api.delete(
    "/v1/inbox/{item_id}",
    operation_id="deleteInboxItem",
    summary="Delete an item from the inbox.",
    response=None,
    returns="Deleted",
    errors=(503,),
    path_params={
        "item_id": Annotated[
            str, msgspec.Meta(description="An inbox item's id, from GET /v1/inbox.")
        ]
    },
)
def delete_item(request: Request) -> Reply:
    with firestore.guard():
        found = service.delete(
            firestore.client(request.settings), request.member_id, request.params["item_id"]
        )
    if not found:
        raise NotFound()
    return Reply(status=204)
