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
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError

from .errors import IndexLocked, IndexNotFound, IndexOutdated, IndexWriteError
from .documents import OfficeSettings
from .paths import bundled_corpus_dir, bundled_source_name, is_documentation_name, is_transcript_name
from .schema import INDEX_NAME, MEETING, SCHEMA_VERSION, TurnCodec, make_schema
from .transcripts import readable_name
from .writing import POOL_LIMIT_MB, Job, Sink, commit, index_jobs, lean, run_workers

META_FILE = "civic-search.json"
#: Below this much input, worker processes cost more to start than they save.
PARALLEL_MIN_BYTES = 2_000_000


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
    #: files in scanned folders that hold no meeting record, by extension (".xlsx": 12)
    ignored: dict[str, int] = field(default_factory=dict)
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
        if self.ignored:
            counts = sorted(self.ignored.items(), key=lambda kv: (-kv[1], kv[0]))
            line += "; ignored " + ", ".join(f"{n} {suffix}" for suffix, n in counts)
        return f"{line} ({self.seconds:.1f} s)."


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
    # A new index, or one of another schema version (unusable by this version anyway): start an
    # empty index of this version, so that a first run that fails still leaves a usable index.
    storage = FileStorage(str(index_dir))
    ix = storage.create_index(make_schema(), indexname=INDEX_NAME)
    _write_meta(index_dir)
    return ix, True


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


def _blocks_of(path: str | Path):
    """The bytes of a regular file, a MB at a time; OSError when it is not one."""
    # Non-blocking open: a FIFO named like a transcript must not hang the run.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"not a regular file: {path}")
        yield from iter(lambda: handle.read(1 << 20), b"")


def hash_file(path: str | Path) -> str:
    """sha256 of a file's bytes (what a meeting's content hash is); OSError if unreadable."""
    digest = hashlib.sha256()
    for block in _blocks_of(path):
        digest.update(block)
    return digest.hexdigest()


def read_regular_file(path: str | Path) -> bytes:
    """A regular file's bytes (OSError for a folder, FIFO or device, or if unreadable)."""
    return b"".join(_blocks_of(path))


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
    index_dir: str | Path = ".",
    *,
    rebuild: bool = False,
    workers: int | None = None,
    progress: bool = False,
    wait: float = 0.0,
    on_skip: Callable[[Skipped], None] | None = None,
    office: OfficeSettings | None = None,
) -> IndexReport:
    """Bring the index in ``index_dir`` up to date with ``paths`` (default: the bundled corpus).

    Returns what was done; files that could not be read are listed in ``report.skipped`` (and
    passed to ``on_skip`` as they happen), files in the folders that hold no record are counted
    in ``report.ignored``. ``office`` sets the limits for office documents and where LibreOffice
    is (default: :class:`~indexer.documents.OfficeSettings`). Raises IndexLocked when another
    indexer is writing.
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

    found = scan(paths)
    files, folders = found.files, found.folders
    for problem in found.problems:
        skip(problem.path, problem.reason)
    report.scanned = len(files)
    report.ignored = found.ignored

    try:
        ix, fresh = _open_or_create(index_dir)
    except OSError as err:
        raise IndexWriteError(f"cannot create the index in {index_dir}: {err.strerror or err}") from err
    rebuild = rebuild or fresh
    try:
        writer = lean(ix.writer(timeout=wait, compound=False, codec=TurnCodec()), POOL_LIMIT_MB)
    except LockError as err:
        raise IndexLocked(
            f"another indexer is writing to {index_dir}; wait for it to finish (or use --wait)"
        ) from err

    try:
        jobs, removed_ids = _plan(writer, files, folders, rebuild, report)
        sink = Sink(writer)
        indexed_ids, segments = _run_jobs(sink, index_dir, jobs, workers, progress, report, skip,
                                          office or OfficeSettings())
        # Delete old versions only now: a changed file that no longer parses keeps its old
        # version in the index (and is reported), rather than vanishing.
        for job in jobs:
            if job.replaces and job.meeting_id in indexed_ids:
                writer.delete_by_term("meeting_id", job.meeting_id)
        for mid in removed_ids:
            writer.delete_by_term("meeting_id", mid)
        report.removed = len(removed_ids)
        commit(sink, index_dir, segments, rebuild)
    except BaseException as err:
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


def _run_jobs(sink: Sink, index_dir: Path, jobs, workers, progress, report, skip,
              office: OfficeSettings) -> tuple[set[str], list]:
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
            index_jobs(sink, jobs, on_result, office)
        else:
            segments = run_workers(str(index_dir), _split_jobs(jobs, workers), on_result, office)
    finally:
        bar.close()
    return indexed, segments


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
