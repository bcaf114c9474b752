"""Decoding transcript bytes to text: UTF-8, UTF-16/32, Big5/CP950 and their damaged forms.

Used by the text transcripts (:mod:`indexer.transcripts`) and by web pages without a declared
encoding (:mod:`indexer.documents.html`). :class:`TranscriptError` is the one error a file that
cannot be read raises, whatever its format.
"""

from __future__ import annotations

import re

from .errors import CivicSearchError


class TranscriptError(CivicSearchError):
    """A file that cannot be read as a transcript. str() is one line: '<path>: <reason>'."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # keep the message on one line
        super().__init__(f"{self.path}: {self.reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def __reduce__(self):  # picklable (e.g. across a multiprocessing pool) with both fields
        return (type(self), (self.path, self.reason))


# ---------------------------------------------------------------------------------------
# Decoding

# Tried after charset-normalizer says "some Big5": CP950 is what Taiwanese Windows writes,
# Big5-HKSCS covers extra characters (e.g. 滢) but maps a few CP950 codes differently.
_BIG5_FAMILY = ("cp950", "big5hkscs")
# Candidates for detection. Restricting them matters: on short Big5 texts an unrestricted
# detector happily answers cp949 (Korean) or a Cyrillic code page.
_DETECT_CANDIDATES = ["cp950", "big5hkscs", "gb18030", "cp1252"]
# A file whose undecodable bytes are at most this share of its non-ASCII bytes is UTF-8 with
# a few damaged bytes; Big5 read as UTF-8 fails on well over half of its non-ASCII bytes.
_UTF8_MAX_BAD_SHARE = 0.05
# Up to this share, a file that is not valid Big5 either is read as damaged UTF-8 (a short
# file with a few bad bytes). Big5 text has at least a quarter of its non-ASCII bytes invalid
# as UTF-8 (measured on the shared corpus re-encoded as CP950, 40 to 5000 characters).
_UTF8_LENIENT_SHARE = 0.2
_SURROGATE_RUN = re.compile("[\udc80-\udcff]+")
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM: ASCII characters put their NUL byte on one parity (odd
    offsets for little-endian); a CJK character has a NUL byte only 1 time in 256."""
    if len(data) % 2:
        return None
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    if max(even_nuls, odd_nuls) < 4 * min(even_nuls, odd_nuls) + 2:
        return None  # NULs on both parities: binary data, not UTF-16
    try:
        text = data.decode("utf-16-le" if odd_nuls > even_nuls else "utf-16-be")
    except UnicodeDecodeError:
        return None
    return text if "\n" in text and "\x00" not in text else None


def _decode(data: bytes, path: str) -> str:
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise TranscriptError(path, f"invalid {codec.upper()} text ({exc.reason} "
                                            f"at byte {exc.start})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise TranscriptError(path, "binary data (contains NUL bytes), not a text file")
        return text
    try:
        return data.decode("utf-8")  # by far the most common case
    except UnicodeDecodeError:
        pass
    # Mostly valid UTF-8? surrogateescape turns each bad byte into one lone surrogate.
    lenient = data.decode("utf-8", errors="surrogateescape")
    bad = sum(len(m.group()) for m in _SURROGATE_RUN.finditer(lenient))
    non_ascii = sum(1 for b in data if b >= 0x80)
    if bad <= _UTF8_MAX_BAD_SHARE * non_ascii:
        return _SURROGATE_RUN.sub("\ufffd", lenient)
    if bad <= _UTF8_LENIENT_SHARE * non_ascii:
        for codec in _BIG5_FAMILY:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
        return _SURROGATE_RUN.sub("\ufffd", lenient)
    return _decode_detected(data, path)


def _decode_detected(data: bytes, path: str) -> str:
    from charset_normalizer import from_bytes  # imported lazily: only non-UTF files need it

    best = from_bytes(data, cp_isolation=_DETECT_CANDIDATES).best()
    encoding = best.encoding.lower().replace("-", "_") if best is not None else ""
    if best is None or encoding in ("big5", "cp950", "big5hkscs"):
        # No verdict happens on very short texts; Big5 is then the likeliest, if it decodes.
        for codec in _BIG5_FAMILY:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
        if best is None:
            raise TranscriptError(path, "undecodable: not UTF-8, UTF-16 or Big5/CP950 text")
        return data.decode("cp950", errors="replace")
    return str(best)


def decode_transcript(data: bytes, path: str = "<bytes>") -> str:
    """Decode raw transcript bytes to text with LF line ends.

    UTF-8 (with or without BOM) is tried first; UTF-16/32 need a BOM (or, for UTF-16, NULs
    on one byte parity only); anything else goes through charset-normalizer restricted to
    Big5/CP950, Big5-HKSCS, GB18030 and CP1252. Raises :class:`TranscriptError` for binary data.
    """
    text = _decode(data, path)
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls and controls > 0.01 * len(text):
        raise TranscriptError(path, f"binary data ({controls} control characters), "
                                    "not a text file")
    return text
