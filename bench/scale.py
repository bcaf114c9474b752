"""Scale figures (issue #12): what one machine does with the corpus at ×1, ×4 and ×16.

At each size the harness measures, on an index built the same way (renamed copies of the
corpus, see :mod:`bench.growth`):

- opening the index in-process, and warm latency over the query set with exactness: every
  answer is checked against the oracle's answer at ×1, expanded to the copies (a turn of copy
  ``c3-`` of a file matches exactly when the same turn of the file does), and every total must
  be ×N the oracle's;
- a search in a new process for every query of the set (``civic-search search Q --json``): wall
  time and the process's peak RSS (``wait4``, in a small launcher process: see
  :mod:`bench.spawn`);
- ``civic-search serve --workers N``: the JSON API under load with every request evaluated
  (the *distinct* phase of :mod:`bench.load`), then each worker's memory (RSS, and the private
  USS and proportional PSS: pages of the memory-mapped texts are shared between workers and
  with the page cache, so RSS counts them once per worker), then every page a user opens
  (results with facets and timeline, keyword in context, who said it) for every query, one
  request at a time.
"""

from __future__ import annotations

import os
import re
import statistics
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.docsets import distinct

from .build_section import BuildResult
from .cli_runs import cli_command
from .latency import EngineAdapter, Recall, Timing, time_queries
from .load import LoadResult, Server, drive, search_path
from .measure import have_psutil, summary_ms
from .queries import BenchQuery
from .spawn import Launcher

#: The pages a user opens, by route; each is asked for every query of the set.
PAGES = ("/search", "/kwic", "/speakers")
_COPY = re.compile(r"^c(\d+)-(.*)$")


@dataclass
class ColdRuns:
    """New-process searches: wall seconds and peak RSS (bytes) per query."""

    seconds: dict[str, float] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds.values()) if self.seconds else float("nan")

    @property
    def rss_median(self) -> float:
        return statistics.median(self.rss.values()) if self.rss else float("nan")

    @property
    def rss_max(self) -> int:
        return max(self.rss.values()) if self.rss else 0


def is_exact(recall: Recall) -> bool:
    """Every expected pair found, nothing else, every total right, no error."""
    return recall.found == recall.expected and not recall.extra and not recall.wrong_totals and not recall.errors


@dataclass
class WorkerMemory:
    rss: int  # bytes
    uss: int  # private to the process
    pss: int  # its share of every page it maps


@dataclass
class ServeRun:
    workers: int
    load: LoadResult
    memory: list[WorkerMemory]  # each worker after the load phase
    memory_after_pages: list[WorkerMemory]
    pages: dict[str, Timing]  # route -> latency per query (seconds)


@dataclass
class ScalePoint:
    factor: int
    turns: int
    build: BuildResult
    open_seconds: float
    warm: Timing
    exactness: Recall
    cold: ColdRuns
    serve: ServeRun | None = None
    notes: list[str] = field(default_factory=list)

    def warm_summary(self) -> dict[str, float]:
        return summary_ms(self.warm.values())


# --- new-process searches ----------------------------------------------------------------------


def cold_runs(index_dir: str, queries: list[BenchQuery], timeout: float = 120) -> ColdRuns:
    """``civic-search search Q --index DIR --json`` in a new process for every query (one untimed
    run first, so the index files are in the page cache)."""
    out = ColdRuns()
    base = cli_command() + ["search"]
    with Launcher() as launcher:
        launcher.run(base + [queries[0].text, "--index", index_dir, "--json"], timeout)
        for q in queries:
            wall, rss, status = launcher.run(base + [q.text, "--index", index_dir, "--json"], timeout)
            if status != 0:
                out.errors.append(f"{q.text}: exit {status}")
                continue
            out.seconds[q.text] = wall
            out.rss[q.text] = rss
    return out


# --- exactness at ×N -----------------------------------------------------------------------------


def copy_source(source: str, copies_root: str, corpus_root: str) -> tuple[int, str] | None:
    """(copy number, the original file's display path) of a file of an enlarged corpus."""
    folder, name = os.path.split(source)
    match = _COPY.match(name)
    if not match:
        return None
    relative = os.path.relpath(folder, copies_root)
    original = os.path.normpath(os.path.join(corpus_root, relative, match.group(2)))
    return int(match.group(1)), original


