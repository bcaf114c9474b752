"""Where things live: the bundled sample corpus, and which file names hold transcripts.

(The default index directory is a setting: :func:`indexer.settings.default_index_dir`.)"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import CorpusMissing

#: File names that document a corpus folder rather than hold a transcript.
DOCUMENT_NAMES = frozenset({"readme", "sources", "license", "licence", "manifest", "changelog"})
TRANSCRIPT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})


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


def is_transcript_name(path: Path) -> bool:
    """True for files that may hold a transcript (by suffix; docs and hidden files excluded)."""
    name = path.name
    if name.startswith(".") or name.endswith("~"):
        return False
    if path.stem.lower() in DOCUMENT_NAMES:
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
