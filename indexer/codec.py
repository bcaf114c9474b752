"""A Whoosh codec whose postings take a few bytes a term instead of ~150.

Whoosh's W3 codec pays per *term* for every posting list: a pickled block header, a pickled
data tuple, a term-info record and an on-disk hash-table slot, about 150 bytes before the first
document id. The grams field has ~600,000 distinct bigrams per segment, most of them in a handful
of turns, so that overhead, not the ids, made up most of the index (4.3x the corpus for postings
and terms alone). Fields marked ``compact_postings`` (grams: ids and bigram counts; words: ids)
are written here instead, in one file per segment (``<segment>.cpk``):

- each posting list is its ids as deltas (the first one absolute) in an ``array`` of the
  narrowest unsigned type that holds them, followed by the counts (for ``compact_counts``
  fields, unless every count is 1), zlib-compressed where that pays; decoding is
  ``zlib.decompress`` + ``numpy.frombuffer`` + ``numpy.cumsum``, all in C;
- the term dictionary is a series of blocks of up to :data:`BLOCK_TERMS` terms (keys, document
  frequencies, and each posting list inline when it is short or as an extent in the file),
  marshalled and zlib-compressed; an index of each block's first key is read at open, so a
  lookup decodes one block.

Other fields (``kind``, ``meeting_id``) keep Whoosh's own format. The file is read through a
memory map, so reading postings needs no file-position lock.
"""

from __future__ import annotations

import bisect
import marshal
import mmap
import os
import struct
import sys
import zlib
from array import array
from collections import OrderedDict
from itertools import islice
from operator import sub
from typing import Iterator

import numpy as np
from whoosh.codec import base
from whoosh.codec.whoosh3 import W3Codec, W3FieldWriter, W3TermsReader
from whoosh.matching import ListMatcher
from whoosh.reading import TermInfo, TermNotFound

from .errors import CivicSearchError, IndexOutdated
from .fileio import RangeReader

EXT = ".cpk"
FORMAT_VERSION = 2
MAGIC = b"CSCPK002"
_TRAILER = struct.Struct("<Q8s")
#: Terms per dictionary block: one lookup decodes one block.
BLOCK_TERMS = 64
#: Posting lists this short (encoded) live inside their dictionary entry.
INLINE_BYTES = 24
#: Encoded lists at least this long are tried with zlib.
COMPRESS_BYTES = 48
_TYPECODES = "BHI"
_SIZES = (1, 2, 4)
_LIMITS = (0xFF, 0xFFFF, 0xFFFFFFFF)
_ZLIB = 4
_SWAP = sys.byteorder != "little"  # the file is little-endian whatever the machine


class CompactFormatError(CivicSearchError, ValueError):
    """A compact postings file that cannot be read (truncated, damaged or another version)."""


def _unreadable(name: str, err: Exception) -> IndexOutdated:
    return IndexOutdated(f"the postings file {name} is missing or damaged ({err}); rebuild the index with --rebuild")


def _packed(values: list[int]) -> tuple[int, bytes]:
    """(width code, little-endian bytes) of values in the narrowest unsigned array type."""
    widest = max(values)
    width = 0 if widest <= _LIMITS[0] else 1 if widest <= _LIMITS[1] else 2
    packed = array(_TYPECODES[width], values)
    if _SWAP:
        packed.byteswap()
    return width, packed.tobytes()


def encode_postings(ids: list[int], counts: list[int] | None = None) -> bytes:
    """One posting list as bytes: a code byte, then the id deltas and the counts (if any).

    Code byte: bits 0-1 the ids' width, bit 2 zlib, bits 3-4 the counts' width + 1 (0 when
    there are no counts or every count is 1).
    """
    width, data = _packed([ids[0], *map(sub, islice(ids, 1, None), ids)])
    code = width
    if counts is not None and max(counts) > 1:
        count_width, count_data = _packed(counts)
        code |= (count_width + 1) << 3
        data += count_data
    if len(data) >= COMPRESS_BYTES:
        squeezed = zlib.compress(data, 6)
        if len(squeezed) < len(data):
            return bytes((code | _ZLIB,)) + squeezed
    return bytes((code,)) + data


