"""Research pages: every occurrence in context (``/kwic``), who said it (``/speakers``), and the
keyword-in-context downloads (``/kwic.csv``, ``/kwic.json``).

Each takes the search page's options (``q``, ``speaker``, ``since``, ``until``, ``aliases``); the
JSON twins are in :mod:`search_web.api` (``/api/kwic``, ``/api/speakers/ranking``). Input is
forgiving as on the search page: a bad ``page`` or ``width`` falls back to the default.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request

from indexer.errors import QueryError
from indexer.research import DEFAULT_WIDTH, kwic_object, occurrence_page, occurrence_rows, speakers_object

from .app import get_engine
from .params import SearchParams
from .views import alias_expansions, csv_download, page_numbers, query_error_message

bp = Blueprint("research", __name__)

KWIC_PER_PAGE = 100
KWIC_WIDTHS = (10, 20, 40)
MAX_WEB_WIDTH = 60
SPEAKERS_SHOWN = 200


def kwic_width(args) -> int:
    """Context characters each side: a whole number from 1 to 60, else the default (20)."""
    width = args.get("width", DEFAULT_WIDTH, type=int)
    return width if width is not None and 1 <= width <= MAX_WEB_WIDTH else DEFAULT_WIDTH


def _run(params: SearchParams):
    return get_engine().run(params.q, **params.filters)


@bp.get("/kwic")
def kwic():
    """Show every occurrence of the query with its left and right context, newest meeting first."""
    params = SearchParams.from_args(request.args)
    width = kwic_width(request.args)
    context = {"params": params, "width": width, "widths": KWIC_WIDTHS, "error": None, "result": None}
    if not params.q:
        return render_template("kwic.html", **context)
    try:
        result_set = _run(params)
    except QueryError as err:
        context["error"] = query_error_message(err)
        return render_template("kwic.html", **context), 400
    per_page = current_app.config.get("KWIC_PER_PAGE", KWIC_PER_PAGE)
    page = params.page
    result = occurrence_page(result_set, width=width, sort="date", start=(page - 1) * per_page, limit=per_page)
    pages = max(1, -(-result.occurrences // per_page))
    if page > pages:  # past the end: the last page
        page = pages
        result = occurrence_page(result_set, width=width, sort="date", start=(page - 1) * per_page, limit=per_page)
    params = params.with_(page=page)
    context.update(
        params=params,
        result=result,
        result_set=result_set,
        pages=pages,
        page_numbers=page_numbers(page, pages),
        kwic_args={**params.filter_args(sort="relevance"), **({"width": width} if width != DEFAULT_WIDTH else {})},
        expansions=alias_expansions(params),
    )
    return render_template("kwic.html", **context)


def _kwic_download():
    params = SearchParams.from_args(request.args)
    if not params.q:
        raise QueryError("empty query: type a word or phrase to search for")
    width = kwic_width(request.args)
    result_set = _run(params)
    rows = occurrence_rows(result_set, width=width, sort="date", base_url=request.url_root.rstrip("/"))
    return result_set, rows, width


@bp.get("/kwic.csv")
def kwic_csv():
    """Every occurrence of the query in context as CSV (UTF-8 with BOM, one row per occurrence)."""
    _, rows, _ = _kwic_download()
    return csv_download(rows, "civic-search-kwic.csv")


@bp.get("/kwic.json")
def kwic_json():
    """Every occurrence of the query in context as JSON (the object of ``civic-search kwic --json``)."""
    result_set, rows, width = _kwic_download()
    return Response(
        json.dumps(kwic_object(result_set, rows, width), ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="civic-search-kwic.json"'},
    )


@bp.get("/speakers")
def speakers():
    """Rank who said the query, each speaker linked to the search filtered by that speaker."""
    params = SearchParams.from_args(request.args)
    context = {"params": params, "error": None, "ranking": None}
    if not params.q:
        return render_template("speakers.html", **context)
    try:
        result_set = _run(params)
    except QueryError as err:
        context["error"] = query_error_message(err)
        return render_template("speakers.html", **context), 400
    ranked = result_set.by_speaker()
    context.update(
        ranking=speakers_object(result_set, ranked, SPEAKERS_SHOWN),
        result_set=result_set,
        speaker_count=len(ranked),
        expansions=alias_expansions(params),
    )
    return render_template("speakers.html", **context)
