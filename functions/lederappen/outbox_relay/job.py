"""The outbox relay: publishes messages whose publish after commit was lost."""

from __future__ import annotations

from ..core import outbox
from ..core.http import Api, Reply, Request

api = Api()


@api.post("/jobs/outbox-relay")
def relay(request: Request) -> Reply:
    published = outbox.relay(request.settings.google_cloud_project)
    return Reply({"published": published})
