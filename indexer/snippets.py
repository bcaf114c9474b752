"""Snippets and keyword-in-context: matches found in folded text, shown in the original text.

Matching happens on the folded text (:func:`indexer.analysis.fold_with_offsets`); the spans are
mapped back so that what a user sees is the text as written, with whole terms marked.
"""

from __future__ import annotations

import html

from .analysis import FoldedText, fold_with_offsets

SNIPPET_BEFORE = 30
SNIPPET_LENGTH = 110


def match_spans(folded: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping spans of ``terms`` in ``folded``, in order.

    Overlapping matches (of one term, or of two terms) merge into one span, so marks never nest.
    """
    spans: list[tuple[int, int]] = []
    for term in {t for t in terms if t}:
        start = folded.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + 1)
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def occurrence_spans(folded: str, terms: list[str]) -> list[tuple[int, int]]:
    """Every occurrence of every term (one per match, overlaps allowed), in order.

    Counting occurrences this way agrees with ``str.count`` on each term when terms do not
    overlap themselves, which is how the index counts term frequency.
    """
    spans: list[tuple[int, int]] = []
    for term in {t for t in terms if t}:
        start = folded.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = folded.find(term, start + len(term))
    spans.sort()
    return spans


def _escape(text: str) -> str:
    return html.escape(text.replace("\n", " "), quote=True)


def make_snippet(text: str, terms: list[str]) -> str:
    """HTML-escaped text around the first match, with every term match in ``<mark>``."""
    ft = fold_with_offsets(text)
    spans = [ft.to_original(s, e) for s, e in match_spans(ft.folded, terms)]
    begin = max(0, spans[0][0] - SNIPPET_BEFORE) if spans else 0
    end = min(len(text), begin + SNIPPET_LENGTH)
    if spans and end < spans[0][1]:
        end = spans[0][1]
    out = ["…" if begin > 0 else ""]
    cursor = begin
    for s, e in spans:
        if e <= begin or s >= end:
            continue
        s, e = max(s, begin), min(e, end)
        out.append(_escape(text[cursor:s]))
        out.append(f"<mark>{_escape(text[s:e])}</mark>")
        cursor = e
    out.append(_escape(text[cursor:end]))
    if end < len(text):
        out.append("…")
    return "".join(out)


def highlight(text: str, terms: list[str]) -> str:
    """The whole text HTML-escaped, every term match in ``<mark>`` (for the meeting page)."""
    ft = fold_with_offsets(text)
    out = []
    cursor = 0
    for s, e in (ft.to_original(s, e) for s, e in match_spans(ft.folded, terms)):
        out.append(html.escape(text[cursor:s], quote=True))
        out.append(f"<mark>{html.escape(text[s:e], quote=True)}</mark>")
        cursor = e
    out.append(html.escape(text[cursor:], quote=True))
    return "".join(out)


def contexts(text: str, terms: list[str], width: int) -> list[tuple[str, str, str]]:
    """(left, match, right) for every occurrence of the terms, ``width`` characters each side.

    Plain text (not escaped); line breaks shown as spaces.
    """
    ft: FoldedText = fold_with_offsets(text)
    flat = text.replace("\n", " ")
    out = []
    for s, e in occurrence_spans(ft.folded, terms):
        o_s, o_e = ft.to_original(s, e)
        out.append((flat[max(0, o_s - width) : o_s], flat[o_s:o_e], flat[o_e : o_e + width]))
    return out
