"""The record reader: a document's blocks → meeting fields and raw turns.

The same rules as the plain-text record parser (:mod:`indexer.record_format`), applied to blocks
instead of lines: each paragraph and each table row is one line for the header rules (title
lines, then the header table: a row's cells are its key/value cells); after the header,

- a two-column row is a question (left cell) and its answer (right cell); a row whose left cell
  is empty continues the answer above it (a row broken by a page);
- a paragraph that is a speaker line (``臺北市資訊局/呂新科局長：``) starts a turn; so does a
  paragraph that *starts* with a label set in bold (``**主席：**各位好``) or with an
  ``機關/姓名：`` label (``民政局/李大華專員：關於…``): the rest is the turn's first speech;
- a numbered question or agenda item (``一、…？``, ``壹、主席致詞``) is a question turn (but
  not inside the turn of a speaker set as a heading, as transcripts set them: there it is a
  point of the speech); other headings set the section; anything else is speech.

Paragraphs of paged formats (PDF) may be pieces of one paragraph broken by a page, so they are
joined by the text records' page-break rule; in ODT, DOCX and HTML a paragraph is a paragraph,
except at the start of a continued table row. Each turn starts on the page of its first block.
"""

from __future__ import annotations

import re

from ..record_format import TurnCollector, is_heading, is_speaker, meeting_fields, split_header
from .blocks import Document, Paragraph, Table, join_lines

_SLASH_LABEL = re.compile(r"^(?P<label>[^：:。，、！？；!?,;/／]{1,30}[/／][^：:。，、！？；!?,;]{1,20}?)\s*[：:]\s*(?P<rest>\S.*)$",
                          re.DOTALL)
_LEADING_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:\s+|$)")


def _line(block) -> str:
    """How a block reads as a line of a text record (a row: its cells separated by tabs)."""
    if isinstance(block, Paragraph):
        return block.text
    cells = block
    return "\t".join(" ".join(p.text for p in cell) for cell in cells)


def _units(blocks: list) -> list:
    """Paragraphs and table rows, in order: the record's lines."""
    units: list = []
    for block in blocks:
        if isinstance(block, Table):
            units.extend(row for row in block.rows if any(cell for cell in row))
        else:
            units.append(block)
    return units


def _inline_label(paragraph: Paragraph) -> tuple[str, str] | None:
    """(label, speech) when the paragraph starts with a bold or an 機關/姓名 label."""
    text = paragraph.text
    bold = paragraph.bold
    if bold and bold.endswith(("：", ":")) and text.startswith(bold) and len(text) > len(bold):
        label = is_speaker(bold)
        if label is not None:
            return label, text[len(bold):].strip()
    m = _SLASH_LABEL.match(text)
    if m:
        label = is_speaker(m.group("label") + "：")
        if label is not None:
            return label, m.group("rest").strip()
    return None


class _Reader:
    def __init__(self, paged: bool):
        joiner = join_lines if paged else None
        self.collector = TurnCollector(join_breaks=paged, joiner=joiner)
        # Speakers set as headings (a transcript's ### 唐鳳：): numbered paragraphs under them
        # are points of the speech, not questions.
        self.heading_speakers = False

    def paragraph(self, paragraph: Paragraph, join: bool | None = None) -> None:
        collector = self.collector
        text = paragraph.text
        label = is_speaker(text)
        if label is not None:
            self.heading_speakers = self.heading_speakers or bool(paragraph.heading)
            # Consecutive speaker headings of one speaker are one turn (as in Markdown).
            if not (paragraph.heading and label == collector.label and collector.paragraphs):
                collector.speaker(label, paragraph.page)
            return
        inline = _inline_label(paragraph)
        if inline is not None:
            collector.speaker(inline[0], paragraph.page)
            collector.speech(inline[1], paragraph.page)
        elif is_heading(text, "") and not (self.heading_speakers and collector.label):
            collector.question(text, paragraph.page)
        elif paragraph.heading:
            collector.heading(text)
        else:
            collector.speech(text, paragraph.page, join)

    def row(self, cells: tuple) -> None:
        if len(cells) == 2:
            left, right = cells
            for paragraph in left:
                self.collector.question(paragraph.text, paragraph.page)
            for i, paragraph in enumerate(right):
                # A row whose left cell is empty continues the cell above, broken by a page.
                self.paragraph(paragraph, True if (i == 0 and not left) else None)
        elif len(cells) == 1:
            for paragraph in cells[0]:
                self.paragraph(paragraph)
        else:
            paragraphs = [p for cell in cells for p in cell]
            if paragraphs:
                text = " ".join(p.text for p in paragraphs)
                self.collector.speech(text, paragraphs[0].page)


def read_document(document: Document, name: str) -> tuple[dict, list[tuple]]:
    """Meeting fields and raw turns ``(label, section, text, page)`` of a document."""
    units = _units(document.blocks)
    title_lines, header, body_start, _ = split_header([_line(u) for u in units])
    reader = _Reader(paged=document.pages is not None)
    for unit in units[body_start:]:
        if isinstance(unit, Paragraph):
            reader.paragraph(unit)
        else:
            reader.row(unit)
    reader.collector.flush()
    fields = meeting_fields(title_lines, header, name, fallback_title=document.title)
    stripped = _LEADING_ISO_DATE.sub("", fields["title"]).strip()
    if stripped and stripped != fields["title"] and fields["date"]:
        fields["title"] = stripped  # "2018-12-03 經濟日報訪問": the date is its own field
    return fields, reader.collector.turns
