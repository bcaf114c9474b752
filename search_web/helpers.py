"""What the pages and their JSON twins share: the engine, one way from request to results, and
the responses every blueprint builds the same way.

The app keeps its settings and its one engine in ``app.extensions["civic_search"]``
(:class:`CivicSearch`); blueprints reach them through :func:`get_engine` and :func:`get_settings`
and never import the app factory (which imports them).

Vocabulary
----------
result set
    All turns matching a request's query and filters (:class:`indexer.search.ResultSet`).
    :func:`run_query` is the one place a request's :class:`~search_web.params.SearchParams`
    become one, so a page and its JSON twin answer the same query the same way (aliases and
    filters included); :func:`search_page` is the same query's page of hits, from the engine's
    page cache.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass

from flask import Response, current_app

from indexer.errors import QueryError
from indexer.export import write_csv
from indexer.results import PeriodCount, SearchPage, SpeakerCount
from indexer.settings import Settings

from .params import SearchParams

EXTENSION = "civic_search"
#: Speaker labels offered in the search form's list.
SPEAKER_SUGGESTIONS = 100
#: Speakers in the search page's facet, and by default in /api/facets.
SPEAKER_FACETS = 10


class CivicSearch:
    """The app's settings and its one search engine, opened on first use unless given."""

    def __init__(self, settings: Settings, engine=None):
        self.settings = settings
        self._engine = engine
        self._owned = engine is None  # an engine given by the caller is the caller's to close
        self._lock = threading.Lock()

    @property
    def engine(self):
        """The engine (raises the library's errors when the index cannot be opened)."""
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    from indexer.search import SearchEngine

                    self._engine = SearchEngine(settings=self.settings)
                engine = self._engine
        return engine

    def close(self) -> None:
        """Close the engine if this extension opened it (its index files)."""
        with self._lock:
            if self._owned and self._engine is not None:
                self._engine.close()
                self._engine = None


def get_engine():
    """The current app's SearchEngine."""
    return current_app.extensions[EXTENSION].engine


def get_settings() -> Settings:
    """The current app's settings."""
    return current_app.extensions[EXTENSION].settings


# --- from request to results --------------------------------------------------------------------


def run_query(params: SearchParams):
    """Every turn matching the request's query and filters: the ResultSet a page and its JSON
    twin are both drawn from. Raises QueryError for a malformed query or option."""
    return get_engine().run(**params.query_args)


def search_page(params: SearchParams, limit: int) -> SearchPage:
    """``run_query(params).page(page=params.page, limit=limit, sort=params.sort)``, answered from
    the engine's page cache when the same page was asked for before."""
    return get_engine().search(**params.query_args, page=params.page, limit=limit, sort=params.sort)


def require_query(params: SearchParams) -> SearchParams:
    """``params``, or QueryError when there is no query (downloads and feeds need one)."""
    if not params.q:
        raise QueryError("empty query: type a word or phrase to search for")
    return params


@dataclass
class Facets:
    """Matching turns per year and per speaker: the search page's facets and ``/api/facets``."""

    years: list[PeriodCount]
    speakers: list[SpeakerCount]


def facets(result_set, speakers: int | None = SPEAKER_FACETS) -> Facets:
    """The facets of a result set, the first ``speakers`` speakers (None: all)."""
    return Facets(result_set.by_period("year"), result_set.by_speaker(limit=speakers))


def explanation(params: SearchParams):
    """How the request's query was read (:class:`indexer.explain.Explanation`)."""
    from indexer.explain import explain

    return explain(params.q, **params.filters, settings=get_settings())


def alias_expansions(params: SearchParams) -> list[dict]:
    """What the alias list added to the query (``[{"term", "terms"}]``); empty when aliases are off."""
    return explanation(params).expansions if params.aliases else []


def speaker_suggestions() -> list[str]:
    return get_engine().speaker_labels("", SPEAKER_SUGGESTIONS)


# --- responses ------------------------------------------------------------------------------------


def query_error_message(err: QueryError) -> str:
    """The library's message, with the position when it points into the query."""
    if err.position:
        return f"{err.message}（第 {err.position} 個字元）"
    return err.message


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page numbers to show: the first, the last and a window around the current (None = gap)."""
    shown = sorted({1, last, *range(max(1, current - around), min(last, current + around) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and number - out[-1] > 1:
            out.append(None)
        out.append(number)
    return out


def page_count(items: int, per_page: int) -> int:
    """How many pages ``items`` fill, at least one."""
    return max(1, -(-items // per_page))


def csv_download(rows: list[dict], filename: str) -> Response:
    """``rows`` as a CSV attachment (UTF-8 with BOM, so Excel reads the Chinese text)."""
    stream = io.StringIO()
    write_csv(rows, stream)
    return Response(
        stream.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def json_download(body: dict, filename: str) -> Response:
    """``body`` as a JSON attachment (Chinese as written, indented for people who open it)."""
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
