"""What a file is, by its content: the first bytes, and for ZIP and OLE2 files their directory.

Extensions lie (a ``.doc`` that is a web page, a PDF saved without extension), so the kind comes
from the content; the extension only decides between the text kinds (``md`` or ``txt``) and is
what an ignored file is counted under.

- ZIP (``PK\\x03\\x04``): ODF text if its ``mimetype`` member says
  ``application/vnd.oasis.opendocument.text`` (or ``…text-web``: what LibreOffice writes for a
  web page saved as .odt); Word if ``[Content_Types].xml`` names a main part
  ``word/document.xml``. A spreadsheet or a presentation is a ZIP too, and not a record.
- ``%PDF-`` (within the first KB, as readers allow): PDF.
- OLE2 (``D0 CF 11 E0 A1 B1 1A E1``): a Word 97-2003 document when it has a ``WordDocument``
  stream (an ``.xls`` or an Outlook ``.msg`` is OLE2 too). A password-protected Office file is
  OLE2 as well: a ``.doc`` with the FIB's encrypted flag, or an ``EncryptedPackage`` (a locked
  ``.docx``); either is refused as :class:`LockedDocument` before any conversion.
- RTF (``{\\rtf``, often named ``.doc``) is refused with a reason rather than read as text.
- HTML: text that starts (after a BOM, white space, an XML declaration or comments) with
  ``<!DOCTYPE html``, ``<html``, ``<head`` or ``<body``; or any text named ``.html``/``.htm``.
"""

from __future__ import annotations

import io
import re
import zipfile

#: Kinds read by an extractor of this package (the rest are text transcripts).
OFFICE_KINDS = ("odt", "docx", "doc", "pdf", "html")
TEXT_SUFFIXES = {".md": "md", ".markdown": "md", ".txt": "txt"}
HTML_SUFFIXES = (".html", ".htm")
#: Extensions that are read without looking inside first (their content still decides the kind).
KNOWN_SUFFIXES = frozenset({*TEXT_SUFFIXES, *HTML_SUFFIXES, ".odt", ".docx", ".doc", ".pdf"})
HEAD_BYTES = 2048

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODT_MIMETYPES = (b"application/vnd.oasis.opendocument.text", b"application/vnd.oasis.opendocument.text-web")
#: FibBase.fEncrypted ([MS-DOC] 2.5.2): the flags word at offset 10 of the WordDocument stream.
_FIB_FLAGS = slice(10, 12)
_FIB_ENCRYPTED = 0x0100
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]",
    re.IGNORECASE | re.DOTALL,
)
_WORD_MAIN = re.compile(rb'PartName="/word/document\.xml"', re.IGNORECASE)


class NotARecord(Exception):
    """A file of a kind that holds no meeting record (a spreadsheet, an image...)."""


class LockedDocument(NotARecord):
    """A password-protected Office file: perhaps a record, but nothing can be read without the
    password (the message is the whole reason, with no "not a meeting record")."""


def head_kind(head: bytes, suffix: str) -> str | None:
    """The kind from the first bytes alone: a final kind, ``zip`` or ``ole`` (the directory
    decides), or None for text that only the extension can place."""
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if _HTML_START.match(head[:HEAD_BYTES]) or (suffix in HTML_SUFFIXES and _looks_textual(head)):
        return "html"
    return None


def _looks_textual(head: bytes) -> bool:
    return b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff"))


def zip_kind(archive: zipfile.ZipFile) -> str:
    """``odt`` or ``docx`` for a word-processor ZIP; raises NotARecord for any other ZIP."""
    names = set(archive.namelist())
    if "mimetype" in names:
        with archive.open("mimetype") as member:
            mimetype = member.read(200).strip()
        if mimetype in ODT_MIMETYPES:
            return "odt"
        raise NotARecord(f"an OpenDocument file of another kind ({mimetype.decode('ascii', 'replace')})")
    if "[Content_Types].xml" in names:
        with archive.open("[Content_Types].xml") as member:
            types = member.read(1 << 20)
        if _WORD_MAIN.search(types) or "word/document.xml" in names:
            return "docx"
        if any(name.startswith("xl/") for name in names):
            raise NotARecord("a spreadsheet (Office Open XML), not a word-processor document")
        if any(name.startswith("ppt/") for name in names):
            raise NotARecord("a presentation (Office Open XML), not a word-processor document")
        raise NotARecord("an Office Open XML package without a Word document")
    raise NotARecord("a ZIP archive, not a word-processor document")


def ole_kind(data: bytes | str) -> str:
    """``doc`` when the OLE2 compound file has a WordDocument stream; else NotARecord."""
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            if ole.exists("WordDocument"):
                with ole.openstream("WordDocument") as stream:
                    flags = int.from_bytes(stream.read(12)[_FIB_FLAGS], "little")
                if flags & _FIB_ENCRYPTED:
                    raise LockedDocument("encrypted Word 97-2003 document: it needs a password to "
                                         "open (save a copy without the password)")
                return "doc"
            if ole.exists("EncryptedPackage"):  # how Office stores a password-protected .docx
                raise LockedDocument("encrypted Office document: it needs a password to open "
                                     "(save a copy without the password)")
            if ole.exists("Workbook") or ole.exists("Book"):
                raise NotARecord("an Excel 97-2003 workbook, not a word-processor document")
    except (OSError, ValueError, IndexError) as err:  # olefile's damaged-file errors
        raise NotARecord(f"a damaged OLE2 (Office 97-2003) file ({err})") from None
    raise NotARecord("an OLE2 (Office 97-2003) file without a Word document")


def kind_of(data: bytes, suffix: str) -> str:
    """The kind of a whole file's bytes; raises NotARecord for files that hold no record.

    Text that is not HTML is ``md`` or ``txt``: the caller tells them apart (extension, then the
    Markdown heading heuristics).
    """
    kind = head_kind(data[:HEAD_BYTES], suffix)
    if kind is None and data[:64].lstrip()[:5] == b"{\\rtf":
        raise NotARecord("an RTF document, which is not read: save it as .docx or .odt")
    if kind == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return zip_kind(archive)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
            raise NotARecord(f"a damaged ZIP archive ({err})") from None
    if kind == "ole":
        return ole_kind(data)
    return kind or "text"


def file_kind(path, suffix: str) -> str | None:
    """The kind of a file on disk, reading its first bytes (and a ZIP's or OLE2's directory);
    None when it holds no record. For folder scans of files with an unknown extension."""
    import os
    import stat

    try:
        # Non-blocking, and only regular files: a FIFO in the folder must not hang the scan.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            head = handle.read(HEAD_BYTES)
            kind = head_kind(head, suffix)
            if kind == "zip":
                handle.seek(0)
                with zipfile.ZipFile(handle) as archive:
                    return zip_kind(archive)
            if kind == "ole":
                return ole_kind(str(path))
    except (NotARecord, zipfile.BadZipFile, OSError, EOFError):
        return None
    return kind
