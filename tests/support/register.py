"""Members of a test module's own, added to the register stand-in (`/_control/members`)."""

from __future__ import annotations

import copy
import json
import urllib.request
from typing import Any

from infra.local import demo_data


def add_active_members(stack, ids: list[str], name: str, **fields: Any) -> list[str]:
    """Adds each id as an active member (a demo member's record with the id, the given name
    `<name><i>`, its own e-mail, and `fields` merged into the address); returns the ids."""
    template = next(
        m for m in demo_data.generate_members(300) if m["membership"]["status"] == "active"
    )
    for i, member_id in enumerate(ids):
        m = copy.deepcopy(template)
        m.update(
            member_id=member_id,
            given_name=f"{name}{i}",
            email=f"{name.lower()}{i}@example.com",
        )
        m["address"].update(fields)
        req = urllib.request.Request(
            stack.urls["lederne"] + "/_control/members",
            data=json.dumps(m).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 204
    return ids
