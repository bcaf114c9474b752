"""Index snapshots: one opened index generation and the arrays that searching reads.

A snapshot joins Whoosh's reader (postings of the grams and words fields) with the segments'
turn stores (:mod:`indexer.store`), in Whoosh's global document numbering (segment offset +
number in the segment). Opening reads the stores' meeting and label tables and maps their
per-document arrays: it costs O(meetings + labels) in Python objects and a few bytes a turn in
typed arrays; no text is decoded, and the folded texts stay in the page cache, shared by every
process that searches the index.

Vocabulary
----------
slot
    A row of the meeting table of all segments together (segment by segment). A meeting has one
    live slot; a re-indexed meeting's old slot in an older segment has only deleted documents.
doc
    A global document number; arrays of docs are sorted ``int64`` numpy arrays.

How a term is matched is :mod:`indexer.matching` (mixed in); who spoke each turn,
:mod:`indexer.person_column`.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from functools import cached_property
from itertools import compress, repeat
from operator import contains
from pathlib import Path

import numpy as np

from .analysis import fold
from .docsets import EMPTY, distinct, union
from .indexdir import open_index
from .matching import TextMatching
from .people import MeetingFacts, PersonDirectory, PersonList, person_key
from .person_column import PersonColumn
from .store import MeetingInfo, read_store
from .whoosh_adapter import deleted_docs, open_reader, segment_doc_frequency, segment_postings_array

BM25_K1 = 1.2
BM25_B = 0.75
#: Document frequencies remembered per snapshot (a few bytes each; cleared when full).
DF_CACHE_SIZE = 1 << 16
_NO_MEETING = MeetingInfo("", "", "", "")


class _Column:
    """One per-document value by document number (``snap.speakers[g]``), computed from the
    arrays on access: code that asks about a few turns needs no per-turn Python list."""

    __slots__ = ("_get",)

    def __init__(self, get):
        self._get = get

    def __getitem__(self, g: int):
        return self._get(g)


class Segment:
    """One segment's reader and store, at its global document offset."""

    def __init__(self, reader, offset: int, view, slot_base: int, label_map: np.ndarray):
        self.reader = reader
        self.offset = offset
        self.view = view
        self.slot_base = slot_base
        self.label_map = label_map  # local label number -> global label number
        self.deleted = deleted_docs(reader)

    @property
    def size(self) -> int:
        return self.view.count


