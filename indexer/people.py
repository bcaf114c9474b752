"""Persons behind speaker labels: which labels of an index name the same person.

Vocabulary
----------
person
    Someone who speaks in the records, shown by a canonical name (``唐鳳``). Labels are grouped
    into persons by the *person key*, the folded canonical name with spaces removed.
reading
    What one label says on its own (:mod:`indexer.labels`).
person list
    A UTF-8 text file, like the alias list: ``# version: N`` first, then one person a line, the
    canonical name and its variants separated by tabs (``唐鳳<TAB>Audrey Tang``). A variant is a
    label as written or a name a label reads as (compared folded). A line whose canonical name
    is ``-`` lists labels that name nobody. The package ships ``indexer/data/people.tsv``; the
    settings' ``people.person_files`` (``$CIVIC_SEARCH_PEOPLE``) name more files, read after it,
    so that they can correct it.
directory
    :class:`PersonDirectory`: for one index and one person list, who each label is, in each
    meeting.

Grouping rules, in order (evidence, never the name alone):

1. Person list: a label listed as a variant is that person; a name listed as a variant makes
   every label read as that name that person (``Audrey Tang`` → 唐鳳); ``-`` makes a label
   nobody.
2. Reading: labels read as the same name are one person: ``唐鳳``, ``唐鳳召集人``, ``唐召集人鳳``,
   ``唐共同召集人鳳``, ``行政院唐鳳政委`` (the reader splits surname, title and given name, so
   唐召集人鳳 joins 唐鳳 because it reads as 唐 + 鳳, not because it starts with 唐).
3. Same meeting, for labels that name nobody on their own: a surname with a title (``龔召集人``)
   is the one person of the meeting who has a label with that surname and that title; a given
   name alone (``雨蒼``, ``Audrey``) is the one person of the meeting whose name ends (Chinese) or
   starts (Latin) with it, or else the one name in the meeting's title made of a surname and it
   (``與曾博恩對談``: ``博恩`` → 曾博恩). A single Latin word (``Mark``) is a person as written when no
   such evidence exists.
4. Chair: ``主席`` and ``主持人`` are the chair the meeting's header names (``臺北智慧城市專案辦公室
   李鎮宇主任`` → 李鎮宇), else the one person of the meeting with a label titled 主席/主持人.

Never merged: a surname and title across meetings (``唐院長`` is not 唐鳳), nor two names that share
a surname (``唐淑華`` is not 唐鳳). A label none of the rules gives a person stays itself.

Persons are resolved when an index is opened, from its distinct labels (a few thousand) and, for
the few labels that depend on their meeting, from that meeting's labels, header and title; a
changed person list takes effect on the next query, with no re-index.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from .analysis import fold
from .errors import PersonListError
from .listfiles import ListCache, read_list_file
from .labels import CHAIR_ROLES, GIVEN, PERSON, ROLE, SURNAME, SURNAMES, LabelReading, read_label

NOBODY = "-"

__all__ = [
    "MeetingFacts",
    "PersonDirectory",
    "PersonList",
    "PersonListError",
    "bundled_people_path",
    "load_person_list",
    "person_key",
]


def person_key(name: str) -> str:
    """The key persons are compared by: the folded name without spaces (``Audrey Tang`` →
    ``audreytang``, ``臺`` and ``台`` alike)."""
    return fold(name).replace(" ", "")


# --- the person list -----------------------------------------------------------------------------


def bundled_people_path() -> str:
    """Path of the person list shipped in the package (package data beside this module; not
    through importlib.resources, which would add its import to every search)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "people.tsv")


@dataclass(frozen=True)
class PersonList:
    """The merged person lists: folded variant → canonical name (``NOBODY``: names no one)."""

    canonical: Mapping[str, str]
    version: str
    persons: int = 0

    def lookup(self, text: str) -> str | None:
        """The canonical name listed for a label or a name, ``NOBODY``, or None if not listed."""
        return self.canonical.get(person_key(text))


_lists: ListCache[PersonList] = ListCache()


def load_person_list(person_files: Sequence[str] = ()) -> PersonList:
    """The bundled person list merged with the user's ``person_files``; read again when a file
    changes.

    Later files win: a variant listed again under another name (or under ``-``) moves there.
    The version is the bundled list's ``# version:``, with ``+`` and a hash of the user's files
    when there are any. Raises :class:`PersonListError` for a file that cannot be read.
    """
    return _lists.get([bundled_people_path(), *person_files], _read_person_list)


def _read_person_list(paths: Sequence[str]) -> PersonList:
    import hashlib  # only for the user's files; a search need not load it

    canonical: dict[str, str] = {}
    version = ""
    digest = hashlib.sha256()
    persons = 0
    for i, path in enumerate(paths):
        file_version, lines = read_list_file(path, PersonListError, "person list")
        if i == 0:
            version = file_version or "unversioned"
        else:
            digest.update(repr(lines).encode("utf-8"))
        for names in lines:
            name = names[0]
            persons += name != NOBODY
            for variant in names if name != NOBODY else names[1:]:
                canonical[person_key(variant)] = name
    if len(paths) > 1:
        version = f"{version}+{digest.hexdigest()[:8]}"
    return PersonList(canonical, version, persons)


