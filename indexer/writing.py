"""Writing segments: documents for a meeting, the lean posting pool, worker processes, commit.

The parent process of an index run holds the write lock and a writer of its own (deletions, and
small runs of files); large runs hand files to worker processes, each of which parses, analyses
and writes one segment with its turn store. :func:`commit` then writes one new table of contents
naming every segment, after every segment's turn store is on disk.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator


from .analysis import Segmenter, fold, load_segmenter, segment_words
from .errors import IndexWriteError
from .pool import TermPool
from .indexdir import open_index
from .schema import MEETING, TURN, TurnCodec
from .settings import IndexingSettings
from .store import SegmentStore, read_store, write_store
from .transcripts import Meeting, TranscriptError, read_transcript
from .whoosh_adapter import commit_segments, finish_segment, merge_segments, segment_writer, temp_storage

#: Postings held in memory per writer before they are spilled to a run file (see TermPool).
POOL_LIMIT_MB = 128


@dataclass(frozen=True)
class Job:
    path: str
    path_key: str
    source: str
    meeting_id: str
    size: int
    replaces: bool  # True when the file was indexed before (a changed file)


def meeting_documents(meeting: Meeting, path_key: str, segmenter: Segmenter | None = None) -> Iterator[dict]:
    """The Whoosh documents of one meeting: its meeting document, then one per turn (words
    segmented by ``segmenter``, default: the civic dictionary only)."""
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
        "format": meeting.format,
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
            "page": turn.page,
            "grams": fold(turn.text),
            "words": " ".join(segment_words(turn.text, segmenter)),
        }


def lean(writer, limitmb: int):
    """The writer with our per-term posting pool in place of Whoosh's sorting pool."""
    writer.pool = TermPool(temp_storage(writer), writer.schema, limitmb)
    return writer


class Sink:
    """Where parsed documents go: a Whoosh writer and the turn store of its segment."""

    def __init__(self, writer, directory: str | None = None):
        self.writer = writer
        # Texts spill to temporary files in the index folder (the segment's filesystem).
        self.store = SegmentStore(directory)

    def add(self, doc: dict) -> None:
        self.writer.add_document(**whoosh_fields(doc))
        self.store.add(doc, doc.get("grams", ""))


#: What Whoosh stores of a turn document, when not empty (the meeting page's labels).
TURN_STORED = ("speaker_name", "organisation", "section")


def whoosh_fields(doc: dict) -> dict:
    """The fields Whoosh gets for a document of :func:`meeting_documents`.

    A meeting document is stored whole (the planner and the meeting page read it). A turn
    document is only indexed (kind, meeting id, grams, words) and stores its non-empty
    :data:`TURN_STORED` labels: its meeting's title, date and source, its speaker and its text
    are in the turn store, and storing them once per turn again made a tenth of the index.
    """
    if doc["kind"] != TURN:
        return doc
    fields = {
        "kind": TURN,
        "meeting_id": doc["meeting_id"],
        "_stored_kind": None,
        "_stored_meeting_id": None,
        "grams": doc["grams"],
        "words": doc["words"],
    }
    for name in TURN_STORED:
        if doc.get(name):
            fields[name] = doc[name]
    return fields


# --- what indexing a file gives, and what a worker reports ---------------------------------


@dataclass(frozen=True)
class Skipped:
    """A file that could not be indexed, and why (one line)."""

    path: str
    reason: str


@dataclass(frozen=True)
class FileIndexed:
    """A file indexed as meeting ``meeting_id`` with ``turns`` turns."""

    path: str
    meeting_id: str
    turns: int


FileResult = Skipped | FileIndexed


@dataclass(frozen=True)
class SegmentWritten:
    """A worker's segment, written with its turn store and ready to be committed."""

    segment: object


@dataclass(frozen=True)
class WorkerDone:
    """A worker has reported everything and is ending."""


@dataclass(frozen=True)
class WorkerFailed:
    """A worker stopped on an error (``error``: its type and message); the run is cancelled."""

    error: str


def index_jobs(sink: Sink, jobs: list[Job], report: Callable[[FileResult], None], *,
               indexing: IndexingSettings = IndexingSettings(), segmenter: Segmenter | None = None) -> None:
    """Read each job's file and add its documents to ``sink``, reporting each file's result."""
    for job in jobs:
        try:
            meeting = read_transcript(job.path, meeting_id=job.meeting_id, source=job.source,
                                      max_file_mb=indexing.max_file_mb, office=indexing.office)
        except TranscriptError as err:
            report(Skipped(job.path, err.reason))
            continue
        except Exception as err:  # a parser bug must cost one file, not the run
            report(Skipped(job.path, f"could not be parsed ({type(err).__name__}: {err})"))
            continue
        for doc in meeting_documents(meeting, job.path_key, segmenter):
            sink.add(doc)
        report(FileIndexed(job.path, job.meeting_id, len(meeting.turns)))


def _worker(index_dir: str, jobs: list[Job], results, parent: int, indexing: IndexingSettings,
            user_dictionaries: tuple[str, ...]) -> None:
    """Worker process: parse, analyse and write a segment of its own (with its turn store)."""

    def report(message: FileResult) -> None:
        # A worker whose parent was killed would go on holding the inherited write lock for
        # minutes, blocking the next run: it stops at the next file instead.
        if os.getppid() != parent:
            os._exit(1)
        results.put(message)

    try:
        ix = open_index(index_dir)
        sink = Sink(lean(segment_writer(ix, TurnCodec()), POOL_LIMIT_MB), index_dir)
        try:
            index_jobs(sink, jobs, report, indexing=indexing, segmenter=load_segmenter(user_dictionaries))
            segment = finish_segment(sink.writer)
            if segment is not None:
                write_store(index_dir, segment, sink.store)
                results.put(SegmentWritten(segment))
        finally:
            sink.store.close()
        # The temporary folder is shared with the parent's writer, which removes it at the end.
        results.put(WorkerDone())
    except BaseException as err:  # reported to the parent, which cancels the whole run
        results.put(WorkerFailed(f"{type(err).__name__}: {err}"))
        raise


# --- the run -------------------------------------------------------------------------------


def run_workers(index_dir: str, parts: list[list[Job]], on_result: Callable[[FileResult], None], *,
                indexing: IndexingSettings = IndexingSettings(), user_dictionaries: tuple[str, ...] = ()) -> list:
    """Index ``parts`` in one worker process each; returns the segments they wrote (not yet
    committed). Raises IndexWriteError when a worker fails or dies."""
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    results = context.Queue()
    args = (results, os.getpid(), indexing, tuple(user_dictionaries))
    procs = [context.Process(target=_worker, args=(index_dir, part, *args), daemon=True) for part in parts]
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
            if isinstance(message, SegmentWritten):
                segments.append(message.segment)
            elif isinstance(message, WorkerDone):
                ended += 1
            elif isinstance(message, WorkerFailed):
                raise IndexWriteError(f"an indexing worker failed ({message.error}); the previous index is unchanged")
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


def commit(sink: Sink, index_dir: Path, worker_segments: list, rebuild: bool) -> None:
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
        final = merge_segments(writer, mergetype)
        segment = finish_segment(writer)
        if segment is not None:
            write_store(str(index_dir), segment, sink.store)
            final.append(segment)
        final.extend(worker_segments)
        commit_segments(writer, final)
    except OSError as err:
        raise IndexWriteError(
            f"could not write the index ({err.strerror or err}); the previous index is unchanged"
        ) from err


