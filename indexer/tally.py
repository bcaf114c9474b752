"""Tallies of matching turns by who spoke them, for the speakers ranking and the search facets.

A *tally* counts the matching turns of one person (every label that names them) or of one label
that names nobody: turns, meetings, occurrences of the query terms, first and last date, and the
labels as written with their turns.
"""

from __future__ import annotations

from collections import Counter

from .people import PersonDirectory
from .results import SpeakerCount


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
        from .transcripts import split_speaker

        labels = sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))
        top = labels[0][0]
        name, org = split_speaker(top) if top else ("", "")
        if self.person:
            name = self.person
            if not org and people is not None:
                org = people.label(top).reading.organisation
        return SpeakerCount(self.person or top, name, org, self.turns, len(self.meetings), self.occurrences,
                            self.first, self.last, self.person, [{"label": l, "turns": n} for l, n in labels])
