"""The compact postings format (indexer.codec): exact postings, Whoosh's reader API, damage."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index

from indexer.analysis import fold, gram_counts, segment_words
from indexer.build import build_index
from indexer.codec import EXT, decode_postings, encode_postings
from indexer.errors import IndexOutdated
from indexer.schema import INDEX_NAME, TURN
from indexer.search import SearchEngine
from indexer.store import read_store


@settings(max_examples=300, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=400))
def test_posting_lists_round_trip(ids):
    ids = sorted(ids)
    assert decode_postings(encode_postings(ids)) == (ids, None)


@pytest.mark.parametrize("ids", [[0], [5], [0, 1, 2, 3], list(range(0, 100_000, 7)), [3, 70_000, 2**32 - 1]])
def test_posting_lists_round_trip_at_type_edges(ids):
    assert decode_postings(encode_postings(ids)) == (ids, None)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=2**32 - 1),
                       min_size=1, max_size=300))
def test_posting_lists_with_counts_round_trip(postings):
    ids = sorted(postings)
    counts = [postings[d] for d in ids]
    decoded_ids, decoded_counts = decode_postings(encode_postings(ids, counts))
    assert decoded_ids == ids
    assert (decoded_counts or [1] * len(ids)) == counts


def test_all_ones_counts_cost_nothing():
    ids = list(range(0, 3000, 5))
    assert encode_postings(ids, [1] * len(ids)) == encode_postings(ids)


def test_long_dense_lists_are_compressed():
    ids = list(range(0, 60_000, 3))
    assert len(encode_postings(ids)) < len(ids) // 4


def expected_postings(index_dir):
    """What the grams and words postings must be, from each segment's turn store and the
    transcripts: {(segment id, field): {term: [(docnum, count)]}} for live turns: every bigram
    and every character but the space of the folded text, with its count, and the words."""
    ix = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    out = {}
    with ix.reader() as reader:
        for segreader, _ in reader.leaf_readers():
            segment = segreader.segment()
            view = read_store(str(index_dir), segment)
            grams, words = {}, {}
            for docnum, kind in enumerate(view.kinds):
                if kind != TURN or segreader.is_deleted(docnum):
                    continue
                for gram, count in gram_counts(view.folded(docnum)).items():
                    grams.setdefault(gram, []).append((docnum, count))
                for word in set(segment_words(view.text(docnum))):
                    words.setdefault(word, []).append((docnum, 1))
            out[(segment.segment_id(), "grams")] = grams
            out[(segment.segment_id(), "words")] = words
    return out


def actual_postings(index_dir):
    ix = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    out = {}
    with ix.reader() as reader:
        for segreader, _ in reader.leaf_readers():
            for field in ("grams", "words"):
                terms = {}
                for text in segreader.lexicon(field):
                    term = text.decode("utf-8")
                    matcher = segreader.postings(field, term)
                    postings = []
                    while matcher.is_active():  # Whoosh's matcher API, as its merges read it
                        postings.append((matcher.id(), int(matcher.weight())))
                        matcher.next()
                    assert segreader.doc_frequency(field, term) >= len(postings)
                    if postings:
                        terms[term] = postings
                out[(segreader.segment().segment_id(), field)] = terms
    return out


def test_postings_are_exactly_the_bigrams_and_words_of_every_turn(index_dir):
    # Bigram and character counts included: one- and two-character terms are answered from them.
    assert actual_postings(index_dir) == expected_postings(index_dir)


def test_postings_stay_exact_through_updates_and_merges(fixture_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(fixture_corpus, corpus)
    index = tmp_path / "ix"
    build_index([corpus], index, workers=1)
    for i in range(7):  # enough small commits for the merge policy to merge segments
        (corpus / f"2024-05-{i + 1:02d}-加開{i}.md").write_text(
            f"# 2024-05-{i + 1:02d} 加開{i}\n\n### 甲：\n第{i}次加開，討論淨零排碳與臺北PoC\n", encoding="utf-8"
        )
        build_index([corpus], index, workers=1)
    changed = sorted(corpus.glob("*.md"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n補充：淨零排碳\n", encoding="utf-8")
    build_index([corpus], index, workers=1)  # a changed meeting: deletions in an old segment
    assert actual_postings(index) == expected_postings(index)
    engine = SearchEngine(index)
    assert engine.search("加開", limit=0).total == 7
    engine.close()


def test_whoosh_term_api_on_compact_fields(index_dir):
    ix = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    with ix.reader() as reader:
        segreader = next(iter(reader.leaf_readers()))[0]
        gram = fold("淨零")
        assert ("grams", gram.encode("utf-8")) in segreader._terms
        assert ("grams", "不存在的詞".encode("utf-8")) not in segreader._terms
        info = segreader.term_info("grams", gram)
        ids = list(segreader.postings("grams", gram).all_ids())
        assert info.doc_frequency() == len(ids) and (info.min_id(), info.max_id()) == (ids[0], ids[-1])
        assert segreader.doc_frequency("grams", "不存在的詞") == 0
        # Prefix expansion and cursors walk the field's sorted terms.
        expanded = list(segreader.expand_prefix("grams", fold("淨")))
        assert expanded and all(t.startswith(fold("淨").encode()) for t in expanded)
        assert expanded == sorted(expanded)
        cursor = segreader.cursor("grams")
        assert cursor.find(gram) == gram and cursor.is_valid()
        assert cursor.term_info().doc_frequency() == len(ids)


def damaged_copy(index_dir, tmp_path, damage):
    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    for path in copy.glob(f"*{EXT}"):
        damage(path)
    return copy


def test_a_truncated_postings_file_is_a_clear_error(index_dir, tmp_path):
    copy = damaged_copy(index_dir, tmp_path, lambda p: p.write_bytes(p.read_bytes()[:100]))
    with pytest.raises(IndexOutdated, match=r"postings file .*\.cpk is missing or damaged .*--rebuild"):
        SearchEngine(copy)


def test_a_missing_postings_file_is_a_clear_error(index_dir, tmp_path):
    copy = damaged_copy(index_dir, tmp_path, lambda p: p.unlink())
    with pytest.raises(IndexOutdated, match=r"postings file .*\.cpk is missing or damaged"):
        SearchEngine(copy)


def test_damaged_blocks_are_a_clear_error_when_searched(index_dir, tmp_path):
    def scramble(path):
        data = bytearray(path.read_bytes())
        # Past the magic, before the block index: postings and dictionary blocks.
        for i in range(16, len(data) // 2):
            data[i] ^= 0x5A
        path.write_bytes(bytes(data))

    engine = SearchEngine(damaged_copy(index_dir, tmp_path, scramble))
    with pytest.raises(IndexOutdated, match="missing or damaged"):
        for query in ("淨零排碳", "開放政府", "會議", "數位", "市民", "資料"):
            engine.search(query, limit=0)
    engine.close()


def _counted_in_texts(snap, docs, term):
    """{doc: str.count} over the decoded folded texts of ``docs``: the definition, no index."""
    counts = {g: snap.folded(g).count(term) for g in docs}
    return {g: n for g, n in counts.items() if n}


def _matched(snap, term, restrict=None):
    docs, counts = snap.match_text(term, None if restrict is None else np.array(sorted(restrict), np.int64))
    return dict(zip(docs.tolist(), counts.tolist()))


def test_one_and_two_character_terms_answered_from_counts_equal_counting_the_texts(engine):
    snap = engine.snapshot()
    live = snap.live.tolist()
    every = sorted({gram for g in live for gram in gram_counts(snap.folded(g))})
    doubled = [gram for gram in every if len(gram) == 2 and gram[0] == gram[1]]  # can overlap: counted in texts
    assert len(every) > 1000 and any(len(gram) == 1 for gram in every)
    for term in every[:: len(every) // 400] + doubled + ["的", "，", "0"]:
        expected = _counted_in_texts(snap, live, term)
        assert _matched(snap, term) == expected, term
        restrict = set(list(expected)[::2]) | {0, 1, 2}
        assert _matched(snap, term, restrict) == {g: n for g, n in expected.items() if g in restrict}, term


def test_terms_without_a_bigram_are_found_through_their_characters(engine):
    snap = engine.snapshot()
    live = snap.live.tolist()
    for term in ("3.5", "a-b", "1/2", "%", "：", "(", "o k"):
        assert _matched(snap, term) == _counted_in_texts(snap, live, term), term


def test_self_overlapping_two_character_terms_count_like_str_count(engine_of):
    engine = engine_of({"2024-06-01-笑聲.md": "# 2024-06-01 笑聲\n\n### 甲：\n哈哈哈，預算2000萬，哈哈。\n\n### 乙：\n哈哈哈哈\n"
                                          "\n### 丙：\n謝謝，謝謝大家\n\n### 丁：\n謝謝謝謝謝\n"})
    snap = engine.snapshot()
    for term, expected in (("哈哈", [2, 2]), ("00", [1]), ("20", [1]), ("哈", [4, 5]), ("哈哈哈", [1, 1]),
                           ("000", [1]), ("2000", [1])):
        assert sorted(_matched(snap, term).values()) == expected, term
    # 謝謝 twice apart is two matches; in a run of five, two (as str.count counts).
    assert sorted(_matched(snap, fold("謝謝")).values()) == [2, 2]
    assert sorted(_matched(snap, fold("謝謝謝")).values()) == [1]


def test_a_damaged_block_index_is_a_clear_error(index_dir, tmp_path):
    def scramble_tail(path):
        data = bytearray(path.read_bytes())
        # The block index (marshalled) sits just before the 16-byte trailer.
        for i in range(len(data) - 400, len(data) - 16):
            data[i] = (data[i] * 7 + 3) % 256
        path.write_bytes(bytes(data))

    with pytest.raises(IndexOutdated, match=r"postings file .*\.cpk is missing or damaged"):
        SearchEngine(damaged_copy(index_dir, tmp_path, scramble_tail))
