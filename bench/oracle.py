"""The brute-force baseline, which is also the recall oracle.

Every folded turn text is held in memory; a term is answered by ``term in text`` over all of
them, AND / OR / NOT are set operations, and the speaker and date filters are checked per turn.
It is slow by design and obviously right: its answer defines recall for every other engine.
"""

from __future__ import annotations

import heapq

from indexer.analysis import fold

from .corpus import BenchTurn
from .queries import SimpleQuery, parse_simple


class BruteForce:
    """Scans the folded texts of ``turns`` (document id = position in the list)."""

    name = "brute force"

    def __init__(self, turns: list[BenchTurn]):
        self.turns = turns
        self.folded = [t.folded for t in turns]

    def term_docs(self, folded_term: str) -> set[int]:
        return {i for i, t in enumerate(self.folded) if folded_term in t}

    def matches(self, query: str) -> set[int]:
        """All matching document ids of a simple-form query."""
        return self.evaluate(parse_simple(query))

    def evaluate(self, q: SimpleQuery) -> set[int]:
        result: set[int] | None = None
        for group in q.folded_groups():
            docs: set[int] = set()
            for term in group:
                docs |= self.term_docs(term)
            result = docs if result is None else result & docs
        if result is None:  # filters only
            result = set(range(len(self.turns)))
        for term in q.folded_excluded():
            result -= self.term_docs(term)
        if q.speaker is not None:
            wanted = fold(q.speaker)
            result = {i for i in result if wanted in self.turns[i].speaker_folded}
        if q.date is not None:
            low, high = q.date
            result = {i for i in result if self.turns[i].date and low <= self.turns[i].date <= high}
        return result

    def top(self, query: str, limit: int = 10) -> tuple[list[int], int]:
        """The first ``limit`` matches (no ranking: document order) and the exact total."""
        docs = self.matches(query)
        return heapq.nsmallest(limit, docs), len(docs)
