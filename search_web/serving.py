"""Pre-fork serving: several worker processes answer on one listening socket.

Searching is CPU-bound Python, so one process is held to about one core by the GIL.
``civic-search serve --workers N`` therefore binds the socket once, in the supervisor, and forks
N workers that all accept on it; the kernel hands each new connection to one of them. Each worker
opens its own engine and app *after* the fork: an index's open files and locks must not be shared
between processes.

Vocabulary
----------
supervisor
    The parent process. It binds, forks the workers, restarts a worker that dies (after a short
    back-off, with a line on stderr) and stops them all on SIGTERM or SIGINT. :data:`MAX_DEATHS`
    deaths within :data:`DEATH_WINDOW` seconds is a crash loop: it stops everything and reports
    an error instead of restarting forever.
worker
    A child process. It reports on a pipe that its app is ready, or the one-line error why it
    cannot start, then serves with waitress until it is terminated or its supervisor is gone.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from indexer.errors import CivicSearchError

CAN_FORK = hasattr(os, "fork")  # not on Windows

MAX_DEATHS = 5
DEATH_WINDOW = 10.0  # seconds
BACKOFF_FIRST = 0.25  # seconds before the first restart; doubles with each recent death
BACKOFF_MAX = 2.0
STOP_TIMEOUT = 10.0  # seconds the workers get to exit on SIGTERM before SIGKILL
TICK = 0.2  # how often the supervisor looks at its workers
PARENT_CHECK = 1.0  # how often a worker checks that its supervisor is still there

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ServeError(CivicSearchError):
    """The server cannot start, or its workers keep dying."""


#: glibc's mallopt parameter for the number of heap arenas, and the number a server keeps.
_M_ARENA_MAX = -8
ARENAS = 2


def share_heap_arenas() -> bool:
    """Let a serving process's threads share ARENAS glibc heap arenas (True when set).

    A common term's arrays are tens of megabytes, allocated and freed on every request. glibc
    gives each thread that allocates its own heap arena (up to eight per core), and each arena
    keeps the largest amount it ever held: with waitress's eight threads a worker's resident
    memory grew to ~450 MB at ×16, against ~300 MB with two shared arenas, at no measurable
    cost in time (the GIL serialises the threads anyway). Returning large blocks to the system
    on every free instead (a fixed ``M_MMAP_THRESHOLD``) keeps it at ~200 MB but costs a third
    more CPU per search in page faults. Only for glibc; elsewhere a no-op.
    """
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, ARENAS))
    except (OSError, AttributeError):
        return False


def listen_addresses(host: str, port: int) -> list[tuple]:
    """The (family, type, proto, sockaddr) to listen on, resolved exactly as waitress does."""
    from waitress.adjustments import Adjustments

    try:
        return Adjustments(host=host, port=port).listen
    except ValueError:  # waitress's "Invalid host/port specified."
        raise ServeError(f"cannot listen on {host}:{port}: not a known host name or address") from None


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for ``host:port`` (one per address); OSError if the port is in use."""
    from waitress.adjustments import Adjustments

    sockets: list[socket.socket] = []
    try:
        for family, socktype, proto, sockaddr in listen_addresses(host, port):
            sock = socket.socket(family, socktype, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does on POSIX
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(Adjustments.backlog)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _log(message: str) -> None:
    print(f"civic-search: {message}", file=sys.stderr, flush=True)


@dataclass
class Worker:
    pid: int
    ready_fd: int | None  # read end of the worker's ready pipe, until it has reported
    ready: bool = False
    error: str = ""  # the one-line error it reported instead of starting


class Supervisor:
    """Runs ``workers`` processes of ``make_app`` on ``sockets`` until SIGTERM or SIGINT.

    ``make_app`` is called in each worker after the fork; an exception it raises is reported as
    its one-line message. ``on_ready`` is called once, when every first worker is ready.
    """

    def __init__(self, make_app: Callable[[], object], sockets: list[socket.socket], *, workers: int,
                 threads: int, on_ready: Callable[[], None] = lambda: None):
        self.make_app = make_app
        self.sockets = sockets
        self.count = workers
        self.threads = threads
        self.on_ready = on_ready
        self.workers: dict[int, Worker] = {}
        self.serving = False  # every first worker has been ready: from now on deaths are restarted
        self.stopping = False
        self.deaths: deque[float] = deque()
        self.restarts: list[float] = []  # when to start a replacement (time.monotonic)

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT (returns), or raise ServeError if the workers cannot run."""
        # A SIGINT ignored on the way in (a background job of a shell script, nohup) stays ignored,
        # as it does for the single-process server.
        previous = {sig: signal.signal(sig, self._request_stop) for sig in _STOP_SIGNALS
                    if signal.getsignal(sig) is not signal.SIG_IGN}
        try:
            for _ in range(self.count):
                self._spawn()
            while not self.stopping:
                self._tick()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    # --- the supervisor's loop -------------------------------------------------------------

    def _tick(self) -> None:
        waiting = {w.ready_fd: w for w in self.workers.values() if w.ready_fd is not None}
        if waiting:
            readable, _, _ = select.select(list(waiting), [], [], TICK)
            for fd in readable:
                self._read_report(waiting[fd])
        else:
            time.sleep(TICK)
        for pid in list(self.workers):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                self._died(self.workers.pop(pid), status)
        if not self.serving and len(self.workers) == self.count and all(w.ready for w in self.workers.values()):
            self.serving = True
            self.on_ready()
        now = time.monotonic()
        for due in [t for t in self.restarts if t <= now]:
            self.restarts.remove(due)
            if not self.stopping:
                self._spawn()

    def _read_report(self, worker: Worker) -> None:
        """Read the worker's one report: an empty line when ready, else its error (EOF: it died)."""
        data = os.read(worker.ready_fd, 4096)
        os.close(worker.ready_fd)
        worker.ready_fd = None
        if data.strip():
            worker.error = data.decode("utf-8", "replace").strip()
        elif data:
            worker.ready = True

    def _died(self, worker: Worker, status: int) -> None:
        if worker.ready_fd is not None:
            self._read_report(worker)  # it may have reported just before it exited
        if self.stopping:
            return
        how = _describe(status)
        if not self.serving:  # what stops one worker from starting stops them all
            raise ServeError(worker.error or f"a worker process {how} while starting")
        why = f" ({worker.error})" if worker.error else ""
        now = time.monotonic()
        self.deaths.append(now)
        while now - self.deaths[0] > DEATH_WINDOW:
            self.deaths.popleft()
        if len(self.deaths) >= MAX_DEATHS:
            raise ServeError(f"{len(self.deaths)} worker processes died within {DEATH_WINDOW:.0f} s, the "
                             f"last {how}{why}; stopping the server")
        delay = min(BACKOFF_FIRST * 2 ** (len(self.deaths) - 1), BACKOFF_MAX)
        _log(f"worker {worker.pid} {how}{why}; starting a new one in {delay:.2g} s")
        self.restarts.append(now + delay)

    def _stop_all(self) -> None:
        for pid in self.workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.workers:
            for pid in list(self.workers):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                elif not os.waitpid(pid, os.WNOHANG)[0]:
                    continue
                worker = self.workers.pop(pid)
                if worker.ready_fd is not None:
                    os.close(worker.ready_fd)
            time.sleep(0.05)

    # --- forking ---------------------------------------------------------------------------

    def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        supervisor = os.getpid()
        # Block the stop signals across the fork, so that a SIGTERM sent to a new worker before
        # it has reset its handlers is not swallowed by the supervisor's handler in the child.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                self._worker(write_fd, supervisor)  # never returns
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        os.close(write_fd)
        self.workers[pid] = Worker(pid, read_fd)

    def _worker(self, report_fd: int, supervisor: int) -> None:
        """The child: open the app, report, serve; always ends the process here."""
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # Ctrl+C reaches the whole process group: the supervisor handles it and stops us.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            for worker in self.workers.values():  # the other workers' pipes are not ours
                if worker.ready_fd is not None:
                    os.close(worker.ready_fd)
            _exit_with_parent(supervisor)
            try:
                app = self.make_app()
            except Exception as err:
                os.write(report_fd, _one_line(err).encode("utf-8") + b"\n")
                return
            os.write(report_fd, b"\n")
            os.close(report_fd)
            from waitress import serve

            serve(app, sockets=self.sockets, threads=self.threads, ident="civic-search")
            code = 0
        except BaseException as err:  # unexpected: one line, and the supervisor starts a new worker
            _log(f"worker {os.getpid()}: {type(err).__name__}: {_one_line(err)}")
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)


def _exit_with_parent(parent: int) -> None:
    """End this worker when its supervisor is gone (killed with SIGKILL, say): no orphan keeps the port."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        os._exit(1)

    threading.Thread(target=watch, name="civic-search-parent-watch", daemon=True).start()


def serve_forked(make_app: Callable[[], object], sockets: list[socket.socket], *, workers: int, threads: int,
                 on_ready: Callable[[], None] = lambda: None) -> None:
    """Serve from ``workers`` processes until SIGTERM or SIGINT; closes ``sockets`` at the end."""
    try:
        Supervisor(make_app, sockets, workers=workers, threads=threads, on_ready=on_ready).run()
    finally:
        for sock in sockets:
            sock.close()
