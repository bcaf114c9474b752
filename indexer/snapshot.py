"""Index snapshots: one opened index generation and the arrays that searching reads.

A snapshot joins Whoosh's reader (postings of the grams and words fields) with the segments'
turn stores (:mod:`indexer.store`): per document the meeting id, turn, speaker label and folded
text, in Whoosh's global document numbering (segment offset + number in the segment). Deleted
and meeting documents get an empty folded text, so that no scan can match them.

How a term is answered (exact substring semantics): the term is folded; the document frequency
of each of its bigrams is read; candidates come from the postings of the rarest bigram and are
kept only when their folded text contains the term (``str.count`` also gives the term frequency
for BM25). A term without a bigram (one character, or only punctuation) is answered by scanning
the folded texts.
"""

from __future__ import annotations

import bisect
import threading
from itertools import compress, filterfalse, repeat
from pathlib import Path

from .analysis import bigrams, fold
from .indexdir import open_index
from .people import MeetingFacts, PersonDirectory, PersonList, person_key
from .schema import MEETING, TURN
from .store import read_store
from .whoosh_adapter import segment_postings

#: A scan jumps from match to match until this many turns match, then goes turn by turn.
SCAN_FIND_LIMIT = 2_000
BM25_K1 = 1.2
BM25_B = 0.75


def desc(value: str) -> str:
    """Sort key for ISO dates newest first in an ascending sort; unknown dates ("") last."""
    return "".join(chr(0x10FFFF - ord(c)) for c in value) if value else "\U0010ffff"


