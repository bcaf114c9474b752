"""Where things live: the bundled sample corpus, and which file names hold transcripts.

(The default index directory is a setting: :func:`indexer.settings.default_index_dir`.)"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from pathlib import Path

from .errors import CorpusMissing

#: File names that document a corpus folder rather than hold a transcript.
DOCUMENT_NAMES = frozenset({"readme", "sources", "license", "licence", "manifest", "changelog"})
#: Extensions read without looking inside first (the content still decides how a file is read).
TRANSCRIPT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".odt", ".docx", ".doc", ".pdf"})


# Cached: a folder scan asks once per file, and the package does not move while it runs.
@functools.lru_cache(maxsize=1)
def bundled_corpus_dir() -> Path:
    """The sample transcripts shipped with the package.

    An installed package carries them as ``indexer/corpus`` (package data); a source checkout
    has them in the top-level ``corpus/`` folder.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "corpus", here.parent / "corpus"):
        if candidate.is_dir():
            return candidate
    raise CorpusMissing("the bundled corpus is missing from this installation")


def bundled_source_name(path: Path) -> str:
    """How a bundled file is shown: ``corpus/<name>``, wherever the package is installed."""
    return "corpus/" + path.relative_to(bundled_corpus_dir()).as_posix()


def is_documentation_name(path: Path) -> bool:
    """True for files a folder scan passes over without a word: hidden files, editor backups
    and the corpus's own documentation (README, SOURCES, LICENSE, MANIFEST, CHANGELOG)."""
    name = path.name
    return name.startswith(".") or name.endswith("~") or path.stem.lower() in DOCUMENT_NAMES


def is_transcript_name(path: Path) -> bool:
    """True for files that may hold a transcript by their extension (docs and hidden files
    excluded). Files with other extensions are recognised by content (see indexer.build.scan)."""
    if is_documentation_name(path):
        return False
    return path.suffix.lower() in TRANSCRIPT_SUFFIXES


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def readable_name(name: str) -> str:
    """A file name or path as text. Python carries bytes that are not UTF-8 in a file name as
    lone surrogates, which cannot be stored or shown; such a path component is read as
    Big5/CP950 (names from Taiwanese Windows archives) when it can be, else with U+FFFD."""
    if not _LONE_SURROGATES.search(name):
        return name
    parts = []
    for part in re.split(r"([/\\])", name):
        if _LONE_SURROGATES.search(part):
            raw = part.encode("utf-8", "surrogateescape") if not re.search("[\ud800-\udc7f]", part) else b""
            try:
                part = raw.decode("cp950") if raw else _LONE_SURROGATES.sub("\ufffd", part)
            except UnicodeDecodeError:
                part = raw.decode("utf-8", "replace")
        parts.append(part)
    return "".join(parts)


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
