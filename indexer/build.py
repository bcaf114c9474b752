"""Index building and incremental updates.

An index run scans the given files and folders, compares each file's content hash with the one
recorded in its meeting document, and re-indexes only what is new or changed; meetings whose
file has disappeared from a scanned folder are removed. Everything a run changes is committed
in one Whoosh commit: a crash or a full disk leaves the previous index as it was.

Large runs use worker processes, each parsing, analysing and writing its own Whoosh segment (the
writer's cost is per posting and pure Python, so parallel segments are the lever on build
time); the parent holds the index lock, applies deletions and commits all segments together.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import queue as queue_module
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.writing import PostingPool, SegmentWriter

from .analysis import fold, segment_words
from .errors import IndexLocked, IndexNotFound, IndexOutdated, IndexWriteError
from .paths import bundled_corpus_dir, bundled_source_name, is_transcript_name
from .schema import MEETING, SCHEMA_VERSION, TURN, TurnCodec, make_schema
from .store import SegmentStore, read_store, write_store
from .transcripts import Meeting, TranscriptError, read_transcript

META_FILE = "civic-search.json"
INDEX_NAME = "MAIN"
#: Below this much input, worker processes cost more to start than they save.
PARALLEL_MIN_BYTES = 2_000_000
#: Postings per worker segment (see _Sink) and the writer's memory limit that holds them.
ROLLOVER_POSTINGS = 1_500_000
WORKER_LIMIT_MB = 512


@dataclass(frozen=True)
class Skipped:
    """A file that could not be indexed, and why."""

    path: str
    reason: str


@dataclass
class IndexReport:
    """What an index run did."""

    index_dir: str
    scanned: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    turns: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    rebuilt: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def summary(self) -> str:
        if not self.changed:
            line = f"Index up to date: {self.unchanged} meetings unchanged, nothing re-indexed"
        else:
            line = (
                f"Indexed {self.added} new and {self.updated} changed meetings ({self.turns} turns), "
                f"removed {self.removed}, {self.unchanged} unchanged"
            )
        if self.skipped:
            line += f"; skipped {len(self.skipped)} files"
        return f"{line} ({self.seconds:.1f} s)."


@dataclass(frozen=True)
class _Job:
    path: str
    path_key: str
    source: str
    meeting_id: str
    size: int
    replaces: bool  # True when the file was indexed before (a changed file)


# --- index directory ---------------------------------------------------------------------


def _meta_path(index_dir: Path) -> Path:
    return index_dir / META_FILE


def _expected_meta() -> dict:
    from .analysis import civic_dictionary_path, segmenter_name

    return {
        "schema_version": SCHEMA_VERSION,
        "dictionary": _dictionary_version(civic_dictionary_path()),
        "segmenter": segmenter_name(),
    }


def _dictionary_version(path: str) -> str:
    # The words field depends on the dictionaries: a changed dictionary means a rebuild.
    digest = hashlib.sha256()
    paths = [path] + [p for p in os.environ.get("CIVIC_SEARCH_USER_DICT", "").split(os.pathsep) if p]
    for p in paths:
        try:
            digest.update(Path(p).read_bytes())
        except OSError:
            digest.update(p.encode())
    return digest.hexdigest()[:16]


def index_exists(index_dir: Path) -> bool:
    return Path(index_dir).is_dir() and whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)


def check_index(index_dir: Path) -> None:
    """Raise IndexNotFound / IndexOutdated unless ``index_dir`` holds a usable index."""
    index_dir = Path(index_dir)
    if not index_exists(index_dir):
        raise IndexNotFound(f"no index in {index_dir}")
    try:
        meta = json.loads(_meta_path(index_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise IndexOutdated(f"the index in {index_dir} was built by another version of civic-search")


def open_index(index_dir: Path):
    """Open an existing index (raises IndexNotFound / IndexOutdated)."""
    check_index(index_dir)
    return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)


def _open_or_create(index_dir: Path) -> tuple[object, bool]:
    """Open the index for writing, creating it (or a fresh one for a new schema) as needed."""
    index_dir.mkdir(parents=True, exist_ok=True)
    if index_exists(index_dir):
        try:
            meta = json.loads(_meta_path(index_dir).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        if meta.get("schema_version") == SCHEMA_VERSION:
            return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME), False
        # Another schema: rebuild in place. The old TOC stays valid until the new commit.
        storage = FileStorage(str(index_dir))
        return storage.create_index(make_schema(), indexname=INDEX_NAME), True
    storage = FileStorage(str(index_dir))
    return storage.create_index(make_schema(), indexname=INDEX_NAME), True


# --- scanning ------------------------------------------------------------------------------


def _display_path(root_given: str, root: Path, path: Path) -> str:
    try:
        if root == bundled_corpus_dir() or bundled_corpus_dir() in path.parents:
            return bundled_source_name(path)
    except (FileNotFoundError, ValueError):
        pass
    if path == root:
        return root_given
    return os.path.join(root_given, path.relative_to(root).as_posix())


def scan(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[Path], list[Skipped]]:
    """Files to index under ``paths`` as (path, display path), the scanned folders, and
    unreadable entries. Folders are walked without following symlinked folders (no loops)."""
    files: list[tuple[Path, str]] = []
    folders: list[Path] = []
    problems: list[Skipped] = []
    seen: set[Path] = set()
    for given in paths:
        given_str = str(given)
        root = Path(given).absolute()
        if root.is_file():
            if root not in seen:
                seen.add(root)
                files.append((root, given_str))
            continue
        if not root.is_dir():
            problems.append(Skipped(given_str, "no such file or folder"))
            continue
        folders.append(root)

        def on_error(err: OSError, given_str=given_str) -> None:
            problems.append(Skipped(err.filename or given_str, f"cannot read folder: {err.strerror}"))

        for folder, dirnames, filenames in os.walk(root, onerror=on_error):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                path = Path(folder) / name
                if is_transcript_name(path) and path not in seen:
                    seen.add(path)
                    files.append((path, _display_path(given_str, root, path)))
    return files, folders, problems


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_ID_UNSAFE = re.compile(r"[\s/\\?#%&+]+")


def _base_meeting_id(path: Path) -> str:
    return _ID_UNSAFE.sub("-", path.stem).strip("-") or "meeting"


# --- documents -----------------------------------------------------------------------------


def meeting_documents(meeting: Meeting, path_key: str) -> Iterator[dict]:
    """The Whoosh documents of one meeting: its meeting document, then one per turn."""
    yield {
        "kind": MEETING,
        "meeting_id": meeting.meeting_id,
        "date": meeting.date,
        "title": meeting.title,
        "source": meeting.source,
        "path_key": path_key,
        "content_hash": meeting.content_hash,
        "time": meeting.time,
        "location": meeting.location,
        "chair": meeting.chair,
        "recorder": meeting.recorder,
        "turn_count": len(meeting.turns),
    }
    for turn in meeting.turns:
        yield {
            "kind": TURN,
            "meeting_id": meeting.meeting_id,
            "turn": turn.turn,
            "date": meeting.date,
            "title": meeting.title,
            "source": meeting.source,
            "speaker": turn.speaker,
            "speaker_name": turn.speaker_name,
            "organisation": turn.organisation,
            "section": turn.section,
            "text": turn.text,
            "grams": fold(turn.text),
            "words": " ".join(segment_words(turn.text)),
        }


class _LeanPool(PostingPool):
    """Whoosh's posting pool without per-posting assertions and size arithmetic.

    ``PostingPool.add`` checks types and estimates each posting's size in Python on every call;
    a fixed estimate per posting decides just as well when to spill to disk.
    """

    def add(self, item) -> None:
        self.currentsize += 120
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)


def _lean(writer, limitmb: int):
    writer.pool = _LeanPool(writer._tempstorage, writer.newsegment, limitmb=limitmb)
    # Every field that can get postings, so the segment writer sees them all.
    writer.pool.fieldnames.update(name for name, field in writer.schema.items() if field.indexed)
    return writer


class _Sink:
    """Where parsed documents go: a Whoosh writer and the turn store of its segment.

    With a ``rollover`` callback (worker processes), the sink finishes its segment whenever it
    holds ROLLOVER_POSTINGS postings and continues in a new one. Whoosh's writer keeps postings
    in memory up to ``limitmb`` and beyond that pickles them to temporary runs and merges those
    back, which cost a fifth of the build time; several in-memory segments avoid it.
    """

    def __init__(self, writer, rollover: Callable[["_Sink"], None] | None = None):
        self.writer = writer
        self.store = SegmentStore()
        self.postings = 0
        self.rollover = rollover

    def add(self, doc: dict) -> None:
        text = doc.pop("text", "")
        self.writer.add_document(**doc)
        doc["text"] = text
        folded = doc.get("grams", "")
        self.store.add(doc, folded)
        self.postings += len(folded) + doc.get("words", "").count(" ") + 1

    def meeting_done(self) -> None:
        if self.rollover is not None and self.postings >= ROLLOVER_POSTINGS:
            self.rollover(self)


def _index_jobs(sink: _Sink, jobs: list[_Job], report: Callable[[tuple], None]) -> None:
    for job in jobs:
        try:
            meeting = read_transcript(job.path, meeting_id=job.meeting_id, source=job.source)
        except TranscriptError as err:
            report(("skip", job.path, err.reason))
            continue
        except Exception as err:  # a parser bug must cost one file, not the run
            report(("skip", job.path, f"could not be parsed ({type(err).__name__}: {err})"))
            continue
        for doc in meeting_documents(meeting, job.path_key):
            sink.add(doc)
        report(("done", job.path, job.meeting_id, len(meeting.turns)))
        sink.meeting_done()


def _worker(index_dir: str, jobs: list[_Job], results) -> None:
    """Worker process: parse, analyse and write segments of its own (with their turn stores)."""
    try:
        ix = whoosh_index.open_dir(index_dir, indexname=INDEX_NAME)

        def new_writer():
            return _lean(SegmentWriter(ix, _lk=False, compound=False, codec=TurnCodec()), WORKER_LIMIT_MB)

        def finish(sink: _Sink) -> None:
            if len(sink.store):
                segment = sink.writer._finalize_segment()
                write_store(index_dir, segment, sink.store)
                results.put(("segment", segment))
            else:
                sink.writer._close_segment()

        def rollover(sink: _Sink) -> None:
            finish(sink)
            sink.writer, sink.store, sink.postings = new_writer(), SegmentStore(), 0

        sink = _Sink(new_writer(), rollover)
        _index_jobs(sink, jobs, results.put)
        finish(sink)
        # The temporary folder is shared with the parent's writer, which removes it at the end.
        results.put(("end",))
    except BaseException as err:  # reported to the parent, which cancels the whole run
        results.put(("error", f"{type(err).__name__}: {err}"))
        raise


# --- the run -------------------------------------------------------------------------------


def _split_jobs(jobs: list[_Job], parts: int) -> list[list[_Job]]:
    buckets: list[list[_Job]] = [[] for _ in range(parts)]
    sizes = [0] * parts
    for job in sorted(jobs, key=lambda j: -j.size):
        i = sizes.index(min(sizes))
        buckets[i].append(job)
        sizes[i] += job.size
    return [b for b in buckets if b]


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def build_index(
    paths: Iterable[str | Path] | None = None,
    index_dir: str | Path = ".",
    *,
    rebuild: bool = False,
    workers: int | None = None,
    progress: bool = False,
    wait: float = 0.0,
    on_skip: Callable[[Skipped], None] | None = None,
) -> IndexReport:
    """Bring the index in ``index_dir`` up to date with ``paths`` (default: the bundled corpus).

    Returns what was done; files that could not be read are listed in ``report.skipped`` (and
    passed to ``on_skip`` as they happen). Raises IndexLocked when another indexer is writing.
    """
    started = time.monotonic()
    index_dir = Path(index_dir)
    paths = list(paths) if paths else [bundled_corpus_dir()]
    report = IndexReport(index_dir=str(index_dir))

    def skip(path: str, reason: str) -> None:
        item = Skipped(str(path), reason)
        report.skipped.append(item)
        if on_skip:
            on_skip(item)

    files, folders, problems = scan(paths)
    for problem in problems:
        skip(problem.path, problem.reason)
    report.scanned = len(files)

    try:
        ix, fresh = _open_or_create(index_dir)
    except OSError as err:
        raise IndexWriteError(f"cannot create the index in {index_dir}: {err.strerror or err}") from err
    rebuild = rebuild or fresh
    try:
        writer = _lean(ix.writer(timeout=wait, compound=False, codec=TurnCodec()), 256)
    except LockError as err:
        raise IndexLocked(
            f"another indexer is writing to {index_dir}; wait for it to finish (or use --wait)"
        ) from err

    try:
        jobs, removed_ids = _plan(writer, files, folders, rebuild, report)
        sink = _Sink(writer)
        indexed_ids, segments = _run_jobs(sink, index_dir, jobs, workers, progress, report, skip)
        # Delete old versions only now: a changed file that no longer parses keeps its old
        # version in the index (and is reported), rather than vanishing.
        for job in jobs:
            if job.replaces and job.meeting_id in indexed_ids:
                writer.delete_by_term("meeting_id", job.meeting_id)
        for mid in removed_ids:
            writer.delete_by_term("meeting_id", mid)
        report.removed = len(removed_ids)
        _commit(sink, index_dir, segments, rebuild)
    except BaseException:
        try:
            writer.cancel()
        except Exception:
            pass
        raise
    report.rebuilt = rebuild
    _write_meta(index_dir)
    report.seconds = time.monotonic() - started
    return report


def _plan(writer, files, folders, rebuild, report):
    """Decide per file: unchanged, new, changed; and which indexed meetings were removed."""
    known: dict[str, tuple[str, str]] = {}  # path_key -> (meeting_id, content_hash)
    if not rebuild:
        with writer.reader() as reader:
            if reader.doc_frequency("kind", MEETING):
                for docnum in reader.postings("kind", MEETING).all_ids():
                    stored = reader.stored_fields(docnum)
                    known[stored["path_key"]] = (stored["meeting_id"], stored["content_hash"])
    taken = {mid: key for key, (mid, _) in known.items()}
    jobs: list[_Job] = []
    present: set[str] = set()
    for path, display in files:
        try:
            key = str(path.resolve())
            digest = _hash_file(path)
            size = path.stat().st_size
        except OSError:
            # Unreadable now: let the job read it again and report why, path and all.
            key, digest, size = str(path.absolute()), "", 0
        present.add(key)
        if key in known:
            mid, old_hash = known[key]
            if old_hash == digest:
                report.unchanged += 1
                continue
            replaces = True
        else:
            replaces = False
            mid = _base_meeting_id(path)
            if mid in taken and taken[mid] != key:
                mid = f"{mid}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
        taken[mid] = key
        jobs.append(_Job(str(path), key, display, mid, size, replaces))
    removed = set()
    for key, (mid, _) in known.items():
        if key in present:
            continue
        if any(key == str(f.resolve()) or Path(key).is_relative_to(f.resolve()) for f in folders):
            removed.add(mid)
    return jobs, removed


def _run_jobs(sink: _Sink, index_dir: Path, jobs, workers, progress, report, skip) -> tuple[set[str], list]:
    """Index the jobs; returns the meeting ids indexed and the segments written by workers."""
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="file", disable=not progress or not jobs, leave=False)
    by_path = {job.path: job for job in jobs}
    indexed: set[str] = set()

    def on_result(message: tuple) -> None:
        if message[0] == "skip":
            skip(message[1], message[2])
        elif message[0] == "done":
            job = by_path[message[1]]
            indexed.add(job.meeting_id)
            if job.replaces:
                report.updated += 1
            else:
                report.added += 1
            report.turns += message[3]
        bar.update(1)

    total_bytes = sum(j.size for j in jobs)
    workers = workers if workers is not None else _default_workers()
    segments = []
    try:
        if workers <= 1 or len(jobs) < 2 or total_bytes < PARALLEL_MIN_BYTES:
            _index_jobs(sink, jobs, on_result)
        else:
            segments = _run_workers(str(index_dir), _split_jobs(jobs, workers), on_result)
    finally:
        bar.close()
    return indexed, segments


def _run_workers(index_dir: str, parts: list[list[_Job]], on_result) -> list:
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    results = context.Queue()
    procs = [context.Process(target=_worker, args=(index_dir, part, results), daemon=True) for part in parts]
    for proc in procs:
        proc.start()
    segments = []
    ended = 0
    try:
        while ended < len(procs):
            try:
                message = results.get(timeout=1.0)
            except queue_module.Empty:
                dead = [p for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
                if dead:
                    raise IndexWriteError(f"an indexing worker died (exit code {dead[0].exitcode})")
                continue
            kind = message[0]
            if kind == "segment":
                segments.append(message[1])
            elif kind == "end":
                ended += 1
            elif kind == "error":
                raise IndexWriteError(f"an indexing worker failed: {message[1]}")
            else:
                on_result(message)
    finally:
        for proc in procs:
            if proc.is_alive() and ended < len(procs):
                proc.terminate()
            proc.join(timeout=10)
    return segments


def _drop_all(writer, segments):
    return []


def _merge_small_with_stores(index_dir: Path, store: SegmentStore):
    """Whoosh's MERGE_SMALL policy, carrying the merged segments' turn stores along.

    The writer numbers its own documents first and then each merged segment's live documents in
    order, so appending the stores' live rows in the same order keeps store and segment aligned.
    """
    from whoosh.reading import SegmentReader
    from whoosh.util import fib

    def merge(writer, segments):
        unchanged, to_merge = [], []
        total = 0
        found = False
        for i, seg in enumerate(sorted(segments, key=lambda s: s.doc_count_all())):
            total += max(seg.doc_count_all(), 0)
            if found:
                unchanged.append(seg)
            else:
                to_merge.append(seg)
                if i > 3 and total < fib(i + 5):
                    found = True
        if not (found and len(to_merge) > 1):
            return segments
        for seg in to_merge:
            view = read_store(str(index_dir), seg)
            reader = SegmentReader(writer.storage, writer.schema, seg)
            try:
                live = [d for d in range(seg.doc_count_all()) if not reader.is_deleted(d)]
                writer.add_reader(reader)
                store.extend_live(view, live)
            finally:
                reader.close()
        return unchanged

    return merge


def _commit(sink: _Sink, index_dir: Path, worker_segments: list, rebuild: bool) -> None:
    """Commit the writer's own segment and the workers' segments in one new TOC.

    Every segment's turn store is on disk before the TOC that names the segment is written.
    """
    from whoosh.writing import NO_MERGE

    writer = sink.writer
    try:
        if rebuild:
            mergetype = _drop_all
        elif worker_segments:
            mergetype = NO_MERGE
        else:
            # Merging small segments keeps the segment count low after many small updates.
            mergetype = _merge_small_with_stores(index_dir, sink.store)
        final = writer._merge_segments(mergetype, None, None)
        if writer._added:
            segment = writer._finalize_segment()
            write_store(str(index_dir), segment, sink.store)
            final.append(segment)
        else:
            writer._close_segment()
        final.extend(worker_segments)
        writer._commit_toc(final)
        writer._finish()
    except OSError as err:
        raise IndexWriteError(
            f"could not write the index ({err.strerror or err}); the previous index is unchanged"
        ) from err


def _write_meta(index_dir: Path) -> None:
    tmp = _meta_path(index_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(_expected_meta()), encoding="utf-8")
    os.replace(tmp, _meta_path(index_dir))


def dictionary_outdated(index_dir: Path) -> bool:
    """True when the index was built with other dictionaries than the current ones."""
    try:
        meta = json.loads(_meta_path(Path(index_dir)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    expected = _expected_meta()
    return meta.get("dictionary") != expected["dictionary"] or meta.get("segmenter") != expected["segmenter"]
