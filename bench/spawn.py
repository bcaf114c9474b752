"""A small process that starts the measured commands, so their peak RSS is their own.

A process's peak RSS (``ru_maxrss`` from ``wait4``) includes what it held between ``fork`` and
``exec``: a command started by the harness, which holds the corpus and the oracle, would report
the harness's size. This launcher is a bare interpreter: it reads one JSON request a line on
stdin (``{"args": [...], "timeout": s}``), runs the command with its output discarded, and
writes back ``{"wall": s, "rss": bytes, "status": n}``.

    python -m bench.spawn        # used through bench.spawn.Launcher
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time


def run(args: list[str], timeout: float) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "rss": usage.ru_maxrss * 1024, "status": proc.returncode}


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(run(request["args"], request.get("timeout", 120))), flush=True)


class Launcher:
    """The launcher as a child of the harness (a context manager); :meth:`run` one command."""

    def __enter__(self) -> "Launcher":
        from .measure import subprocess_env

        self.proc = subprocess.Popen([sys.executable, "-m", "bench.spawn"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=subprocess_env())
        return self

    def run(self, args: list[str], timeout: float = 120) -> tuple[float, int, int]:
        """(wall seconds, peak RSS bytes, exit status) of ``args``."""
        self.proc.stdin.write(json.dumps({"args": args, "timeout": timeout}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return answer["wall"], answer["rss"], answer["status"]

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


if __name__ == "__main__":
    main()
