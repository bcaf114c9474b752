"""Research views of persons: every person of an index, and one person's page.

Vocabulary
----------
person summary
    One person (:class:`PersonSummary`): the labels they spoke as (with turns), the
    organisations and titles those labels give, their turns, meetings, first and last date.
person page
    One person in full (:class:`PersonPage`): the summary, turns and meetings per year, every
    meeting they spoke in, a page of their turns, and the phrases they said most often.
phrase
    A jieba word (the words field's segmentation) of at least two characters with a letter or
    an ideograph in it (a Latin word: three letters; ``AI`` would be counted inside ``said``). A person's phrases are ranked by how often they said it times how rare
    it is in the whole index: ``occurrences × log(N / df)``, where ``df`` is the number of turns
    of the index having it as a word and ``N`` the number of turns; words found in more than
    2% of all turns (我們, 這個) are left out as saying nothing about anyone. Candidates are the
    :data:`PHRASE_POOL` words the person said most often (in an evenly spread part of their turns,
    :data:`PHRASE_SAMPLE_CHARS` characters, for the few who said more); every count shown is exact: occurrences as
    ``str.count`` counts them in the folded texts of all their turns (as ``kwic`` counts), and
    turns holding them.

Persons come from :class:`~indexer.people.PersonDirectory`; the turn lists here are computed once
per index generation and person list.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field

from typing import TYPE_CHECKING

from .analysis import Segmenter, load_segmenter, segment_word_pairs
from .errors import PersonNotFound
from .export import meeting_link
from .people import PersonDirectory, person_key
from .results import PeriodCount
from .tally import PersonTurns, person_turns

if TYPE_CHECKING:  # only for type hints: the search engine imports this module
    from .search import SearchEngine
    from .snapshot import Snapshot

_lock = threading.Lock()
PHRASE_SAMPLE_CHARS = 100_000
PHRASE_POOL = 400
PHRASE_CANDIDATES = 80
PHRASES_SHOWN = 20
COMMON_WORD_SHARE = 0.02
MIN_COMMON_DF = 50
TURNS_PER_PAGE = 20
_CACHE_SIZE = 32

__all__ = [
    "PersonPage",
    "PersonSummary",
    "person_page",
    "person_summaries",
    "people_object",
    "people_csv_rows",
    "PEOPLE_COLUMNS",
]


@dataclass
class PersonSummary:
    """One person: how they were labelled and how much they said, when."""

    person: str
    turns: int
    meetings: int
    first_date: str
    last_date: str
    labels: list[dict] = field(default_factory=list)  # [{"label", "turns"}], most turns first
    organisations: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The person's object in ``civic-search people --json`` and ``/api/people``."""
        return asdict(self)


@dataclass
class PersonPage:
    """Everything the person page shows (``to_dict`` is ``/api/people/<name>``)."""

    summary: PersonSummary
    timeline: list[dict]  # [{"period", "turns", "meetings"}], every year from first to last
    phrases: list[dict]  # [{"phrase", "occurrences", "turns"}]
    meeting_list: list[dict]  # [{"meeting_id", "title", "date", "turns", "link"}], newest first
    turn_list: list[dict]  # one page: [{"meeting_id", "title", "date", "turn", "speaker", "text", "link"}]
    page: int
    pages: int
    months: list[PeriodCount] = field(default_factory=list, repr=False)  # for charts, not in to_dict

    def by_period(self, by: str = "year") -> list[PeriodCount]:
        """Turns and meetings per year or month with turns (the shape ``ResultSet.by_period`` has)."""
        if by == "month":
            return self.months
        return [PeriodCount(p["period"], p["turns"], p["meetings"], 0) for p in self.timeline if p["turns"]]

    def to_dict(self) -> dict:
        """The object of ``/api/people/<name>``: the summary's fields, then the page's."""
        return {
            **self.summary.to_dict(),
            "timeline": self.timeline,
            "phrases": self.phrases,
            "meeting_list": self.meeting_list,
            "page": self.page,
            "pages": self.pages,
            "turn_list": self.turn_list,
        }


