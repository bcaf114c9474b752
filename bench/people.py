"""Persons behind speaker labels: how well labels map to persons, how many there are, and what
the person views cost.

- The mapping is scored on the hand-checked list ``tests/data/speaker_labels.tsv``
  (:mod:`indexer.label_check`), with the bundled person list and with the reader alone.
- Persons and labels are counted on the benchmark's index (the corpus of the run).
- Timings run in the harness process on a newly opened engine, so that each first call pays
  what a server's first request pays: reading every label for a ``speaker:`` filter, one pass
  over the turns for the list of persons, segmenting a person's turns for their phrases.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from .measure import REPO

CHECKED_LABELS = REPO / "tests" / "data" / "speaker_labels.tsv"
SPEAKER_QUERY = ("淨零排碳", "吳銘軒")  # a term and a person written three ways in the corpus


@dataclass
class MappingNumbers:
    rows: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    mistakes: list[str] = field(default_factory=list)


@dataclass
class PeopleResult:
    mapping: MappingNumbers  # the reader with the bundled person list
    reader_only: MappingNumbers  # the reader with an empty person list
    labels: int  # distinct speaker labels of the index (labels that fold alike once)
    persons: int
    kinds: dict[str, int]  # label readings by kind
    timings: dict[str, float]  # what -> seconds
    top_person: str = ""


def _numbers(score) -> MappingNumbers:
    return MappingNumbers(score.rows, score.true_positives, score.false_positives, score.false_negatives,
                          score.precision, score.recall,
                          [f"{row.label}: expected {row.person or 'nobody'}, got {got or 'nobody'}"
                           for row, got in score.mistakes])


def _timed(timings: dict[str, float], what: str, call):
    started = time.perf_counter()
    value = call()
    timings[what] = time.perf_counter() - started
    return value


def measure_people(index_dir: str) -> PeopleResult:
    from indexer.label_check import load_checked_labels, score_mapping
    from indexer.people import PersonList, load_person_list
    from indexer.person_views import person_page, person_summaries
    from indexer.search import SearchEngine
    from indexer.labels import read_label

    rows = load_checked_labels(CHECKED_LABELS)
    mapping = _numbers(score_mapping(rows, load_person_list()))
    reader_only = _numbers(score_mapping(rows, PersonList({}, "none")))
    timings: dict[str, float] = {}
    engine = _timed(timings, "open the index", lambda: SearchEngine(index_dir))
    try:
        term, person = SPEAKER_QUERY
        _timed(timings, f"search {term} (the first, persons of its hits)", lambda: engine.search(term))
        _timed(timings, f"search {term} --speaker {person} (first: every label read)",
               lambda: engine.search(term, speaker=person))
        _timed(timings, f"search {term} --speaker {person} (again, other page)",
               lambda: engine.search(term, speaker=person, limit=5))
        summaries = _timed(timings, "civic-search people: every person (one pass over the turns)",
                           lambda: person_summaries(engine))
        top = summaries[0].person if summaries else ""
        if top:
            _timed(timings, f"person page of {top} ({summaries[0].turns} turns, with phrases)",
                   lambda: person_page(engine, top))
        labels = engine.snapshot().label_counts()
        kinds = Counter(read_label(label).kind for label in labels)
    finally:
        engine.close()
    return PeopleResult(mapping, reader_only, len(labels), len(summaries), dict(kinds), timings, top)
