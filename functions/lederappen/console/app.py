"""The staff console's HTTP edge: route, sign the user in, check role and CSRF, render a page.

The routes and who may open each are the manifest's (`/staff/...`, auth `public`, `staff` or
`staff:<role>`, the same role names as the `/v1/admin/...` routes the pages mirror); `build()`
refuses to start when the pages here and the manifest differ, as core.http does for the API.
Per request it:

1. picks the language: `?lang=` (the switch in the header, remembered in a cookie), else
   the cookie, else Accept-Language;
2. reads the signed session cookie; a page for staff without one redirects to sign-in; a
   session without the page's role gets a 403 page; a bearer token counts for nothing here;
3. refuses any POST whose CSRF token is not the session's (403 page, nothing done);
4. calls the page, which calls the same code as the API route (pages.py);
5. renders HTML with a strict Content-Security-Policy (no inline script, no framing),
   never a problem document: a core.problems.Problem becomes an error page or an error
   box in the user's language, with the status the API would have answered.
"""

from __future__ import annotations

import logging
import mimetypes
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import auth, config, i18n, log, problems
from ..core.manifest import Function
from . import session as session_mod
from . import store as revocation
from . import texts

if TYPE_CHECKING:  # pragma: no cover
    import flask
    import jinja2

_log = logging.getLogger("lederappen.console")
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
LANG_COOKIE = "staff_lang"
HOME = "/staff/home"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_BASE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass
class Page:
    """A page (or an htmx fragment) to render."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    title: str | None = None


@dataclass
class Redirect:
    location: str
    status: int = 303


@dataclass
class Raw:
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """What a page sees."""

    request: Any
    principal: auth.Principal | None
    session: session_mod.Session | None
    params: dict[str, str]
    locale: str
    settings: config.Settings
    console: Console

    @property
    def form(self):
        return self.request.form

    @property
    def args(self):
        return self.request.args

    def t(self, key: str, **kw) -> str:
        return texts.t(key, self.locale, **kw)


Handler = Callable[[Ctx], Any]
PAGES: dict[tuple[str, str], Handler] = {}


def page(method: str, path: str):
    def register(handler: Handler) -> Handler:
        PAGES[(method, path)] = handler
        return handler

    return register


def _werkzeug_rule(path: str) -> str:
    return path.replace("{", "<").replace("}", ">")


class Console:
    """The callable functions-framework invokes for the staff-console function."""

    def __init__(
        self,
        fn: Function,
        settings: config.Settings,
        clock: Callable[[], float] = time.time,
        revoked: revocation.Revocations | None = None,
    ):
        from werkzeug.routing import Map, Rule

        from . import oidc, pages  # noqa: F401  (registers the pages)

        self.fn = fn
        self.settings = settings
        manifest_routes = {(r.method, r.path): r for r in fn.routes}
        if set(manifest_routes) != set(PAGES):
            missing = sorted(set(manifest_routes) - set(PAGES))
            extra = sorted(set(PAGES) - set(manifest_routes))
            raise RuntimeError(
                f"function {fn.name!r}: pages differ from manifest.json "
                f"(no page for {missing}, not in manifest {extra})"
            )
        self.routes = manifest_routes
        self._map = Map(
            [Rule(_werkzeug_rule(p), endpoint=p, methods=[m]) for (m, p) in manifest_routes],
            strict_slashes=False,
        )
        #: Sessions ended by signing out (the database; the unit tests' is in memory).
        self.revoked: revocation.Revocations = revoked or revocation.Store()
        self.sessions = session_mod.Sessions(
            settings.console_session_key,
            settings.console_session_idle_minutes * 60,
            settings.console_session_max_hours * 3600,
            clock,
        )
        self.provider = oidc.Provider(
            settings.console_oidc_issuer,
            settings.console_oidc_client_id,
            settings.console_base_url + oidc.CALLBACK_PATH,
        )
        self._env: jinja2.Environment | None = None

    # -- rendering ------------------------------------------------------------------------------

    def env(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2

            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                autoescape=True,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            from . import charts

            env.filters["when"] = texts.when
            env.filters["number"] = texts.number
            env.globals["bar_chart"] = charts.bar_chart
            env.globals["time_chart"] = charts.time_chart
            self._env = env
        return self._env

    def allowed(self, principal: auth.Principal | None, path: str, method: str = "GET") -> bool:
        route = self.routes.get((method, path))
        if route is None or principal is None:
            return False
        if route.auth == "public":
            return True
        if route.auth == "staff":
            return "staff" in principal.roles
        return "staff" in principal.roles and (route.staff_role or "") in principal.roles

    def render(self, ctx: Ctx, result: Page) -> tuple[bytes, int]:
        nav = [
            (path, texts.t(key, ctx.locale))
            for path, key in texts.NAV
            if self.allowed(ctx.principal, path)
        ]
        here = ctx.request.path if ctx.request.method == "GET" else HOME
        done = ctx.request.args.get("done")
        context = {
            "lang": ctx.locale,
            "t": lambda key, **kw: texts.t(key, ctx.locale, **kw),
            "csrf": ctx.session.csrf if ctx.session else "",
            "user": ctx.principal.subject if ctx.principal else None,
            "roles": sorted(
                r for r in (ctx.principal.roles if ctx.principal else ()) if r != "staff"
            ),
            "nav": nav,
            "here": here,
            "switch_lang": "en" if ctx.locale == "nb" else "nb",
            "switch_url": here
            + "?"
            + urllib.parse.urlencode(
                {
                    **{k: v for k, v in ctx.request.args.items() if k != "lang"},
                    "lang": "en" if ctx.locale == "nb" else "nb",
                }
            ),
            "title": result.title,
            "notice": texts.t("done." + done, ctx.locale)
            if done and "done." + done in texts.T
            else None,
            **result.context,
        }
        html = self.env().get_template(result.template).render(**context)
        return html.encode("utf-8"), result.status

    # -- the request ----------------------------------------------------------------------------

    def _locale(self, request) -> tuple[str, str | None]:
        chosen = request.args.get("lang")
        if chosen in i18n.SUPPORTED:
            return chosen, chosen
        cookie = request.cookies.get(LANG_COOKIE)
        if cookie in i18n.SUPPORTED:
            return cookie, None
        return i18n.negotiate(request.headers.get("Accept-Language")), None

    def __call__(self, request: flask.Request):
        from werkzeug.exceptions import MethodNotAllowed, NotFound

        started = time.perf_counter()
        locale, remember_lang = self._locale(request)
        log.set_request_context(
            log.trace_from_headers(request.headers, self.settings.google_cloud_project),
            function=self.fn.name,
        )
        template, status = "unmatched", 500
        sess = self.sessions.load(request.cookies.get(session_mod.COOKIE))
        principal = auth.Principal(sess.subject, "staff", sess.roles) if sess else None
        ctx = Ctx(request, principal, sess, {}, locale, self.settings, self)
        extra_cookies: list[tuple[str, str, dict]] = []
        try:
            if (
                sess is not None
                and not request.path.startswith("/staff/static/")
                and self.revoked.is_revoked(sess.sid)
            ):
                # signed out: a copy of the cookie is no session (checked on every request)
                sess = ctx.session = None
                principal = ctx.principal = None
            adapter = self._map.bind("", url_scheme="https")
            try:
                template, params = adapter.match(request.path, method=request.method)
            except MethodNotAllowed:
                raise problems.MethodNotAllowed()
            except NotFound:
                raise problems.NotFound()
            ctx.params = dict(params)
            route = self.routes[(request.method, template)]
            if route.auth != "public":
                if sess is None:
                    if request.method == "GET" and not request.headers.get("HX-Request"):
                        target = request.full_path.rstrip("?")
                        response = self._redirect(
                            "/staff/login?" + urllib.parse.urlencode({"next": target})
                        )
                        status = response.status_code
                        return self._finish(response, ctx, remember_lang, extra_cookies)
                    raise problems.Unauthenticated(texts.SIGNED_OUT)
                if not self.allowed(principal, template, request.method):
                    raise problems.Forbidden(texts.NO_ACCESS)
                if request.method == "POST":
                    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token")
                    if not session_mod.csrf_ok(sess, sent):
                        raise problems.Forbidden(texts.BAD_CSRF)
            result = PAGES[(request.method, template)](ctx)
            response = self._response(ctx, result, extra_cookies)
            status = response.status_code
            return self._finish(response, ctx, remember_lang, extra_cookies)
        except problems.Problem as problem:
            status = problem.status
            return self._finish(self._error(ctx, problem), ctx, remember_lang, extra_cookies)
        except Exception as exc:  # noqa: BLE001 (never a stack trace or a data value in the page)
            status = 500
            _log.error("unhandled error", exc_info=exc)
            return self._finish(
                self._error(ctx, problems.InternalError()), ctx, remember_lang, extra_cookies
            )
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

    def _response(self, ctx: Ctx, result, extra_cookies):
        import flask

        if isinstance(result, Redirect):
            return self._redirect(result.location, result.status)
        if isinstance(result, Raw):
            resp = flask.Response(result.body, status=200, content_type=result.content_type)
            for k, v in result.headers.items():
                resp.headers[k] = v
            return resp
        if isinstance(result, tuple):  # (result, cookies) from the sign-in pages
            result, cookies = result
            extra_cookies.extend(cookies)
            return self._response(ctx, result, extra_cookies)
        body, status = self.render(ctx, result)
        return flask.Response(body, status=status, content_type="text/html; charset=utf-8")

    @staticmethod
    def _redirect(location: str, status: int = 303):
        import flask

        resp = flask.Response(b"", status=status)
        resp.headers["Location"] = location
        return resp

    def _error(self, ctx: Ctx, problem: problems.Problem):
        import flask

        body = problem.body(ctx.locale)
        fragment = bool(ctx.request.headers.get("HX-Request"))
        page_ = Page(
            "error_fragment.html" if fragment else "error.html",
            {"problem": body},
            status=problem.status,
            title=body["title"],
        )
        try:
            html, status = self.render(ctx, page_)
        except Exception as exc:  # noqa: BLE001 (the error page itself failed: a bare page, still no trace)
            _log.error("error page failed", exc_info=exc)
            from html import escape

            html = (
                f"<!doctype html><html lang='{ctx.locale}'><meta charset='utf-8'><title>"
                f"{escape(body['title'])}</title><h1>{escape(body['title'])}</h1>"
                "</html>"
            ).encode()
            status = problem.status
        resp = flask.Response(html, status=status, content_type="text/html; charset=utf-8")
        if "Retry-After" in problem.headers:
            resp.headers["Retry-After"] = problem.headers["Retry-After"]
        return resp

    def _finish(self, resp, ctx: Ctx, remember_lang: str | None, extra_cookies):
        for k, v in _BASE_HEADERS.items():
            resp.headers.setdefault(k, v)
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers["Content-Language"] = ctx.locale
        resp.headers["Vary"] = "Accept-Language, Cookie"
        if remember_lang:
            resp.set_cookie(
                LANG_COOKIE,
                remember_lang,
                max_age=365 * 86400,
                path="/staff/",
                secure=True,
                httponly=True,
                samesite="Strict",
            )
        names = {name for name, _, _ in extra_cookies}
        for name, value, opts in extra_cookies:
            if value:
                resp.set_cookie(name, value, **opts)
            else:
                resp.delete_cookie(
                    name,
                    path=opts.get("path", "/staff/"),
                    secure=True,
                    httponly=True,
                    samesite=opts.get("samesite", "Strict"),
                )
        if (
            ctx.session is not None
            and session_mod.COOKIE not in names
            and not ctx.request.path.startswith("/staff/static/")
        ):
            # (a static file is cacheable and must carry no cookie)
            self.set_session(resp, self.sessions.touch(ctx.session))
        return resp

    def session_cookie(self, sess: session_mod.Session) -> tuple[str, str, dict]:
        return (
            session_mod.COOKIE,
            self.sessions.dump(sess),
            {
                "max_age": self.sessions.cookie_max_age(sess),
                "path": session_mod.PATH,
                "secure": True,
                "httponly": True,
                "samesite": "Strict",
            },
        )

    def set_session(self, resp, sess: session_mod.Session) -> None:
        name, value, opts = self.session_cookie(sess)
        resp.set_cookie(name, value, **opts)


def static_file(name: str) -> Raw | None:
    """A file of the static folder by its plain name (one path segment, no dot files)."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        return None
    if not name.endswith((".js", ".css")):
        return None
    path = STATIC_DIR / name
    if not path.is_file() or path.parent != STATIC_DIR:
        return None
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    return Raw(path.read_bytes(), kind, {"Cache-Control": "public, max-age=300"})


def build(fn: Function, settings: config.Settings) -> Console:
    return Console(fn, settings)
