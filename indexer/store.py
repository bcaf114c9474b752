"""Turn stores: each segment's turn texts and labels, kept once, outside the postings.

A *turn store* is a sidecar file written beside a Whoosh segment (``<segment id>.turns``) and
committed with it: it is written before the index's table of contents names the segment, so a
committed segment always has its store. It holds, in the segment's document order:

- the segment's meeting table (id, title, date, source, and the title folded, for ``title:``
  and the title bonus) and speaker label table, the only parts read into Python objects when
  the index is opened: opening costs O(meetings + labels), not O(turns) or O(text);
- per document, typed arrays (little-endian, 8-byte aligned, read through a memory map without
  copying): meeting (index into the meeting table), turn ordinal (-1 for a meeting document),
  speaker (index into the label table), folded length in characters (for BM25), the page the
  turn starts on (0 where the format has no pages), and the byte offsets of the folded and the
  original texts;
- the folded texts, which searching verifies candidates against, as one UTF-8 blob: a candidate
  is counted with ``bytes.count`` on its slice of the map, never decoded (UTF-8 is
  self-synchronising, so a byte match is a character match and the count is ``str.count``'s);
- the original texts, a UTF-16 blob decoded only for the few turns a page shows (snippets).

Texts are read through the page cache, which server worker processes share (see
:mod:`indexer.fileio`): candidates are verified through a memory map, snippets read with pread.
This is the one place the turn texts are kept (Whoosh stores only the small labels), so the
index's merge policy carries stores along when it merges segments (see :mod:`indexer.writing`).
Whoosh deletes a sidecar together with its segment: its name follows Whoosh's segment-file
pattern.
"""

from __future__ import annotations

import marshal
import mmap
import os
import shutil
import struct
import tempfile
from array import array
from itertools import repeat
from typing import NamedTuple

import numpy as np

from .analysis import fold
from .errors import IndexOutdated
from .fileio import RangeReader
from .schema import MEETING, TURN

STORE_VERSION = 6
SIDECAR_EXT = ".turns"
_MAGIC = b"CSTS"
_HEADER = struct.Struct("<4sQ")
#: Texts are buffered in memory up to this size, then in a temporary file in the index folder.
SPOOL_BYTES = 16 * 1024 * 1024
#: The per-document arrays: name -> array typecode while writing, numpy dtype when reading.
COLUMNS = {"meeting": ("I", "<u4"), "turn": ("i", "<i4"), "speaker": ("I", "<u4"), "length": ("I", "<u4"),
           "page": ("I", "<u4")}
OFFSETS = ("folded_offsets", "text_offsets")
#: Candidates are verified in chunks of at most this much of the folded blob; a chunk's pages
#: are released after it.
CHUNK_BYTES = 8 << 20


class MeetingInfo(NamedTuple):
    """One row of a segment's meeting table (a named tuple: an index holds tens of thousands,
    made when the index is opened)."""

    meeting_id: str
    title: str
    date: str
    source: str


