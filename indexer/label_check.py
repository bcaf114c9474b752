"""Measuring the label → person mapping against a hand-checked list of labels.

Vocabulary
----------
checked label
    One row of a hand-checked list (:class:`CheckedLabel`), a UTF-8 TSV file with a header:
    ``label``, ``person`` (who the record says it is; empty: nobody, or the record does not say),
    ``organisation`` and ``title`` (what the reader should read; ``-`` for nothing, empty for not
    checked), ``meeting`` (where it was checked), ``meeting_title``, ``chair`` (the header's chair)
    and ``other_labels`` (``;``-separated: the meeting's other labels, for labels whose person
    depends on their meeting), and ``comment``. The project's list is
    ``tests/data/speaker_labels.tsv``.
precision, recall
    Over the rows: a row is a true positive when the mapping names the expected person, a false
    positive when it names a person and the expected one is another or nobody, a false negative
    when an expected person is not named. Precision is TP / (TP + FP), recall TP / (TP + FN).

Each row is mapped on its own, as a meeting holding its label and its ``other_labels`` with its
``chair`` and ``meeting_title``, so the list needs no index.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .people import MeetingFacts, PersonDirectory, PersonList, person_key

__all__ = ["CheckedLabel", "MappingScore", "load_checked_labels", "score_mapping"]

_COLUMNS = ("label", "person", "organisation", "title", "meeting", "meeting_title", "chair", "other_labels",
            "comment")


@dataclass(frozen=True)
class CheckedLabel:
    label: str
    person: str
    organisation: str
    title: str
    meeting: str
    meeting_title: str
    chair: str
    other_labels: tuple[str, ...]
    comment: str


@dataclass
class MappingScore:
    """How the mapping did on a list: counts, precision, recall, and the rows it got wrong."""

    rows: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    mistakes: list[tuple[CheckedLabel, str]] = field(default_factory=list)  # (row, person named)

    @property
    def precision(self) -> float:
        named = self.true_positives + self.false_positives
        return self.true_positives / named if named else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def load_checked_labels(path: str | Path) -> list[CheckedLabel]:
    """The rows of a hand-checked list (raises ValueError naming the file for a wrong header)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ValueError(f"{path}: the header must be {' '.join(_COLUMNS)}")
        return [
            CheckedLabel(
                **{key: row[key] or "" for key in _COLUMNS if key != "other_labels"},
                other_labels=tuple(x for x in (row["other_labels"] or "").split(";") if x),
            )
            for row in reader
        ]


def map_checked_label(row: CheckedLabel, person_list: PersonList) -> str:
    """The person the mapping gives ``row``'s label in its meeting ("" for nobody)."""
    labels = (row.label, *row.other_labels)
    facts = MeetingFacts(labels, row.chair, row.meeting_title)
    directory = PersonDirectory(person_list, lambda _: facts)
    return directory.person_of(row.label, "meeting")


def score_mapping(rows: list[CheckedLabel], person_list: PersonList) -> MappingScore:
    """Precision and recall of the mapping (with ``person_list``) on ``rows``."""
    score = MappingScore(rows=len(rows))
    for row in rows:
        got = map_checked_label(row, person_list)
        expected = row.person
        if got and person_key(got) == person_key(expected):
            score.true_positives += 1
            continue
        if got:
            score.false_positives += 1
        if expected:
            score.false_negatives += 1
        if not got and not expected:
            score.true_negatives += 1
        else:
            score.mistakes.append((row, got))
    return score
