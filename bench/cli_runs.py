"""The command line in a new process: cold-start latency, and the JSON the CLI prints.

Each run is a fresh ``civic-search search QUERY --index DIR --json`` process, so the time
includes interpreter start, imports and opening the index, as a user at a terminal sees it.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .measure import subprocess_env


def cli_command() -> list[str]:
    """``civic-search`` when installed (beside this interpreter or on PATH), else ``python -m indexer``."""
    beside = Path(sys.executable).with_name("civic-search")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("civic-search")
    if found:
        return [found]
    return [sys.executable, "-m", "indexer"]


def cli_search_json(index_dir: str, query: str, timeout: float = 120, extra: tuple[str, ...] = ()) -> dict:
    """The object ``civic-search search QUERY [EXTRA...] --json`` prints (raises on a non-zero exit)."""
    done = subprocess.run(cli_command() + ["search", query, *extra, "--index", index_dir, "--json"],
                          capture_output=True, text=True, encoding="utf-8", env=subprocess_env(),
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


@dataclass
class ColdStart:
    command: str
    query: str
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def cold_start(index_dir: str, query: str, runs: int, extra: tuple[str, ...] = ()) -> ColdStart:
    """Wall time of ``runs`` new-process searches (one untimed run first, for the page cache);
    ``extra`` are more options (``--speaker NAME``)."""
    options = " ".join(extra) + " " if extra else ""
    out = ColdStart(" ".join(Path(c).name if i == 0 else c for i, c in enumerate(cli_command()))
                    + f" search {query} {options}--index DIR --json", query)
    try:
        cli_search_json(index_dir, query, extra=extra)
    except Exception as err:
        out.errors.append(str(err))
        return out
    for _ in range(runs):
        started = time.perf_counter()
        try:
            cli_search_json(index_dir, query, extra=extra)
        except Exception as err:
            out.errors.append(str(err))
            continue
        out.seconds.append(time.perf_counter() - started)
    return out
