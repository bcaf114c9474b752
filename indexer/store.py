"""Turn stores: each segment's turn texts and labels, kept once, outside the postings.

A *turn store* is a sidecar file written beside a Whoosh segment (``<segment id>.turns``) and
committed with it: it is written before the index's table of contents names the segment, so a
committed segment always has its store. It holds, in the segment's document order:

- per document: kind, meeting id, turn ordinal, speaker label and the page the turn starts on
  (0 where the format has no pages);
- the folded texts, which searching reads for every query (candidate verification, scans), as
  one UTF-16 blob: decoded in one call and sliced, which is several times faster to load than
  128,000 pickled strings, and 2 bytes a CJK character instead of UTF-8's 3;
- the original texts, another UTF-16 blob mapped into memory and decoded only for the few
  turns a page shows (snippets), so opening an index does not decode them at all;
- the segment's meeting table (title, date, source).

This is the one place the turn texts are kept (Whoosh stores only the small labels), so the
index's merge policy carries stores along when it merges segments (see :mod:`indexer.build`).
Whoosh deletes a sidecar together with its segment: its name follows Whoosh's segment-file
pattern.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
from array import array
from dataclasses import dataclass, field
from itertools import islice

from .errors import IndexOutdated
from .schema import MEETING, TURN

STORE_VERSION = 5
SIDECAR_EXT = ".turns"
_MAGIC = b"CSTS"
_HEADER = struct.Struct("<4sQ")


@dataclass
class SegmentStore:
    """Per-document arrays of one segment being written, in Whoosh document order."""

    kinds: list[str] = field(default_factory=list)
    meeting_ids: list[str] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    pages: array = field(default_factory=lambda: array("I"))
    folded: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    # meeting id -> (title, date, source)
    meetings: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def add(self, fields: dict, folded: str = "") -> None:
        """Append one document, given the fields it is indexed with and its folded text."""
        kind = fields.get("kind", TURN)
        mid = fields["meeting_id"]
        info = (fields.get("title", ""), fields.get("date", ""), fields.get("source", ""))
        self.kinds.append(kind)
        self.meeting_ids.append(mid)
        if kind == MEETING:
            self.turns.append(-1)
            self.speakers.append("")
            self.pages.append(0)
            self.folded.append("")
            self.texts.append("")
            self.meetings[mid] = info
        else:
            self.turns.append(int(fields["turn"]))
            self.speakers.append(fields.get("speaker", ""))
            self.pages.append(fields.get("page") or 0)
            self.folded.append(folded)
            self.texts.append(fields.get("text", ""))
            self.meetings.setdefault(mid, info)

    def extend_live(self, view: "StoreView", live: list[int]) -> None:
        """Append the documents ``live`` of another segment's store (a merge)."""
        for docnum in live:
            mid = view.meeting_ids[docnum]
            self.kinds.append(view.kinds[docnum])
            self.meeting_ids.append(mid)
            self.turns.append(view.turns[docnum])
            self.speakers.append(view.speakers[docnum])
            self.pages.append(view.pages[docnum])
            self.folded.append(view.folded[docnum])
            self.texts.append(view.text(docnum))
            if mid in view.meetings:
                self.meetings.setdefault(mid, view.meetings[mid])

    def __len__(self) -> int:
        return len(self.kinds)


class StoreView:
    """A segment's store opened for searching; original texts are decoded on demand."""

    def __init__(self, header: dict, folded: list[str], blob: mmap.mmap | bytes, offsets: array):
        self.kinds = [MEETING if k == "m" else TURN for k in header["kinds"]]
        self.meeting_ids: list[str] = header["meeting_ids"]
        self.turns: list[int] = header["turns"]
        self.speakers: list[str] = header["speakers"]
        self.pages = array("I")
        self.pages.frombytes(header["pages"])
        self.folded = folded
        self.meetings: dict[str, tuple[str, str, str]] = header["meetings"]
        self._blob = blob
        self._offsets = offsets

    def text(self, docnum: int) -> str:
        return str(self._blob[self._offsets[docnum] : self._offsets[docnum + 1]], "utf-16-le")

    def __len__(self) -> int:
        return len(self.kinds)


def sidecar_name(segment) -> str:
    return segment.make_filename(SIDECAR_EXT)


def _utf16(texts: list[str]) -> tuple[bytes, array]:
    """The texts as one UTF-16 blob and the byte offset of each (len(texts) + 1 offsets)."""
    offsets = array("Q", [0])
    chunks = []
    for text in texts:
        data = text.encode("utf-16-le", "surrogatepass")
        chunks.append(data)
        offsets.append(offsets[-1] + len(data))
    return b"".join(chunks), offsets


def _char_offsets(texts: list[str]) -> array:
    offsets = array("Q", [0])
    for text in texts:
        offsets.append(offsets[-1] + len(text))
    return offsets


def write_store(index_dir: str, segment, store: SegmentStore) -> None:
    """Write a segment's store atomically and durably (before the segment is committed)."""
    path = os.path.join(index_dir, sidecar_name(segment))
    folded, folded_offsets = _utf16(store.folded)
    texts, text_offsets = _utf16(store.texts)
    header = pickle.dumps(
        {
            "version": STORE_VERSION,
            "count": len(store),
            "kinds": "".join("m" if k == MEETING else "t" for k in store.kinds),
            "meeting_ids": store.meeting_ids,
            "turns": store.turns,
            "speakers": store.speakers,
            "pages": store.pages.tobytes(),
            "meetings": store.meetings,
            "folded_offsets": folded_offsets.tobytes(),
            "folded_chars": _char_offsets(store.folded).tobytes(),
            "text_offsets": text_offsets.tobytes(),
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(_HEADER.pack(_MAGIC, len(header)))
        handle.write(header)
        handle.write(folded)
        handle.write(texts)
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
            header = pickle.loads(handle.read(length))
            if header.get("version") != STORE_VERSION or header.get("count") != segment.doc_count_all():
                raise ValueError("turn store does not match its segment")
            folded_offsets, text_offsets = array("Q"), array("Q")
            folded_offsets.frombytes(header["folded_offsets"])
            text_offsets.frombytes(header["text_offsets"])
            folded_blob = handle.read(folded_offsets[-1])
            if len(folded_blob) != folded_offsets[-1]:
                raise ValueError("turn store is truncated")
            start = _HEADER.size + length + folded_offsets[-1]
            size = os.fstat(handle.fileno()).st_size
            if size != start + text_offsets[-1]:
                raise ValueError("turn store is truncated")
            if text_offsets[-1]:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                blob = memoryview(mapped)[start:]
            else:
                blob = b""
    except (OSError, EOFError, ValueError, struct.error, pickle.UnpicklingError, KeyError, IndexError) as err:
        raise IndexOutdated(
            f"the turn store {path} is missing or damaged ({err}); rebuild the index with --rebuild"
        ) from err
    # One decode for the whole segment, then slices by character offsets (a character outside
    # the BMP takes two UTF-16 code units, so byte offsets / 2 are not character offsets).
    decoded = folded_blob.decode("utf-16-le", "surrogatepass")
    chars = array("Q")
    chars.frombytes(header["folded_chars"])
    folded = list(map(decoded.__getitem__, map(slice, chars, islice(chars, 1, None))))
    return StoreView(header, folded, blob, text_offsets)
