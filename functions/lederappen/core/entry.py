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
from collections.abc import Callable
from typing import Any

from . import config, log
from . import manifest as manifest_mod


def settings_for(fn: manifest_mod.Function) -> config.Settings:
    """The function's validated settings (its manifest `uses`), with logging configured."""
    settings = config.get(fn.uses)
    log.configure(settings.pseudonym_key, settings.log_level)
    return settings


#: entry point -> the feature module serving it, for tools that read every `Api` (the OpenAPI
#: generator, infra/scripts/openapi.py).
HTTP_MODULES: dict[str, str] = {}


def http_function(entry_point: str, module: str) -> Callable[[Any], Any]:
    """An HTTP entry point whose feature module exposes `api` (a core.http.Api)."""
    HTTP_MODULES[entry_point] = module
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

    def as_problem(exc: HTTPException):
        """What Flask answers itself (a path its `/<path:path>` rule cannot match, such as one
        with a newline, a method it does not route, a body werkzeug cannot read): the
        problem of that status, in the caller's language."""
        from . import http, i18n, problems

        makers: dict[int, Callable[..., problems.Problem]] = {
            p.status: p
            for p in problems.ALL
            if p not in (problems.InternalError, problems.DependencyUnavailable)
        }
        makers[problems.DependencyUnavailable.status] = lambda: problems.DependencyUnavailable(
            "dependency"
        )
        make = makers.get(exc.code or 500)
        if make is None:
            problem: problems.Problem = problems.BadRequest()
            problem.status = exc.code or 400
        else:
            problem = make()
        return http.problem_response(
            problem, i18n.negotiate(flask.request.headers.get("Accept-Language"))
        )

    def crash(exc: Exception):
        """A crash outside any entry point's own handling: 500 problem+json, the error's class
        logged, nothing of the request echoed."""
        from . import problems

        log.event(
            logging.getLogger("lederappen.entry"),
            "unhandled error",
            logging.ERROR,
            error=type(exc).__name__,
        )
        body = {
            "type": problems.TYPE_BASE + problems.InternalError.slug,
            "title": "Internal Server Error",
            "status": 500,
        }
        return flask.Response(
            json.dumps(body),
            status=500,
            content_type=problems.CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )

    app.register_error_handler(HTTPException, as_problem)
    app.register_error_handler(500, crash)
    app.register_error_handler(Exception, crash)
