import shutil
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from indexer.build import build_index
from indexer.schema import INDEX_NAME
from indexer.errors import IndexLocked, IndexOutdated
from indexer.search import SearchEngine

from conftest import INDEX_FIXTURES

MEETING_2023 = "2023-05-10-智慧城市與淨零座談"


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in INDEX_FIXTURES.iterdir():
        shutil.copy(path, folder / path.name)
    return folder


def test_second_run_reindexes_nothing(corpus, tmp_path):
    first = build_index([corpus], tmp_path / "ix", workers=1)
    assert (first.added, first.updated, first.removed) == (3, 0, 0)
    second = build_index([corpus], tmp_path / "ix", workers=1)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 3)
    assert not second.changed
    assert second.summary().startswith("Index up to date: 3 meetings unchanged, nothing re-indexed")


def test_changed_file_reindexes_only_that_file(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    path = corpus / f"{MEETING_2023}.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n### 新講者：\n新增的發言提到循環經濟。\n", encoding="utf-8")
    report = build_index([corpus], tmp_path / "ix", workers=1)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 2)
    engine = SearchEngine(tmp_path / "ix")
    hits = engine.search("循環經濟", limit=0).hits
    assert [(h.meeting_id, h.speaker) for h in hits] == [(MEETING_2023, "新講者")]
    # The old version's turns are gone: each turn is found once.
    assert engine.search("台北通", limit=0).total == 1
    engine.close()


def test_deleted_file_removes_its_turns(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    (corpus / f"{MEETING_2023}.md").unlink()
    report = build_index([corpus], tmp_path / "ix", workers=1)
    assert report.removed == 1
    engine = SearchEngine(tmp_path / "ix")
    assert engine.search("台北通", limit=0).total == 0
    assert engine.stats().meetings == 2
    engine.close()


def test_indexing_another_folder_keeps_the_first(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "2024-01-01-另一場會議.md").write_text("# 2024-01-01 另一場會議\n\n### 甲：\n循環經濟\n", encoding="utf-8")
    report = build_index([other], tmp_path / "ix", workers=1)
    assert (report.added, report.removed) == (1, 0)
    engine = SearchEngine(tmp_path / "ix")
    assert engine.stats().meetings == 4
    engine.close()


def test_rebuild_starts_over(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    report = build_index([corpus], tmp_path / "ix", rebuild=True, workers=1)
    assert report.rebuilt and report.added == 3
    engine = SearchEngine(tmp_path / "ix")
    assert engine.stats().meetings == 3
    assert engine.search("台北通", limit=0).total == 1
    engine.close()


def test_bad_files_are_reported_and_the_rest_indexed(corpus, tmp_path):
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (corpus / "README.md").write_text("documentation, not a transcript", encoding="utf-8")
    skipped = []
    report = build_index([corpus], tmp_path / "ix", workers=1, on_skip=skipped.append)
    assert sorted(Path(s.path).name for s in skipped) == ["binary.txt", "empty.md"]
    assert all(s.reason for s in skipped)
    assert report.added == 3 and len(report.skipped) == 2
    assert "skipped 2 files" in report.summary()


def test_same_file_name_in_two_folders_gets_two_ids(tmp_path):
    for name in ("a", "b"):
        folder = tmp_path / "corpus" / name
        folder.mkdir(parents=True)
        (folder / "2024-01-01-會議.md").write_text(f"# 2024-01-01 會議\n\n### 甲：\n{name} 資料\n", encoding="utf-8")
    build_index([tmp_path / "corpus"], tmp_path / "ix", workers=1)
    engine = SearchEngine(tmp_path / "ix")
    ids = {h.meeting_id for h in engine.search("資料", limit=0).hits}
    assert len(ids) == 2 and "2024-01-01-會議" in ids
    engine.close()


def test_second_indexer_gets_a_clear_message(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    ix = whoosh_index.open_dir(str(tmp_path / "ix"), indexname=INDEX_NAME)
    writer = ix.writer()
    try:
        with pytest.raises(IndexLocked, match="another indexer is writing"):
            build_index([corpus], tmp_path / "ix", workers=1)
    finally:
        writer.cancel()
    # Once the first writer is gone the lock is free again.
    assert not build_index([corpus], tmp_path / "ix", workers=1).changed


def test_worker_processes_give_the_same_index(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr("indexer.build.PARALLEL_MIN_BYTES", 0)
    build_index([corpus], tmp_path / "parallel", workers=2)
    build_index([corpus], tmp_path / "serial", workers=1)
    parallel, serial = SearchEngine(tmp_path / "parallel"), SearchEngine(tmp_path / "serial")
    for query in ("開放政府", "淨零", "台北", "唐鳳", "的"):
        assert parallel.search(query, limit=0).to_dict() == serial.search(query, limit=0).to_dict()
    assert parallel.stats().segments == 2
    parallel.close()
    serial.close()


def test_engine_sees_a_new_generation_without_restart(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    engine = SearchEngine(tmp_path / "ix")
    assert engine.search("循環經濟", limit=0).total == 0
    (corpus / "2024-02-02-新會議.md").write_text("# 2024-02-02 新會議\n\n### 乙：\n循環經濟很重要\n", encoding="utf-8")
    build_index([corpus], tmp_path / "ix", workers=1)
    assert engine.search("循環經濟", limit=0).total == 1
    engine.close()


def test_missing_turn_store_is_a_clear_error(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    for sidecar in (tmp_path / "ix").glob("*.turns"):
        sidecar.unlink()
    with pytest.raises(IndexOutdated, match="is missing or damaged .*rebuild the index with --rebuild"):
        SearchEngine(tmp_path / "ix")
    build_index([corpus], tmp_path / "ix", rebuild=True, workers=1)
    engine = SearchEngine(tmp_path / "ix")
    assert engine.search("開放政府", limit=0).total == 3
    engine.close()


def test_small_segments_merge_with_their_turn_stores(corpus, tmp_path):
    build_index([corpus], tmp_path / "ix", workers=1)
    for i in range(8):
        (corpus / f"2024-03-{i + 1:02d}-會議{i}.md").write_text(
            f"# 2024-03-{i + 1:02d} 會議{i}\n\n### 甲：\n第{i}次討論循環經濟\n", encoding="utf-8"
        )
        build_index([corpus], tmp_path / "ix", workers=1)
    engine = SearchEngine(tmp_path / "ix")
    assert engine.stats().segments < 9
    hits = engine.search("循環經濟", limit=0, sort="date").hits
    assert [h.snippet for h in hits] == [f"第{i}次討論<mark>循環經濟</mark>" for i in reversed(range(8))]
    assert engine.search("台北通", limit=0).total == 1
    engine.close()


def test_characters_outside_the_bmp_survive_the_turn_store(engine_of):
    engine = engine_of(
        {"2024-05-05-罕用字.md": "# 2024-05-05 罕用字\n\n### 甲：\n地名𡘙有罕用字😀，還有台北。\n\n### 乙：\n第二段提到台北。\n"}
    )
    assert [h.snippet for h in engine.search("𡘙", limit=0).hits] == ["地名<mark>𡘙</mark>有罕用字😀，還有台北。"]
    assert [h.speaker for h in engine.search("台北", limit=0, sort="date").hits] == ["甲", "乙"]
    assert engine.meeting("2024-05-05-罕用字").turns[1].text == "第二段提到台北。"
    