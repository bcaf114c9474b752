"""Baselines: other ways to answer the benchmark queries, measured in the same run.

Each baseline indexes the same parsed turns (document id = position in the turn list) and
answers the query set's simple forms (:mod:`bench.queries`). ``top`` is the timed operation:
the first ten matches and the exact number of matches, as the engine returns (the engine also
builds snippets; the baselines do not). ``matches`` returns every matching document id, for
recall against the brute-force oracle; it is not timed.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..corpus import BenchTurn, tree_size
from ..oracle import BruteForce


class Baseline:
    """The interface every baseline implements."""

    name = "baseline"
    #: What the baseline cannot express or does differently (shown in the report).
    notes: list[str] = []

    def __init__(self) -> None:
        self.build_seconds = float("nan")
        self.size_bytes = 0
        self.unavailable: str | None = None  # why it could not run (e.g. "not installed")

    def build(self, turns: list[BenchTurn], workdir: Path) -> None:
        raise NotImplementedError

    def top(self, query: str) -> int:
        """Fetch the first ten matches and return the exact total."""
        raise NotImplementedError

    def matches(self, query: str) -> set[int]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class BruteForceBaseline(Baseline):
    """(c) ``term in text`` over every folded turn held in memory; also the oracle."""

    name = "brute force"
    notes = ["The recall oracle: exact by construction. No ranking (document order)."]

    def build(self, turns: list[BenchTurn], workdir: Path) -> None:
        started = time.perf_counter()
        self.scan = BruteForce(turns)
        self.build_seconds = time.perf_counter() - started  # folding was done while parsing
        self.size_bytes = 0

    def top(self, query: str) -> int:
        return self.scan.top(query)[1]

    def matches(self, query: str) -> set[int]:
        return self.scan.matches(query)


def make_baselines(names: list[str]) -> list[Baseline]:
    """The baselines to run, by short name: whoosh-jieba, sqlite, brute, tantivy."""
    from .sqlite_fts import SqliteTrigram
    from .tantivy_bigrams import TantivyBigrams
    from .whoosh_jieba import WhooshJieba

    known = {"whoosh-jieba": WhooshJieba, "sqlite": SqliteTrigram, "brute": BruteForceBaseline,
             "tantivy": TantivyBigrams}
    return [known[n]() for n in names]


def built_size(path: Path) -> int:
    return tree_size(path) if path.is_dir() else path.stat().st_size