class SegmentStore:
    """The store of one segment being written, in Whoosh document order.

    Per-document values go into typed arrays and the texts into spooled temporary files, so a
    worker writing a segment of a million turns holds a few bytes per turn, not the texts.
    """

    def __init__(self, directory: str | None = None):
        self.columns = {name: array(code) for name, (code, _) in COLUMNS.items()}
        self.folded_offsets = array("Q", [0])
        self.text_offsets = array("Q", [0])
        self._folded = tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=directory)
        self._texts = tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=directory)
        self.meetings: list[MeetingInfo] = []
        self.folded_titles: list[str] = []
        self._meeting_index: dict[str, int] = {}
        self.speakers: list[str] = []
        self._speaker_index: dict[str, int] = {}
        self.meeting_docs = array("Q")  # the document numbers of the meeting documents

    def _meeting(self, info: MeetingInfo, folded_title: str | None = None) -> int:
        number = self._meeting_index.get(info.meeting_id)
        if number is None:
            number = self._meeting_index[info.meeting_id] = len(self.meetings)
            self.meetings.append(info)
            self.folded_titles.append(fold(info.title) if folded_title is None else folded_title)
        return number

    def _speaker(self, label: str) -> int:
        number = self._speaker_index.get(label)
        if number is None:
            number = self._speaker_index[label] = len(self.speakers)
            self.speakers.append(label)
        return number

    def _append(self, meeting: int, turn: int, speaker: int, length: int, page: int, folded: bytes,
                text: bytes) -> None:
        columns = self.columns
        columns["meeting"].append(meeting)
        columns["turn"].append(turn)
        columns["speaker"].append(speaker)
        columns["length"].append(length)
        columns["page"].append(page)
        self._folded.write(folded)
        self._texts.write(text)
        self.folded_offsets.append(self.folded_offsets[-1] + len(folded))
        self.text_offsets.append(self.text_offsets[-1] + len(text))

    def add(self, fields: dict, folded: str = "") -> None:
        """Append one document, given the fields it is indexed with and its folded text."""
        info = MeetingInfo(fields["meeting_id"], fields.get("title", ""), fields.get("date", ""),
                           fields.get("source", ""))
        meeting = self._meeting(info)
        if fields.get("kind", TURN) == MEETING:
            self.meeting_docs.append(len(self))
            self._append(meeting, -1, self._speaker(""), 0, 0, b"", b"")
        else:
            self._append(meeting, int(fields["turn"]), self._speaker(fields.get("speaker", "")), len(folded),
                         fields.get("page") or 0, folded.encode("utf-8", "surrogatepass"),
                         fields.get("text", "").encode("utf-16-le", "surrogatepass"))

    def extend_live(self, view: "StoreView", live: list[int]) -> None:
        """Append the documents ``live`` of another segment's store (a merge), texts as bytes."""
        meetings = [self._meeting(info, title) for info, title in zip(view.meetings, view.folded_titles)]
        speakers = [self._speaker(label) for label in view.speakers]
        for docnum in live:
            if view.turn[docnum] < 0:
                self.meeting_docs.append(len(self))
            self._append(meetings[view.meeting[docnum]], int(view.turn[docnum]), speakers[view.speaker[docnum]],
                         int(view.length[docnum]), int(view.page[docnum]), view.folded_bytes(docnum),
                         view.text_bytes(docnum))

    def __len__(self) -> int:
        return len(self.columns["turn"])

    def close(self) -> None:
        self._folded.close()
        self._texts.close()


