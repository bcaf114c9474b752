"""The alerts database: watches, the meetings already seen, the outbox and the rate limits.

One SQLite file beside the index (:data:`DB_NAME` in the index folder). Whoosh deletes only its
own files there (``_MAIN_*.toc`` and ``MAIN_<segment>.*``), so the database survives
``civic-search index --rebuild``. Every change is one transaction (``BEGIN IMMEDIATE``, with a
busy timeout), so concurrent ``alerts send`` runs and web workers take turns instead of failing
or interleaving. The schema has a version (``PRAGMA user_version``) and numbered migrations; a
file that is not this database, or that a newer version wrote, is a clear error and is left as
it is: watches are never silently recreated.

Vocabulary
----------
sequence
    A counter of index syncs that found something new. Each meeting version (meeting id and
    content hash) is recorded with the sequence at which it was first seen, so a changed
    meeting is new again.
watch
    A saved search with its recipients; ``last_seq`` is the sequence it has been notified up to.
outbox
    Messages composed and waiting to be delivered (``queued``), delivered (``sent``: the sent
    log) or dropped because their watch was removed (``cancelled``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import CivicSearchError

DB_NAME = "alerts.sqlite3"
BUSY_TIMEOUT = 30.0
#: Seconds a run may take to deliver one message before another run may try it.
CLAIM_LEASE = 600.0

_V1 = """
CREATE TABLE watches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: links carry the id
    query TEXT NOT NULL,
    speaker TEXT NOT NULL DEFAULT '',
    since TEXT NOT NULL DEFAULT '',
    until TEXT NOT NULL DEFAULT '',
    aliases INTEGER NOT NULL DEFAULT 0,
    email TEXT NOT NULL DEFAULT '',
    webhook TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    last_seq INTEGER NOT NULL,
    last_notified_at TEXT
);
CREATE TABLE syncs (
    seq INTEGER PRIMARY KEY,
    synced_at TEXT NOT NULL,
    meetings INTEGER NOT NULL
);
CREATE TABLE seen_meetings (
    meeting_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, content_hash)
) WITHOUT ROWID;
CREATE INDEX seen_meetings_seq ON seen_meetings (seq);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    watch_id INTEGER,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_error TEXT,
    claimed_until REAL,  -- a run is delivering it: others leave it alone until then
    sent_at TEXT
);
CREATE INDEX outbox_status ON outbox (status, id);
CREATE TABLE rate_events (
    bucket TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX rate_events_bucket ON rate_events (bucket, at);
"""

#: Migration n (1-based) brings the schema from version n-1 to n. Append; never edit.
MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)
_TABLES = {"watches", "syncs", "seen_meetings", "outbox", "rate_events"}


class AlertStoreError(CivicSearchError):
    """The alerts database cannot be used (damaged, from a newer version, unwritable)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Watch:
    """A saved search and where its alerts go."""

    id: int
    query: str
    speaker: str
    since: str
    until: str
    aliases: bool
    email: str
    webhook: str
    status: str
    origin: str
    created_at: str
    confirmed_at: str | None
    last_seq: int
    last_notified_at: str | None
    queued: int = 0

    @property
    def filters(self) -> dict:
        """Keyword arguments for ``SearchEngine.run``."""
        return {
            "speaker": self.speaker or None,
            "since": self.since or None,
            "until": self.until or None,
            "aliases": self.aliases,
        }

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "query": self.query,
            "speaker": self.speaker,
            "since": self.since,
            "until": self.until,
            "aliases": self.aliases,
            "email": self.email,
            "webhook": self.webhook,
            "status": self.status,
            "origin": self.origin,
            "created_at": self.created_at,
            "confirmed_at": self.confirmed_at,
            "last_notified_at": self.last_notified_at,
            "queued": self.queued,
        }


@dataclass(frozen=True)
class OutboxMessage:
    """One composed message: RFC 5322 bytes for e-mail, JSON for a webhook."""

    id: int
    watch_id: int | None
    kind: str
    channel: str
    recipient: str
    subject: str
    body: bytes
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class Outgoing:
    """A message to put in the outbox."""

    kind: str
    channel: str
    recipient: str
    subject: str
    body: bytes


_WATCH_COLUMNS = (
    "id, query, speaker, since, until, aliases, email, webhook, status, origin, created_at, "
    "confirmed_at, last_seq, last_notified_at"
)


