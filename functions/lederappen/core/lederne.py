"""Client for Lederne's own APIs at lederne.no: the member register and MinSide.

Profile data (name, address, phone, e-mail, fødselsnummer, employer, position, photo) lives
only there: the member's changes (R2) are written there too. This client passes it through
to the caller and keeps none of it: no cache, no log line with a value. Every call has a
bounded time (LEDERNE_API_TIMEOUT_SECONDS per attempt, one retry only for idempotent reads
whose connection failed); a slow or failing register becomes DependencyUnavailable, which
the HTTP layer answers with 503 and Retry-After.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .problems import DependencyUnavailable, PreconditionFailed, ValidationFailed

if TYPE_CHECKING:  # pragma: no cover
    from . import config

log = logging.getLogger(__name__)
DEPENDENCY = "member-register"
#: Connections kept to lederne.no per process. The pool blocks when all are busy, so however
#: many threads call at once (an erasure's parallel newsletter deletions, several requests of
#: a concurrent instance), there are never more connections than this, and none is opened
#: only to be thrown away ("connection pool is full").
POOL_SIZE = 8


class LederneClient:
    def __init__(self, base_url: str, api_key: str, timeout: float):
        import urllib3

        self._base = base_url.rstrip("/")
        self._urllib3 = urllib3
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": "lederappen-backend",
        }
        self._http = urllib3.PoolManager(
            num_pools=2,
            maxsize=POOL_SIZE,
            block=True,
            timeout=urllib3.Timeout(connect=min(1.0, timeout), read=timeout),
        )
        self._read_retry = urllib3.Retry(
            total=1, connect=1, read=1, status=0, redirect=0, other=0, raise_on_status=False
        )

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        raw: bool = False,
    ) -> tuple[int, dict[str, str], Any]:
        """One call; `body` is sent as JSON, `data` as it is with `content_type`. Answers
        (status, headers, parsed JSON or None), or the raw bytes with `raw=True`."""
        u3 = self._urllib3
        all_headers = dict(self._headers)
        if headers:
            all_headers.update(headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        elif data is not None:
            payload = data
            all_headers["Content-Type"] = content_type or "application/octet-stream"
        retries = self._read_retry if method == "GET" else u3.Retry(0, read=False, redirect=0)
        try:
            resp = self._http.request(
                method,
                self._base + path,
                body=payload,
                headers=all_headers,
                retries=retries,
                redirect=False,
            )
        except u3.exceptions.HTTPError as exc:
            log.warning(
                "lederne api unreachable",
                extra={"fields": {"error": type(exc).__name__, "method": method}},
            )
            raise DependencyUnavailable(DEPENDENCY) from exc
        if resp.status >= 500 or resp.status in (401, 403, 429):
            # 401/403 means our own credential is wrong: an operator problem, not the member's.
            log.error(
                "lederne api refused", extra={"fields": {"status": resp.status, "method": method}}
            )
            raise DependencyUnavailable(DEPENDENCY)
        if raw:
            return resp.status, dict(resp.headers), resp.data
        parsed = None
        if resp.data and resp.headers.get("Content-Type", "").startswith("application/json"):
            parsed = json.loads(resp.data)
        return resp.status, dict(resp.headers), parsed

    def get_member(self, member_id: str) -> dict[str, Any] | None:
        """The member register's record, or None when the register does not know the member."""
        status, _headers, data = self._request("GET", f"/api/members/{quote(member_id, safe='')}")
        if status == 404:
            return None
        if status != 200 or not isinstance(data, dict):
            raise DependencyUnavailable(DEPENDENCY)
        return data

    # -- rectification (R2): the member's own changes, written to the register -------------
    # Nothing here is kept: the changed record goes back to the caller and nowhere else.

    def patch_member(
        self, member_id: str, patch: dict[str, Any], if_match_version: int | str
    ) -> dict[str, Any] | None:
        """Applies a merge patch (`email`, `phone`, `position`, `address`, `employer`; a null
        inside `address` or `employer` clears that part) to the register's record, if its
        version is still `if_match_version`: the register compares and writes in one step,
        so two devices cannot overwrite each other. Answers the new record (with its new
        `version`), or None when the register does not know the member.

        Raises PreconditionFailed when the version moved on (412), ValidationFailed when the
        register refuses the content (it may know more than we check, for example which
        postal codes exist), DependencyUnavailable when it is down or slow. A write is
        never retried: after a timeout the change may or may not be in, and the member's
        retry with the same If-Match then gets 412 instead of writing twice.
        """
        status, _, data = self._request(
            "PATCH",
            f"/api/members/{quote(member_id, safe='')}",
            patch,
            headers={"If-Match": f'"{if_match_version}"'},
        )
        if status == 404:
            return None
        if status in (412, 428):
            raise PreconditionFailed(
                {
                    "nb": "Profilen er endret siden du leste den. Hent den på nytt.",
                    "en": "Your profile changed since you read it. Fetch it again.",
                }
            )
        if status in (400, 422):
            # Never log the register's description: it may quote the value it refused.
            log.warning("lederne api rejected a change", extra={"fields": {"status": status}})
            raise ValidationFailed(
                {
                    "nb": "Medlemsregisteret godtok ikke endringen. Sjekk feltene og prøv igjen.",
                    "en": "The member register did not accept the change. Check the fields "
                    "and try again.",
                },
                errors=[
                    {
                        "field": None,
                        "code": "rejected_by_register",
                        "message": {
                            "nb": "Medlemsregisteret godtok ikke endringen.",
                            "en": "The member register did not accept the change.",
                        },
                    }
                ],
            )
        if status != 200 or not isinstance(data, dict):
            raise DependencyUnavailable(DEPENDENCY)
        return data

    def get_photo(self, member_id: str) -> tuple[bytes, str] | None:
        """The member's profile photo and its media type, or None when there is none."""
        status, headers, data = self._request(
            "GET",
            f"/api/members/{quote(member_id, safe='')}/photo",
            headers={"Accept": "image/jpeg, image/png"},
            raw=True,
        )
        if status == 404:
            return None
        if status != 200 or not data:
            raise DependencyUnavailable(DEPENDENCY)
        ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in ("image/jpeg", "image/png"):
            raise DependencyUnavailable(DEPENDENCY)
        return data, ctype

    def put_photo(self, member_id: str, data: bytes, content_type: str) -> bool:
        """Stores (replaces) the member's profile photo: `content_type` image/jpeg or
        image/png, at most 5 MiB. False when the register does not know the member."""
        status, _, _ = self._request(
            "PUT",
            f"/api/members/{quote(member_id, safe='')}/photo",
            data=data,
            content_type=content_type,
        )
        if status == 404:
            return False
        if status in (200, 204):
            return True
        if status in (400, 413, 415):
            # We send only what we re-encoded ourselves: this is our bug, not the member's.
            raise RuntimeError(f"member register refused a photo we produced ({status})")
        raise DependencyUnavailable(DEPENDENCY)

    def delete_photo(self, member_id: str) -> bool:
        """Removes the member's profile photo (no photo is not an error). False when the
        register does not know the member."""
        status, _, _ = self._request("DELETE", f"/api/members/{quote(member_id, safe='')}/photo")
        if status == 404:
            return False
        if status not in (200, 204):
            raise DependencyUnavailable(DEPENDENCY)
        return True

    def list_member_ids(
        self,
        *,
        status: str = "active",
        county: str | None = None,
        page_token: str | None = None,
        page_size: int = 500,
    ) -> tuple[list[str], str | None]:
        """One page of member ids in id order (the audience of a message), and the next
        page's token (None on the last page). Only ids: no profile data crosses."""
        from urllib.parse import urlencode

        params = {"status": status, "page_size": str(page_size)}
        if county:
            params["county"] = county
        if page_token:
            params["page_token"] = page_token
        status_code, _, data = self._request("GET", "/api/members?" + urlencode(params))
        if (
            status_code != 200
            or not isinstance(data, dict)
            or not isinstance(data.get("member_ids"), list)
        ):
            raise DependencyUnavailable(DEPENDENCY)
        return [str(m) for m in data["member_ids"]], data.get("next_page_token") or None

    def membership_statuses(self, member_ids: list[str]) -> dict[str, str]:
        """Membership status ("active", "ended", ...) per known member id, for up to 1000
        ids in one call; ids the register does not know are absent."""
        out: dict[str, str] = {}
        for start in range(0, len(member_ids), 1000):
            chunk = member_ids[start : start + 1000]
            status_code, _, data = self._request(
                "POST", "/api/members:batchStatus", {"member_ids": chunk}
            )
            if status_code != 200 or not isinstance(data, dict):
                raise DependencyUnavailable(DEPENDENCY)
            for row in data.get("members") or []:
                if isinstance(row, dict) and row.get("member_id"):
                    out[str(row["member_id"])] = str(row.get("status") or "")
        return out

    # -- public content (no personal data): topics and feeds --------------------------------

    def get_public(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """A public content document (`/api/topics`, `/api/courses`, ...)."""
        from urllib.parse import urlencode

        query = ("?" + urlencode({k: v for k, v in (params or {}).items() if v})) if params else ""
        status, _, data = self._request("GET", path + query)
        if status != 200 or not isinstance(data, dict):
            raise DependencyUnavailable(DEPENDENCY)
        return data

    # -- the newsletter system --------------------------------------------------------------

    def put_newsletter_subscriber(self, member_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Idempotent by body["event_id"]; an older event never overwrites a newer one."""
        status, _, data = self._request(
            "PUT", f"/api/newsletter/subscribers/{quote(member_id, safe='')}", body
        )
        if status != 200 or not isinstance(data, dict):
            raise DependencyUnavailable(DEPENDENCY)
        return data

    def delete_newsletter_subscriber(self, member_id: str) -> None:
        status, _, _ = self._request(
            "DELETE", f"/api/newsletter/subscribers/{quote(member_id, safe='')}"
        )
        if status not in (204, 404):
            raise DependencyUnavailable(DEPENDENCY)


_client: LederneClient | None = None
_lock = threading.Lock()


def client(settings: config.Settings) -> LederneClient:
    """The instance's client, created on first use and reused (keep-alive connections)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = LederneClient(
                    settings.lederne_api_url,
                    settings.lederne_api_key,
                    settings.lederne_api_timeout_seconds,
                )
    return _client
