"""The search API: query strings in, :class:`SearchPage` of :class:`Hit` out.

This is the one module that reads the Whoosh index for searching; the CLI and the web app call
:class:`SearchEngine` and format what it returns.

Vocabulary
----------
hit
    A turn that matches the query, with its meeting's title, date and source, a relevance score
    and a snippet.
snippet
    HTML-escaped original text around the first match, every match of a query term wrapped in
    ``<mark>`` (whole terms only, never stray characters).

Evaluation lives in :mod:`indexer.evaluate`, the opened index in :mod:`indexer.snapshot`.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from pathlib import Path
from typing import Iterator

from .analysis import fold
from .errors import IndexOutdated, MeetingNotFound, QueryError, SourceUnavailable
from .paths import read_regular_file
from .evaluate import Evaluator
from .people import PersonDirectory, PersonList, load_person_list, person_key
from .indexdir import check_index
from .options import DEFAULT_PERIOD, DEFAULT_WIDTH, MAX_LIMIT, PERIODS, SORTS, period_error, sort_error
from .periods import period_of
from .query import Node, build_query, positive_texts
from .results import (
    GroupedPage,
    Hit,
    IndexStats,
    MeetingGroup,
    MeetingRecord,
    Occurrence,
    SourceFile,
    PeriodCount,
    SearchPage,
    SpeakerCount,
    TurnRecord,
)
from .settings import Settings, settings_for
from .snapshot import Snapshot, desc
from .snippets import contexts, make_snippet, occurrence_spans
from .tally import SpeakerTally, person_count

PAGE_CACHE_SIZE = 512


def _open_snapshot(index_dir: Path, attempts: int = 5) -> Snapshot:
    """Open the newest generation. A commit landing meanwhile deletes the generation being
    opened (its TOC, its segment files): then open the one after it."""
    for attempt in range(attempts):
        try:
            check_index(index_dir)
            return Snapshot(index_dir)
        except (OSError, IndexOutdated):
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
    raise AssertionError("unreachable")


class SearchEngine:
    """Searches one index directory; reopens the index when a new generation is committed.

    One engine per process is the intended use: opening an index loads its turn stores, and
    searches then read only postings and in-memory arrays.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike | None = None,
        *,
        settings: Settings | None = None,
        cache_size: int = PAGE_CACHE_SIZE,
    ):
        """Open the index in ``index_dir`` (default: ``settings.index_dir``).

        ``settings`` gives the extra alias and person list files (default: none). Raises
        IndexNotFound or IndexOutdated when the folder holds no usable index.
        """
        self.settings = settings_for(index_dir, settings)
        self.index_dir = self.settings.index_dir
        self.cache_size = cache_size
        self._lock = threading.RLock()
        self._pages: OrderedDict[tuple, SearchPage] = OrderedDict()
        self._snapshot = _open_snapshot(self.index_dir)  # checks the index too

    # --- lifecycle -------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current snapshot, reopened first if the index has a newer generation."""
        current = self._snapshot
        try:
            latest = current.ix.latest_generation()
        except OSError:
            return current  # the folder is being replaced; keep answering from what we have
        if latest != current.generation:
            with self._lock:
                if self._snapshot.generation != latest:
                    try:
                        fresh = _open_snapshot(self.index_dir)
                    except (OSError, IndexOutdated):
                        return self._snapshot  # keep answering; the next search tries again
                    old, self._snapshot = self._snapshot, fresh
                    self._retire(old)
            current = self._snapshot
        return current

    # A snapshot replaced by a newer generation is closed once no search still reads it; the
    # counts are kept under the engine's lock, so a search never gets a closed reader.

    def _retire(self, snap: Snapshot) -> None:
        snap.retired = True
        if snap.users == 0:
            snap.close()

    @contextmanager
    def _use(self) -> Iterator[Snapshot]:
        self.snapshot()
        with self._lock:
            snap = self._snapshot
            snap.users += 1
        try:
            yield snap
        finally:
            with self._lock:
                snap.users -= 1
                if snap.retired and snap.users == 0:
                    snap.close()

    def close(self) -> None:
        """Close the index files (once no search still reads them); the engine is then done."""
        with self._lock:
            self._retire(self._snapshot)

    # --- searching -------------------------------------------------------------------------

    def run(
        self,
        query: str,
        *,
        speaker: str | None = None,
        since: str | None = None,
        until: str | None = None,
        aliases: bool = False,
    ) -> "ResultSet":
        """Evaluate ``query`` (with the option filters) into the full set of matching turns.

        ``speaker`` (substring of the speaker label or of the person's name), ``since`` and ``until`` (YYYY, YYYY-MM or
        YYYY-MM-DD) narrow the query; ``aliases`` expands terms with the alias list
        (:mod:`indexer.aliases`). Raises QueryError for malformed queries or options.
        """
        tree = build_query(query, speaker=speaker, since=since, until=until)
        if aliases:
            from .aliases import expand_tree, load_aliases

            tree = expand_tree(tree, load_aliases(self.settings.query.alias_files))
        return self.run_tree(tree, query)

    def run_tree(self, tree: Node, query: str = "") -> "ResultSet":
        """Evaluate an already built query tree (``query`` is the text reported with it)."""
        person_list = self.person_list()
        with self._use() as snap:
            people = snap.people(person_list)
            scores = Evaluator(snap, people).evaluate(tree, None)
        return ResultSet(snap, query, tree, scores, people)

    # --- persons ---------------------------------------------------------------------------

    def person_list(self) -> PersonList:
        """The person list in effect: the bundled one and the settings' files (re-read when edited)."""
        return load_person_list(self.settings.people.person_files)

    def people(self) -> PersonDirectory:
        """Who the speaker labels of the current index are (see :mod:`indexer.people`)."""
        return self.snapshot().people(self.person_list())

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        limit: int = 10,
        speaker: str | None = None,
        since: str | None = None,
        until: str | None = None,
        sort: str = "relevance",
        aliases: bool = False,
    ) -> SearchPage:
        """Run ``query`` and return one page of hits with exact totals (``limit`` 0: all).

        Pages are cached per index generation (PAGE_CACHE_SIZE most recent): a server answers a
        repeated query, or a user paging back, without evaluating it again. Treat the returned
        page as read-only.
        """
        _check_paging(page, limit, sort)
        generation = self.snapshot().generation
        if aliases:
            from .aliases import alias_version

            # An edited alias list must not be answered from the cache.
            aliases = alias_version(self.settings.query.alias_files)
        # Persons come from the person list: an edited list must not be answered from the cache.
        people_version = self.person_list().version
        key = (generation, query, page, limit, speaker, since, until, sort, aliases, people_version)
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                return cached
        result = self.run(query, speaker=speaker, since=since, until=until, aliases=bool(aliases))
        answer = result.page(page=page, limit=limit, sort=sort)
        if limit and self.cache_size and result.snap.generation == generation:
            with self._lock:
                self._pages[key] = answer
                while len(self._pages) > self.cache_size:
                    self._pages.popitem(last=False)
        return answer

    #: The query tree for a query and its option filters (see :func:`indexer.query.build_query`).
    build_tree = staticmethod(build_query)

    def speaker_labels(self, prefix: str = "", limit: int = 20) -> list[str]:
        """Speaker labels containing ``prefix`` (folded), most frequent first: suggestions."""
        snap = self.snapshot()
        wanted = fold(prefix.strip())
        counted = [
            (-len(docs), snap.speakers[docs[0]])
            for label, docs in snap.speaker_docs.items()
            if label and wanted in label
        ]
        return [label for _, label in sorted(counted)[:limit]]

    # --- meetings and statistics ------------------------------------------------------------

    def meeting(self, meeting_id: str) -> MeetingRecord:
        """The whole meeting ``meeting_id`` (raises MeetingNotFound), each turn with its person."""
        person_list = self.person_list()
        with self._use() as snap:
            return self._meeting(snap, meeting_id, snap.people(person_list))

    @staticmethod
    def _meeting(snap: Snapshot, meeting_id: str, people: PersonDirectory) -> MeetingRecord:
        if meeting_id not in snap.meeting_docnum:
            raise MeetingNotFound(f"no meeting with id '{meeting_id}'")
        with snap.io_lock:
            stored = snap.reader.stored_fields(snap.meeting_docnum[meeting_id])
            labels = {g: snap.reader.stored_fields(g) for g in snap.meeting_docs.get(meeting_id, [])}
        turns = [
            TurnRecord(
                turn=snap.turns[g],
                speaker=snap.speakers[g],
                speaker_name=fields.get("speaker_name", ""),
                organisation=fields.get("organisation", ""),
                section=fields.get("section", ""),
                text=snap.text(g),
                page=snap.pages[g] or None,
                person=people.person_of(snap.speakers[g], meeting_id),
            )
            for g in sorted(snap.meeting_docs.get(meeting_id, []), key=lambda g: snap.turns[g])
            for fields in (labels[g],)
        ]
        return MeetingRecord(
            meeting_id=meeting_id,
            title=stored.get("title", ""),
            date=stored.get("date", ""),
            time=stored.get("time", ""),
            location=stored.get("location", ""),
            chair=stored.get("chair", ""),
            recorder=stored.get("recorder", ""),
            source=stored.get("source", ""),
            turns=turns,
            format=stored.get("format", ""),
        )

    def source_file(self, meeting_id: str) -> SourceFile:
        """The original file of meeting ``meeting_id``, as it was when indexed.

        The path comes from the index (the meeting's own record), never from the caller. Raises
        MeetingNotFound for an unknown id and SourceUnavailable when the file is gone or its
        content hash no longer matches the one indexed.
        """
        with self._use() as snap:
            if meeting_id not in snap.meeting_docnum:
                raise MeetingNotFound(f"no meeting with id '{meeting_id}'")
            with snap.io_lock:
                stored = snap.reader.stored_fields(snap.meeting_docnum[meeting_id])
        path = stored.get("path_key", "")
        try:
            data = read_regular_file(path)
        except OSError as err:
            raise SourceUnavailable(f"the original file of '{meeting_id}' is no longer there "
                                    f"({err.strerror or err})") from None
        if hashlib.sha256(data).hexdigest() != stored.get("content_hash"):
            raise SourceUnavailable(f"the original file of '{meeting_id}' has changed since it was "
                                    "indexed; index it again")
        source = stored.get("source", "")
        name = source.replace("\\", "/").rsplit("/", 1)[-1] or os.path.basename(path)
        return SourceFile(meeting_id, name, stored.get("format", ""), data)

    def meeting_versions(self) -> dict[str, str]:
        """Meeting id -> content hash of every indexed meeting (a changed file has a new hash)."""
        with self._use() as snap, snap.io_lock:
            return {
                mid: snap.reader.stored_fields(docnum).get("content_hash", "")
                for mid, docnum in snap.meeting_docnum.items()
            }

    def stats(self) -> IndexStats:
        """What the index holds: meetings, turns, speakers (distinct labels), persons, dates,
        segments, size, generation."""
        snap = self.snapshot()
        dates = sorted(d for _, d, _ in snap.meetings.values() if d)
        size = sum(f.stat().st_size for f in self.index_dir.iterdir() if f.is_file())
        return IndexStats(
            index_dir=str(self.index_dir),
            meetings=len(snap.meetings),
            turns=len(snap.live),
            speakers=len(snap.speaker_docs),
            persons=person_count(snap, snap.people(self.person_list())),  # one pass over the turns
            first_date=dates[0] if dates else "",
            last_date=dates[-1] if dates else "",
            segments=len(snap.leaves),
            size_bytes=size,
            generation=snap.generation,
        )


