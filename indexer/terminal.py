"""Terminal formatting for the research commands: display width, aligned columns, bar charts,
and the query explanation as text.

Vocabulary
----------
display width
    The columns a string takes in a terminal: 2 for wide and full-width characters (CJK
    ideographs, ``Ａ``; ``unicodedata.east_asian_width`` W or F), 0 for combining marks and
    format characters (zero-width space), 1 for everything else. ``len`` counts characters, so
    padding with it misaligns Chinese text; every function here pads by display width.

Functions return lines (no trailing spaces); the CLI echoes them.
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Sequence

BAR = "█"
FIXED_BAR_WIDTH = 40


def char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Cf", "Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal.

    >>> display_width("台北 AI"), display_width("ＡＩ")
    (7, 4)
    """
    return sum(char_width(c) for c in text)


def pad_right(text: str, width: int) -> str:
    """``text`` then spaces up to ``width`` columns (left-aligned)."""
    return text + " " * max(0, width - display_width(text))


def pad_left(text: str, width: int) -> str:
    """Spaces then ``text``, ending at ``width`` columns (right-aligned)."""
    return " " * max(0, width - display_width(text)) + text


def one_line(text: str) -> str:
    """Control characters and tabs as spaces, so that a value stays on its line and in its column."""
    return "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029") else c for c in text)


def columns(rows: Sequence[Sequence[str]], align: str, gap: str = "  ") -> list[str]:
    """Rows of cells aligned in columns by display width; ``align`` has ``l`` or ``r`` per column.

    >>> columns([["台北", "1"], ["AI", "10"]], "lr")
    ['台北   1', 'AI    10']
    """
    widths = [max((display_width(row[i]) for row in rows), default=0) for i in range(len(align))]
    lines = []
    for row in rows:
        cells = [pad_left(c, w) if a == "r" else pad_right(c, w) for c, w, a in zip(row, widths, align)]
        lines.append(gap.join(cells).rstrip())
    return lines


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


# --- keyword in context ----------------------------------------------------------------------------


