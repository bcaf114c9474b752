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

How a term is answered (exact substring semantics): the term is folded; the document frequency
of each of its bigrams is read; candidates come from the postings of the rarest bigram and are
kept only when their folded text contains the term (``str.count`` also gives the term frequency
for BM25). A term without a bigram (one character) or whose rarest bigram is very common is
answered by scanning the folded texts, which is as fast as reading that many postings.
"""

from __future__ import annotations

import bisect
import heapq
import math
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .analysis import bigrams, fold
from .build import INDEX_NAME, check_index
from .errors import MeetingNotFound, QueryError
from .query import And, DateRange, Field, Node, Not, Or, Text, parse_date_range, parse_query, positive_texts
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
from .schema import MEETING, TURN
from .snippets import contexts, make_snippet, occurrence_spans
from .store import read_store

#: Past this document frequency, scanning the folded texts beats reading postings.
SCAN_THRESHOLD = 20_000
BM25_K1 = 1.2
BM25_B = 0.75
#: Extra weight for a match that is a whole jieba word, and for a term in the meeting title.
WORD_BONUS = 0.2
TITLE_BONUS = 0.5
SORTS = ("relevance", "date")
MAX_LIMIT = 10_000


class _Snapshot:
    """One opened index generation: the Whoosh reader and the arrays searching needs.

    Global document numbers are Whoosh's (segment offset + document number in the segment).
    """

    def __init__(self, index_dir: Path):
        from whoosh import index as whoosh_index

        self.index_dir = index_dir
        self.ix = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
        self.generation = self.ix.latest_generation()
        self.reader = self.ix.reader()
        try:
            self._load(index_dir)
        except BaseException:
            self.reader.close()
            raise

    def _load(self, index_dir: Path) -> None:
        self.leaves = list(self.reader.leaf_readers())
        self.meeting_ids: list[str] = []
        self.turns: list[int] = []
        self.speakers: list[str] = []
        self.folded: list[str] = []
        self.meetings: dict[str, tuple[str, str, str]] = {}
        self.meeting_docnum: dict[str, int] = {}
        self._views: list[tuple[int, object]] = []
        live_turn: list[bool] = []
        for segreader, offset in self.leaves:
            view = read_store(str(index_dir), segreader.segment())
            deleted = segreader.deleted_docs_set if segreader.has_deletions() else frozenset()
            self._views.append((offset, view))
            self.meeting_ids.extend(view.meeting_ids)
            self.turns.extend(view.turns)
            self.speakers.extend(view.speakers)
            if deleted:
                # A deleted document gets an empty folded text: a scan can never match it.
                self.folded.extend("" if d in deleted else t for d, t in enumerate(view.folded))
            else:
                self.folded.extend(view.folded)
            for docnum, kind in enumerate(view.kinds):
                live = kind == TURN and docnum not in deleted
                live_turn.append(live)
                if kind == MEETING and docnum not in deleted:
                    mid = view.meeting_ids[docnum]
                    self.meetings[mid] = view.meetings[mid]
                    self.meeting_docnum[mid] = offset + docnum
        self._view_offsets = [offset for offset, _ in self._views]
        self.live = [g for g, live in enumerate(live_turn) if live]
        self.lengths = [len(t) for t in self.folded]
        self.avg_length = (sum(self.lengths) / len(self.live)) if self.live else 1.0
        # BM25's length normalisation, once per document rather than once per match.
        scale = BM25_K1 * BM25_B / self.avg_length
        base = BM25_K1 * (1.0 - BM25_B)
        self.norms = [base + scale * n for n in self.lengths]
        self.meeting_docs: dict[str, list[int]] = {}
        self.speaker_docs: dict[str, list[int]] = {}
        folded_labels: dict[str, str] = {}
        for g in self.live:
            self.meeting_docs.setdefault(self.meeting_ids[g], []).append(g)
            label = self.speakers[g]
            if label not in folded_labels:
                folded_labels[label] = fold(label)
            self.speaker_docs.setdefault(folded_labels[label], []).append(g)
        self.folded_titles = {mid: fold(info[0]) for mid, info in self.meetings.items()}
        # Result order for equal scores and for sort=date: newest meeting first, then by id.
        by_date = sorted(self.meetings, key=lambda m: (_desc(self.meetings[m][1]), m))
        self.meeting_rank = {mid: i for i, mid in enumerate(by_date)}
        self.users = 0
        self.retired = False
        self._char_df: dict[str, int] = {}
        self._df_lock = threading.Lock()

    def close(self) -> None:
        self.reader.close()

    def text(self, g: int) -> str:
        """The original text of document ``g`` (decoded from its segment's store)."""
        i = bisect.bisect_right(self._view_offsets, g) - 1
        offset, view = self._views[i]
        return view.text(g - offset)

    # --- term matching ---------------------------------------------------------------------

    def doc_frequency(self, fieldname: str, term: str) -> int:
        return self.reader.doc_frequency(fieldname, term)

    def postings(self, fieldname: str, term: str) -> list[int]:
        ids: list[int] = []
        for segreader, offset in self.leaves:
            if segreader.doc_frequency(fieldname, term):
                ids.extend(offset + d for d in segreader.postings(fieldname, term).all_ids())
        return ids

    def match_text(self, term: str, restrict: set[int] | None) -> dict[int, int]:
        """Turns whose folded text contains the folded ``term``: {doc: occurrences}."""
        folded = self.folded
        candidates = None
        grams = bigrams(term)
        if grams:
            dfs = sorted((self.doc_frequency("grams", g), g) for g in grams)
            rarest_df, rarest = dfs[0]
            if rarest_df == 0:
                return {}
            if restrict is not None and len(restrict) <= rarest_df:
                candidates = restrict
            elif rarest_df <= SCAN_THRESHOLD:
                candidates = self.postings("grams", rarest)
                if restrict is not None:
                    candidates = [g for g in candidates if g in restrict]
        elif restrict is not None:
            candidates = restrict
        if candidates is None:
            return {g: t.count(term) for g, t in enumerate(folded) if term in t}
        out = {}
        for g in candidates:
            count = folded[g].count(term)
            if count:
                out[g] = count
        return out

    def term_df(self, term: str) -> int:
        """Document frequency estimate for ``term``, the same whatever else the query holds."""
        grams = bigrams(term)
        if grams:
            return min(self.doc_frequency("grams", g) for g in grams)
        with self._df_lock:
            if term not in self._char_df:
                self._char_df[term] = sum(1 for t in self.folded if term in t)
            return self._char_df[term]

    def word_docs(self, term: str, among: dict[int, int]) -> set[int]:
        """Those of ``among`` where ``term`` is a whole jieba word."""
        df = self.doc_frequency("words", term)
        if df == 0 or df > SCAN_THRESHOLD:
            return set()
        return {g for g in self.postings("words", term) if g in among}


class SearchEngine:
    """Searches one index directory; reopens the index when a new generation is committed.

    One engine per process is the intended use: opening an index loads its turn stores, and
    searches then read only postings and in-memory arrays.
    """

    def __init__(self, index_dir: str | os.PathLike):
        self.index_dir = Path(index_dir)
        check_index(self.index_dir)
        self._lock = threading.RLock()
        self._snapshot = _Snapshot(self.index_dir)

    # --- lifecycle -------------------------------------------------------------------------

    def snapshot(self) -> _Snapshot:
        """The current snapshot, reopened first if the index has a newer generation."""
        current = self._snapshot
        try:
            latest = current.ix.latest_generation()
        except OSError:
            return current  # the folder is being replaced; keep answering from what we have
        if latest != current.generation:
            with self._lock:
                if self._snapshot.generation != latest:
                    check_index(self.index_dir)
                    old, self._snapshot = self._snapshot, _Snapshot(self.index_dir)
                    self._retire(old)
            current = self._snapshot
        return current

    # A snapshot replaced by a newer generation is closed once no search still reads it; the
    # counts are kept under the engine's lock, so a search never gets a closed reader.

    def _retire(self, snap: _Snapshot) -> None:
        snap.retired = True
        if snap.users == 0:
            snap.close()

    @contextmanager
    def _use(self) -> Iterator[_Snapshot]:
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
    ) -> "ResultSet":
        """Evaluate ``query`` (with the option filters) into the full set of matching turns.

        ``speaker`` (substring of the speaker label), ``since`` and ``until`` (YYYY, YYYY-MM or
        YYYY-MM-DD) narrow the query. Raises QueryError for malformed queries or options.
        """
        tree = self.build_tree(query, speaker=speaker, since=since, until=until)
        with self._use() as snap:
            scores = _Evaluator(snap).evaluate(tree, None)
        return ResultSet(snap, query, tree, scores)

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
    ) -> SearchPage:
        """Run ``query`` and return one page of hits with exact totals (``limit`` 0: all)."""
        _check_paging(page, limit, sort)
        return self.run(query, speaker=speaker, since=since, until=until).page(page=page, limit=limit, sort=sort)

    @staticmethod
    def build_tree(query: str, *, speaker: str | None = None, since: str | None = None, until: str | None = None) -> Node:
        """The query tree for ``query`` with the option filters ANDed on."""
        tree = parse_query(query)
        extra: list[Node] = []
        if speaker is not None and speaker.strip():
            extra.append(Field("speaker", speaker.strip(), None))
        if since or until:
            low = parse_date_range(f"{since}..", None).since if since else None
            high = parse_date_range(f"..{until}", None).until if until else None
            if low and high and low > high:
                raise QueryError(f"since {since} is after until {until}")
            extra.append(DateRange(low, high, None))
        if extra:
            children = tree.children if isinstance(tree, And) else (tree,)
            tree = And(tuple(children) + tuple(extra))
        return tree

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
        """The whole meeting ``meeting_id`` (raises MeetingNotFound)."""
        with self._use() as snap:
            return self._meeting(snap, meeting_id)

    @staticmethod
    def _meeting(snap: _Snapshot, meeting_id: str) -> MeetingRecord:
        if meeting_id not in snap.meeting_docnum:
            raise MeetingNotFound(f"no meeting with id '{meeting_id}'")
        stored = snap.reader.stored_fields(snap.meeting_docnum[meeting_id])
        turns = [
            TurnRecord(
                turn=snap.turns[g],
                speaker=snap.speakers[g],
                speaker_name=fields.get("speaker_name", ""),
                organisation=fields.get("organisation", ""),
                section=fields.get("section", ""),
                text=snap.text(g),
            )
            for g in sorted(snap.meeting_docs.get(meeting_id, []), key=lambda g: snap.turns[g])
            for fields in (snap.reader.stored_fields(g),)
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
        )

    def stats(self) -> IndexStats:
        snap = self.snapshot()
        dates = sorted(d for _, d, _ in snap.meetings.values() if d)
        size = sum(f.stat().st_size for f in self.index_dir.iterdir() if f.is_file())
        return IndexStats(
            index_dir=str(self.index_dir),
            meetings=len(snap.meetings),
            turns=len(snap.live),
            speakers=len(snap.speaker_docs),
            first_date=dates[0] if dates else "",
            last_date=dates[-1] if dates else "",
            segments=len(snap.leaves),
            size_bytes=size,
            generation=snap.generation,
        )


