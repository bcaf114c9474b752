"""Plain-text meeting records (會議紀錄 / 會談紀錄), as in corpus/000_c33521a9eed413fa.txt.

Shape of a file (tabs shown as ``⇥``)::

    臺北城市博覽會舞台活動                     <- title lines (joined with a space)
    智慧城市產業座談會
    會談紀錄
    日期⇥111年09月05日⇥時間⇥10:30               <- header table: key⇥value pairs
    地點⇥…⇥紀錄⇥…
    主席⇥…⇥府級長官⇥…
    與會人員/團體建議事項 (按提問時間序)⇥市府回應事項     <- column header (skipped)
    <p>一、question？</p>⇥<p>臺北市資訊局/呂新科局長：</p> <ol …> speech…
    臺灣智慧城市產業聯盟/井琪會長：             <- speaker line
    speech…

Vocabulary and choices:

- **header table**: rows of tab-separated key/value pairs (or ``key：value`` lines) with known
  keys: 日期, 時間, 地點, 紀錄, 主席 and variants. Other keys (府級長官, 出席人員…) are read
  and dropped. Dates may be ROC (111年09月05日, 民國111年9月5日, 111/09/05, 111.9.5) or
  Gregorian (2022-09-05, 2022年9月5日); times "10:30", "10時30分", "下午2時" → "HH:MM".
  With no date in the table, the file name, then the title, is searched for one.
- **title**: the non-empty lines before the header table, joined with a space, e.g.
  "臺北城市博覽會舞台活動 智慧城市產業座談會 會談紀錄" (the document type is kept: it is
  part of the title as printed); else a 會議名稱 row; else the file name without extension.
- **question**: a left-column cell of the two-column table, or a standalone numbered
  line that is a question (``一、…？``), a ``<p>`` cell, or a short heading (``壹、主席致詞``). It becomes the ``section`` of the turns that answer it, and is itself a turn
  with speaker "" so that its text is searchable.
- **speaker line**: a short paragraph ending in ``：`` (or ``:``), such as
  ``臺北市資訊局/呂新科局長：``, that does not start with a list marker (``3. 環保議題：``
  is speech, not a speaker).
- **page-break join**: a paragraph that ends without sentence-final punctuation, followed
  (across blank lines and cell boundaries) by a paragraph of the same turn that does not start
  with a list marker, is continued with no separator: ``…大數據歸納的知`` + ``識，希望…``.
"""

from __future__ import annotations

import html
import re

from .cleaning import make_date

_KEYS = {
    "date": ("日期", "會議日期", "開會日期"),
    "time": ("時間", "會議時間", "開會時間"),
    "location": ("地點", "會議地點", "開會地點"),
    "recorder": ("紀錄", "記錄", "紀錄人", "記錄人", "紀錄人員", "記錄人員"),
    "chair": ("主席", "主持人", "會議主席"),
    "title": ("會議名稱", "會議主題"),
}
_FIELD_OF_KEY = {key: field for field, keys in _KEYS.items() for key in keys}
_OTHER_KEYS = ("府級長官", "出席人員", "列席人員", "市府出席人員", "與會人員/團體", "與會人員",
               "出席者", "列席者", "請假人員", "單位", "主題")
_KV_LINE = re.compile(r"^\s*(" + "|".join(sorted((*_FIELD_OF_KEY, *_OTHER_KEYS), key=len,
                                                 reverse=True)) + r")\s*[：:]\s*(.*)$")

_ROC_DATE = re.compile(r"(?:民國\s*)?(\d{2,4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"
                       r"|[-/.](\d{1,2})[-/.](\d{1,2}))")
_CLOCK = re.compile(r"(上午|下午|晚上|中午)?\s*(\d{1,2})\s*(?:[:：]\s*(\d{2})|時\s*(?:(\d{1,2})\s*分)?)")
_NAME_DATE = re.compile(r"(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})")