def _summary(snap: "Snapshot", people: PersonDirectory, entry: PersonTurns) -> PersonSummary:
    dates = [d for d in (snap.meetings.get(snap.meeting_ids[g], ("", "", ""))[1] for g in entry.docs) if d]
    labels = sorted(entry.labels.items(), key=lambda kv: (-kv[1], kv[0]))
    organisations: list[str] = []
    titles: list[str] = []
    for label, _ in labels:
        reading = people.label(label).reading
        if reading.organisation and reading.organisation not in organisations:
            organisations.append(reading.organisation)
        if reading.title and reading.title not in titles:
            titles.append(reading.title)
    return PersonSummary(
        person=entry.name,
        turns=len(entry.docs),
        meetings=len({snap.meeting_ids[g] for g in entry.docs}),
        first_date=min(dates, default=""),
        last_date=max(dates, default=""),
        labels=[{"label": label, "turns": n} for label, n in labels],
        organisations=organisations,
        titles=titles,
    )


def person_summaries(engine: "SearchEngine", name: str = "") -> list[PersonSummary]:
    """Every person of the index (those whose name contains ``name``, when given), most turns
    first, then by name."""
    snap = engine.snapshot()
    people = snap.people(engine.person_list())
    turns = person_turns(snap, people)
    wanted = person_key(name.strip())
    summaries = [_summary(snap, people, entry) for key, entry in turns.items() if wanted in key]
    return sorted(summaries, key=lambda s: (-s.turns, s.person))


#: The columns of ``civic-search people --csv``; lists are joined with " | ", labels with their turns.
PEOPLE_COLUMNS = ("person", "turns", "meetings", "first_date", "last_date", "labels", "organisations", "titles")


def people_csv_rows(summaries: list[PersonSummary]) -> list[dict]:
    """One CSV row per person (``labels``: ``唐鳳 (44768) | 唐鳳召集人 (249)``)."""
    return [
        {
            **s.to_dict(),
            "labels": " | ".join(f"{entry['label']} ({entry['turns']})" for entry in s.labels),
            "organisations": " | ".join(s.organisations),
            "titles": " | ".join(s.titles),
        }
        for s in summaries
    ]


def people_object(engine: "SearchEngine", summaries: list[PersonSummary], limit: int = 0) -> dict:
    """The JSON object of ``civic-search people --json`` and ``/api/people``: how many persons
    (of those asked for) and distinct labels the index has, and the first ``limit`` (0: all)."""
    shown = summaries[:limit] if limit else summaries
    return {
        "persons": len(summaries),
        "labels": len(engine.snapshot().label_counts()),
        "people": [s.to_dict() for s in shown],
    }


# --- one person ----------------------------------------------------------------------------------


