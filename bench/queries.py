"""The benchmark query set: reading ``bench/queries.txt`` and translating its simple forms.

The file holds one query per line in the engine's query language. ``#`` lines are comments;
``## name`` lines start a category (rare, common, long, …) used to break latencies down.

Only the engine supports the whole query language. The baselines and the oracle understand the
simple forms the query set uses, parsed here independently of the engine's parser (so the
oracle does not inherit the engine's mistakes):

- ``a b`` terms ANDed; ``"a b"`` a quoted phrase (inner white space collapsed to one space);
- ``a OR b`` (binds tighter than AND, as in the engine: ``x a OR b`` is x AND (a OR b));
- ``-a`` / ``NOT a`` excludes;
- ``speaker:X`` (X a substring of the folded speaker label) and ``date:`` with ``YYYY``,
  ``YYYY-MM``, ``YYYY-MM-DD`` or a ``lo..hi`` range of those (either end may be open).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import Path

from indexer.analysis import fold

DEFAULT_QUERIES = Path(__file__).with_name("queries.txt")
_TOKEN = re.compile(r'"[^"]*"|\S+')
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class BenchQuery:
    """A query string and its category in the query file."""

    text: str
    category: str


@dataclass
class SimpleQuery:
    """The simple forms of a query: an AND of OR-groups of terms, exclusions and filters.

    Terms are kept as typed; ``folded_*`` give their folded forms for exact-substring matching.
    """

    groups: list[list[str]] = field(default_factory=list)  # AND of (OR of terms)
    excluded: list[str] = field(default_factory=list)
    speaker: str | None = None
    date: tuple[str, str] | None = None  # inclusive ISO bounds; "" / "9999-12-31" when open

    @property
    def terms(self) -> list[str]:
        return [t for group in self.groups for t in group]

    def folded_groups(self) -> list[list[str]]:
        return [[fold(t) for t in group] for group in self.groups]

    def folded_excluded(self) -> list[str]:
        return [fold(t) for t in self.excluded]


class UnsupportedQuery(ValueError):
    """A query outside the simple forms the baselines understand."""


def load_queries(path: str | Path = DEFAULT_QUERIES) -> list[BenchQuery]:
    """The queries of a query file, with the category each falls under."""
    out: list[BenchQuery] = []
    category = "uncategorised"
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("## "):
            category = stripped[3:].strip().split()[0]
        elif stripped and not stripped.startswith("#"):
            out.append(BenchQuery(stripped, category))
    return out


def spread(queries: list[BenchQuery], count: int) -> list[BenchQuery]:
    """``count`` queries taken round-robin across categories (a small but varied subset)."""
    by_category: dict[str, list[BenchQuery]] = {}
    for q in queries:
        by_category.setdefault(q.category, []).append(q)
    out: list[BenchQuery] = []
    i = 0
    while len(out) < min(count, len(queries)):
        for items in by_category.values():
            if i < len(items) and len(out) < count:
                out.append(items[i])
        i += 1
    return out


def pad(query: str, k: int) -> str:
    """The ``k``-th padding of ``query``: a unique pair of leading and trailing space runs.

    Used to send the same query as a string no result cache has seen. Pairs, rather than one
    ever longer run, keep the string short: 100,000 variants of a query add at most 634 spaces,
    within the engine's 1,000-character query limit.
    """
    return " " * (k % 300) + query + " " * (k // 300 + 1)


def _strip_quotes(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return " ".join(token[1:-1].split())
    return token


def date_bounds(value: str) -> tuple[str, str]:
    """Inclusive ISO bounds of ``2022``, ``2022-06``, ``2022-06-05`` or a ``lo..hi`` range."""

    def one(part: str) -> tuple[str, str]:
        m = _DATE.match(part)
        if not m:
            raise UnsupportedQuery(f"not a date: {part!r}")
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is None:
            return f"{year:04d}-01-01", f"{year:04d}-12-31"
        month_n = int(month)
        if day is None:
            last = calendar.monthrange(year, month_n)[1]
            return f"{year:04d}-{month_n:02d}-01", f"{year:04d}-{month_n:02d}-{last:02d}"
        iso = f"{year:04d}-{month_n:02d}-{int(day):02d}"
        return iso, iso

    if ".." in value:
        low, high = value.split("..", 1)
        return (one(low)[0] if low else "", one(high)[1] if high else "9999-12-31")
    return one(value)


def parse_simple(query: str) -> SimpleQuery:
    """Parse the simple forms (see the module docstring); raise UnsupportedQuery otherwise."""
    out = SimpleQuery()
    tokens = _TOKEN.findall(query)
    i = 0
    pending_or = False
    last_was_term = False  # OR joins two terms, never a filter or an exclusion
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok in ("OR", "|"):
            if not last_was_term or pending_or:
                raise UnsupportedQuery(f"dangling OR in {query!r}")
            pending_or = True
            continue
        last_was_term = False
        if tok in ("(", ")") or tok == "AND":
            raise UnsupportedQuery(f"grouping and AND are not simple forms: {query!r}")
        negate = False
        if tok == "NOT":
            negate, tok = True, tokens[i] if i < len(tokens) else ""
            i += 1
        elif tok.startswith("-") and len(tok) > 1:
            negate, tok = True, tok[1:]
        if tok.startswith("speaker:"):
            if negate or pending_or:
                raise UnsupportedQuery(f"speaker: only as a plain filter: {query!r}")
            out.speaker = _strip_quotes(tok[len("speaker:"):])
            continue
        if tok.startswith("date:"):
            if negate or pending_or:
                raise UnsupportedQuery(f"date: only as a plain filter: {query!r}")
            out.date = date_bounds(tok[len("date:"):])
            continue
        term = _strip_quotes(tok)
        if not term:
            raise UnsupportedQuery(f"empty term in {query!r}")
        if negate:
            if pending_or:
                raise UnsupportedQuery(f"an excluded term cannot be one side of OR: {query!r}")
            out.excluded.append(term)
        elif pending_or:
            out.groups[-1].append(term)
            pending_or = False
            last_was_term = True
        else:
            out.groups.append([term])
            last_was_term = True
    if pending_or:
        raise UnsupportedQuery(f"dangling OR in {query!r}")
    if not out.groups and out.speaker is None and out.date is None:
        raise UnsupportedQuery(f"nothing to search for in {query!r}")
    return out