class StoreView:
    """A segment's store opened for searching: typed arrays and texts over one memory map."""

    def __init__(self, header: dict, mapped: mmap.mmap | bytes, reader: RangeReader):
        self.count: int = header["count"]
        self.meetings: list[MeetingInfo] = list(map(MeetingInfo._make, header["meetings"]))
        self.meeting_docs: list[int] = header["meeting_docs"]
        self.meetings_in_order: bool = header["meetings_in_order"]
        self.folded_titles: list[str] = header["folded_titles"]
        self.speakers: list[str] = header["speakers"]
        self._map = mapped
        self._reader = reader
        arrays = {}
        self._column_offsets = {name: offset for name, (offset, _, _) in header["arrays"].items()}
        for name, (offset, dtype, length) in header["arrays"].items():
            arrays[name] = np.frombuffer(mapped, np.dtype(dtype), length, offset) if length else np.zeros(0, dtype)
        self.meeting: np.ndarray = arrays["meeting"]
        self.turn: np.ndarray = arrays["turn"]
        self.speaker: np.ndarray = arrays["speaker"]
        self.length: np.ndarray = arrays["length"]
        self.page: np.ndarray = arrays["page"]
        self.folded_offsets: np.ndarray = arrays["folded_offsets"]
        self.text_offsets: np.ndarray = arrays["text_offsets"]
        self._folded_start: int = header["folded"]
        self._text_start: int = header["texts"]

    def release_offsets(self) -> None:
        """Drop the mapped pages of the text offsets (after a check read them all)."""
        start = self._column_offsets["folded_offsets"]
        self._reader.release(start, start + self.folded_offsets.nbytes + self.text_offsets.nbytes + 8)

    def release_columns(self) -> None:
        """Drop the mapped pages of the per-document columns (after they were copied)."""
        columns = [self.meeting, self.turn, self.speaker, self.length, self.page]
        starts = [self._column_offsets[name] for name in COLUMNS]
        self._reader.release(min(starts), max(starts) + max(c.nbytes for c in columns))

    def folded_bytes(self, docnum: int) -> bytes:
        start = self._folded_start
        return self._reader.read(start + int(self.folded_offsets[docnum]), start + int(self.folded_offsets[docnum + 1]))

    def folded(self, docnum: int) -> str:
        return self.folded_bytes(docnum).decode("utf-8", "surrogatepass")

    def text_bytes(self, docnum: int) -> bytes:
        start = self._text_start
        return self._reader.read(start + int(self.text_offsets[docnum]), start + int(self.text_offsets[docnum + 1]))

    def text(self, docnum: int) -> str:
        return self.text_bytes(docnum).decode("utf-16-le", "surrogatepass")

    def count_in(self, docnums: np.ndarray, term: bytes) -> np.ndarray:
        """Occurrences of the UTF-8 ``term`` in the folded text of each of sorted ``docnums``.

        A chain of C-level ``map`` calls over slices of the map: per document a slice and a
        ``bytes.count``, no decoding and no Python loop. Read in chunks of at most CHUNK_BYTES
        of the blob, each chunk's pages released afterwards (see :mod:`indexer.fileio`).
        """
        if not len(docnums):
            return np.zeros(0, np.int64)
        start = self._folded_start
        lows = self.folded_offsets[docnums] + start
        highs = self.folded_offsets[docnums + 1] + start
        out = np.empty(len(docnums), np.int64)
        cuts = np.searchsorted(lows, np.arange(int(lows[0]) + CHUNK_BYTES, int(highs[-1]), CHUNK_BYTES))
        for first, stop in zip([0, *cuts.tolist()], [*cuts.tolist(), len(docnums)]):
            if stop <= first:
                continue
            low, high = lows[first:stop].tolist(), highs[first:stop].tolist()
            slices = map(self._map.__getitem__, map(slice, low, high))
            out[first:stop] = np.fromiter(map(bytes.count, slices, repeat(term)), np.int64, stop - first)
            self._reader.release(low[0], high[-1])
        return out

    @property
    def kinds(self) -> list[str]:
        return [MEETING if t < 0 else TURN for t in self.turn.tolist()]

    def __len__(self) -> int:
        return self.count


def sidecar_name(segment) -> str:
    return segment.make_filename(SIDECAR_EXT)


def _aligned(position: int) -> int:
    return (position + 7) // 8 * 8


def _little(values: array) -> bytes:
    if array("H", [1]).tobytes() != b"\x01\x00":  # a big-endian machine: the file is little-endian
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _layout(store: SegmentStore, header_room: int) -> tuple[dict, list[tuple[int, bytes]], int]:
    """Where each array goes: (descriptors, [(offset, data)], end of the arrays)."""
    position = _aligned(header_room)
    descriptors: dict[str, tuple[int, str, int]] = {}
    chunks: list[tuple[int, bytes]] = []
    named = [(name, store.columns[name], COLUMNS[name][1]) for name in COLUMNS]
    named += [(name, getattr(store, name), "<u8") for name in OFFSETS]
    for name, values, dtype in named:
        data = _little(values)
        descriptors[name] = (position, dtype, len(values))
        chunks.append((position, data))
        position = _aligned(position + len(data))
    return descriptors, chunks, position


