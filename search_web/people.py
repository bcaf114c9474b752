"""Persons on the web: the list of persons (``/people``) and one person's page (``/people/<name>``),
with their JSON twins ``/api/people`` and ``/api/people/<name>`` (the objects of ``civic-search
people --json`` and :meth:`indexer.person_views.PersonPage.to_dict`).

A person's name in the URL is compared as a person key (臺/台, case and spaces alike); an unknown
name is a 404 (in the JSON shape under ``/api/``). Paging is forgiving on the pages, strict in
the API.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from indexer.errors import PersonNotFound
from indexer.person_views import people_object, person_page, person_summaries

from .errors import install_json_errors, json_error
from .helpers import get_engine, page_count, page_numbers
from .params import API_MAX_LIST, API_MAX_PAGE, strict_int
from .timeline import build_timeline

bp = Blueprint("people", __name__)
api = install_json_errors(Blueprint("people_api", __name__, url_prefix="/api"))

PEOPLE_PER_PAGE = 100
MAX_NAME = 200
_BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def speaker_query(name: str) -> str:
    """The query that finds a person's turns: ``speaker:唐鳳`` (quoted when the name has a space)."""
    return f'speaker:"{name}"' if " " in name else f"speaker:{name}"


@bp.app_template_global()
def person_url(name: str) -> str:
    """The address of a person's page."""
    return url_for("people.person", name=name)


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or _BAD_NAME.search(name):
        abort(404)
    return name


@bp.app_errorhandler(PersonNotFound)
def person_not_found(err):
    return render_template("error.html", status=404, title="找不到這位發言人",
                           message="索引裡沒有這個名字的發言人；可以在發言人列表中找找看。"), 404


@api.errorhandler(PersonNotFound)
def api_person_not_found(err):
    return json_error(str(err), 404)


@bp.get("/people")
def people():
    """List the persons of the index, most turns first; ``q`` keeps those whose name contains it."""
    q = request.args.get("q", "").strip()
    summaries = person_summaries(get_engine(), q)
    pages = page_count(len(summaries), PEOPLE_PER_PAGE)
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(1, page), pages)
    shown = summaries[(page - 1) * PEOPLE_PER_PAGE : page * PEOPLE_PER_PAGE]
    return render_template("people.html", q=q, people=shown, total=len(summaries), page=page, pages=pages,
                           page_numbers=page_numbers(page, pages), start=(page - 1) * PEOPLE_PER_PAGE)


@api.get("/people")
def api_people():
    """Every person: the object ``civic-search people --json`` prints (``q``, ``limit``)."""
    engine = get_engine()
    limit = strict_int(request.args, "limit", 0, 0, API_MAX_LIST)
    summaries = person_summaries(engine, request.args.get("q", "").strip())
    return jsonify(people_object(engine, summaries, limit))


@bp.get("/people/<name>")
def person(name: str):
    """One person: labels, meetings, turns, a timeline, the phrases they said most often, and a
    search box limited to them."""
    name = _check_name(name)
    page = request.args.get("page", 1, type=int) or 1
    record = person_page(get_engine(), name, page=max(1, page))
    return render_template("person.html", record=record, summary=record.summary,
                           query=speaker_query(record.summary.person), timeline=build_timeline(record),
                           page_numbers=page_numbers(record.page, record.pages))


@api.get("/people/<name>")
def api_person(name: str):
    """One person: the page's data as JSON (``page`` pages through their turns)."""
    name = _check_name(name)
    page = strict_int(request.args, "page", 1, 1, API_MAX_PAGE)
    record = person_page(get_engine(), name, page=page, base_url=request.url_root.rstrip("/"))
    return jsonify(record.to_dict())
