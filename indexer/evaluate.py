"""Query evaluation: a query tree to {document: score} on one snapshot.

Scores are BM25 over the exact phrase frequency of each text term, with length normalisation
from the folded text; a match that is a whole jieba word gets WORD_BONUS more, and a term that
is also in the meeting's title adds TITLE_BONUS times its idf. Filters (speaker:, title:, date:)
select documents without scoring them; ``speaker:`` matches the label as written or the person
behind it (:mod:`indexer.people`). An AND starts from its most selective part and checks
the others (and the exclusions) only on the documents still in play.
"""

from __future__ import annotations

import math
from itertools import compress
from operator import add, truediv

from .analysis import bigrams, fold
from .errors import QueryError
from .query import And, DateRange, Field, Node, Not, Or, Text
from .people import PersonDirectory
from .snapshot import BM25_K1, Snapshot

#: Extra weight for a match that is a whole jieba word, and for a term in the meeting title.
WORD_BONUS = 0.2
TITLE_BONUS = 0.5


class Evaluator:
    """Evaluates a query tree to {doc: score} on one snapshot."""

    def __init__(self, snap: Snapshot, people: PersonDirectory | None = None):
        self.snap = snap
        self.people = people
        self.n = max(len(snap.live), 1)
        self._field_docs: dict[Field, set[int]] = {}  # cost() and evaluate() ask for the same

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
        weight = idf * (BM25_K1 + 1.0)
        # weight * tf / (tf + norm) for every match, as chains of C-level maps (see
        # Snapshot.count_in): a common term matches tens of thousands of turns.
        docs, tfs = list(counts), list(counts.values())
        norms = map(snap.norms.__getitem__, docs)
        out = dict(zip(docs, map(truediv, map(weight.__mul__, tfs), map(add, tfs, norms))))
        if words:
            out.update(zip(words, map((1.0 + WORD_BONUS).__mul__, map(out.__getitem__, words))))
        titled = {mid for mid, title in snap.folded_titles.items() if term in title}
        if titled:
            in_title = list(compress(docs, map(titled.__contains__, map(snap.meeting_ids.__getitem__, docs))))
            out.update(zip(in_title, map((TITLE_BONUS * idf).__add__, map(out.__getitem__, in_title))))
        return out

    def field_docs(self, node: Field) -> set[int]:
        found = self._field_docs.get(node)
        if found is None:
            found = self._field_docs[node] = self._find_field_docs(node)
        return found

    def _find_field_docs(self, node: Field) -> set[int]:
        snap = self.snap
        if node.name == "speaker":  # the label contains the value, or the person's name does
            return snap.speaker_matches(node.value, self.people)
        value = fold(node.value)
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
