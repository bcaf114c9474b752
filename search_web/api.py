"""The JSON API: the pages' twins, with the same objects as ``civic-search … --json``.

Errors have one shape, ``{"ok": false, "error": "…", "status": N}``, with that HTTP status:
400 for a bad query or option, 404 for an unknown meeting or route, 503 when the index cannot
be read. Browsers on the configured embed origins may call ``/api/*`` (CORS, see ``app.py``).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, request

from .app import get_engine
from .params import API_MAX_LIMIT, API_MAX_LIST, API_MAX_PAGE, BadParameter, flag, strict_int, strict_sort
from .views import json_error

bp = Blueprint("api", __name__)

SPEAKERS_MAX_LIMIT = 100


@bp.errorhandler(BadParameter)
def bad_parameter(err):
    return json_error(str(err), 400)


@bp.get("/healthz")
def healthz():
    """Report that the app is up and what the index holds."""
    stats = get_engine().stats()
    return jsonify({"ok": True, "meetings": stats.meetings, "turns": stats.turns, "generation": stats.generation})


@bp.get("/api/search")
def search():
    """Search: exactly the object ``civic-search search … --json`` prints."""
    args = request.args
    page = strict_int(args, "page", 1, 1, API_MAX_PAGE)
    limit = strict_int(args, "limit", 10, 0, API_MAX_LIMIT)
    sort = strict_sort(args)
    result = get_engine().search(
        args.get("q", ""),
        page=page,
        limit=limit,
        speaker=args.get("speaker") or None,
        since=args.get("since") or None,
        until=args.get("until") or None,
        sort=sort,
    )
    return jsonify(result.to_dict())


@bp.get("/api/meetings/<meeting_id>")
def meeting(meeting_id: str):
    """One whole meeting: exactly the object ``civic-search show … --json`` prints."""
    return jsonify(get_engine().meeting(meeting_id).to_dict())


@bp.get("/api/speakers")
def speakers():
    """Speaker labels containing ``prefix``, most frequent first (suggestions)."""
    prefix = request.args.get("prefix", "")
    limit = strict_int(request.args, "limit", 20, 1, SPEAKERS_MAX_LIMIT)
    return jsonify({"prefix": prefix, "speakers": get_engine().speaker_labels(prefix, limit)})


@bp.get("/api/facets")
def facets():
    """Matching turns per year and per speaker for a query: the search page's facets."""
    args = request.args
    limit = strict_int(args, "limit", 10, 0, API_MAX_LIMIT)
    result_set = get_engine().run(
        args.get("q", ""),
        speaker=args.get("speaker") or None,
        since=args.get("since") or None,
        until=args.get("until") or None,
    )
    return jsonify(
        {
            "query": result_set.query,
            "total": result_set.total,
            "meetings": result_set.meeting_count,
            "years": [asdict(p) for p in result_set.by_period("year")],
            "speakers": [asdict(s) for s in result_set.by_speaker(limit=limit or None)],
        }
    )


# --- research twins: keyword in context, timeline, who said it, query explanation --------------


def _run_query(args):
    return get_engine().run(
        args.get("q", ""),
        speaker=args.get("speaker") or None,
        since=args.get("since") or None,
        until=args.get("until") or None,
        aliases=flag(args, "aliases"),
    )


@bp.get("/api/kwic")
def kwic():
    """Every occurrence in context: the object ``civic-search kwic --json`` prints (absolute links)."""
    from indexer.research import DEFAULT_WIDTH, MAX_WIDTH, kwic_object, occurrence_rows

    width = strict_int(request.args, "width", DEFAULT_WIDTH, 1, MAX_WIDTH)
    result_set = _run_query(request.args)
    rows = occurrence_rows(result_set, width=width, sort="date", base_url=request.url_root.rstrip("/"))
    return jsonify(kwic_object(result_set, rows, width))


@bp.get("/api/timeline")
def timeline():
    """Mentions per year or month (``by``): the object ``civic-search timeline --json`` prints."""
    from indexer.research import timeline as periods_of
    from indexer.research import timeline_object

    by = request.args.get("by") or "year"
    if by not in ("year", "month"):
        raise BadParameter(f"unknown period '{by}' (use year or month)")
    result_set = _run_query(request.args)
    return jsonify(timeline_object(result_set, periods_of(result_set, by), by))


@bp.get("/api/speakers/ranking")
def speaker_ranking():
    """Who said it, ranked: the object ``civic-search speakers --json`` prints (``limit`` 0: all)."""
    from indexer.research import speakers_object

    limit = strict_int(request.args, "limit", 20, 0, API_MAX_LIST)
    result_set = _run_query(request.args)
    return jsonify(speakers_object(result_set, result_set.by_speaker(), limit))


@bp.get("/api/explain")
def explain():
    """How the query was read: the object ``civic-search search --json --explain`` prints on stderr."""
    from indexer.explain import explain as explain_query

    args = request.args
    explanation = explain_query(
        args.get("q", ""),
        speaker=args.get("speaker") or None,
        since=args.get("since") or None,
        until=args.get("until") or None,
        aliases=flag(args, "aliases"),
    )
    return jsonify(explanation.to_dict())
