"""Result records returned by the search API (plain dataclasses; front ends format them).

Vocabulary
----------
hit
    A turn that matches the query: meeting id, turn ordinal, meeting title and date, speaker
    (the label as written), the person behind it ("" when the label names nobody; see
    :mod:`indexer.people`), relevance score, snippet and source path; for a paged format (PDF)
    also the page the turn starts on (``page``, 1-based; None, and absent from JSON, for other
    formats).
snippet
    HTML-escaped original text around the first match, each match of a query term (the whole
    term, never stray characters) wrapped in ``<mark>``.
occurrence
    One match of a query term inside a turn, with left and right context as plain text
    (keyword in context). A turn that says a phrase three times has three occurrences.
group
    The hits of one meeting, for results grouped by meeting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Hit:
    """One matching turn."""

    meeting_id: str
    turn: int
    title: str
    date: str
    speaker: str
    person: str
    score: float
    snippet: str
    source: str
    page: int | None = None

    def to_dict(self) -> dict:
        """The hit's object in ``search --json`` and ``/api/search`` (``page`` only where known)."""
        return without_unknown_page(asdict(self))


def without_unknown_page(row: dict) -> dict:
    """``row`` without its ``page`` key when the page is unknown (formats without pages)."""
    if row.get("page") is None:
        row.pop("page", None)
    return row


@dataclass
class SearchPage:
    """One page of hits with exact totals: ``total`` turns in ``meetings`` meetings."""

    query: str
    total: int
    meetings: int
    page: int
    limit: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages of ``limit`` hits the total fills (1 when ``limit`` is 0: all)."""
        return max(1, -(-self.total // self.limit)) if self.limit else 1

    def to_dict(self) -> dict:
        """The object ``civic-search search --json`` prints and ``/api/search`` returns."""
        return {
            "query": self.query,
            "total": self.total,
            "meetings": self.meetings,
            "page": self.page,
            "limit": self.limit,
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass
class MeetingGroup:
    """The hits of one meeting: how many, and the best few."""

    meeting_id: str
    title: str
    date: str
    source: str
    count: int
    hits: list[Hit]


@dataclass
class GroupedPage:
    """One page of meetings (``limit`` per page), each with its best hits."""

    query: str
    total: int
    meetings: int
    page: int
    limit: int
    groups: list[MeetingGroup] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """How many pages of ``limit`` meetings there are (1 when ``limit`` is 0: all)."""
        return max(1, -(-self.meetings // self.limit)) if self.limit else 1


@dataclass
class Occurrence:
    """One match in context (keyword in context)."""

    meeting_id: str
    title: str
    date: str
    speaker: str
    person: str
    turn: int
    left: str
    match: str
    right: str
    source: str
    page: int | None = None

    def to_dict(self) -> dict:
        """All fields as a dict, ``page`` only where known (see :func:`indexer.export.row` for the
        CSV/KWIC row)."""
        return without_unknown_page(asdict(self))


@dataclass
class PeriodCount:
    """Matches in one period (a year ``2022`` or a month ``2022-09``)."""

    period: str
    turns: int
    meetings: int
    occurrences: int


@dataclass
class SpeakerCount:
    """Matches by one person (all the labels that name them), or by one label that names nobody.

    ``speaker`` is the person's name, or the label; ``labels`` lists the labels as written with
    their matching turns, most first.
    """

    speaker: str
    speaker_name: str
    organisation: str
    turns: int
    meetings: int
    occurrences: int
    first_date: str
    last_date: str
    person: str = ""
    labels: list[dict] = field(default_factory=list)


@dataclass
class TurnRecord:
    """One turn of a meeting as indexed: its number, speaker label (and its name and
    organisation where they can be split), section heading, text as written, and the person who
    spoke it ("" when unknown; see :mod:`indexer.people`)."""

    turn: int
    speaker: str
    speaker_name: str
    organisation: str
    section: str
    text: str
    person: str = ""
    page: int | None = None


@dataclass
class MeetingRecord:
    """A whole meeting, for ``show`` and the meeting page."""

    meeting_id: str
    title: str
    date: str
    time: str
    location: str
    chair: str
    recorder: str
    source: str
    turns: list[TurnRecord]
    format: str = ""

    @property
    def file_name(self) -> str:
        """The source file's name without its folders (what pages show)."""
        return self.source.replace("\\", "/").rsplit("/", 1)[-1]

    def to_dict(self) -> dict:
        """The object ``civic-search show --json`` prints and ``/api/meetings/<id>`` returns."""
        return {
            "meeting_id": self.meeting_id,
            "title": self.title,
            "date": self.date,
            "time": self.time,
            "location": self.location,
            "chair": self.chair,
            "recorder": self.recorder,
            "source": self.source,
            "format": self.format,
            "turns": [without_unknown_page({"turn": t.turn, "speaker": t.speaker, "person": t.person,
                                            "section": t.section, "text": t.text, "page": t.page})
                      for t in self.turns],
        }

    def speaker_turns(self) -> dict[str, int]:
        """Turns per speaker label, in order of first appearance (turns without a label left out)."""
        counts: dict[str, int] = {}
        for turn in self.turns:
            if turn.speaker:
                counts[turn.speaker] = counts.get(turn.speaker, 0) + 1
        return counts


#: Media types of the original files, by the kind they were read as.
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "odt": "application/vnd.oasis.opendocument.text",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "html": "text/html",
    "md": "text/markdown",
    "txt": "text/plain",
}


@dataclass
class SourceFile:
    """The original file of an indexed meeting: its bytes, checked against the content hash
    recorded when it was indexed (read once, so what is checked is what is served)."""

    meeting_id: str
    name: str  # the file name as indexed, without folders
    format: str
    data: bytes = field(repr=False)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.format, "application/octet-stream")


@dataclass
class IndexStats:
    """What an index holds."""

    index_dir: str
    meetings: int
    turns: int
    speakers: int
    persons: int
    first_date: str
    last_date: str
    segments: int
    size_bytes: int
    generation: int

    def to_dict(self) -> dict:
        """All fields as a dict (``civic-search stats --json`` adds ``alias_version`` and
        ``people_version``)."""
        return asdict(self)