def kwic_lines(rows: list[dict], style: Callable[[str], str] | None = None) -> list[str]:
    """One line per occurrence row: date, left context right-aligned so that the matches line up,
    the match, the right context, the speaker, and ``meeting_id #turn`` (``, page N`` for PDFs).

    ``style`` decorates the match (colour on a terminal); alignment uses the plain text.
    """
    if not rows:
        return []
    date = [r["date"] or "(no date)" for r in rows]
    left = [one_line(r["left"]) for r in rows]
    match = [one_line(r["match"]) for r in rows]
    right = [one_line(r["right"]) for r in rows]
    speaker = [one_line(r["speaker"]) or "(no speaker)" for r in rows]
    widths = [max(map(display_width, column)) for column in (date, left, match, right, speaker)]
    lines = []
    for i, row in enumerate(rows):
        shown = style(match[i]) if style else match[i]
        shown += " " * (widths[2] - display_width(match[i]))
        cells = [
            pad_right(date[i], widths[0]),
            pad_left(left[i], widths[1]) + " " + shown + " " + pad_right(right[i], widths[3]),
            pad_right(speaker[i], widths[4]),
            f"{row['meeting_id']} #{row['turn']}" + (f", page {row['page']}" if row.get("page") else ""),
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


# --- timeline --------------------------------------------------------------------------------------


def bar_chart(periods, bar_width: int = FIXED_BAR_WIDTH) -> list[str]:
    """A header line, then one line per period: label, a bar of █ scaled so that the most
    occurrences fill ``bar_width`` columns (any count above zero gets at least one block), the
    occurrences and the meetings."""
    if not periods:
        return []
    peak = max(p.occurrences for p in periods) or 1
    rows = [["period", "mentions".ljust(bar_width), "occurrences", "meetings"]]
    for p in periods:
        blocks = round(bar_width * p.occurrences / peak)
        if p.occurrences and not blocks:
            blocks = 1
        label = "(no date)" if p.period == "unknown" else p.period
        rows.append([label, BAR * blocks + " " * (bar_width - blocks), str(p.occurrences), str(p.meetings)])
    return columns(rows, "llrr")


# --- speakers --------------------------------------------------------------------------------------


def speaker_table(speakers) -> list[str]:
    """Who said it, ranked: a header line, then one line per person (or label naming nobody),
    with the labels a person spoke as when they are not just the name."""
    rows = [["speaker", "organisation", "occurrences", "turns", "meetings", "first", "last", "labels"]]
    for s in speakers:
        labels = [entry["label"] for entry in s.labels]
        rows.append(
            [
                one_line(s.speaker_name or s.speaker) or "(no speaker)",
                one_line(s.organisation) or "-",
                str(s.occurrences),
                str(s.turns),
                str(s.meetings),
                s.first_date or "-",
                s.last_date or "-",
                " · ".join(one_line(label) for label in labels) if s.person and labels != [s.person] else "",
            ]
        )
    return columns(rows, "llrrrlll")


def people_table(people) -> list[str]:
    """Persons: a header line, then one line per person with the labels they spoke as."""
    rows = [["person", "turns", "meetings", "first", "last", "labels"]]
    for p in people:
        labels = " · ".join(f"{one_line(e['label'])} ({e['turns']})" for e in p.labels)
        rows.append([one_line(p.person), str(p.turns), str(p.meetings), p.first_date or "-", p.last_date or "-", labels])
    return columns(rows, "lrrlll")


# --- query explanation -----------------------------------------------------------------------------

_REASONS = {
    "compatibility": "compatibility form",
    "case": "upper → lower case",
    "variant": "Traditional/Simplified variant",
    "space": "white space → space",
}


def _reason(code: str, char: str) -> str:
    if code == "width":
        return "half-width → full-width" if unicodedata.east_asian_width(char) == "H" else "full-width → half-width"
    return _REASONS.get(code, code)


def _term_lines(term) -> list[str]:
    if term.changes:
        changes = "; ".join(
            f"{c.original} → {c.folded if c.folded != ' ' else 'space'}: "
            + ", ".join(_reason(r, c.original) for r in c.reasons)
            for c in term.changes
        )
        folded = f"matched as {term.folded} ({changes})"
    else:
        folded = "matched as written (folding changes nothing)"
    kind = "phrase" if term.quoted else "term"
    label = f"Excluded {kind}" if term.excluded else kind.capitalize()
    if len(term.words) == 1 and term.words[0] == term.folded:
        words = f"{term.words[0]} (one word: a match that is a whole word ranks higher)"
    else:
        words = " / ".join(term.words) if term.words else "(none)"
    return [f"{label} {_shown(term.text, term.quoted)}: {folded}", f"  jieba words: {words}"]


def _shown(value: str, quoted: bool = False) -> str:
    return f'"{value}"' if quoted or " " in value else value


def explanation_lines(expl) -> list[str]:
    """An :class:`~indexer.explain.Explanation` as text, for ``search --explain``."""
    lines = [f"Query: {expl.query}", f"Read as: {expl.structure}"]
    for term in expl.terms:
        lines.extend(_term_lines(term))
    for f in expl.fields:
        where = "speaker label or person" if f.name == "speaker" else "meeting title"
        verb = "does not contain" if f.excluded else "contains"
        origin = " (from --speaker)" if f.source == "option" else ""
        lines.append(f"Filter {f.name}: {where} {verb} {_shown(f.value)} (matched as {f.folded}){origin}")
    for d in expl.dates:
        if d.since and d.since == d.until:
            span = f"on {d.since}"
        elif d.since and d.until:
            span = f"from {d.since} to {d.until}"
        elif d.since:
            span = f"from {d.since} on"
        else:
            span = f"up to {d.until}"
        verb = "meeting date not " if d.excluded else "meeting date "
        origin = " (from --since/--until)" if d.source == "option" else ""
        lines.append(f"Filter date: {verb}{span}{origin}")
    shown = "; ".join(f"{e['term']} → {' OR '.join(_shown(t) for t in e['terms'])}" for e in expl.expansions)
    if expl.aliases and expl.expansions:
        lines.append(f"Aliases (list version {expl.alias_version}): {shown}")
        lines.append(f"Searched: {expl.expanded}")
    elif expl.aliases:
        lines.append(f"Aliases (list version {expl.alias_version}): no term has an alias")
    elif expl.expansions:
        lines.append(f"Aliases (list version {expl.alias_version}): off; --aliases would read {shown}")
    return lines
