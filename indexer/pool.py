"""The posting pool: postings buffered per term while a segment is written.

Whoosh's own pool keeps one tuple per posting, sorts them, spills sorted runs to disk one posting
at a time and merges the runs back posting by posting: on this corpus that sorting, spilling and
merging was a third of the build, and grew faster than the corpus (more runs to merge). A
segment's documents arrive in document order, so each term's postings are already in order:
this pool appends them to one array per term instead (document number and count, 8 bytes a
posting), spills whole term arrays in term order when it holds :attr:`TermPool.limit` bytes, and
at the end merges the runs term by term. :class:`~indexer.codec.CompactFieldWriter` takes the
terms' arrays whole (:meth:`TermStream.by_term`).

Every indexed field must use Whoosh's ``Existence`` format (no positions or other per-posting
values): the pool keeps a document number and a count, nothing else.
"""

from __future__ import annotations

import heapq
import marshal
from array import array
from itertools import groupby
from operator import itemgetter
from typing import Iterator

from whoosh.formats import Existence
from whoosh.util import random_name

#: Memory a new term's array and dictionary entry cost, and a posting (document, count).
TERM_BYTES = 170
POSTING_BYTES = 8
#: Terms per marshal chunk in a spilled run.
CHUNK_TERMS = 8192


def _pairs() -> array:
    return array("I")


class TermPool:
    """Whoosh's pool interface (``add``, ``iter_postings``, ``cleanup``) over per-term arrays.

    ``add`` takes Whoosh's posting tuples ``(fieldname, btext, docnum, weight, value)``; the
    weight is the count (the grams field's bigram count, else 1).
    """

    def __init__(self, tempstore, schema, limitmb: float):
        odd = sorted(name for name, field in schema.items() if field.indexed and not isinstance(field.format, Existence))
        if odd:
            raise ValueError(f"the term pool keeps no positions or values, but these fields need them: {odd}")
        self.tempstore = tempstore
        self.limit = limitmb * 1024 * 1024
        self.size = 0
        self.fields: dict[str, dict[bytes, array]] = {}
        self.runs: list[str] = []
        self.fieldnames: set[str] = set()

    def add(self, item) -> None:
        fieldname, btext, docnum, weight, _ = item
        terms = self.fields.get(fieldname)
        if terms is None:
            terms = self.fields[fieldname] = {}
        pairs = terms.get(btext)
        if pairs is None:
            pairs = terms[btext] = _pairs()
            self.size += TERM_BYTES
        pairs.append(docnum)
        pairs.append(int(weight))
        self.size += POSTING_BYTES
        if self.size > self.limit:
            self.save()

    def _sorted_terms(self) -> Iterator[tuple[str, bytes, array]]:
        for fieldname in sorted(self.fields):
            terms = self.fields[fieldname]
            for btext in sorted(terms):
                yield fieldname, btext, terms[btext]

    def save(self) -> None:
        """Spill the buffered terms to a run file, in term order, and start afresh."""
        if not self.fields:
            return
        path = f"{random_name()}.run"
        handle = self.tempstore.create_file(path)
        self.runs.append(path)
        try:
            chunk = []
            for fieldname, btext, pairs in self._sorted_terms():
                chunk.append((fieldname, btext, pairs.tobytes()))
                if len(chunk) >= CHUNK_TERMS:
                    marshal.dump(chunk, handle)
                    chunk = []
            if chunk:
                marshal.dump(chunk, handle)
        finally:
            handle.close()  # a storage's file: closing it is what stores it (RamStorage)
        self.fields = {}
        self.size = 0

    def _read_run(self, path: str) -> Iterator[tuple[str, bytes, array]]:
        with self.tempstore.open_file(path).raw_file() as handle:
            while True:
                try:
                    chunk = marshal.load(handle)
                except EOFError:
                    return
                for fieldname, btext, data in chunk:
                    pairs = _pairs()
                    pairs.frombytes(data)
                    yield fieldname, btext, pairs

    def iter_postings(self) -> "TermStream":
        return TermStream(self)

    def by_term(self) -> Iterator[tuple[str, bytes, array]]:
        """(fieldname, btext, [doc, count, doc, count, …]) in term order, runs merged.

        Runs are merged in the order they were written, which is document order, so a term's
        arrays concatenate into one ascending list.
        """
        streams = [self._read_run(path) for path in self.runs] + [self._sorted_terms()]
        if len(streams) == 1:
            yield from streams[0]
            return
        key = itemgetter(0, 1)
        for (fieldname, btext), parts in groupby(heapq.merge(*streams, key=key), key=key):
            pairs = _pairs()
            for _, _, more in parts:
                pairs.extend(more)
            yield fieldname, btext, pairs

    def cleanup(self) -> None:
        for path in self.runs:
            try:
                self.tempstore.delete_file(path)
            except OSError:
                pass
        self.runs = []
        self.fields = {}


class TermStream:
    """What ``iter_postings`` returns: the pool's terms, whole (``by_term``), or as Whoosh's
    posting tuples when iterated (for a field writer that takes postings one at a time)."""

    def __init__(self, pool: TermPool):
        self.by_term = pool.by_term

    def __iter__(self):
        for fieldname, btext, pairs in self.by_term():
            for i in range(0, len(pairs), 2):
                yield fieldname, btext, pairs[i], float(pairs[i + 1]), b""
