"""A small local API gateway: one port in front of every function, like production's load balancer.

In production an HTTPS load balancer maps each public `/v1/...` route to the Cloud Function
that serves it (Terraform builds the URL map from the manifest). Locally this gateway does
the same from the same manifest routes, so the app and curl talk to one base URL:

* a request whose path matches a route template (`/v1/things/{id}` matches one segment per
  `{...}`) goes to the function serving it. A route with the same method wins; when only the
  path matches, the request still goes to that function, which answers 405 with `Allow`
  itself, as it would behind the load balancer;
* method, path, query string, headers and body pass through unchanged (hop-by-hop headers
  dropped, `X-Forwarded-For`/`X-Forwarded-Proto` added); the answer streams back with its
  status and headers, compressed bodies left as they are;
* any other path gets 404 problem+json, and an unreachable function 502 problem+json; so
  does everything aiohttp itself would answer in text/plain (a request line it cannot parse,
  an unknown method, a path it cannot route): every answer is problem+json;
* a request whose headers together exceed MAX_HEADER_BYTES (or one of them MAX_FIELD_BYTES)
  gets 431 problem+json (as a load balancer refuses oversized headers) and goes nowhere.

Upstream connections (this is where 502s under load came from): each function gets up to
`UPSTREAM_CONNECTIONS_PER_FUNCTION` keep-alive connections of its own (no pool shared by all
functions, where one slow function made every other wait), and only the TCP connect has a
short timeout: a request waiting for a free connection waits within the request's own
timeout (`UPSTREAM_TIMEOUT_SECONDS`) instead of failing as a "connection timeout" after 5 s,
which on a busy machine answered 1-2 % of member GETs with 502. An idle connection is
dropped after `UPSTREAM_KEEPALIVE_SECONDS`, before the functions' gunicorn drops it (2 s);
should the function close one just as it is reused, aiohttp sends a GET or HEAD once more on
a fresh connection (a POST gets 502: it may have had an effect).

Pub/Sub-kind functions and `/jobs/...` or job-only routes are never routed: they are not
public in production either (scheduled jobs are called by Cloud Scheduler with a Google
OIDC token; use `python -m infra.local.fire`).

Pub/Sub push relay (local only): the emulator's push subscriptions target
`/_push/{function}`, which forwards the push to that function and answers with its status.
The emulator signs nothing, so the relay does what Pub/Sub does in production: it adds
`Authorization: Bearer <OIDC token>` signed by the local Google-style issuer (the lederne
stand-in's `/google` key, `--push-key-file`, issuer `--push-issuer`), with the audience and
the push service account e-mail the function expects (`--push-targets-file`, a JSON object
function name → {"url", "audience", "email"}). The function verifies it as it verifies
Google's in production. With duplicates switched
on (`POST /_control/push-duplicates {"enabled": true}`), every push is delivered to the
function twice at the same moment, the harshest form of Pub/Sub's at-least-once delivery, so
tests can prove that handlers change nothing the second time. `GET /_control/push-duplicates`
reports the switch and how many pushes were relayed.

    python -m infra.local.gateway --port 8080 --routes-file .local/gateway-routes.json

The routes file is a JSON list of `{"method", "path", "target"}` objects (target = the
function's base URL, e.g. `http://127.0.0.1:8081`); `build_routes()` makes it from the
manifest. Nothing about requests is logged (no access log): one line on start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROBLEM_BASE = "https://api.lederne.no/problems/"
#: Headers that describe one connection, not the message (RFC 9110 7.6.1), plus Host.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
UPSTREAM_TIMEOUT_SECONDS = 60
UPSTREAM_CONNECT_SECONDS = 5
UPSTREAM_CONNECTIONS_PER_FUNCTION = 100
#: Below gunicorn's keep-alive (2 s), so the gateway, not the function, closes idle ones.
UPSTREAM_KEEPALIVE_SECONDS = 1.0
#: Largest request head (request line and all headers) forwarded; more gets 431. aiohttp's
#: own parser limits are set above this so the answer is ours (problem+json), not its page.
MAX_HEADER_BYTES = 16 * 1024
#: Largest single header line: what the functions' server (gunicorn) accepts, so an oversized
#: header is refused here as problem+json rather than by its plain-text page.
MAX_FIELD_BYTES = 8190
PARSER_LIMIT_BYTES = 1024 * 1024
#: Lifetime of a push token the relay signs (Google's are valid for an hour).
PUSH_TOKEN_TTL_SECONDS = 3600


@dataclass(frozen=True)
class GatewayRoute:
    method: str
    path: str
    target: str

    @property
    def pattern(self) -> re.Pattern:
        parts = re.split(r"(\{[^/{}]+\})", self.path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p)
        return re.compile(f"^{regex}\\Z")


def build_routes(functions: Iterable, targets: Mapping[str, str]) -> list[GatewayRoute]:
    """The public routes of manifest `functions`, pointed at `targets[function name]`."""
    routes = []
    for fn in functions:
        if fn.kind == "pubsub" or fn.name not in targets:
            continue
        for r in fn.routes:
            if r.path.startswith("/jobs/") or r.auth == "job":
                continue
            routes.append(GatewayRoute(r.method, r.path, targets[fn.name].rstrip("/")))
    return routes


def routes_to_json(routes: Iterable[GatewayRoute]) -> str:
    return json.dumps([r.__dict__ for r in routes], indent=2)


def routes_from_json(text: str) -> list[GatewayRoute]:
    return [
        GatewayRoute(str(r["method"]).upper(), r["path"], r["target"].rstrip("/"))
        for r in json.loads(text)
    ]


class Router:
    """Finds the target for (method, path); same-method routes first, then path-only."""

    def __init__(self, routes: Iterable[GatewayRoute]):
        self._compiled = [(r, r.pattern) for r in routes]

    def target(self, method: str, path: str) -> str | None:
        path_only = None
        for route, pattern in self._compiled:
            if pattern.match(path):
                if route.method == method or (method == "HEAD" and route.method == "GET"):
                    return route.target
                path_only = path_only or route.target
        return path_only


_SLUGS = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Request body too large"),
    414: ("uri-too-long", "URI too long"),
    431: ("request-header-fields-too-large", "Request header fields too large"),
    500: ("internal-error", "Something went wrong on our side"),
    504: ("gateway-timeout", "The function did not answer in time"),
}


def _problem(status: int, slug: str, title: str):
    from aiohttp import web

    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/problem+json",
        headers={"Cache-Control": "no-store"},
    )


def _problem_for(status: int):
    slug, title = _SLUGS.get(
        status,
        (
            "bad-request" if status < 500 else "internal-error",
            "Bad request" if status < 500 else "Server error",
        ),
    )
    return _problem(status, slug, title)


def install_problem_errors() -> None:
    """Makes aiohttp answer what it rejects before any handler runs (a request line or header
    it cannot parse, an unknown method) with problem+json instead of text/plain or HTML, as
    the production load balancer answers with its own error and never with a function's
    stack trace. Idempotent; only the gateway process calls it."""
    from aiohttp import web_protocol

    original = web_protocol.RequestHandler.handle_error
    if getattr(original, "problem_json", False):
        return

    def handle_error(self, request, status=500, exc=None, message=None):
        plain = original(self, request, status, exc, message)
        resp = _problem_for(plain.status)
        resp.force_close()
        return resp

    handle_error.problem_json = True  # type: ignore[attr-defined]
    web_protocol.RequestHandler.handle_error = handle_error  # type: ignore[method-assign]


def head_too_large(request) -> bool:
    """True when the request line and headers (close to their wire size) exceed
    MAX_HEADER_BYTES, or one header line exceeds MAX_FIELD_BYTES."""
    size = len(request.method) + len(request.raw_path) + 12
    for k, v in request.raw_headers:
        line = len(k) + len(v) + 2
        if line > MAX_FIELD_BYTES:
            return True
        size += line + 2
    return size > MAX_HEADER_BYTES


class PushSigner:
    """Signs push tokens as the local Google-style issuer: the claims Pub/Sub puts in a push
    subscription's OIDC token (iss, aud, email, email_verified, sub, azp, iat, exp)."""

    def __init__(self, key_file: str, issuer: str):
        self.key_file = key_file
        self.issuer = issuer
        self._key = None

    def token(self, audience: str, email: str) -> str:
        import time

        from .lederne_standin import SigningKey, google_sub, load_or_create_rsa_key

        if self._key is None:  # created by the lederne stand-in when it starts
            import os

            if not os.path.exists(self.key_file):
                raise FileNotFoundError(self.key_file)
            self._key = SigningKey(load_or_create_rsa_key(self.key_file))
        now = int(time.time())
        sub = google_sub(email)
        return self._key.sign(
            {
                "iss": self.issuer,
                "aud": audience,
                "azp": sub,
                "email": email,
                "email_verified": True,
                "sub": sub,
                "iat": now,
                "exp": now + PUSH_TOKEN_TTL_SECONDS,
            }
        )


