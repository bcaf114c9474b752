"""PDF: read with pypdfium2 (PDFium); tables found by pdfplumber's table finder.

PDFium opens the file, and is strict where it matters: an encrypted file (a password is needed),
a damaged one, an absurd page count and a missing text layer (a scanned image) are refused
before any layout work. Each page then gives its characters with their boxes, sizes and fonts
and the table grid drawn by its rules (:mod:`.pdf_page`); from them:

- **lines**: characters on one baseline, in reading order; a gap of more than two characters
  inside a line is a tab (cells of a table drawn without rules);
- **paragraphs**: consecutive lines of a text column join when the first line is full (the next
  line's first character, or Latin word, would not have fitted after it) and no wider gap than
  usual separates them; the join follows :func:`~.blocks.join_lines` (CJK: no space, Latin: one,
  hyphenated words rejoined). A paragraph left open at the bottom of a page continues on the next;
- **tables**: pdfplumber's cells, each cell's lines joined into paragraphs the same way, so a
  label that wraps inside its cell (府級 + 長官) is one word again;
- **running headers and footers**: the top or bottom line of a page whose text (digits aside)
  repeats at that place on at least half of the pages (two at least), and page numbers there
  (``3``, ``- 3 -``, ``第 3 頁``, ``3/12``, ``Page 3 of 12``), are dropped.

Each paragraph knows its page (1-based).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from .blocks import Document, DocumentError, Paragraph, Table, join_lines
from .pdf_page import Char, Span, font_name, page_chars, page_tables
from ..settings import OfficeSettings

NO_TEXT_LAYER = "no text layer (a scanned image): OCR it first"
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—~‧·\s]*\d{1,4}[-–—~‧·\s]*|第\s*\d{1,4}\s*頁(?:\s*[,，/、]?\s*共\s*\d{1,4}\s*頁)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|共\s*\d{1,4}\s*頁\s*[,，]?\s*第\s*\d{1,4}\s*頁)$",
    re.IGNORECASE,
)
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|w[6-9]\b", re.IGNORECASE)
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
#: A header or footer line sits in this top or bottom share of the page.
_MARGIN_SHARE = 0.15


@dataclass
class _Line(Span):
    first_width: float  # width of the first character, or first Latin word
    bold: str
    page: int = 0


@dataclass
class _Page:
    number: int
    height: float
    items: list = field(default_factory=list)  # (top, _Line) or (top, list of rows of cells)


def _check_end(data: bytes) -> None:
    # PDFium repairs a truncated file silently and returns the pages it still finds: the text
    # after the cut would be lost without a word. A complete PDF ends with %%EOF.
    if b"%%EOF" not in data[-4096:]:
        raise DocumentError("damaged PDF: truncated (the end of the file is missing)")


def _open(data: bytes, settings: OfficeSettings):
    """The opened PDF (pypdfium2), or DocumentError for the files that cannot be read."""
    import pypdfium2

    _check_end(data)
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        if "password" in str(err).lower():
            raise DocumentError("encrypted PDF: it needs a password to open (save a copy "
                                "without the password)") from None
        raise DocumentError(f"damaged PDF ({_pdfium_reason(err)})") from None
    try:
        pages = len(pdf)
        if pages > settings.max_pages:
            raise DocumentError(f"too many pages ({pages:,}; the limit is {settings.max_pages:,}, "
                                "set CIVIC_SEARCH_MAX_PAGES to change it)")
        if pages == 0:
            raise DocumentError("damaged PDF (no pages)")
        if not any(_has_text(pdf, i) for i in range(pages)):
            raise DocumentError(NO_TEXT_LAYER)
    except BaseException:
        pdf.close()
        raise
    return pdf


def _pdfium_reason(err: Exception) -> str:
    m = re.search(r"PDFium: ([^)]+)", str(err))
    return m.group(1).strip() if m else str(err)


def _has_text(pdf, index: int) -> bool:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            return bool(textpage.get_text_range().strip())
        finally:
            textpage.close()
    finally:
        page.close()


# --- lines -----------------------------------------------------------------------------------


def _line(chars: list[Char], bold_of) -> _Line | None:
    """One line from its characters (left to right); ``bold_of(char)`` says if a char is bold."""
    chars = sorted(chars, key=lambda c: c.x0)
    if not chars:
        return None
    size = statistics.median(c.size for c in chars) or 10.0
    parts: list[str] = []
    previous = None
    for char in chars:
        if previous is not None:
            gap = char.x0 - previous.x1
            if gap > 2.0 * size:
                parts.append("\t")  # a column gap: cells of a table without rules
            elif (gap > 0.2 * size and previous.text != " " and char.text != " "
                  and not _CJK.match(previous.text) and not _CJK.match(char.text)):
                # A gap between Latin words with no space character; beside CJK text a gap is
                # typesetting (LibreOffice spaces Asian from Western text), not a space.
                parts.append(" ")
        parts.append(char.text)
        previous = char
    text = re.sub(r"[ \t]*\t[ \t]*", "\t", re.sub(r" +", " ", "".join(parts))).strip()
    if not text:
        return None
    visible = [c for c in chars if not c.text.isspace()]
    first = visible[0]
    first_width = first.x1 - first.x0
    if not _CJK.match(first.text):
        for prev, char in zip(visible, visible[1:]):  # a Latin word: up to the first gap
            if _CJK.match(char.text) or char.x0 - prev.x1 > 0.2 * size:
                break
            first_width = char.x1 - first.x0
    bold = ""
    for char in visible:
        if not bold_of(char):
            break
        bold += char.text
    return _Line(text, first.x0, visible[-1].x1, min(c.top for c in visible),
                 max(c.bottom for c in visible), size, first_width, bold.strip())


def _lines(chars: list[Char], number: int, bold_of) -> list[_Line]:
    """Characters grouped into lines: a character whose middle is within the current line's
    height joins it (characters come roughly in reading order; lines are sorted top-down)."""
    groups: list[list[Char]] = []
    for char in sorted(chars, key=lambda c: (c.top + c.bottom) / 2):
        middle = (char.top + char.bottom) / 2
        if groups:
            current = groups[-1]
            top = min(c.top for c in current[:3])
            bottom = max(c.bottom for c in current[:3])
            if top <= middle <= bottom:
                current.append(char)
                continue
        groups.append([char])
    out = []
    for group in groups:
        line = _line(group, bold_of)
        if line is not None:
            line.page = number
            out.append(line)
    return out


# --- paragraphs ---------------------------------------------------------------------------------


def _wraps(line: _Line, following: _Line, edge: float, pitch: float) -> bool:
    """True when ``following`` continues ``line``'s paragraph: ``line`` is full (the next line's
    first character or word would not have fitted after it) and no extra space separates them."""
    if following.top - line.top > 1.3 * pitch + 0.5:
        return False
    return line.x1 + following.first_width + line.size >= edge


def _paragraphs(lines: list[_Line], edge: float, pitch: float, body_size: float) -> list[Paragraph]:
    out: list[Paragraph] = []
    current: list[_Line] = []

    def flush() -> None:
        if current:
            text = current[0].text
            for line in current[1:]:
                text = join_lines(text, line.text)
            out.append(Paragraph(text=text, bold=current[0].bold, heading=_heading(current[0], body_size),
                                 page=current[0].page))
        current.clear()

    for line in lines:
        if current and not _wraps(current[-1], line, edge, pitch):
            flush()
        current.append(line)
    flush()
    return out


def _heading(line: _Line, body_size: float) -> int:
    if line.size >= 1.5 * body_size:
        return 1
    return 2 if line.size >= 1.15 * body_size else 0


def _pitch(groups: list[list[_Line]]) -> float:
    steps = [b.top - a.top for lines in groups for a, b in zip(lines, lines[1:]) if b.top > a.top]
    return statistics.median(steps) if steps else 15.0


# --- pages ----------------------------------------------------------------------------------------


def _read_page(page, number: int) -> _Page:
    height = page.get_height()
    textpage = page.get_textpage()
    try:
        chars = page_chars(textpage, height)
        fonts: dict[int, bool] = {}

        def bold_of(char: Char) -> bool:
            if char.index not in fonts:
                fonts[char.index] = bool(_BOLD_FONT.search(font_name(textpage, char.index)))
            return fonts[char.index]

        tables = page_tables(page, height) if chars else []
        cells = [cell for table in tables for row in table for cell in row]
        inside: dict[tuple, list[Char]] = {cell: [] for cell in cells}
        outside: list[Char] = []
        for char in chars:
            x, y = (char.x0 + char.x1) / 2, (char.top + char.bottom) / 2
            cell = next((c for c in cells if c[0] <= x <= c[2] and c[1] <= y <= c[3]), None)
            (inside[cell] if cell is not None else outside).append(char)
        result = _Page(number, float(height))
        for line in _lines(outside, number, bold_of):
            result.items.append((line.top, line))
        for table in tables:
            rows = [[(cell, _lines(inside[cell], number, bold_of)) for cell in row] for row in table]
            result.items.append((table[0][0][1], rows))
    finally:
        textpage.close()
    result.items.sort(key=lambda item: item[0])
    return result


def _drop_running_lines(pages: list[_Page]) -> None:
    """Remove running headers, footers and page numbers (see the module docstring)."""
    for _ in range(2):  # a header of two lines: the second is the top line once the first is gone
        ends: list[tuple[_Page, int, str]] = []
        for page in pages:
            lines = [i for i, (_, item) in enumerate(page.items) if isinstance(item, _Line)]
            if not lines:
                continue
            first, last = lines[0], lines[-1]
            if page.items[first][1].bottom <= _MARGIN_SHARE * page.height and first == 0:
                ends.append((page, first, "top"))
            if page.items[last][1].top >= (1 - _MARGIN_SHARE) * page.height and last == len(page.items) - 1:
                ends.append((page, last, "bottom"))
        counts = Counter((where, _shape(page.items[i][1].text)) for page, i, where in ends)
        needed = max(2, (len(pages) + 1) // 2)
        drop = [(page, i) for page, i, where in ends
                if counts[(where, _shape(page.items[i][1].text))] >= needed
                or _PAGE_NUMBER.match(page.items[i][1].text.strip())]
        if not drop:
            return
        for page, i in sorted(drop, key=lambda pi: -pi[1]):
            del page.items[i]


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _blocks(pages: list[_Page]) -> list:
    """Paragraphs and tables of all pages, a paragraph left open at a page's end continued."""
    texts = [[item for _, item in page.items if isinstance(item, _Line)] for page in pages]
    all_lines = [line for lines in texts for line in lines]
    if not all_lines and not any(page.items for page in pages):
        return []
    # The text column's right edge: the widest line, or a table's frame (a page of short lines
    # beside a table would otherwise call its longest line full).
    frames = [bbox[2] for page in pages for _, item in page.items if not isinstance(item, _Line)
              for cells in item for bbox, _ in cells]
    edge = max([line.x1 for line in all_lines] + frames, default=0.0)
    pitch = _pitch(texts)
    body_size = statistics.median(line.size for line in all_lines) if all_lines else 10.0
    blocks: list = []
    run: list[_Line] = []  # lines of the current text run (it may cross a page break)
    for page in pages:
        for _, item in page.items:
            if isinstance(item, _Line):
                run.append(item)
            else:
                blocks.extend(_paragraphs(run, edge, pitch, body_size))
                run = []
                blocks.append(_table(item, pitch, body_size))
    blocks.extend(_paragraphs(run, edge, pitch, body_size))
    return blocks


def _table(rows, pitch: float, body_size: float) -> Table:
    out = []
    for cells in rows:
        row = []
        for bbox, lines in cells:
            if lines:
                padding = max(0.0, min(line.x0 for line in lines) - bbox[0])
                edge = max(bbox[2] - padding, max(line.x1 for line in lines))
                row.append(tuple(_paragraphs(lines, edge, pitch, body_size)))
            else:
                row.append(())
        out.append(tuple(row))
    return Table(tuple(out))


def extract_pdf(data: bytes, settings: OfficeSettings) -> Document:
    pdf = _open(data, settings)
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                pages.append(_read_page(page, index + 1))
            finally:
                page.close()
        count = len(pdf)
        title = (pdf.get_metadata_dict(skip_empty=True).get("Title") or "").strip()
    finally:
        pdf.close()
    _drop_running_lines(pages)
    blocks = _blocks(pages)
    if not blocks:  # only page numbers or a running header: a scan with a stamped page number
        raise DocumentError(NO_TEXT_LAYER)
    return Document(blocks=blocks, title=title, pages=count)
