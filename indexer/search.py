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

import heapq
import html
import math
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .analysis import bigrams, fold, fold_with_offsets
from .build import INDEX_NAME, check_index
from .errors import MeetingNotFound, QueryError
from .query import And, DateRange, Field, Node, Not, Or, Text, parse_date_range, parse_query, positive_texts
from .schema import MEETING, TURN
from .store import load_store

#: Past this document frequency, scanning the folded texts beats reading postings.
SCAN_THRESHOLD = 20_000
BM25_K1 = 1.2
BM25_B = 0.75
#: Extra weight for a match that is a whole jieba word, and for a term in the meeting title.
WORD_BONUS = 0.2
TITLE_BONUS = 0.5
SNIPPET_BEFORE = 30
SNIPPET_LENGTH = 110
SORTS = ("relevance", "date")
MAX_LIMIT = 10_000


@dataclass
class Hit:
    """One matching turn."""

    meeting_id: str
    turn: int
    title: str
    date: str
    speaker: str
    score: float
    snippet: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SearchPage:
    """One page of results, with exact totals."""

    query: str
    total: int
    meetings: int
    page: int
    limit: int
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "meetings": self.meetings,
            "page": self.page,
            "limit": self.limit,
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass
class TurnRecord:
    turn: int
    speaker: str
    speaker_name: str
    organisation: str
    section: str
    text: str


@dataclass
class MeetingRecord:
    """A whole meeting, for ``show`` and the meeting page."""

    meeting_id: str
    title: str
    date: str
    time: str
    location: str
    chair: str
    recorder: str
    source: str
    turns: list[TurnRecord]

    def to_dict(self) -> dict:
        return {
            "meeting_id": self.meeting_id,
            "title": self.title,
            "date": self.date,
            "time": self.time,
            "location": self.location,
            "chair": self.chair,
            "recorder": self.recorder,
            "source": self.source,
            "turns": [{"turn": t.turn, "speaker": t.speaker, "text": t.text} for t in self.turns],
        }


