"""Text cleaning and dates shared by the format parsers.

The format modules (:mod:`indexer.markdown_format`, :mod:`indexer.record_format`) and the
dispatcher (:mod:`indexer.transcripts`) all import these; keeping them here, below all three,
is what keeps the parsers free of import cycles.
"""

from __future__ import annotations

import datetime
import re

__all__ = ["clean_text", "make_date"]

# C0 controls except "\n" (tabs are handled before), DEL, C1 controls, stray BOMs, and lone
# surrogates (undecodable bytes carried by text that did not come from decode_transcript).
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Turn text as stored: tabs and NBSP become spaces, control characters go, each line is
    stripped and empty lines dropped (so paragraphs are joined by exactly one "\\n")."""
    text = text.replace("\t", " ").replace("\u00a0", " ")
    text = _CONTROLS.sub("", text)
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def make_date(year: int, month: int, day: int) -> str:
    """ISO date, "" when the parts do not form a real date. Years below 1000 are ROC years."""
    if year < 1000:
        year += 1911
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return ""