# --- the directory -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingFacts:
    """What a meeting tells about who speaks in it: its distinct labels, header chair and title."""

    labels: tuple[str, ...]
    chair: str = ""
    title: str = ""
    complete: bool = True  # False: the header could not be read (the index moved on)


@dataclass(frozen=True)
class LabelPerson:
    """One distinct label: its reading, its person on its own ("" for none) and that person's key,
    and whether its meeting may say otherwise (a surname with a title, a given name, 主席)."""

    label: str
    reading: LabelReading
    person: str
    key: str
    scoped: bool


def _is_single_latin(name: str) -> bool:
    return bool(name) and name.isascii() and " " not in name


def _unique(persons: Iterable[str]) -> str:
    found = set(persons)
    return found.pop() if len(found) == 1 else ""


class PersonDirectory:
    """Who each label of an index is, from its distinct labels and a person list.

    Labels are read when first asked about (a page of hits reads a few; a ``speaker:`` filter
    and the list of persons read them all, a few thousand). ``facts`` gives a meeting's labels,
    chair and title, and is asked only for meetings holding a label whose person depends on its
    meeting. A person is shown by the person list's name, else by the name as the label spells it.
    """

    def __init__(self, person_list: PersonList, facts: Callable[[str], MeetingFacts]):
        self.person_list = person_list
        self._facts = facts
        self._labels: dict[str, LabelPerson] = {}
        self._meetings: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        #: Views computed from this directory (indexer.person_views), kept as long as it is.
        self.derived: dict[str, object] = {}

    def _canonical(self, name: str) -> str:
        listed = self.person_list.lookup(name)
        if listed == NOBODY:
            return ""
        return listed or name

    def _read(self, label: str) -> LabelPerson:
        reading = read_label(label)
        listed = self.person_list.lookup(label)
        if listed is not None:
            person = "" if listed == NOBODY else listed
            return LabelPerson(label, reading, person, person_key(person), False)
        name = reading.person
        scoped = (reading.kind in (SURNAME, GIVEN) or (reading.kind == ROLE and reading.title in CHAIR_ROLES)
                  or (reading.kind == PERSON and _is_single_latin(name)))
        person = self._canonical(name) if name else ""
        return LabelPerson(label, reading, person, person_key(person) if person else "", scoped)

    def label(self, label: str) -> LabelPerson:
        """The label's reading and its person on its own (read once, then remembered)."""
        info = self._labels.get(label)
        if info is None:
            info = self._read(label)
            self._labels[label] = info
        return info

    def person_of(self, label: str, meeting_id: str) -> str:
        """The person who spoke as ``label`` in meeting ``meeting_id`` ("" when unknown)."""
        if not label:
            return ""
        info = self.label(label)
        if info.scoped:
            return self.in_meeting(meeting_id).get(label, info.person)
        return info.person

    def in_meeting(self, meeting_id: str) -> dict[str, str]:
        """Folded label → person, for the labels of ``meeting_id`` whose person its meeting decides."""
        found = self._meetings.get(meeting_id)
        if found is None:
            facts = self._facts(meeting_id)
            found = self._resolve(facts)
            if facts.complete:
                with self._lock:
                    self._meetings[meeting_id] = found
        return found

    def _resolve(self, facts: MeetingFacts) -> dict[str, str]:
        infos = [self.label(label) for label in facts.labels]
        evidence = [(i.reading, i.person) for i in infos if i.person and not i.scoped]
        chair = read_label(facts.chair) if facts.chair else None
        chair_person = self._canonical(chair.person) if chair is not None and chair.person else ""
        if chair_person:
            evidence.append((chair, chair_person))
        out = {}
        for info in infos:
            if info.scoped:
                person = self._in_context(info.reading, evidence, chair_person, facts.title)
                if person:
                    out[info.label] = person
        return out

    def _in_context(self, reading: LabelReading, evidence: list[tuple[LabelReading, str]],
                    chair: str, title: str) -> str:
        if reading.kind == ROLE:
            return chair or _unique(p for r, p in evidence if r.title == reading.title)
        if reading.kind == SURNAME:
            return _unique(p for r, p in evidence
                           if r.kind == PERSON and r.surname == reading.surname and r.title == reading.title)
        given = reading.name
        if reading.kind == PERSON:  # a single Latin word: Audrey beside Audrey Tang
            return _unique(p for r, p in evidence if r.name.startswith(given + " "))
        found = _unique(p for r, p in evidence if r.surname and r.name == r.surname + given)
        if found or not title:
            return found
        return _unique(self._canonical(s + given) for s in SURNAMES if s + given in title)

