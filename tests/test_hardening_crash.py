"""Crash safety (issue #5, part 3): a killed indexer, a full disk, a refused write.

A run commits everything in one Whoosh commit (turn stores written before the TOC that names
their segments), so whatever kills it, the previous index opens and answers as before, and the
next run needs no manual cleanup: Whoosh's write lock is an ``fcntl.flock`` on
``MAIN_WRITELOCK``, released by the kernel when the last process holding it dies; the next
commit deletes the killed run's unreferenced segment files and its ``MAIN.tmp`` folder.

The SIGKILL tests index 150 files of ../shared/corpus (symlinked into a temporary folder) with
two worker processes on top of an index of the small fixture corpus, and kill the run a second
after the workers start writing their segments.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import whoosh.writing
from click.testing import CliRunner
from whoosh import index as whoosh_index

import indexer.build
import indexer.writing
from indexer.build import build_index
from indexer.cli import main
from indexer.schema import INDEX_NAME
from indexer.search import SearchEngine

from hardening import alive, children_of, one_line_error, write_transcript

REPO = Path(__file__).resolve().parent.parent
QUERIES = ["開放政府", "淨零排碳", "speaker:唐鳳", "的", "台北 OR 臺中", "date:2021..2023 會議"]
SUBSET = 150

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


def results(index_dir: Path) -> dict:
    engine = SearchEngine(index_dir)
    try:
        return {q: engine.search(q, limit=0).to_dict() for q in QUERIES}
    finally:
        engine.close()


def matches(answers: dict) -> dict:
    """The turns each query finds, without scores (which depend on the whole index)."""
    return {q: (a["total"], sorted((h["meeting_id"], h["turn"]) for h in a["hits"])) for q, a in answers.items()}


def lock_is_free(index_dir: Path) -> bool:
    lock = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME).lock("WRITELOCK")
    if lock.acquire(blocking=False):
        lock.release()
        return True
    return False


def lock_frees(index_dir: Path, seconds: float = 5.0) -> bool:
    """Whether the write lock is free within ``seconds`` (killed processes take a moment to be
    torn down: one still in an fsync finishes it before it dies)."""
    deadline = time.monotonic() + seconds
    while not lock_is_free(index_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def lock_holders(index_dir: Path) -> list[str]:
    """The processes with the index's lock file open, as 'pid (command)', for a failure message."""
    holders = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            targets = [os.readlink(fd) for fd in fd_dir.iterdir()]
            if any(t.startswith(str(index_dir)) and t.endswith("WRITELOCK") for t in targets):
                holders.append(f"{fd_dir.parent.name} ({(fd_dir.parent / 'cmdline').read_text().replace(chr(0), ' ')[:120]})")
        except OSError:
            continue
    return holders


def unreferenced_files(index_dir: Path) -> list[str]:
    """Files of segments the current TOC does not name (a killed run's leftovers)."""
    ix = whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    with ix.reader() as reader:
        live = {leaf.segment().segment_id() for leaf, _ in reader.leaf_readers()}
    pattern = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.")  # Whoosh's segment file names
    return sorted(
        p.name for p in index_dir.iterdir()
        if p.name == f"{INDEX_NAME}.tmp" or ((m := pattern.match(p.name)) and m.group(1) not in live)
    )


