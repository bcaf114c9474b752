"""Downloads: every hit of a query (``/export.csv``, ``/export.json``) and every occurrence in
context (``/kwic.csv``, ``/kwic.json``), as files.

They take the search page's options (``q``, ``speaker``, ``since``, ``until``, ``aliases``,
``sort``; ``width`` for the keyword in context), read forgivingly as on the pages, and answer
errors in the JSON shape (a download is read by a program as often as by a person).
"""

from __future__ import annotations

from flask import Blueprint, request

from indexer.export import export_rows
from indexer.research import kwic_object, occurrence_rows

from .errors import install_json_errors
from .helpers import csv_download, json_download, require_query, run_query
from .params import SearchParams, kwic_width

bp = install_json_errors(Blueprint("downloads", __name__))


def _base_url() -> str:
    return request.url_root.rstrip("/")


def _export():
    params = require_query(SearchParams.from_args(request.args))
    result_set = run_query(params)
    return params, result_set, export_rows(result_set, base_url=_base_url(), sort=params.sort)


@bp.get("/export.csv")
def export_csv():
    """Every hit of the query as CSV (UTF-8 with BOM, one row per turn)."""
    _, _, rows = _export()
    return csv_download(rows, "civic-search.csv")


@bp.get("/export.json")
def export_json():
    """Every hit of the query as JSON: the options, the totals and one object per turn."""
    params, result_set, rows = _export()
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
    return json_download(body, "civic-search.json")


def _kwic():
    params = require_query(SearchParams.from_args(request.args))
    width = kwic_width(request.args)
    result_set = run_query(params)
    return result_set, occurrence_rows(result_set, width=width, sort="date", base_url=_base_url()), width


@bp.get("/kwic.csv")
def kwic_csv():
    """Every occurrence of the query in context as CSV (UTF-8 with BOM, one row per occurrence)."""
    _, rows, _ = _kwic()
    return csv_download(rows, "civic-search-kwic.csv")


@bp.get("/kwic.json")
def kwic_json():
    """Every occurrence of the query in context as JSON (the object of ``civic-search kwic --json``)."""
    result_set, rows, width = _kwic()
    return json_download(kwic_object(result_set, rows, width), "civic-search-kwic.json")
