"""Exports: every hit of a query as rows (keyword in context), and those rows as CSV.

One row per matching turn, for the web's ``/export.csv`` and ``/export.json`` and the CLI's
``search --csv``; ``speaker`` is the label as written, ``person`` who it is ("" when unknown). The
context is the turn's first match, ``snippets.contexts(text, terms,
30)[0]`` (the first of ``ResultSet.occurrences(width=30)`` for that turn): ``left``, ``match``
and ``right`` are plain text (not escaped), 30 characters each side. A turn matched by a filter
alone (``speaker:唐鳳``) has no match: ``left`` and ``match`` are empty and ``right`` holds the
first 60 characters of the turn."""

from __future__ import annotations

import csv
import html
from typing import IO, Iterable
from urllib.parse import quote

from .results import Occurrence, without_unknown_page

#: The columns, in order (also the keys of each row).
COLUMNS = ("meeting_id", "title", "date", "speaker", "person", "turn", "page", "left", "match", "right", "link")
CONTEXT_WIDTH = 30
FILTER_ONLY_LENGTH = 60
#: Cells starting with these could run as formulas in a spreadsheet; they get a leading "'".
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def meeting_link(base_url: str, meeting_id: str, query: str, turn: int) -> str:
    """The web address of one turn: ``{base_url}/meetings/<id>?q=<query>#turn-N`` (no ``q`` when
    ``query`` is empty)."""
    highlight = f"?q={quote(query, safe='')}" if query else ""
    return f"{base_url.rstrip('/')}/meetings/{quote(meeting_id, safe='')}{highlight}#turn-{turn}"


def export_rows(result_set, base_url: str = "", sort: str = "relevance") -> list[dict]:
    """One dict per hit of ``result_set`` (a :class:`~indexer.search.ResultSet`), in ``sort`` order.

    ``base_url`` is put before each ``link`` (``https://host/search``); empty gives a path.
    """
    first: dict[tuple[str, int], tuple[str, str, str]] = {}
    if result_set.terms:
        for occ in result_set.occurrences(width=CONTEXT_WIDTH, sort=sort):
            first.setdefault((occ.meeting_id, occ.turn), (occ.left, occ.match, occ.right))
    rows = []
    for hit in result_set.page(page=1, limit=0, sort=sort).hits:
        found = first.get((hit.meeting_id, hit.turn))
        if found:
            left, match, right = found
        else:
            # No term matched in this turn: its snippet is the escaped text from the start, line
            # breaks shown as spaces, as in contexts().
            left, match, right = "", "", html.unescape(hit.snippet)[:FILTER_ONLY_LENGTH]
        occ = Occurrence(hit.meeting_id, hit.title, hit.date, hit.speaker, hit.person, hit.turn, left, match, right,
                         hit.source, hit.page)
        rows.append(row(occ, meeting_link(base_url, hit.meeting_id, result_set.query, hit.turn)))
    return rows


def row(occurrence: Occurrence, link: str) -> dict:
    """The row of :data:`COLUMNS` for one occurrence (or a hit's first match) and its link: the
    one row shape of every export, ``kwic`` and ``search --csv``. ``page`` (where the turn starts)
    is there only for paged formats (PDF); CSV writes an empty cell for the others."""
    return without_unknown_page({
        "meeting_id": occurrence.meeting_id,
        "title": occurrence.title,
        "date": occurrence.date,
        "speaker": occurrence.speaker,
        "person": occurrence.person,
        "turn": occurrence.turn,
        "page": occurrence.page,
        "left": occurrence.left,
        "match": occurrence.match,
        "right": occurrence.right,
        "link": link,
    })


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict], stream: IO[str], columns: tuple[str, ...] = COLUMNS) -> None:
    """Write ``rows`` as CSV to a text ``stream``: a UTF-8 BOM first (Excel), then a header of
    ``columns`` (by default :data:`COLUMNS`, the hit and occurrence rows).

    Open a file for it with ``newline=""``; cells that a spreadsheet would run as a formula
    (starting with ``=``, ``+``, ``-``, ``@``) are written with a leading apostrophe.
    """
    stream.write("\ufeff")
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in columns})