def _check_paging(page: int, limit: int, sort: str) -> None:
    if sort not in SORTS:
        raise QueryError(sort_error(sort))
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise QueryError("page must be a whole number from 1")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 0 to {MAX_LIMIT}")


class ResultSet:
    """All turns matching one query on one index snapshot, with their scores.

    Pages, groups, occurrences and counts are all derived from the same evaluation, so a page
    and its facets always agree.
    """

    def __init__(self, snap: Snapshot, query: str, tree: Node, scores: dict[int, float],
                 people: PersonDirectory | None = None):
        self.snap = snap
        self.people = people
        self.query = query
        self.tree = tree
        self.scores = scores
        self.terms = [fold(t) for t in positive_texts(tree)]
        self.total = len(scores)
        self.meeting_count = len(set(map(snap.meeting_ids.__getitem__, scores)))
        self._periods: dict[str, list[PeriodCount]] = {}

    def _date(self, g: int) -> str:
        snap = self.snap
        return snap.meetings.get(snap.meeting_ids[g], ("", "", ""))[1]

    def person(self, g: int) -> str:
        """The person who spoke turn ``g`` ("" when its label names nobody)."""
        if self.people is None:
            return ""
        return self.people.person_of(self.snap.speakers[g], self.snap.meeting_ids[g])

    def ordered(self, sort: str = "relevance", wanted: int | None = None) -> list[int]:
        """Matching documents in result order: best first, or newest meeting first."""
        snap, scores = self.snap, self.scores
        meeting_rank, mids, turns = snap.meeting_rank, snap.meeting_ids, snap.turns
        unranked = len(meeting_rank)

        def position(g: int) -> tuple[int, int]:
            # Newest meeting first; within a meeting, in the order the turns were spoken.
            return (meeting_rank.get(mids[g], unranked), turns[g])

        small = wanted is not None and wanted < len(scores) // 4
        if sort == "date":
            return heapq.nsmallest(wanted, scores, key=position) if small else sorted(scores, key=position)

        def key(g: int):
            return (-scores[g], position(g))

        if small:
            # The top scores come from a C-level heap; only documents tied with the last of
            # them need the full key, so equal scores still come out in a fixed order.
            threshold = heapq.nlargest(wanted, scores.values())[-1] if wanted else math.inf
            top = compress(scores, map(threshold.__le__, scores.values()))
            return sorted(top, key=key)[:wanted]
        return sorted(scores, key=key)

    def hit(self, g: int) -> Hit:
        """The hit of matching document ``g`` (a global document number), with its snippet."""
        snap = self.snap
        mid = snap.meeting_ids[g]
        title, date, source = snap.meetings.get(mid, ("", "", ""))
        return Hit(
            meeting_id=mid,
            turn=snap.turns[g],
            title=title,
            date=date,
            speaker=snap.speakers[g],
            person=self.person(g),
            score=round(self.scores[g], 2),
            snippet=make_snippet(snap.text(g), self.terms),
            source=source,
            page=snap.pages[g] or None,
        )

    def page(self, *, page: int = 1, limit: int = 10, sort: str = "relevance") -> SearchPage:
        """One page of hits (``limit`` 0: all of them)."""
        _check_paging(page, limit, sort)
        start = (page - 1) * limit if limit else 0
        docs: list[int] = []
        if start < self.total:
            ordered = self.ordered(sort, start + limit if limit else None)
            docs = ordered[start : start + limit] if limit else ordered
        return SearchPage(
            query=self.query,
            total=self.total,
            meetings=self.meeting_count,
            page=page,
            limit=limit,
            hits=[self.hit(g) for g in docs],
        )

    def grouped(self, *, page: int = 1, limit: int = 10, per_meeting: int = 3, sort: str = "relevance") -> GroupedPage:
        """Meetings with hits, ``limit`` meetings per page, each with its best ``per_meeting`` hits.

        Meetings are ordered by their best hit (relevance) or by date (newest first).
        """
        _check_paging(page, limit, sort)
        snap = self.snap
        by_meeting: dict[str, list[int]] = {}
        for g in self.ordered("relevance"):
            by_meeting.setdefault(snap.meeting_ids[g], []).append(g)
        meeting_order = list(by_meeting)
        if sort == "date":
            meeting_order.sort(key=lambda m: (desc(snap.meetings.get(m, ("", "", ""))[1]), m))
        start = (page - 1) * limit if limit else 0
        chosen = meeting_order[start : start + limit] if limit else meeting_order
        groups = []
        for mid in chosen:
            title, date, source = snap.meetings.get(mid, ("", "", ""))
            docs = by_meeting[mid]
            groups.append(MeetingGroup(mid, title, date, source, len(docs), [self.hit(g) for g in docs[:per_meeting]]))
        return GroupedPage(self.query, self.total, self.meeting_count, page, limit, groups)

    def occurrences(self, *, width: int = DEFAULT_WIDTH, sort: str = "date") -> list[Occurrence]:
        """Every occurrence of every query term in the matching turns (keyword in context).

        A turn matched only by a filter (``speaker:`` alone) has no term and no occurrence.
        """
        snap = self.snap
        out = []
        for g in self.ordered(sort):
            mid = snap.meeting_ids[g]
            title, date, source = snap.meetings.get(mid, ("", "", ""))
            person = self.person(g)
            for left, match, right in contexts(snap.text(g), self.terms, width):
                out.append(Occurrence(mid, title, date, snap.speakers[g], person, snap.turns[g], left, match, right,
                                      source, snap.pages[g] or None))
        return out

    @cached_property
    def occurrence_counts(self) -> dict[int, int]:
        """Occurrences of the query's terms in each matching turn, counted once per result set
        (the periods, the timeline and the speakers of one page all read them)."""
        if not self.terms:
            return dict.fromkeys(self.scores, 0)
        folded, terms = self.snap.folded, self.terms
        return {g: len(occurrence_spans(folded[g], terms)) for g in self.scores}

    def occurrence_count(self, g: int) -> int:
        """Occurrences of the query's terms in matching turn ``g``."""
        return self.occurrence_counts[g]

    def by_period(self, by: str = DEFAULT_PERIOD) -> list[PeriodCount]:
        """Matching turns, meetings and occurrences per year (``by="year"``) or month, in period
        order (``unknown`` for meetings without a date sorts last)."""
        if by not in PERIODS:
            raise QueryError(period_error(by))
        known = self._periods.get(by)
        if known is None:
            tallies: dict[str, _Tally] = {}
            counts = self.occurrence_counts
            for g in self.scores:
                period = period_of(self._date(g), by)
                tallies.setdefault(period, _Tally()).add(self.snap.meeting_ids[g], counts[g])
            known = [PeriodCount(p, t.turns, len(t.meetings), t.occurrences) for p, t in sorted(tallies.items())]
            self._periods[by] = known
        return list(known)

    def by_speaker(self, limit: int | None = None) -> list[SpeakerCount]:
        """Who said it: one row per person (with every label that names them) and one per label
        that names nobody, ranked by occurrences, then turns, then name."""
        snap, counts = self.snap, self.occurrence_counts
        rows: dict[str, SpeakerTally] = {}
        for g in self.scores:
            label = snap.speakers[g]
            person = self.person(g)
            key = f"person:{person_key(person)}" if person else f"label:{label}"
            tally = rows.get(key)
            if tally is None:
                tally = rows[key] = SpeakerTally(person)
            tally.add(label, snap.meeting_ids[g], counts[g], self._date(g))
        ranked = sorted(rows.values(), key=lambda t: (-t.occurrences, -t.turns, t.name))
        if limit:
            ranked = ranked[:limit]
        return [tally.count(self.people) for tally in ranked]


@dataclass
class _Tally:
    """Counts over some matching turns: turns, their meetings, occurrences, first/last date."""

    turns: int = 0
    occurrences: int = 0
    meetings: set[str] = field(default_factory=set)
    first_date: str = ""
    last_date: str = ""

    def add(self, meeting_id: str, occurrences: int, date: str = "") -> None:
        self.turns += 1
        self.occurrences += occurrences
        self.meetings.add(meeting_id)
        if date:
            self.first_date = min(self.first_date, date) if self.first_date else date
            self.last_date = max(self.last_date, date)
