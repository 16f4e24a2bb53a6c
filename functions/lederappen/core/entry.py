"""Entry points for functions-framework that import their feature only when needed.

`functions/main.py` names every entry point, but importing it must stay cheap: each entry
point here is a small proxy that imports its feature module (and so that feature's client
libraries) on first use. In a deployed function, FUNCTION_TARGET names the one entry point the
instance serves; that one is loaded and its configuration validated at start, so a missing
setting stops the instance with one clear message instead of failing its first request.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
from typing import Any, Callable

from . import config, log
from . import manifest as manifest_mod


def settings_for(fn: manifest_mod.Function) -> config.Settings:
    """The function's validated settings (its manifest `uses`), with logging configured."""
    settings = config.get(fn.uses)
    log.configure(settings.pseudonym_key, settings.log_level)
    return settings


def _framework_errors_as_problems() -> None:
    """functions-framework's Flask app answers some requests before any function runs (a path
    its `/<path:path>` rule cannot match, such as one with a newline, or a method it does not
    route): those get problem+json like everything else. main.py is executed inside the app's
    context, so the app is at hand; registered once per app."""
    try:
        import flask

        app = flask.current_app._get_current_object()  # type: ignore[attr-defined]
    except (ImportError, RuntimeError):  # imported outside functions-framework (tests, tools)
        return
    if app.extensions.get("lederappen.problems"):
        return
    app.extensions["lederappen.problems"] = True
    from werkzeug.exceptions import HTTPException

    def as_problem(exc: HTTPException):
        from . import http, i18n, problems

        by_status = {p.status: p for p in problems.ALL if p is not problems.InternalError}
        cls = by_status.get(exc.code or 500)
        if cls is None:
            problem: problems.Problem = problems.BadRequest()
            problem.status = exc.code or 400
        else:
            problem = cls("dependency") if cls is problems.DependencyUnavailable else cls()
        return http.problem_response(
            problem, i18n.negotiate(flask.request.headers.get("Accept-Language")))

    app.register_error_handler(HTTPException, as_problem)


#: entry point -> the feature module serving it, for tools that read every `Api` (the OpenAPI
#: generator, infra/scripts/openapi.py).
HTTP_MODULES: dict[str, str] = {}


def http_function(entry_point: str, module: str) -> Callable[[Any], Any]:
    """An HTTP entry point whose feature module exposes `api` (a core.http.Api)."""
    HTTP_MODULES[entry_point] = module
    _framework_errors_as_problems()
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def load():
        with lock:
            if "app" not in state:
                from . import http

                fn = manifest_mod.load().by_entry_point(entry_point)
                settings = settings_for(fn)
                feature = importlib.import_module(module)
                state["app"] = http.build(feature.api, fn, settings)
        return state["app"]

    def handle(request):
        app = state.get("app") or load()
        return app(request)

    handle.__name__ = handle.__qualname__ = entry_point
    handle.load = load  # type: ignore[attr-defined]
    if os.environ.get("FUNCTION_TARGET") == entry_point:
        load()
    return handle


def web_function(entry_point: str, module: str) -> Callable[[Any], Any]:
    """An HTTP entry point whose feature module builds its own handler with
    `build(fn, settings)` (server-rendered pages rather than a JSON `Api`)."""
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def load():
        with lock:
            if "app" not in state:
                fn = manifest_mod.load().by_entry_point(entry_point)
                settings = settings_for(fn)
                state["app"] = importlib.import_module(module).build(fn, settings)
        return state["app"]

    def handle(request):
        app = state.get("app") or load()
        return app(request)

    handle.__name__ = handle.__qualname__ = entry_point
    handle.load = load  # type: ignore[attr-defined]
    if os.environ.get("FUNCTION_TARGET") == entry_point:
        load()
    return handle


def install_error_pages() -> None:
    """Makes every error page the framework itself renders problem+json with nothing of the
    request in it.

    Errors inside an entry point are problem+json already (core/http.py, core/events.py).
    What never reaches them (werkzeug's own BadRequest for a body it cannot read, a 404 for
    /favicon.ico, a crash) is rendered by Flask, whose default pages, like functions-
    framework's, can echo headers (Authorization included) and bodies. Called from main.py,
    which functions-framework executes inside the Flask app's context; outside one (an import
    for a test) it does nothing."""
    import flask

    if not flask.has_app_context():
        return
    from werkzeug.exceptions import HTTPException

    app = flask.current_app._get_current_object()  # type: ignore[attr-defined]

    def page(exc):
        from . import problems

        status = exc.code if isinstance(exc, HTTPException) and exc.code else 500
        known = {p.status: p for p in problems.ALL}
        slug = known[status].slug if status in known else (
            "bad-request" if status == 400 else "http-error")
        title = (exc.name if isinstance(exc, HTTPException) and status < 500
                 else "Internal Server Error")
        body = {"type": problems.TYPE_BASE + slug, "title": title, "status": status}
        if status >= 500:
            log.event(logging.getLogger("lederappen.entry"), "unhandled error", logging.ERROR,
                      error=type(exc).__name__)
        return flask.Response(json.dumps(body), status=status,
                              content_type=problems.CONTENT_TYPE,
                              headers={"Cache-Control": "no-store"})

    app.register_error_handler(HTTPException, page)
    app.register_error_handler(500, page)
    app.register_error_handler(Exception, page)
