"""The index directory: whether it holds an index, which version, and how to open it.

An index directory holds Whoosh's files (``MAIN_<segment>.*`` and the table of contents), one
turn store per segment (:mod:`indexer.store`) and :data:`META_FILE`, which records what built the
index: the schema version, a hash of the jieba dictionaries and the segmenter. The read path
(:mod:`indexer.search`) checks the schema version here before opening; the write path
(:mod:`indexer.build`) creates the directory and records the metadata after each run. Both ask
this module, so the rules about what makes an index usable are written once.

Vocabulary
----------
outdated
    Built by another schema version: unreadable by this version, rebuilt by the next index run.
dictionary version
    A hash of the civic dictionary and the user dictionaries. The words field depends on them,
    so a changed dictionary means a rebuild (``civic-search index`` notices and rebuilds).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Sequence

from whoosh import index as whoosh_index

from .errors import IndexNotFound, IndexOutdated
from .schema import INDEX_NAME, SCHEMA_VERSION, make_schema

__all__ = [
    "META_FILE",
    "check_index",
    "dictionary_outdated",
    "dictionary_version",
    "index_exists",
    "open_index",
    "open_or_create",
    "read_meta",
    "write_meta",
]

META_FILE = "civic-search.json"


def _meta_path(index_dir: Path) -> Path:
    return Path(index_dir) / META_FILE


def read_meta(index_dir: Path) -> dict:
    """The recorded metadata of the index in ``index_dir`` ({} when missing or unreadable)."""
    try:
        meta = json.loads(_meta_path(index_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def dictionary_version(user_dictionaries: Sequence[str] = ()) -> str:
    """A short hash of the civic dictionary and the ``user_dictionaries`` files' contents."""
    from .analysis import civic_dictionary_path

    digest = hashlib.sha256()
    for path in (civic_dictionary_path(), *user_dictionaries):
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(path.encode())
    return digest.hexdigest()[:16]


def _expected_meta(user_dictionaries: Sequence[str]) -> dict:
    from .analysis import segmenter_name

    return {
        "schema_version": SCHEMA_VERSION,
        "dictionary": dictionary_version(user_dictionaries),
        "segmenter": segmenter_name(),
    }


def write_meta(index_dir: Path, user_dictionaries: Sequence[str] = ()) -> None:
    """Record that the index in ``index_dir`` is of this version, built with these dictionaries."""
    path = _meta_path(index_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_expected_meta(user_dictionaries)), encoding="utf-8")
    os.replace(tmp, path)


def dictionary_outdated(index_dir: Path, user_dictionaries: Sequence[str] = ()) -> bool:
    """True when the index was built with other dictionaries (or segmenter) than these."""
    meta = read_meta(index_dir)
    if not meta:
        return True
    expected = _expected_meta(user_dictionaries)
    return meta.get("dictionary") != expected["dictionary"] or meta.get("segmenter") != expected["segmenter"]


def index_exists(index_dir: Path) -> bool:
    """True when ``index_dir`` holds an index (of any version)."""
    if not Path(index_dir).is_dir():
        return False
    for attempt in range(4):
        try:
            return whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)
        except FileNotFoundError:
            # A commit deleted the generation being read (its TOC) between listing and opening
            # it: look again, as opening a snapshot does.
            time.sleep(0.02 * (attempt + 1))
    return whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)


def check_index(index_dir: Path) -> None:
    """Raise IndexNotFound / IndexOutdated unless ``index_dir`` holds a usable index."""
    index_dir = Path(index_dir)
    if not index_exists(index_dir):
        raise IndexNotFound(f"no index in {index_dir}")
    if read_meta(index_dir).get("schema_version") != SCHEMA_VERSION:
        raise IndexOutdated(f"the index in {index_dir} was built by another version of civic-search")


def open_index(index_dir: Path):
    """Open the Whoosh index in ``index_dir`` as it is now (no version check: see check_index)."""
    return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)


def open_or_create(index_dir: Path, user_dictionaries: Sequence[str] = ()) -> tuple[object, bool]:
    """Open the index for writing, creating it (or a fresh one for a new schema) as needed.

    Returns the Whoosh index and whether it is new. An index of another schema version is
    unusable by this version anyway: it is replaced by an empty index of this version, so that
    a first run that fails still leaves a usable index.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    if index_exists(index_dir) and read_meta(index_dir).get("schema_version") == SCHEMA_VERSION:
        return open_index(index_dir), False
    from whoosh.filedb.filestore import FileStorage

    ix = FileStorage(str(index_dir)).create_index(make_schema(), indexname=INDEX_NAME)
    write_meta(index_dir, user_dictionaries)
    return ix, True