# Block-level tags end a paragraph; any other tag is dropped.
_BLOCK_TAG = re.compile(r"<\s*(?:br\s*/?|/?\s*(?:p|ol|ul|li|div|tr|td|table|h\d)(?:\s[^<>]*)?)\s*>",
                        re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")

_QUESTION = re.compile(r"^[一二三四五六七八九十百壹貳參肆伍陸柒捌玖拾]{1,3}\s*[、．.]")
_LIST_MARKER = re.compile(r"^(?:[-•‧●○◎■□▪*]\s|[（(]?\s*\d{1,3}\s*[.．、)）]|[（(][一二三四五六七八九十]+[)）]"
                          r"|[一二三四五六七八九十]{1,3}\s*[、．]|[A-Za-z][.)]\s)")
_SPEAKER = re.compile(r"^(?P<label>[^：:。，、！？；!?,;]{1,40}?)\s*[：:]$")
# "說明如下：" introduces a list; it is speech, not a speaker.
_LEAD_IN = re.compile(r"(?:如下|以下|如次|下列|包括|包含|例如|比如|分別為|議題|事項)$")
_SENTENCE_END = tuple("。！？!?」』）)；;:：….．”\"》】")


def parse_date(text: str) -> str:
    """First date in ``text`` as ISO (ROC years below 1000 get +1911); "" if none."""
    for m in _ROC_DATE.finditer(text):
        year = int(m.group(1))
        month, day = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        date = make_date(year, int(month), int(day))
        if date:
            return date
    return ""


def parse_time(text: str) -> str:
    """First clock time in ``text`` as "HH:MM" (上午/下午 honoured); "" if none."""
    # Drop dates first, so that "111年09月05日 10時" does not read "05日 10" oddly.
    text = _ROC_DATE.sub(" ", text)
    for m in _CLOCK.finditer(text):
        hour = int(m.group(2))
        minute = int(m.group(3) or m.group(4) or 0)
        if m.group(1) in ("下午", "晚上") and hour < 12:
            hour += 12
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    return ""


def _header_pairs(line: str) -> list[tuple[str, str]] | None:
    """Key/value pairs when ``line`` is a header-table row, else None."""
    m = _KV_LINE.match(line)
    if m and "\t" not in line and m.group(2).strip():  # "主席：" alone is a speaker line
        return [(m.group(1), m.group(2).strip())]
    cells = [cell.strip() for cell in line.split("\t")]
    key = cells[0].rstrip("：:").strip()
    if len(cells) < 2:
        return None
    if key not in _FIELD_OF_KEY and key not in _OTHER_KEYS:
        # Unknown keys are accepted only inside the table (caller checks): short, no markup.
        if len(key) > 10 or not key or "<" in line or "。" in line:
            return None
        return [("", "")]
    return [(cells[i].rstrip("：:").strip(), cells[i + 1] if i + 1 < len(cells) else "")
            for i in range(0, len(cells), 2)]


def _paragraphs(cell: str) -> list[str]:
    """Paragraphs of one cell: split at block tags and line breaks, other tags removed."""
    cell = _TAG.sub("", _BLOCK_TAG.sub("\n", cell))
    return [p.strip() for p in html.unescape(cell).split("\n") if p.strip()]


def is_speaker(paragraph: str) -> str | None:
    """The label when ``paragraph`` is a speaker line (``臺北市資訊局/呂新科局長：``), else None."""
    m = _SPEAKER.match(paragraph)
    if (m and not _LIST_MARKER.match(paragraph) and not _QUESTION.match(paragraph)
            and not _LEAD_IN.search(m.group("label"))):
        return m.group("label").strip()
    return None


def is_heading(paragraph: str, cell: str) -> bool:
    """A numbered question or agenda item outside the table: ``一、…？``, ``<p>二、…</p>``
    or a short ``壹、主席致詞`` (numbered points of a speech are long and end with 。)."""
    if not _QUESTION.match(paragraph):
        return False
    return (cell.lstrip().startswith("<p>") or paragraph.endswith(("？", "?"))
            or (len(paragraph) <= 40 and not paragraph.endswith(_SENTENCE_END[:5])))


def _is_column_header(line: str) -> bool:
    """``與會人員/團體建議事項 (按提問時間序)⇥市府回應事項``: short cells, no markup, no prose."""
    cells = [c.strip() for c in line.split("\t") if c.strip()]
    return (len(cells) >= 2 and "<" not in line and "。" not in line
            and all(len(c) <= 40 and not c.endswith(("：", ":")) for c in cells))


def split_header(lines: list[str]) -> tuple[list[str], dict, int, bool]:
    """Title lines, header fields, index of the first body line, and whether the body is a
    two-column table (a column header row, or a first row of ``<p>`` cells)."""
    title: list[str] = []
    fields: dict[str, str] = {}
    seen_header = False
    i = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        pairs = _header_pairs(line)
        if pairs == [("", "")] and not seen_header:
            pairs = None  # an unknown key before any known one: not the header table
        if pairs is not None:
            seen_header = True
            for key, value in pairs:
                field = _FIELD_OF_KEY.get(key)
                if field and value.strip() and field not in fields:
                    fields[field] = value.strip()
            continue
        stripped = line.strip()
        if (not seen_header and len(title) < 6 and "\t" not in line and "<" not in line
                and len(stripped) <= 60 and not stripped.endswith(_SENTENCE_END[:5])
                and is_speaker(stripped) is None and not _QUESTION.match(stripped)):
            title.append(stripped)
            continue
        if _is_column_header(line):
            return title, fields, i + 1, True
        return title, fields, i, "<p>" in line and "\t" in line
    else:
        return title, fields, len(lines), False


class TurnCollector:
    """Collects raw turns; knows the current speaker, section, last paragraph and page.

    ``join_breaks`` applies the page-break join to consecutive speech paragraphs (text records
    and PDFs, whose paragraphs may be pieces of one broken by a page); ``joiner`` joins them
    (plain concatenation for text records, as written; documents join Latin words with a space).
    """

    def __init__(self, join_breaks: bool = True, joiner=None) -> None:
        self.turns: list[tuple[str, str, str, int | None]] = []
        self.label = ""
        self.section = ""
        self.paragraphs: list[str] = []
        self.page: int | None = None
        self.join_breaks = join_breaks
        self.joiner = joiner or str.__add__

    def flush(self) -> None:
        if self.paragraphs:
            self.turns.append((self.label, self.section, "\n".join(self.paragraphs), self.page))
        self.paragraphs = []
        self.page = None

    def question(self, text: str, page: int | None = None) -> None:
        self.flush()
        self.label, self.section = "", text
        self.turns.append(("", text, text, page))

    def heading(self, text: str) -> None:
        """A section heading that is not itself speech (documents' headings)."""
        self.flush()
        self.section = text

    def speaker(self, label: str, page: int | None = None) -> None:
        self.flush()
        self.label = label
        self.page = page

    def speech(self, text: str, page: int | None = None, join: bool | None = None) -> None:
        last = self.paragraphs[-1] if self.paragraphs else ""
        if self.page is None:
            self.page = page
        if join is None:
            join = self.join_breaks
        if join and last and not last.endswith(_SENTENCE_END) and not _LIST_MARKER.match(text):
            self.paragraphs[-1] = self.joiner(last, text)  # a word broken across a page break
        else:
            self.paragraphs.append(text)


def parse(text: str, name: str) -> tuple[dict, list[tuple[str, str, str]]]:
    """Parse a plain-text record into (meeting fields, raw turns (label, section, text))."""
    lines = text.split("\n")
    title_lines, header, body_start, table = split_header(lines)
    collector = TurnCollector()
    for line in lines[body_start:]:
        if not line.strip():
            continue
        left, tab, right = line.partition("\t")
        if tab and (table or "<p>" in left or _QUESTION.match(left.strip())):
            cells = [(left, True), (right.replace("\t", " "), False)]
        else:
            cells = [(line.replace("\t", " "), False)]  # a tab inside prose
        for cell, is_left in cells:
            for paragraph in _paragraphs(cell):
                label = is_speaker(paragraph)
                if is_left or (label is None and is_heading(paragraph, cell)):
                    collector.question(paragraph)
                elif label is not None:
                    collector.speaker(label)
                else:
                    collector.speech(paragraph)
    collector.flush()
    return meeting_fields(title_lines, header, name), [turn[:3] for turn in collector.turns]


def meeting_fields(title_lines: list[str], header: dict, name: str, fallback_title: str = "") -> dict:
    """Title, date, time, location, chair and recorder from the title lines and header table.

    The title is the title lines, else the 會議名稱 row, else ``fallback_title`` (a document's
    metadata title), else the file name without its extension. The date comes from the header,
    else the file name, else the title.
    """
    title = (" ".join(title_lines) or header.get("title", "") or fallback_title
             or re.sub(r"\.[A-Za-z0-9]{1,8}$", "", name))
    raw_date = header.get("date", "")
    date = (parse_date(raw_date) or parse_date(header.get("time", ""))
            or _name_date(name) or parse_date(title))
    time = parse_time(header.get("time", "")) or parse_time(raw_date)
    return {"title": title, "date": date, "time": time,
            "location": header.get("location", ""), "chair": header.get("chair", ""),
            "recorder": header.get("recorder", "")}


def _name_date(name: str) -> str:
    m = _NAME_DATE.search(name)
    return make_date(*map(int, m.groups())) if m else parse_date(name)
