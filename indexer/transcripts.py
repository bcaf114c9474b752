"""Transcript records: decoding, format dispatch and the public parsing API.

Vocabulary (see shared/DESIGN.md):

- **meeting**: one transcript file (:class:`Meeting`): id, title, ISO date, optional time,
  location, chair, recorder, source path for display and sha256 of the raw bytes.
- **turn**: one speaker's continuous remarks inside a meeting (:class:`Turn`): 0-based
  ordinal, the speaker label as written (without the trailing colon), the name and
  organisation split out of it where possible, the section heading it falls under, and the
  text as written once markup is removed (paragraphs joined with "\\n").
- **label**: the speaker text as written, e.g. ``臺北市資訊局/呂新科局長``.
- **raw turn**: what a format parser yields, ``(label, section, text)``; this module cleans
  the text, drops empty turns, splits the label and numbers the turns, so that both formats
  obey the same guarantees (no control characters, no empty text, no edge whitespace).

Formats: :mod:`indexer.markdown_format` (PDIS/SayIt Markdown) and
:mod:`indexer.record_format` (plain-text meeting records with a header table). The format
modules import helpers from here, so this module imports them lazily (no import cycle).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import stat
from dataclasses import dataclass

__all__ = [
    "Turn", "Meeting", "TranscriptError", "decode_transcript", "parse_transcript",
    "read_transcript", "split_speaker", "clean_text", "make_date",
]


@dataclass(frozen=True)
class Turn:
    turn: int
    speaker: str
    speaker_name: str
    organisation: str
    section: str
    text: str
    page: int | None = None  # 1-based page the turn starts on (paged formats: PDF)


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    title: str
    date: str
    time: str
    location: str
    chair: str
    recorder: str
    source: str
    content_hash: str
    turns: tuple[Turn, ...]
    format: str = ""  # md, txt, odt, docx, doc, pdf, html


class TranscriptError(Exception):
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


# ---------------------------------------------------------------------------------------
# Text cleaning, dates, speaker labels (shared by both formats)

# C0 controls except "\n" (tabs are handled before), DEL, C1 controls, stray BOMs, and lone
# surrogates (undecodable bytes carried by text that did not come from decode_transcript).
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Turn text as stored: tabs and NBSP become spaces, control characters go, each line is
    stripped and empty lines dropped (so paragraphs are joined by exactly one "\\n")."""
    text = text.replace("\t", " ").replace("\u00a0", " ")
    text = _CONTROLS.sub("", text)
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def make_date(year: int, month: int, day: int) -> str:
    """ISO date, "" when the parts do not form a real date. Years below 1000 are ROC years."""
    if year < 1000:
        year += 1911
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return ""


_PAREN = re.compile(r"^(?P<outer>.+?)\s*[（(](?P<inner>[^()（）]+)[)）]$")
_LATIN = re.compile(r"[A-Za-z]")
# Endings of organisation names (ministries, agencies, associations, companies, schools...).
_ORG_END = re.compile(r"(?:部|署|局|處|司|院|會|所|中心|大學|學院|公司|辦公室|政府|團隊|聯盟|"
                      r"基金會|協會|學會|公會|工會|科|室|組|隊|黨|館|社|廳|府)(?:代表)?$")


def _org_like(text: str) -> bool:
    return bool(_ORG_END.search(text)) and not _LATIN.search(text)


