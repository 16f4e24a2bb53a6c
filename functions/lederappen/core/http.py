"""The HTTP edge every HTTP function shares: route, authenticate, validate, call, render.

A feature module declares its endpoints on an `Api`, each with what the OpenAPI document
states of it (operationId, summary, answers, errors, query, headers: infra/scripts/openapi.py
generates the document from these declarations); `build()` checks them against the
function's manifest entry (same routes, no more, no fewer) and returns the WSGI-level handler
functions-framework calls with a Flask request. Per request it:

1. matches method and path (404 / 405 with `Allow`); a path parameter that no resource can
   have (control characters, `/`, Firestore's reserved `__...__` or dots-and-underscores
   ids, or not of the route's declared `params` type) is 404, a NUL in the query 422,
2. enforces the body size limit (413) and JSON content type (415); an endpoint declared with
   `body=bytes` gets the raw body instead (its handler checks the media type),
3. verifies the bearer token for the route's auth mode (401 / 403),
4. decodes and validates the body into the endpoint's type (422 naming the field),
5. calls the handler, which calls a plain-Python service,
6. renders JSON (a `Reply` with `bytes` as is), checked against the route's declared
   response type (a mismatch is a server bug: 500, logged without values), or problem+json
   in Norwegian or English by Accept-Language,
7. writes one structured log line (route template, status, latency, member pseudonym).
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import msgspec.inspect

from . import auth, config, i18n, log, problems
from .manifest import Function
from .validation import decode, field_error

if TYPE_CHECKING:  # pragma: no cover
    import flask

_log = logging.getLogger("lederappen.http")
_encoder = msgspec.json.Encoder()


@dataclass
class Request:
    """What a handler sees: the caller, validated input, and the negotiated locale."""

    principal: auth.Principal | None
    params: dict[str, Any]
    query: Any
    headers: Any
    body: Any
    locale: str
    settings: config.Settings

    @property
    def member_id(self) -> str:
        assert self.principal is not None
        return self.principal.member_id

    @property
    def caller(self) -> auth.Principal:
        """The authenticated caller: always there on a route whose auth is not `public`."""
        if self.principal is None:
            raise problems.Unauthenticated()
        return self.principal


@dataclass
class Reply:
    """A handler's answer when it needs a status, ETag or headers beyond a plain 200.

    A `bytes` body is sent as it is, with `content_type` (for example an image); anything
    else is encoded as JSON."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


@dataclass(frozen=True)
class Header:
    """A request or response header as the OpenAPI document states it. `component` names a
    shared definition (components.parameters or components.headers) used instead."""

    name: str
    description: str | None = None
    #: msgspec type of the value (constraints and examples via msgspec.Meta)
    type: Any = str
    required: bool = False
    component: str | None = None


#: Request headers shared by many routes (components.parameters).
ACCEPT_LANGUAGE = Header(
    "Accept-Language",
    "nb (default) or en.",
    Annotated[str, msgspec.Meta(examples=["nb", "en;q=0.9"])],
    component="AcceptLanguage",
)
IF_MATCH = Header(
    "If-Match",
    "The ETag you read. Without it 428; when the data changed since, 412.",
    required=True,
    component="IfMatch",
)
IDEMPOTENCY_KEY = Header(
    "Idempotency-Key",
    "A fresh key per create (8-255 visible ASCII characters, e.g. a UUID), the same key "
    "when retrying: the retry gets the first answer and changes nothing.",
    Annotated[str, msgspec.Meta(min_length=8, max_length=255)],
    component="IdempotencyKey",
)
NO_CACHE = Header(
    "Cache-Control",
    "`no-cache` (pull-to-refresh) asks lederne.no again instead of using the copy this "
    "instance fetched within the last 5 minutes (copies younger than 1 second are reused).",
    Annotated[str, msgspec.Meta(examples=["no-cache"])],
)
#: Response headers.
RETRY_AFTER = Header(
    "Retry-After",
    "Seconds to wait before retrying.",
    Annotated[str, msgspec.Meta(pattern="^[0-9]+$")],
    component="RetryAfter",
)
ETAG = Header("ETag", "Version of the resource; send it as If-Match when changing it.")


@dataclass(frozen=True)
class Out:
    """One documented answer that is not a problem: its body's type (a msgspec type; None
    for no body, `bytes` for a binary one in `media`), what it means, and its headers."""

    type: Any
    description: str
    headers: tuple[Header, ...] = ()
    media: tuple[str, ...] = ("application/json",)


