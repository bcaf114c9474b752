"""The query language: strings → a small query tree.

Grammar (the CLI, the web page and the API accept the same strings)::

    query   := clause+                      clauses are ANDed
    clause  := unary ( ("OR" | "|") unary )*
    unary   := ("-" | "NOT") atom | atom
    atom    := TERM | "PHRASE" | field ":" value | "(" query ")"

- A TERM (any run of characters without spaces) or a "quoted phrase" matches turns whose folded
  text contains it as an exact substring. Spaces inside a phrase match the text's spaces.
- ``OR`` binds tighter than the implicit AND: ``淨零 台北 OR 臺中`` is 淨零 AND (台北 OR 臺中).
- ``-A`` / ``NOT A`` excludes; an exclusion needs something to exclude from (``A -B``).
- Fields: ``speaker:唐鳳`` and ``title:協作會議`` match substrings of the speaker label (or of the
  name of the person behind it, :mod:`indexer.people`) and of the meeting title; ``date:2022-09-05``, ``date:2021..2022-06``, ``date:2021..``, ``date:..2020``
  select meeting dates (a year or month covers the whole period).
- Parentheses are grouping only where a term starts or ends; inside a term they are text, so
  ``PoC(概念驗證)`` is one exact term.
- Malformed input raises :class:`~indexer.errors.QueryError` naming the 1-based position.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from .errors import QueryError

FIELDS = ("speaker", "title", "date")
MAX_QUERY_LENGTH = 1000

_SPACE = re.compile(r"\s+")
_QUOTES = '"\uff02'
_FIELD = re.compile(r"([A-Za-z_]+)[:\uff1a]")


@dataclass(frozen=True)
class Text:
    """An exact substring of the turn text."""

    value: str
    position: int
    quoted: bool = False


@dataclass(frozen=True)
class Field:
    """An exact substring of a turn's speaker label or its meeting's title."""

    name: str
    value: str
    position: int | None


@dataclass(frozen=True)
class DateRange:
    """Meeting dates from ``since`` to ``until`` inclusive (ISO strings; None = open)."""

    since: str | None
    until: str | None
    position: int | None


@dataclass(frozen=True)
class And:
    children: tuple


@dataclass(frozen=True)
class Or:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: object
    position: int


Node = Text | Field | DateRange | And | Or | Not


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, phrase, field, lparen, rparen, or, and, not, minus
    value: str
    pos: int  # 0-based
    field_name: str = ""


def _read_word(text: str, i: int) -> tuple[str, int]:
    """Read a bare word from ``i``; parentheses opened inside the word are part of it."""
    start = i
    depth = 0
    while i < len(text) and not text[i].isspace() and text[i] not in _QUOTES and text[i] != "|":
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        i += 1
    return text[start:i], i


def _read_phrase(text: str, i: int) -> tuple[str, int]:
    """Read a quoted phrase starting at the quote ``text[i]``; returns (content, next index)."""
    end = i + 1
    while end < len(text) and text[end] not in _QUOTES:
        end += 1
    if end >= len(text):
        raise QueryError("unbalanced quote: the phrase is never closed", i + 1)
    return text[i + 1 : end], end + 1


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "(":
            tokens.append(_Tok("lparen", char, i))
            i += 1
        elif char == ")":
            tokens.append(_Tok("rparen", char, i))
            i += 1
        elif char == "|":
            tokens.append(_Tok("or", char, i))
            i += 1
        elif char in _QUOTES:
            value, i = _read_phrase(text, i)
            tokens.append(_Tok("phrase", value, i - len(value) - 2))
        elif char == "-" and i + 1 < n and not text[i + 1].isspace() and (not tokens or _boundary(text, i)):
            tokens.append(_Tok("minus", char, i))
            i += 1
        elif char == "-" and (i + 1 >= n or text[i + 1].isspace()):
            raise QueryError("'-' needs a term right after it", i + 1)
        else:
            match = _FIELD.match(text, i)
            if match and (match.group(1).lower() in FIELDS or _looks_like_field(text, match)):
                name = match.group(1).lower()
                if name not in FIELDS:
                    raise QueryError(
                        f"unknown field '{match.group(1)}' (fields: {', '.join(FIELDS)}; "
                        "put the term in quotes to search for it as text)",
                        i + 1,
                    )
                j = match.end()
                if j < n and text[j] in _QUOTES:
                    value, j = _read_phrase(text, j)
                else:
                    value, j = _read_word(text, j)
                if not value.strip():
                    raise QueryError(f"field '{name}' needs a value", i + 1)
                tokens.append(_Tok("field", value, i, name))
                i = j
                continue
            word, j = _read_word(text, i)
            if word in ("OR", "AND", "NOT"):
                tokens.append(_Tok(word.lower(), word, i))
            else:
                tokens.append(_Tok("word", word, i))
            i = j
    return tokens


def _boundary(text: str, i: int) -> bool:
    return i == 0 or text[i - 1].isspace() or text[i - 1] in "(|"


def _looks_like_field(text: str, match: re.Match) -> bool:
    # "https://…" and "word:" at the end are text, not a field; "foo:bar" is a mistyped field.
    rest = text[match.end() :]
    return bool(rest) and not rest[0].isspace() and not rest.startswith("//")


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, tokens: list[_Tok]):
        self.text = text
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse_query(self, closing: _Tok | None = None) -> Node:
        clauses: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None:
                if closing is not None:
                    raise QueryError("unclosed '('", closing.pos + 1)
                break
            if tok.kind == "rparen":
                if closing is None:
                    raise QueryError("unmatched ')'", tok.pos + 1)
                self.take()
                break
            if tok.kind == "and":
                self.take()
                if not clauses or self.peek() is None or self.peek().kind in ("rparen", "or", "and"):
                    raise QueryError("AND needs a term on each side", tok.pos + 1)
                continue
            clauses.append(self.parse_clause())
        if not clauses:
            if closing is not None:
                raise QueryError("empty parentheses", closing.pos + 1)
            raise QueryError("empty query")
        return clauses[0] if len(clauses) == 1 else And(tuple(clauses))

    def parse_clause(self) -> Node:
        first = self.peek()
        if first is not None and first.kind == "or":
            raise QueryError(f"'{first.value}' needs a term on each side", first.pos + 1)
        branches = [self.parse_unary()]
        while self.peek() is not None and self.peek().kind == "or":
            op = self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("rparen", "or", "and"):
                raise QueryError(f"'{op.value}' needs a term on each side", op.pos + 1)
            branches.append(self.parse_unary())
        if len(branches) == 1:
            return branches[0]
        for branch in branches:
            if isinstance(branch, Not):
                raise QueryError("an excluded term cannot be one side of OR", branch.position)
        return Or(tuple(branches))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind in ("minus", "not"):
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("rparen", "or", "and", "minus", "not"):
                raise QueryError(f"'{tok.value}' needs a term after it", tok.pos + 1)
            return Not(self.parse_atom(), tok.pos + 1)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        tok = self.take()
        if tok.kind == "lparen":
            return self.parse_query(closing=tok)
        if tok.kind == "word":
            return Text(tok.value, tok.pos + 1)
        if tok.kind == "phrase":
            value = _SPACE.sub(" ", tok.value).strip()
            if not value:
                raise QueryError("empty phrase", tok.pos + 1)
            return Text(value, tok.pos + 1, quoted=True)
        if tok.kind == "field":
            if tok.field_name == "date":
                return parse_date_range(tok.value, tok.pos + 1)
            return Field(tok.field_name, _SPACE.sub(" ", tok.value).strip(), tok.pos + 1)
        raise QueryError(f"'{tok.value}' needs a term on each side", tok.pos + 1)


def _check_exclusions(node: Node, allowed: bool) -> None:
    """An exclusion must have a positive sibling in the same AND."""
    if isinstance(node, Not):
        if not allowed:
            raise QueryError("nothing to exclude from: add a term to search for", node.position)
        _check_exclusions(node.child, False)
    elif isinstance(node, And):
        has_positive = any(not isinstance(c, Not) for c in node.children)
        for child in node.children:
            _check_exclusions(child, has_positive)
    elif isinstance(node, Or):
        for child in node.children:
            _check_exclusions(child, False)


def check_text(text: str, what: str = "query") -> None:
    """Raise QueryError unless ``text`` can be searched for: at most MAX_QUERY_LENGTH
    characters, no control characters, and no lone surrogates (undecodable bytes that reached
    a command line as ``\\udcff``; they cannot be folded or written as UTF-8)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"{what} too long ({len(text)} characters; the limit is {MAX_QUERY_LENGTH})")
    bad = next((i for i, c in enumerate(text) if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0), None)
    if bad is not None:
        raise QueryError(f"control character in {what}", bad + 1)
    bad = next((i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        raise QueryError(f"invalid character in {what} (bytes that are not UTF-8 text)", bad + 1)


def parse_query(text: str) -> Node:
    """Parse a query string into a query tree, or raise QueryError naming the position."""
    if text is None or not text.strip():
        raise QueryError("empty query: type a word or phrase to search for")
    check_text(text)
    tree = _Parser(text, _tokenize(text)).parse_query()
    _check_exclusions(tree, False)
    return tree


# --- dates -------------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")


def _date_bounds(value: str, position: int | None) -> tuple[str, str]:
    """The first and last ISO day covered by ``2022``, ``2022-06`` or ``2022-06-05``."""
    match = _DATE.match(value)
    if not match:
        raise QueryError(f"'{value}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)", position)
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    try:
        if month is None:
            return f"{year:04d}-01-01", f"{year:04d}-12-31"
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}"
        return (date(year, month, day).isoformat(),) * 2
    except (ValueError, calendar.IllegalMonthError):
        raise QueryError(f"'{value}' is not a valid date", position) from None


def parse_date_range(value: str, position: int | None) -> DateRange:
    """``2022``, ``2021..2022-06``, ``2021..`` or ``..2020`` → DateRange."""
    value = value.strip()
    if ".." in value:
        low, high = value.split("..", 1)
        since = _date_bounds(low, position)[0] if low else None
        until = _date_bounds(high, position)[1] if high else None
        if since is None and until is None:
            raise QueryError("a date range needs at least one end", position)
    else:
        since, until = _date_bounds(value, position)
    if since and until and since > until:
        raise QueryError(f"the date range {value} ends before it starts", position)
    return DateRange(since, until, position)


def positive_texts(node: Node) -> list[str]:
    """The text terms a hit can contain (for highlighting): every Text not under a Not."""
    if isinstance(node, Text):
        return [node.value]
    if isinstance(node, (And, Or)):
        out: list[str] = []
        for child in node.children:
            out.extend(positive_texts(child))
        return out
    return []


def build_query(
    query: str, *, speaker: str | None = None, since: str | None = None, until: str | None = None
) -> Node:
    """The query tree for ``query`` with the option filters ANDed on.

    ``speaker`` (substring of the speaker label), ``since`` and ``until`` (YYYY, YYYY-MM or
    YYYY-MM-DD) are the options every front end offers beside the query string (``--speaker``,
    the speaker box). Raises QueryError for a malformed query or option.
    """
    tree = parse_query(query)
    extra: list[Node] = []
    if speaker is not None:
        check_text(speaker, "speaker")
    if speaker is not None and speaker.strip():
        extra.append(Field("speaker", speaker.strip(), None))
    if since or until:
        low = parse_date_range(f"{since}..", None).since if since else None
        high = parse_date_range(f"..{until}", None).until if until else None
        if low and high and low > high:
            raise QueryError(f"since {since} is after until {until}")
        extra.append(DateRange(low, high, None))
    if extra:
        children = tree.children if isinstance(tree, And) else (tree,)
        tree = And(tuple(children) + tuple(extra))
    return tree
