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
:mod:`indexer.record_format` (plain-text meeting records with a header table). They share the
helpers of :mod:`indexer.cleaning` with this module; :func:`split_speaker` is in
:mod:`indexer.labels` (searching uses it too).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass

from . import markdown_format, record_format
from .cleaning import clean_text, make_date
from .decoding import TranscriptError, decode_transcript
from .labels import split_speaker
from .paths import readable_name
from .settings import ENV_MAX_FILE_MB, MAX_FILE_MB, OfficeSettings

__all__ = [
    "Turn", "Meeting", "TranscriptError", "decode_transcript", "parse_transcript",
    "read_transcript", "split_speaker", "clean_text", "make_date",
]


@dataclass(frozen=True)
class Turn:
    """One speaker's continuous remarks, as parsed (see the module's vocabulary)."""

    turn: int
    speaker: str
    speaker_name: str
    organisation: str
    section: str
    text: str
    page: int | None = None  # 1-based page the turn starts on (paged formats: PDF)


@dataclass(frozen=True)
class Meeting:
    """One transcript file as parsed: its metadata and turns (see the module's vocabulary)."""

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
    fmt = markdown_format if is_markdown(text, base) else record_format
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
        # Control characters are removed only now, so a heading "唐鳳：<NUL>" still ends in a colon.
        label = clean_text(label).replace("\n", " ").rstrip().rstrip("：:").rstrip()
        name_part, org = split_speaker(label) if label else ("", "")
        turns.append(Turn(turn=len(turns), speaker=label, speaker_name=name_part,
                          organisation=org, section=clean_text(section).replace("\n", " "),
                          text=body, page=page[0] if page else None))
    return meeting, turns


def _read_bytes(path: str | os.PathLike, shown: str, max_file_mb: float) -> bytes:
    """The file's bytes; refuses folders, FIFOs and devices (without blocking on a FIFO) and
    files over ``max_file_mb``."""
    limit = int(max_file_mb * 2**20)
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
                                     f"{max_file_mb:g} MB, set {ENV_MAX_FILE_MB} to change it)")
    return data


def read_transcript(path: str | os.PathLike, *, meeting_id: str, source: str | None = None,
                    max_file_mb: float = MAX_FILE_MB, office: OfficeSettings | None = None) -> Meeting:
    """Read, hash, recognise, extract and parse one meeting record file into a :class:`Meeting`.

    The kind comes from the content (:mod:`indexer.documents.sniff`): ODT, DOCX, DOC, PDF and
    HTML go through their extractor and the record reader (``office`` gives their limits and
    LibreOffice; default: :class:`~indexer.settings.OfficeSettings`); other text is a Markdown or
    plain-text transcript.

    ``source`` is the path as shown (default: ``path``); files over ``max_file_mb`` MB are
    refused (:attr:`IndexingSettings.max_file_mb <indexer.settings.IndexingSettings.max_file_mb>`).
    Raises :class:`TranscriptError` (message ``'<source>: <reason>'``) when the file cannot
    be read, is not a regular file, is over the size limit, is empty, is binary, is a document
    that cannot be read (encrypted, damaged, a scanned image, over a limit), or yields no turn
    with any text.
    """
    from .documents import sniff

    shown = readable_name(str(path) if source is None else source)
    data = _read_bytes(path, shown, max_file_mb)
    if not data.strip():
        raise TranscriptError(shown, "empty file")
    name = os.fspath(path)
    try:
        kind = sniff.kind_of(data, os.path.splitext(name)[1].lower())
    except sniff.LockedDocument as err:
        raise TranscriptError(shown, str(err)) from None
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


def _read_document(kind: str, data: bytes, name: str, shown: str,
                   office: OfficeSettings | None) -> tuple[dict, list[Turn]]:
    from .documents import DocumentError, extract
    from .documents.reader import read_document

    try:
        document = extract(kind, data, office or OfficeSettings())
    except DocumentError as err:
        raise TranscriptError(shown, str(err)) from None
    fields, raw_turns = read_document(document, readable_name(os.path.basename(name)))
    return clean_record(fields, raw_turns)
