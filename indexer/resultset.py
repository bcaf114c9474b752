"""All turns matching one query, and every view of them: pages, meeting groups, occurrences,
counts per period and per speaker.

A result set holds its matches as two aligned numpy arrays (sorted document numbers and
scores). Orders, counts and facets are computed over those arrays: at ×16 a common term matches
a million turns, and only the rows a page shows become Python objects. Each view is computed
once per result set, so the search page's facets, timeline and speaker list share one count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property

import numpy as np

from .analysis import fold
from .docsets import distinct
from .errors import QueryError
from .options import DEFAULT_PERIOD, DEFAULT_WIDTH, MAX_LIMIT, PERIODS, SORTS, period_error, sort_error
from .people import PersonDirectory
from .query import Node, positive_texts
from .results import GroupedPage, Hit, MeetingGroup, Occurrence, PeriodCount, SearchPage, SpeakerCount
from .snapshot import Snapshot
from .snippets import contexts, make_snippet
from .tally import speaker_counts
#: A partial selection (argpartition) pays when the wanted rows are fewer than this share.
PARTIAL_SHARE = 4


def check_paging(page: int, limit: int, sort: str) -> None:
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

    def __init__(self, snap: Snapshot, query: str, tree: Node, docs: np.ndarray, values: np.ndarray,
                 evaluator=None, people: PersonDirectory | None = None):
        self.snap = snap
        self.people = people
        self.query = query
        self.tree = tree
        self.docs = docs
        self.values = values
        self._evaluator = evaluator
        self.terms = [fold(t) for t in positive_texts(tree)]
        self.total = len(docs)
        self.meeting_count = snap.count_meetings(docs)
        self._periods: dict[str, list[PeriodCount]] = {}

    @cached_property
    def scores(self) -> dict[int, float]:
        """{document number: score}, for callers that want a mapping (costs a Python object per
        match: the views below work on the arrays)."""
        return dict(zip(self.docs.tolist(), self.values.tolist()))

    def person(self, g: int) -> str:
        """The person who spoke turn ``g`` ("" when its label names nobody)."""
        if self.people is None:
            return ""
        return self.people.person_of(self.snap.speaker(g), self.snap.meeting_id(g))

    # --- order ----------------------------------------------------------------------------------

    def _positions(self, rows: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(meeting rank, turn) of the matches ``rows``: newest meeting first, then as spoken."""
        docs = self.docs[rows]
        return self.snap.slot_rank[self.snap.meeting_of[docs]], self.snap.turn_of[docs].astype(np.int64)

    def date_keys(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """One sortable number per match (of ``rows``): its meeting's place in date order, then
        its turn."""
        rank, turn = self._positions(rows)
        return rank * (1 << 32) + turn

    def _order_rows(self, sort: str, wanted: int | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """Indices into the matches (of ``rows``, when given) in result order, the first ``wanted``
        (all when None): best first (ties: newest meeting, then turn order), or by date."""
        if rows is None:
            rows = np.arange(self.total)
        n = len(rows)
        small = wanted is not None and wanted * PARTIAL_SHARE < n
        if sort == "date":
            keys = self.date_keys(rows)
            if small:
                chosen = np.argpartition(keys, wanted - 1)[:wanted] if wanted else rows[:0]
                return rows[chosen[np.argsort(keys[chosen], kind="stable")]]
            return rows[np.argsort(keys, kind="stable")][:wanted]
        values = self.values[rows]
        if small:
            if not wanted:
                return rows[:0]
            # The top scores by partition; every match tied with the last of them is kept
            # until the full key decides, so equal scores still come out in a fixed order.
            threshold = np.partition(values, n - wanted)[n - wanted]
            candidates = np.flatnonzero(values >= threshold)
            rows, values = rows[candidates], values[candidates]
        rank, turn = self._positions(rows)
        order = np.lexsort((turn, rank, -values))
        return rows[order][:wanted] if wanted is not None else rows[order]

    def ordered(self, sort: str = "relevance", wanted: int | None = None) -> list[int]:
        """Matching documents in result order: best first, or newest meeting first."""
        return self.docs[self._order_rows(sort, wanted)].tolist()

    # --- pages ----------------------------------------------------------------------------------

    def hit(self, g: int, score: float | None = None) -> Hit:
        """The hit of matching document ``g`` (a global document number), with its snippet."""
        snap = self.snap
        info = snap.info(g)
        if score is None:
            score = float(self.values[np.searchsorted(self.docs, g)])
        return Hit(
            meeting_id=info.meeting_id,
            turn=snap.turn(g),
            title=info.title,
            date=info.date,
            speaker=snap.speaker(g),
            person=self.person(g),
            score=round(score, 2),
            snippet=make_snippet(snap.text(g), self.terms),
            source=info.source,
            page=snap.page(g),
        )

    def _hits(self, rows: np.ndarray) -> list[Hit]:
        return [self.hit(g, s) for g, s in zip(self.docs[rows].tolist(), self.values[rows].tolist())]

    def page(self, *, page: int = 1, limit: int = 10, sort: str = "relevance") -> SearchPage:
        """One page of hits (``limit`` 0: all of them)."""
        check_paging(page, limit, sort)
        start = (page - 1) * limit if limit else 0
        rows = np.zeros(0, np.int64)
        if start < self.total:
            rows = self._order_rows(sort, start + limit if limit else None)
            rows = rows[start : start + limit] if limit else rows
        return SearchPage(query=self.query, total=self.total, meetings=self.meeting_count, page=page, limit=limit,
                          hits=self._hits(rows))

    @cached_property
    def _meeting_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows grouped by meeting, start of each group in them, each group's slot)."""
        slots = self.snap.meeting_of[self.docs]
        rows = np.arange(self.total) if self.snap.meetings_sorted else np.argsort(slots, kind="stable")
        grouped = slots[rows]
        starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1]))) if self.total else rows[:0]
        return rows, starts, grouped[starts]

    def grouped(self, *, page: int = 1, limit: int = 10, per_meeting: int = 3, sort: str = "relevance") -> GroupedPage:
        """Meetings with hits, ``limit`` meetings per page, each with its best ``per_meeting`` hits.

        Meetings are ordered by their best hit (relevance) or by date (newest first).
        """
        check_paging(page, limit, sort)
        snap = self.snap
        rows, starts, slots = self._meeting_groups
        rank = snap.slot_rank[slots]
        if sort == "date" or not len(starts):
            meeting_order = np.argsort(rank, kind="stable")
        else:
            best = np.maximum.reduceat(self.values[rows], starts) if len(rows) else self.values[:0]
            meeting_order = np.lexsort((rank, -best))
        start = (page - 1) * limit if limit else 0
        chosen = meeting_order[start : start + limit] if limit else meeting_order
        ends = np.append(starts[1:], len(rows))
        groups = []
        for group in chosen.tolist():
            members = rows[starts[group] : ends[group]]
            best_rows = self._order_rows("relevance", per_meeting, members)
            info = snap.slots[int(slots[group])]
            groups.append(MeetingGroup(info.meeting_id, info.title, info.date, info.source, len(members),
                                       self._hits(best_rows)))
        return GroupedPage(self.query, self.total, self.meeting_count, page, limit, groups)

    # --- occurrences ------------------------------------------------------------------------------

    @cached_property
    def occurrence_array(self) -> np.ndarray:
        """Occurrences of the query's terms in each match (aligned with :attr:`docs`): per term as
        ``str.count`` counts in the folded text, summed over the distinct terms; from what
        evaluating the terms found, so the texts are not read again."""
        out = np.zeros(self.total, np.int64)
        if self._evaluator is None:
            from .evaluate import Evaluator

            self._evaluator = Evaluator(self.snap)
        for term in {t for t in self.terms if t}:
            out += self._evaluator.term_counts(term, self.docs)
        return out

    @cached_property
    def occurrence_counts(self) -> dict[int, int]:
        """{document number: occurrences} (:attr:`occurrence_array` as a mapping)."""
        return dict(zip(self.docs.tolist(), self.occurrence_array.tolist()))

    def occurrence_count(self, g: int) -> int:
        """Occurrences of the query's terms in matching turn ``g``."""
        return int(self.occurrence_array[np.searchsorted(self.docs, g)]) if self.terms else 0

    def occurrence(self, g: int, left: str, match: str, right: str) -> Occurrence:
        """An occurrence in turn ``g`` with the given context."""
        snap = self.snap
        info = snap.info(g)
        return Occurrence(info.meeting_id, info.title, info.date, snap.speaker(g), self.person(g), snap.turn(g),
                          left, match, right, info.source, snap.page(g))

    def occurrences(self, *, width: int = DEFAULT_WIDTH, sort: str = "date") -> list[Occurrence]:
        """Every occurrence of every query term in the matching turns (keyword in context).

        A turn matched only by a filter (``speaker:`` alone) has no term and no occurrence.
        """
        out = []
        rows = self._order_rows(sort, None, np.flatnonzero(self.occurrence_array)) if self.terms else []
        for g in self.docs[rows].tolist():
            found = contexts(self.snap.text(g), self.terms, width)
            if found:
                occurrence = self.occurrence(g, "", "", "")  # meeting, speaker, person: once per turn
                out.extend(replace(occurrence, left=left, match=match, right=right) for left, match, right in found)
        return out

    def occurrence_window(self, sort: str, start: int, limit: int) -> tuple[list[int], int]:
        """The documents holding occurrence rows ``start`` to ``start + limit`` in ``sort`` order,
        and the number of rows before the first of them."""
        counts = self.occurrence_array
        with_rows = np.flatnonzero(counts)
        if not len(with_rows):
            return [], 0
        # Every turn with a row has at least one: start + limit turns hold the window.
        rows = self._order_rows(sort, start + limit, with_rows)
        before = np.concatenate(([0], np.cumsum(counts[rows])))
        first = int(np.searchsorted(before, start, "right")) - 1
        last = int(np.searchsorted(before, start + limit, "left"))
        return self.docs[rows[first:last]].tolist(), int(before[first])

    # --- counts per period and per speaker ----------------------------------------------------------

    def by_period(self, by: str = DEFAULT_PERIOD) -> list[PeriodCount]:
        """Matching turns, meetings and occurrences per year (``by="year"``) or month, in period
        order (``unknown`` for meetings without a date sorts last)."""
        if by not in PERIODS:
            raise QueryError(period_error(by))
        if by not in self._periods:
            self._periods[by] = self._count_periods(by)
        return list(self._periods[by])

    def _count_periods(self, by: str) -> list[PeriodCount]:
        names, slot_period = self.snap.periods(by)
        slots = self.snap.meeting_of[self.docs]
        period = slot_period[slots]
        size = len(names)
        turns = np.bincount(period, minlength=size)
        occurrences = np.bincount(period, weights=self.occurrence_array, minlength=size) if self.terms else turns * 0
        meetings = np.bincount(slot_period[distinct(slots, len(self.snap.slots))], minlength=size)
        found = [p for p in range(size) if turns[p]]
        return [PeriodCount(names[p], int(turns[p]), int(meetings[p]), int(occurrences[p]))
                for p in sorted(found, key=names.__getitem__)]

    @cached_property
    def _speaker_counts(self):
        return speaker_counts(self.snap, self.people, self.docs, self.occurrence_array)

    def by_speaker(self, limit: int | None = None) -> Sequence[SpeakerCount]:
        """Who said it: one row per person (with every label that names them) and one per label
        that names nobody, ranked by occurrences, then turns, then name. The first ``limit``
        (all when None or 0) as a list; all of them as a sequence whose rows are made when read."""
        ranked = self._speaker_counts
        return ranked[:limit] if limit else ranked
