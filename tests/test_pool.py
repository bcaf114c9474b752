"""The per-term posting pool (indexer.pool): order, spills, merges, and what it refuses."""

from __future__ import annotations

import random

import pytest
from whoosh.fields import ID, NGRAM, Schema
from whoosh.filedb.filestore import RamStorage

import indexer.build
import indexer.writing
from indexer.build import build_index
from indexer.pool import TermPool
from indexer.schema import make_schema
from tests.test_codec import actual_postings, expected_postings


def random_postings(seed: int, docs: int = 300) -> list[tuple]:
    rng = random.Random(seed)
    postings = []
    for docnum in range(docs):  # a writer adds documents in order, each with its terms
        for field in ("grams", "kind", "words"):
            for term in sorted({rng.choice("甲乙丙丁戊己庚辛") + rng.choice("子丑寅卯") for _ in range(rng.randint(0, 6))}):
                postings.append((field, term.encode("utf-8"), docnum, float(rng.randint(1, 300)), b""))
    return postings


@pytest.mark.parametrize("limit_mb", [1000, 0.002, 0.0])
def test_postings_come_out_in_term_and_document_order_whatever_the_spills(limit_mb):
    postings = random_postings(7)
    pool = TermPool(RamStorage(), make_schema(), limit_mb)
    for posting in postings:
        pool.add(posting)
    assert (len(pool.runs) > 1) == (limit_mb < 1)
    assert list(pool.iter_postings()) == sorted(postings)
    pool.cleanup()
    assert pool.runs == []


def test_whole_terms_concatenate_runs_in_document_order():
    postings = random_postings(11)
    pool = TermPool(RamStorage(), make_schema(), 0.001)
    for posting in postings:
        pool.add(posting)
    seen = [(field, term) for field, term, _ in pool.by_term()]
    assert seen == sorted(set(seen))
    for field, term, pairs in pool.by_term():
        docs = list(pairs[0::2])
        assert docs == sorted(docs) and len(set(docs)) == len(docs)


def test_fields_with_positions_are_refused():
    schema = Schema(kind=ID(), text=NGRAM())
    with pytest.raises(ValueError, match="no positions or values.*'text'"):
        TermPool(RamStorage(), schema, 10)


def test_an_index_built_with_many_spills_has_exact_postings(fixture_corpus, tmp_path, monkeypatch):
    saves = []
    save = TermPool.save

    def counting_save(self):
        saves.append(len(self.fields))
        save(self)

    monkeypatch.setattr(TermPool, "save", counting_save)
    for module in (indexer.build, indexer.writing):
        monkeypatch.setattr(module, "POOL_LIMIT_MB", 0.05)  # ~50 kB: dozens of runs
    build_index([fixture_corpus], tmp_path / "ix", workers=1)
    assert len(saves) > 10
    assert actual_postings(tmp_path / "ix") == expected_postings(tmp_path / "ix")
