"""Flask app factory: one engine behind every page and every JSON twin.

Configuration is one :class:`indexer.settings.Settings` (later sources win):

1. defaults: the per-user index folder, no embed origins, no URL prefix;
2. the file named by ``config["CONFIG_FILE"]`` or ``$CIVIC_SEARCH_CONFIG`` (``.json``, or a
   Python file of UPPERCASE names);
3. the environment: ``$CIVIC_SEARCH_INDEX``, ``$CIVIC_SEARCH_EMBED_ORIGINS`` (origins separated
   by spaces or commas), ``$CIVIC_SEARCH_URL_PREFIX``, ``$CIVIC_SEARCH_ALIASES``;
4. the ``config`` dict given to :func:`create_app` (INDEX_DIR, EMBED_ORIGINS, URL_PREFIX).

``config`` may also give ENGINE (an opened engine) and Flask's own settings, among them
MEETINGS_PER_PAGE and TURNS_PER_PAGE for the results pages.

Vocabulary
----------
embed origin
    An origin (``https://intranet.example.org``) whose pages may frame ``/embed`` and call
    ``/api/*`` from the browser (CORS). Nothing else is allowed to.
URL prefix
    The path under which a reverse proxy publishes the app (``/search``). The proxy passes the
    full path on; the app moves the prefix into ``SCRIPT_NAME`` so that ``url_for`` builds every
    link, asset and API address under it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any, Sequence

from flask import Flask, abort, g, request

from indexer.settings import Settings

from . import alerts, api, downloads, feeds, people, research, views
from .errors import register_error_pages
from .helpers import EXTENSION, CivicSearch

log = logging.getLogger("search_web")



def create_app(config: dict[str, Any] | None = None, *, settings: Settings | None = None) -> Flask:
    """Create the app.

    ``settings`` (:class:`indexer.settings.Settings`) gives the index folder, the embed origins
    and the URL prefix; by default they are read from the environment and the configuration file
    (``config["CONFIG_FILE"]`` or ``$CIVIC_SEARCH_CONFIG``), with ``config``'s INDEX_DIR,
    EMBED_ORIGINS and URL_PREFIX over them. ``config`` may also give ENGINE (an opened
    SearchEngine, as ``civic-search serve`` does) and Flask settings (TESTING, MEETINGS_PER_PAGE,
    TURNS_PER_PAGE). Raises SettingsError for a configuration that cannot be used.
    """
    config = dict(config or {})
    if settings is None:
        settings = Settings.from_environ(os.environ, config_file=config.get("CONFIG_FILE"), overrides=config)
    app = Flask(__name__)
    app.config.update(MEETINGS_PER_PAGE=10, TURNS_PER_PAGE=20)
    app.config.update(settings.file_config)
    app.config.update(config)
    # The settings in Flask's names too, for templates and extensions that look there.
    app.config.update(
        INDEX_DIR=str(settings.index_dir),
        EMBED_ORIGINS=list(settings.web.embed_origins),
        URL_PREFIX=settings.web.url_prefix,
        CSP=content_security_policy(settings.web.embed_origins),
    )
    app.extensions[EXTENSION] = CivicSearch(settings, config.get("ENGINE"))

    # JSON in the contract's key order, Chinese as written (as ``civic-search … --json``).
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    for blueprint in (views.bp, api.bp, api.health, research.bp, downloads.bp, feeds.bp, alerts.bp, people.bp,
                      people.api):
        app.register_blueprint(blueprint)
    register_error_pages(app)
    _install_hooks(app)
    if app.config["URL_PREFIX"]:
        app.wsgi_app = PrefixMiddleware(app.wsgi_app, app.config["URL_PREFIX"], app.config["CSP"])
    return app


def content_security_policy(origins: Sequence[str]) -> str:
    ancestors = " ".join(["'self'", *origins])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )


# --- per-request hooks: timing, logging, security headers, CORS ------------------------------


def _install_hooks(app: Flask) -> None:
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.url_value_preprocessor
    def check_meeting_id(endpoint, values):
        # Meeting ids are looked up in the index's table, never used as paths; an id no file
        # could have produced (too long, control characters) is a plain 404, not echoed back.
        meeting_id = (values or {}).get("meeting_id")
        if meeting_id is not None and not valid_meeting_id(meeting_id):
            abort(404)

    @app.after_request
    def finish(response):
        headers = response.headers
        headers["Content-Security-Policy"] = app.config["CSP"]
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers.pop("X-Frame-Options", None)
        if (request.path + "/").startswith(api.bp.url_prefix + "/"):
            _cors(response, app.config["EMBED_ORIGINS"])
        started = g.get("started")
        elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
        log.info("%s %s %s %.1fms", request.method, request.script_root + request.path, response.status_code, elapsed)
        return response


MAX_MEETING_ID = 300
_BAD_ID_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff/\\\\]")


def valid_meeting_id(meeting_id: str) -> bool:
    """True for ids a transcript file name can produce: 1 to 300 characters, no control
    characters and no path separators."""
    return 0 < len(meeting_id) <= MAX_MEETING_ID and not _BAD_ID_CHAR.search(meeting_id)


def _cors(response, origins: list[str]) -> None:
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin and origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response.headers["Access-Control-Max-Age"] = "600"


class PrefixMiddleware:
    """Serve the app under ``prefix``: move the prefix from PATH_INFO into SCRIPT_NAME.

    The reverse proxy passes the full path (``/search/meetings/x``). A server that already sets
    SCRIPT_NAME to the prefix (waitress ``url_prefix``) is left alone. Other paths get a 404.
    """

    def __init__(self, wsgi_app, prefix: str, csp: str = ""):
        self.wsgi_app = wsgi_app
        self.prefix = prefix
        self.csp = csp

    def __call__(self, environ, start_response):
        script_name = environ.get("SCRIPT_NAME", "")
        path = environ.get("PATH_INFO", "") or "/"
        if script_name.rstrip("/") != self.prefix:
            if path == self.prefix or path.startswith(self.prefix + "/"):
                environ["SCRIPT_NAME"] = script_name.rstrip("/") + self.prefix
                environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
            else:
                body = f"Not found: this service lives under {self.prefix}/\n".encode()
                headers = [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "same-origin"),
                ]
                if self.csp:
                    headers.append(("Content-Security-Policy", self.csp))
                start_response("404 NOT FOUND", headers)
                log.info("%s %s 404 0.0ms", environ.get("REQUEST_METHOD", "GET"), script_name + path)
                return [body]
        return self.wsgi_app(environ, start_response)

