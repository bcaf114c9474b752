"""Growth: the corpus at ×1, ×2, ×4 (and ×16 with ``--scale 16``), copies under new names,
built and queried at each size.

Each enlarged corpus is a temporary folder of hard links (or copies) named ``c0-…``, ``c1-…``,
so meeting ids differ and the index really grows. Builds run as measured subprocesses like the
main build; queries run warm in this process (one warm-up pass, then timed passes). ×1 reuses
the main build and query numbers of the same run. At the sizes the scale figures are wanted for
(:mod:`bench.scale`), they are measured on the built index before it is removed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
    scale: object | None = None  # bench.scale.ScalePoint, where the scale figures were measured


def grow(corpus: str, factor: int, workdir: Path, queries: list[BenchQuery], repeats: int,
         scale: Callable[[BuildResult, Path, str], object] | None = None) -> GrowthPoint:
    """Build and query the corpus replicated ``factor`` times; clean up afterwards.

    ``scale(build, index_dir, copies_root)``, when given, measures the scale figures on the
    built index (whose warm latency then gives the growth row too).
    """
    folder = workdir / f"growth-x{factor}"
    try:
        copies = replicate_corpus(corpus, factor, folder / "corpus")
        build = measure_build([str(copies)], folder / "index")
        if scale is not None:
            point = scale(build, folder / "index", str(copies))
            stats = point.warm_summary()
            return GrowthPoint(factor, build, stats["p50"], stats["p99"], point.turns, point)
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
