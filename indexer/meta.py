"""Whether a folder holds an index this version can read: the Whoosh table of contents and
the metadata file beside it (``civic-search.json``: the schema version, the dictionaries).

Kept apart from :mod:`indexer.build` so that opening an index for searching does not import
the parsers and the writer: a search in a new process pays for every module it imports.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import IndexNotFound, IndexOutdated
from .schema import INDEX_NAME, SCHEMA_VERSION

META_FILE = "civic-search.json"


def meta_path(index_dir: Path) -> Path:
    return Path(index_dir) / META_FILE


def read_meta(index_dir: Path) -> dict:
    """The metadata file's object ({} when it is missing or unreadable)."""
    try:
        meta = json.loads(meta_path(index_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def index_exists(index_dir: Path) -> bool:
    from whoosh import index as whoosh_index

    return Path(index_dir).is_dir() and whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)


def check_index(index_dir: Path) -> None:
    """Raise IndexNotFound / IndexOutdated unless ``index_dir`` holds a usable index."""
    index_dir = Path(index_dir)
    if not index_exists(index_dir):
        raise IndexNotFound(f"no index in {index_dir}")
    if read_meta(index_dir).get("schema_version") != SCHEMA_VERSION:
        raise IndexOutdated(f"the index in {index_dir} was built by another version of civic-search")
