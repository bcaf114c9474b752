"""Research pages: every occurrence in context (``/kwic``) and who said it (``/speakers``).

Each takes the search page's options (``q``, ``speaker``, ``since``, ``until``, ``aliases``); the
JSON twins are in :mod:`search_web.api` (``/api/kwic``, ``/api/speakers/ranking``), the
downloads in :mod:`search_web.downloads`. Input is forgiving as on the search page: a bad
``page`` or ``width`` falls back to the default.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from indexer.errors import QueryError
from indexer.options import DEFAULT_WIDTH
from indexer.research import occurrence_page, speakers_object

from .helpers import alias_expansions, page_count, page_numbers, query_error_message, run_query
from .params import SearchParams, kwic_width

bp = Blueprint("research", __name__)

KWIC_PER_PAGE = 100
KWIC_WIDTHS = (10, 20, 40)
SPEAKERS_SHOWN = 200


@bp.get("/kwic")
def kwic():
    """Show every occurrence of the query with its left and right context, newest meeting first."""
    params = SearchParams.from_args(request.args)
    width = kwic_width(request.args)
    context = {"params": params, "width": width, "widths": KWIC_WIDTHS, "error": None, "result": None}
    if not params.q:
        return render_template("kwic.html", **context)
    try:
        result_set = run_query(params)
    except QueryError as err:
        context["error"] = query_error_message(err)
        return render_template("kwic.html", **context), 400
    per_page = current_app.config.get("KWIC_PER_PAGE", KWIC_PER_PAGE)
    page = params.page
    result = occurrence_page(result_set, width=width, sort="date", start=(page - 1) * per_page, limit=per_page)
    pages = page_count(result.occurrences, per_page)
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


@bp.get("/speakers")
def speakers():
    """Rank who said the query, each speaker linked to the search filtered by that speaker."""
    params = SearchParams.from_args(request.args)
    context = {"params": params, "error": None, "ranking": None}
    if not params.q:
        return render_template("speakers.html", **context)
    try:
        result_set = run_query(params)
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
