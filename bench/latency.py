"""Warm query latency and recall, for the engine and each baseline, in this process.

Latency: one untimed warm-up pass over the query set, then ``repeats`` timed passes; each
query's latency is the median of its passes (robust to a noisy machine), and p50/p95/p99 are
taken over queries. Recall: the fraction of the oracle's (query, turn) pairs that an engine
returns, over all queries; turns it returns that the oracle does not are counted as extra.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from .queries import BenchQuery, pad

Key = tuple[str, int]


@dataclass
class Timing:
    """Per-query latency (seconds, median of passes) and the totals the timed call returned."""

    seconds: dict[str, float] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def values(self) -> list[float]:
        return list(self.seconds.values())


def time_queries(
    call: Callable[[str], int],
    queries: list[BenchQuery],
    repeats: int,
    before: Callable[[], None] | None = None,
) -> Timing:
    """Time ``call(query) -> total`` over the query set (see the module docstring).

    ``before`` runs ahead of each timed call, outside the timer (e.g. to empty a result cache).
    """
    timing = Timing()
    samples: dict[str, list[float]] = {}
    for q in queries:  # warm-up pass: caches, lazy imports, page cache
        try:
            timing.totals[q.text] = call(q.text)
        except Exception as err:  # an engine error is a result to report, not a crash
            timing.errors[q.text] = f"{type(err).__name__}: {err}"
    for _ in range(max(1, repeats)):
        for q in queries:
            if q.text in timing.errors:
                continue
            if before is not None:
                before()
            started = time.perf_counter()
            try:
                call(q.text)
            except Exception as err:  # failed now though it worked before: report, do not time
                timing.errors[q.text] = f"{type(err).__name__}: {err}"
                continue
            samples.setdefault(q.text, []).append(time.perf_counter() - started)
    timing.seconds = {text: statistics.median(values) for text, values in samples.items()
                      if text not in timing.errors}
    return timing


@dataclass
class Recall:
    """Recall of one engine against the oracle over the whole query set."""

    expected: int = 0  # (query, turn) pairs the oracle finds
    found: int = 0  # of those, pairs the engine finds
    extra: int = 0  # pairs the engine returns that the oracle does not
    wrong_totals: list[str] = field(default_factory=list)  # queries whose reported total differs
    failures: list[tuple[str, int, int, int]] = field(default_factory=list)  # query, expected, missed, extra
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0


def measure_recall(
    matches: Callable[[str], set[Key]],
    expected: dict[str, set[Key]],
    totals: dict[str, int] | None = None,
) -> Recall:
    """Compare ``matches(query)`` with the oracle's sets; ``totals`` (optional) the reported counts."""
    out = Recall()
    for query, want in expected.items():
        out.expected += len(want)
        try:
            got = matches(query)
        except Exception as err:
            out.errors[query] = f"{type(err).__name__}: {err}"
            out.failures.append((query, len(want), len(want), 0))
            continue
        hit = len(got & want)
        out.found += hit
        extra = len(got - want)
        out.extra += extra
        if hit < len(want) or extra:
            out.failures.append((query, len(want), len(want) - hit, extra))
        if totals is not None and query in totals and totals[query] != len(want):
            out.wrong_totals.append(f"{query} (total {totals[query]}, oracle {len(want)})")
    return out


def by_category(timing: Timing, queries: list[BenchQuery]) -> dict[str, list[float]]:
    """Latencies grouped by query category, in the query file's order."""
    out: dict[str, list[float]] = {}
    for q in queries:
        if q.text in timing.seconds:
            out.setdefault(q.category, []).append(timing.seconds[q.text])
    return out


class EngineAdapter:
    """The engine seen through the same two calls as a baseline: ``top`` and ``matches``."""

    name = "civic-search engine"

    def __init__(self, index_dir: str):
        from indexer.search import SearchEngine

        started = time.perf_counter()
        self.engine = SearchEngine(index_dir)
        self.open_seconds = time.perf_counter() - started
        self._fast: bool | None = None  # whether the snapshot shortcut agrees with the API

    def top(self, query: str) -> int:
        """Top 10 with snippets and the exact total: what the CLI and the API ask for."""
        return self.engine.search(query, limit=10).total

    def has_page_cache(self) -> bool:
        """Whether the engine answers a repeated search from a cache (the same page object)."""
        probe = "淨零排碳"
        return self.engine.search(probe, limit=10) is self.engine.search(probe, limit=10)

    def clear_page_cache(self) -> None:
        """Empty the engine's result-page cache, so that a timed search evaluates the query.

        Repeating a fixed query set would otherwise time cache hits. A public ``clear_cache()``
        is used when the engine has one; else the cache attribute, if there is one.
        """
        clear = getattr(self.engine, "clear_cache", None)
        if callable(clear):
            clear()
            return
        pages = getattr(self.engine, "_pages", None)
        if pages is not None:
            with self.engine._lock:
                pages.clear()

    def variants_bypass_cache(self) -> bool:
        """Whether query strings differing only in trailing spaces are cached separately.

        The load test relies on it to send distinct query strings with the same meaning.
        """
        self.clear_page_cache()
        pages = [self.engine.search(pad("淨零排碳", k), limit=10) for k in (0, 1, 300)]
        return len({id(page) for page in pages}) == len(pages)

    def time_cached(self, queries: list[BenchQuery]) -> Timing:
        """Latency of a repeated search (answered from the page cache, when there is one)."""
        timing = Timing()
        for q in queries:
            try:
                self.engine.search(q.text, limit=10)
                started = time.perf_counter()
                self.engine.search(q.text, limit=10)
                timing.seconds[q.text] = time.perf_counter() - started
            except Exception as err:
                timing.errors[q.text] = f"{type(err).__name__}: {err}"
        return timing

    def matches(self, query: str) -> set[Key]:
        result = self.engine.run(query)
        if self._fast is not False:
            try:
                fast = self._fast_keys(result)
            except (AttributeError, KeyError, IndexError, TypeError):
                self._fast = False  # the engine's internals changed: use the public API
            else:
                if self._fast is None and 0 < len(fast) <= 500:
                    # Check the shortcut once against the public API before trusting it.
                    self._fast = fast == self._public_keys(result)
                if self._fast is not False:
                    return fast
        return self._public_keys(result)

    @staticmethod
    def _fast_keys(result) -> set[Key]:
        # Through the result set's snapshot: no snippets for 100,000 hits.
        snap = result.snap
        slots, turns = snap.meeting_of[result.docs].tolist(), snap.turn_of[result.docs].tolist()
        return {(snap.slots[slot].source, turn) for slot, turn in zip(slots, turns)}

    @staticmethod
    def _public_keys(result) -> set[Key]:
        return {(hit.source, hit.turn) for hit in result.page(limit=0).hits}

    def close(self) -> None:
        self.engine.close()