def write_store(index_dir: str, segment, store: SegmentStore) -> None:
    """Write a segment's store atomically and durably (before the segment is committed)."""
    path = os.path.join(index_dir, sidecar_name(segment))
    meetings = np.frombuffer(store.columns["meeting"], np.uint32) if len(store) else np.zeros(0, np.uint32)
    header = {
        "version": STORE_VERSION,
        "count": len(store),
        "meetings": [tuple(m) for m in store.meetings],
        "folded_titles": store.folded_titles,
        "speakers": store.speakers,
        "meeting_docs": store.meeting_docs.tolist(),
        # A meeting's documents are written together, so meeting numbers grow with document
        # numbers: searching counts meetings of sorted documents without sorting them.
        "meetings_in_order": bool(np.all(meetings[1:] >= meetings[:-1])),
    }
    # The header holds the arrays' offsets, which depend on the header's size: lay out with an
    # estimate, then again if the marshalled header did not fit.
    room = len(marshal.dumps(header)) + 1024
    while True:
        descriptors, chunks, end = _layout(store, _HEADER.size + room)
        header.update(arrays=descriptors, folded=end, texts=end + store.folded_offsets[-1])
        data = marshal.dumps(header)
        if len(data) <= room:
            break
        room = len(data) + 1024
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(_HEADER.pack(_MAGIC, len(data)))
        handle.write(data)
        for offset, chunk in chunks:
            handle.write(b"\0" * (offset - handle.tell()))
            handle.write(chunk)
        handle.write(b"\0" * (end - handle.tell()))
        for blob in (store._folded, store._texts):
            blob.seek(0)
            shutil.copyfileobj(blob, handle, 1 << 20)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_store(index_dir: str, segment) -> StoreView:
    """Open a segment's store (raises IndexOutdated when it is missing or damaged)."""
    path = os.path.join(index_dir, sidecar_name(segment))
    try:
        with open(path, "rb") as handle:
            magic, length = _HEADER.unpack(handle.read(_HEADER.size))
            if magic != _MAGIC:
                raise ValueError("not a turn store")
            header = marshal.loads(handle.read(length))
            if not isinstance(header, dict):
                raise ValueError("not a turn store header")
            if header.get("version") != STORE_VERSION or header.get("count") != segment.doc_count_all():
                raise ValueError("turn store does not match its segment")
            size = os.fstat(handle.fileno()).st_size
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            reader = RangeReader(handle.fileno(), mapped)
        view = StoreView(header, mapped, reader)
        _check(view, size, header)
    except (OSError, EOFError, ValueError, TypeError, struct.error, KeyError, IndexError) as err:
        raise IndexOutdated(
            f"the turn store {path} is missing or damaged ({err}); rebuild the index with --rebuild"
        ) from err
    return view


def _check(view: StoreView, size: int, header: dict) -> None:
    """The arrays fit the document count, the blobs fit the file, the rows point into the tables
    and the offsets are in order."""
    count = view.count
    if not (len(view.meeting) == len(view.turn) == len(view.speaker) == len(view.length) == len(view.page) == count):
        raise ValueError("turn store arrays do not match its document count")
    if len(view.folded_offsets) != count + 1 or len(view.text_offsets) != count + 1:
        raise ValueError("turn store offsets do not match its document count")
    if header["folded"] + int(view.folded_offsets[-1]) != header["texts"]:
        raise ValueError("turn store is truncated")
    if header["texts"] + int(view.text_offsets[-1]) != size:
        raise ValueError("turn store is truncated")
    # Damage inside the arrays would give wrong answers rather than errors: every row must point
    # into the tables and the texts must follow each other (a few milliseconds a million rows).
    if count and (int(view.meeting.max()) >= len(view.meetings) or int(view.speaker.max()) >= len(view.speakers)):
        raise ValueError("turn store rows point outside its tables")
    meeting_docs = np.array(view.meeting_docs, np.int64)
    if len(meeting_docs) and (meeting_docs.max() >= count or np.any(view.turn[meeting_docs] >= 0)):
        raise ValueError("turn store's meeting documents do not match its rows")
    for offsets in (view.folded_offsets, view.text_offsets):
        if np.any(offsets[1:] < offsets[:-1]):
            raise ValueError("turn store offsets are out of order")
    view.release_offsets()
