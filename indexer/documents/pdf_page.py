"""One PDF page read with PDFium (pypdfium2): its characters, and the tables its rules draw.

- **characters**: PDFium's text page, in content order, with each character's *loose* box (the
  font's advance width and line height, so that the gap between two boxes is real white space)
  and font size; characters PDFium generated itself (spaces and line ends it guessed) are left
  out: lines and gaps are worked out from the boxes.
- **tables**: thin path objects (lines, hairline rectangles) are the rules; pdfplumber's table
  finder (its edge merging, intersections and cells, fed with these edges) turns them into
  tables of cell boxes. Coordinates are pdfplumber's: ``top`` measured from the top of the page.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

#: A path thinner than this (points) is a rule; anything thicker is a shape, not a table line.
RULE_WIDTH = 3.0
#: Rules shorter than this are ignored (pdfplumber's own default).
MIN_RULE_LENGTH = 3.0
#: How close two rules must be to count as one, or to meet (pdfplumber's defaults).
SNAP = 3.0


@dataclass
class Span:
    """Text and its box on the page (``top`` from the top of the page), and its font size."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass
class Char(Span):
    index: int  # PDFium's character index (for the font name)


def page_chars(textpage, height: float) -> list[Char]:
    """The page's characters (not PDFium's generated ones), in content order."""
    import pypdfium2.raw as pdfium_c

    raw = textpage.raw
    chars = []
    for i in range(textpage.count_chars()):
        if pdfium_c.FPDFText_IsGenerated(raw, i):
            continue
        code = pdfium_c.FPDFText_GetUnicode(raw, i)
        if code in (0, 0xFFFE, 0xFFFF, 10, 13) or 0xD800 <= code <= 0xDFFF:
            continue
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        chars.append(Char(chr(code), left, right, height - top, height - bottom,
                          pdfium_c.FPDFText_GetFontSize(raw, i) or 10.0, i))
    return chars


def font_name(textpage, index: int) -> str:
    import pypdfium2.raw as pdfium_c

    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, len(buffer), ctypes.byref(flags))
    return buffer.value.decode("latin-1", "replace")


def _rules(page, height: float) -> list[dict]:
    """Thin path objects as pdfplumber edges (``orientation`` "h" or "v")."""
    import pypdfium2.raw as pdfium_c

    edges = []
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,), max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        width, tall = right - left, top - bottom
        if tall <= RULE_WIDTH and width >= MIN_RULE_LENGTH:
            y = height - (top + bottom) / 2
            edges.append({"x0": left, "x1": right, "top": y, "bottom": y, "width": width, "height": 0.0,
                          "orientation": "h", "object_type": "line"})
        elif width <= RULE_WIDTH and tall >= MIN_RULE_LENGTH:
            x = (left + right) / 2
            edges.append({"x0": x, "x1": x, "top": height - top, "bottom": height - bottom, "width": 0.0,
                          "height": tall, "orientation": "v", "object_type": "line"})
    return edges


def page_tables(page, height: float) -> list[list[tuple[float, float, float, float]]]:
    """Tables drawn by rules, each as rows (top to bottom) of cell boxes ``(x0, top, x1, bottom)``
    (left to right); a cell spanning rows or columns appears once."""
    from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

    edges = _rules(page, height)
    if len(edges) < 4:
        return []
    edges = merge_edges(edges, SNAP, SNAP, SNAP, SNAP)
    cells = intersections_to_cells(edges_to_intersections(edges, 1, 1))
    tables = []
    for cells_of_table in cells_to_tables(cells):
        rows: list[list[tuple]] = []
        for cell in sorted(cells_of_table, key=lambda c: (round(c[1], 1), c[0])):
            if rows and abs(rows[-1][0][1] - cell[1]) < 1.0:
                rows[-1].append(cell)
            else:
                rows.append([cell])
        tables.append(rows)
    return tables
