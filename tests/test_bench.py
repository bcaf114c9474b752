"""Smoke test of the benchmark harness: every section end to end on a tiny corpus.

No timing assertions: the point is that the harness runs, writes every section, and that the
engine's recall against the brute-force oracle is exactly 1.0 on the fixture corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.paths import bundled_corpus_dir

REPO = Path(__file__).resolve().parent.parent
INDEX_FIXTURES = Path(__file__).parent / "fixtures" / "index"

# One query per category, so that --quick (5 queries, round-robin over categories) keeps them all.
QUERIES = """\
# Smoke-test queries for the fixture corpus.
## or
淨零排碳 OR 開放政府
## not
淨零 -排放
## speaker
speaker:唐鳳 淨零
## date
date:2021..2023 臺北
## short
PoC
"""

SECTIONS = [
    "## Run",
    "## Targets",
    "## Index build",
    "### Adding one meeting to the built index",
    "## Warm query latency and recall",
    "### Engine latency by query category",
    "### Recall failures",
    "## Command line in a new process",
    "## Web API under load",
    "## Growth",
    "## Office document extraction",
    "### Library comparison",
    "## Baselines: what each does and cannot express",
]


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted(INDEX_FIXTURES.glob("*.md")) + sorted(bundled_corpus_dir().glob("*.txt")):
        shutil.copy(path, folder / path.name)
    return folder


def run_bench(tmp_path: Path, corpus: Path, *extra: str, env: dict | None = None) -> tuple[str, dict]:
    queries = tmp_path / "queries.txt"
    queries.write_text(QUERIES, encoding="utf-8")
    out, summary = tmp_path / "benchmarks.md", tmp_path / "benchmarks.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--corpus", str(corpus), "--out", str(out), "--json",
         str(summary), "--queries-file", str(queries), "--workdir", str(tmp_path / "work"), *extra],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=600, env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out.read_text(encoding="utf-8"), json.loads(summary.read_text(encoding="utf-8"))


def test_quick_run_writes_every_section(tmp_path, tiny_corpus):
    report, summary = run_bench(tmp_path, tiny_corpus, "--scale", "2")
    for heading in SECTIONS + ["## Scale", "### Searching", "### Pages (p50 / p99 / slowest, and the slowest query)"]:
        assert heading in report, heading
    assert "failed:" not in report, report[report.find("## Notes"):]
    assert summary["queries"] == 5
    assert all(summary["sections"].values()), summary["sections"]
    assert summary["engine"]["recall"] == 1.0
    assert summary["engine"]["extra"] == 0 and summary["engine"]["wrong_totals"] == 0
    assert "| ×1 |" in report and "| ×2 |" in report
    assert "brute force" in summary["baselines"]
    # The scale figures at ×1 and ×2: exact against the oracle expanded to the copies, every
    # new-process search and every page answered.
    assert set(summary["scale"]) == {"x1", "x2"}
    for point in summary["scale"].values():
        assert point["exact"] and point["recall"] == 1.0
        assert point["api_errors"] == 0 and point["page_errors"] == 0
        assert point["new_process_median_seconds"] > 0
        assert set(point["pages_ms"]) == {"/search", "/kwic", "/speakers"}
    assert "×1: search in a new process ≤ 0.3 s (median over the query set)" in summary["targets"]
    assert summary["targets"]["×16 targets (issue #12)"]["ok"] is None  # not measured at --scale 2


def test_quick_run_without_optional_packages(tmp_path, tiny_corpus):
    # Shadow tantivy and psutil with modules that fail to import, in the harness and its children.
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    for name in ("tantivy", "psutil"):
        (blocker / f"{name}.py").write_text(f"raise ImportError('{name} blocked for this test')\n")
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    report, summary = run_bench(tmp_path, tiny_corpus, "--skip-growth", "--baselines", "brute,tantivy", env=env)
    assert "not installed" in report
    assert "ru_maxrss" in report
    assert summary["engine"]["recall"] == 1.0