@pytest.fixture(scope="module")
def subset(shared_corpus, tmp_path_factory) -> Path:
    """150 files of the shared corpus, spread over the years (symlinks: nothing is copied)."""
    folder = tmp_path_factory.mktemp("subset")
    files = sorted((shared_corpus / "audreyt-transcript").glob("*.md"))
    for path in files[:: max(1, len(files) // SUBSET)][:SUBSET]:
        (folder / path.name).symlink_to(path)
    return folder


@pytest.fixture
def previous(fixture_corpus, tmp_path):
    """An index of the fixture corpus and its answers: the 'previous index' of a killed run."""
    index_dir = tmp_path / "ix"
    build_index([fixture_corpus], index_dir, workers=1)
    return index_dir, results(index_dir)


def start_indexer(subset: Path, index_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "indexer", "index", str(subset), "--index", str(index_dir), "--workers", "2", "-q"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def wait_for_workers_writing(proc: subprocess.Popen, index_dir: Path, before: set[str]) -> list[int]:
    """Wait until the workers have started and new segment files exist; returns the workers."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the indexer finished before it could be killed"
        workers = children_of(proc.pid)
        new_files = {p.name for p in index_dir.iterdir()} - before
        if len(workers) >= 2 and any(name.endswith(".pst") for name in new_files):
            time.sleep(1.0)  # well inside the run: the workers are writing postings
            return children_of(proc.pid)
        time.sleep(0.1)
    raise AssertionError("the workers never started writing")


def reap(pids: list[int]) -> None:
    """End the processes this test started (by pid) that are still running."""
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.corpus
def test_sigkill_while_workers_write_leaves_the_previous_index(subset, previous, fixture_corpus, tmp_path):
    index_dir, before = previous
    files_before = {p.name for p in index_dir.iterdir()}
    proc = start_indexer(subset, index_dir)
    workers = []
    try:
        workers = wait_for_workers_writing(proc, index_dir, files_before)
        os.killpg(proc.pid, signal.SIGKILL)  # the indexer and its workers, as kill -9 of the job
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        reap([proc.pid, *workers])
    assert workers and not any(alive(pid) for pid in workers)

    # The previous index opens and answers exactly as before; the lock died with the processes.
    assert results(index_dir) == before
    assert lock_frees(index_dir), f"the write lock is still held by {lock_holders(index_dir)}"
    leftovers = unreferenced_files(index_dir)
    assert leftovers  # the killed run's partial segments are still on disk …

    # … and the next run completes without any manual cleanup, and removes them.
    extra = write_transcript(tmp_path / "more", "2025-01-01-新會議.md", "# 2025-01-01 新增\n\n### 甲：\n殺不死索引\n")
    rerun = subprocess.run(
        [sys.executable, "-m", "indexer", "index", str(fixture_corpus), str(extra), "--index", str(index_dir), "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("Indexed 1 new and 0 changed meetings")
    assert matches(results(index_dir)) == matches(before)  # scores moved: one more meeting
    engine = SearchEngine(index_dir)
    assert engine.search("殺不死索引").total == 1
    engine.close()
    assert unreferenced_files(index_dir) == []


@pytest.mark.corpus
def test_sigkill_of_the_parent_alone_frees_the_lock_soon(subset, previous):
    index_dir, before = previous
    proc = start_indexer(subset, index_dir)
    workers = []
    try:
        workers = wait_for_workers_writing(proc, index_dir, {p.name for p in index_dir.iterdir()})
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert results(index_dir) == before
        assert lock_frees(index_dir), f"orphaned workers still hold the write lock: {lock_holders(index_dir)}"
        assert not any(alive(pid) for pid in workers)
    finally:
        reap([proc.pid, *workers])


# --- disk full, permission denied ----------------------------------------------------------------


def _raise(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


COMMITTED = "the previous index is unchanged"
FAILURES = {
    # name: (object, attribute, errno, workers, the message must say)
    "toc-disk-full": (whoosh.writing.SegmentWriter, "_commit_toc", errno.ENOSPC, 1, COMMITTED),
    "toc-permission": (whoosh.writing.SegmentWriter, "_commit_toc", errno.EACCES, 1, COMMITTED),
    "store-disk-full": (indexer.writing, "write_store", errno.ENOSPC, 1, COMMITTED),
    "worker-store-disk-full": (indexer.writing, "write_store", errno.ENOSPC, 2, COMMITTED),
    "spill-disk-full": (indexer.pool.TermPool, "save", errno.ENOSPC, 1, COMMITTED),
    "worker-spill-disk-full": (indexer.pool.TermPool, "save", errno.ENOSPC, 2, COMMITTED),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_write_failure_keeps_the_previous_index(case, fixture_corpus, tmp_path):
    owner, attribute, code, workers, says = FAILURES[case]
    index_dir = tmp_path / "ix"
    corpus = tmp_path / "corpus"
    shutil.copytree(fixture_corpus, corpus)
    build_index([corpus], index_dir, workers=1)
    before = results(index_dir)
    for name in ("2025-02-02-新會議甲.md", "2025-02-03-新會議乙.md"):  # two jobs: workers do run
        write_transcript(corpus, name, f"# {name[:10]} 新會議\n\n### 甲：\n寫不進去的發言{name}\n")

    with mock.patch.object(owner, attribute, _raise(code)), \
            mock.patch.object(indexer.build, "PARALLEL_MIN_BYTES", 0), \
            mock.patch.object(indexer.build, "POOL_LIMIT_MB", 0), \
            mock.patch.object(indexer.writing, "POOL_LIMIT_MB", 0):  # spill every posting
        result = CliRunner().invoke(main, ["index", str(corpus), "--index", str(index_dir), "-q", "--workers", str(workers)])

    assert result.exit_code == 1
    line = one_line_error(result.stderr)
    assert says in line and os.strerror(code) in line, line
    assert results(index_dir) == before
    assert lock_is_free(index_dir)
    retry = CliRunner().invoke(main, ["index", str(corpus), "--index", str(index_dir), "-q"])
    assert retry.exit_code == 0 and retry.stdout.startswith("Indexed 2 new and 0 changed meetings")
    engine = SearchEngine(index_dir)
    assert engine.search("寫不進去的發言", limit=0).total == 2
    engine.close()


def test_refused_segment_file_keeps_the_previous_index(fixture_corpus, tmp_path):
    """EACCES as Whoosh creates the new segment's files (a read-only index folder)."""
    from whoosh.filedb.filestore import FileStorage

    index_dir = tmp_path / "ix"
    build_index([fixture_corpus], index_dir, workers=1)
    before = results(index_dir)
    with mock.patch.object(FileStorage, "create_file", _raise(errno.EACCES)):
        result = CliRunner().invoke(main, ["index", str(fixture_corpus), "--index", str(index_dir), "-q", "--rebuild"])
    assert result.exit_code == 1
    assert "Permission denied" in one_line_error(result.stderr)
    assert results(index_dir) == before


def test_index_folder_that_cannot_be_created(fixture_corpus, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = CliRunner().invoke(main, ["index", str(fixture_corpus), "--index", str(blocker / "ix"), "-q"])
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == f"Error: cannot create the index in {blocker / 'ix'}: Not a directory"


def test_failed_first_run_leaves_a_usable_empty_index(fixture_corpus, tmp_path):
    index_dir = tmp_path / "new-ix"
    with mock.patch.object(whoosh.writing.SegmentWriter, "_commit_toc", _raise(errno.ENOSPC)):
        failed = CliRunner().invoke(main, ["index", str(fixture_corpus), "--index", str(index_dir), "-q"])
    assert failed.exit_code == 1
    stats = CliRunner().invoke(main, ["stats", "--index", str(index_dir)])
    assert stats.exit_code == 0, stats.stderr
    assert "Meetings: 0" in stats.stdout
