"""The HTML pages: search form, results, meeting transcript, embed, and the exports.

Every page has a JSON twin in :mod:`search_web.api` (``/search`` ↔ ``/api/search``,
``/meetings/<id>`` ↔ ``/api/meetings/<id>``); the exports are the results of any query as files.
"""

from __future__ import annotations

import io
import json
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, make_response, render_template, request, send_file

from indexer.errors import CivicSearchError, MeetingNotFound, QueryError, SourceUnavailable
from indexer.export import export_rows, write_csv
from indexer.snippets import highlight

from .app import get_engine
from .params import SearchParams, flag
from .timeline import build_timeline

bp = Blueprint("views", __name__)

MEETINGS_PER_PAGE = 10
TURNS_PER_MEETING = 3
TURNS_PER_PAGE = 20
EMBED_LIMIT = 5
SPEAKER_SUGGESTIONS = 100
SPEAKER_FACETS = 10


def query_error_message(err: QueryError) -> str:
    """The library's message, with the position when it points into the query."""
    if err.position:
        return f"{err.message}（第 {err.position} 個字元）"
    return err.message


def speaker_suggestions() -> list[str]:
    return get_engine().speaker_labels("", SPEAKER_SUGGESTIONS)


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page numbers to show: the first, the last and a window around the current (None = gap)."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and number - out[-1] > 1:
            out.append(None)
        out.append(number)
    return out


@bp.app_template_global()
def self_url(anchor: str = "") -> str:
    """This page's own address (prefix, path and query) with ``#anchor``: for in-page links."""
    url = quote(request.script_root + request.path)
    if request.query_string:
        url += "?" + quote(request.query_string, safe="&=+%;/:?@,$!*'()~")
    return url + (f"#{anchor}" if anchor else "")


@bp.get("/")
def index():
    """Show the search form."""
    return render_template(
        "index.html", params=SearchParams(), stats=get_engine().stats(), speakers=speaker_suggestions()
    )


def alias_expansions(params: SearchParams) -> list[dict]:
    """What the alias list added to the query (``[{"term", "terms"}]``); empty when aliases are off."""
    if not params.aliases:
        return []
    from indexer.explain import explain

    return explain(params.q, **params.filters).expansions


