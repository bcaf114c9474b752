"""Web pages (.html, .htm, and Word's "save as web page" .doc) with lxml.html.

Block elements (``p``, ``div``, ``li``, ``h1``-``h6``, ``blockquote``...) and ``<br>`` end a
paragraph; tables become rows of cells; scripts, styles and comments are not text. Bold is
``<b>``/``<strong>`` or an inline ``font-weight: bold``. The ``<title>`` is the metadata title.
The encoding is the one the page declares (``<meta charset>``), else it is detected as for text
transcripts (UTF-8, UTF-16, Big5).
"""

from __future__ import annotations

import codecs
import re

from .blocks import Document, DocumentError, Paragraph, Table, cell_paragraphs
from ..settings import OfficeSettings

_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BLOCK = {"p", "div", "li", "dd", "dt", "blockquote", "pre", "address", "center", "section",
          "article", "header", "footer", "main", "aside", "nav", "ul", "ol", "dl", "form",
          "figure", "figcaption", "caption", "hr", "body", "html"}
_HEADING = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"}
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(?:bold|[6-9]00)", re.IGNORECASE)


def _decode(data: bytes) -> str:
    m = _DECLARED.search(data[:4096])
    if m and not data.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        try:
            codec = codecs.lookup(m.group(1).decode("ascii")).name
        except LookupError:
            codec = ""
        if codec:
            if codec in ("big5", "cp950"):
                codec = "cp950"
            return data.decode(codec, errors="replace")
    from ..decoding import TranscriptError, decode_transcript

    try:
        return decode_transcript(data)
    except TranscriptError as err:
        raise DocumentError(err.reason) from None


class _Builder:
    """Collects the blocks of an element tree; ``runs`` is the paragraph being written."""

    def __init__(self) -> None:
        self.blocks: list = []
        self.runs: list[tuple[str, bool]] = []
        self.heading = 0

    def text(self, text: str | None, bold: bool) -> None:
        if text:
            self.runs.append((text, bold))

    def end_paragraph(self) -> None:
        text = " ".join("".join(t for t, _ in self.runs).split())
        if text:
            bold = ""
            for part, is_bold in self.runs:
                if not is_bold:
                    break
                bold += part
            self.blocks.append(Paragraph(text=text, bold=" ".join(bold.split()), heading=self.heading))
        self.runs = []

    def walk(self, element, bold: bool = False) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.lower()
        if tag in _SKIP or not tag:  # comments and processing instructions have no str tag
            return
        if tag == "br":
            self.end_paragraph()
            return
        if tag == "table":
            self.end_paragraph()
            self.blocks.append(self.table(element))
            return
        bold = bold or tag in ("b", "strong") or bool(_BOLD_STYLE.search(element.get("style", "")))
        block = tag in _BLOCK or tag in _HEADING
        if block:
            self.end_paragraph()
        if tag in _HEADING:
            self.heading = _HEADING[tag]
        self.text(element.text, bold)
        for child in element:
            self.walk(child, bold)
            self.text(child.tail, bold)
        if block:
            self.end_paragraph()
        if tag in _HEADING:
            self.heading = 0

    def table(self, element) -> Table:
        rows = []
        for row in element.iter("tr"):
            if _nearest_table(row) is not element:
                continue  # a row of a nested table
            cells = []
            for cell in row:
                if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                    continue
                inner = _Builder()
                inner.walk_children(cell)
                cells.append(cell_paragraphs(inner.blocks))
            rows.append(tuple(cells))
        return Table(tuple(rows))

    def walk_children(self, element) -> None:
        bold = element.tag == "th" or bool(_BOLD_STYLE.search(element.get("style", "")))
        self.text(element.text, bold)
        for child in element:
            self.walk(child, bold)
            self.text(child.tail, bold)
        self.end_paragraph()


def _nearest_table(element):
    parent = element.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def extract_html(data: bytes, settings: OfficeSettings) -> Document:
    import lxml.html
    from lxml import etree

    text = _decode(data)
    if not text.strip():
        raise DocumentError("empty file")
    # lxml refuses a str that still declares an XML encoding; the text is already decoded.
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as err:
        raise DocumentError(f"damaged web page ({err})") from None
    builder = _Builder()
    body = root.find("body")
    builder.walk(body if body is not None else root)
    builder.end_paragraph()
    title = root.findtext(".//title") or ""
    return Document(blocks=builder.blocks, title=" ".join(title.split()))