def _desc(value: str) -> str:
    # Sort ISO dates newest first with an ascending key; unknown dates ("") sort last.
    return "".join(chr(0x10FFFF - ord(c)) for c in value) if value else "\U0010ffff"


class _Evaluator:
    """Evaluates a query tree to {doc: score} on one snapshot."""

    def __init__(self, snap: _Snapshot):
        self.snap = snap
        self.n = max(len(snap.live), 1)

    def evaluate(self, node: Node, restrict: set[int] | None) -> dict[int, float]:
        if isinstance(node, Text):
            return self.text(node, restrict)
        if isinstance(node, Field):
            return self.filter(self.field_docs(node), restrict)
        if isinstance(node, DateRange):
            return self.filter(self.date_docs(node), restrict)
        if isinstance(node, Or):
            out: dict[int, float] = {}
            for child in node.children:
                for g, s in self.evaluate(child, restrict).items():
                    out[g] = out.get(g, 0.0) + s
            return out
        if isinstance(node, And):
            positives = sorted((c for c in node.children if not isinstance(c, Not)), key=self.cost)
            negatives = [c.child for c in node.children if isinstance(c, Not)]
            result: dict[int, float] | None = None
            for child in positives:
                scope = restrict if result is None else set(result)
                matched = self.evaluate(child, scope)
                if result is None:
                    result = matched
                else:
                    result = {g: result[g] + s for g, s in matched.items() if g in result}
                if not result:
                    return {}
            for child in negatives:
                for g in self.evaluate(child, set(result)):
                    del result[g]
            return result or {}
        raise QueryError("an excluded term needs something to exclude from")

    def cost(self, node: Node) -> int:
        """Estimated number of candidates, so that an AND starts from its most selective part."""
        snap = self.snap
        if isinstance(node, Text):
            grams = bigrams(fold(node.value))
            if not grams:
                return self.n
            return min(snap.doc_frequency("grams", g) for g in grams)
        if isinstance(node, (Field, DateRange)):
            return len(self.field_docs(node) if isinstance(node, Field) else self.date_docs(node))
        if isinstance(node, Or):
            return sum(self.cost(c) for c in node.children)
        if isinstance(node, And):
            return min(self.cost(c) for c in node.children if not isinstance(c, Not))
        return self.n

    @staticmethod
    def filter(docs: set[int], restrict: set[int] | None) -> dict[int, float]:
        if restrict is not None:
            docs = docs & restrict if len(restrict) > len(docs) else {g for g in restrict if g in docs}
        return dict.fromkeys(docs, 0.0)

    def text(self, node: Text, restrict: set[int] | None) -> dict[int, float]:
        snap = self.snap
        term = fold(node.value)
        counts = snap.match_text(term, restrict)
        if not counts:
            return {}
        # The idf must not depend on which AND branch ran first, so it comes from the index
        # (rarest bigram) rather than from the possibly restricted match count.
        df = max(snap.term_df(term), len(counts))
        idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
        words = snap.word_docs(term, counts)
        norms = snap.norms
        weight = idf * (BM25_K1 + 1.0)
        out = {g: weight * tf / (tf + norms[g]) for g, tf in counts.items()}
        for g in words:
            out[g] *= 1.0 + WORD_BONUS
        titled = {mid for mid, title in snap.folded_titles.items() if term in title}
        if titled:
            mids, bonus = snap.meeting_ids, TITLE_BONUS * idf
            for g in out:
                if mids[g] in titled:
                    out[g] += bonus
        return out

    def field_docs(self, node: Field) -> set[int]:
        snap = self.snap
        value = fold(node.value)
        if node.name == "speaker":
            return {g for label, docs in snap.speaker_docs.items() if value in label for g in docs}
        return {
            g for mid, title in snap.folded_titles.items() if value in title for g in snap.meeting_docs.get(mid, ())
        }

    def date_docs(self, node: DateRange) -> set[int]:
        snap = self.snap
        low = node.since or ""
        high = node.until or "9999-12-31"
        return {
            g
            for mid, (_, date, _) in snap.meetings.items()
            if date and low <= date <= high
            for g in snap.meeting_docs.get(mid, ())
        }


