"""Everything one benchmark run measured, section by section (None: section skipped)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .baselines import Baseline
from .build_section import BuildResult
from .cli_runs import ColdStart
from .growth import GrowthPoint
from .latency import Recall, Timing
from .load import Consistency, LoadResult
from .machine import Machine
from .people import PeopleResult
from .queries import BenchQuery


@dataclass
class CorpusInfo:
    path: str
    files: int
    bytes: int
    turns: int
    sample: int | None  # --sample N, or None for the whole corpus


@dataclass
class BaselineRun:
    baseline: Baseline
    timing: Timing | None = None
    recall: Recall | None = None


@dataclass
class ApiRun:
    start_seconds: float
    consistency: Consistency
    loads: dict[str, LoadResult]  # phase ("repeated", "distinct") -> result
    rss_after: int
    seconds_budget: float
    max_requests: int
    workers: int = 1  # civic-search serve --workers


@dataclass
class Results:
    machine: Machine
    command: str
    corpus: CorpusInfo
    queries: list[BenchQuery]
    query_file: str
    repeats: int
    build: BuildResult | None = None
    add_one: BuildResult | None = None
    add_one_file: str = ""
    engine_open_seconds: float = float("nan")
    engine_timing: Timing | None = None
    engine_page_cache: bool = False  # the engine answers a repeated search from a cache
    engine_cached: Timing | None = None  # latency of a repeated search (cache hits)
    variants_bypass_cache: bool | None = None  # trailing-space variants are distinct cache keys
    engine_recall: Recall | None = None
    baselines: list[BaselineRun] = field(default_factory=list)
    cold: ColdStart | None = None
    cold_speaker: ColdStart | None = None  # the same with --speaker (persons behind every label)
    people: PeopleResult | None = None
    api: ApiRun | None = None
    growth: list[GrowthPoint] | None = None
    scale_factor: int | None = None  # --scale N: the largest size the scale figures were measured at
    scale_x1: object | None = None  # bench.scale.ScalePoint of the main index
    extraction: object | None = None  # bench.extraction.ExtractionResult
    harness_seconds: float = 0.0
    load_at_end: str = ""
    notes: list[str] = field(default_factory=list)

    def baseline(self, name: str) -> BaselineRun | None:
        return next((b for b in self.baselines if b.baseline.name == name), None)

    def scale_points(self) -> list:
        """The sizes with scale figures (bench.scale.ScalePoint), smallest first."""
        points = [self.scale_x1] if self.scale_x1 is not None else []
        points += [p.scale for p in (self.growth or []) if p.scale is not None]
        return sorted(points, key=lambda p: p.factor)
