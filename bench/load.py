"""The web API under load: ``civic-search serve`` (waitress) driven by concurrent clients.

The server runs as a subprocess, exactly as deployed; the harness waits for ``/healthz``, then
``clients`` threads each hold one keep-alive ``http.client`` connection and request
``/api/search?q=…`` for the query set in turn until the time or request budget is spent. Any
response other than 200, or a failed connection, is an error. Two phases: the query set as it
is (after one warm-up pass the engine's page cache can answer every request), and distinct query
strings with the same meaning (every request is evaluated). The same server answers the
CLI-vs-API consistency check.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from .cli_runs import cli_command, cli_search_json
from .measure import have_psutil, subprocess_env, summary_ms
from .queries import pad


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``civic-search serve --index DIR --port P --workers N`` as a context manager."""

    def __init__(self, index_dir: str, log_path: Path, start_timeout: float = 180.0, workers: int = 1):
        self.index_dir = index_dir
        self.workers = workers
        self.port = free_port()
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.start_seconds = float("nan")

    def __enter__(self) -> "Server":
        self.log = open(self.log_path, "w", encoding="utf-8")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            cli_command() + ["serve", "--index", self.index_dir, "--port", str(self.port),
                             "--workers", str(self.workers)],
            stdout=self.log, stderr=subprocess.STDOUT, env=subprocess_env(),
        )
        deadline = started + self.start_timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _ = self.get("/healthz", timeout=2)
                if status == 200:
                    self.start_seconds = time.perf_counter() - started
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server did not answer /healthz within {self.start_timeout:.0f} s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def get(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def rss(self) -> int:
        """The server's resident memory now, its worker processes included (0 without psutil)."""
        if not have_psutil():
            return 0
        import psutil

        try:
            proc = psutil.Process(self.proc.pid)
            return sum(p.memory_info().rss for p in [proc] + proc.children(recursive=True))
        except psutil.Error:
            return 0


def search_path(query: str) -> str:
    return "/api/search?" + urllib.parse.urlencode({"q": query})


@dataclass
class Consistency:
    """CLI ``--json`` against ``/api/search`` for the same queries."""

    compared: int = 0
    equal: int = 0
    differences: list[str] = field(default_factory=list)


def compare_cli_api(server: Server, queries: list[str]) -> Consistency:
    out = Consistency()
    for query in queries:
        out.compared += 1
        try:
            cli = cli_search_json(server.index_dir, query)
            status, body = server.get(search_path(query))
            api = json.loads(body)
        except Exception as err:
            out.differences.append(f"{query}: {type(err).__name__}: {err}")
            continue
        if status == 200 and cli == api:
            out.equal += 1
        else:
            cli_hits = [(h["meeting_id"], h["turn"]) for h in cli.get("hits", [])]
            api_hits = [(h["meeting_id"], h["turn"]) for h in api.get("hits", [])] if isinstance(api, dict) else []
            out.differences.append(
                f"{query}: HTTP {status}; CLI total {cli.get('total')} vs API {api.get('total') if isinstance(api, dict) else '?'}; "
                f"same hits in the same order: {cli_hits == api_hits}"
            )
    return out


@dataclass
class LoadResult:
    clients: int
    seconds: float = 0.0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else float("nan")

    def summary(self) -> dict[str, float]:
        return summary_ms(self.latencies)


def drive(server: Server, queries: list[str], clients: int, seconds: float, max_requests: int,
          distinct: bool = False) -> LoadResult:
    """Run the load (see the module docstring).

    Requests take the query set in turn (request n asks query n mod len). With ``distinct``,
    request n's query is padded with spaces (see :func:`pad`): the same query to the parser,
    but a string no earlier request used, so a result cache keyed on the query string cannot
    answer it.
    """
    result = LoadResult(clients)
    lock = threading.Lock()
    state = {"issued": 0}
    deadline = time.perf_counter() + seconds

    def path_of(n: int) -> tuple[str, str]:
        query = queries[n % len(queries)]
        return search_path(pad(query, n // len(queries)) if distinct else query), query

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        latencies: list[float] = []
        errors: list[str] = []
        while time.perf_counter() < deadline:
            with lock:
                n = state["issued"]
                if n >= max_requests:
                    break
                state["issued"] += 1
            path, shown = path_of(n)
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(f"HTTP {resp.status} for {shown}")
                else:
                    latencies.append(time.perf_counter() - started)
            except (OSError, http.client.HTTPException) as err:
                errors.append(f"{type(err).__name__} for {shown}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += len(errors)
            result.error_samples.extend(errors[: max(0, 5 - len(result.error_samples))])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    result.requests = len(result.latencies) + result.errors
    return result
