"""Query explanation: how a query string was read, so a user can see why something matched.

:func:`explain` parses a query exactly as :meth:`SearchEngine.run <indexer.search.SearchEngine.run>`
does (the same :func:`~indexer.query.build_query`, the same alias expansion) and
returns an :class:`Explanation`: the structure (AND, OR, NOT, grouping), each term with its
folded form and the characters folding changed, the jieba words of each term (how the words
field, which ranks whole-word matches higher, sees it), the field filters and date ranges
(resolved to first and last day), and the alias expansions. Front ends format it; ``to_dict()``
is its JSON form.

Vocabulary
----------
folded form
    What a term is matched as (:func:`indexer.analysis.fold`): NFKC width folding, lower case,
    Traditional/Simplified folded to one form, white space to one space.
change
    One character that folding changed, with the reasons, as codes: ``width`` (full-width or
    half-width form → the ordinary form), ``compatibility`` (another NFKC compatibility form, e.g.
    ``①`` → ``1``), ``case`` (upper → lower case), ``variant`` (Traditional/Simplified or variant
    forms such as 臺/台 → one form), ``space`` (another kind of white space → a space).
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field

from .analysis import fold, load_segmenter, segment_words
from .query import And, DateRange, Field, Node, Not, Or, Text, build_query
from .settings import Settings

REASONS = ("width", "compatibility", "case", "variant", "space")

__all__ = [
    "CharChange",
    "DateExplanation",
    "Explanation",
    "FieldExplanation",
    "TermExplanation",
    "char_changes",
    "explain",
    "render_tree",
]


@dataclass
class CharChange:
    """One character folding changed: ``original`` → ``folded``, and why (codes in REASONS)."""

    original: str
    folded: str
    reasons: list[str]


@dataclass
class TermExplanation:
    """A text term: matched as an exact substring of the folded turn text."""

    text: str
    folded: str
    position: int
    quoted: bool
    excluded: bool
    changes: list[CharChange] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    #: The alias group the term belongs to (the term first); empty when it has none.
    aliases: list[str] = field(default_factory=list)


@dataclass
class FieldExplanation:
    """A ``speaker:`` or ``title:`` filter: a substring of the speaker label (or of the name of the
    person behind it) or of the meeting title."""

    name: str
    value: str
    folded: str
    excluded: bool
    source: str  # "query" (written in the query) or "option" (--speaker, the speaker box)
    position: int | None


@dataclass
class DateExplanation:
    """A date range, resolved to its first and last day (None: open)."""

    since: str | None
    until: str | None
    excluded: bool
    source: str  # "query" or "option" (--since/--until, the date boxes)
    position: int | None


@dataclass
class Explanation:
    """How one query (with its options) was read."""

    query: str
    structure: str
    terms: list[TermExplanation]
    fields: list[FieldExplanation]
    dates: list[DateExplanation]
    #: Whether alias expansion was asked for, and the alias list's version.
    aliases: bool
    alias_version: str
    #: Terms the alias list expands: [{"term": …, "terms": [term, alias, …]}]. Listed even when
    #: aliases are off, so a user can see what ``--aliases`` would add.
    expansions: list[dict] = field(default_factory=list)
    #: The structure after alias expansion (what was searched); "" when aliases are off or
    #: nothing was expanded.
    expanded: str = ""

    @property
    def included(self) -> list[TermExplanation]:
        """The terms a hit contains (not under a NOT)."""
        return [t for t in self.terms if not t.excluded]

    @property
    def excluded(self) -> list[TermExplanation]:
        """The terms a hit must not contain."""
        return [t for t in self.terms if t.excluded]

    def to_dict(self) -> dict:
        """The object ``search --json --explain`` prints on stderr and ``/api/explain`` returns."""
        return asdict(self)


def char_changes(text: str) -> list[CharChange]:
    """The distinct characters of ``text`` that folding changes, in order of appearance.

    >>> [(c.original, c.folded, c.reasons) for c in char_changes("臺北ＡＩ")]
    [('臺', '台', ['variant']), ('Ａ', 'a', ['width', 'case']), ('Ｉ', 'i', ['width', 'case'])]
    """
    out: list[CharChange] = []
    seen: set[str] = set()
    for char in text:
        if char in seen:
            continue
        seen.add(char)
        folded = fold(char)
        if folded == char:
            continue
        reasons: list[str] = []
        if folded == " ":
            reasons.append("space")
        else:
            normal = unicodedata.normalize("NFKC", char)
            if normal != char:
                reasons.append("width" if unicodedata.east_asian_width(char) in ("F", "H") else "compatibility")
            lower = normal.lower()
            if lower != normal:
                reasons.append("case")
            if folded != lower:
                reasons.append("variant")
        out.append(CharChange(char, folded, reasons))
    return out


def _quote(value: str, quoted: bool = False) -> str:
    return f'"{value}"' if quoted or " " in value else value


def render_tree(node: Node) -> str:
    """The query tree as text: ``淨零 AND (台北 OR 臺中) AND NOT 排放``, dates resolved.

    >>> from indexer.query import parse_query
    >>> render_tree(parse_query('淨零 台北 OR 臺中 -排放 date:2021..2022-06'))
    '淨零 AND (台北 OR 臺中) AND NOT 排放 AND date:2021-01-01..2022-06-30'
    """
    if isinstance(node, Text):
        return _quote(node.value, node.quoted)
    if isinstance(node, Field):
        return f"{node.name}:{_quote(node.value)}"
    if isinstance(node, DateRange):
        if node.since and node.since == node.until:
            return f"date:{node.since}"
        return f"date:{node.since or ''}..{node.until or ''}"
    if isinstance(node, Not):
        return "NOT " + _group(node.child)
    if isinstance(node, And):
        return " AND ".join(_group(c) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(_group(c) for c in node.children)
    raise TypeError(f"not a query node: {node!r}")


def _group(node: Node) -> str:
    text = render_tree(node)
    return f"({text})" if isinstance(node, (And, Or)) else text


def explain(
    query: str,
    *,
    speaker: str | None = None,
    since: str | None = None,
    until: str | None = None,
    aliases: bool = False,
    settings: Settings | None = None,
) -> Explanation:
    """Explain how :meth:`SearchEngine.run <indexer.search.SearchEngine.run>` reads ``query``
    with the same options (``settings``: the alias files and user dictionaries, as the
    engine's). Raises QueryError for what the search would refuse.

    Needs no index: parsing, folding, segmenting and the alias list are all the index needs
    to know about a query.
    """
    from .aliases import alias_version, expand_tree, expansions, load_aliases

    alias_files = settings.query.alias_files if settings is not None else ()
    tree = build_query(query, speaker=speaker, since=since, until=until)
    table = load_aliases(alias_files)
    segmenter = load_segmenter(settings.analysis.user_dictionaries if settings is not None else ())
    found = expansions(tree, table)
    parts = _Parts({fold(node.value): terms for node, terms in found}, segmenter)
    parts.walk(tree, False)
    expanded = ""
    if aliases and found:
        expanded = render_tree(expand_tree(tree, table))
    return Explanation(
        query=query,
        structure=render_tree(tree),
        terms=parts.terms,
        fields=parts.fields,
        dates=parts.dates,
        aliases=aliases,
        alias_version=alias_version(alias_files),
        expansions=[{"term": node.value, "terms": list(group)} for node, group in found],
        expanded=expanded,
    )


class _Parts:
    """The terms, field filters and date ranges of a query tree, each marked excluded when it
    is under a NOT."""

    def __init__(self, alias_groups: dict[str, list[str]], segmenter):
        self.alias_groups = alias_groups
        self.segmenter = segmenter
        self.terms: list[TermExplanation] = []
        self.fields: list[FieldExplanation] = []
        self.dates: list[DateExplanation] = []

    def walk(self, node: Node, excluded: bool) -> None:
        if isinstance(node, Text):
            self.terms.append(
                TermExplanation(
                    text=node.value,
                    folded=fold(node.value),
                    position=node.position,
                    quoted=node.quoted,
                    excluded=excluded,
                    changes=char_changes(node.value),
                    words=segment_words(node.value, self.segmenter),
                    aliases=list(self.alias_groups.get(fold(node.value), [])),
                )
            )
        elif isinstance(node, Field):
            source = "option" if node.position is None else "query"
            self.fields.append(FieldExplanation(node.name, node.value, fold(node.value), excluded, source, node.position))
        elif isinstance(node, DateRange):
            source = "option" if node.position is None else "query"
            self.dates.append(DateExplanation(node.since, node.until, excluded, source, node.position))
        elif isinstance(node, (And, Or)):
            for child in node.children:
                self.walk(child, excluded)
        elif isinstance(node, Not):
            self.walk(node.child, not excluded)