def _watch(row: tuple, queued: int = 0) -> Watch:
    values = list(row)
    values[5] = bool(values[5])
    return Watch(*values, queued=queued)


class AlertStore:
    """One open alerts database. Use one per thread (or per request); close it when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self.db = connection

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def path_for(cls, index_dir: str | os.PathLike) -> Path:
        return Path(index_dir) / DB_NAME

    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = True) -> "AlertStore":
        """Open (or, with ``create``, create) the database at ``path``; migrate an older schema.

        Raises AlertStoreError when the file is not an alerts database, is damaged, or comes
        from a newer version; the file is then left untouched.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise AlertStoreError(f"no alerts database at {path}")
            _create(path)
        elif path.is_file() and path.stat().st_size == 0:
            raise AlertStoreError(_damaged(path, "the file is empty"))
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise AlertStoreError(f"cannot open the alerts database {path} ({err})") from None
        store = cls(path, connection)
        try:
            store._check_and_migrate()
        except BaseException:
            connection.close()
            raise
        return store

    def _check_and_migrate(self) -> None:
        try:
            check = self.db.execute("PRAGMA quick_check").fetchone()[0]
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as err:
            raise AlertStoreError(_damaged(self.path, str(err))) from None
        if check != "ok":
            raise AlertStoreError(_damaged(self.path, f"integrity check: {check}"))
        if version > SCHEMA_VERSION:
            raise AlertStoreError(
                f"the alerts database {self.path} was written by a newer version of civic-search "
                f"(schema {version}; this version knows {SCHEMA_VERSION}); upgrade civic-search"
            )
        if version == 0 or not _TABLES <= tables:
            raise AlertStoreError(_damaged(self.path, "it is not an alerts database of civic-search"))
        if version < SCHEMA_VERSION:
            with self.transaction() as db:
                current = db.execute("PRAGMA user_version").fetchone()[0]
                for number in range(current + 1, SCHEMA_VERSION + 1):
                    _run_script(db, MIGRATIONS[number - 1])
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "AlertStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; concurrent writers wait (busy timeout) rather than fail."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise AlertStoreError(f"the alerts database {self.path} is busy or read-only ({err})") from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as err:
            self.db.execute("ROLLBACK")
            raise AlertStoreError(f"could not write the alerts database {self.path} ({err})") from None

    # --- meetings seen ---------------------------------------------------------------------

    def current_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM syncs").fetchone()[0]

    def record_meetings(self, versions: dict[str, str]) -> int:
        """Record the meeting versions (id → content hash) not seen before under a new
        sequence; returns the current sequence (unchanged when nothing was new)."""
        with self.transaction() as db:
            fresh = self._unseen(db, versions)
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM syncs").fetchone()[0]
            if not fresh:
                return seq
            seq += 1
            db.execute("INSERT INTO syncs (seq, synced_at, meetings) VALUES (?, ?, ?)", (seq, now_iso(), len(fresh)))
            db.executemany(
                "INSERT INTO seen_meetings (meeting_id, content_hash, seq) VALUES (?, ?, ?)",
                [(mid, digest, seq) for mid, digest in fresh],
            )
            return seq

    def unseen(self, versions: dict[str, str]) -> set[str]:
        """Meeting ids whose version has not been recorded yet (for a dry run)."""
        return {mid for mid, _ in self._unseen(self.db, versions)}

    @staticmethod
    def _unseen(db: sqlite3.Connection, versions: dict[str, str]) -> list[tuple[str, str]]:
        seen = set(db.execute("SELECT meeting_id, content_hash FROM seen_meetings"))
        return sorted((mid, digest) for mid, digest in versions.items() if (mid, digest) not in seen)

    def meetings_after(self, seq: int, upto: int | None = None) -> set[str]:
        """Meeting ids first seen (in some version) after sequence ``seq`` (up to ``upto``)."""
        upto = self.current_seq() if upto is None else upto
        rows = self.db.execute("SELECT meeting_id FROM seen_meetings WHERE seq > ? AND seq <= ?", (seq, upto))
        return {row[0] for row in rows}

    # --- watches ---------------------------------------------------------------------------

    def add_watch(self, *, query: str, speaker: str = "", since: str = "", until: str = "", aliases: bool = False,
                  email: str = "", webhook: str = "", status: str = "active", origin: str = "cli",
                  versions: dict[str, str] | None = None) -> Watch:
        """Save a watch that starts at the current sequence: it alerts on meetings indexed from
        now on, not on the archive. ``versions`` (the index's meetings) are recorded first."""
        if versions is not None:
            self.record_meetings(versions)
        created = now_iso()
        with self.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM syncs").fetchone()[0]
            cursor = db.execute(
                "INSERT INTO watches (query, speaker, since, until, aliases, email, webhook, status, origin, "
                "created_at, confirmed_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (query, speaker, since, until, int(aliases), email, webhook, status, origin, created,
                 created if status == "active" else None, seq),
            )
            watch_id = cursor.lastrowid
        return self.watch(watch_id)

    def find_watch(self, *, query: str, speaker: str, since: str, until: str, aliases: bool, email: str) -> Watch | None:
        """The watch of ``email`` with exactly this search, if there is one."""
        row = self.db.execute(
            f"SELECT {_WATCH_COLUMNS} FROM watches WHERE query = ? AND speaker = ? AND since = ? AND until = ? "
            "AND aliases = ? AND email = ? ORDER BY id LIMIT 1",
            (query, speaker, since, until, int(aliases), email),
        ).fetchone()
        return _watch(row) if row else None

    def watch(self, watch_id: int) -> Watch | None:
        row = self.db.execute(f"SELECT {_WATCH_COLUMNS} FROM watches WHERE id = ?", (watch_id,)).fetchone()
        return _watch(row, self._queued_counts().get(watch_id, 0)) if row else None

    def watches(self, status: str | None = None) -> list[Watch]:
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        counts = self._queued_counts()
        rows = self.db.execute(f"SELECT {_WATCH_COLUMNS} FROM watches {where} ORDER BY id", args)
        return [_watch(row, counts.get(row[0], 0)) for row in rows]

    def _queued_counts(self) -> dict[int, int]:
        rows = self.db.execute("SELECT watch_id, COUNT(*) FROM outbox WHERE status = 'queued' GROUP BY watch_id")
        return dict(rows)

    def remove_watch(self, watch_id: int, *, owner: str | None = None) -> Watch | None:
        """Delete a watch (only if its e-mail address or webhook is ``owner``, when given) and
        cancel its queued messages; returns what was removed, or None."""
        watch = self.watch(watch_id)
        if watch is None or (owner is not None and owner not in (watch.email, watch.webhook)):
            return None
        with self.transaction() as db:
            db.execute("DELETE FROM watches WHERE id = ?", (watch_id,))
            db.execute("UPDATE outbox SET status = 'cancelled' WHERE watch_id = ? AND status = 'queued'", (watch_id,))
        return watch

    def confirm_watch(self, watch_id: int, email: str, versions: dict[str, str] | None = None) -> Watch | None:
        """Activate a pending watch of ``email`` from the current sequence on (an active one is
        left as it is); None when there is no such watch."""
        if versions is not None:
            self.record_meetings(versions)
        with self.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM syncs").fetchone()[0]
            db.execute(
                "UPDATE watches SET status = 'active', confirmed_at = ?, last_seq = ? "
                "WHERE id = ? AND email = ? AND status = 'pending'",
                (now_iso(), seq, watch_id, email),
            )
        watch = self.watch(watch_id)
        return watch if watch is not None and watch.email == email else None

    def expire_pending(self, max_age: float) -> int:
        """Delete sign-ups never confirmed within ``max_age`` seconds; returns how many."""
        cutoff = datetime.fromtimestamp(time.time() - max_age, timezone.utc).isoformat(timespec="seconds")
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM watches WHERE status = 'pending' AND created_at < ?", (cutoff,))]
            for watch_id in ids:
                db.execute("DELETE FROM watches WHERE id = ?", (watch_id,))
                db.execute("UPDATE outbox SET status = 'cancelled' WHERE watch_id = ? AND status = 'queued'", (watch_id,))
        return len(ids)

    def advance(self, watch: Watch, seq: int, messages: Iterable[Outgoing]) -> bool:
        """Queue ``messages`` and move ``watch`` to ``seq`` in one transaction; False (nothing
        written) when another run advanced or removed the watch meanwhile."""
        messages = list(messages)
        stamp = now_iso()
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE watches SET last_seq = ?, last_notified_at = CASE WHEN ? THEN ? ELSE last_notified_at END "
                "WHERE id = ? AND last_seq = ? AND status = 'active'",
                (seq, bool(messages), stamp, watch.id, watch.last_seq),
            )
            if cursor.rowcount != 1:
                return False
            for message in messages:
                self._enqueue(db, watch.id, message, stamp)
        return True

    # --- outbox ----------------------------------------------------------------------------

    def enqueue(self, watch_id: int | None, message: Outgoing) -> int:
        with self.transaction() as db:
            return self._enqueue(db, watch_id, message, now_iso())

    @staticmethod
    def _enqueue(db: sqlite3.Connection, watch_id: int | None, message: Outgoing, stamp: str) -> int:
        cursor = db.execute(
            "INSERT INTO outbox (watch_id, kind, channel, recipient, subject, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (watch_id, message.kind, message.channel, message.recipient, message.subject, message.body, stamp),
        )
        return cursor.lastrowid

    def queued(self, ids: Iterable[int] | None = None) -> list[OutboxMessage]:
        """Queued messages, oldest first (only ``ids``, when given)."""
        sql = ("SELECT id, watch_id, kind, channel, recipient, subject, body, status, attempts, last_error "
               "FROM outbox WHERE status = 'queued'")
        rows = list(self.db.execute(sql + " ORDER BY id"))
        wanted = set(ids) if ids is not None else None
        return [OutboxMessage(*row) for row in rows if wanted is None or row[0] in wanted]

    def claim(self, message_id: int, lease: float = CLAIM_LEASE) -> bool:
        """Take a queued message for delivery and count the attempt; False when another run
        has delivered, cancelled or taken it meanwhile (then this run must not send it). A
        run that dies while sending leaves its claim, which lapses after ``lease`` seconds."""
        now = time.time()
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?, claimed_until = ? "
                "WHERE id = ? AND status = 'queued' AND (claimed_until IS NULL OR claimed_until < ?)",
                (now_iso(), now + lease, message_id, now),
            )
            return cursor.rowcount == 1

    def mark_sent(self, message_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL, claimed_until = NULL "
                       "WHERE id = ?", (now_iso(), message_id))

    def mark_failed(self, message_id: int, error: str) -> None:
        """Keep the message queued for the next run, with the reason."""
        with self.transaction() as db:
            db.execute("UPDATE outbox SET last_error = ?, claimed_until = NULL WHERE id = ?", (error[:500], message_id))

    def sent(self) -> list[OutboxMessage]:
        """The sent log, oldest first."""
        rows = self.db.execute(
            "SELECT id, watch_id, kind, channel, recipient, subject, body, status, attempts, last_error "
            "FROM outbox WHERE status = 'sent' ORDER BY id"
        )
        return [OutboxMessage(*row) for row in rows]

    # --- rate limits -----------------------------------------------------------------------

    def take(self, buckets: list[tuple[str, int]], window: float) -> str | None:
        """Record one event in each bucket unless one of them already holds its limit of
        events within ``window`` seconds; returns that bucket's name (nothing recorded), or
        None. Bucket names are hashed: the database keeps no addresses for this."""
        now = time.time()
        keys = [(hashlib.sha256(name.encode("utf-8")).hexdigest(), name, limit) for name, limit in buckets]
        with self.transaction() as db:
            db.execute("DELETE FROM rate_events WHERE at < ?", (now - window,))
            for key, name, limit in keys:
                count = db.execute("SELECT COUNT(*) FROM rate_events WHERE bucket = ?", (key,)).fetchone()[0]
                if count >= limit:
                    return name
            db.executemany("INSERT INTO rate_events (bucket, at) VALUES (?, ?)", [(key, now) for key, _, _ in keys])
        return None


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript would COMMIT the open transaction first: run the statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _create(path: Path) -> None:
    """Create a new database under a temporary name and move it into place, so that an
    interrupted creation never leaves a half-made file where the database belongs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # addresses are personal data
        connection = sqlite3.connect(tmp, isolation_level=None)
        try:
            connection.execute("BEGIN")
            for script in MIGRATIONS:
                _run_script(connection, script)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        finally:
            connection.close()
        try:
            os.link(tmp, path)  # fails if another process created it meanwhile: keep theirs
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
    except OSError as err:
        raise AlertStoreError(f"cannot create the alerts database {path} ({err.strerror or err})") from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass


def _damaged(path: Path, reason: str) -> str:
    return (
        f"the alerts database {path} is damaged or not an alerts database ({reason}); it was left "
        "as it is: restore it from a backup, or move it away to start with no watches"
    )