@dataclass(frozen=True)
class Endpoint:
    """One route: what the edge needs to serve it, and what the OpenAPI document states of it
    (infra/scripts/openapi.py; the operation's description is the handler's docstring)."""

    method: str
    path: str
    handler: Callable[[Request], Any]
    body: type | None
    max_body_bytes: int | None
    #: msgspec types of path parameters that are not plain ids, e.g. {"version": PositiveInt32}
    params: dict[str, Any] = field(default_factory=dict)
    operation_id: str | None = None
    summary: str | None = None
    #: documented answers by status (the route's main one and any other, e.g. 200 and 201)
    responses: dict[int, Out] = field(default_factory=dict)
    #: problem answers beyond those the route's shape gives (401/403 with a token, 404 with a
    #: path parameter, 413/415/422 with a JSON body): status -> (description or None for the
    #: shared one, a ProblemDocument subtype with its extra members or None)
    errors: dict[int, tuple[str | None, type | None]] = field(default_factory=dict)
    #: a msgspec Struct whose fields are the query parameters (documentation; the handler
    #: reads `request.query` itself, with its own 422s)
    query: type | None = None
    headers: tuple[Header, ...] = ()
    #: the body's media types, and the type documented for it when `body` is not a Struct
    body_media: tuple[str, ...] = ("application/json",)
    body_schema: Any = None
    #: documented types of path parameters the handler checks itself (not converted here)
    path_params: dict[str, Any] = field(default_factory=dict)
    #: JSON decoders of the declared response types by status, to check answers against
    checkers: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)


