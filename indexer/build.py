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
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh.index import LockError

from .errors import IndexLocked, IndexWriteError
from .indexdir import META_FILE, check_index, dictionary_outdated, index_exists, open_index, open_or_create, write_meta
from .paths import (bundled_corpus_dir, bundled_source_name, hash_file, is_documentation_name, is_transcript_name,
                    readable_name)
from .schema import MEETING, TurnCodec
from .analysis import load_segmenter
from .settings import Settings, settings_for
from .writing import POOL_LIMIT_MB, FileIndexed, FileResult, Job, Sink, Skipped, commit, index_jobs, lean, run_workers

__all__ = [
    "IndexReport", "Skipped", "build_index", "scan",
    # The index directory's checks, kept importable from here for existing callers.
    "META_FILE", "check_index", "dictionary_outdated", "index_exists", "open_index",
]

#: Below this much input, worker processes cost more to start than they save.
PARALLEL_MIN_BYTES = 2_000_000


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
    #: files in scanned folders that hold no meeting record, by extension (".xlsx": 12)
    ignored: dict[str, int] = field(default_factory=dict)
    rebuilt: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether the run changed the index."""
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def summary(self) -> str:
        """The one-line summary ``civic-search index`` prints."""
        if not self.changed:
            line = f"Index up to date: {self.unchanged} meetings unchanged, nothing re-indexed"
        else:
            line = (
                f"Indexed {self.added} new and {self.updated} changed meetings ({self.turns} turns), "
                f"removed {self.removed}, {self.unchanged} unchanged"
            )
        if self.skipped:
            line += f"; skipped {len(self.skipped)} files"
        if self.ignored:
            counts = sorted(self.ignored.items(), key=lambda kv: (-kv[1], kv[0]))
            line += "; ignored " + ", ".join(f"{n} {suffix}" for suffix, n in counts)
        return f"{line} ({self.seconds:.1f} s)."


# --- scanning ------------------------------------------------------------------------------


def _display_path(root_given: str, root: Path, path: Path) -> str:
    try:
        if root == bundled_corpus_dir() or bundled_corpus_dir() in path.parents:
            return bundled_source_name(path)
    except (FileNotFoundError, ValueError):
        pass
    if path == root:
        return readable_name(root_given)
    return readable_name(os.path.join(root_given, path.relative_to(root).as_posix()))


@dataclass
class ScanResult:
    """What a scan found: files to index as (path, display path), the folders walked, entries
    that could not be read, and files ignored as holding no record (count by extension)."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    problems: list[Skipped] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def __iter__(self):
        """Unpacks as ``files, folders, problems`` (what scan() returned before it counted
        ignored files)."""
        return iter((self.files, self.folders, self.problems))


def _wanted(path: Path) -> bool:
    """Whether a file met in a folder is read: by its extension, or else by its first bytes
    (a record saved without, or with a wrong, extension). Only files with an unknown extension
    are opened here, so re-checking a folder of transcripts costs no extra reads."""
    if is_transcript_name(path):
        return True
    from .documents.sniff import OFFICE_KINDS, file_kind

    return file_kind(path, path.suffix.lower()) in OFFICE_KINDS


def scan(paths: Iterable[str | Path]) -> ScanResult:
    """Files to index under ``paths`` (see :class:`ScanResult`). Folders are walked without
    following symlinked folders (no loops); a file named on its own is always read."""
    result = ScanResult()
    files, folders, problems = result.files, result.folders, result.problems
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
                if path in seen or is_documentation_name(path):
                    continue
                if _wanted(path):
                    seen.add(path)
                    files.append((path, _display_path(given_str, root, path)))
                else:
                    suffix = readable_name(path.suffix.lower()) or "(no extension)"
                    result.ignored[suffix] = result.ignored.get(suffix, 0) + 1
    return result


_ID_UNSAFE = re.compile(r"[\s/\\?#%&+\x00-\x1f\x7f-\x9f]+")


def _base_meeting_id(path: Path) -> str:
    # readable_name: a Big5 file name from a Windows archive must still give a text id.
    return _ID_UNSAFE.sub("-", readable_name(path.stem)).strip("-") or "meeting"


# --- documents -----------------------------------------------------------------------------


def _split_jobs(jobs: list[Job], parts: int) -> list[list[Job]]:
    buckets: list[list[Job]] = [[] for _ in range(parts)]
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
    index_dir: str | Path | None = None,
    *,
    rebuild: bool = False,
    workers: int | None = None,
    progress: bool = False,
    wait: float = 0.0,
    on_skip: Callable[[Skipped], None] | None = None,
    settings: Settings | None = None,
) -> IndexReport:
    """Bring the index in ``index_dir`` up to date with ``paths`` (default: the bundled corpus).

    :param paths: files and folders to index; folders are walked for transcript files.
    :param index_dir: the index folder (default: ``settings.index_dir``); created if needed.
    :param rebuild: re-index every file instead of only new and changed ones.
    :param workers: worker processes (default: the cores, at most 4; small runs use none).
    :param progress: show a progress bar on stderr.
    :param wait: seconds to wait for another indexer's lock before giving up.
    :param on_skip: called with each file that cannot be indexed, as it happens.
    :param settings: the size limits, the office-document limits and LibreOffice, and the user
        dictionaries (default: :class:`Settings` defaults).
    :returns: what was done; unreadable files are listed in ``report.skipped``, files in the
        folders that hold no meeting record are counted by extension in ``report.ignored``.
    :raises IndexLocked: another indexer is writing. :raises IndexWriteError: the index could not
        be written; the previous index is unchanged.
    """
    started = time.monotonic()
    settings = settings_for(index_dir, settings)
    index_dir = settings.index_dir
    report = IndexReport(index_dir=str(index_dir))

    def skip(item: Skipped) -> None:
        report.skipped.append(item)
        if on_skip:
            on_skip(item)

    found = scan(list(paths) if paths else [bundled_corpus_dir()])
    files, folders = found.files, found.folders
    for problem in found.problems:
        skip(problem)
    report.scanned = len(files)
    report.ignored = found.ignored
    writer, fresh = _open_writer(index_dir, wait, settings)
    rebuild = rebuild or fresh
    try:
        jobs, removed_ids = _plan(writer, files, folders, rebuild, report)
        run = _JobRun(report, skip, jobs, progress)
        _update(writer, run, removed_ids, rebuild, workers, settings)
    except BaseException as err:
        _cancel(writer, err)
        raise
    report.rebuilt = rebuild
    write_meta(index_dir, settings.analysis.user_dictionaries)
    report.seconds = time.monotonic() - started
    return report