class Snapshot(TextMatching):
    """One opened index generation: the Whoosh reader and the arrays searching needs."""

    def __init__(self, index_dir: Path):
        self.index_dir = index_dir
        self.ix = open_index(index_dir)
        self.generation = self.ix.latest_generation()
        self.reader = open_reader(self.ix)
        try:
            self._load(index_dir)
        except BaseException:
            self.reader.close()
            raise

    def _load(self, index_dir: Path) -> None:
        self.segments: list[Segment] = []
        self.slots: list[MeetingInfo] = []
        self.labels: list[str] = []
        label_numbers: dict[str, int] = {}
        for segreader, offset in self.reader.leaf_readers():
            if segreader.segment() is None:
                continue  # an index with no segment yet (nothing indexed): Whoosh's EmptyReader
            view = read_store(str(index_dir), segreader.segment())
            label_map = np.empty(len(view.speakers), np.int32)
            for i, label in enumerate(view.speakers):
                label_map[i] = label_numbers.setdefault(label, len(label_numbers))
            self.segments.append(Segment(segreader, offset, view, len(self.slots), label_map))
            self.slots.extend(view.meetings)
        self.labels = list(label_numbers)
        self._join_arrays()
        # Whoosh's segment readers share seek-and-read file handles: two threads reading
        # postings at once read each other's offsets. Every Whoosh read takes this lock.
        self.io_lock = threading.Lock()
        self._lazy_lock = threading.Lock()
        self._periods: dict[str, tuple[list[str], np.ndarray]] = {}
        self._dfs: dict[tuple[str, str], int] = {}
        self._people: dict[str, PersonDirectory] = {}
        # Per-document values by document number, for code that asks one turn at a time.
        self.meeting_ids = _Column(lambda g: self.slots[int(self.meeting_of[g])].meeting_id)
        self.speakers = _Column(lambda g: self.labels[int(self.speaker_of[g])])
        self.turns = _Column(lambda g: int(self.turn_of[g]))
        self.lengths = _Column(lambda g: int(self.length_of[g]))
        self.pages = _Column(lambda g: int(self.page_of[g]))  # 0 where the format has no pages
        self.users = 0
        self.retired = False

    def _join_arrays(self) -> None:
        """Global per-document arrays: the segments' arrays side by side, with meeting and
        speaker numbers made global, and which documents are live turns."""
        size = self.segments[-1].offset + self.segments[-1].size if self.segments else 0
        self.size = size
        if len(self.segments) == 1:  # the store's own arrays, mapped: no copy
            view = self.segments[0].view
            self.meeting_of, self.turn_of, self.speaker_of = view.meeting, view.turn, view.speaker
            self.length_of, self.page_of = view.length, view.page
        else:
            self.meeting_of = np.zeros(size, np.int32)
            self.turn_of = np.full(size, -1, np.int32)
            self.speaker_of = np.zeros(size, np.int32)
            self.length_of = np.zeros(size, np.uint32)
            self.page_of = np.zeros(size, np.uint32)
            for seg in self.segments:
                part = slice(seg.offset, seg.offset + seg.size)
                self.meeting_of[part] = seg.view.meeting.astype(np.int32) + seg.slot_base
                self.turn_of[part] = seg.view.turn
                self.speaker_of[part] = seg.label_map[seg.view.speaker]
                self.length_of[part] = seg.view.length
                self.page_of[part] = seg.view.page
                seg.view.release_columns()  # copied: the mapped pages are not needed any more
        self.live_mask = self.turn_of >= 0
        for seg in self.segments:
            if seg.deleted:
                self.live_mask[np.fromiter(seg.deleted, np.int64) + seg.offset] = False
        self.deleted = any(seg.deleted for seg in self.segments)
        self.live = np.flatnonzero(self.live_mask)
        self.turn_count = len(self.live)
        self._name_meetings()
        # Meeting documents and deleted turns have length 0 and the deleted ones are few: the
        # sum over the live turns without gathering them.
        lengths = int(self.length_of.sum(dtype=np.int64))
        for seg in self.segments:
            if seg.deleted:
                lengths -= int(seg.view.length[np.fromiter(seg.deleted, np.int64)].sum(dtype=np.int64))
        self.avg_length = lengths / self.turn_count if self.turn_count else 1.0
        # Meeting numbers grow with document numbers (a meeting's documents are written
        # together; each store says so): the meetings of sorted docs come sorted, and counting
        # them is cheap.
        self.meetings_sorted = all(seg.view.meetings_in_order for seg in self.segments)

    def _name_meetings(self) -> None:
        """The live meetings by id, from the stores' lists of meeting documents (O(meetings))."""
        self.meeting_docnum: dict[str, int] = {}
        self.slot_of: dict[str, int] = {}
        for seg in self.segments:
            local = seg.view.meeting_docs
            if seg.deleted:
                local = [d for d in local if d not in seg.deleted]
            slots = (seg.view.meeting[local].astype(np.int64) + seg.slot_base).tolist()
            for docnum, slot in zip(local, slots):
                mid = self.slots[slot].meeting_id
                self.meeting_docnum[mid] = seg.offset + docnum
                self.slot_of[mid] = slot
        # meeting id -> (title, date, source) of the live meetings
        self.meetings = {mid: self.slots[slot][1:] for mid, slot in self.slot_of.items()}

    def close(self) -> None:
        # Under the read lock: a page of results may still read stored fields from a snapshot
        # being closed, and Whoosh opens column files lazily: one opened while the reader
        # closes would never be closed.
        with self.io_lock:
            self.reader.close()

    # --- per-document values ---------------------------------------------------------------

    def segment_of(self, g: int) -> Segment:
        offsets = [seg.offset for seg in self.segments]
        return self.segments[int(np.searchsorted(offsets, g, "right")) - 1]

    def info(self, g: int) -> MeetingInfo:
        """The meeting (id, title, date, source) of document ``g``."""
        return self.slots[int(self.meeting_of[g])] if self.slots else _NO_MEETING

    def meeting_id(self, g: int) -> str:
        return self.info(g).meeting_id

    def speaker(self, g: int) -> str:
        return self.labels[int(self.speaker_of[g])]

    def turn(self, g: int) -> int:
        return int(self.turn_of[g])

    def page(self, g: int) -> int | None:
        """The page turn ``g`` starts on (None where the format has no pages)."""
        return int(self.page_of[g]) or None

    def text(self, g: int) -> str:
        """The original text of document ``g`` (decoded from its segment's store)."""
        seg = self.segment_of(g)
        return seg.view.text(g - seg.offset)

    def folded(self, g: int) -> str:
        """The folded text of document ``g`` (decoded from its segment's store)."""
        seg = self.segment_of(g)
        return seg.view.folded(g - seg.offset)

    # --- tables built on first use (a plain search needs none of them) --------------------

    @cached_property
    def slot_rank(self) -> np.ndarray:
        """Result order of meetings for equal scores and for sort=date: newest first, then by
        id; slots of no live meeting last."""
        slots = self.slots
        order = sorted(self.slot_of.values(), key=lambda s: slots[s].meeting_id)
        # Stable, so equal dates stay in id order; reversed, so "" (no date) comes last.
        order.sort(key=lambda s: slots[s].date, reverse=True)
        rank = np.full(max(len(self.slots), 1), len(order), np.int64)
        rank[order] = np.arange(len(order))
        return rank

    @cached_property
    def slot_titles(self) -> tuple[list[str], np.ndarray]:
        """The distinct folded titles (folded when the index was built; many meetings share a
        title, such as a committee's), and each slot's title among them."""
        numbers: dict[str, int] = {}
        of_slot = [numbers.setdefault(title, len(numbers)) for seg in self.segments for title in seg.view.folded_titles]
        return list(numbers), np.array(of_slot or [0], np.int64)

    def titled_slots(self, value: str) -> np.ndarray:
        """Slots whose folded title contains the folded ``value`` (sorted): one C-level pass of
        ``in`` over the distinct titles."""
        titles, of_slot = self.slot_titles
        found = np.fromiter(compress(range(len(titles)), map(contains, titles, repeat(value))), np.int64)
        if not len(found):
            return found
        return np.flatnonzero(self._mask(found, len(titles))[of_slot[: len(self.slots)]])

    @cached_property
    def folded_labels(self) -> list[str]:
        return [fold(label) for label in self.labels]

    @cached_property
    def speaker_groups(self) -> dict[str, tuple[int, str]]:
        """Folded label -> (live turns, the label as written of the first of them), for the
        labels that have live turns (labels differing only in folding are one)."""
        counts = self.label_turns
        found = np.flatnonzero(counts)
        earliest = np.full(len(self.labels), self.size, np.int64)
        np.minimum.at(earliest, self.speaker_of[self.live], self.live)
        groups: dict[str, tuple[int, int, str]] = {}
        for label, at in zip(found.tolist(), earliest[found].tolist()):
            folded = self.folded_labels[label]
            turns, earliest, written = groups.get(folded, (0, at, self.labels[label]))
            if at < earliest:
                earliest, written = at, self.labels[label]
            groups[folded] = (turns + int(counts[label]), earliest, written)
        return {folded: (turns, written) for folded, (turns, _, written) in groups.items()}

    @cached_property
    def label_turns(self) -> np.ndarray:
        """Live turns per global label number."""
        return np.bincount(self.speaker_of[self.live], minlength=len(self.labels))

    @cached_property
    def slot_turns(self) -> np.ndarray:
        """Live turns per slot."""
        return np.bincount(self.meeting_of[self.live], minlength=len(self.slots))

    @cached_property
    def slot_dates(self) -> list[str]:
        return [info.date for info in self.slots]

    def periods(self, by: str) -> tuple[list[str], np.ndarray]:
        """Period names (``2022`` or ``2022-09``; ``unknown`` for no date) and each slot's period."""
        found = self._periods.get(by)
        if found is None:
            width = 4 if by == "year" else 7
            numbers: dict[str, int] = {}
            of_slot = [numbers.setdefault(date[:width] if date else "unknown", len(numbers)) for date in self.slot_dates]
            found = self._periods[by] = (list(numbers), np.array(of_slot or [0], np.int64))
        return found

    @cached_property
    def date_ranks(self) -> tuple[list[str], np.ndarray]:
        """The distinct meeting dates in order, and each slot's date's place among them (-1: none)."""
        dates = sorted({d for d in self.slot_dates if d})
        place = {d: i for i, d in enumerate(dates)}
        return dates, np.array([place.get(d, -1) for d in self.slot_dates] or [-1], np.int64)

    def slots_dated(self, low: str, high: str) -> np.ndarray:
        """Slots whose meeting date is from ``low`` to ``high`` (ISO strings, inclusive): a range
        of date ranks, so one vectorised pass over the slots."""
        dates, rank = self.date_ranks
        first, last = bisect_left(dates, low), bisect_right(dates, high)
        return np.flatnonzero((rank >= first) & (rank < last))[: len(self.slots)] if last > first else EMPTY

    @staticmethod
    def _mask(wanted: np.ndarray, size: int) -> np.ndarray:
        mask = np.zeros(max(size, 1), bool)
        mask[wanted] = True
        return mask

    def slot_mask(self, slots: np.ndarray) -> np.ndarray:
        """A boolean per slot: is it one of ``slots``."""
        return self._mask(slots, len(self.slots))

    def _docs_where(self, column: np.ndarray, wanted: np.ndarray, size: int, among: np.ndarray | None) -> np.ndarray:
        """Live turns (of ``among``, when given) whose value in ``column`` is one of ``wanted``."""
        docs = self.live if among is None else among
        return docs[self._mask(wanted, size)[column[docs]]]

    def docs_of_slots(self, slots: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
        """Live turns (of ``among``, when given) whose meeting slot is one of ``slots``."""
        if among is not None or not self.meetings_sorted:
            return self._docs_where(self.meeting_of, slots, len(self.slots), among)
        # A meeting's documents are one run of document numbers: join the runs of ``slots``
        # (work in proportion to the answer, not to the index).
        wanted = np.asarray(slots).astype(self.meeting_of.dtype)
        starts = np.searchsorted(self.meeting_of, wanted, "left")
        lengths = np.searchsorted(self.meeting_of, wanted, "right") - starts
        runs = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        return runs[self.live_mask[runs]]

    @cached_property
    def live_speakers(self) -> np.ndarray:
        """The label number of each live turn (aligned with :attr:`live`)."""
        return self.speaker_of[self.live]

    def docs_of_labels(self, labels: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
        """Live turns (of ``among``, when given) spoken under one of the global ``labels``."""
        if among is not None:
            return self._docs_where(self.speaker_of, labels, len(self.labels), among)
        return self.live[self._mask(labels, len(self.labels))[self.live_speakers]]

    def meeting_turns(self, meeting_id: str) -> np.ndarray:
        """The live turns of a meeting, in document order."""
        slot = self.slot_of.get(meeting_id)
        if slot is None:
            return EMPTY
        return self.docs_of_slots(np.array([slot]))

    def count_meetings(self, docs: np.ndarray) -> int:
        """Distinct meetings among sorted ``docs``."""
        if not len(docs):
            return 0
        slots = self.meeting_of[docs]
        if self.meetings_sorted:
            return 1 + int(np.count_nonzero(slots[1:] != slots[:-1]))
        return len(distinct(slots, len(self.slots)))

    # --- persons -------------------------------------------------------------------------------

    def people(self, person_list: PersonList) -> PersonDirectory:
        """Who the labels of this generation are, by ``person_list`` (built on first use: from
        the distinct labels, so its cost grows with them, not with the turns)."""
        directory = self._people.get(person_list.version)
        if directory is None or directory.person_list is not person_list:
            directory = PersonDirectory(person_list, self.meeting_facts)
            with self._lazy_lock:
                self._people = {person_list.version: directory}
        return directory

    def label_counts(self) -> dict[str, int]:
        """Each distinct speaker label of the live turns (labels that fold alike once), with its
        number of turns: from the label table, one step per label."""
        return {written: turns for folded, (turns, written) in self.speaker_groups.items() if folded}

    def meeting_facts(self, meeting_id: str) -> MeetingFacts:
        """A meeting's distinct labels, the chair its header names and its title."""
        docs = self.meeting_turns(meeting_id)
        labels = tuple(dict.fromkeys(self.labels[i] for i in self.speaker_of[docs].tolist()))
        chair = ""
        complete = True
        docnum = self.meeting_docnum.get(meeting_id)
        if docnum is not None:
            try:
                with self.io_lock:
                    chair = self.reader.stored_fields(docnum).get("chair", "")
            except Exception:
                # A snapshot a commit replaced is closed once no search uses it, while a page of
                # its results may still be read: then the header is gone; say so, don't fail.
                complete = False
        title = self.meetings.get(meeting_id, ("", "", ""))[0]
        return MeetingFacts(labels, chair, title, complete)

    def persons(self, people: PersonDirectory) -> PersonColumn:
        """Who spoke each turn, by ``people`` (computed once per directory, see
        :class:`PersonColumn`)."""
        found = people.derived.get("column")
        if found is None:
            found = PersonColumn(self, people)
            with self._lazy_lock:
                people.derived["column"] = found
        return found

    def speaker_matches(self, value: str, people: PersonDirectory | None) -> np.ndarray:
        """Live turns whose folded label contains ``value`` folded, or whose person's name does."""
        folded = fold(value)
        labels = np.fromiter((i for i, label in enumerate(self.folded_labels) if folded in label), np.int64)
        docs = self.docs_of_labels(labels)
        wanted = person_key(value)
        if people is None or not wanted:
            return docs
        column = self.persons(people)
        keys = np.fromiter((i for i, key in enumerate(column.keys) if wanted in key), np.int64)
        if not len(keys):
            return docs
        return union([docs, column.docs_of(keys)])

    @cached_property
    def meeting_rank(self) -> dict[str, int]:
        """Meeting id -> its place in result order (see :attr:`slot_rank`)."""
        return {mid: int(self.slot_rank[slot]) for mid, slot in self.slot_of.items()}

    # --- postings ----------------------------------------------------------------------------

    def doc_frequency(self, fieldname: str, term: str) -> int:
        """Documents (deleted ones included) whose ``fieldname`` has ``term`` (remembered: a
        query asks for its units' frequencies to order its parts and again to match them)."""
        key = (fieldname, term)
        found = self._dfs.get(key)
        if found is None:
            tbytes = term.encode("utf-8")
            with self.io_lock:
                found = sum(segment_doc_frequency(seg.reader, fieldname, tbytes) for seg in self.segments)
                if len(self._dfs) >= DF_CACHE_SIZE:
                    self._dfs.clear()
                self._dfs[key] = found
        return found

    def postings(self, fieldname: str, term: str, counts: bool = False):
        """Live documents whose ``fieldname`` has ``term`` (sorted), and with ``counts`` the
        grams field's counts too (1 for a field without counts): ``docs`` or ``(docs, counts)``.

        TurnCodec's compact format decodes a posting list into arrays in C (see
        :mod:`indexer.codec`).
        """
        tbytes = term.encode("utf-8")
        parts, part_counts = [], []
        with self.io_lock:
            for seg in self.segments:
                found = segment_postings_array(seg.reader, fieldname, tbytes)
                if found is not None:
                    ids, found_counts = found
                    parts.append(ids + seg.offset if seg.offset else ids)
                    if counts:
                        part_counts.append(found_counts if found_counts is not None else np.ones(len(ids), np.int64))
        docs = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else EMPTY)
        values = (np.concatenate(part_counts) if len(part_counts) > 1 else part_counts[0]) if part_counts else EMPTY
        if self.deleted and len(docs):
            keep = self.live_mask[docs]
            docs = docs[keep]
            values = values[keep] if counts else values
        return (docs, values) if counts else docs
