"""Word documents (.docx) with python-docx: paragraphs and tables in body order.

python-docx gives the body's paragraphs and tables separately; the body's XML children are
walked instead, so that order is kept, and each table cell (``w:tc``) is read once even when it
spans columns (python-docx's ``row.cells`` repeats a merged cell). Headings are paragraphs whose
style is a heading (``Heading 1``, ``Title``) or that carry an outline level. Bold is a run's own
``w:b`` or its character or paragraph style's. Word does not store layout, so no pages.
"""

from __future__ import annotations

import io
import re

from .blocks import Document, DocumentError, Paragraph, Table, cell_paragraphs
from ..settings import OfficeSettings
from .zipsafe import ZipBudget

_HEADING_STYLE = re.compile(r"^(?:heading|標題)\s*(\d)$", re.IGNORECASE)


def _level(paragraph) -> int:
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 1
    m = _HEADING_STYLE.match(name)
    if m:
        return int(m.group(1))
    outline = paragraph._p.find(".//{*}outlineLvl")
    if outline is not None:
        value = outline.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val", "9")
        return int(value) + 1 if value.isdigit() and int(value) < 9 else 0
    return 0


def _style_bold(style) -> bool:
    while style is not None:
        if style.font.bold is not None:
            return bool(style.font.bold)
        style = style.base_style
    return False


def _paragraph(paragraph) -> list[Paragraph]:
    level = _level(paragraph)
    paragraph_bold = _style_bold(paragraph.style)
    lines: list[list[tuple[str, bool]]] = [[]]
    for run in paragraph.runs:
        bold = run.bold if run.bold is not None else (_style_bold(run.style) or paragraph_bold)
        parts = run.text.split("\n")  # python-docx renders <w:br/> as "\n"
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append((part, bold))
    out = []
    for runs in lines:
        text = "".join(t for t, _ in runs).strip()
        if not text:
            continue
        bold = ""
        for part, is_bold in runs:
            if not is_bold:
                break
            bold += part
        out.append(Paragraph(text=text, bold=bold.strip(), heading=level))
    if not lines[0] and not out and paragraph.text.strip():  # text outside runs (fields, links)
        out.append(Paragraph(text=paragraph.text.strip(), heading=level))
    return out


def _blocks(parent_element, parent) -> list:
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph as DocxParagraph

    out: list = []
    for child in parent_element.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.extend(_paragraph(DocxParagraph(child, parent)))
        elif tag == "tbl":
            out.append(_table(DocxTable(child, parent)))
        elif tag in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):
            out.extend(_blocks(child, parent))  # content controls and tracked insertions
    return out


def _table(table) -> Table:
    from docx.table import _Cell

    rows = []
    for tr in table._tbl.tr_lst:
        cells = []
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                continue  # the lower part of a vertically merged cell: its text is above
            cells.append(cell_paragraphs(_blocks(tc, _Cell(tc, table))))
        rows.append(tuple(cells))
    return Table(tuple(rows))


def extract_docx(data: bytes, settings: OfficeSettings) -> Document:
    budget = ZipBudget(data, settings, "Word document")
    budget.check_all()  # python-docx reads every part: unpack them under the budget first
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as err:
        raise DocumentError(f"damaged Word document ({err})") from None
    except Exception as err:  # lxml syntax errors and the like from a damaged part
        raise DocumentError(f"damaged Word document ({type(err).__name__}: {err})") from None
    blocks = _blocks(document.element.body, document._body)
    title = (document.core_properties.title or "").strip()
    return Document(blocks=blocks, title=title)
