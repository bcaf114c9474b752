"""``civic-search serve --workers N``: worker processes on one port, supervised by the parent.

Each test starts the real command as a subprocess (in its own session, so that a failing test
can still kill everything it started) on the fixture index, and watches its processes in /proc.
No timing assertions: only generous timeouts.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from hardening import alive, assert_no_traceback, children_of, one_line_error

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks, and reads /proc")

TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, what: str):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Served:
    proc: subprocess.Popen
    port: int
    log: Path

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def answers(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def workers(self) -> set[int]:
        return {pid for pid in children_of(self.proc.pid) if alive(pid)}

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8")


def serve_command(index_dir: Path, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "indexer", "serve", "--index", str(index_dir), "--port", str(port), *extra]


@pytest.fixture
def served(index_dir, tmp_path):
    """``serve --workers 2`` on a free port, answering /healthz with both workers started."""
    log, port = tmp_path / "serve.log", free_port()
    with open(log, "w", encoding="utf-8") as stream:
        proc = subprocess.Popen(serve_command(index_dir, port, "--workers", "2"), stdout=stream, stderr=stream,
                                start_new_session=True)
    server = Served(proc, port, log)
    try:
        wait_for(lambda: proc.poll() is not None or "worker processes" in server.stderr(), "the startup message")
        assert proc.poll() is None, server.stderr()
        wait_for(server.answers, "/healthz")
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def test_two_workers_answer(served, index_dir):
    assert served.stderr().splitlines()[0] == (
        f"Serving {index_dir} at http://127.0.0.1:{served.port}/ with 2 worker processes (Ctrl+C to stop)"
    )
    assert len(served.workers()) == 2
    status, body = served.get("/api/search?" + urllib.parse.urlencode({"q": "淨零排碳"}))
    assert status == 200
    data = json.loads(body)
    assert data["total"] > 0 and data["hits"][0]["snippet"]


def test_a_killed_worker_is_replaced(served):
    before = served.workers()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int] | None:
        now = served.workers()
        return now if len(now) == 2 and victim not in now else None

    after = wait_for(replaced, "a replacement worker")
    assert len(after - before) == 1
    wait_for(served.answers, "/healthz after the restart")
    assert served.get("/api/search?q=PoC")[0] == 200
    assert f"civic-search: worker {victim} was killed by SIGKILL; starting a new one in " in served.stderr()


@pytest.mark.parametrize("how", ["SIGTERM to the server", "Ctrl+C in its terminal"])
def test_stopping_ends_every_process_and_frees_the_port(served, how):
    workers = served.workers()
    if how == "SIGTERM to the server":
        served.proc.send_signal(signal.SIGTERM)
    else:  # the terminal sends SIGINT to the whole foreground process group
        os.killpg(served.proc.pid, signal.SIGINT)
    assert served.proc.wait(timeout=TIMEOUT) == 0
    assert not [pid for pid in workers if alive(pid)]
    assert port_is_free(served.port)
    assert_no_traceback(served.stderr())


def test_workers_exit_when_the_server_is_killed(served):
    workers = served.workers()
    served.proc.kill()
    served.proc.wait()
    wait_for(lambda: not [pid for pid in workers if alive(pid)], "the orphaned workers to exit")
    wait_for(lambda: port_is_free(served.port), "the port to be free")


def test_busy_port_is_a_one_line_error(index_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(serve_command(index_dir, port, "--workers", "2"), capture_output=True, text=True,
                              timeout=TIMEOUT)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == "Error: Address already in use"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_unknown_host_is_a_one_line_error(index_dir, workers):
    port = free_port()
    done = subprocess.run(serve_command(index_dir, port, "--host", "no-such-host.invalid", "--workers", workers),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert one_line_error(done.stderr) == (
        f"Error: cannot listen on no-such-host.invalid:{port}: not a known host name or address"
    )


def test_workers_need_fork(index_dir, monkeypatch):
    from indexer.cli import main
    from search_web import serving

    monkeypatch.setattr(serving, "CAN_FORK", False)
    result = CliRunner().invoke(main, ["serve", "--index", str(index_dir), "--workers", "2"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--workers': more than 1 needs os.fork, which Windows does not have; use --workers 1"
    )
