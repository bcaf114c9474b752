"""Turns by who spoke them: the matching turns of a query for the speakers ranking and the search
facets, and every turn of the index by person for the list of persons and their pages.

A *tally* counts the matching turns of one person (every label that names them) or of one label
that names nobody: turns, meetings, occurrences of the query terms, first and last date, and the
labels as written with their turns. Both are computed on the snapshot's arrays
(:class:`~indexer.snapshot.PersonColumn`): at ×16 a common term matches a million turns.
:func:`person_turns` lists each person's turns once per index generation and person list.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .docsets import distinct
from .labels import split_speaker
from .people import PersonDirectory
from .results import SpeakerCount
from .snapshot import Snapshot

_lock = threading.Lock()


def speaker_counts(snap: Snapshot, people: PersonDirectory | None, docs: np.ndarray,
                   occurrences: np.ndarray) -> "SpeakerRanking":
    """Who said it, over sorted matching ``docs`` (with each one's ``occurrences``): one row per
    person (with every label that names them) and one per label that names nobody, ranked by
    occurrences, then turns, then name (the person, else the label)."""
    labels = snap.speaker_of[docs].astype(np.int64)
    column = snap.persons(people) if people is not None else None
    persons = column.person_of(docs) if column is not None else np.full(len(docs), -1, np.int64)
    # A group per person, then one per label of the turns that name nobody.
    offset = len(column.keys) if column is not None else 0
    groups = np.where(persons >= 0, persons, offset + labels)
    size = offset + max(len(snap.labels), 1)
    turns = np.bincount(groups, minlength=size)
    found = np.flatnonzero(turns)
    occurred = np.bincount(groups, weights=occurrences, minlength=size) if len(docs) else turns * 0
    slots = snap.meeting_of[docs].astype(np.int64)
    width = max(len(snap.slots), 1)
    pair_group, pair_slot = np.divmod(distinct(groups * width + slots), width)
    meetings = np.bincount(pair_group, minlength=size)
    dates, date_rank = snap.date_ranks
    ranked = date_rank[pair_slot]
    dated = ranked >= 0
    first = np.full(size, len(dates), np.int64)
    last = np.full(size, -1, np.int64)
    np.minimum.at(first, pair_group[dated], ranked[dated])
    np.maximum.at(last, pair_group[dated], ranked[dated])
    # The first matching turn of each group names it (and gives a person's name as resolved).
    earliest = np.full(size, len(docs), np.int64)
    np.minimum.at(earliest, groups, np.arange(len(docs)))
    at = earliest[found]
    names = [column.names[n] for n in column.name_of[docs[at[found < offset]]].tolist()] if offset else []
    persons_shown = dict(zip(found[found < offset].tolist(), names))
    first_labels = labels[at].tolist()
    rows = [(persons_shown.get(group, ""), snap.labels[label], group)
            for group, label in zip(found.tolist(), first_labels)]
    occ, tur = occurred[found].tolist(), turns[found].tolist()
    order = sorted(range(len(rows)), key=lambda i: (-occ[i], -tur[i], rows[i][0] or rows[i][1]))
    facts = (turns, meetings, occurred, first, last, dates)
    return SpeakerRanking(snap, people, [rows[i] for i in order], facts, groups, labels)


class SpeakerRanking(Sequence):
    """The ranked rows of :func:`speaker_counts`, each made a :class:`SpeakerCount` when asked
    for: a page shows ten, a common term has thousands."""

    def __init__(self, snap: Snapshot, people: PersonDirectory | None, rows: list[tuple], facts: tuple,
                 groups: np.ndarray, labels: np.ndarray):
        self._snap, self._people, self._rows, self._facts = snap, people, rows, facts
        width = max(len(snap.labels), 1)
        self._width = width
        self._pairs = np.sort(groups * width + labels)
        self._made: dict[int, SpeakerCount] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        made = self._made.get(index)
        if made is None:
            made = self._made[index] = self._make(*self._rows[index])
        return made

    def _make(self, person: str, first_label: str, group: int) -> SpeakerCount:
        turns, meetings, occurred, first, last, dates = self._facts
        width, snap = self._width, self._snap
        low, high = np.searchsorted(self._pairs, [group * width, (group + 1) * width])
        keys, counts = _runs(self._pairs[low:high])
        labels = sorted(((snap.labels[key % width], n) for key, n in zip(keys, counts)), key=lambda kv: (-kv[1], kv[0]))
        dated = last[group] >= 0
        return _speaker_count(self._people, person, labels, int(turns[group]), int(meetings[group]),
                              int(occurred[group]), dates[first[group]] if dated else "",
                              dates[last[group]] if dated else "")


def _runs(ordered: np.ndarray) -> tuple[list[int], list[int]]:
    """The distinct values of a sorted array and how often each occurs."""
    if not len(ordered):
        return [], []
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts].tolist(), np.diff(np.append(starts, len(ordered))).tolist()


@lru_cache(maxsize=1 << 16)
def _split(label: str) -> tuple[str, str]:
    return split_speaker(label) if label else ("", "")


def _speaker_count(people: PersonDirectory | None, person: str, labels: list[tuple[str, int]],
                   turns: int, meetings: int, occurrences: int, first: str, last: str) -> SpeakerCount:
    top = labels[0][0]
    name, org = _split(top)
    if person:
        name = person
        if not org and people is not None:
            org = people.label(top).reading.organisation
    return SpeakerCount(person or top, name, org, turns, meetings, occurrences, first, last, person,
                        [{"label": label, "turns": n} for label, n in labels])


class PersonTurns:
    """The live turns of one person, the labels they came under and how their name was written."""

    __slots__ = ("key", "docs", "labels", "names")

    def __init__(self, key: str, docs: np.ndarray, labels: Counter, names: Counter):
        self.key = key
        self.docs = docs  # sorted document numbers
        self.labels = labels
        self.names = names

    @property
    def name(self) -> str:
        """The name shown: the most used spelling (then the first in code-point order)."""
        return min(self.names, key=lambda n: (-self.names[n], n))


def person_turns(snap: Snapshot, people: PersonDirectory) -> dict[str, PersonTurns]:
    """Person key → their turns, for every person of ``snap`` (computed once per directory)."""
    found = people.derived.get("turns")
    if found is not None:
        return found
    column = snap.persons(people)
    docs, starts, persons = column.by_key()
    ends = np.append(starts[1:], len(docs))
    out: dict[str, PersonTurns] = {}
    for start, end, person in zip(starts.tolist(), ends.tolist(), persons.tolist()):
        mine = np.sort(docs[start:end])
        labels = Counter({snap.labels[n]: c for n, c in _counts(snap.speaker_of[mine]).items()})
        names = Counter({column.names[n]: c for n, c in _counts(column.name_of[mine]).items()})
        out[column.keys[person]] = PersonTurns(column.keys[person], mine, labels, names)
    with _lock:
        people.derived["turns"] = out
    return out


def _counts(values: np.ndarray) -> dict[int, int]:
    """How often each value occurs (small non-negative integers)."""
    counts = np.bincount(values.astype(np.int64))
    present = np.flatnonzero(counts)
    return dict(zip(present.tolist(), counts[present].tolist()))


def person_count(snap: Snapshot, people: PersonDirectory) -> int:
    """How many persons speak in the live turns of ``snap``."""
    return len(snap.persons(people).by_key()[2])
