"""Markdown transcripts (PDIS / SayIt style, as in shared/corpus/audreyt-transcript).

Shape of a file::

    # 2021-10-05 開放政府第 101 次協作會議      <- title heading: date + title
    > （[簡報參考](https://…)）                  <- blockquote: context, never speech
    ## 一、議題                                   <- sub-heading: section of later turns
    ### 陳依婕 (中央健康保險署)：                 <- speaker heading: starts a turn
    speech paragraph…

Rules implemented here (each one is a quirk seen in the corpus):

- Title heading: ``# YYYY-MM-DD title``. When the heading has another shape (``# 20160204 …``,
  ``# 《律師法》…（2016-05-04）``, a no-break space after the date, no date at all) the date
  comes from the file name ``YYYY-MM-DD-…`` (else from any date in the heading) and the
  title is the heading without its leading date or trailing parenthesised date; with no
  title heading the title is the file name without date and extension, ``-`` read as space.
- Speaker heading: ``### label：`` with a full-width, half-width or no colon. ``### role：name``
  keeps the whole ``role：name`` as the label, unless the part after the colon reads like
  speech (long, or with sentence punctuation): then it is the first line of the turn.
  A ``## label：`` heading that ends with a colon is also a speaker (one file has it).
- Consecutive headings of the same speaker, with no other speaker or section heading between
  them, form one turn. Text before the first speaker heading is a turn with speaker "".
- ``>`` lines are context and never enter a turn, nor do ``---`` rules and HackMD ``:::``
  fence lines (``:::info``, ``:::warning 問 :::``: editor notes). ``#``/``##``/``####``… headings (other than
  the title and speaker headings) set the section of the turns that follow.
- Inline markup: HTML tags removed (``<br>`` = new line), then images ``![alt](src)`` → alt,
  links ``[text](url "title")`` → text, autolinks ``<https://…>`` → the URL, ``**bold**``,
  ``__bold__`` and ```code``` lose their markers, and only then entities are decoded, so an
  escaped ``&lt;script&gt;`` stays the text ``<script>``. Bullet markers stay as written.
"""

from __future__ import annotations

import html
import re

from .cleaning import make_date

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t\u00a0]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}>")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_CONTAINER_FENCE = re.compile(r"^:::")  # HackMD ":::info" fences and ":::warning note :::"
_STRAY_HASHES = re.compile(r"^ {0,3}#{2,}(?=[^#\s])")  # "##我們準時開始…": a typo, not markup
_COLON_END = re.compile(r"[ \t]*[：:][ \t]*$")
_SPEECHY = re.compile(r"[。，！？；,!?]")

_TITLE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?=[ \t]|$)")
_LEADING_DATE = re.compile(r"^\d{4}-?\d{1,2}-?\d{1,2}(?=[\s\u00a0]|$)[\s\u00a0]*")
_TRAILING_DATE = re.compile(r"[（(]\s*\d{4}-\d{1,2}-\d{1,2}\s*[)）]\s*$")
_NAME_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_ANY_DATE = re.compile(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})")

_MARKUP_CHAR = re.compile(r"[<\[&*_`]")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->")
# A tag is "<name ...>" or "</name>" with an ASCII tag name; "<範例1>" or "<https://…>" are not.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>")
_LINK_TARGET = r"\(\s*(?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
_IMAGE = re.compile(r"!\[([^\]]*)\]" + _LINK_TARGET)
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]" + _LINK_TARGET)
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_CODE = re.compile(r"`([^`\n]+)`")


def strip_inline(text: str) -> str:
    """Remove HTML and Markdown inline markup; decode entities last."""
    if not _MARKUP_CHAR.search(text):
        return text  # most lines: plain speech, nothing to do (and parsing time halves)
    text = _COMMENT.sub("", _BR.sub("\n", text))
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _CODE.sub(r"\1", text)
    return html.unescape(text)


def _title_and_date(heading: str | None, name: str) -> tuple[str, str]:
    stem = re.sub(r"\.(md|markdown)$", "", name, flags=re.IGNORECASE)
    m = _NAME_DATE.match(stem)
    name_date = make_date(*map(int, m.groups())) if m else ""
    if heading is None:
        return _LEADING_DATE.sub("", stem.replace("-", " ")).strip() or stem, name_date
    heading = strip_inline(heading).strip()
    m = _TITLE_ISO.match(heading)  # before NBSP folding: "date<NBSP>title" is not this shape
    date = make_date(*map(int, m.groups())) if m else ""
    if not date:
        date = name_date
    if not date:
        m = _ANY_DATE.search(heading)
        date = make_date(*map(int, m.groups())) if m else ""
    heading = heading.replace("\u00a0", " ")
    title = _TRAILING_DATE.sub("", _LEADING_DATE.sub("", heading)).strip()
    if not title:
        title = _LEADING_DATE.sub("", stem.replace("-", " ")).strip() or stem
    return title, date


def _speaker_heading(level: int, content: str) -> tuple[str, str] | None:
    """(label, speech on the heading line) when the heading starts a turn, else None."""
    # Markup off first: "唐鳳：<p>" ends with a colon once its tag is gone.
    content = strip_inline(content).strip()
    has_colon = bool(_COLON_END.search(content))
    if level != 3 and not (level == 2 and has_colon):
        return None
    label = " ".join(_COLON_END.sub("", content).split())  # "唐鳳 " == "唐鳳"
    for colon in ("：", ":"):
        role, sep, rest = label.partition(colon)
        rest = rest.strip()
        if sep and role.strip() and rest and (len(rest) > 30 or _SPEECHY.search(rest)):
            return role.strip(), rest
    return label, ""


def parse(text: str, name: str) -> tuple[dict, list[tuple[str, str, str]]]:
    """Parse a Markdown transcript into (meeting fields, raw turns (label, section, text))."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    heading = None
    if start < len(lines):
        m = _HEADING.match(lines[start])
        if m and m.group(1) == "#":
            heading = m.group(2) or ""
            start += 1
    title, date = _title_and_date(heading, name)

    turns: list[tuple[str, str, str]] = []
    label: str | None = None  # None: before the first speaker heading
    section = ""
    body: list[str] = []

    def flush() -> None:
        if body and any(line.strip() for line in body):
            turns.append((label or "", section, "\n".join(body)))
        body.clear()

    for line in lines[start:]:
        if _QUOTE.match(line) or _THEMATIC_BREAK.match(line) or _CONTAINER_FENCE.match(line):
            continue
        m = _HEADING.match(line)
        if m:
            level, content = len(m.group(1)), (m.group(2) or "").strip()
            speaker = _speaker_heading(level, content)
            if speaker is not None:
                new_label, first_line = speaker
                # Same speaker again with nothing but context between: one turn continues.
                if not (label is not None and new_label == label):
                    flush()
                    label = new_label
                if first_line:
                    body.append(first_line)
            elif content:
                flush()
                section = strip_inline(content).strip()
            continue
        line = _STRAY_HASHES.sub("", line)
        body.append(strip_inline(line))
    flush()
    return {"title": title, "date": date}, turns
