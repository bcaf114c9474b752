"""Saved searches as Atom feeds (RFC 4287): ``/feeds/search.atom?q=…`` with the search page's
options (``speaker``, ``since``, ``until``, ``aliases``) lists the newest matching turns.

Vocabulary
----------
entry
    One matching turn: ``id`` is the turn's absolute address without the query (the same turn
    has the same id in every saved search), ``title`` is "meeting title — speaker", ``updated``
    is the meeting date at midnight UTC, the ``alternate`` link opens the meeting at the turn with
    the matches highlighted, ``content`` (type html) is the snippet and ``author`` the speaker.

Entries are sorted by date, newest meeting first, at most :data:`FEED_LIMIT`. Every address is
absolute and built by ``url_for(..., _external=True)`` from the request's root, so it keeps a URL
prefix. The XML is built with ElementTree (text is escaped by the serializer, never pasted).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from flask import Blueprint, Response, request, url_for

from .errors import install_json_errors
from .helpers import require_query, run_query
from .params import SearchParams

bp = install_json_errors(Blueprint("feeds", __name__, url_prefix="/feeds"))

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_LIMIT = 50
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
NO_SPEAKER = "（未標示發言人）"
# Characters XML 1.0 cannot hold (control characters other than tab and line ends, surrogates).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def rfc3339(date: str) -> str | None:
    """``2022-09-05`` → ``2022-09-05T00:00:00Z``; None when the meeting has no date."""
    return f"{date}T00:00:00Z" if date else None


def feed_title(params: SearchParams) -> str:
    filters = params.filter_summary
    where = f"（{filters}）" if filters else ""
    return f"「{params.q}」的最新發言{where}・會議逐字稿搜尋"


@bp.get("/search.atom")
def search_feed():
    """The newest turns matching the query as an Atom feed, one entry per turn (at most 50)."""
    params = require_query(SearchParams.from_args(request.args))
    result_set = run_query(params)
    hits = result_set.page(page=1, limit=FEED_LIMIT, sort="date").hits
    aliases = 1 if params.aliases else None

    newest = max((h.date for h in hits if h.date), default="")
    updated = rfc3339(newest) or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", request.url)
    _sub(feed, "title", feed_title(params))
    subtitle = f"共 {result_set.total} 段發言、{result_set.meeting_count} 場會議；依會議日期列出最新的 {len(hits)} 段"
    _sub(feed, "subtitle", subtitle)
    _sub(feed, "updated", updated)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=request.url)
    search_args = params.url_args(sort="date", page=1, view="turns", explain=False)
    search_url = url_for("views.search", _external=True, **search_args)
    _sub(feed, "link", rel="alternate", type="text/html", href=search_url)
    author = _sub(feed, "author")
    _sub(author, "name", "會議逐字稿搜尋")
    _sub(feed, "generator", "civic-search")
    for hit in hits:
        entry = _sub(feed, "entry")
        anchor = f"turn-{hit.turn}"
        _sub(entry, "id", url_for("views.meeting", meeting_id=hit.meeting_id, _anchor=anchor, _external=True))
        _sub(entry, "title", f"{hit.title or hit.meeting_id} — {hit.speaker or NO_SPEAKER}")
        _sub(entry, "updated", rfc3339(hit.date) or updated)
        link = url_for(
            "views.meeting", meeting_id=hit.meeting_id, q=params.q, aliases=aliases, _anchor=anchor, _external=True
        )
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
        entry_author = _sub(entry, "author")
        _sub(entry_author, "name", hit.speaker or NO_SPEAKER)
        _sub(entry, "content", hit.snippet, type="html")
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, headers={"Content-Type": CONTENT_TYPE})
