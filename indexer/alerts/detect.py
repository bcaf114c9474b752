"""Which meetings are new for a watch, and which of their turns match it.

The index records no indexing time, so newness is kept in the alerts database: each sync
records the meeting versions (id and content hash) the index holds that were never seen
before, under a new sequence number (:meth:`AlertStore.record_meetings`). A watch's new
meetings are those first seen after the sequence it was last notified up to; a changed meeting
is a new version and so counts as newly indexed. Rebuilding the index changes no hash and
alerts nobody.

Matching uses the search engine itself (:meth:`SearchEngine.run`): the same query language,
exact phrase semantics, filters and aliases as ``civic-search search``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..results import Hit
from .store import Watch


@dataclass
class NewHits:
    """The turns matching a watch in its new meetings: ``total`` turns in ``meetings``
    meetings, the first ``hits`` of them newest meeting first, in the order they were spoken."""

    watch: Watch
    total: int = 0
    meetings: int = 0
    hits: list[Hit] = field(default_factory=list)


class Matcher:
    """Evaluates watches against one engine; watches with the same search share one evaluation."""

    def __init__(self, engine, max_passages: int):
        self.engine = engine
        self.max_passages = max_passages
        self._results: dict[tuple, object] = {}

    def new_hits(self, watch: Watch, meeting_ids: set[str]) -> NewHits:
        """What ``watch`` matches in ``meeting_ids`` (raises QueryError for a query that a
        changed query language no longer reads)."""
        found = NewHits(watch)
        if not meeting_ids:
            return found
        key = (watch.query, watch.speaker, watch.since, watch.until, watch.aliases)
        result_set = self._results.get(key)
        if result_set is None:
            result_set = self.engine.run(watch.query, **watch.filters)
            self._results[key] = result_set
        snap = result_set.snap
        docs = [g for g in result_set.ordered("date") if snap.meeting_ids[g] in meeting_ids]
        found.total = len(docs)
        found.meetings = len({snap.meeting_ids[g] for g in docs})
        found.hits = [result_set.hit(g) for g in docs[: self.max_passages]]
        return found
