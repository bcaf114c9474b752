"""Reading byte ranges of index files so that they stay shared, not resident per process.

Index files are read through the operating system's page cache, which every process searching
the index shares. A memory map is the cheapest way to read many small ranges (verifying
candidates), but every page a process touches then counts in its resident set until it is
unmapped: a server worker would grow towards the size of the texts. So: ranges a query reads
once (a snippet's text, a long posting list) are read with ``os.pread`` (into a short-lived
bytes object; no file position, so no lock); bulk reads through the map drop their pages when
done (:meth:`RangeReader.release`). Where ``os.pread`` does not exist (Windows), the map is
sliced instead.
"""

from __future__ import annotations

import mmap
import os

#: Reads through the map of at least this many bytes are released afterwards.
RELEASE_BYTES = 1 << 18
_PREAD = getattr(os, "pread", None)
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)  # not on Windows


class RangeReader:
    """Byte ranges of one open file, and its memory map (``mapped``; bytes for an empty file).

    Owns a duplicate of the file descriptor, closed when the reader is garbage-collected (or by
    :meth:`close`): a result set may still read texts from a snapshot that a newer index
    generation has replaced.
    """

    def __init__(self, fileno: int, mapped: mmap.mmap | bytes):
        self._fd = os.dup(fileno) if _PREAD is not None else -1
        self.map = mapped

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` of the file, not left mapped."""
        if self._fd >= 0:
            return _PREAD(self._fd, end - start, start)
        return self.map[start:end]

    def release(self, start: int, end: int) -> None:
        """Drop this process's mapping of the pages from ``start`` to ``end`` after a bulk read
        through :attr:`map` (``MADV_DONTNEED``): they stay in the page cache and are mapped again
        on the next touch. Short ranges are left alone."""
        if end - start < RELEASE_BYTES or not isinstance(self.map, mmap.mmap) or _DONTNEED is None:
            return
        first = start - start % mmap.PAGESIZE
        try:
            self.map.madvise(_DONTNEED, first, end - first)
        except (OSError, ValueError):
            pass  # advice only

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()
