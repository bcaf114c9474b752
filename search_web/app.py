"""Flask app factory: one engine behind every page and every JSON twin.

Configuration (later sources win):

1. defaults: INDEX_DIR is the CLI's default index, no embed origins, no URL prefix;
2. the file named by ``config["CONFIG_FILE"]`` or ``$CIVIC_SEARCH_CONFIG`` (``.json``, or a
   Python file of UPPERCASE names);
3. the environment: ``$CIVIC_SEARCH_INDEX``, ``$CIVIC_SEARCH_EMBED_ORIGINS`` (origins separated
   by spaces or commas), ``$CIVIC_SEARCH_URL_PREFIX``;
4. the ``config`` dict given to :func:`create_app` (INDEX_DIR, ENGINE, EMBED_ORIGINS, URL_PREFIX;
   also MEETINGS_PER_PAGE and TURNS_PER_PAGE for the results pages).

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

import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, request

log = logging.getLogger("search_web")

ENV_INDEX = "CIVIC_SEARCH_INDEX"
ENV_EMBED_ORIGINS = "CIVIC_SEARCH_EMBED_ORIGINS"
ENV_URL_PREFIX = "CIVIC_SEARCH_URL_PREFIX"
ENV_CONFIG = "CIVIC_SEARCH_CONFIG"

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_ENGINE_LOCK = threading.Lock()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app. ``config`` may give INDEX_DIR, ENGINE (an opened SearchEngine, as
    ``civic-search serve`` does), EMBED_ORIGINS (list of origins) and URL_PREFIX."""
    app = Flask(__name__)
    app.config.update(
        INDEX_DIR=None, ENGINE=None, EMBED_ORIGINS=[], URL_PREFIX="", MEETINGS_PER_PAGE=10, TURNS_PER_PAGE=20
    )
    config_file = (config or {}).get("CONFIG_FILE") or os.environ.get(ENV_CONFIG)
    if config_file:
        load_config_file(app, config_file)
    if os.environ.get(ENV_INDEX):
        app.config["INDEX_DIR"] = os.environ[ENV_INDEX]
    if os.environ.get(ENV_EMBED_ORIGINS):
        app.config["EMBED_ORIGINS"] = os.environ[ENV_EMBED_ORIGINS]
    if os.environ.get(ENV_URL_PREFIX):
        app.config["URL_PREFIX"] = os.environ[ENV_URL_PREFIX]
    if config:
        app.config.update(config)
    if not app.config["INDEX_DIR"]:
        from indexer.paths import default_index_dir

        app.config["INDEX_DIR"] = str(default_index_dir())
    app.config["EMBED_ORIGINS"] = parse_origins(app.config["EMBED_ORIGINS"])
    app.config["URL_PREFIX"] = normalise_prefix(app.config["URL_PREFIX"])
    app.config["CSP"] = content_security_policy(app.config["EMBED_ORIGINS"])

    # JSON in the contract's key order, Chinese as written (as ``civic-search … --json``).
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    from . import alerts, api, feeds, research, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(research.bp)
    app.register_blueprint(feeds.bp)
    alerts.init_app(app)
    views.register_error_pages(app)
    _install_hooks(app)
    if app.config["URL_PREFIX"]:
        app.wsgi_app = PrefixMiddleware(app.wsgi_app, app.config["URL_PREFIX"], app.config["CSP"])
    return app


# --- configuration -----------------------------------------------------------------------------


def load_config_file(app: Flask, path: str | os.PathLike) -> None:
    """Read a JSON file (an object) or a Python file (UPPERCASE names) into ``app.config``."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the configuration must be a JSON object")
        app.config.update({k: v for k, v in data.items() if k.isupper()})
    else:
        app.config.from_pyfile(str(path.resolve()))


def parse_origins(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Origins from a list or a string separated by spaces or commas; invalid ones raise."""
    if not value:
        return []
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
    origins: list[str] = []
    for item in items:
        item = str(item).strip().rstrip("/").lower()
        if not item:
            continue
        if not _ORIGIN.match(item):
            raise ValueError(f"not an origin (scheme://host[:port]): {item!r}")
        if item not in origins:
            origins.append(item)
    return origins


def normalise_prefix(prefix: str | None) -> str:
    """``search/`` or ``/search/`` → ``/search``; empty or ``/`` → no prefix."""
    prefix = (prefix or "").strip().strip("/")
    if not prefix:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9._~\-/]+", prefix):
        raise ValueError(f"URL_PREFIX may only hold letters, digits, '-', '_', '.', '~' and '/': {prefix!r}")
    return "/" + prefix


def content_security_policy(origins: list[str]) -> str:
    ancestors = " ".join(["'self'", *origins])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )


# --- the engine --------------------------------------------------------------------------------


def get_engine():
    """The app's one SearchEngine, opened on first use from INDEX_DIR unless ENGINE was given."""
    app = current_app
    engine = app.config.get("ENGINE")
    if engine is None:
        with _ENGINE_LOCK:
            engine = app.config.get("ENGINE")
            if engine is None:
                from indexer.search import SearchEngine

                engine = SearchEngine(app.config["INDEX_DIR"])
                app.config["ENGINE"] = engine
    return engine


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
        if request.path.startswith("/api/"):
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

