"""Tab-separated list files a user can edit: the alias list and the person list.

Format: UTF-8 text (a byte-order mark is allowed); ``#`` starts a comment line, and a comment
``# version: N`` (the first one) gives the file's version; every other line is a list of names
separated by tabs, white space inside a name folded to one space, empty names dropped.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Callable, Generic, Sequence, TypeVar

_VERSION = re.compile(r"^#\s*version\s*:\s*(\S+)", re.IGNORECASE)


def read_list_file(path: str, error: type[Exception], what: str) -> tuple[str, list[list[str]]]:
    """(version, lines of names) of one list file; ``error`` (with "cannot read <what> <path>:
    <reason>") when it cannot be read or is not UTF-8."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise error(f"cannot read {what} {path}: not UTF-8 text") from None
    version = ""
    lines: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            match = _VERSION.match(stripped)
            if match and not version:
                version = match.group(1)
            continue
        names = [" ".join(part.split()) for part in line.split("\t")]
        names = [n for n in names if n]
        if names:
            lines.append(names)
    return version, lines


def file_stamp(path: str) -> tuple:
    """What changes when a file is edited (its modification time and size), for caches."""
    try:
        info = os.stat(path)
    except OSError:
        return (path, None)
    return (path, info.st_mtime_ns, info.st_size)


T = TypeVar("T")


class ListCache(Generic[T]):
    """The value last built from a list of files, built again when one of them changes: a
    running server picks up edits, and a search stats the files instead of reading them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value: T | None = None

    def get(self, paths: Sequence[str], build: Callable[[Sequence[str]], T]) -> T:
        key = tuple(file_stamp(p) for p in paths)
        with self._lock:
            if key == self._key:
                return self._value
        value = build(paths)  # outside the lock: a slow read does not hold up other threads
        with self._lock:
            self._key, self._value = key, value
        return value
