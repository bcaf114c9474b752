"""Concurrent use (issue #5, part 4): searches while the index commits, two indexers, a server.

A search running while an index update commits sees the old index or the new one, never an
error or a mix; a server (one SearchEngine) picks up a new index generation without a restart;
a second indexer exits with a clear message, or waits with ``--wait``.

The "old or new" check: the writer flips one file in and out of the corpus, so the query's total
is either ``old`` (without the file) or ``new`` (with it), whatever the moment.
"""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index

from indexer.build import build_index
from indexer.errors import CivicSearchError
from indexer.cli import main
from indexer.schema import INDEX_NAME
from indexer.search import SearchEngine
from indexer.snapshot import Snapshot
from search_web import create_app

from conftest import copy_index_fixtures
from hardening import one_line_error, write_transcript

REPO = Path(__file__).resolve().parent.parent
QUERY = "開放政府"
FLIP = "2024-09-09-追加的會議.md"
FLIP_TEXT = "# 2024-09-09 追加的會議\n\n### 甲：\n開放政府再一次\n\n### 乙：\n開放政府又一次\n"
THREAD_SAFETY = (
    "snapshot.py Snapshot.doc_frequency/postings: Whoosh segment readers share seek-and-read file "
    "handles, so concurrent searches on one SearchEngine (waitress's 8 threads) read each other's "
    "offsets: UnpicklingError, zlib errors, wrong totals (45% of searches fail with 4 threads). "
    "Proposed: a threading.Lock per Snapshot (self._io) taken around the Whoosh calls in "
    "doc_frequency and postings"
)
#: The loops below hit the generation race (test_a_commit_while_*) about once in 400 commits, so
#: they may fail until it is fixed: not strict. Remove this marker together with the race fix.


class Flipper:
    """Commits new index generations by adding and removing one file, in its own thread."""

    def __init__(self, corpus: Path, index_dir: Path):
        self.corpus, self.index_dir = corpus, index_dir
        self.commits = 0
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def flip(self) -> None:
        path = self.corpus / FLIP
        if path.exists():
            path.unlink()
        else:
            path.write_text(FLIP_TEXT, encoding="utf-8")
        build_index([self.corpus], self.index_dir, workers=1)
        self.commits += 1

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                self.flip()
        except BaseException as err:  # reported by the test
            self.errors.append(err)

    def __enter__(self) -> "Flipper":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=120)
        assert not self.errors, self.errors


@pytest.fixture
def flip_index(tmp_path):
    """A corpus and its index, and the totals of QUERY without (old) and with (new) the file."""
    corpus = copy_index_fixtures(tmp_path / "corpus")
    index_dir = tmp_path / "ix"
    build_index([corpus], index_dir, workers=1)
    engine = SearchEngine(index_dir)
    old = engine.search(QUERY, limit=0).total
    engine.close()
    return corpus, index_dir, old, old + 2


def search_loop(search, seconds: float, expected: set[int], threads: int = 1) -> tuple[dict, list]:
    """Run ``search()`` (returns a total) in ``threads`` threads for ``seconds``."""
    seen: dict[int, int] = {}
    problems: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop():
        while time.monotonic() < deadline:
            try:
                total = search()
            except Exception as err:
                with lock:
                    problems.append(f"{type(err).__name__}: {err}")
                continue
            with lock:
                seen[total] = seen.get(total, 0) + 1
                if total not in expected:
                    problems.append(f"total {total}")

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return seen, problems


def test_search_while_the_index_commits(flip_index):
    """One engine, one searching thread, a new generation committed every few hundred ms."""
    corpus, index_dir, old, new = flip_index
    engine = SearchEngine(index_dir)
    try:
        with Flipper(corpus, index_dir) as flipper:
            seen, problems = search_loop(lambda: engine.search(QUERY, limit=0).total, 4.0, {old, new})
        assert not problems, problems[:5]
        assert flipper.commits >= 3 and seen and set(seen) <= {old, new}, (flipper.commits, seen)
        # After the last commit, the engine answers from the newest generation.
        assert engine.search(QUERY, limit=0).total == (new if (corpus / FLIP).exists() else old)
    finally:
        engine.close()


