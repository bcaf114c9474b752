"""The read path at scale: opening reads no text, one- and two-character terms read no text,
verification in chunks, multi-segment indexes, and every view of a result set against a
per-turn reference model (what the arrays must compute, written the obvious slow way)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import indexer.fileio
import indexer.store
from indexer.analysis import fold
from indexer.build import build_index
from indexer.people import person_key
from indexer.search import SearchEngine
from indexer.snapshot import Snapshot
from indexer.store import StoreView
from indexer.transcripts import split_speaker

QUERIES = [
    "淨零排碳", "的", "我們", "台北", "智慧城市", "開放 政府", "淨零 OR 台北", "臺北 -淨零",
    "speaker:唐鳳", "date:2021..2023 臺北", "(淨零 不存在的詞) OR 智慧城市", "title:協作會議", "會",
]


def newest_first(date: str, meeting_id: str) -> tuple:
    """Newest meeting first, meetings without a date last, then by id."""
    return (0 if date else 1, tuple(-ord(c) for c in date), meeting_id)


def reference(result_set) -> dict:
    """Every view of a result set computed per turn from its scores (the definition)."""
    snap = result_set.snap
    scores = result_set.scores
    terms = {t for t in result_set.terms if t}

    def position(g):
        info = snap.info(g)
        return newest_first(info.date, info.meeting_id), snap.turn(g)

    def occurrences(g):
        return sum(snap.folded(g).count(t) for t in terms)

    relevance = sorted(scores, key=lambda g: (-scores[g], position(g)))
    groups: dict[str, list[int]] = {}
    for g in relevance:
        groups.setdefault(snap.meeting_id(g), []).append(g)
    periods: dict[str, list] = {}
    speakers: dict[str, list] = {}
    for g in scores:
        info = snap.info(g)
        entry = periods.setdefault(info.date[:4] or "unknown", [0, set(), 0])
        entry[0] += 1
        entry[1].add(info.meeting_id)
        entry[2] += occurrences(g)
        label, person = snap.speaker(g), result_set.person(g)
        key = ("person", person_key(person)) if person else ("label", label)
        entry = speakers.setdefault(key, [0, set(), 0, [], person or label, person, {}])
        entry[0] += 1
        entry[1].add(info.meeting_id)
        entry[2] += occurrences(g)
        entry[6][label] = entry[6].get(label, 0) + 1
        if info.date:
            entry[3].append(info.date)
    return {
        "relevance": relevance,
        "date": sorted(scores, key=position),
        "groups": [(mid, len(docs), docs[:3]) for mid, docs in groups.items()],
        "periods": sorted((p, n, len(m), o) for p, (n, m, o) in periods.items()),
        "speakers": [
            (person or sorted(labels.items(), key=lambda kv: (-kv[1], kv[0]))[0][0], n, len(m), o,
             min(d, default=""), max(d, default=""), person,
             sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])))
            for n, m, o, d, name, person, labels in sorted(speakers.values(), key=lambda s: (-s[2], -s[0], s[4]))
        ],
        "occurrences": {g: occurrences(g) for g in scores},
    }


@pytest.mark.parametrize("query", QUERIES)
def test_every_view_equals_the_per_turn_reference(engine, query):
    result_set = engine.run(query)
    want = reference(result_set)
    assert result_set.total == len(want["relevance"]) > 0
    assert result_set.ordered("relevance") == want["relevance"]
    assert result_set.ordered("date") == want["date"]
    for wanted in (1, 3, 10):
        assert result_set.ordered("relevance", wanted) == want["relevance"][:wanted]
        assert result_set.ordered("date", wanted) == want["date"][:wanted]
    grouped = result_set.grouped(limit=0)
    snap = result_set.snap
    assert [(g.meeting_id, g.count, [(h.meeting_id, h.turn) for h in g.hits]) for g in grouped.groups] == [
        (mid, n, [(snap.meeting_id(g), snap.turn(g)) for g in docs]) for mid, n, docs in want["groups"]
    ]
    assert [(p.period, p.turns, p.meetings, p.occurrences) for p in result_set.by_period("year")] == want["periods"]
    assert [(s.speaker, s.turns, s.meetings, s.occurrences, s.first_date, s.last_date, s.person,
             [(entry["label"], entry["turns"]) for entry in s.labels])
            for s in result_set.by_speaker()] == want["speakers"]
    for s in result_set.by_speaker():
        name, organisation = split_speaker(s.labels[0]["label"]) if s.labels[0]["label"] else ("", "")
        assert s.speaker_name == (s.person or name)
    counts = dict(zip(result_set.docs.tolist(), result_set.occurrence_array.tolist()))
    assert counts == want["occurrences"]


def test_occurrences_count_terms_of_branches_a_turn_did_not_match_through(engine):
    # 淨零 is only looked for where 不存在的詞 is (nowhere): the turns come from 智慧城市, and
    # their 淨零 occurrences still count, as every positive term's do.
    result_set = engine.run("(淨零 不存在的詞) OR 智慧城市")
    snap = result_set.snap
    said_both = [g for g in result_set.docs.tolist() if fold("淨零") in snap.folded(g)]
    assert said_both
    for g in said_both:
        expected = snap.folded(g).count(fold("淨零")) + snap.folded(g).count(fold("智慧城市"))
        assert result_set.occurrence_count(g) == expected


def test_opening_an_index_decodes_no_text(index_dir, monkeypatch):
    def refuse(self, docnum):
        raise AssertionError("a text was decoded while opening the index")

    for name in ("folded_bytes", "folded", "text_bytes", "text"):
        monkeypatch.setattr(StoreView, name, refuse)
    engine = SearchEngine(index_dir)
    try:
        assert engine.stats().turns > 0
        assert engine.speaker_labels("")
    finally:
        engine.close()


def test_one_and_two_character_terms_read_no_text(engine, monkeypatch):
    def refuse(self, docs, term, keep_empty=False):
        raise AssertionError(f"the texts were read for {term!r}")

    snap = engine.snapshot()
    monkeypatch.setattr(Snapshot, "count_in", refuse)
    for term in ("的", "台", "ai", "我们", "净零", "，"):
        docs, counts = snap.match_text(fold(term), None)
        assert len(docs) == len(counts) > 0, term


def test_verification_in_small_chunks_counts_like_the_whole_texts(engine, monkeypatch):
    monkeypatch.setattr(indexer.store, "CHUNK_BYTES", 200)
    monkeypatch.setattr(indexer.fileio, "RELEASE_BYTES", 1)
    snap = engine.snapshot()
    live = snap.live.tolist()
    for term in ("淨零排碳", "開放政府", "智慧城市", "我們的", "哈哈", "3.5", "臺北市"):
        folded = fold(term)
        docs, counts = snap.match_text(folded, None)
        expected = {g: snap.folded(g).count(folded) for g in live}
        assert dict(zip(docs.tolist(), counts.tolist())) == {g: n for g, n in expected.items() if n}, term


def _answers(engine: SearchEngine) -> dict:
    out = {}
    for query in QUERIES:
        result_set = engine.run(query)
        snap = result_set.snap
        out[query] = (
            result_set.total,
            result_set.meeting_count,
            sorted((snap.meeting_id(g), snap.turn(g)) for g in result_set.docs.tolist()),
            [(p.period, p.turns, p.meetings, p.occurrences) for p in result_set.by_period("month")],
            [(s.speaker, s.turns, s.meetings, s.occurrences) for s in result_set.by_speaker()],
        )
    return out


def test_a_multi_segment_index_with_deletions_answers_like_a_fresh_build(fixture_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(fixture_corpus, corpus)
    grown = tmp_path / "grown"
    files = sorted(corpus.iterdir())
    held_back = tmp_path / "held"
    held_back.mkdir()
    for path in files[1:]:
        shutil.move(str(path), held_back / path.name)
    build_index([corpus], grown, workers=1)
    for path in sorted(held_back.iterdir()):  # one commit, one segment per file
        shutil.move(str(path), corpus / path.name)
        build_index([corpus], grown, workers=1)
    changed = files[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n### 甲：\n補充：淨零排碳與台北\n", encoding="utf-8")
    build_index([corpus], grown, workers=1)  # the old version's documents are deleted
    fresh = tmp_path / "fresh"
    build_index([corpus], fresh, workers=1)
    grown_engine, fresh_engine = SearchEngine(grown), SearchEngine(fresh)
    try:
        assert len(grown_engine.snapshot().segments) > 1
        assert grown_engine.snapshot().deleted
        assert _answers(grown_engine) == _answers(fresh_engine)
    finally:
        grown_engine.close()
        fresh_engine.close()


def test_store_arrays_round_trip(engine):
    snap = engine.snapshot()
    for seg in snap.segments:
        view = seg.view
        assert len(view.turn) == len(view.meeting) == len(view.length) == view.count
        for docnum in range(view.count):
            if view.turn[docnum] >= 0:
                assert int(view.length[docnum]) == len(view.folded(docnum))
                assert view.folded(docnum) == fold(view.text(docnum))
        assert np.all(view.meeting < len(view.meetings)) and np.all(view.speaker < len(view.speakers))


@pytest.mark.parametrize("column", ["meeting", "folded_offsets"])
def test_damage_inside_a_turn_stores_arrays_is_a_clear_error(index_dir, tmp_path, column):
    from indexer.errors import IndexOutdated
    from indexer.store import read_store
    from whoosh import index as whoosh_index

    copy = tmp_path / "ix"
    shutil.copytree(index_dir, copy)
    with whoosh_index.open_dir(str(copy), indexname="MAIN").reader() as reader:
        segment = next(iter(reader.leaf_readers()))[0].segment()
    offset = read_store(str(copy), segment)._column_offsets[column]
    path = next(copy.glob(f"*{segment.segment_id()}*.turns"))
    data = bytearray(path.read_bytes())
    data[offset + 9 : offset + 12] = b"\xff\xff\xff"  # a row pointing far away / offsets going backwards
    path.write_bytes(bytes(data))
    with pytest.raises(IndexOutdated, match=r"turn store .*\.turns is missing or damaged .*--rebuild"):
        SearchEngine(copy)
