"""Turns by who spoke them: the matching turns of a query for the speakers ranking and the search
facets, and every turn of the index by person for the list of persons and their pages.

A *tally* counts the matching turns of one person (every label that names them) or of one label
that names nobody: turns, meetings, occurrences of the query terms, first and last date, and the
labels as written with their turns. :func:`person_turns` lists each person's turns once per index
generation and person list.
"""

from __future__ import annotations

import threading
from collections import Counter

from .labels import split_speaker
from .people import PersonDirectory, person_key
from .results import SpeakerCount
from .snapshot import Snapshot


class SpeakerTally:
    """The matching turns of one person (or of one label that names nobody)."""

    def __init__(self, person: str):
        self.person = person
        self.labels: Counter[str] = Counter()
        self.meetings: set[str] = set()
        self.turns = self.occurrences = 0
        self.first = self.last = ""

    def add(self, label: str, meeting_id: str, occurrences: int, date: str) -> None:
        self.labels[label] += 1
        self.meetings.add(meeting_id)
        self.turns += 1
        self.occurrences += occurrences
        if date:
            self.first = min(self.first, date) if self.first else date
            self.last = max(self.last, date)

    @property
    def name(self) -> str:
        return self.person or next(iter(self.labels))

    def count(self, people: PersonDirectory | None) -> SpeakerCount:
        labels = sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))
        top = labels[0][0]
        name, org = split_speaker(top) if top else ("", "")
        if self.person:
            name = self.person
            if not org and people is not None:
                org = people.label(top).reading.organisation
        return SpeakerCount(self.person or top, name, org, self.turns, len(self.meetings), self.occurrences,
                            self.first, self.last, self.person, [{"label": l, "turns": n} for l, n in labels])


class PersonTurns:
    """The live turns of one person, the labels they came under and how their name was written."""

    __slots__ = ("key", "docs", "labels", "names")

    def __init__(self, key: str):
        self.key = key
        self.docs: list[int] = []
        self.labels: Counter[str] = Counter()
        self.names: Counter[str] = Counter()

    @property
    def name(self) -> str:
        """The name shown: the most used spelling (then the first in code-point order)."""
        return min(self.names, key=lambda n: (-self.names[n], n))


_lock = threading.Lock()


def person_turns(snap: Snapshot, people: PersonDirectory) -> dict[str, PersonTurns]:
    """Person key → their turns, for every person of ``snap`` (computed once per directory)."""
    found = people.derived.get("turns")
    if found is not None:
        return found
    out: dict[str, PersonTurns] = {}
    speakers, meeting_ids = snap.speakers, snap.meeting_ids
    for docs in snap.speaker_docs.values():
        info = people.label(speakers[docs[0]])
        for g in docs:
            person, key = info.person, info.key
            if info.scoped:
                person = people.person_of(speakers[g], meeting_ids[g])
                key = person_key(person) if person else ""
            if key:
                entry = out.get(key)
                if entry is None:
                    entry = out[key] = PersonTurns(key)
                entry.docs.append(g)
                entry.labels[speakers[g]] += 1
                entry.names[person] += 1
    with _lock:
        people.derived["turns"] = out
    return out


def person_count(snap: Snapshot, people: PersonDirectory) -> int:
    """How many persons speak in the live turns of ``snap``."""
    return len(person_turns(snap, people))