class CommitDuringOpen:
    """Lands one more commit exactly between the engine listing the newest TOC and opening it."""

    def __init__(self, monkeypatch, flipper: "Flipper"):
        from whoosh.filedb.filestore import FileStorage

        self.armed = True
        real_open = FileStorage.open_file

        def open_file(storage, name, *args, **kwargs):
            if self.armed and name.endswith(".toc"):
                self.armed = False
                flipper.flip()  # the next generation, committed by "another process"
            return real_open(storage, name, *args, **kwargs)

        monkeypatch.setattr(FileStorage, "open_file", open_file)


def test_a_commit_while_the_engine_reopens(flip_index, monkeypatch):
    corpus, index_dir, old, new = flip_index
    engine = SearchEngine(index_dir)
    try:
        flipper = Flipper(corpus, index_dir)
        flipper.flip()  # a new generation: the next search reopens the index
        race = CommitDuringOpen(monkeypatch, flipper)
        assert engine.search(QUERY, limit=0).total in (old, new)
        assert not race.armed
        monkeypatch.undo()
        assert engine.search(QUERY, limit=0).total == old  # and then the newest generation
    finally:
        engine.close()


def test_a_commit_while_a_new_engine_opens(flip_index, monkeypatch):
    """What each CLI run does: open the index, at any moment of another indexer's commit."""
    corpus, index_dir, old, new = flip_index
    race = CommitDuringOpen(monkeypatch, Flipper(corpus, index_dir))
    engine = SearchEngine(index_dir)
    try:
        assert not race.armed
        assert engine.search(QUERY, limit=0).total in (old, new)
    finally:
        engine.close()


@pytest.mark.parametrize("segment", [0, 1])
@pytest.mark.parametrize("suffix", [".trm", ".pst", ".cpk", ".turns"])  # (stored fields open lazily)
def test_a_segment_deleted_while_the_index_opens_leaves_no_file_open(flip_index, tmp_path, segment, suffix):
    """A commit deletes the files of the generation it replaces, also while a search is opening
    that generation: the open fails (and is retried on the next one), and every file it had
    opened is closed then, not left to the garbage collector (a ResourceWarning, and descriptors
    held meanwhile by every retry)."""
    corpus, index_dir, _, _ = flip_index
    Flipper(corpus, index_dir).flip()  # a second segment
    names = sorted({path.name.split(".")[0] for path in index_dir.glob("MAIN_*.*")})
    assert len(names) == 2
    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)
    (copy / (names[segment] + suffix)).unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises((OSError, CivicSearchError)):
            Snapshot(copy)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_closing_a_snapshot_waits_for_a_read_in_progress(index_dir):
    """A retired snapshot is closed while a page of its results may still read its stored
    fields: the close waits for the read, and a read after it fails cleanly (no file left
    open by a lazy column open racing the close)."""
    snap = Snapshot(index_dir)
    closer = threading.Thread(target=snap.close)
    with snap.io_lock:  # a read in progress
        closer.start()
        closer.join(timeout=0.5)
        assert closer.is_alive()
        assert not snap.reader.is_closed
    closer.join(timeout=30)
    assert snap.reader.is_closed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert snap.meeting_facts(next(iter(snap.meeting_docnum))).complete is False
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_concurrent_searches_on_one_engine(engine):
    queries = ["開放政府", "淨零", "台北", "的", "speaker:唐鳳 開放政府", "台北 OR 臺中"]
    expected = {q: engine.search(q, limit=0).total for q in queries}
    counter = iter(range(10**9))

    def search():
        query = queries[next(counter) % len(queries)]
        total = engine.search(query, limit=0).total
        return 0 if total == expected[query] else -1

    _, problems = search_loop(search, 2.0, {0}, threads=4)
    assert not problems, problems[:5]


def test_concurrent_searches_while_the_index_commits(flip_index):
    corpus, index_dir, old, new = flip_index
    engine = SearchEngine(index_dir)
    try:
        with Flipper(corpus, index_dir):
            _, problems = search_loop(lambda: engine.search(QUERY, limit=0).total, 3.0, {old, new}, threads=3)
        assert not problems, problems[:5]
    finally:
        engine.close()