def _update(writer, run: "_JobRun", removed_ids: set[str], rebuild: bool, workers: int | None,
            settings: Settings) -> None:
    """Index the run's jobs, delete what they replace and what was removed, and commit."""
    # Texts spill to temporary files in the index folder, removed when the run ends.
    sink = Sink(writer, str(settings.index_dir))
    try:
        segments = run.index(sink, settings.index_dir, workers, settings)
        # Delete old versions only now: a changed file that no longer parses keeps its old
        # version in the index (and is reported), rather than vanishing.
        for job in run.jobs:
            if job.replaces and job.meeting_id in run.indexed:
                writer.delete_by_term("meeting_id", job.meeting_id)
        for mid in removed_ids:
            writer.delete_by_term("meeting_id", mid)
        run.report.removed = len(removed_ids)
        commit(sink, settings.index_dir, segments, rebuild)
    finally:
        sink.store.close()


def _open_writer(index_dir: Path, wait: float, settings: Settings):
    """The index's writer (creating the index if needed), and whether the index is new."""
    try:
        ix, fresh = open_or_create(index_dir, settings.analysis.user_dictionaries)
    except OSError as err:
        raise IndexWriteError(f"cannot create the index in {index_dir}: {err.strerror or err}") from err
    try:
        return lean(ix.writer(timeout=wait, compound=False, codec=TurnCodec()), POOL_LIMIT_MB), fresh
    except LockError as err:
        raise IndexLocked(
            f"another indexer is writing to {index_dir}; wait for it to finish (or use --wait)"
        ) from err


def _cancel(writer, err: BaseException) -> None:
    """Cancel the run's writer; an OSError that stopped the run becomes an IndexWriteError."""
    try:
        writer.cancel()
    except Exception:
        pass
    if isinstance(err, OSError):
        # Reading problems are per file (reported and skipped); an OSError here is a write
        # (a posting pool spill, a segment file): nothing was committed.
        raise IndexWriteError(
            f"could not write the index ({err.strerror or err}); the previous index is unchanged"
        ) from err


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
    jobs: list[Job] = []
    present: set[str] = set()
    for path, display in files:
        try:
            key = str(path.resolve())
        except (OSError, RuntimeError):  # a symlink loop raises RuntimeError on Python 3.11
            key = str(path.absolute())
        if key in present:
            continue  # a second path (a symlink) to a file already planned
        try:
            digest = hash_file(path)
            size = path.stat().st_size
        except OSError:
            # Unreadable now: let the job read it again and report why, path and all.
            digest, size = "", 0
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
        jobs.append(Job(str(path), key, display, mid, size, replaces))
    removed = set()
    for key, (mid, _) in known.items():
        if key in present:
            continue
        if any(key == str(f.resolve()) or Path(key).is_relative_to(f.resolve()) for f in folders):
            removed.add(mid)
    return jobs, removed


class _JobRun:
    """Indexes a run's jobs and counts what they gave into the report."""

    def __init__(self, report: IndexReport, skip: Callable[[Skipped], None], jobs: list[Job], progress: bool):
        self.report = report
        self.skip = skip
        self.jobs = jobs
        self.progress = progress
        self.by_path = {job.path: job for job in jobs}
        #: The meeting ids indexed in this run.
        self.indexed: set[str] = set()

    def on_result(self, result: FileResult) -> None:
        if isinstance(result, Skipped):
            self.skip(result)
        elif isinstance(result, FileIndexed):
            job = self.by_path[result.path]
            self.indexed.add(job.meeting_id)
            if job.replaces:
                self.report.updated += 1
            else:
                self.report.added += 1
            self.report.turns += result.turns
        self.bar.update(1)

    def index(self, sink: Sink, index_dir: Path, workers: int | None, settings: Settings) -> list:
        """Index the jobs; returns the segments written by worker processes (if any)."""
        from tqdm import tqdm

        jobs = self.jobs
        self.bar = tqdm(total=len(jobs), unit="file", disable=not self.progress or not jobs, leave=False)
        total_bytes = sum(j.size for j in jobs)
        workers = workers if workers is not None else _default_workers()
        try:
            if not jobs:
                return []  # nothing to index: do not load the dictionaries (0.7 s) for nothing
            if workers <= 1 or len(jobs) < 2 or total_bytes < PARALLEL_MIN_BYTES:
                segmenter = load_segmenter(settings.analysis.user_dictionaries)
                index_jobs(sink, jobs, self.on_result, indexing=settings.indexing, segmenter=segmenter)
                return []
            return run_workers(str(index_dir), _split_jobs(jobs, workers), self.on_result,
                               indexing=settings.indexing, user_dictionaries=settings.analysis.user_dictionaries)
        finally:
            self.bar.close()
