"""(b) SQLite FTS5 with the trigram tokenizer, from Python's standard library.

The turn text as written goes into ``fts5(text, speaker UNINDEXED, date UNINDEXED,
tokenize='trigram')``. A term of three or more characters is an FTS5 phrase (``MATCH``); a
shorter term cannot use the trigram index, so it becomes ``text LIKE '%…%'`` on the same table,
a full scan, as a user would write it. A query made only of long terms is ranked by FTS5's
``rank``; one with a short term is evaluated in SQL without ranking.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..corpus import BenchTurn
from ..queries import SimpleQuery, parse_simple
from . import Baseline, built_size


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def to_sql(q: SimpleQuery, limit: int | None) -> tuple[str, list]:
    """SQL selecting matching rowids (first ``limit`` of them; None: all) for a simple query."""
    params: list = []
    where: list[str] = []
    terms = q.terms + q.excluded
    ranked = bool(q.groups) and all(len(t) >= 3 for t in terms)
    if ranked:
        expr = " AND ".join(
            "(" + " OR ".join(_fts_phrase(t) for t in group) + ")" for group in q.groups
        )
        for t in q.excluded:
            expr = f"({expr}) NOT {_fts_phrase(t)}"
        where.append("turns MATCH ?")
        params.append(expr)
    else:
        def cond(term: str) -> str:
            if len(term) >= 3:
                params.append(_fts_phrase(term))
                return "rowid IN (SELECT rowid FROM turns WHERE turns MATCH ?)"
            params.append(_like(term))
            return "text LIKE ? ESCAPE '\\'"

        for group in q.groups:
            where.append("(" + " OR ".join(cond(t) for t in group) + ")")
        for t in q.excluded:
            where.append(f"NOT ({cond(t)})")
    if q.speaker is not None:
        where.append("speaker LIKE ? ESCAPE '\\'")
        params.append(_like(q.speaker))
    if q.date is not None:
        where.append("date != '' AND date BETWEEN ? AND ?")
        params.extend(q.date)
    sql = "SELECT rowid FROM turns WHERE " + " AND ".join(where)
    if ranked and limit is not None:
        sql += " ORDER BY rank"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


class SqliteTrigram(Baseline):
    name = "SQLite FTS5 trigram"
    notes = [
        "Text as written (FTS5 folds ASCII case only: no Traditional/Simplified, 臺/台 or width folding).",
        "Terms under 3 characters cannot use the trigram index: `text LIKE '%…%'` (a full scan) instead; "
        "such queries are not ranked.",
        "speaker: is `speaker LIKE '%…%'` on the label as written; date: `date BETWEEN lo AND hi`.",
    ]

    def build(self, turns: list[BenchTurn], workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.path = workdir / "fts5-trigram.sqlite"
        self.path.unlink(missing_ok=True)
        started = time.perf_counter()
        db = sqlite3.connect(str(self.path), check_same_thread=False)
        db.execute("CREATE VIRTUAL TABLE turns USING fts5(text, speaker UNINDEXED, date UNINDEXED, "
                   "tokenize='trigram')")
        with db:
            db.executemany("INSERT INTO turns(rowid, text, speaker, date) VALUES (?, ?, ?, ?)",
                           ((i, t.text, t.speaker, t.date) for i, t in enumerate(turns)))
        self.build_seconds = time.perf_counter() - started
        self.size_bytes = built_size(self.path)
        self.db = db

    def top(self, query: str) -> int:
        q = parse_simple(query)
        sql, params = to_sql(q, 10)
        self.db.execute(sql, params).fetchall()
        sql, params = to_sql(q, None)
        return self.db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]

    def matches(self, query: str) -> set[int]:
        sql, params = to_sql(parse_simple(query), None)
        return {row[0] for row in self.db.execute(sql, params)}

    def close(self) -> None:
        if hasattr(self, "db"):
            self.db.close()