def split_speaker(label: str) -> tuple[str, str]:
    """Split a speaker label into (speaker_name, organisation).

    Rules, first match wins (anything else: the whole label is the name, organisation ""):
    1. ``org/name`` or ``org／name`` (plain-text records): split at the last slash.
    2. ``role：name`` (e.g. ``空保處代表：許平和薦任科員``): name after, role/unit before.
    3. ``name (org)`` / ``name（org）`` where the parenthesised part is CJK text ending like an
       organisation (署, 部, 學會, 協會, ...): ``陳依婕 (中央健康保險署)``.
    4. ``org（name）`` where the outer part ends like an organisation and the inner part is not
       a note (補充說明...): ``國發會（Daniel Chiu）``.
    So ``Richard Haddock (何立德)``, ``石怡佳(司儀)`` and ``經濟部(補充說明)`` stay whole.
    """
    label = " ".join(label.split())
    for sep in ("/", "／"):
        if sep in label:
            org, _, name = label.rpartition(sep)
            if org.strip() and name.strip():
                return name.strip(), org.strip()
    for sep in ("：", ":"):
        if sep in label:
            org, _, name = label.partition(sep)
            if org.strip() and name.strip():
                return name.strip(), org.strip()
    m = _PAREN.match(label)
    if m:
        outer, inner = m.group("outer").strip(), m.group("inner").strip()
        if _org_like(inner):
            return outer, inner
        if _org_like(outer) and "說明" not in inner:
            return inner, outer
    return label, ""


# ---------------------------------------------------------------------------------------
# Dispatch

_MD_SPEAKER_HEADING = re.compile(r"^###[ \t]+\S.*[：:][ \t]*$", re.MULTILINE)
_MEETING_FIELDS = ("title", "date", "time", "location", "chair", "recorder")


def is_markdown(text: str, name: str) -> bool:
    """Markdown if the name says so or the text has ``### speaker：`` headings."""
    if name.lower().endswith((".md", ".markdown")):
        return True
    return bool(_MD_SPEAKER_HEADING.search(text))


def parse_transcript(text: str, *, name: str) -> tuple[dict, list[Turn]]:
    """Parse decoded text. ``name`` is the file name (format choice, date/title fallback).

    Returns the meeting fields (title, date, time, location, chair, recorder; "" when
    unknown) and the turns, numbered from 0. The list may be empty; :func:`read_transcript`
    treats that as an error.
    """
    base = readable_name(os.path.basename(name))
    if is_markdown(text, base):
        from . import markdown_format as fmt
    else:
        from . import record_format as fmt
    fields, raw_turns = fmt.parse(text, base)
    return clean_record(fields, raw_turns)


def clean_record(fields: dict, raw_turns: list[tuple]) -> tuple[dict, list[Turn]]:
    """Meeting fields and numbered, cleaned turns from a format's raw turns ``(label, section,
    text[, page])``: empty turns dropped, labels split, text cleaned."""
    meeting = {key: clean_text(str(fields.get(key, "") or "")).replace("\n", " ")
               for key in _MEETING_FIELDS}
    turns: list[Turn] = []
    for label, section, body, *page in raw_turns:
        body = clean_text(body)
        if not body:
            continue  # never emit a turn with empty text
        label = clean_text(label).replace("\n", " ")
        name_part, org = split_speaker(label) if label else ("", "")
        turns.append(Turn(turn=len(turns), speaker=label, speaker_name=name_part,
                          organisation=org, section=clean_text(section).replace("\n", " "),
                          text=body, page=page[0] if page else None))
    return meeting, turns


#: Files larger than this are refused (the largest real transcript is about 0.2 MB; parsing
#: takes about 7 bytes of memory per byte of file, indexing about 12).
MAX_FILE_MB = 20.0
MAX_FILE_ENV = "CIVIC_SEARCH_MAX_FILE_MB"


def max_file_mb() -> float:
    """The size limit in MB: ``$CIVIC_SEARCH_MAX_FILE_MB`` if set and valid, else MAX_FILE_MB."""
    try:
        megabytes = float(os.environ.get(MAX_FILE_ENV) or MAX_FILE_MB)
    except ValueError:
        return MAX_FILE_MB
    return megabytes if megabytes > 0 else MAX_FILE_MB


def max_file_bytes() -> int:
    return int(max_file_mb() * 2**20)