def person_page(engine: "SearchEngine", name: str, *, page: int = 1, per_page: int = TURNS_PER_PAGE, base_url: str = "") -> PersonPage:
    """The page of the person called ``name`` (compared as a person key: 臺/台, case and spaces
    alike); raises :class:`PersonNotFound`. ``page`` pages through their turns, newest first."""
    snap = engine.snapshot()
    people = snap.people(engine.person_list())
    entry = person_turns(snap, people).get(person_key(name.strip()))
    if entry is None or not name.strip():
        raise PersonNotFound(f"no person called '{name}' in the index")
    summary = _summary(snap, people, entry)
    docs = sorted(entry.docs, key=lambda g: (snap.meeting_rank.get(snap.meeting_ids[g], len(snap.meeting_rank)),
                                             snap.turns[g]))
    pages = max(1, -(-len(docs) // per_page))
    page = min(max(1, page), pages)
    turn_list = []
    for g in docs[(page - 1) * per_page : page * per_page]:
        mid = snap.meeting_ids[g]
        title, date, _ = snap.meetings.get(mid, ("", "", ""))
        turn_list.append({"meeting_id": mid, "title": title, "date": date, "turn": snap.turns[g],
                          "speaker": snap.speakers[g], "text": snap.text(g),
                          "link": meeting_link(base_url, mid, "", snap.turns[g])})
    return PersonPage(summary, _timeline(snap, docs), phrases(engine, summary.person, entry.docs),
                      _meetings(snap, docs, base_url), turn_list, page, pages, _periods(snap, docs, 7))


def _periods(snap: "Snapshot", docs: list[int], width: int) -> list[PeriodCount]:
    """Turns and meetings per period (the first ``width`` characters of the date: 4 for years,
    7 for months), periods with turns only, in order; ``unknown`` last."""
    turns: Counter[str] = Counter()
    meetings: dict[str, set[str]] = {}
    for g in docs:
        mid = snap.meeting_ids[g]
        period = snap.meetings.get(mid, ("", "", ""))[1][:width] or "unknown"
        turns[period] += 1
        meetings.setdefault(period, set()).add(mid)
    order = sorted(turns, key=lambda p: (p == "unknown", p))
    return [PeriodCount(p, turns[p], len(meetings[p]), 0) for p in order]


def _timeline(snap: "Snapshot", docs: list[int]) -> list[dict]:
    found = {p.period: p for p in _periods(snap, docs, 4)}
    years = sorted(y for y in found if y != "unknown")
    out = []
    if years:
        for year in range(int(years[0]), int(years[-1]) + 1):
            entry = found.get(f"{year:04d}")
            out.append({"period": f"{year:04d}", "turns": entry.turns if entry else 0,
                        "meetings": entry.meetings if entry else 0})
    if "unknown" in found:
        out.append({"period": "unknown", "turns": found["unknown"].turns, "meetings": found["unknown"].meetings})
    return out


def _meetings(snap: "Snapshot", docs: list[int], base_url: str) -> list[dict]:
    first: dict[str, int] = {}
    counts: Counter[str] = Counter()
    for g in docs:  # newest meeting first, turns in order: the first seen is the first spoken
        mid = snap.meeting_ids[g]
        counts[mid] += 1
        first.setdefault(mid, snap.turns[g])
    out = []
    for mid, turn in first.items():
        title, date, _ = snap.meetings.get(mid, ("", "", ""))
        out.append({"meeting_id": mid, "title": title, "date": date, "turns": counts[mid],
                    "link": meeting_link(base_url, mid, "", turn)})
    return out


# --- phrases -------------------------------------------------------------------------------------

_phrase_cache: OrderedDict[tuple, list[dict]] = OrderedDict()


def phrases(engine: "SearchEngine", person: str, docs: list[int], shown: int = PHRASES_SHOWN) -> list[dict]:
    """The phrases ``person`` said most often, distinctive ones first (see the module docstring):
    ``[{"phrase", "occurrences", "turns"}]``, each count exact over ``docs`` (their turns)."""
    snap = engine.snapshot()
    key = (str(snap.index_dir), snap.generation, engine.person_list().version, person_key(person), shown)
    with _lock:
        cached = _phrase_cache.get(key)
    if cached is not None:
        return cached
    total = max(len(snap.live), 1)
    common = max(MIN_COMMON_DF, COMMON_WORD_SHARE * total)
    # The segmenter of the index's words field, user dictionaries included: the same words.
    segmenter = load_segmenter(engine.settings.analysis.user_dictionaries)
    sampled, spellings = _sample_words(snap, docs, segmenter)
    scored = []
    for folded, count in sampled.most_common(PHRASE_POOL):
        df = snap.doc_frequency("words", folded)
        if 0 < df <= common:
            scored.append((count * math.log(total / df), folded, df))
    scored.sort(key=lambda item: (-item[0], item[1]))
    restrict = set(docs)
    out = []
    for _, folded, df in scored[:PHRASE_CANDIDATES]:
        found = snap.match_text(folded, restrict)
        occurrences = sum(found.values())
        if occurrences:
            written = spellings[folded].most_common(1)[0][0]
            out.append((occurrences * math.log(total / df), written, occurrences, len(found)))
    out.sort(key=lambda item: (-item[0], item[1]))
    result = [{"phrase": w, "occurrences": n, "turns": t} for _, w, n, t in out[:shown]]
    with _lock:
        _phrase_cache[key] = result
        while len(_phrase_cache) > _CACHE_SIZE:
            _phrase_cache.popitem(last=False)
    return result


def _phrase_like(folded: str) -> bool:
    """Two characters or more with a letter or ideograph; a Latin word needs three letters, since
    a term is counted wherever it occurs (``po`` is in every ``policy``)."""
    if len(folded) < 2 or not any(c.isalpha() for c in folded):
        return False
    return len(folded) >= 3 or not folded.isascii()


def _sample_words(snap: "Snapshot", docs: list[int],
                  segmenter: Segmenter) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Word counts (folded) in an evenly spread part of ``docs`` of at most PHRASE_SAMPLE_CHARS
    characters, and how each word is written."""
    size = sum(snap.lengths[g] for g in docs) or 1
    step = max(1, math.ceil(size / PHRASE_SAMPLE_CHARS))
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for g in docs[::step]:
        for written, folded in segment_word_pairs(snap.text(g), segmenter):
            if _phrase_like(folded):
                counts[folded] += 1
                spellings.setdefault(folded, Counter())[written] += 1
    return counts, spellings
