"""Who spoke each turn of an opened index, by one person directory, as arrays.

Persons are resolved from labels at read time (:mod:`indexer.people`); at ×16 an index has two
million turns, so the resolution is kept per label (and, for the labels whose person depends on
the meeting, per label and meeting), and the turns' persons are numpy arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .docsets import EMPTY, distinct, union
from .people import PersonDirectory, person_key

if TYPE_CHECKING:  # the snapshot builds its column; this module needs only its arrays
    from .snapshot import Snapshot

__all__ = ["PersonColumn"]


class PersonColumn:
    """Who spoke each turn of a snapshot, by one person directory, as arrays.

    ``name_of[g]`` numbers the person's name as resolved for turn ``g`` (-1: the label names
    nobody) in :attr:`names`; ``key_of_name`` maps a name to its person (:attr:`keys`, the
    person keys). A label's person is resolved once per label, or, for the labels whose person
    depends on the meeting (主席, a surname with a title), once per label and meeting.
    """

    def __init__(self, snap: "Snapshot", people: PersonDirectory):
        self.names: list[str] = []
        self.keys: list[str] = []
        name_numbers: dict[str, int] = {}
        key_numbers: dict[str, int] = {}
        key_of_name: list[int] = []

        def number(name: str) -> int:
            found = name_numbers.get(name)
            if found is None:
                found = name_numbers[name] = len(self.names)
                self.names.append(name)
                key = person_key(name)
                key_of_name.append(key_numbers.setdefault(key, len(key_numbers)))
                if key_of_name[-1] == len(self.keys):
                    self.keys.append(key)
            return found

        label_name = np.full(max(len(snap.labels), 1), -1, np.int32)
        scoped = np.zeros(max(len(snap.labels), 1), bool)
        for label_number in np.flatnonzero(snap.label_turns).tolist():
            label = snap.labels[label_number]
            if not label:
                continue
            info = people.label(label)
            if info.scoped:
                scoped[label_number] = True
            elif info.person:
                label_name[label_number] = number(info.person)
        self.name_of = label_name[snap.speaker_of]
        self._resolve_scoped(snap, people, scoped, number)
        self.key_of_name = np.array(key_of_name or [0], np.int64)
        self._snap = snap
        self._by_key: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _resolve_scoped(self, snap: "Snapshot", people: PersonDirectory, scoped: np.ndarray, number) -> None:
        """Turns whose label's person depends on the meeting: one resolution per (label,
        meeting) pair."""
        docs = snap.live[scoped[snap.speaker_of[snap.live]]]
        if not len(docs):
            return
        width = max(len(snap.slots), 1)
        keys = snap.speaker_of[docs].astype(np.int64) * width + snap.meeting_of[docs]
        pairs = distinct(keys)
        resolved = np.full(len(pairs), -1, np.int32)
        for i, (label_number, slot) in enumerate(zip(*(part.tolist() for part in np.divmod(pairs, width)))):
            person = people.person_of(snap.labels[label_number], snap.slots[slot].meeting_id)
            if person:
                resolved[i] = number(person)
        self.name_of[docs] = resolved[np.searchsorted(pairs, keys)]

    def person_of(self, docs: np.ndarray) -> np.ndarray:
        """The person number (index into :attr:`keys`) of each of ``docs``; -1 for nobody."""
        names = self.name_of[docs]
        return np.where(names >= 0, self.key_of_name[np.maximum(names, 0)], -1)

    def by_key(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The live turns with a person, grouped: (turns ordered by person then document, the
        start of each person's run in them, each run's person number)."""
        if self._by_key is None:
            live = self._snap.live
            persons = self.person_of(live)
            spoken = persons >= 0
            docs, persons = live[spoken], persons[spoken]
            order = np.argsort(persons, kind="stable")
            docs, persons = docs[order], persons[order]
            starts = np.flatnonzero(np.concatenate(([True], persons[1:] != persons[:-1]))) if len(persons) else order[:0]
            self._by_key = (docs, starts, persons[starts])
        return self._by_key

    def docs_of(self, keys: np.ndarray) -> np.ndarray:
        """The live turns (sorted) of the persons numbered ``keys``: their runs of :meth:`by_key`
        joined, so the work is in proportion to their turns, not to the index."""
        docs, starts, persons = self.by_key()
        ends = np.append(starts[1:], len(docs))
        at = np.searchsorted(persons, keys)
        parts = [docs[starts[i] : ends[i]] for i, key in zip(at.tolist(), keys.tolist())
                 if i < len(persons) and persons[i] == key]
        return union(parts) if parts else EMPTY
