"""Entry points for functions-framework that import their feature only when needed.

`functions/main.py` names every entry point, but importing it must stay cheap: each entry
point here is a small proxy that imports its feature module (and so that feature's client
libraries) on first use. In a deployed function, FUNCTION_TARGET names the one entry point the
instance serves; that one is loaded and its configuration validated at start, so a missing
setting stops the instance with one clear message instead of failing its first request.
"""

from __future__ import annotations

import importlib
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


def http_function(entry_point: str, module: str) -> Callable[[Any], Any]:
    """An HTTP entry point whose feature module exposes `api` (a core.http.Api)."""
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
