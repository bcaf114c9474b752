"""Research views of one result set, as plain data for the CLI and the web: keyword in context,
mentions per period, and who said it.

Vocabulary
----------
occurrence row
    One occurrence of a query term (not one turn: a turn that says a phrase three times gives
    three rows): ``meeting_id``, ``title``, ``date``, ``speaker`` (the label as written),
    ``person`` (who it is, "" when the label names nobody), ``turn``, ``left``, ``match``,
    ``right`` (plain text, ``width`` characters each side) and ``link`` (the turn's web address,
    a path unless a base URL is given), built by :func:`indexer.export.row`. The keys are
    :data:`indexer.export.COLUMNS`, so :func:`indexer.export.write_csv` writes them.
period
    A year (``2022``) or a month (``2022-09``); :func:`timeline` lists every period from the
    first to the last with matches, empty ones included, then ``unknown`` (meetings without a
    date) when there are such matches.

Occurrences are counted per term as ``str.count`` does (non-overlapping), in the folded text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .export import meeting_link, row
from .options import DEFAULT_PERIOD, DEFAULT_WIDTH
from .periods import UNKNOWN, periods_between
from .results import Occurrence, PeriodCount
from .snippets import contexts

__all__ = [
    "OccurrencePage",
    "kwic_object",
    "occurrence_page",
    "occurrence_rows",
    "speakers_object",
    "timeline",
    "timeline_object",
]


@dataclass
class OccurrencePage:
    """A slice of the occurrence rows of a result set, with the totals of all of them."""

    rows: list[dict]
    occurrences: int  # all occurrences, not only this slice
    turns: int  # turns with at least one occurrence
    meetings: int  # meetings with at least one occurrence
    start: int  # index of the first row in the whole list


def occurrence_rows(result_set, *, width: int = DEFAULT_WIDTH, sort: str = "date", base_url: str = "") -> list[dict]:
    """Every occurrence row of ``result_set`` (a :class:`~indexer.search.ResultSet`), in
    ``sort`` order (``date``: newest meeting first; ``relevance``), each turn's in text order."""
    query = result_set.query
    return [row(occ, meeting_link(base_url, occ.meeting_id, query, occ.turn))
            for occ in result_set.occurrences(width=width, sort=sort)]


def occurrence_page(
    result_set, *, width: int = DEFAULT_WIDTH, sort: str = "date", start: int = 0, limit: int = 100, base_url: str = ""
) -> OccurrencePage:
    """Rows ``start`` to ``start + limit`` of :func:`occurrence_rows`, computing contexts only for
    the turns that hold them (a page of a very common term stays cheap)."""
    snap = result_set.snap
    counts = [(g, result_set.occurrence_count(g)) for g in result_set.ordered(sort)]
    counts = [(g, n) for g, n in counts if n]
    total = sum(n for _, n in counts)
    meetings = len({snap.meeting_ids[g] for g, _ in counts})
    rows: list[dict] = []
    seen = 0
    for g, n in counts:
        if seen + n <= start:
            seen += n
            continue
        if len(rows) >= limit:
            break
        mid = snap.meeting_ids[g]
        title, date, source = snap.meetings.get(mid, ("", "", ""))
        turn = snap.turns[g]
        person = result_set.person(g)
        page = snap.pages[g] or None
        link = meeting_link(base_url, mid, result_set.query, turn)
        for i, (left, match, right) in enumerate(contexts(snap.text(g), result_set.terms, width)):
            if seen + i >= start and len(rows) < limit:
                occ = Occurrence(mid, title, date, snap.speakers[g], person, turn, left, match, right, source, page)
                rows.append(row(occ, link))
        seen += n
    return OccurrencePage(rows, total, len(counts), meetings, start)


def kwic_object(result_set, rows: list[dict], width: int) -> dict:
    """The JSON object of ``civic-search kwic --json`` and the web's ``/kwic.json``."""
    return {
        "query": result_set.query,
        "occurrences": len(rows),
        "turns": len({(r["meeting_id"], r["turn"]) for r in rows}),
        "meetings": len({r["meeting_id"] for r in rows}),
        "width": width,
        "rows": rows,
    }


# --- timeline ------------------------------------------------------------------------------------


def timeline(result_set, by: str = DEFAULT_PERIOD) -> list[PeriodCount]:
    """Turns, meetings and occurrences per period, from the first to the last period with
    matches (empty periods as zeros), then ``unknown`` if some matches have no date."""
    counted = result_set.by_period(by)
    known = {p.period: p for p in counted if p.period != UNKNOWN}
    out: list[PeriodCount] = []
    if known:
        for name in periods_between(min(known), max(known), by):
            out.append(known.get(name) or PeriodCount(name, 0, 0, 0))
    out.extend(p for p in counted if p.period == UNKNOWN)
    return out


def timeline_object(result_set, periods: list[PeriodCount], by: str) -> dict:
    """The JSON object of ``civic-search timeline --json`` and ``/api/timeline``."""
    return {
        "query": result_set.query,
        "by": by,
        "total": result_set.total,
        "meetings": result_set.meeting_count,
        "occurrences": sum(p.occurrences for p in periods),
        "periods": [
            {"period": p.period, "occurrences": p.occurrences, "meetings": p.meetings, "turns": p.turns}
            for p in periods
        ],
    }


# --- speakers -------------------------------------------------------------------------------------


def speakers_object(result_set, ranked: list, limit: int = 0) -> dict:
    """The JSON object of ``civic-search speakers --json`` and ``/api/speakers/ranking``: the
    first ``limit`` (0: all) of ``ranked`` (``ResultSet.by_speaker()``), and how many there are.

    One row per person (``speaker`` and ``person`` are the person's name, ``labels`` every label
    that names them, with its turns), or per label that names nobody (``person`` is "")."""
    speakers = ranked[:limit] if limit else ranked
    return {
        "query": result_set.query,
        "total": result_set.total,
        "meetings": result_set.meeting_count,
        "speaker_count": len(ranked),
        "speakers": [
            {
                "speaker": s.speaker,
                "speaker_name": s.speaker_name,
                "organisation": s.organisation,
                "person": s.person,
                "labels": s.labels,
                "occurrences": s.occurrences,
                "turns": s.turns,
                "meetings": s.meetings,
                "first_date": s.first_date,
                "last_date": s.last_date,
            }
            for s in speakers
        ],
    }

