"""Query evaluation: a query tree to (docs, scores) on one snapshot.

Scores are BM25 over the exact phrase frequency of each text term, with length normalisation
from the folded text; a match that is a whole jieba word gets WORD_BONUS more, and a term that
is also in the meeting's title adds TITLE_BONUS times its idf. Filters (speaker:, title:, date:)
select documents without scoring them; ``speaker:`` matches the label as written or the person
behind it (:mod:`indexer.people`). An AND starts from its most selective part and checks
the others (and the exclusions) only on the documents still in play.

Every step works on sorted numpy arrays of document numbers and their scores: a common term
matches a million turns at ×16, and a Python object per match would cost more than the rest of
the query. The arithmetic is the same, in the same order, as a per-document loop would do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .analysis import fold
from .errors import QueryError
from .query import And, DateRange, Field, Node, Not, Or, Text
from .docsets import EMPTY, intersect, member, union
from .people import PersonDirectory
from .snapshot import BM25_B, BM25_K1, Snapshot

#: Extra weight for a match that is a whole jieba word, and for a term in the meeting title.
WORD_BONUS = 0.2
TITLE_BONUS = 0.5
NO_SCORES = np.zeros(0, np.float64)


@dataclass
class Matches:
    """Sorted document numbers and their scores."""

    docs: np.ndarray = field(default_factory=lambda: EMPTY)
    scores: np.ndarray = field(default_factory=lambda: NO_SCORES)

    def __len__(self) -> int:
        return len(self.docs)


@dataclass
class TermCounts:
    """What evaluating one folded term found: for each evaluation, the documents it looked at
    (None: all) and the matches with their occurrence counts."""

    scopes: list[np.ndarray | None] = field(default_factory=list)
    found: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


class Evaluator:
    """Evaluates a query tree to :class:`Matches` on one snapshot; remembers each text term's
    occurrence counts (:attr:`counts`) for the research views."""

    def __init__(self, snap: Snapshot, people: PersonDirectory | None = None):
        self.snap = snap
        self.people = people
        self.n = max(snap.turn_count, 1)
        self._speaker_docs: dict[str, np.ndarray] = {}  # cost() and evaluate() ask for the same
        self.counts: dict[str, TermCounts] = {}
        # BM25's length normalisation: norm = base + scale * length.
        self.base = BM25_K1 * (1.0 - BM25_B)
        self.scale = BM25_K1 * BM25_B / snap.avg_length

    def evaluate(self, node: Node, restrict: np.ndarray | None) -> Matches:
        if isinstance(node, Text):
            return self.text(node, restrict)
        if isinstance(node, Field):
            return self.filtered(self.field_docs(node, restrict))
        if isinstance(node, DateRange):
            return self.filtered(self.date_docs(node, restrict))
        if isinstance(node, Or):
            return self.union([self.evaluate(child, restrict) for child in node.children])
        if isinstance(node, And):
            return self.conjunction(node, restrict)
        raise QueryError("an excluded term needs something to exclude from")

    def conjunction(self, node: And, restrict: np.ndarray | None) -> Matches:
        positives = sorted((c for c in node.children if not isinstance(c, Not)), key=self.cost)
        negatives = [c.child for c in node.children if isinstance(c, Not)]
        result: Matches | None = None
        for child in positives:
            matched = self.evaluate(child, restrict if result is None else result.docs)
            if result is None:
                result = matched
            else:
                # Every child is evaluated within the docs still in play: matched ⊆ result.
                keep = member(result.docs, matched.docs, self.snap.size)
                result = Matches(matched.docs, result.scores[keep] + matched.scores)
            if not len(result):
                return Matches()
        for child in negatives:
            excluded = self.evaluate(child, result.docs).docs
            keep = ~member(result.docs, excluded, self.snap.size)
            result = Matches(result.docs[keep], result.scores[keep])
        return result or Matches()

    @staticmethod
    def union(parts: list[Matches]) -> Matches:
        """Documents of any part; a document's score is the sum of its parts' scores."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Matches()
        if len(parts) == 1:
            return parts[0]
        docs = union([p.docs for p in parts])
        scores = np.zeros(len(docs))
        for part in parts:
            scores[np.searchsorted(docs, part.docs)] += part.scores
        return Matches(docs, scores)

    def cost(self, node: Node) -> int:
        """Estimated number of candidates, so that an AND starts from its most selective part."""
        snap = self.snap
        if isinstance(node, Text):
            return snap.term_df(fold(node.value))
        if isinstance(node, Field):
            if node.name == "speaker":
                return len(self.speaker_docs(node.value))
            return int(snap.slot_turns[snap.titled_slots(fold(node.value))].sum())
        if isinstance(node, DateRange):
            return int(snap.slot_turns[self.dated_slots(node)].sum())
        if isinstance(node, Or):
            return sum(self.cost(c) for c in node.children)
        if isinstance(node, And):
            return min(self.cost(c) for c in node.children if not isinstance(c, Not))
        return self.n

    @staticmethod
    def filtered(docs: np.ndarray) -> Matches:
        return Matches(docs, np.zeros(len(docs)))

    def text(self, node: Text, restrict: np.ndarray | None) -> Matches:
        snap = self.snap
        term = fold(node.value)
        docs, tfs = snap.match_text(term, restrict)
        counted = self.counts.setdefault(term, TermCounts())
        counted.scopes.append(restrict)
        counted.found.append((docs, tfs))
        if not len(docs):
            return Matches()
        # The idf must not depend on which AND branch ran first, so it comes from the index
        # (rarest unit) rather than from the possibly restricted match count.
        df = max(snap.term_df(term), len(docs))
        idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
        weight = idf * (BM25_K1 + 1.0)
        # weight * tf / (tf + base + scale * length), in place: a common term has a million
        # matches, and each temporary array costs as much as the arithmetic.
        scores = tfs.astype(np.float64)
        denominator = snap.length_of[docs].astype(np.float64)
        denominator *= self.scale
        denominator += self.base
        denominator += scores
        scores *= weight
        scores /= denominator
        words = snap.word_mask(term, docs)
        if words.any():
            scores[words] = (1.0 + WORD_BONUS) * scores[words]
        titled = snap.titled_slots(term)
        if len(titled):
            in_title = snap.slot_mask(titled)[snap.meeting_of[docs]]
            scores[in_title] = (TITLE_BONUS * idf) + scores[in_title]
        return Matches(docs, scores)

    def speaker_docs(self, value: str) -> np.ndarray:
        """Live turns whose label contains ``value`` (folded), or whose person's name does."""
        found = self._speaker_docs.get(value)
        if found is None:
            found = self._speaker_docs[value] = self.snap.speaker_matches(value, self.people)
        return found

    def field_docs(self, node: Field, restrict: np.ndarray | None) -> np.ndarray:
        snap = self.snap
        if node.name == "speaker":
            docs = self.speaker_docs(node.value)
            return docs if restrict is None else intersect(docs, restrict, snap.size)
        return snap.docs_of_slots(snap.titled_slots(fold(node.value)), restrict)

    def dated_slots(self, node: DateRange) -> np.ndarray:
        """Slots whose meeting date is in the range (meetings without a date never are)."""
        return self.snap.slots_dated(node.since or "", node.until or "9999-12-31")

    def date_docs(self, node: DateRange, restrict: np.ndarray | None) -> np.ndarray:
        return self.snap.docs_of_slots(self.dated_slots(node), restrict)

    def term_counts(self, term: str, docs: np.ndarray) -> np.ndarray:
        """Occurrences of the folded ``term`` in each of sorted ``docs``: from what evaluating the
        term found where it looked, and from the texts for documents it did not look at (a turn
        matched by another branch of an OR can still say the term)."""
        out = np.zeros(len(docs), np.int64)
        counted = self.counts.get(term)
        unseen = np.ones(len(docs), bool)
        if counted is not None:
            for scope, (found, tfs) in zip(counted.scopes, counted.found):
                if len(found) == len(docs) and np.array_equal(found, docs):
                    out[:] = tfs  # the usual case: one term, looked for everywhere
                else:
                    at = member(docs, found, self.snap.size)
                    out[at] = tfs[np.searchsorted(found, docs[at])]
                unseen &= False if scope is None else ~member(docs, scope, self.snap.size)
        if unseen.any():
            missing = docs[unseen]
            found, tfs = self.snap.count_in(missing, term) if term else (EMPTY, EMPTY)
            out[np.flatnonzero(unseen)[member(missing, found, self.snap.size)]] = tfs
        return out


__all__ = ["Evaluator", "Matches", "TermCounts"]
