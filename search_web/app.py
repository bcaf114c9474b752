"""Flask app factory: one engine behind every page and every JSON twin."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request

from indexer.errors import CivicSearchError, MeetingNotFound, QueryError
from indexer.paths import default_index_dir


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app. ``config`` may give INDEX_DIR (default: $CIVIC_SEARCH_INDEX or the
    per-user index) and ENGINE (an already opened SearchEngine, as ``civic-search serve`` does)."""
    app = Flask(__name__)
    app.config["INDEX_DIR"] = os.environ.get("CIVIC_SEARCH_INDEX") or str(default_index_dir())
    if config:
        app.config.update(config)

    def engine():
        from indexer.search import SearchEngine

        if app.config.get("ENGINE") is None:
            app.config["ENGINE"] = SearchEngine(app.config["INDEX_DIR"])
        return app.config["ENGINE"]

    def error(message: str, status: int):
        response = jsonify({"ok": False, "error": message, "status": status})
        response.status_code = status
        return response

    @app.get("/healthz")
    def healthz():
        return jsonify({"ok": True})

    @app.get("/api/search")
    def api_search():
        args = request.args
        try:
            page = int(args.get("page", "1"))
            limit = int(args.get("limit", "10"))
        except ValueError:
            return error("page and limit must be whole numbers", 400)
        try:
            result = engine().search(
                args.get("q", ""),
                page=page,
                limit=limit,
                speaker=args.get("speaker") or None,
                since=args.get("since") or None,
                until=args.get("until") or None,
                sort=args.get("sort", "relevance"),
            )
        except QueryError as err:
            return error(f"invalid query: {err}", 400)
        return jsonify(result.to_dict())

    @app.get("/api/meetings/<meeting_id>")
    def api_meeting(meeting_id: str):
        try:
            return jsonify(engine().meeting(meeting_id).to_dict())
        except MeetingNotFound as err:
            return error(str(err), 404)

    @app.errorhandler(CivicSearchError)
    def civic_error(err):
        return error(str(err), 503)

    @app.errorhandler(404)
    def not_found(err):
        return error("not found", 404)

    return app
