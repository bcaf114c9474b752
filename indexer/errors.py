"""The library's small named exceptions; front ends turn them into one-line messages.

Every error the library raises for a user to act on is a :class:`CivicSearchError`, so an
application embedding the engine needs one ``except`` clause. Some are also a built-in type
(``ValueError``, ``FileNotFoundError``) where code written before them caught that.
"""

from __future__ import annotations


class CivicSearchError(Exception):
    """Base class: an error a user can act on, with a one-line message."""


class IndexNotFound(CivicSearchError):
    """There is no index in the given directory."""


class IndexOutdated(CivicSearchError):
    """The index was built by an incompatible version and must be rebuilt."""


class IndexLocked(CivicSearchError):
    """Another indexer holds the index's write lock."""


class IndexWriteError(CivicSearchError):
    """Writing the index failed (disk full, permissions); the previous index is untouched."""


class MeetingNotFound(CivicSearchError):
    """No meeting with the given id."""


class SourceUnavailable(CivicSearchError):
    """A meeting's original file is gone, or has changed since it was indexed."""


class PersonNotFound(CivicSearchError):
    """No person of the given name in the index."""


class PersonListError(CivicSearchError):
    """A person list file named in the settings (``$CIVIC_SEARCH_PEOPLE``) cannot be read."""


class QueryError(CivicSearchError):
    """A query that cannot be read. ``position`` is 1-based in the query string, or None."""

    def __init__(self, message: str, position: int | None = None):
        self.message = message
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{message}{where}")


class BadParameter(CivicSearchError, ValueError):
    """An option value that cannot be accepted (a page, limit, sort or width out of range)."""


class SettingsError(CivicSearchError, ValueError):
    """A configuration value (environment, configuration file) that cannot be used."""


class CorpusMissing(CivicSearchError, FileNotFoundError):
    """The installation lacks the bundled sample corpus."""
