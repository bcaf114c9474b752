"""OpenDocument text (.odt): content.xml read with lxml.

Headings (``text:h``) keep their outline level; lists, sections and tables are walked in
document order; a table's covered (merged-away) cells are skipped; notes and tracked deletions
are not text of the record. Bold comes from the automatic and named styles
(``fo:font-weight="bold"``). ODF has no layout, so blocks have no page.
"""

from __future__ import annotations

from lxml import etree

from .blocks import Document, DocumentError, Paragraph, Table, cell_paragraphs
from ..settings import OfficeSettings
from .zipsafe import ZipBudget

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
FO = "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
DC = "http://purl.org/dc/elements/1.1/"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


_P, _H, _SPAN, _A = _q(TEXT, "p"), _q(TEXT, "h"), _q(TEXT, "span"), _q(TEXT, "a")
_S, _TAB, _BREAK = _q(TEXT, "s"), _q(TEXT, "tab"), _q(TEXT, "line-break")
_SKIP = {_q(TEXT, n) for n in ("note", "tracked-changes", "bookmark-ref", "sequence-decls", "soft-page-break")}
_TABLE, _ROW, _CELL = _q(TABLE, "table"), _q(TABLE, "table-row"), _q(TABLE, "table-cell")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _xml(budget: ZipBudget, name: str):
    try:
        return etree.fromstring(budget.read(name), _PARSER)
    except etree.XMLSyntaxError as err:
        raise DocumentError(f"damaged OpenDocument file ({name}: {err})") from None


def _bold_styles(*roots) -> set[str]:
    bold = set()
    for root in roots:
        if root is None:
            continue
        for style in root.iter(_q(STYLE, "style")):
            props = style.find(_q(STYLE, "text-properties"))
            if props is not None and props.get(_q(FO, "font-weight")) in ("bold", "600", "700", "800", "900"):
                bold.add(style.get(_q(STYLE, "name")))
    return bold


class _Walker:
    def __init__(self, bold_styles: set[str]):
        self.bold_styles = bold_styles

    def runs(self, element, bold: bool, out: list[tuple[str, bool]]) -> None:
        """(text, bold) runs of a paragraph, in order."""
        if element.text:
            out.append((element.text, bold))
        for child in element:
            tag = child.tag
            if tag == _S:
                out.append((" " * int(child.get(_q(TEXT, "c"), "1") or 1), bold))
            elif tag == _TAB:
                out.append(("\t", bold))
            elif tag == _BREAK:
                out.append(("\n", bold))
            elif tag not in _SKIP:
                self.runs(child, bold or child.get(_q(TEXT, "style-name")) in self.bold_styles, out)
            if child.tail:
                out.append((child.tail, bold))

    def paragraphs(self, element, heading: int) -> list[Paragraph]:
        runs: list[tuple[str, bool]] = []
        self.runs(element, element.get(_q(TEXT, "style-name")) in self.bold_styles, runs)
        out = []
        # A line break inside a paragraph starts a new one (as a <br> does in the text records).
        line: list[tuple[str, bool]] = []
        for text, bold in runs + [("\n", False)]:
            parts = text.split("\n")
            for i, part in enumerate(parts):
                if i:
                    out.append(_paragraph(line, heading))
                    line = []
                if part:
                    line.append((part, bold))
        return [p for p in out if p.text]

    def blocks(self, element, out: list) -> None:
        for child in element:
            tag = child.tag
            if tag in (_P, _H):
                level = int(child.get(_q(TEXT, "outline-level"), "1") or 1) if tag == _H else 0
                out.extend(self.paragraphs(child, level))
            elif tag == _TABLE:
                out.append(self.table(child))
            elif tag not in _SKIP:
                self.blocks(child, out)  # lists, list items, sections, header rows

    def table(self, element) -> Table:
        rows = []
        for row in element.iter(_ROW):
            if row.getparent() is not element and row.getparent().getparent() is not element:
                continue  # a row of a nested table: read with its own table
            cells = []
            for cell in row.iterchildren(_CELL):
                content: list = []
                self.blocks(cell, content)
                cells.append(cell_paragraphs(content))
            rows.append(tuple(cells))
        return Table(tuple(rows))


def _paragraph(runs: list[tuple[str, bool]], heading: int) -> Paragraph:
    text = "".join(t for t, _ in runs)
    bold = ""
    for part, is_bold in runs:
        if not is_bold:
            break
        bold += part
    return Paragraph(text=text.strip(), bold=bold.strip() if bold.strip() else "", heading=heading)


def extract_odt(data: bytes, settings: OfficeSettings) -> Document:
    budget = ZipBudget(data, settings, "OpenDocument file")
    if budget.has("META-INF/manifest.xml") and b"encryption-data" in budget.read("META-INF/manifest.xml"):
        raise DocumentError("encrypted OpenDocument file: it needs a password to open (save a copy "
                            "without the password)")
    content = _xml(budget, "content.xml")
    styles = _xml(budget, "styles.xml") if budget.has("styles.xml") else None
    walker = _Walker(_bold_styles(content, styles))
    blocks: list = []
    body = content.find(f"{{{OFFICE}}}body/{{{OFFICE}}}text")
    if body is None:
        raise DocumentError("damaged OpenDocument file (no text body)")
    walker.blocks(body, blocks)
    title = ""
    if budget.has("meta.xml"):
        found = _xml(budget, "meta.xml").find(f".//{{{DC}}}title")
        title = (found.text or "").strip() if found is not None else ""
    return Document(blocks=blocks, title=title)
