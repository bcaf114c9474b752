"""Measuring tools: percentiles, and a subprocess run with wall time, CPU time and peak RSS.

CPU time counts every process of a run: the run is a child of the harness, and
``resource.getrusage(RUSAGE_CHILDREN)`` includes the child's own waited-for children (the build's
worker processes). Peak memory is the maximum, over samples every 0.2 s, of the summed RSS of
the child and all its descendants (psutil); without psutil it falls back to the largest single
process's peak RSS (``ru_maxrss``), which undercounts a multi-process build.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_SECONDS = 0.2


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean / max in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": statistics.fmean(ms) if ms else float("nan"),
        "max": max(ms) if ms else float("nan"),
    }


def subprocess_env() -> dict[str, str]:
    """The environment for child processes: the repository importable, no stray index setting."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.pop("CIVIC_SEARCH_INDEX", None)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def have_psutil() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                break
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass  # a worker that just ended
            self.peak = max(self.peak, total)
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> int:
        self._stop_event.set()
        self.join(timeout=5)
        return self.peak


@dataclass
class RunResult:
    """What one measured subprocess did."""

    wall: float
    cpu: float  # user + system seconds, the child and its descendants
    peak_rss: int  # bytes
    rss_method: str
    returncode: int
    output: dict  # the JSON object the child printed on its last stdout line, if any
    stderr: str


def run_measured(args: list[str], *, cwd: str | Path | None = None, timeout: float | None = None) -> RunResult:
    """Run ``args`` as a child process and measure it (see the module docstring)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8")
    sampler = TreeSampler(proc.pid) if have_psutil() else None
    if sampler:
        sampler.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    peak = sampler.stop() if sampler else 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    method = "psutil, RSS summed over the process tree every 0.2 s (pages shared by forked workers count once per process)"
    if not sampler:
        peak = after.ru_maxrss * 1024  # kilobytes on Linux; the largest single process
        method = "ru_maxrss, largest single process (psutil not installed)"
    output: dict = {}
    for line in reversed(stdout.strip().splitlines()):
        try:
            output = json.loads(line)
            break
        except ValueError:
            continue
    return RunResult(wall, cpu, peak, method, proc.returncode, output, stderr[-4000:])


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
