"""Soak test: ``civic-search serve`` (waitress) under concurrent clients for a fixed time.

The server runs as a subprocess, exactly as deployed, on the loopback interface only. ``clients``
threads each hold one keep-alive HTTP connection and request a mixed set of URLs in turn (each
thread starting at a different one) until the time or the request budget is spent:

- ``/api/search?q=…`` for every query of the query set (``bench/queries.txt`` when it exists),
- the results page ``/search?q=…`` and the ``/embed`` widget for every fourth query,
- ``/api/facets?q=…`` and a meeting page ``/meetings/<id>?q=…`` for every eighth,
- and a few malformed queries, which must be answered 400 in the JSON error shape.

An error is any other status, a malformed body, or a failed connection. The server's resident
memory is sampled every second; memory is *flat* when no sample after the warm-up exceeds the
sample taken at the end of the warm-up by more than 10%.

    python -m bench.soak --index /tmp/soak-index            # 16 clients, 60 s, 10 s warm-up
    python -m bench.soak --index DIR --seconds 3 --warmup 1 --json result.json

Exit status 0 when there were no errors and memory stayed flat, else 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"  # loopback only: this tool never talks to another machine
REPO = Path(__file__).resolve().parent.parent
QUERIES_FILE = Path(__file__).resolve().parent / "queries.txt"
MAX_CLIENTS = 64
MAX_SECONDS = 3600
MAX_REQUESTS = 5_000_000
GROWTH_LIMIT = 0.10

#: Used when bench/queries.txt is absent.
DEFAULT_QUERIES = [
    "淨零排碳", "開放政府", "台北", "臺北", "的", "我們", "數位", "AI", "PoC", "口罩地圖",
    "開放 政府", '"開放 政府"', "台北 OR 臺中", "淨零 -排放", "(台北 OR 臺中) 淨零", "speaker:唐鳳",
    "speaker:唐鳳 開放政府", "title:協作會議", "date:2021..2022-06 開放政府", "date:2020", "社會企業",
    "參與式預算", "青年諮詢委員", "資料", "智慧城市", "vTaiwan", "連署", "健保", "透明", "協作會議",
]
#: Malformed queries: the expected answer is a 400 in the JSON error shape.
BAD_QUERIES = ['"淨零', "(台北", "OR", "foo:bar", "date:2023..2021", "-淨零"]


def load_queries(path: Path | None) -> list[str]:
    """Queries, one a line; ``#`` comments and ``## category`` lines are skipped."""
    path = path if path is not None else (QUERIES_FILE if QUERIES_FILE.exists() else None)
    if path is None:
        return list(DEFAULT_QUERIES)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    queries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return queries or list(DEFAULT_QUERIES)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def rss_kb(pid: int) -> int | None:
    """Resident memory of ``pid`` in KB (from /proc, else psutil when installed)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss // 1024
    except Exception:
        return None


def _get(conn: http.client.HTTPConnection, url: str) -> tuple[int, bytes, str]:
    conn.request("GET", url, headers={"Connection": "keep-alive"})
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Content-Type", "")


@contextmanager
def serve(index_dir: str | Path, threads: int = 8, start_timeout: float = 180.0):
    """``civic-search serve`` on a free loopback port; yields (process, port)."""
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "serve", "--index", str(index_dir), "--host", HOST,
         "--port", str(port), "--threads", str(threads)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the server exited with {proc.returncode}: {log.read()[-2000:]}")
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                status, _, _ = _get(conn, "/healthz")
                conn.close()
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz in time")
            time.sleep(0.1)
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def build_urls(port: int, queries: list[str]) -> list[tuple[str, int]]:
    """The mixed request set as (url, expected status)."""
    meeting_ids: list[str] = []
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    for query in queries[:40]:
        status, body, _ = _get(conn, "/api/search?" + urllib.parse.urlencode({"q": query, "limit": 3}))
        if status == 200:
            meeting_ids.extend(hit["meeting_id"] for hit in json.loads(body)["hits"])
    conn.close()
    meeting_ids = sorted(set(meeting_ids)) or [""]
    urls: list[tuple[str, int]] = []
    for i, query in enumerate(queries):
        q = urllib.parse.urlencode({"q": query})
        urls.append((f"/api/search?{q}&limit=10", 200))
        if i % 4 == 0:
            urls.append((f"/search?{q}", 200))
            urls.append((f"/embed?{q}", 200))
        if i % 8 == 0:
            urls.append((f"/api/facets?{q}", 200))
            mid = meeting_ids[i % len(meeting_ids)]
            if mid:
                urls.append((f"/meetings/{urllib.parse.quote(mid)}?{q}", 200))
    for query in BAD_QUERIES:
        urls.append(("/api/search?" + urllib.parse.urlencode({"q": query}), 400))
    return urls


def _check(url: str, expected: int, status: int, body: bytes, content_type: str) -> str | None:
    """None when the response is what ``url`` should get, else a short description."""
    if status != expected:
        return f"{status} for {url}"
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return f"malformed JSON for {url}"
        if expected == 400 and not (data.get("ok") is False and data.get("status") == 400):
            return f"not the error shape for {url}"
    return None


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(
    index_dir: str | Path,
    *,
    clients: int = 16,
    seconds: float = 60.0,
    warmup: float = 10.0,
    queries: list[str] | None = None,
    threads: int = 8,
    max_requests: int = MAX_REQUESTS,
) -> dict:
    """Run the soak test and return its figures (see the module docstring)."""
    clients = max(1, min(int(clients), MAX_CLIENTS))
    seconds = max(0.5, min(float(seconds), MAX_SECONDS))
    warmup = max(0.0, min(float(warmup), seconds / 2))
    queries = queries if queries is not None else load_queries(None)
    with serve(index_dir, threads=threads) as (proc, port):
        urls = build_urls(port, queries)
        lock = threading.Lock()
        latencies: list[tuple[float, float]] = []  # (time since start, ms)
        errors: list[str] = []
        budget = [max_requests]
        samples: list[tuple[float, int]] = []
        started = time.monotonic()
        deadline = started + seconds
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                rss = rss_kb(proc.pid)
                if rss is not None:
                    samples.append((time.monotonic() - started, rss))
                stop.wait(1.0)

        def client(offset: int) -> None:
            conn = http.client.HTTPConnection(HOST, port, timeout=60)
            i = offset
            while time.monotonic() < deadline:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                url, expected = urls[i % len(urls)]
                i += 1
                t0 = time.monotonic()
                try:
                    status, body, content_type = _get(conn, url)
                    problem = _check(url, expected, status, body, content_type)
                except (OSError, http.client.HTTPException) as err:
                    problem = f"{type(err).__name__}: {err} for {url}"
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=60)
                t1 = time.monotonic()
                with lock:
                    latencies.append((t0 - started, (t1 - t0) * 1000))
                    if problem:
                        errors.append(problem)
            conn.close()

        sampling = threading.Thread(target=sampler, daemon=True)
        sampling.start()
        workers = [threading.Thread(target=client, args=(n * len(urls) // clients,)) for n in range(clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - started
        stop.set()
        sampling.join()
        server_alive = proc.poll() is None

    after = [ms for t, ms in latencies if t >= warmup]
    at_warmup = next((rss for t, rss in samples if t >= warmup), samples[-1][1] if samples else None)
    later = [rss for t, rss in samples if t >= warmup]
    peak = max(later) if later else None
    growth = (peak / at_warmup - 1.0) if (peak and at_warmup) else None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "index": str(index_dir),
        "clients": clients,
        "server_threads": threads,
        "seconds": round(elapsed, 1),
        "warmup_seconds": warmup,
        "urls": len(urls),
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:10],
        "requests_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(percentile(after, 50), 1),
            "p90": round(percentile(after, 90), 1),
            "p99": round(percentile(after, 99), 1),
            "max": round(max(after), 1) if after else float("nan"),
        },
        "rss_mb": {
            "at_warmup": round(at_warmup / 1024, 1) if at_warmup else None,
            "peak_after_warmup": round(peak / 1024, 1) if peak else None,
            "final": round(samples[-1][1] / 1024, 1) if samples else None,
            "samples": len(samples),
            "every_second": [[round(t, 1), round(rss / 1024, 1)] for t, rss in samples],
        },
        "rss_growth": round(growth, 4) if growth is not None else None,
        "memory_flat": growth is not None and growth <= GROWTH_LIMIT,
        "server_alive": server_alive,
    }


def report(result: dict) -> str:
    lat, rss = result["latency_ms"], result["rss_mb"]
    growth = "n/a" if result["rss_growth"] is None else f"{result['rss_growth'] * 100:.1f}%"
    lines = [
        f"Soak test {result['date']} on {result['machine']}",
        f"  index {result['index']}; {result['clients']} clients, {result['server_threads']} server threads, "
        f"{result['seconds']} s ({result['warmup_seconds']} s warm-up), {result['urls']} distinct URLs",
        f"  requests {result['requests']} ({result['requests_per_second']}/s), errors {result['errors']}",
        f"  latency after warm-up: p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms",
        f"  server RSS: {rss['at_warmup']} MB at the end of the warm-up, peak {rss['peak_after_warmup']} MB after it, "
        f"{rss['final']} MB at the end ({rss['samples']} samples); growth {growth}"
        f" -> {'flat' if result['memory_flat'] else 'NOT flat'}",
    ]
    for example in result["error_examples"]:
        lines.append(f"  error: {example}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True, help="index directory to serve")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (civic-search serve --threads)")
    parser.add_argument("--queries", type=Path, default=None, help="query file (default: bench/queries.txt)")
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = run(
        args.index, clients=args.clients, seconds=args.seconds, warmup=args.warmup,
        queries=load_queries(args.queries) if args.queries else None, threads=args.threads,
        max_requests=args.max_requests,
    )
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if result["errors"] == 0 and result["memory_flat"] and result["server_alive"] else 1


if __name__ == "__main__":
    sys.exit(main())