_DTYPES = (np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"))


def decode_postings_array(blob: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids, counts) of an encoded posting list as int64 arrays, counts None when every count is
    1: what searching uses, a million postings in a few milliseconds, all in C."""
    code = blob[0]
    data = blob[1:]
    if code & _ZLIB:
        data = zlib.decompress(data)
    width = code & 3
    count_code = code >> 3
    size = _SIZES[width] + (_SIZES[count_code - 1] if count_code else 0)
    if len(data) % size:
        raise ValueError("a posting list of the wrong length")
    n = len(data) // size
    ids = np.cumsum(np.frombuffer(data, _DTYPES[width], n), dtype=np.int64)
    if not count_code:
        return ids, None
    counts = np.frombuffer(data, _DTYPES[count_code - 1], n, offset=n * _SIZES[width]).astype(np.int64)
    return ids, counts


def decode_postings(blob: bytes) -> tuple[list[int], list[int] | None]:
    """(ids, counts) of an encoded posting list as lists (Whoosh's matchers take lists);
    counts is None when every count is 1."""
    ids, counts = decode_postings_array(blob)
    return ids.tolist(), None if counts is None else counts.tolist()


class TurnCodec(W3Codec):
    """Whoosh's W3 codec with compact postings for ``compact_postings`` fields.

    Also without per-document length statistics: scores are computed by the search API from the
    folded texts, never by Whoosh's scorers, and the stock codec stats a file for every posting
    it writes to fetch those lengths.
    """

    length_stats = False

    def field_writer(self, storage, segment):
        return CompactFieldWriter(self, storage, segment)

    def terms_reader(self, storage, segment):
        # W3's own terms_reader, except that the terms file is closed when the postings file
        # cannot be opened (a commit deleted the segment meanwhile) instead of left to the GC.
        name = segment.make_filename(self.TERMS_EXT)
        length = storage.file_length(name)
        terms = storage.open_file(name)
        try:
            postings = segment.open_file(storage, self.POSTS_EXT)
        except BaseException:
            terms.close()
            raise
        return CompactTermsReader(W3TermsReader(self, terms, length, postings), storage, segment)


class CompactFieldWriter(base.FieldWriter):
    """Writes compact fields to the ``.cpk`` file and hands every other field to W3's writer.

    Whoosh feeds fields in name order and each field's terms in byte order, so blocks are filled
    and written as they come; only the block index is held until :meth:`close`.
    """

    def __init__(self, codec, storage, segment):
        self._inner = W3FieldWriter(codec, storage, segment)
        self._file = segment.create_file(storage, EXT)
        self._file.write(MAGIC)
        self._offset = len(MAGIC)
        # field name -> (first keys, block offsets, block lengths, term count)
        self._index: dict[str, tuple[list[bytes], list[int], list[int], list[int]]] = {}
        self._compact = False
        self._field: tuple | None = None
        self._keys: list[bytes] = []
        self._dfs: list[int] = []
        self._refs: list = []
        self._btext = b""
        self._ids: list[int] = []
        self._counts: list[int] | None = None
        self.is_closed = False

    def add_postings(self, schema, lengths, items):
        """Write a segment's postings: whole terms when the pool offers them (see
        :class:`indexer.pool.TermStream`), else Whoosh's posting tuples one at a time."""
        by_term = getattr(items, "by_term", None)
        if by_term is None:
            return super().add_postings(schema, lengths, items)
        current = None
        for fieldname, btext, pairs in by_term():
            if fieldname != current:
                if current is not None:
                    self.finish_field()
                self.start_field(fieldname, schema[fieldname])
                current = fieldname
            ids, counts = pairs[0::2], pairs[1::2]
            if self._compact:
                self._add_term(btext, ids, counts if self._with_counts else None)
            else:
                self._inner.start_term(btext)
                for docnum, count in zip(ids, counts):
                    self._inner.add(docnum, float(count), b"", 0)
                self._inner.finish_term()
        if current is not None:
            self.finish_field()

    def _write(self, data: bytes) -> int:
        offset = self._offset
        self._file.write(data)
        self._offset += len(data)
        return offset

    def start_field(self, fieldname, fieldobj):
        self._compact = bool(getattr(fieldobj, "compact_postings", False))
        if not self._compact:
            self._inner.start_field(fieldname, fieldobj)
            return
        self._field = self._index.setdefault(fieldname, ([], [], [], [0]))
        self._with_counts = bool(getattr(fieldobj, "compact_counts", False))

    def start_term(self, btext):
        if not self._compact:
            self._inner.start_term(btext)
            return
        self._btext = btext
        self._ids = []
        self._counts = [] if self._with_counts else None

    def add(self, docnum, weight, vbytes, length):
        if self._compact:
            self._ids.append(docnum)
            if self._counts is not None:
                self._counts.append(int(weight))
        else:
            self._inner.add(docnum, weight, vbytes, length)

    def finish_term(self):
        if not self._compact:
            self._inner.finish_term()
            return
        self._add_term(self._btext, self._ids, self._counts)

    def _add_term(self, btext: bytes, ids, counts) -> None:
        blob = encode_postings(ids, counts)
        self._keys.append(btext)
        self._dfs.append(len(ids))
        self._refs.append(blob if len(blob) <= INLINE_BYTES else (self._write(blob), len(blob)))
        self._field[3][0] += 1
        if len(self._keys) >= BLOCK_TERMS:
            self._flush_block()

    def _flush_block(self) -> None:
        if not self._keys:
            return
        data = zlib.compress(marshal.dumps((self._keys, self._dfs, self._refs)), 6)
        first_keys, offsets, lengths, _ = self._field
        first_keys.append(self._keys[0])
        offsets.append(self._write(data))
        lengths.append(len(data))
        self._keys, self._dfs, self._refs = [], [], []

    def finish_field(self):
        if self._compact:
            self._flush_block()
            self._compact = False
        else:
            self._inner.finish_field()

    def close(self):
        index = {
            name: (keys, offsets, lengths, count[0]) for name, (keys, offsets, lengths, count) in self._index.items()
        }
        position = self._write(marshal.dumps({"version": FORMAT_VERSION, "fields": index}))
        self._write(_TRAILER.pack(position, MAGIC))
        self._file.close()
        self._inner.close()
        self.is_closed = True


class CompactTermsReader(base.TermsReader):
    """Reads compact fields from the ``.cpk`` file and every other field through W3's reader."""

    #: Decoded dictionary blocks kept per reader (a query looks up a few bigrams).
    CACHED_BLOCKS = 256

    def __init__(self, inner, storage, segment):
        self._inner = inner
        self._map = None
        self._ranges: RangeReader | None = None
        self._name = name = segment.make_filename(EXT)
        try:
            folder = getattr(storage, "folder", None)
            if folder is not None:
                with open(os.path.join(folder, name), "rb") as handle:
                    self._map = self._data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                    self._ranges = RangeReader(handle.fileno(), self._map)
            else:  # a storage without files (Whoosh's RamStorage)
                handle = storage.open_file(name)
                self._data = handle.read()
                handle.close()
            self._fields = self._read_index(self._data, name)
        except (OSError, ValueError, EOFError, TypeError, KeyError, struct.error) as err:
            self.close()
            raise _unreadable(name, err) from err
        self._blocks: OrderedDict[tuple[str, int], tuple[list, list, list]] = OrderedDict()

    @staticmethod
    def _read_index(data, name: str) -> dict:
        if len(data) < len(MAGIC) + _TRAILER.size or data[: len(MAGIC)] != MAGIC:
            raise CompactFormatError(f"{name} is not a compact postings file of this version")
        position, magic = _TRAILER.unpack(data[len(data) - _TRAILER.size :])
        if magic != MAGIC or position >= len(data):
            raise CompactFormatError(f"{name} is truncated")
        index = marshal.loads(data[position : len(data) - _TRAILER.size])
        if not isinstance(index, dict) or index.get("version") != FORMAT_VERSION:
            raise CompactFormatError(f"{name} has an unknown format version")
        return index["fields"]

    # --- lookups ---------------------------------------------------------------------------

    def _block(self, fieldname: str, number: int) -> tuple[list, list, list]:
        key = (fieldname, number)
        block = self._blocks.get(key)
        if block is None:
            _, offsets, lengths, _ = self._fields[fieldname]
            start = offsets[number]
            try:
                block = marshal.loads(zlib.decompress(self._read(start, start + lengths[number])))
                keys, dfs, refs = block
            except (zlib.error, ValueError, EOFError, TypeError) as err:
                raise _unreadable(self._name, err) from err
            self._blocks[key] = block
            if len(self._blocks) > self.CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        return block

    def _read(self, start: int, end: int) -> bytes:
        """Bytes of the file: by pread where the file is on disk, so that the blocks and lists a
        query reads do not stay mapped in the process (see :mod:`indexer.fileio`)."""
        return self._ranges.read(start, end) if self._ranges is not None else self._data[start:end]

    def _find(self, fieldname: str, tbytes: bytes) -> tuple[int, object] | None:
        """(document frequency, posting reference) of a term, or None."""
        first_keys = self._fields[fieldname][0]
        number = bisect.bisect_right(first_keys, tbytes) - 1
        if number < 0:
            return None
        keys, dfs, refs = self._block(fieldname, number)
        i = bisect.bisect_left(keys, tbytes)
        if i == len(keys) or keys[i] != tbytes:
            return None
        return dfs[i], refs[i]

    def _decode(self, ref, decode=decode_postings):
        """``decode`` (lists, or arrays) of a posting reference: inline bytes, or (offset,
        length) in the file."""
        if isinstance(ref, bytes):
            blob = ref
        else:
            start, length = ref
            blob = self._read(start, start + length)
        try:
            return decode(blob)
        except (zlib.error, ValueError, IndexError) as err:
            raise _unreadable(self._name, err) from err

    def _entries(self, fieldname: str, start: bytes = b"") -> Iterator[tuple[bytes, int, object]]:
        first_keys = self._fields[fieldname][0]
        number = max(0, bisect.bisect_right(first_keys, start) - 1)
        for n in range(number, len(first_keys)):
            keys, dfs, refs = self._block(fieldname, n)
            for key, df, ref in zip(keys, dfs, refs):
                if key >= start:
                    yield key, df, ref

    def postings(self, fieldname: str, tbytes: bytes) -> tuple[list[int], list[int] | None]:
        """(ids, counts) of a term, deleted documents included; counts is None when every
        count is 1 (or the field has none); ([], None) when the term is absent."""
        if fieldname not in self._fields:
            raise KeyError(fieldname)
        found = self._find(fieldname, tbytes)
        return self._decode(found[1]) if found else ([], None)

    def postings_array(self, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray | None] | None:
        """:meth:`postings` as int64 arrays (see :func:`decode_postings_array`); None when the
        term is absent."""
        if fieldname not in self._fields:
            raise KeyError(fieldname)
        found = self._find(fieldname, tbytes)
        return self._decode(found[1], decode_postings_array) if found else None

    def df(self, fieldname: str, tbytes: bytes) -> int:
        """The document frequency of a term of a compact field (0 when absent)."""
        found = self._find(fieldname, tbytes)
        return found[0] if found else 0

    def _terminfo(self, df: int, ref) -> TermInfo:
        return _terminfo(df, *self._decode(ref))

    def _lookup(self, fieldname: str, tbytes: bytes, missing: type[Exception]) -> tuple[int, object]:
        """(document frequency, posting reference) of a term of a compact field, or ``missing``."""
        found = self._find(fieldname, tbytes)
        if found is None:
            raise missing(f"No term {fieldname}:{tbytes!r}")
        return found

    # --- Whoosh's TermsReader interface ------------------------------------------------------

    def __contains__(self, term):
        fieldname, tbytes = term
        if fieldname in self._fields:
            return self._find(fieldname, tbytes) is not None
        return term in self._inner

    def indexed_field_names(self):
        return list(self._inner.indexed_field_names()) + sorted(self._fields)

    def cursor(self, fieldname, fieldobj):
        if fieldname in self._fields:
            return CompactCursor(self, fieldname, fieldobj)
        return self._inner.cursor(fieldname, fieldobj)

    def terms(self):
        yield from self._inner.terms()
        for fieldname in sorted(self._fields):
            for key, _, _ in self._entries(fieldname):
                yield fieldname, key

    def terms_from(self, fieldname, prefix):
        if fieldname not in self._fields:
            return self._inner.terms_from(fieldname, prefix)
        return ((fieldname, key) for key, _, _ in self._entries(fieldname, prefix))

    def items(self):
        yield from self._inner.items()
        for fieldname in sorted(self._fields):
            for key, df, ref in self._entries(fieldname):
                yield (fieldname, key), self._terminfo(df, ref)

    def items_from(self, fieldname, prefix):
        if fieldname not in self._fields:
            return self._inner.items_from(fieldname, prefix)
        return (((fieldname, key), self._terminfo(df, ref)) for key, df, ref in self._entries(fieldname, prefix))

    def term_info(self, fieldname, tbytes):
        if fieldname not in self._fields:
            return self._inner.term_info(fieldname, tbytes)
        return self._terminfo(*self._lookup(fieldname, tbytes, TermNotFound))

    def frequency(self, fieldname, tbytes):
        if fieldname not in self._fields:
            return self._inner.frequency(fieldname, tbytes)
        return self._terminfo(*self._lookup(fieldname, tbytes, KeyError)).weight()

    def doc_frequency(self, fieldname, tbytes):
        if fieldname not in self._fields:
            return self._inner.doc_frequency(fieldname, tbytes)
        return self._lookup(fieldname, tbytes, KeyError)[0]

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        if fieldname not in self._fields:
            return self._inner.matcher(fieldname, tbytes, format_, scorer=scorer)
        df, ref = self._lookup(fieldname, tbytes, TermNotFound)
        ids, counts = self._decode(ref)
        weights = [float(c) for c in counts] if counts else None
        return ListMatcher(ids, weights, all_weights=None if weights else 1.0, format=format_, scorer=scorer,
                           term=(fieldname, tbytes), terminfo=_terminfo(df, ids, counts))

    def close(self):
        self._inner.close()
        getattr(self, "_blocks", {}).clear()
        if self._ranges is not None:
            self._ranges.close()
        if self._map is not None:
            self._map.close()


def _terminfo(df: int, ids: list[int], counts: list[int] | None) -> TermInfo:
    """Whoosh's statistics of a decoded posting list (a count is the posting's weight)."""
    weight = float(sum(counts)) if counts else float(df)
    return TermInfo(weight=weight, df=df, maxweight=float(max(counts)) if counts else 1.0,
                    minid=ids[0], maxid=ids[-1])


class CompactCursor(base.FieldCursor):
    """Whoosh's term cursor (used by its automaton queries) over one compact field."""

    def __init__(self, reader: CompactTermsReader, fieldname: str, fieldobj):
        self._reader = reader
        self._fieldname = fieldname
        self._fieldobj = fieldobj
        self.first()

    def _start(self, tbytes: bytes):
        self._entries = self._reader._entries(self._fieldname, tbytes)
        return self.next()

    def first(self):
        return self._start(b"")

    def find(self, term):
        if not isinstance(term, bytes):
            term = self._fieldobj.to_bytes(term)
        return self._start(term)

    def next(self):
        entry = next(self._entries, None)
        if entry is None:
            self._current = None
            return None
        self._current = entry
        return self.text()

    def text(self):
        return self._fieldobj.from_bytes(self._current[0]) if self._current else None

    def term(self):
        return self.text()

    def term_info(self):
        return self._reader._terminfo(self._current[1], self._current[2]) if self._current else None

    def is_valid(self):
        return self._current is not None
