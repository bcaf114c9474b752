"""PDF: checked with pypdfium2 (PDFium), laid out with pdfplumber (pdfminer.six).

PDFium opens the file first, because it is fast and strict where it matters: an encrypted file
(a password is needed), a damaged one, an absurd page count and a missing text layer (a scanned
image) are refused before any layout work. pdfplumber then gives each page's characters with
their positions, fonts and the table grid drawn by ruling lines; from them:

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

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from .blocks import Document, DocumentError, Paragraph, Table, join_lines
from .settings import OfficeSettings

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
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
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


def _check(data: bytes, settings: OfficeSettings) -> tuple[int, str]:
    """Page count and metadata title; DocumentError for the files that cannot be read."""
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
        title = (pdf.get_metadata_dict(skip_empty=True).get("Title") or "").strip()
    finally:
        pdf.close()
    return pages, title


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


def _is_bold(char: dict) -> bool:
    return bool(_BOLD_FONT.search(char.get("fontname", "")))


def _line(chars: list[dict]) -> _Line | None:
    chars = sorted((c for c in chars if c["text"] not in ("\n", "\r")), key=lambda c: c["x0"])
    if not chars:
        return None
    size = statistics.median(c["size"] for c in chars) or 10.0
    parts: list[str] = []
    previous = None
    for char in chars:
        if previous is not None:
            gap = char["x0"] - previous["x1"]
            if gap > 2.0 * size:
                parts.append("\t")  # a column gap: cells of a table without rules
            elif gap > 0.25 * size and previous["text"] != " " and char["text"] != " ":
                parts.append(" ")
        parts.append(char["text"])
        previous = char
    text = re.sub(r"[ \t]*\t[ \t]*", "\t", "".join(parts)).strip()
    if not text:
        return None
    first = chars[0]
    first_width = first["x1"] - first["x0"]
    if not _CJK.match(first["text"]):
        for prev, char in zip(chars, chars[1:]):  # a Latin word: up to the first space
            if char["text"].isspace() or _CJK.match(char["text"]) or char["x0"] - prev["x1"] > 0.25 * size:
                break
            first_width = char["x1"] - first["x0"]
    bold = ""
    for char in chars:
        if not _is_bold(char):
            break
        bold += char["text"]
    return _Line(text, chars[0]["x0"], chars[-1]["x1"], min(c["top"] for c in chars),
                 max(c["bottom"] for c in chars), size, first_width, bold.strip())


def _lines(page, number: int) -> list[_Line]:
    out = []
    for raw in page.extract_text_lines(return_chars=True, strip=True, keep_blank_chars=True):
        line = _line(raw["chars"])
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


def _cell_lines(page, bbox, number: int) -> list[_Line]:
    try:
        return _lines(page.crop(bbox, strict=False), number)
    except ValueError:  # a cell outside the page's box
        return []


def _read_page(page, number: int) -> _Page:
    tables = page.find_tables() if (page.lines or page.rects) else []
    boxes = [table.bbox for table in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    result = _Page(number, float(page.height))
    for line in _lines(page.filter(outside) if boxes else page, number):
        result.items.append((line.top, line))
    for table in tables:
        rows = []
        for row in table.rows:
            cells = [(bbox, _cell_lines(page, bbox, number)) for bbox in row.cells if bbox is not None]
            if cells:
                rows.append(cells)
        result.items.append((table.bbox[1], rows))
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
    count, title = _check(data, settings)
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    pages: list[_Page] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number, page in enumerate(pdf.pages, 1):
                pages.append(_read_page(page, number))
                page.close()  # frees the page's parsed objects: memory stays flat on long files
    except PDFSyntaxError as err:
        raise DocumentError(f"damaged PDF ({err})") from None
    except Exception as err:  # pdfminer raises many kinds of errors on damaged streams
        raise DocumentError(f"damaged PDF ({type(err).__name__}: {err})") from None
    _drop_running_lines(pages)
    return Document(blocks=_blocks(pages), title=title, pages=count)