class Api:
    """The endpoints of one HTTP function."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        body: type | None = None,
        max_body_bytes: int | None = None,
        params: dict[str, Any] | None = None,
        operation_id: str | None = None,
        summary: str | None = None,
        response: Any = None,
        returns: str = "OK",
        status: int | None = None,
        response_headers: tuple[Header, ...] = (),
        responses: Mapping[int, Out] | None = None,
        errors: Any = (),
        query: type | None = None,
        headers: tuple[Header, ...] = (),
        accept_language: bool = True,
        body_media: tuple[str, ...] = ("application/json",),
        body_schema: Any = None,
        path_params: dict[str, Any] | None = None,
    ):
        """Declares a route. `response` is the main answer's body type (None: no body, then
        status 204 unless `status` says otherwise) or an `Out`; `returns` describes it;
        `responses` adds other answers (e.g. 201 beside 200); `errors` lists the problem
        statuses beyond the shape-given ones, as statuses or {status: description or
        (description, ProblemDocument subtype)}."""
        main = response if isinstance(response, Out) else None
        if main is None:
            main = Out(response, returns, tuple(response_headers))
        code = status or (204 if main.type is None else 200)
        all_responses = {code: main, **dict(responses or {})}
        if isinstance(errors, Mapping):
            problems_ = {
                int(k): (v if isinstance(v, tuple) else (v, None)) for k, v in errors.items()
            }
        else:
            problems_ = {int(k): (None, None) for k in errors}
        all_headers = ((ACCEPT_LANGUAGE,) if accept_language else ()) + tuple(headers)
        checkers = {
            k: msgspec.json.Decoder(o.type)
            for k, o in all_responses.items()
            if _checkable(o.type) and o.media == ("application/json",)
        }

        def register(handler):
            self.endpoints.append(
                Endpoint(
                    method,
                    path,
                    handler,
                    body,
                    max_body_bytes,
                    dict(params or {}),
                    operation_id,
                    summary,
                    all_responses,
                    problems_,
                    query,
                    all_headers,
                    tuple(body_media),
                    body_schema,
                    dict(path_params or {}),
                    checkers,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw):
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw):
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw):
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw):
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw):
        return self.route("DELETE", path, **kw)


def _checkable(type_: Any) -> bool:
    """Whether an answer of this type is worth checking: not for no body, bytes, or a free-form
    JSON object (the OpenAPI document itself, whose decoding would cost milliseconds)."""
    if type_ in (None, bytes):
        return False
    info = msgspec.inspect.type_info(type_)
    if isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    free = isinstance(info, msgspec.inspect.DictType) and isinstance(
        info.value_type, msgspec.inspect.AnyType
    )
    return not (free or isinstance(info, msgspec.inspect.AnyType))


#: Firestore refuses document ids matching __.*__ and ids of only dots (and ours never consist
#: of only underscores either); no id of ours has a `/` or control characters.
_RESERVED_ID = re.compile(r"^(__.*__|[._]+)$", re.DOTALL)
_MAX_ID_BYTES = 1500  # Firestore's limit for a document id


def _odd_id(value: str) -> bool:
    return (
        not value
        or "/" in value
        or len(value.encode("utf-8", "replace")) > _MAX_ID_BYTES
        or _RESERVED_ID.match(value) is not None
        or any(unicodedata.category(c)[0] == "C" for c in value)
    )


def _path_params(endpoint: Endpoint, params: Mapping[str, Any]) -> dict[str, Any]:
    """The path parameters, typed where the route declares a type; 404 for a value no
    resource can have (it names nothing, so it is simply not found)."""
    import msgspec

    out: dict[str, Any] = {}
    for name, value in params.items():
        if _odd_id(value):
            raise problems.NotFound()
        type_ = endpoint.params.get(name)
        if type_ is None:
            out[name] = value
            continue
        try:
            out[name] = msgspec.convert(value, type_, strict=False)
        except msgspec.ValidationError:
            raise problems.NotFound() from None
    return out


def _check_query(query) -> None:
    """A query parameter with a NUL is a 422 naming it (no column can hold it)."""
    for name, value in query.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise field_error(
                name.replace("\x00", ""),
                "invalid",
                "Kan ikke inneholde NUL-tegn.",
                "Cannot contain NUL characters.",
            )


def _werkzeug_rule(path: str) -> str:
    return path.replace("{", "<").replace("}", ">")


def _respond(body: bytes, status: int, content_type: str, headers: dict[str, str]):
    import flask

    resp = flask.Response(body, status=status, content_type=content_type)
    for k, v in headers.items():
        resp.headers[k] = v
    return resp


def problem_response(problem: problems.Problem, locale: str, instance: str | None = None):
    headers = {"Content-Language": locale, "Cache-Control": "no-store", **problem.headers}
    return _respond(
        _encoder.encode(problem.body(locale, instance)),
        problem.status,
        problems.CONTENT_TYPE,
        headers,
    )


class HttpFunction:
    """The callable functions-framework invokes for one HTTP function."""

    def __init__(self, api: Api, fn: Function, settings: config.Settings):
        from werkzeug.routing import Map, Rule

        self.fn = fn
        self.settings = settings
        manifest_routes = {(r.method, r.path): r for r in fn.routes}
        declared = {(e.method, e.path): e for e in api.endpoints}
        if set(manifest_routes) != set(declared):
            missing = sorted(set(manifest_routes) - set(declared))
            extra = sorted(set(declared) - set(manifest_routes))
            raise RuntimeError(
                f"function {fn.name!r}: routes differ from manifest.json "
                f"(no handler for {missing}, not in manifest {extra})"
            )
        self._endpoints = {key: (declared[key], manifest_routes[key]) for key in manifest_routes}
        self._map = Map(
            [Rule(_werkzeug_rule(p), endpoint=p, methods=[m]) for (m, p) in manifest_routes],
            strict_slashes=False,
        )

    def __call__(self, request: flask.Request):
        from werkzeug.exceptions import MethodNotAllowed, NotFound

        started = time.perf_counter()
        locale = i18n.negotiate(request.headers.get("Accept-Language"))
        log.set_request_context(
            log.trace_from_headers(request.headers, self.settings.google_cloud_project),
            function=self.fn.name,
        )
        template = "unmatched"
        status = 500
        try:
            adapter = self._map.bind("", url_scheme="https")
            try:
                path_template, params = adapter.match(request.path, method=request.method)
            except MethodNotAllowed as exc:
                raise problems.MethodNotAllowed(
                    headers={"Allow": ", ".join(exc.valid_methods or [])}
                )
            except NotFound:
                raise problems.NotFound()
            template = path_template
            endpoint, route = self._endpoints[(request.method, path_template)]
            principal = self._authenticate(route.auth, request)
            params = _path_params(endpoint, params)
            _check_query(request.args)
            if principal is not None and principal.kind == "member":
                log.bind(member=log.pseudonym(principal.subject))
            body = self._body(endpoint, request)
            result = endpoint.handler(
                Request(
                    principal, params, request.args, request.headers, body, locale, self.settings
                )
            )
            response = self._render(result, locale, principal is not None, endpoint)
            status = response.status_code
            return response
        except problems.Problem as problem:
            status = problem.status
            return problem_response(problem, locale)
        except Exception as exc:  # never leak a stack trace or a data value to the caller  # noqa: BLE001
            status = 500
            _log.error("unhandled error", exc_info=exc)
            return problem_response(problems.InternalError(), locale)
        finally:
            level = logging.ERROR if status >= 500 else logging.INFO
            log.event(
                _log,
                "request",
                level,
                httpRequest={
                    "requestMethod": request.method,
                    "requestUrl": template,
                    "status": status,
                    "latency": f"{time.perf_counter() - started:.6f}s",
                },
            )

    def _authenticate(self, mode: str, request) -> auth.Principal | None:
        if mode == "public":
            return None
        token = auth.bearer_token(request.headers.get("Authorization"))
        if mode == "job":
            claims = auth.verifier("job", self.settings).verify(token)
            return auth.principal_for(mode, claims, self.settings.job_invoker_emails)
        claims = auth.verifier("app", self.settings).verify(token)
        principal = auth.principal_for(mode, claims)
        if principal.kind == "member" and request.method not in _READS and "db" in self.fn.uses:
            _refuse_if_erased_since(principal.subject, claims["iat"])
        return principal

    def _body(self, endpoint: Endpoint, request) -> Any:
        if endpoint.body is None:
            return None
        limit = endpoint.max_body_bytes or self.settings.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            raise problems.PayloadTooLarge()
        mimetype = request.mimetype or ""
        if endpoint.body is bytes:
            raw = request.stream.read(limit + 1)
        else:
            if mimetype != "application/json" and not mimetype.endswith("+json"):
                raise problems.UnsupportedMediaType(
                    {
                        "nb": "Send innholdet som application/json.",
                        "en": "Send the body as application/json.",
                    }
                )
            raw = request.stream.read(limit + 1)
        if len(raw) > limit:
            raise problems.PayloadTooLarge()
        if endpoint.body is bytes:
            return raw
        return decode(raw, endpoint.body)

    @staticmethod
    def _render(result: Any, locale: str, personal: bool, endpoint: Endpoint | None = None):
        reply = result if isinstance(result, Reply) else Reply(result)
        headers = {
            "Content-Language": locale,
            "Vary": "Accept-Language, Authorization",
            "X-Content-Type-Options": "nosniff",
        }
        if personal:
            headers["Cache-Control"] = "no-store"
        headers.update(reply.headers)
        if reply.body is None:
            return _respond(b"", reply.status, "application/json", headers)
        if isinstance(reply.body, (bytes, bytearray)):
            return _respond(
                bytes(reply.body),
                reply.status,
                reply.content_type or "application/octet-stream",
                headers,
            )
        encoded = _encoder.encode(reply.body)
        if endpoint is not None:
            _check_response(endpoint, reply.status, encoded)
        return _respond(encoded, reply.status, "application/json", headers)


_ERROR_AT = re.compile(r"- at `([^`]*)`")


def _check_response(endpoint: Endpoint, status: int, encoded: bytes) -> None:
    """The JSON answer must be what the route declares (`Api.route(response=...)`, the type the
    OpenAPI document states): a mismatch is a server bug, answered 500 so the tests catch the
    drift. The log names the operation and where in the body, never a value. Decoding the
    encoded bytes with a prepared msgspec decoder costs microseconds, so it always runs."""
    checker = endpoint.checkers.get(status)
    if checker is None:
        return
    try:
        checker.decode(encoded)
    except msgspec.ValidationError as exc:
        where = _ERROR_AT.search(str(exc))
        log.event(
            _log,
            "response does not match its declared type",
            logging.ERROR,
            operation=endpoint.operation_id or f"{endpoint.method} {endpoint.path}",
            status=status,
            at=where.group(1) if where else "$",
        )
        raise problems.InternalError() from None


def etag(version: int | str) -> str:
    return f'"{version}"'


def require_if_match(request: Request, current_version: int | str) -> None:
    """Updates need If-Match with the version the client read: 428 without it, 412 when stale,
    so two devices cannot silently overwrite each other."""
    sent = request.headers.get("If-Match")
    if not sent:
        raise problems.PreconditionRequired(
            {
                "nb": "Send If-Match med ETag-en du leste.",
                "en": "Send If-Match with the ETag you read.",
            }
        )
    wanted = etag(current_version)
    if sent.strip() != "*" and wanted not in [v.strip() for v in sent.split(",")]:
        raise problems.PreconditionFailed(
            {
                "nb": "Dataene er endret siden du leste dem. Hent dem på nytt.",
                "en": "The data changed since you read it. Fetch it again.",
            },
            headers={"ETag": wanted},
        )


def build(api: Api, fn: Function, settings: config.Settings) -> HttpFunction:
    return HttpFunction(api, fn, settings)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_ERASED = {
    "nb": "Opplysningene dine er slettet etter ønske, og denne innloggingen gjelder ikke lenger. "
    "Logg inn på nytt.",
    "en": "Your data was erased as you asked, and this sign-in is no longer valid. "
    "Please sign in again.",
}


def _refuse_if_erased_since(member_id: str, issued_at: float) -> None:
    """A member's sign-in made before their erasure writes nothing: an app still open when
    the erasure ran (a device registering again, a preference saved) would otherwise start
    the member's data anew with a token lederne.no issued before it (valid up to an hour).
    Reads pass: after the erasure there is nothing of theirs here to read. `erasures` takes
    the erasure lock's shared side first, so a request arriving while the member's erasure
    runs waits for it and is then refused."""
    from . import db, tombstones

    erased = db.read(lambda cur: tombstones.erasures(cur, [member_id]).get(member_id))
    if erased is not None and issued_at <= erased.timestamp():
        raise problems.Unauthenticated(_ERASED)