def test_cli_searches_while_the_index_commits(flip_index):
    """Each CLI run opens the index afresh, at any moment of a commit."""
    corpus, index_dir, old, new = flip_index
    command = [sys.executable, "-m", "indexer", "search", QUERY, "--index", str(index_dir), "--json", "--limit", "0"]
    totals = []
    with Flipper(corpus, index_dir) as flipper:
        for _ in range(6):
            result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, result.stderr
            totals.append(__import__("json").loads(result.stdout)["total"])
    assert set(totals) <= {old, new} and flipper.commits >= 2


@pytest.fixture
def flip_app(flip_index):
    corpus, index_dir, old, new = flip_index
    app = create_app({"INDEX_DIR": str(index_dir)})  # the app opens its one engine itself
    yield app, corpus, index_dir, old, new
    app.extensions["civic_search"].close()


def api_total(client) -> int:
    response = client.get("/api/search", query_string={"q": QUERY, "limit": "0"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["total"]


def test_web_searches_while_the_index_commits(flip_app):
    app, corpus, index_dir, old, new = flip_app
    client = app.test_client()
    with Flipper(corpus, index_dir) as flipper:
        seen, problems = search_loop(lambda: api_total(client), 3.0, {old, new})
    assert not problems, problems[:5]
    assert flipper.commits >= 2 and seen


def test_web_clients_in_parallel_while_the_index_commits(flip_app):
    app, corpus, index_dir, old, new = flip_app

    def search():
        return api_total(app.test_client())

    with Flipper(corpus, index_dir):
        _, problems = search_loop(search, 3.0, {old, new}, threads=4)
    assert not problems, problems[:5]


def test_server_picks_up_a_new_generation(flip_app):
    app, corpus, index_dir, old, new = flip_app
    client = app.test_client()
    assert api_total(client) == old
    generation = client.get("/healthz").get_json()["generation"]
    write_transcript(corpus, FLIP, FLIP_TEXT)
    build_index([corpus], index_dir, workers=1)
    assert api_total(client) == new
    assert client.get("/healthz").get_json()["generation"] > generation
    assert "追加的會議" in client.get("/search", query_string={"q": "開放政府再一次"}).get_data(as_text=True)


# --- two indexers ------------------------------------------------------------------------------


@pytest.fixture
def held_lock(flip_index):
    """Another indexer at work: a Whoosh writer holding the index's write lock."""
    corpus, index_dir, _, _ = flip_index
    writer = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME).writer()
    yield corpus, index_dir, writer
    try:
        writer.cancel()
    except Exception:
        pass


def test_second_indexer_exits_with_a_clear_message(held_lock):
    corpus, index_dir, _ = held_lock
    result = subprocess.run(
        [sys.executable, "-m", "indexer", "index", str(corpus), "--index", str(index_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert one_line_error(result.stderr) == (
        f"Error: another indexer is writing to {index_dir}; wait for it to finish (or use --wait)"
    )


def test_second_indexer_waits_with_wait(held_lock):
    corpus, index_dir, writer = held_lock
    write_transcript(corpus, FLIP, FLIP_TEXT)
    release = threading.Timer(1.0, writer.cancel)
    release.start()
    started = time.monotonic()
    try:
        result = CliRunner().invoke(main, ["index", str(corpus), "--index", str(index_dir), "--wait", "60", "-q"])
    finally:
        release.join()
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Indexed 1 new and 0 changed meetings")
    assert time.monotonic() - started >= 0.9


def test_second_indexer_gives_up_after_wait(held_lock):
    corpus, index_dir, _ = held_lock
    result = CliRunner().invoke(main, ["index", str(corpus), "--index", str(index_dir), "--wait", "0.5", "-q"])
    assert result.exit_code == 1
    assert one_line_error(result.stderr).startswith("Error: another indexer is writing to ")


# --- the load test, short ---------------------------------------------------------------------


def test_soak_smoke(index_dir):
    """bench/soak.py for 3 s: 16 clients against ``civic-search serve`` on the fixture index."""
    sys.path.insert(0, str(REPO))
    try:
        from bench.soak import report, run
    finally:
        sys.path.remove(str(REPO))
    result = run(index_dir, clients=16, seconds=3.0, warmup=1.0)
    print(report(result))
    assert result["server_alive"]
    assert result["requests"] > 100
    assert result["errors"] == 0, result["error_examples"]