def check_exact(engine: EngineAdapter, factor: int, expected: dict[str, set[tuple[str, int]]],
                totals: dict[str, int], copies_root: str | None, corpus_root: str) -> Recall:
    """Every query's matches against the oracle's ×1 answer expanded to ``factor`` copies.

    Works on the engine's arrays (a common term matches a million turns at ×16): each match is
    reduced to (copy, original file, turn); the answer is exact when every expected (original
    file, turn) is found once in each of the ``factor`` copies and nothing else is.
    """
    out = Recall()
    snap = engine.engine.snapshot()
    sources: dict[str, int] = {}
    for keys in expected.values():
        for source, _ in keys:
            sources.setdefault(os.path.normpath(source), len(sources))
    slot_copy = np.full(max(len(snap.slots), 1), -1, np.int64)
    slot_base = np.full(max(len(snap.slots), 1), -1, np.int64)
    for slot, info in enumerate(snap.slots):
        found = (0, info.source) if copies_root is None else copy_source(info.source, copies_root, corpus_root)
        if found is not None:
            slot_copy[slot] = found[0]
            slot_base[slot] = sources.setdefault(os.path.normpath(found[1]), len(sources))
    for query, keys in expected.items():
        want = distinct(np.array([sources[os.path.normpath(s)] * (1 << 24) + t for s, t in keys], np.int64))
        out.expected += factor * len(want)
        try:
            result = engine.engine.run(query)
        except Exception as err:  # an engine error is a result to report
            out.errors[query] = f"{type(err).__name__}: {err}"
            continue
        slots = snap.meeting_of[result.docs]
        got = slot_base[slots] * (1 << 24) + snap.turn_of[result.docs].astype(np.int64)
        copy = slot_copy[slots]
        valid = np.isin(got, want) & (copy >= 0) & (copy < factor) & (slot_base[slots] >= 0)
        found = len(distinct(copy[valid] * (1 << 48) + got[valid]))
        out.found += found
        out.extra += len(got) - found
        if found < factor * len(want) or len(got) > found:
            out.failures.append((query, factor * len(want), factor * len(want) - found, len(got) - found))
        if query in totals and totals[query] != factor * len(want):
            out.wrong_totals.append(f"{query} (total {totals[query]}, expected {factor * len(want)})")
    return out


# --- the server: load, memory, pages -----------------------------------------------------------------


def worker_memory(server: Server) -> list[WorkerMemory]:
    """Each worker process's memory (the supervisor's own when it serves alone)."""
    if not have_psutil():
        return []
    import psutil

    try:
        root = psutil.Process(server.proc.pid)
        procs = root.children(recursive=True) or [root]
        out = []
        for proc in procs:
            info = proc.memory_full_info()
            out.append(WorkerMemory(info.rss, info.uss, getattr(info, "pss", 0)))
        return out
    except psutil.Error:
        return []


def page_path(route: str, query: str) -> str:
    return route + "?" + urllib.parse.urlencode({"q": query})


def time_pages(server: Server, queries: list[BenchQuery]) -> dict[str, Timing]:
    """Every page for every query, one request at a time (after one untimed request each)."""
    out: dict[str, Timing] = {}
    for route in PAGES:
        timing = Timing()
        for q in queries:
            path = page_path(route, q.text)
            try:
                server.get(path, timeout=120)
                started = time.perf_counter()
                status, _ = server.get(path, timeout=120)
                elapsed = time.perf_counter() - started
            except OSError as err:
                timing.errors[q.text] = f"{type(err).__name__}: {err}"
                continue
            if status != 200:
                timing.errors[q.text] = f"HTTP {status}"
                continue
            timing.seconds[q.text] = elapsed
        out[route] = timing
    return out


def serve_run(index_dir: str, log_path: Path, queries: list[BenchQuery], workers: int, clients: int,
              seconds: float, max_requests: int) -> ServeRun:
    texts = [q.text for q in queries]
    with Server(index_dir, log_path, workers=workers) as server:
        for text in texts:  # warm-up pass, as the main load test does
            server.get(search_path(text))
        load = drive(server, texts, clients, seconds, max_requests, distinct=True)
        memory = worker_memory(server)
        pages = time_pages(server, queries)
        return ServeRun(workers, load, memory, worker_memory(server), pages)


# --- one size ----------------------------------------------------------------------------------------


def measure_point(factor: int, build: BuildResult, index_dir: Path, queries: list[BenchQuery], repeats: int,
                  expected: dict[str, set[tuple[str, int]]], corpus_root: str, copies_root: str | None,
                  serve: dict, log) -> ScalePoint:
    """All scale figures of one built index (``copies_root`` None: the corpus itself, ×1)."""
    engine = EngineAdapter(str(index_dir))
    try:
        turns = engine.engine.stats().turns
        warm = time_queries(engine.top, queries, repeats, before=engine.clear_page_cache)
        log(f"×{factor}: warm latency done; checking exactness")
        exactness = check_exact(engine, factor, expected, warm.totals, copies_root, corpus_root)
        open_seconds = engine.open_seconds
    finally:
        engine.close()
    log(f"×{factor}: new-process searches")
    cold = cold_runs(str(index_dir), queries)
    point = ScalePoint(factor, turns, build, open_seconds, warm, exactness, cold)
    log(f"×{factor}: server load, memory and pages")
    point.serve = serve_run(str(index_dir), index_dir.parent / f"server-x{factor}.log", queries, **serve)
    return point
