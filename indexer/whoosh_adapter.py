"""The one place that touches Whoosh's private API.

Two things need more of Whoosh than its public API gives:

- Searching reads a whole posting list in one call, straight from our codec's terms reader
  (:class:`~indexer.codec.CompactTermsReader`), instead of walking a matcher posting by posting.
- Writing commits segments written by several processes in one new table of contents: each
  worker finishes its own segment without committing, and the parent merges, adds its own
  segment and writes the TOC naming them all (see :mod:`indexer.writing`).

Whoosh-Reloaded is pinned in setup.cfg for this reason: these are the calls to check when it
is upgraded. Write-side imports are inside the functions, so the read path does not load
Whoosh's writer.
"""

from __future__ import annotations

from typing import Callable

__all__ = [
    "commit_segments",
    "finish_segment",
    "merge_segments",
    "segment_postings",
    "segment_writer",
    "temp_storage",
]


def segment_postings(segreader, fieldname: str, term: bytes) -> tuple[list[int], list[int] | None]:
    """(document ids, counts or None) of ``term`` in one segment, decoded in one call."""
    return segreader._terms.postings(fieldname, term)


def temp_storage(writer):
    """The writer's temporary storage (where posting pools spill their runs)."""
    return writer._tempstorage


def segment_writer(ix, codec):
    """A writer of one new segment of ``ix`` that takes no lock: a worker process writes it
    while its parent holds the index's lock, and the parent commits it."""
    from whoosh.writing import SegmentWriter

    return SegmentWriter(ix, _lk=False, compound=False, codec=codec)


def finish_segment(writer):
    """Write out the writer's new segment and return it, without committing (None, and the
    segment's files closed, when no document was added)."""
    if writer._added:
        return writer._finalize_segment()
    writer._close_segment()
    return None


def merge_segments(writer, mergetype: Callable) -> list:
    """Apply a merge policy (``mergetype(writer, segments) -> segments kept``) to the index's
    current segments; returns the segments the new TOC keeps."""
    return writer._merge_segments(mergetype, None, None)


def commit_segments(writer, segments: list) -> None:
    """Write a new table of contents naming exactly ``segments``, and release the writer."""
    writer._commit_toc(segments)
    writer._finish()
