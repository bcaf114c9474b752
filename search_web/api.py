"""The JSON API: the pages' twins, with the same objects as ``civic-search … --json``.

Every query route reads its options into :class:`~search_web.params.SearchParams` strictly and
runs them through :func:`~search_web.helpers.run_query`, as the pages do: the same query, filters
and aliases give the same turns on a page and in its twin.

Errors have one shape, ``{"ok": false, "error": "…", "status": N}``, with that HTTP status (this
blueprint's own handlers, :func:`~search_web.errors.install_json_errors`): 400 for a bad query or
option, 404 for an unknown meeting or route, 503 when the index cannot be read. Browsers on the
configured embed origins may call ``/api/*`` (CORS, see ``app.py``).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, request

from indexer.errors import BadParameter
from indexer.options import DEFAULT_PERIOD, PERIODS, period_error

from .errors import install_json_errors
from .helpers import facets as facets_of
from .helpers import get_engine, get_settings, run_query, search_page
from .params import API_MAX_LIMIT, API_MAX_LIST, SearchParams, api_kwic_width, strict_int

bp = install_json_errors(Blueprint("api", __name__, url_prefix="/api"))
#: ``/healthz`` answers like the API, outside its prefix.
health = install_json_errors(Blueprint("health", __name__))

SPEAKERS_MAX_LIMIT = 100


@health.get("/healthz")
def healthz():
    """Report that the app is up and what the index holds."""
    stats = get_engine().stats()
    return jsonify({"ok": True, "meetings": stats.meetings, "turns": stats.turns, "generation": stats.generation})


@bp.get("/search")
def search():
    """Search: exactly the object ``civic-search search … --json`` prints."""
    params = SearchParams.from_api_args(request.args, paged=True)
    limit = strict_int(request.args, "limit", 10, 0, API_MAX_LIMIT)
    return jsonify(search_page(params, limit).to_dict())


@bp.get("/meetings/<meeting_id>")
def meeting(meeting_id: str):
    """One whole meeting: exactly the object ``civic-search show … --json`` prints."""
    return jsonify(get_engine().meeting(meeting_id).to_dict())


@bp.get("/speakers")
def speakers():
    """Speaker labels containing ``prefix``, most frequent first (suggestions)."""
    prefix = request.args.get("prefix", "")
    limit = strict_int(request.args, "limit", 20, 1, SPEAKERS_MAX_LIMIT)
    return jsonify({"prefix": prefix, "speakers": get_engine().speaker_labels(prefix, limit)})


@bp.get("/facets")
def facets():
    """Matching turns per year and per speaker for a query: the search page's facets."""
    limit = strict_int(request.args, "limit", 10, 0, API_MAX_LIMIT)
    result_set = run_query(SearchParams.from_api_args(request.args))
    found = facets_of(result_set, limit or None)
    return jsonify(
        {
            "query": result_set.query,
            "total": result_set.total,
            "meetings": result_set.meeting_count,
            "years": [asdict(p) for p in found.years],
            "speakers": [asdict(s) for s in found.speakers],
        }
    )


# --- research twins: keyword in context, timeline, who said it, query explanation --------------


@bp.get("/kwic")
def kwic():
    """Every occurrence in context: the object ``civic-search kwic --json`` prints (absolute links)."""
    from indexer.research import kwic_object, occurrence_rows

    width = api_kwic_width(request.args)
    result_set = run_query(SearchParams.from_api_args(request.args))
    rows = occurrence_rows(result_set, width=width, sort="date", base_url=request.url_root.rstrip("/"))
    return jsonify(kwic_object(result_set, rows, width))


@bp.get("/timeline")
def timeline():
    """Mentions per year or month (``by``): the object ``civic-search timeline --json`` prints."""
    from indexer.research import timeline as periods_of
    from indexer.research import timeline_object

    by = request.args.get("by") or DEFAULT_PERIOD
    if by not in PERIODS:
        raise BadParameter(period_error(by))
    result_set = run_query(SearchParams.from_api_args(request.args))
    return jsonify(timeline_object(result_set, periods_of(result_set, by), by))


@bp.get("/speakers/ranking")
def speaker_ranking():
    """Who said it, ranked: the object ``civic-search speakers --json`` prints (``limit`` 0: all)."""
    from indexer.research import speakers_object

    limit = strict_int(request.args, "limit", 20, 0, API_MAX_LIST)
    result_set = run_query(SearchParams.from_api_args(request.args))
    return jsonify(speakers_object(result_set, result_set.by_speaker(), limit))


@bp.get("/explain")
def explain():
    """How the query was read: the object ``civic-search search --json --explain`` prints on stderr."""
    from indexer.explain import explain as explain_query

    params = SearchParams.from_api_args(request.args)
    return jsonify(explain_query(params.q, **params.filters, settings=get_settings()).to_dict())