_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def readable_name(name: str) -> str:
    """A file name or path as text. Python carries bytes that are not UTF-8 in a file name as
    lone surrogates, which cannot be stored or shown; such a path component is read as
    Big5/CP950 (names from Taiwanese Windows archives) when it can be, else with U+FFFD."""
    if not _LONE_SURROGATES.search(name):
        return name
    parts = []
    for part in re.split(r"([/\\])", name):
        if _LONE_SURROGATES.search(part):
            raw = part.encode("utf-8", "surrogateescape") if not re.search("[\ud800-\udc7f]", part) else b""
            try:
                part = raw.decode("cp950") if raw else _LONE_SURROGATES.sub("\ufffd", part)
            except UnicodeDecodeError:
                part = raw.decode("utf-8", "replace")
        parts.append(part)
    return "".join(parts)


def _read_bytes(path: str | os.PathLike, shown: str) -> bytes:
    """The file's bytes; refuses folders, FIFOs and devices (without blocking on a FIFO) and
    files over the size limit."""
    limit = max_file_bytes()
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        with os.fdopen(os.open(path, flags), "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, socket or device"
                raise TranscriptError(shown, f"not a regular file ({kind})")
            size = info.st_size
            data = fh.read(limit + 1) if size <= limit else b""
    except OSError as exc:
        raise TranscriptError(shown, f"cannot read file ({exc.strerror or exc})") from None
    if size > limit or len(data) > limit:
        size = max(size, len(data))
        raise TranscriptError(shown, f"file too large ({size / 2**20:.1f} MB; the limit is "
                                     f"{max_file_mb():g} MB, set {MAX_FILE_ENV} to change it)")
    return data


def read_transcript(path: str | os.PathLike, *, meeting_id: str,
                    source: str | None = None, office=None) -> Meeting:
    """Read, hash, recognise, extract and parse one meeting record file into a :class:`Meeting`.

    The kind comes from the content (:mod:`indexer.documents.sniff`): ODT, DOCX, DOC, PDF and
    HTML go through their extractor and the record reader (``office``, an
    :class:`~indexer.documents.OfficeSettings`, gives the limits and LibreOffice; default
    settings when None); other text is a Markdown or plain-text transcript.

    Raises :class:`TranscriptError` (message ``'<source>: <reason>'``) when the file cannot
    be read, is not a regular file, is over the size limit (:func:`max_file_bytes`), is empty,
    is binary, is a document that cannot be read (encrypted, damaged, a scanned image, over a
    limit), or yields no turn with any text.
    """
    from .documents import sniff

    shown = readable_name(str(path) if source is None else source)
    data = _read_bytes(path, shown)
    if not data.strip():
        raise TranscriptError(shown, "empty file")
    name = os.fspath(path)
    try:
        kind = sniff.kind_of(data, os.path.splitext(name)[1].lower())
    except sniff.NotARecord as err:
        raise TranscriptError(shown, f"not a meeting record: {err}") from None
    if kind in sniff.OFFICE_KINDS:
        fields, turns = _read_document(kind, data, name, shown, office)
    else:
        text = decode_transcript(data, shown)
        if not clean_text(text):
            raise TranscriptError(shown, "empty file (only whitespace)")
        fields, turns = parse_transcript(text, name=name)
        kind = "md" if is_markdown(text, readable_name(os.path.basename(name))) else "txt"
    if not turns:
        raise TranscriptError(shown, "no speaker turns and no speech found")
    return Meeting(meeting_id=meeting_id, source=shown,
                   content_hash=hashlib.sha256(data).hexdigest(), turns=tuple(turns),
                   format=kind, **fields)


def _read_document(kind: str, data: bytes, name: str, shown: str, office) -> tuple[dict, list[Turn]]:
    from .documents import DocumentError, OfficeSettings, extract
    from .documents.reader import read_document

    try:
        document = extract(kind, data, office or OfficeSettings())
    except DocumentError as err:
        raise TranscriptError(shown, str(err)) from None
    fields, raw_turns = read_document(document, readable_name(os.path.basename(name)))
    return clean_record(fields, raw_turns)
