"""Where things live: the default index directory and the bundled sample corpus."""

from __future__ import annotations

import os
from pathlib import Path

INDEX_ENV = "CIVIC_SEARCH_INDEX"

#: File names that document a corpus folder rather than hold a transcript.
DOCUMENT_NAMES = frozenset({"readme", "sources", "license", "licence", "manifest", "changelog"})
#: Extensions read without looking inside first (the content still decides how a file is read).
TRANSCRIPT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".odt", ".docx", ".doc", ".pdf"})


def default_index_dir() -> Path:
    """``$CIVIC_SEARCH_INDEX``, else a per-user data directory."""
    env = os.environ.get(INDEX_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("civic-search", appauthor=False)) / "index"


def bundled_corpus_dir() -> Path:
    """The sample transcripts shipped with the package.

    An installed package carries them as ``indexer/corpus`` (package data); a source checkout
    has them in the top-level ``corpus/`` folder.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "corpus", here.parent / "corpus"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the bundled corpus is missing from this installation")


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
