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
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .analysis import fold
from .errors import IndexOutdated, MeetingNotFound, SourceUnavailable
from .evaluate import Evaluator
from .indexdir import check_index
from .options import MAX_LIMIT, SORTS
from .paths import read_regular_file
from .people import PersonDirectory, PersonList, load_person_list
from .query import Node, build_query
from .results import IndexStats, MeetingRecord, SearchPage, SourceFile, TurnRecord
from .resultset import ResultSet, check_paging
from .settings import Settings, settings_for
from .snapshot import Snapshot
from .tally import person_count

__all__ = ["SearchEngine", "ResultSet", "SORTS", "MAX_LIMIT", "PAGE_CACHE_SIZE"]

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
            evaluator = Evaluator(snap, people)
            matches = evaluator.evaluate(tree, None)
        return ResultSet(snap, query, tree, matches.docs, matches.scores, evaluator, people)

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
        check_paging(page, limit, sort)
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
        counted = [(-turns, label) for folded, (turns, label) in snap.speaker_groups.items() if folded and wanted in folded]
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
        docs = snap.meeting_turns(meeting_id).tolist()
        with snap.io_lock:
            stored = snap.reader.stored_fields(snap.meeting_docnum[meeting_id])
            labels = {g: snap.reader.stored_fields(g) for g in docs}
        turns = [
            TurnRecord(
                turn=snap.turn(g),
                speaker=snap.speaker(g),
                speaker_name=fields.get("speaker_name", ""),
                organisation=fields.get("organisation", ""),
                section=fields.get("section", ""),
                text=snap.text(g),
                page=snap.page(g),
                person=people.person_of(snap.speaker(g), meeting_id),
            )
            for g in sorted(docs, key=snap.turn)
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
            turns=snap.turn_count,
            speakers=len(snap.speaker_groups),
            persons=person_count(snap, snap.people(self.person_list())),
            first_date=dates[0] if dates else "",
            last_date=dates[-1] if dates else "",
            segments=len(snap.segments),
            size_bytes=size,
            generation=snap.generation,
        )
