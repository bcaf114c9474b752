"""Where and on what a benchmark ran: commit, date, Python, cores, memory, CPU model."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from dataclasses import dataclass

from .measure import REPO


@dataclass
class Machine:
    commit: str
    date: str
    python: str
    cores: int
    memory_gb: float
    cpu: str
    system: str
    load_at_start: str  # 1/5/15-minute load averages: other work on the machine skews timings


def _git(*args: str) -> str:
    # Read-only git commands only: the harness never changes the repository's history.
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def commit() -> str:
    """``git rev-parse HEAD``, plus " (dirty)" when the working tree has changes."""
    head = _git("rev-parse", "HEAD") or "unknown (not a git checkout)"
    if _git("status", "--porcelain", "--untracked-files=normal"):
        head += " (dirty)"
    return head


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    try:
        import psutil

        return psutil.virtual_memory().total / 1e9
    except ImportError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return float("nan")


def describe() -> Machine:
    return Machine(
        commit=commit(),
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        python=platform.python_version() + f" ({platform.python_implementation()})",
        cores=os.cpu_count() or 0,
        memory_gb=_memory_gb(),
        cpu=_cpu_model(),
        system=platform.platform(),
        load_at_start=load_average(),
    )


def load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"
