"""The one place that touches Whoosh's private API.

Three things need more of Whoosh than its public API gives:

- Searching reads a whole posting list in one call, straight from our codec's terms reader
  (:class:`~indexer.codec.CompactTermsReader`), instead of walking a matcher posting by posting.
- Writing commits segments written by several processes in one new table of contents: each
  worker finishes its own segment without committing, and the parent merges, adds its own
  segment and writes the TOC naming them all (see :mod:`indexer.writing`).
- Opening a reader closes what it opened when it fails: a commit may delete a generation's
  segment files while a search opens it, and Whoosh's ``ix.reader()`` then leaves the files of
  the segments it had already opened to the garbage collector.

Whoosh-Reloaded is pinned in setup.cfg for this reason: these are the calls to check when it
is upgraded. Write-side imports are inside the functions, so the read path does not load
Whoosh's writer.
"""

from __future__ import annotations

from typing import Callable

__all__ = [
    "commit_segments",
    "open_reader",
    "deleted_docs",
    "finish_segment",
    "merge_segments",
    "segment_doc_frequency",
    "segment_postings",
    "segment_postings_array",
    "segment_writer",
    "temp_storage",
]


def open_reader(ix):
    """A reader of the index's latest generation, as ``ix.reader()`` gives; if a segment cannot
    be opened (its files deleted by a commit meanwhile), every file opened so far is closed
    before the error propagates."""
    from whoosh.reading import EmptyReader, MultiReader, SegmentReader

    toc = ix._read_toc()
    if not toc.segments:
        return EmptyReader(toc.schema)
    readers = []
    try:
        for segment in toc.segments:
            if segment.is_compound():  # not written by civic-search: its files are in one
                readers.append(SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation))
                continue
            codec = segment.codec()
            # SegmentReader opens the terms, then the per-document files: give it a terms reader
            # we can close if the second step fails.
            terms = codec.terms_reader(ix.storage, segment)
            try:
                readers.append(SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation,
                                             codec=_OpenedTerms(codec, terms)))
            except BaseException:
                terms.close()
                raise
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    if len(readers) == 1:
        return readers[0]
    return MultiReader(readers, generation=toc.generation)


class _OpenedTerms:
    """A segment's codec whose terms reader is already open (everything else is the codec's)."""

    def __init__(self, codec, terms):
        self._codec, self._terms = codec, terms

    def terms_reader(self, storage, segment):
        return self._terms

    def __getattr__(self, name):
        return getattr(self._codec, name)


def segment_postings(segreader, fieldname: str, term: bytes) -> tuple[list[int], list[int] | None]:
    """(document ids, counts or None) of ``term`` in one segment, decoded in one call."""
    return segreader._terms.postings(fieldname, term)


def segment_postings_array(segreader, fieldname: str, term: bytes):
    """(document ids, counts or None) of ``term`` in one segment as int64 numpy arrays, or None
    when the segment does not have the term."""
    return segreader._terms.postings_array(fieldname, term)


def segment_doc_frequency(segreader, fieldname: str, term: bytes) -> int:
    """Documents of one segment (deleted ones included) whose compact field has ``term``."""
    return segreader._terms.df(fieldname, term)


def deleted_docs(segreader) -> frozenset[int] | set[int]:
    """The deleted document numbers of one segment (empty when it has none)."""
    return segreader.deleted_docs_set if segreader.has_deletions() else frozenset()


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
