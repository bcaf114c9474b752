"""The HTML pages: search form, results, meeting transcript (and its original file) and embed.

Every page has a JSON twin in :mod:`search_web.api` (``/search`` ↔ ``/api/search`` and
``/api/facets``, ``/meetings/<id>`` ↔ ``/api/meetings/<id>``), drawn from the same
:func:`~search_web.helpers.run_query`; the downloads of any query are in
:mod:`search_web.downloads`.
"""

from __future__ import annotations

import io

from urllib.parse import quote

from flask import Blueprint, current_app, render_template, request, send_file

from indexer.errors import QueryError
from indexer.periods import UNKNOWN
from indexer.snippets import highlight

from .helpers import (
    explanation,
    facets,
    get_engine,
    page_count,
    page_numbers,
    query_error_message,
    run_query,
    speaker_suggestions,
)
from .params import SearchParams
from .timeline import build_timeline

bp = Blueprint("views", __name__)

TURNS_PER_MEETING = 3
EMBED_LIMIT = 5


@bp.app_template_global()
def self_url(anchor: str = "") -> str:
    """This page's own address (prefix, path and query) with ``#anchor``: for in-page links."""
    url = quote(request.script_root + request.path)
    if request.query_string:
        url += "?" + quote(request.query_string, safe="&=+%;/:?@,$!*'()~")
    return url + (f"#{anchor}" if anchor else "")


def _search_form(params: SearchParams):
    return render_template("index.html", params=params, stats=get_engine().stats(), speakers=speaker_suggestions())


@bp.get("/")
def index():
    """Show the search form."""
    return _search_form(SearchParams())


@bp.get("/search")
def search():
    """Search: results grouped by meeting (or a flat list of turns), facets, timeline."""
    params = SearchParams.from_args(request.args)
    if not params.q:
        return _search_form(params)
    try:
        result_set = run_query(params)
    except QueryError as err:
        error = query_error_message(err)
        return render_template("search.html", params=params, error=error, speakers=speaker_suggestions()), 400
    turns = params.view == "turns"
    limit = current_app.config["TURNS_PER_PAGE" if turns else "MEETINGS_PER_PAGE"]
    pages = page_count(result_set.total if turns else result_set.meeting_count, limit)
    if params.page > pages:
        params = params.with_(page=pages)
    if turns:
        results = result_set.page(page=params.page, limit=limit, sort=params.sort)
    else:
        results = result_set.grouped(page=params.page, limit=limit, per_meeting=TURNS_PER_MEETING, sort=params.sort)
    found = facets(result_set)
    return render_template(
        "search.html",
        explanation=explanation(params) if params.explain or params.aliases else None,
        params=params,
        error=None,
        result_set=result_set,
        results=results,
        pages=pages,
        page_numbers=page_numbers(params.page, pages),
        years=[p for p in found.years if p.period != UNKNOWN],
        speaker_facets=found.speakers,
        timeline=build_timeline(result_set, params.since, params.until),
        speakers=speaker_suggestions(),
    )


@bp.get("/meetings/<meeting_id>")
def meeting(meeting_id: str):
    """Show one whole meeting; with ?q= every match is highlighted."""
    record = get_engine().meeting(meeting_id)  # MeetingNotFound → the 404 page
    params = SearchParams.from_args(request.args)
    terms: list[str] = []
    error = None
    if params.q:
        try:
            terms = run_query(SearchParams(q=params.q, aliases=params.aliases)).terms
        except QueryError as err:
            error = query_error_message(err)
    turns = []
    previous_section = ""
    matches = 0
    for turn in record.turns:
        html = highlight(turn.text, terms)
        count = html.count("<mark>")
        matches += count
        section = turn.section if turn.section and turn.section != previous_section else ""
        if turn.section:
            previous_section = turn.section
        turns.append({"turn": turn, "html": html, "section": section, "matches": count})
    _mark_page_changes(turns)
    return render_template("meeting.html", meeting=record, turns=turns, q=params.q, error=error, matches=matches,
                           speakers=record.speaker_turns(), format_name=FORMAT_NAMES.get(record.format, record.format))


#: How the meeting page names the format a record came from.
FORMAT_NAMES = {"pdf": "PDF", "odt": "ODF 文字文件（.odt）", "docx": "Word 文件（.docx）",
                "doc": "Word 97-2003 文件（.doc）", "html": "網頁（.html）", "md": "Markdown", "txt": "純文字"}


def _mark_page_changes(turns: list[dict]) -> None:
    """Give each turn that starts on a new page a page marker (paged formats only)."""
    previous = None
    for item in turns:
        page = item["turn"].page
        item["page_marker"] = page if page and page != previous else None
        previous = page or previous


@bp.get("/meetings/<meeting_id>/source")
def meeting_source(meeting_id: str):
    """Download the original file of an indexed meeting (the file as it was indexed)."""
    source = get_engine().source_file(meeting_id)  # MeetingNotFound → 404, SourceUnavailable → 410
    return send_file(io.BytesIO(source.data), mimetype=source.media_type, as_attachment=True,
                     download_name=source.name, max_age=0)


@bp.get("/embed")
def embed():
    """A compact results page made for an iframe on an intranet page."""
    params = SearchParams.from_args(request.args)
    context = {"params": params, "error": None, "results": None}
    status = 200
    if params.q:
        try:
            context["results"] = run_query(params).page(page=1, limit=EMBED_LIMIT, sort=params.sort)
        except QueryError as err:
            context["error"] = query_error_message(err)
            status = 400
    return render_template("embed.html", **context), status
