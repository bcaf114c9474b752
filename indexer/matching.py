"""Matching a folded term in an opened index: which turns contain it, and how often.

How a term is answered (exact substring semantics): the document frequency of each of its
units (bigrams and repeat triples; without a bigram, its characters) is read. A one-character
term, and a two-character term that cannot overlap itself, is answered by its postings and
counts alone (the counts are exactly ``str.count``'s); a doubled one (``謝謝``) by its counts
except where a longer run of its character makes overlaps possible. Otherwise candidates come
from the postings of the rarest units, intersected while that pays, and are kept only when
their folded text contains the term (``bytes.count`` on the mapped text; the count is also the
term frequency for BM25).

:class:`TextMatching` is the part of :class:`~indexer.snapshot.Snapshot` that does this; it
reads the snapshot's postings and per-document arrays.
"""

from __future__ import annotations

import numpy as np

from .analysis import bigram_counts, char_counts, triple_counts
from .docsets import EMPTY, intersect, member

#: Candidates are intersected with the next rarest unit's postings while there are more than
#: this many and that posting list is at most INTERSECT_RATIO times longer: decoding a posting
#: costs far less than reading a candidate's text.
INTERSECT_MIN = 64
INTERSECT_RATIO = 64
#: A term answered by its postings is counted in the texts of the restricting documents only
#: when they are this many times fewer than its postings.
POSTINGS_PREFERRED = 64

__all__ = ["TextMatching", "answered_by_postings", "repeat_length", "unit_counts", "units"]


def unit_counts(term: str) -> dict[str, int]:
    """The indexed units a folded term's candidates come from, and how often each occurs in it
    (overlaps counted): its bigrams and repeat triples, else its characters other than the
    space (none for a term of spaces only). A turn that contains the term holds each unit at
    least that often."""
    counts = bigram_counts(term)
    if counts:
        counts.update(triple_counts(term))
        return counts
    return char_counts(term)


def units(term: str) -> list[str]:
    return sorted(unit_counts(term))


def repeat_length(term: str) -> int:
    """2 for ``謝謝`` and ``00``, 3 for ``哈哈哈``: a term of one letter, digit or ideograph
    repeated, whose matches can overlap; else 0."""
    if len(term) in (2, 3) and term.isalnum() and term == term[0] * len(term):
        return len(term)
    return 0


def answered_by_postings(term: str) -> bool:
    """True when a folded term's postings and counts are its exact matches and frequencies: one
    character, or one indexed bigram that cannot overlap itself (``哈哈`` can: its bigram count
    counts overlaps, ``str.count`` does not)."""
    if len(term) == 1:
        return term != " "
    return len(term) == 2 and term[0] != term[1] and term[0].isalnum() and term[1].isalnum()


class TextMatching:
    """Term matching over a snapshot's postings (``postings``, ``doc_frequency``), segments,
    live turns and size; mixed into :class:`~indexer.snapshot.Snapshot`."""

    def unit_dfs(self, term: str) -> list[tuple[int, str]]:
        """(document frequency, unit) of each unit of a folded term, rarest first."""
        return sorted((self.doc_frequency("grams", u), u) for u in units(term))

    def term_df(self, term: str) -> int:
        """Document frequency estimate for a folded term (its rarest unit's), the same whatever
        else the query holds."""
        dfs = self.unit_dfs(term)
        return dfs[0][0] if dfs else self.turn_count

    def match_text(self, term: str, restrict: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Turns whose folded text contains the folded ``term``: (docs, occurrences), among
        ``restrict`` (sorted docs) when given."""
        dfs = self.unit_dfs(term)
        if not dfs:  # spaces only: no unit to look up, so every turn is a candidate
            return self.count_in(self.live if restrict is None else restrict, term)
        if dfs[0][0] == 0:
            return EMPTY, EMPTY
        by_postings = answered_by_postings(term)
        if restrict is not None and len(restrict) * (POSTINGS_PREFERRED if by_postings else 1) <= dfs[0][0]:
            return self.count_in(restrict, term)
        if by_postings or repeat_length(term):
            docs, counts = self.postings("grams", term, counts=True)
            if restrict is not None:
                keep = member(docs, restrict, self.size)
                docs, counts = docs[keep], counts[keep]
            return (docs, counts) if by_postings else self._settle_repeats(term, docs, counts)
        return self.count_in(self._candidates(term, dfs, restrict), term)

    def _settle_repeats(self, term: str, docs: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact counts of ``謝謝`` (or ``哈哈哈``) from its overlapping counts: they are the answer
        in a turn without a longer run of the character (no ``謝謝謝`` triple posting, or a triple
        counted once); the texts are read only where a longer run makes overlaps possible."""
        if len(term) == 2:
            doubtful = member(docs, self.postings("grams", term[0] * 3), self.size)
        else:
            doubtful = counts > 1
        if doubtful.any():
            counts = counts.copy()
            _, counts[doubtful] = self.count_in(docs[doubtful], term, keep_empty=True)
            docs, counts = docs[counts > 0], counts[counts > 0]
        return docs, counts

    def _candidates(self, term: str, dfs: list[tuple[int, str]], restrict: np.ndarray | None) -> np.ndarray:
        """Turns holding every unit of ``term`` as often as the term itself does (``000`` needs
        ``00`` twice), rarest units first, intersected while that pays."""
        needed = unit_counts(term)
        candidates = restrict
        for i, (df, unit) in enumerate(dfs):
            if i and (len(candidates) <= INTERSECT_MIN or df > INTERSECT_RATIO * len(candidates)):
                break
            if needed[unit] > 1:
                docs, counts = self.postings("grams", unit, counts=True)
                docs = docs[counts >= needed[unit]]
            else:
                docs = self.postings("grams", unit)
            candidates = docs if candidates is None else intersect(candidates, docs, self.size)
        return candidates

    def count_in(self, docs: np.ndarray, term: str, keep_empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Those of sorted ``docs`` whose folded text contains ``term``: (docs, occurrences); all
        of ``docs`` with ``keep_empty``."""
        if not len(docs):
            return EMPTY, EMPTY
        tbytes = term.encode("utf-8", "surrogatepass")
        counts = np.empty(len(docs), np.int64)
        bounds = np.searchsorted(docs, [seg.offset for seg in self.segments] + [self.size])
        for seg, low, high in zip(self.segments, bounds, bounds[1:]):
            if high > low:
                counts[low:high] = seg.view.count_in(docs[low:high] - seg.offset, tbytes)
        if keep_empty:
            return docs, counts
        keep = counts > 0
        return docs[keep], counts[keep]

    def word_mask(self, term: str, docs: np.ndarray) -> np.ndarray:
        """For each of sorted ``docs``: is ``term`` a whole jieba word of it."""
        return member(docs, self.postings("words", term), self.size)