class Snapshot:
    """One opened index generation: the Whoosh reader and the arrays searching needs.

    Global document numbers are Whoosh's (segment offset + document number in the segment).
    """

    def __init__(self, index_dir: Path):
        self.index_dir = index_dir
        self.ix = open_index(index_dir)
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
        self.pages: list[int] = []  # page a turn starts on; 0 where the format has no pages
        self.folded: list[str] = []
        self.meetings: dict[str, tuple[str, str, str]] = {}
        self.meeting_docnum: dict[str, int] = {}
        self._views: list[tuple[int, object]] = []
        self.live: list[int] = []
        for segreader, offset in self.leaves:
            if segreader.segment() is None:
                continue  # an index with no segment yet (nothing indexed): Whoosh's EmptyReader
            view = read_store(str(index_dir), segreader.segment())
            deleted = segreader.deleted_docs_set if segreader.has_deletions() else frozenset()
            self._views.append((offset, view))
            self.meeting_ids.extend(view.meeting_ids)
            self.turns.extend(view.turns)
            self.speakers.extend(view.speakers)
            self.pages.extend(view.pages)
            if deleted:
                # A deleted document gets an empty folded text: a scan can never match it.
                self.folded.extend("" if d in deleted else t for d, t in enumerate(view.folded))
            else:
                self.folded.extend(view.folded)
            # Per-document loops as C-level compress/filter chains: opening the index is part
            # of every command-line search.
            docnums = range(len(view.kinds))
            turns = compress(docnums, map(TURN.__eq__, view.kinds))
            self.live.extend(map(offset.__add__, filterfalse(deleted.__contains__, turns)))
            for docnum in filterfalse(deleted.__contains__, compress(docnums, map(MEETING.__eq__, view.kinds))):
                mid = view.meeting_ids[docnum]
                self.meetings[mid] = view.meetings[mid]
                self.meeting_docnum[mid] = offset + docnum
        self._view_offsets = [offset for offset, _ in self._views]
        self.lengths = list(map(len, self.folded))
        self.avg_length = (sum(self.lengths) / len(self.live)) if self.live else 1.0
        # BM25's length normalisation, once per document rather than once per match.
        scale = BM25_K1 * BM25_B / self.avg_length
        base = BM25_K1 * (1.0 - BM25_B)
        self.norms = list(map(base.__add__, map(scale.__mul__, self.lengths)))
        self._labels: tuple[dict[str, list[int]], dict[str, list[int]]] | None = None
        self.folded_titles = {mid: fold(info[0]) for mid, info in self.meetings.items()}
        # Result order for equal scores and for sort=date: newest meeting first, then by id.
        by_date = sorted(self.meetings, key=lambda m: (desc(self.meetings[m][1]), m))
        self.meeting_rank = {mid: i for i, mid in enumerate(by_date)}
        self.users = 0
        self.retired = False
        self._char_df: dict[str, int] = {}
        self._people: dict[str, PersonDirectory] = {}
        self._joined: str | None = None
        self._starts: list[int] = []
        self._df_lock = threading.Lock()
        # Whoosh's segment readers share seek-and-read file handles: two threads reading
        # postings at once read each other's offsets. Every Whoosh read takes this lock.
        self.io_lock = threading.Lock()

    @property
    def meeting_docs(self) -> dict[str, list[int]]:
        """Meeting id -> its live turns (built on first use: a plain search does not need it)."""
        return self._label_docs()[0]

    @property
    def speaker_docs(self) -> dict[str, list[int]]:
        """Folded speaker label -> the live turns it spoke (built on first use)."""
        return self._label_docs()[1]

    def _label_docs(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        labels = self._labels
        if labels is None:
            with self._df_lock:
                if self._labels is None:
                    meeting_docs: dict[str, list[int]] = {}
                    speaker_docs: dict[str, list[int]] = {}
                    folded_labels: dict[str, str] = {}
                    for g in self.live:
                        meeting_docs.setdefault(self.meeting_ids[g], []).append(g)
                        label = self.speakers[g]
                        if label not in folded_labels:
                            folded_labels[label] = fold(label)
                        speaker_docs.setdefault(folded_labels[label], []).append(g)
                    self._labels = (meeting_docs, speaker_docs)
                labels = self._labels
        return labels

    def close(self) -> None:
        self.reader.close()

    # --- persons ---------------------------------------------------------------------------

    def people(self, person_list: PersonList) -> PersonDirectory:
        """Who the labels of this generation are, by ``person_list`` (built on first use: from
        the distinct labels, so its cost grows with them, not with the turns)."""
        directory = self._people.get(person_list.version)
        if directory is None or directory.person_list is not person_list:
            directory = PersonDirectory(person_list, self.meeting_facts)
            with self._df_lock:
                self._people = {person_list.version: directory}
        return directory

    def label_counts(self) -> dict[str, int]:
        """Each distinct speaker label of the live turns (labels that fold alike once), with its
        number of turns: from :attr:`speaker_docs`, so it costs one step per label."""
        speakers = self.speakers
        return {speakers[docs[0]]: len(docs) for label, docs in self.speaker_docs.items() if label}

    def speaker_matches(self, value: str, people: PersonDirectory | None) -> set[int]:
        """Live turns whose folded label contains ``value`` folded, or whose person's name does."""
        folded = fold(value)
        docs = {g for label, found in self.speaker_docs.items() if folded in label for g in found}
        wanted = person_key(value)
        if people is None or not wanted:
            return docs
        speakers, meeting_ids = self.speakers, self.meeting_ids
        for found in self.speaker_docs.values():
            info = people.label(speakers[found[0]])
            if info.scoped:  # who it is depends on the meeting: 主席, 龔召集人, 雨蒼
                docs.update(g for g in found if wanted in person_key(people.person_of(speakers[g], meeting_ids[g])))
            elif wanted in info.key:
                docs.update(found)
        return docs

    def meeting_facts(self, meeting_id: str) -> MeetingFacts:
        """A meeting's distinct labels, the chair its header names and its title."""
        labels = tuple(dict.fromkeys(self.speakers[g] for g in self.meeting_docs.get(meeting_id, ())))
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

    def text(self, g: int) -> str:
        """The original text of document ``g`` (decoded from its segment's store)."""
        i = bisect.bisect_right(self._view_offsets, g) - 1
        offset, view = self._views[i]
        return view.text(g - offset)

    # --- term matching ---------------------------------------------------------------------

    def doc_frequency(self, fieldname: str, term: str) -> int:
        with self.io_lock:
            return self.reader.doc_frequency(fieldname, term)

    def _segment_postings(self, fieldname: str, term: str):
        """Per segment with the term: (offset, ids, counts or None, deleted docnums).

        TurnCodec's compact format decodes a whole posting list in C (see :mod:`indexer.codec`).
        """
        tbytes = term.encode("utf-8")
        with self.io_lock:
            found = []
            for segreader, offset in self.leaves:
                ids, counts = segment_postings(segreader, fieldname, tbytes)
                if ids:
                    deleted = segreader.deleted_docs_set if segreader.has_deletions() else frozenset()
                    found.append((offset, ids, counts, deleted))
        return found

    def postings(self, fieldname: str, term: str) -> list[int]:
        """Global numbers of the live documents whose ``fieldname`` has ``term``."""
        out: list[int] = []
        for offset, ids, _, deleted in self._segment_postings(fieldname, term):
            if deleted:
                ids = list(filterfalse(deleted.__contains__, ids))
            out.extend(map(offset.__add__, ids) if offset else ids)
        return out

    def posting_counts(self, fieldname: str, term: str) -> dict[int, int]:
        """{global number: count} of the live documents whose ``fieldname`` has ``term`` (the
        grams field's bigram counts; 1 for a field without counts)."""
        out: dict[int, int] = {}
        for offset, ids, counts, deleted in self._segment_postings(fieldname, term):
            found = dict(zip(map(offset.__add__, ids) if offset else ids, counts or repeat(1)))
            for d in deleted:
                found.pop(offset + d, None)
            out.update(found)
        return out

    def match_text(self, term: str, restrict: set[int] | None) -> dict[int, int]:
        """Turns whose folded text contains the folded ``term``: {doc: occurrences}."""
        candidates = None
        grams = bigrams(term)
        if grams:
            dfs = sorted((self.doc_frequency("grams", g), g) for g in grams)
            rarest_df, rarest = dfs[0]
            if rarest_df == 0:
                return {}
            if restrict is not None and len(restrict) <= rarest_df:
                candidates = restrict
            elif len(term) == 2 and term[0] != term[1]:
                # The term is one bigram and cannot overlap itself, so its bigram count is
                # exactly str.count's: the postings are the answer, no text needs reading.
                found = self.posting_counts("grams", term)
                if restrict is not None:
                    found = {g: found[g] for g in filter(restrict.__contains__, found)}
                return found
            else:
                candidates = self.postings("grams", rarest)
                if restrict is not None:
                    candidates = list(filter(restrict.__contains__, candidates))
        elif restrict is not None:
            candidates = restrict
        if candidates is None:
            out = self.scan(term)
            with self._df_lock:
                self._char_df[term] = len(out)
            return out
        return self.count_in(list(candidates), term)

    def count_in(self, docs: list[int], term: str) -> dict[int, int]:
        """{doc: occurrences of ``term``} for those of ``docs`` whose folded text has it.

        Written as chains of ``map``/``compress``/``filter`` so that the loop over (often tens of
        thousands of) documents runs in C: a Python loop costs more than the counting itself.
        """
        counts = list(map(str.count, map(self.folded.__getitem__, docs), repeat(term)))
        return dict(zip(compress(docs, counts), filter(None, counts)))

    def term_df(self, term: str) -> int:
        """Document frequency estimate for ``term``, the same whatever else the query holds."""
        grams = bigrams(term)
        if grams:
            return min(self.doc_frequency("grams", g) for g in grams)
        with self._df_lock:
            known = self._char_df.get(term)
        if known is None:
            known = len(self.scan(term))
            with self._df_lock:
                self._char_df[term] = known
        return known

    def scan(self, term: str) -> dict[int, int]:
        """Every live turn containing ``term``, by scanning the folded texts: {doc: occurrences}.

        For terms without a bigram (one character, ``A``). A rare term is found by ``str.find``
        over all texts joined into one string, one C-level pass that jumps from match to match;
        once a term proves common (SCAN_FIND_LIMIT matching turns), the rest are counted turn by
        turn, which is cheaper per turn than per match.
        """
        folded = self.folded
        if self._joined is None:
            with self._df_lock:
                if self._joined is None:
                    # \x00 never occurs in a text, so no match can span two turns.
                    self._starts = [0] * len(folded)
                    position = 0
                    for g, text in enumerate(folded):
                        self._starts[g] = position
                        position += len(text) + 1
                    self._joined = "\x00".join(folded)
        joined, starts = self._joined, self._starts
        out: dict[int, int] = {}
        position = joined.find(term)
        while position != -1:
            g = bisect.bisect_right(starts, position) - 1
            out[g] = folded[g].count(term)
            if len(out) >= SCAN_FIND_LIMIT:
                out.update(self.count_in(range(g + 1, len(folded)), term))
                break
            position = joined.find(term, starts[g] + len(folded[g]) + 1)
        return out

    def word_docs(self, term: str, among: dict[int, int]) -> set[int]:
        """Those of ``among`` where ``term`` is a whole jieba word."""
        return set(filter(among.__contains__, self.postings("words", term)))