def build_app(
    routes: Iterable[GatewayRoute],
    push_targets: Mapping[str, dict] | None = None,
    push_signer: PushSigner | None = None,
):
    """The aiohttp application; one shared keep-alive ClientSession for all upstream calls."""
    import aiohttp
    from aiohttp import web
    from yarl import URL

    router = Router(routes)

    @web.middleware
    async def problems_only(request: web.Request, handler):
        """aiohttp's own answers (no route, wrong method) as problem+json too."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _problem_for(exc.status)

    push_targets = {k: {**v, "url": v["url"].rstrip("/")} for k, v in (push_targets or {}).items()}
    push_state = {"duplicates": False, "relayed": 0, "copies": 0}
    session_key = web.AppKey("session", aiohttp.ClientSession)

    @web.middleware
    async def header_limit(request, handler):
        if head_too_large(request):
            return _problem(
                431, "request-header-fields-too-large", "Request header fields too large"
            )
        return await handler(request)

    app = web.Application(  # no body limit here: the functions enforce theirs
        client_max_size=0,
        middlewares=[problems_only, header_limit],
        handler_args={"max_line_size": PARSER_LIMIT_BYTES, "max_field_size": PARSER_LIMIT_BYTES},
    )

    async def on_startup(app):
        app[session_key] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=0,
                limit_per_host=UPSTREAM_CONNECTIONS_PER_FUNCTION,
                keepalive_timeout=UPSTREAM_KEEPALIVE_SECONDS,
            ),
            # sock_connect, not connect: `connect` would also count the wait for a pooled
            # connection, and time out requests that are merely queued behind others
            timeout=aiohttp.ClientTimeout(
                total=UPSTREAM_TIMEOUT_SECONDS, sock_connect=UPSTREAM_CONNECT_SECONDS
            ),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def on_cleanup(app):
        await app[session_key].close()

    async def proxy(request: web.Request) -> web.StreamResponse:
        target = router.target(request.method, request.path)
        if target is None:
            return _problem(404, "not-found", "Not found")
        skip = HOP_BY_HOP | {"x-forwarded-for", "x-forwarded-proto"}
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in skip]
        forwarded_for = request.headers.get("X-Forwarded-For")
        peer = request.remote or "127.0.0.1"
        headers.append(("X-Forwarded-For", f"{forwarded_for}, {peer}" if forwarded_for else peer))
        headers.append(("X-Forwarded-Proto", request.scheme))
        body = request.content if request.body_exists else None
        # encoded=True: path and query go on byte for byte as the client sent them.
        url = URL(target + request.rel_url.raw_path_qs, encoded=True)
        response = None
        try:
            # aiohttp itself sends a GET/HEAD once more when a kept-alive connection turns
            # out closed as it is reused (test_gateway_upstream.py holds it to that)
            async with app[session_key].request(
                request.method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            ) as upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for k, v in upstream.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        response.headers.add(k, v)
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
                return response
        except (TimeoutError, aiohttp.ClientConnectionError):
            if response is not None and response.prepared:
                raise  # the answer is half sent: only dropping the connection tells the client
            return _problem(502, "bad-gateway", "The function did not answer")

    async def _push_once(target: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            async with app[session_key].post(target + "/", data=body, headers=headers) as r:
                await r.read()
                return r.status
        except (TimeoutError, aiohttp.ClientConnectionError):
            return 502

    async def push(request: web.Request) -> web.Response:
        spec = push_targets.get(request.match_info["function"])
        if spec is None:
            return _problem(404, "not-found", "Not found")
        target = spec["url"]
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
        if push_signer is not None:
            try:
                token = push_signer.token(spec["audience"], spec["email"])
            except OSError:
                return _problem(503, "dependency-unavailable", "No push signing key yet")
            headers["Authorization"] = f"Bearer {token}"
        push_state["relayed"] += 1
        if not push_state["duplicates"]:
            return web.Response(status=await _push_once(target, body, headers))
        push_state["copies"] += 1
        first, _ = await asyncio.gather(
            _push_once(target, body, headers), _push_once(target, body, headers)
        )
        return web.Response(status=first)

    async def control_duplicates(request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:  # not JSON (or not UTF-8): the caller's mistake, not ours
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
                return _problem(400, "bad-request", 'Expected {"enabled": true|false}')
            push_state["duplicates"] = body["enabled"]
        return web.json_response(push_state)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/_push/{function}", push)
    app.router.add_route("*", "/_control/push-duplicates", control_duplicates)
    # [\s\S]: a path with a (percent-encoded) newline is still the functions' to answer
    app.router.add_route("*", "/{tail:[\\s\\S]*}", proxy)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--routes-file", help="JSON list of {method, path, target}")
    source.add_argument("--routes-json", help="the same list, inline")
    parser.add_argument(
        "--push-targets-file", help="JSON object: pubsub function name -> {url, audience, email}"
    )
    parser.add_argument("--push-key-file", help="RSA key (PEM) that signs push tokens")
    parser.add_argument("--push-issuer", help="the 'iss' of push tokens")
    args = parser.parse_args(argv)
    signer = (
        PushSigner(args.push_key_file, args.push_issuer)
        if args.push_key_file and args.push_issuer
        else None
    )
    push_targets = None
    if args.push_targets_file:
        with open(args.push_targets_file, encoding="utf-8") as fh:
            push_targets = json.load(fh)
    if args.routes_file:
        with open(args.routes_file, encoding="utf-8") as fh:
            routes = routes_from_json(fh.read())
    else:
        routes = routes_from_json(args.routes_json)
    from . import aioserve  # imports aiohttp: only when serving

    install_problem_errors()

    return aioserve.run(
        "gateway",
        args.host,
        args.port,
        lambda host, port: build_app(routes, push_targets, signer),
        note=f" ({len(routes)} routes)",
        shutdown_timeout=60.0,
    )


if __name__ == "__main__":
    raise SystemExit(main())
