"""Client for Lederne's own APIs at lederne.no: the member register and MinSide.

Profile data (name, address, phone, e-mail, fødselsnummer, employer, position) lives only
there. This client passes it through to the caller and keeps none of it: no cache, no log
line with a value. Every call has a bounded time (LEDERNE_API_TIMEOUT_SECONDS per attempt,
one retry only for idempotent reads whose connection failed); a slow or failing register
becomes DependencyUnavailable, which the HTTP layer answers with 503 and Retry-After.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .problems import DependencyUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from . import config

log = logging.getLogger(__name__)
DEPENDENCY = "member-register"


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
            maxsize=8,
            timeout=urllib3.Timeout(connect=min(1.0, timeout), read=timeout),
        )
        self._read_retry = urllib3.Retry(total=1, connect=1, read=1, status=0, redirect=0,
                                         other=0, raise_on_status=False)

    def _request(self, method: str, path: str, body: Any = None,
                 headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
        u3 = self._urllib3
        all_headers = dict(self._headers)
        if headers:
            all_headers.update(headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        retries = self._read_retry if method == "GET" else u3.Retry(0, read=False, redirect=0)
        try:
            resp = self._http.request(method, self._base + path, body=payload,
                                      headers=all_headers, retries=retries, redirect=False)
        except u3.exceptions.HTTPError as exc:
            log.warning("lederne api unreachable",
                        extra={"fields": {"error": type(exc).__name__, "method": method}})
            raise DependencyUnavailable(DEPENDENCY) from exc
        if resp.status >= 500 or resp.status in (401, 403, 429):
            # 401/403 means our own credential is wrong: an operator problem, not the member's.
            log.error("lederne api refused", extra={"fields": {"status": resp.status, "method": method}})
            raise DependencyUnavailable(DEPENDENCY)
        data = None
        if resp.data and resp.headers.get("Content-Type", "").startswith("application/json"):
            data = json.loads(resp.data)
        return resp.status, dict(resp.headers), data

    def get_member(self, member_id: str) -> dict[str, Any] | None:
        """The member register's record, or None when the register does not know the member."""
        status, headers, data = self._request("GET", f"/api/members/{quote(member_id, safe='')}")
        if status == 404:
            return None
        if status != 200 or not isinstance(data, dict):
            raise DependencyUnavailable(DEPENDENCY)
        return data


    def list_member_ids(self, *, status: str = "active", county: str | None = None,
                        page_token: str | None = None,
                        page_size: int = 500) -> tuple[list[str], str | None]:
        """One page of member ids in id order (the audience of a message), and the next
        page's token (None on the last page). Only ids: no profile data crosses."""
        from urllib.parse import urlencode

        params = {"status": status, "page_size": str(page_size)}
        if county:
            params["county"] = county
        if page_token:
            params["page_token"] = page_token
        status_code, _, data = self._request("GET", "/api/members?" + urlencode(params))
        if status_code != 200 or not isinstance(data, dict) or not isinstance(
                data.get("member_ids"), list):
            raise DependencyUnavailable(DEPENDENCY)
        return [str(m) for m in data["member_ids"]], data.get("next_page_token") or None

    def membership_statuses(self, member_ids: list[str]) -> dict[str, str]:
        """Membership status ("active", "ended", ...) per known member id, for up to 1000
        ids in one call; ids the register does not know are absent."""
        out: dict[str, str] = {}
        for start in range(0, len(member_ids), 1000):
            chunk = member_ids[start:start + 1000]
            status_code, _, data = self._request("POST", "/api/members:batchStatus",
                                                 {"member_ids": chunk})
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
            "PUT", f"/api/newsletter/subscribers/{quote(member_id, safe='')}", body)
        if status != 200 or not isinstance(data, dict):
            raise DependencyUnavailable(DEPENDENCY)
        return data

    def delete_newsletter_subscriber(self, member_id: str) -> None:
        status, _, _ = self._request("DELETE", f"/api/newsletter/subscribers/{quote(member_id, safe='')}")
        if status not in (204, 404):
            raise DependencyUnavailable(DEPENDENCY)


_client: LederneClient | None = None
_lock = threading.Lock()


def client(settings: "config.Settings") -> LederneClient:
    """The instance's client, created on first use and reused (keep-alive connections)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = LederneClient(settings.lederne_api_url, settings.lederne_api_key,
                                        settings.lederne_api_timeout_seconds)
    return _client
