"""Office documents: word-processor files, PDFs and web pages as meeting records.

A file becomes a meeting in two steps, so that every format obeys the same record rules:

1. an *extractor* per kind (:mod:`.odt`, :mod:`.docx`, :mod:`.legacy` for ``.doc``, :mod:`.pdf`,
   :mod:`.html`) turns the file into a :class:`~.blocks.Document`: a sequence of *blocks*;
2. the *record reader* (:mod:`.reader`) turns blocks into meeting fields and raw turns with the
   rules of the plain-text record parser (:mod:`indexer.record_format`).

Vocabulary
----------
kind
    What a file is by its content (:mod:`.sniff`): ``odt``, ``docx``, ``doc``, ``pdf``,
    ``html``, or a text transcript (``md``, ``txt``). It is also the meeting's ``format``.
block
    A heading or paragraph (:class:`~.blocks.Paragraph`: its text, the bold text it starts with,
    its outline level, the 1-based page it starts on where the format has pages) or a table
    (:class:`~.blocks.Table`: rows of cells, each cell holding paragraphs).
limits
    What a file may cost before it is refused (:class:`~.settings.OfficeSettings`): unpacked
    size and member count of a ZIP, page count of a PDF, time for a LibreOffice conversion.
"""

from __future__ import annotations

from .blocks import Document, DocumentError, Paragraph, Table
from ..settings import OfficeSettings

__all__ = ["Document", "DocumentError", "OfficeSettings", "Paragraph", "Table", "extract"]


def extract(kind: str, data: bytes, settings: OfficeSettings) -> Document:
    """The blocks of a file of ``kind`` (``odt``, ``docx``, ``doc``, ``pdf``, ``html``).

    Raises :class:`DocumentError` (a one-line reason) for encrypted, damaged or oversized files.
    """
    if kind == "odt":
        from .odt import extract_odt as extractor
    elif kind == "docx":
        from .docx import extract_docx as extractor
    elif kind == "doc":
        from .legacy import extract_doc as extractor
    elif kind == "pdf":
        from .pdf import extract_pdf as extractor
    elif kind == "html":
        from .html import extract_html as extractor
    else:
        raise ValueError(f"not an office document kind: {kind}")
    return extractor(data, settings)
