"""Index builds, measured in a subprocess: from scratch, and adding one new meeting."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .corpus import size_by_kind, transcript_files, tree_size
from .measure import RunResult, python_module, run_measured


@dataclass
class BuildResult:
    run: RunResult
    index_bytes: int
    by_kind: dict[str, int]  # index bytes by file extension

    @property
    def ok(self) -> bool:
        return self.run.returncode == 0

    @property
    def call_seconds(self) -> float:
        """Time inside ``build_index`` (the process time minus interpreter start and imports)."""
        return float(self.run.output.get("build_seconds", float("nan")))


def measure_build(paths: list[str], index_dir: Path, rebuild: bool = True, timeout: float = 7200) -> BuildResult:
    """Run ``build_index(paths, index_dir)`` in a measured child process."""
    args = ["--index", str(index_dir)] + (["--rebuild"] if rebuild else []) + paths
    run = run_measured(python_module("bench.build_runner", *args), timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(f"the build failed (exit {run.returncode}):\n{run.stderr}")
    return BuildResult(run, tree_size(index_dir), size_by_kind(index_dir))


def pick_new_meeting(corpus: str) -> Path:
    """A transcript of median size: the meeting 'added' to the built index."""
    files = sorted(transcript_files(corpus), key=lambda p: (p.stat().st_size, p.name))
    return files[len(files) // 2]


def measure_add_one(corpus: str, index_dir: Path, workdir: Path) -> tuple[BuildResult, str]:
    """Copy the built index, then time a ``build_index`` run that adds one new meeting to it.

    The run is given the corpus folder and the new file, as ``civic-search index`` would be
    after a new transcript arrives: it also checks every known file for changes. Working on a
    copy keeps the main index identical to the corpus the oracle knows.
    """
    copy = workdir / "index-add-one"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index_dir, copy)
    source = pick_new_meeting(corpus)
    new = workdir / "new-meeting" / f"new-{source.name}"
    new.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, new)
    try:
        result = measure_build([corpus, str(new)], copy, rebuild=False)
        if result.run.output.get("added") != 1:
            raise RuntimeError(f"adding one meeting did not add exactly one: {result.run.output}")
        return result, f"{source.name} ({source.stat().st_size / 1000:.0f} kB)"
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(new.parent, ignore_errors=True)
