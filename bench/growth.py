"""Growth: the corpus at ×1, ×2, ×4 (copies under new names), built and queried at each size.

Each enlarged corpus is a temporary folder of hard links (or copies) named ``c0-…``, ``c1-…``,
so meeting ids differ and the index really grows. Builds run as measured subprocesses like the
main build; queries run warm in this process (one warm-up pass, then timed passes). ×1 reuses
the main build and query numbers of the same run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .build_section import BuildResult, measure_build
from .corpus import replicate_corpus
from .latency import EngineAdapter, time_queries
from .measure import summary_ms
from .queries import BenchQuery


@dataclass
class GrowthPoint:
    factor: int
    build: BuildResult
    p50_ms: float
    p99_ms: float
    turns: int


def grow(corpus: str, factor: int, workdir: Path, queries: list[BenchQuery], repeats: int) -> GrowthPoint:
    """Build and query the corpus replicated ``factor`` times; clean up afterwards."""
    folder = workdir / f"growth-x{factor}"
    try:
        copies = replicate_corpus(corpus, factor, folder / "corpus")
        build = measure_build([str(copies)], folder / "index")
        engine = EngineAdapter(str(folder / "index"))
        try:
            turns = engine.engine.stats().turns
            timing = time_queries(engine.top, queries, repeats, before=engine.clear_page_cache)
        finally:
            engine.close()
        stats = summary_ms(timing.values())
        return GrowthPoint(factor, build, stats["p50"], stats["p99"], turns)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