@bp.get("/search")
def search():
    """Search: results grouped by meeting (or a flat list of turns), facets, timeline."""
    params = SearchParams.from_args(request.args)
    if not params.q:
        return render_template(
            "index.html", params=params, stats=get_engine().stats(), speakers=speaker_suggestions()
        )
    engine = get_engine()
    try:
        result_set = engine.run(params.q, **params.filters)
    except QueryError as err:
        return (
            render_template(
                "search.html", params=params, error=query_error_message(err), speakers=speaker_suggestions()
            ),
            400,
        )
    if params.view == "turns":
        limit = current_app.config["TURNS_PER_PAGE"]
        pages = max(1, -(-result_set.total // limit))
    else:
        limit = current_app.config["MEETINGS_PER_PAGE"]
        pages = max(1, -(-result_set.meeting_count // limit))
    if params.page > pages:
        params = params.with_(page=pages)
    if params.view == "turns":
        results = result_set.page(page=params.page, limit=limit, sort=params.sort)
    else:
        results = result_set.grouped(
            page=params.page, limit=limit, per_meeting=TURNS_PER_MEETING, sort=params.sort
        )
    years = [p for p in result_set.by_period("year") if p.period != "unknown"]
    explanation = None
    if params.explain or params.aliases:
        from indexer.explain import explain

        explanation = explain(params.q, **params.filters)
    return render_template(
        "search.html",
        explanation=explanation,
        params=params,
        error=None,
        result_set=result_set,
        results=results,
        pages=pages,
        page_numbers=page_numbers(params.page, pages),
        years=years,
        speaker_facets=result_set.by_speaker(limit=SPEAKER_FACETS),
        timeline=build_timeline(result_set, params.since, params.until),
        speakers=speaker_suggestions(),
    )


@bp.get("/meetings/<meeting_id>")
def meeting(meeting_id: str):
    """Show one whole meeting; with ?q= every match is highlighted."""
    engine = get_engine()
    record = engine.meeting(meeting_id)  # MeetingNotFound → the 404 page
    q = request.args.get("q", "").strip()
    terms: list[str] = []
    error = None
    if q:
        try:
            terms = engine.run(q, aliases=flag(request.args, "aliases")).terms
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
    speakers: dict[str, int] = {}
    for turn in record.turns:
        if turn.speaker:
            speakers[turn.speaker] = speakers.get(turn.speaker, 0) + 1
    _mark_page_changes(turns)
    return render_template(
        "meeting.html", meeting=record, turns=turns, q=q, error=error, matches=matches, speakers=speakers,
        format_name=FORMAT_NAMES.get(record.format, record.format),
    )


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
            result_set = get_engine().run(params.q, **params.filters)
            context["results"] = result_set.page(page=1, limit=EMBED_LIMIT, sort=params.sort)
        except QueryError as err:
            context["error"] = query_error_message(err)
            status = 400
    return render_template("embed.html", **context), status


# --- exports -----------------------------------------------------------------------------------


def _export_rows():
    params = SearchParams.from_args(request.args)
    if not params.q:
        raise QueryError("empty query: type a word or phrase to search for")
    result_set = get_engine().run(params.q, **params.filters)
    base_url = request.url_root.rstrip("/")
    return params, result_set, export_rows(result_set, base_url=base_url, sort=params.sort)


def csv_download(rows: list[dict], filename: str) -> Response:
    """``rows`` as a CSV attachment (UTF-8 with BOM, so Excel reads the Chinese text)."""
    stream = io.StringIO()
    write_csv(rows, stream)
    return Response(
        stream.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/export.csv")
def export_csv():
    """Every hit of the query as CSV (UTF-8 with BOM, one row per turn)."""
    _, _, rows = _export_rows()
    return csv_download(rows, "civic-search.csv")


@bp.get("/export.json")
def export_json():
    """Every hit of the query as JSON: the options, the totals and one object per turn."""
    params, result_set, rows = _export_rows()
    body = {
        "query": params.q,
        "speaker": params.speaker,
        "since": params.since,
        "until": params.until,
        "sort": params.sort,
        "total": result_set.total,
        "meetings": result_set.meeting_count,
        "rows": rows,
    }
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="civic-search.json"'},
    )


# --- errors ------------------------------------------------------------------------------------


def _wants_json() -> bool:
    path = request.path
    return (
        path.startswith(("/api/", "/feeds/"))
        or path in ("/export.csv", "/export.json", "/kwic.csv", "/kwic.json", "/healthz")
    )


def json_error(message: str, status: int):
    response = jsonify({"ok": False, "error": message, "status": status})
    response.status_code = status
    return response


def _error_page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_pages(app) -> None:
    """One error shape: JSON for the API and the exports, a page in Chinese for everything else."""

    @app.errorhandler(MeetingNotFound)
    def meeting_not_found(err):
        if _wants_json():
            return json_error(str(err), 404)
        return _error_page(404, "找不到這場會議", "這個會議編號不存在，可能已被移除或網址有誤。")

    @app.errorhandler(SourceUnavailable)
    def source_unavailable(err):
        current_app.logger.warning("source file unavailable: %s", err)
        if _wants_json():
            return json_error(str(err), 410)
        return _error_page(410, "原始檔案無法提供", "這場會議的原始檔案已被移除，或在建立索引後被修改過；請重新建立索引。")

    @app.errorhandler(QueryError)
    def query_error(err):
        if _wants_json():
            return json_error(f"invalid query: {err}", 400)
        return _error_page(400, "無法解讀這個查詢", query_error_message(err))

    @app.errorhandler(CivicSearchError)
    def service_error(err):
        current_app.logger.error("search engine unavailable: %s", err)
        if _wants_json():  # the message names the index folder: logged, not shown
            return json_error("the search index is not available; try again later or tell the administrator", 503)
        return _error_page(503, "搜尋服務暫時無法使用", "索引尚未建立或無法讀取，請稍後再試或通知管理員。")

    @app.errorhandler(404)
    def not_found(err):
        if _wants_json():
            return json_error("not found", 404)
        return _error_page(404, "找不到這個頁面", "網址可能有誤，或頁面已被移除。")

    @app.errorhandler(405)
    def method_not_allowed(err):
        if _wants_json():
            response = json_error("method not allowed", 405)
        else:
            response = make_response(_error_page(405, "不支援這個操作", "這個網址只接受 GET 請求。"))
        if getattr(err, "valid_methods", None):  # a 405 must say what is allowed (RFC 9110)
            response.headers["Allow"] = ", ".join(sorted(err.valid_methods))
        return response

    @app.errorhandler(500)
    def server_error(err):
        if _wants_json():
            return json_error("internal error", 500)
        return _error_page(500, "系統發生錯誤", "請稍後再試；若問題持續，請通知管理員。")

