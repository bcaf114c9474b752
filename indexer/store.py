"""Turn stores: each segment's turn texts and labels, kept once, outside the postings.

A *turn store* is a sidecar file written beside a Whoosh segment (``<segment id>.turns``). It
holds, in the segment's document order, what searching needs for every document without
touching Whoosh's stored fields: the kind, meeting id, turn ordinal, speaker label and the
original text; plus the segment's meeting table (title, date, source). Searching verifies
candidates against the folded texts, filters on the labels and builds snippets from the
original text, so a search reads the postings and these arrays and nothing else.

The store is derived data. Whoosh's own stored fields remain the record: when a sidecar is
missing (a segment produced by a Whoosh merge, or a crash between commit and sidecar) it is
rebuilt from them. Whoosh deletes a sidecar together with its segment, because the file name
follows Whoosh's segment-file pattern.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field

from .schema import MEETING, TURN

STORE_VERSION = 1
SIDECAR_EXT = ".turns"


@dataclass
class SegmentStore:
    """Per-document arrays of one segment, in Whoosh document order."""

    kinds: list[str] = field(default_factory=list)
    meeting_ids: list[str] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    # meeting id -> (title, date, source)
    meetings: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def add(self, fields: dict) -> None:
        """Append one document, given the fields it was (or will be) indexed with."""
        kind = fields.get("kind", TURN)
        mid = fields["meeting_id"]
        self.kinds.append(kind)
        self.meeting_ids.append(mid)
        if kind == MEETING:
            self.turns.append(-1)
            self.speakers.append("")
            self.texts.append("")
            self.meetings[mid] = (fields.get("title", ""), fields.get("date", ""), fields.get("source", ""))
        else:
            self.turns.append(int(fields["turn"]))
            self.speakers.append(fields.get("speaker", ""))
            self.texts.append(fields.get("text", ""))
            self.meetings.setdefault(
                mid, (fields.get("title", ""), fields.get("date", ""), fields.get("source", ""))
            )

    def __len__(self) -> int:
        return len(self.kinds)


def sidecar_name(segment) -> str:
    return segment.make_filename(SIDECAR_EXT)


def write_store(index_dir: str, segment, store: SegmentStore) -> None:
    """Write a segment's store atomically (a reader never sees half a file)."""
    path = os.path.join(index_dir, sidecar_name(segment))
    tmp = path + ".tmp"
    payload = {
        "version": STORE_VERSION,
        "count": len(store),
        "kinds": "".join("m" if k == MEETING else "t" for k in store.kinds),
        "meeting_ids": store.meeting_ids,
        "turns": store.turns,
        "speakers": store.speakers,
        "texts": store.texts,
        "meetings": store.meetings,
    }
    with open(tmp, "wb") as handle:
        pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_store(index_dir: str, segment) -> SegmentStore | None:
    """Read a segment's store; None when it is missing, stale or unreadable."""
    path = os.path.join(index_dir, sidecar_name(segment))
    try:
        with open(path, "rb") as handle:
            payload = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
        return None
    if payload.get("version") != STORE_VERSION or payload.get("count") != segment.doc_count_all():
        return None
    return SegmentStore(
        kinds=[MEETING if k == "m" else TURN for k in payload["kinds"]],
        meeting_ids=payload["meeting_ids"],
        turns=payload["turns"],
        speakers=payload["speakers"],
        texts=payload["texts"],
        meetings=payload["meetings"],
    )


def rebuild_store(segment_reader) -> SegmentStore:
    """Rebuild a segment's store from Whoosh's stored fields (slow path, derived data)."""
    store = SegmentStore()
    for docnum in range(segment_reader.doc_count_all()):
        store.add(segment_reader.stored_fields(docnum))
    return store


def load_store(index_dir: str, segment, segment_reader) -> SegmentStore:
    """The segment's store, rebuilt and saved when its sidecar is missing or stale."""
    store = read_store(index_dir, segment)
    if store is None:
        store = rebuild_store(segment_reader)
        try:
            write_store(index_dir, segment, store)
        except OSError:
            pass  # a read-only index still searches; it just rebuilds the store each time
    return store
