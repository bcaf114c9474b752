"""The corpus side of the benchmark: parsed turns, samples and enlarged copies.

Turns are parsed once with the engine's own reader (:func:`indexer.transcripts.read_transcript`
over :func:`indexer.build.scan`), so every baseline and the oracle see exactly the turns, sources
and texts the engine indexes.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from indexer.analysis import fold
from indexer.build import scan
from indexer.transcripts import TranscriptError, read_transcript


@dataclass(frozen=True)
class BenchTurn:
    """One turn as every baseline sees it."""

    source: str  # display path, as the engine stores it in hits
    turn: int
    text: str  # as written (what a user would feed a naive baseline)
    folded: str  # fold(text): what exact-substring matching is defined on
    speaker: str  # speaker label as written
    speaker_folded: str
    date: str  # meeting date, ISO, "" when unknown

    @property
    def key(self) -> tuple[str, int]:
        return (self.source, self.turn)


@dataclass
class Corpus:
    """The parsed turns of one corpus folder, in scan order."""

    root: str
    files: int
    bytes: int
    turns: list[BenchTurn]
    skipped: list[str]


def load_corpus(root: str | Path) -> Corpus:
    """Parse every transcript under ``root`` the way the indexer does."""
    files, _, problems = scan([str(root)])
    turns: list[BenchTurn] = []
    skipped = [f"{p.path}: {p.reason}" for p in problems]
    size = 0
    for path, display in files:
        size += path.stat().st_size
        try:
            meeting = read_transcript(path, meeting_id="bench", source=display)
        except TranscriptError as err:
            skipped.append(str(err))
            continue
        for t in meeting.turns:
            turns.append(
                BenchTurn(display, t.turn, t.text, fold(t.text), t.speaker, fold(t.speaker), meeting.date)
            )
    return Corpus(str(root), len(files), size, turns, skipped)


def transcript_files(root: str | Path) -> list[Path]:
    """The files the indexer would read under ``root``."""
    files, _, _ = scan([str(root)])
    return [path for path, _ in files]


def corpus_bytes(root: str | Path) -> int:
    return sum(p.stat().st_size for p in transcript_files(root))


def sample_corpus(root: str | Path, count: int, dest: Path, seed: int = 4) -> Path:
    """Copy a seeded random sample of ``count`` transcripts into ``dest`` (for development runs)."""
    files = transcript_files(root)
    chosen = sorted(random.Random(seed).sample(files, min(count, len(files))))
    dest.mkdir(parents=True, exist_ok=True)
    for path in chosen:
        shutil.copy2(path, dest / path.name)
    return dest


def replicate_corpus(root: str | Path, factor: int, dest: Path) -> Path:
    """``factor`` copies of every transcript under new names (``c0-…``, ``c1-…``) in ``dest``.

    New names give new meeting ids, so the enlarged index really holds ``factor`` times the
    meetings and turns rather than deduplicating them.
    """
    root = Path(root).absolute()
    for path in transcript_files(root):
        rel = path.relative_to(root)
        (dest / rel.parent).mkdir(parents=True, exist_ok=True)
        for i in range(factor):
            target = dest / rel.parent / f"c{i}-{rel.name}"
            try:
                target.hardlink_to(path)  # same bytes, no disk cost, when on one filesystem
            except OSError:
                shutil.copyfile(path, target)
    return dest


def tree_size(path: str | Path) -> int:
    """Bytes of all files under ``path`` (an index folder)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def size_by_kind(path: str | Path) -> dict[str, int]:
    """Bytes under ``path`` by file extension (``.pst``, ``.trm``, ``.turns``, …), largest first."""
    sizes: dict[str, int] = {}
    for p in Path(path).rglob("*"):
        if p.is_file():
            kind = p.suffix or p.name
            sizes[kind] = sizes.get(kind, 0) + p.stat().st_size
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))