@dataclass
class IndexStats:
    index_dir: str
    meetings: int
    turns: int
    speakers: int
    first_date: str
    last_date: str
    segments: int
    size_bytes: int
    generation: int

    def to_dict(self) -> dict:
        return asdict(self)


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
        self.leaves = list(self.reader.leaf_readers())
        self.meeting_ids: list[str] = []
        self.turns: list[int] = []
        self.speakers: list[str] = []
        self.texts: list[str] = []
        self.meetings: dict[str, tuple[str, str, str]] = {}
        live_turn: list[bool] = []
        for segreader, offset in self.leaves:
            store = load_store(str(index_dir), segreader.segment(), segreader)
            deleted = segreader.deleted_docs_set if segreader.has_deletions() else frozenset()
            assert offset == len(self.meeting_ids)
            self.meeting_ids.extend(store.meeting_ids)
            self.turns.extend(store.turns)
            self.speakers.extend(store.speakers)
            self.texts.extend(store.texts)
            for docnum, kind in enumerate(store.kinds):
                live = kind == TURN and docnum not in deleted
                live_turn.append(live)
                if kind == MEETING and docnum not in deleted:
                    self.meetings[store.meeting_ids[docnum]] = store.meetings[store.meeting_ids[docnum]]
        # Dead documents get an empty folded text: a scan can never match them.
        self.folded = [fold(t) if live else "" for t, live in zip(self.texts, live_turn)]
        self.live = [g for g, live in enumerate(live_turn) if live]
        self.live_set = frozenset(self.live)
        self.lengths = [len(t) for t in self.folded]
        self.avg_length = (sum(self.lengths) / len(self.live)) if self.live else 1.0
        self.meeting_docs: dict[str, list[int]] = {}
        self.speaker_docs: dict[str, list[int]] = {}
        for g in self.live:
            self.meeting_docs.setdefault(self.meeting_ids[g], []).append(g)
            self.speaker_docs.setdefault(fold(self.speakers[g]), []).append(g)
        self.folded_titles = {mid: fold(info[0]) for mid, info in self.meetings.items()}
        self._char_df: dict[str, int] = {}
        self._df_lock = threading.Lock()

    def close(self) -> None:
        self.reader.close()

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
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(self.index_dir)

    # --- lifecycle -------------------------------------------------------------------------

    def snapshot(self) -> _Snapshot:
        """The current snapshot, reopened first if the index has a newer generation."""
        from whoosh import index as whoosh_index

        current = self._snapshot
        try:
            latest = whoosh_index.latest_generation(current.ix.storage, INDEX_NAME)
        except Exception:
            return current
        if latest != current.generation:
            with self._lock:
                if self._snapshot.generation != latest:
                    check_index(self.index_dir)
                    self._snapshot = _Snapshot(self.index_dir)
                    # The old reader is left to the garbage collector: a search running on
                    # another thread may still be reading it.
            current = self._snapshot
        return current

    def close(self) -> None:
        self._snapshot.close()

    # --- searching -------------------------------------------------------------------------

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
        """Run ``query`` and return one page of hits with exact totals.

        ``limit`` 0 means all hits; ``page`` is 1-based. ``speaker`` (substring of the speaker
        label), ``since`` and ``until`` (YYYY, YYYY-MM or YYYY-MM-DD) narrow the query.
        Raises QueryError for malformed queries or options.
        """
        if sort not in SORTS:
            raise QueryError(f"unknown sort '{sort}' (use relevance or date)")
        if not isinstance(page, int) or page < 1:
            raise QueryError("page must be a whole number from 1")
        if not isinstance(limit, int) or limit < 0 or limit > MAX_LIMIT:
            raise QueryError(f"limit must be a whole number from 0 to {MAX_LIMIT}")
        tree = self.build_tree(query, speaker=speaker, since=since, until=until)
        snap = self.snapshot()
        scores = _Evaluator(snap).evaluate(tree, None)
        ranked = self._rank(snap, scores, sort, page, limit)
        terms = [fold(t) for t in positive_texts(tree)]
        hits = [self._hit(snap, g, scores[g], terms) for g in ranked]
        meetings = len({snap.meeting_ids[g] for g in scores})
        return SearchPage(query=query, total=len(scores), meetings=meetings, page=page, limit=limit, hits=hits)

    @staticmethod
    def build_tree(query: str, *, speaker: str | None = None, since: str | None = None, until: str | None = None) -> Node:
        """The query tree for ``query`` with the option filters ANDed on."""
        tree = parse_query(query)
        extra: list[Node] = []
        if speaker is not None and speaker.strip():
            extra.append(Field("speaker", speaker.strip(), 0))
        if since or until:
            low = parse_date_range(f"{since}..", 0).since if since else None
            high = parse_date_range(f"..{until}", 0).until if until else None
            if low and high and low > high:
                raise QueryError(f"--since {since} is after --until {until}")
            extra.append(DateRange(low, high, 0))
        if extra:
            children = tree.children if isinstance(tree, And) else (tree,)
            tree = And(tuple(children) + tuple(extra))
        return tree

    @staticmethod
    def _rank(snap: _Snapshot, scores: dict[int, float], sort: str, page: int, limit: int) -> list[int]:
        start = (page - 1) * limit if limit else 0
        if start >= len(scores):
            return []
        wanted = start + limit if limit else len(scores)

        def date_of(g: int) -> str:
            return snap.meetings.get(snap.meeting_ids[g], ("", "", ""))[1]

        if sort == "date":
            # Newest meetings first; within a meeting, in the order the turns were spoken.
            def key(g: int):
                return (_desc(date_of(g)), snap.meeting_ids[g], snap.turns[g])
        else:
            def key(g: int):
                return (-scores[g], _desc(date_of(g)), snap.meeting_ids[g], snap.turns[g])

        if wanted < len(scores) // 4:
            ordered = heapq.nsmallest(wanted, scores, key=key)
        else:
            ordered = sorted(scores, key=key)
        return ordered[start : start + limit] if limit else ordered

    @staticmethod
    def _hit(snap: _Snapshot, g: int, score: float, terms: list[str]) -> Hit:
        mid = snap.meeting_ids[g]
        title, date, source = snap.meetings.get(mid, ("", "", ""))
        return Hit(
            meeting_id=mid,
            turn=snap.turns[g],
            title=title,
            date=date,
            speaker=snap.speakers[g],
            score=round(score, 2),
            snippet=make_snippet(snap.texts[g], terms),
            source=source,
        )

    # --- meetings and statistics ------------------------------------------------------------

    def meeting(self, meeting_id: str) -> MeetingRecord:
        """The whole meeting ``meeting_id`` (raises MeetingNotFound)."""
        snap = self.snapshot()
        searcher = snap.ix.searcher(reader=snap.reader)
        stored = searcher.document(kind=MEETING, meeting_id=meeting_id)
        if stored is None:
            raise MeetingNotFound(f"no meeting with id '{meeting_id}'")
        turns = [
            TurnRecord(
                turn=snap.turns[g],
                speaker=snap.speakers[g],
                speaker_name=fields.get("speaker_name", ""),
                organisation=fields.get("organisation", ""),
                section=fields.get("section", ""),
                text=snap.texts[g],
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
        lengths, avg = snap.lengths, snap.avg_length
        titles, mids = snap.folded_titles, snap.meeting_ids
        out = {}
        for g, tf in counts.items():
            norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths[g] / avg)
            score = idf * tf * (BM25_K1 + 1.0) / (tf + norm)
            if g in words:
                score *= 1.0 + WORD_BONUS
            if term in titles.get(mids[g], ""):
                score += TITLE_BONUS * idf
            out[g] = score
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


def make_snippet(text: str, terms: list[str]) -> str:
    """HTML-escaped text around the first match, with every term match in ``<mark>``."""
    ft = fold_with_offsets(text)
    folded = ft.folded
    spans: list[tuple[int, int]] = []
    for term in {t for t in terms if t}:
        start = folded.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + 1)
    spans.sort()
    if spans:
        first = ft.to_original(*spans[0])[0]
        begin = max(0, first - SNIPPET_BEFORE)
    else:
        begin = 0
    end = min(len(text), begin + SNIPPET_LENGTH)
    if spans and end < ft.to_original(*spans[0])[1]:
        end = ft.to_original(*spans[0])[1]
    # Merge overlapping matches so that marks never nest, then map them to the original text.
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out = ["…" if begin > 0 else ""]
    cursor = begin
    for s, e in merged:
        o_s, o_e = ft.to_original(s, e)
        if o_e <= begin or o_s >= end:
            continue
        o_s, o_e = max(o_s, begin), min(o_e, end)
        out.append(_escape(text[cursor:o_s]))
        out.append(f"<mark>{_escape(text[o_s:o_e])}</mark>")
        cursor = o_e
    out.append(_escape(text[cursor:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


def _escape(text: str) -> str:
    return html.escape(text.replace("\n", " "), quote=True)
