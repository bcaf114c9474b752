"""(d) tantivy (a native engine) fed the engine's folded bigrams: the native-engine ceiling.

Each turn is indexed with the distinct bigrams of its folded text (``indexer.analysis.bigrams``)
as a whitespace-separated field, and the distinct letters/digits/ideographs of its folded text
as a unigram field (for one-character terms). Both store document ids only. A term is the AND
of its bigrams (of its characters when it has no bigram): that gives *candidate* turns, with no
check that the characters are adjacent, so tantivy can return turns that do not contain the
term (counted as extra turns in the report). Making it exact would need the engine's
verification step over the folded texts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from indexer.analysis import bigrams, fold

from ..corpus import BenchTurn
from ..queries import SimpleQuery, parse_simple
from . import Baseline, built_size


def _date_int(iso: str) -> int:
    return int(iso.replace("-", "")) if iso else 0


class TantivyBigrams(Baseline):
    name = "tantivy, folded bigrams"
    notes = [
        "Candidates only: a term is the AND of its folded bigrams (unigram field for 1-character "
        "terms), not verified, so totals can include turns without the phrase.",
        "speaker: is a regex `.*X.*` on the folded label (raw field); date: a range on an integer field.",
    ]

    def __init__(self) -> None:
        super().__init__()
        try:
            import tantivy  # noqa: F401
        except ImportError:
            self.unavailable = "not installed (pip install tantivy)"

    def build(self, turns: list[BenchTurn], workdir: Path) -> None:
        import tantivy

        self.t = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("grams", tokenizer_name="whitespace", index_option="basic")
        builder.add_text_field("chars", tokenizer_name="whitespace", index_option="basic")
        builder.add_text_field("speaker", tokenizer_name="raw", index_option="basic")
        builder.add_integer_field("date", indexed=True, fast=True)
        builder.add_integer_field("doc", fast=True)
        self.schema = builder.build()
        self.dir = workdir / "tantivy"
        self.dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        index = tantivy.Index(self.schema, path=str(self.dir))
        writer = index.writer(heap_size=256_000_000, num_threads=2)
        for i, t in enumerate(turns):
            writer.add_document(tantivy.Document(
                grams=" ".join(bigrams(t.folded)),
                chars=" ".join({c for c in t.folded if c.isalnum()}),
                speaker=t.speaker_folded,
                date=_date_int(t.date),
                doc=i,
            ))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.build_seconds = time.perf_counter() - started
        self.size_bytes = built_size(self.dir)
        self.index = index
        self.searcher = index.searcher()
        self.count = len(turns)

    def _term(self, term: str):
        t, folded = self.t, fold(term)
        grams = sorted(bigrams(folded))
        field, keys = ("grams", grams) if grams else ("chars", sorted({c for c in folded if c.isalnum()}))
        if not keys:
            return t.Query.all_query()  # no letter, digit or ideograph: nothing to look up
        queries = [t.Query.term_query(self.schema, field, k) for k in keys]
        if len(queries) == 1:
            return queries[0]
        return t.Query.boolean_query([(t.Occur.Must, q) for q in queries])

    def _query(self, q: SimpleQuery):
        t = self.t
        clauses = []
        for group in q.groups:
            if len(group) == 1:
                clauses.append((t.Occur.Must, self._term(group[0])))
            else:
                either = t.Query.boolean_query([(t.Occur.Should, self._term(x)) for x in group])
                clauses.append((t.Occur.Must, either))
        clauses.extend((t.Occur.MustNot, self._term(x)) for x in q.excluded)
        if q.speaker is not None:
            pattern = ".*" + re.escape(fold(q.speaker)) + ".*"
            clauses.append((t.Occur.Must, t.Query.regex_query(self.schema, "speaker", pattern)))
        if q.date is not None:
            low, high = q.date
            clauses.append((t.Occur.Must, t.Query.range_query(
                self.schema, "date", t.FieldType.Integer, _date_int(low) or 10000101, _date_int(high))))
        return t.Query.boolean_query(clauses)

    def top(self, query: str) -> int:
        return self.searcher.search(self._query(parse_simple(query)), limit=10, count=True).count

    def matches(self, query: str) -> set[int]:
        result = self.searcher.search(self._query(parse_simple(query)), limit=self.count, count=False,
                                      order_by_field="doc")
        return {int(key) for key, _ in result.hits}
