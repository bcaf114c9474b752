"""(a) The recipe a user picks first: Whoosh with jieba's ``ChineseAnalyzer``.

The turn text as written goes into a TEXT field with that analyzer (jieba's search mode, its
default Simplified-oriented dictionary, lower case, stop words, Porter stemming); each term is
queried as typed, as a phrase, through Whoosh's QueryParser. Speaker and date are ID fields,
queried with a wildcard ``speaker:*X*`` and a range ``date:[lo TO hi]``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from ..corpus import BenchTurn
from ..queries import SimpleQuery, parse_simple
from . import Baseline, built_size


def _phrase(term: str) -> str:
    return '"' + term.replace('"', " ") + '"'


def to_whoosh_query(q: SimpleQuery) -> str:
    """The QueryParser string for a simple-form query."""
    parts = []
    for group in q.groups:
        parts.append(_phrase(group[0]) if len(group) == 1 else "(" + " OR ".join(map(_phrase, group)) + ")")
    parts.extend(f"NOT {_phrase(t)}" for t in q.excluded)
    if q.speaker is not None:
        parts.append(f"speaker:*{q.speaker}*")
    if q.date is not None:
        low, high = q.date
        low_s = low or ""
        high_s = "" if high == "9999-12-31" else high
        parts.append(f"date:[{low_s} TO {high_s}]")
    return " AND ".join(parts)


class WhooshJieba(Baseline):
    name = "Whoosh + jieba ChineseAnalyzer"
    notes = [
        "Text as written (no Traditional/Simplified, 臺/台 or width folding); a term is a phrase "
        "of jieba search-mode words, so a term that does not fall on word boundaries is missed, "
        "and stop words (的, 了, 和, …) are dropped from the index and the query.",
        "speaker: is a wildcard on the label as written (no folding); date: a range on an ID field.",
        "Built by one writer (the default), as a user would.",
    ]

    def build(self, turns: list[BenchTurn], workdir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import jieba
            from jieba.analyse import ChineseAnalyzer
        from whoosh import index
        from whoosh.fields import ID, TEXT, Schema
        from whoosh.qparser import QueryParser

        jieba.setLogLevel(60)
        self.dir = workdir / "whoosh-jieba"
        self.dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        schema = Schema(text=TEXT(analyzer=ChineseAnalyzer()), speaker=ID(), date=ID())
        ix = index.create_in(str(self.dir), schema)
        writer = ix.writer(limitmb=256)
        for t in turns:
            fields = {"text": t.text, "speaker": t.speaker}
            if t.date:
                fields["date"] = t.date
            writer.add_document(**fields)
        writer.commit()
        self.build_seconds = time.perf_counter() - started
        self.size_bytes = built_size(self.dir)
        self.ix = ix
        # One writer, one commit: a single segment whose document numbers are the turn ids.
        assert ix.doc_count() == len(turns), (ix.doc_count(), len(turns))
        self.searcher = ix.searcher()
        self.parser = QueryParser("text", schema)

    def _query(self, query: str):
        return self.parser.parse(to_whoosh_query(parse_simple(query)))

    def top(self, query: str) -> int:
        results = self.searcher.search(self._query(query), limit=10)
        return len(results)  # Whoosh counts every match for len()

    def matches(self, query: str) -> set[int]:
        return set(self.searcher.docs_for_query(self._query(query)))

    def close(self) -> None:
        if hasattr(self, "searcher"):
            self.searcher.close()
