"""The intermediate form every extractor produces: a document as a sequence of blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class DocumentError(Exception):
    """A document that cannot be read; ``str()`` is a one-line reason without the file name."""


@dataclass(frozen=True)
class Paragraph:
    """A paragraph or heading.

    ``bold`` is the bold text the paragraph starts with ("" when it starts in regular type): a
    speaker label set in bold. ``heading`` is the outline level (1 for a title heading), 0 for
    body text. ``page`` is the 1-based page it starts on, None for formats without pages.
    """

    text: str
    bold: str = ""
    heading: int = 0
    page: int | None = None


@dataclass(frozen=True)
class Table:
    """Rows of cells; each cell is the tuple of its paragraphs (a merged cell appears once)."""

    rows: tuple[tuple[tuple[Paragraph, ...], ...], ...]


Block = Paragraph | Table


@dataclass
class Document:
    """A file's blocks in reading order, and its own metadata title (a fallback only)."""

    blocks: list[Block] = field(default_factory=list)
    title: str = ""
    pages: int | None = None


def cell_paragraphs(blocks: list) -> tuple[Paragraph, ...]:
    """A table cell's content as paragraphs: a table nested in the cell gives its cells'
    paragraphs, row by row."""
    out: list[Paragraph] = []
    for block in blocks:
        if isinstance(block, Table):
            out.extend(p for row in block.rows for cell in row for p in cell)
        else:
            out.append(block)
    return tuple(out)


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_WORDY = re.compile(r"[A-Za-z0-9\u00c0-\u024f]")


def join_lines(first: str, second: str) -> str:
    """Join two lines of one paragraph the way a reader reads them.

    CJK on either side of the break: no space (``歸納的知`` + ``識`` → ``歸納的知識``); a Latin
    word hyphenated at the break is rejoined (``infor-`` + ``mation`` → ``information``; a real
    hyphen before a capital stays, without a space); other Latin words and numbers get one space.

    >>> join_lines("garbage in", "garbage out"), join_lines("infor-", "mation"), join_lines("知", "識")
    ('garbage in garbage out', 'information', '知識')
    """
    first, second = first.rstrip(), second.lstrip()
    if not first or not second:
        return first + second
    last, next_char = first[-1], second[0]
    if last == "-" and len(first) > 1 and first[-2].isalpha():
        # "infor-" + "mation": a word hyphenated by the break; "top-" + "Down": a real hyphen.
        return (first[:-1] if next_char.islower() else first) + second
    if _CJK.match(last) or _CJK.match(next_char):
        return first + second
    if _WORDY.match(next_char) or last in ",.;:!?)":
        return first + " " + second
    return first + second