def _check_paging(page: int, limit: int, sort: str) -> None:
    if sort not in SORTS:
        raise QueryError(f"unknown sort '{sort}' (use relevance or date)")
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise QueryError("page must be a whole number from 1")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 0 to {MAX_LIMIT}")


class ResultSet:
    """All turns matching one query on one index snapshot, with their scores.

    Pages, groups, occurrences and counts are all derived from the same evaluation, so a page
    and its facets always agree.
    """

    def __init__(self, snap: _Snapshot, query: str, tree: Node, scores: dict[int, float]):
        self.snap = snap
        self.query = query
        self.tree = tree
        self.scores = scores
        self.terms = [fold(t) for t in positive_texts(tree)]
        self.total = len(scores)
        self.meeting_count = len({snap.meeting_ids[g] for g in scores})

    def _date(self, g: int) -> str:
        snap = self.snap
        return snap.meetings.get(snap.meeting_ids[g], ("", "", ""))[1]

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
            return sorted((g for g, s in scores.items() if s >= threshold), key=key)[:wanted]
        return sorted(scores, key=key)

    def hit(self, g: int) -> Hit:
        snap = self.snap
        mid = snap.meeting_ids[g]
        title, date, source = snap.meetings.get(mid, ("", "", ""))
        return Hit(
            meeting_id=mid,
            turn=snap.turns[g],
            title=title,
            date=date,
            speaker=snap.speakers[g],
            score=round(self.scores[g], 2),
            snippet=make_snippet(snap.text(g), self.terms),
            source=source,
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
            meeting_order.sort(key=lambda m: (_desc(snap.meetings.get(m, ("", "", ""))[1]), m))
        start = (page - 1) * limit if limit else 0
        chosen = meeting_order[start : start + limit] if limit else meeting_order
        groups = []
        for mid in chosen:
            title, date, source = snap.meetings.get(mid, ("", "", ""))
            docs = by_meeting[mid]
            groups.append(MeetingGroup(mid, title, date, source, len(docs), [self.hit(g) for g in docs[:per_meeting]]))
        return GroupedPage(self.query, self.total, self.meeting_count, page, limit, groups)

    def occurrences(self, *, width: int = 20, sort: str = "date") -> list[Occurrence]:
        """Every occurrence of every query term in the matching turns (keyword in context).

        A turn matched only by a filter (``speaker:`` alone) has no term and no occurrence.
        """
        snap = self.snap
        out = []
        for g in self.ordered(sort):
            mid = snap.meeting_ids[g]
            title, date, source = snap.meetings.get(mid, ("", "", ""))
            for left, match, right in contexts(snap.text(g), self.terms, width):
                out.append(Occurrence(mid, title, date, snap.speakers[g], snap.turns[g], left, match, right, source))
        return out

    def occurrence_count(self, g: int) -> int:
        return len(occurrence_spans(self.snap.folded[g], self.terms)) if self.terms else 0

    def by_period(self, by: str = "year") -> list[PeriodCount]:
        """Matching turns, meetings and occurrences per year (``by="year"``) or month."""
        if by not in ("year", "month"):
            raise QueryError("period must be year or month")
        width = 4 if by == "year" else 7
        turns: dict[str, int] = {}
        meetings: dict[str, set[str]] = {}
        occurrences: dict[str, int] = {}
        for g in self.scores:
            date = self._date(g)
            period = date[:width] if date else "unknown"
            turns[period] = turns.get(period, 0) + 1
            meetings.setdefault(period, set()).add(self.snap.meeting_ids[g])
            occurrences[period] = occurrences.get(period, 0) + self.occurrence_count(g)
        return [PeriodCount(p, turns[p], len(meetings[p]), occurrences[p]) for p in sorted(turns)]

    def by_speaker(self, limit: int | None = None) -> list[SpeakerCount]:
        """Who said it: speaker labels ranked by occurrences, then turns, then label."""
        snap = self.snap
        stats: dict[str, list] = {}
        for g in self.scores:
            label = snap.speakers[g]
            entry = stats.setdefault(label, [0, set(), 0, "", ""])
            entry[0] += 1
            entry[1].add(snap.meeting_ids[g])
            entry[2] += self.occurrence_count(g)
            date = self._date(g)
            if date:
                entry[3] = min(entry[3], date) if entry[3] else date
                entry[4] = max(entry[4], date)
        ranked = sorted(stats.items(), key=lambda kv: (-kv[1][2], -kv[1][0], kv[0]))
        if limit:
            ranked = ranked[:limit]
        from .transcripts import split_speaker

        out = []
        for label, (turns, mids, occ, first, last) in ranked:
            name, org = split_speaker(label) if label else ("", "")
            out.append(SpeakerCount(label, name, org, turns, len(mids), occ, first, last))
        return out
