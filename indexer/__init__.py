"""civic-search: exact full-text search for Traditional Chinese civic meeting transcripts.

The library's front door: everything an application needs is importable from here::

    from indexer import SearchEngine, Settings, build_index

    report = build_index(["transcripts/"], "/var/lib/civic-search/index")
    engine = SearchEngine("/var/lib/civic-search/index")
    page = engine.search("淨零排碳", limit=5)       # SearchPage of Hit
    for hit in page.hits:
        print(hit.date, hit.speaker, hit.snippet)

Names are loaded on first use, so ``import indexer`` stays cheap (a command-line search in a new
process imports only what it needs). Every error the library raises for a user to act on is a
:class:`CivicSearchError`.

Layers, each importing only those before it: parsing (:mod:`indexer.transcripts`) → analysis
(:mod:`indexer.analysis`, :mod:`indexer.query`) → the index (:mod:`indexer.build` writes,
:mod:`indexer.snapshot` reads, :mod:`indexer.indexdir` owns the folder) → search
(:mod:`indexer.search`) → research views (:mod:`indexer.research`, :mod:`indexer.export`) → the
command line (:mod:`indexer.cli`) and the web app (``search_web``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → the module that defines it.
_EXPORTS = {
    # searching
    "SearchEngine": "search",
    "ResultSet": "search",
    "SearchPage": "results",
    "Hit": "results",
    "GroupedPage": "results",
    "MeetingGroup": "results",
    "MeetingRecord": "results",
    "TurnRecord": "results",
    "Occurrence": "results",
    "PeriodCount": "results",
    "SpeakerCount": "results",
    "IndexStats": "results",
    # persons behind speaker labels
    "read_label": "labels",
    "LabelReading": "labels",
    "PersonDirectory": "people",
    "PersonSummary": "person_views",
    "PersonPage": "person_views",
    "person_summaries": "person_views",
    "person_page": "person_views",
    # (explain() itself stays in indexer.explain: the name is also its module's.)
    "Explanation": "explain",
    "build_query": "query",
    "fold": "analysis",
    # research views
    "occurrence_rows": "research",
    "timeline": "research",
    # building
    "build_index": "build",
    "IndexReport": "build",
    "Skipped": "writing",
    "read_transcript": "transcripts",
    "Meeting": "transcripts",
    "Turn": "transcripts",
    # configuration
    "Settings": "settings",
    "IndexingSettings": "settings",
    "AnalysisSettings": "settings",
    "QuerySettings": "settings",
    "WebSettings": "settings",
    "PeopleSettings": "settings",
    "AlertSettings": "settings",
    # errors
    "CivicSearchError": "errors",
    "IndexNotFound": "errors",
    "IndexOutdated": "errors",
    "IndexLocked": "errors",
    "IndexWriteError": "errors",
    "MeetingNotFound": "errors",
    "PersonNotFound": "errors",
    "PersonListError": "errors",
    "QueryError": "errors",
    "BadParameter": "errors",
    "SettingsError": "errors",
    "CorpusMissing": "errors",
    "TranscriptError": "transcripts",
    "AliasError": "aliases",
    "CompactFormatError": "codec",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'indexer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from .aliases import AliasError
    from .analysis import fold
    from .build import IndexReport, build_index
    from .codec import CompactFormatError
    from .errors import (
        BadParameter,
        CivicSearchError,
        CorpusMissing,
        IndexLocked,
        IndexNotFound,
        IndexOutdated,
        IndexWriteError,
        MeetingNotFound,
        PersonListError,
        PersonNotFound,
        QueryError,
        SettingsError,
    )
    from .explain import Explanation
    from .labels import LabelReading, read_label
    from .people import PersonDirectory
    from .person_views import PersonPage, PersonSummary, person_page, person_summaries
    from .query import build_query
    from .research import occurrence_rows, timeline
    from .results import (
        GroupedPage,
        Hit,
        IndexStats,
        MeetingGroup,
        MeetingRecord,
        Occurrence,
        PeriodCount,
        SearchPage,
        SpeakerCount,
        TurnRecord,
    )
    from .search import ResultSet, SearchEngine
    from .settings import (
        AlertSettings,
        AnalysisSettings,
        IndexingSettings,
        PeopleSettings,
        QuerySettings,
        Settings,
        WebSettings,
    )
    from .transcripts import Meeting, Turn, TranscriptError, read_transcript
    from .writing import Skipped
