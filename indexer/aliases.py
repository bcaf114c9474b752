"""Aliases: terms that name the same thing, applied to a query tree when a user asks for it.

Vocabulary
----------
alias list
    A UTF-8 text file, one group a line, the terms of a group separated by tabs
    (``數位部<TAB>數位發展部``); ``#`` starts a comment line and ``# version: N`` gives the list's
    version. The package ships ``indexer/data/aliases.tsv``; extra files
    (:attr:`QuerySettings.alias_files <indexer.settings.QuerySettings.alias_files>`, from
    ``$CIVIC_SEARCH_ALIASES`` at the edge) extend it.
group
    The terms one group names, in the order first written, one spelling per folded form
    (``臺北市政府`` and ``台北市政府`` fold alike, so only the first is kept). Groups that share a
    term (after folding) are merged, across lines and files.
expansion
    A query term (a :class:`~indexer.query.Text` node, quoted or not) whose folded value equals
    the folded form of a term of a group becomes an OR of the whole group, the term as typed
    first: ``數位部`` → ``數位部 OR 數位發展部``. Only whole terms are expanded (``數位部長`` is
    not), field values (``speaker:``, ``title:``) never are, and exclusions are (``-數位部``
    excludes 數位發展部 too).

Aliases work at query time only: the index does not depend on them, so changing the list needs
no re-index. (The jieba dictionaries are different: they shape the index and a change
re-indexes.)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Sequence

from .analysis import fold
from .errors import CivicSearchError
from .listfiles import ListCache, read_list_file
from .query import And, Node, Not, Or, Text

_VERSION = re.compile(r"^#\s*version\s*:\s*(\S+)", re.IGNORECASE)

__all__ = [
    "AliasError",
    "AliasSource",
    "AliasTable",
    "alias_version",
    "bundled_aliases_path",
    "expand_tree",
    "expansions",
    "load_aliases",
]


class AliasError(CivicSearchError):
    """An extra alias file cannot be read."""


@dataclass(frozen=True)
class AliasSource:
    """One alias file: where it is, its ``# version:`` (or ""), and how many groups it holds."""

    path: str
    version: str
    groups: int


@dataclass(frozen=True)
class AliasTable:
    """The merged groups of every alias file, looked up by folded term."""

    groups: tuple[tuple[str, ...], ...]
    sources: tuple[AliasSource, ...]
    _by_folded: dict = field(default_factory=dict, repr=False, compare=False)

    def group(self, term: str) -> tuple[str, ...] | None:
        """The group holding ``term`` (compared folded), or None."""
        index = self._by_folded.get(fold(term).strip())
        return self.groups[index] if index is not None else None

    def expand(self, term: str) -> list[str]:
        """``term`` first, then the other spellings of its group (a list of one when none).

        >>> table = AliasTable.from_groups([["數位部", "數位發展部"]])
        >>> table.expand("数位部"), table.expand("數位部長")
        (['数位部', '數位發展部'], ['數位部長'])
        """
        group = self.group(term)
        if not group:
            return [term]
        own = fold(term).strip()
        return [term] + [t for t in group if fold(t) != own]

    @classmethod
    def from_groups(cls, lines: list[list[str]], sources: tuple[AliasSource, ...] = ()) -> "AliasTable":
        """Merge ``lines`` (lists of terms) into groups: lines sharing a folded term join."""
        parent: dict[str, str] = {}
        spelling: dict[str, str] = {}

        def root(key: str) -> str:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for terms in lines:
            keys = []
            for term in terms:
                key = fold(term).strip()
                if not key:
                    continue
                if key not in parent:
                    parent[key] = key
                    spelling[key] = term
                keys.append(key)
            for key in keys[1:]:
                a, b = root(keys[0]), root(key)
                if a != b:
                    parent[b] = a
        members: dict[str, list[str]] = {}
        for key in parent:  # insertion order: the order terms were first written
            members.setdefault(root(key), []).append(key)
        groups = tuple(tuple(spelling[k] for k in keys) for keys in members.values() if len(keys) > 1)
        by_folded = {fold(t).strip(): i for i, group in enumerate(groups) for t in group}
        return cls(groups, sources, by_folded)


def bundled_aliases_path() -> str:
    """Path of the alias list shipped in the package."""
    return str(resources.files("indexer") / "data" / "aliases.tsv")


def _read(path: str) -> tuple[str, list[list[str]]]:
    """(version, lines of terms) of one alias file: lines of two terms or more."""
    version, lines = read_list_file(path, AliasError, "alias file")
    return version, [terms for terms in lines if len(terms) > 1]


_tables: ListCache[AliasTable] = ListCache()


def load_aliases(alias_files: Sequence[str] = ()) -> AliasTable:
    """The bundled list merged with the extra ``alias_files``.

    Read again whenever one of the files changes (a running server picks up edits); raises
    :class:`AliasError` when an extra file cannot be read.
    """
    return _tables.get([bundled_aliases_path(), *alias_files], _read_aliases)


def _read_aliases(paths: Sequence[str]) -> AliasTable:
    lines: list[list[str]] = []
    sources = []
    for path in paths:
        version, file_lines = _read(path)
        sources.append(AliasSource(path, version, len(file_lines)))
        lines.extend(file_lines)
    return AliasTable.from_groups(lines, tuple(sources))


def alias_version(alias_files: Sequence[str] = ()) -> str:
    """The version of the alias list in effect: the bundled list's ``# version:`` (``"1"``),
    followed by ``+`` and a short hash of the extra ``alias_files`` when there are some.

    Never raises: an unreadable extra file is hashed by its name.
    """
    version = ""
    try:
        with open(bundled_aliases_path(), encoding="utf-8-sig") as handle:
            for line in handle:
                match = _VERSION.match(line.strip())
                if match:
                    version = match.group(1)
                    break
    except OSError:
        version = "missing"
    extra = list(alias_files)
    if not extra:
        return version or "unversioned"
    digest = hashlib.sha256()
    for path in extra:
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(path.encode("utf-8", "surrogateescape"))
    return f"{version or 'unversioned'}+{digest.hexdigest()[:8]}"


# --- query trees ---------------------------------------------------------------------------------


def expand_tree(tree: Node, table: AliasTable | None = None) -> Node:
    """``tree`` with every Text node that names an alias replaced by an OR of its group.

    ``table`` defaults to the bundled list (:func:`load_aliases`). The new Text nodes keep the
    original's position and quoting (a term with a space is quoted); ORs are flattened and terms
    that fold alike appear once. Field and date nodes are kept.
    """
    table = table if table is not None else load_aliases()
    return _expand(tree, table)


def _expand(node: Node, table: AliasTable) -> Node:
    if isinstance(node, Text):
        terms = table.expand(node.value)
        if len(terms) == 1:
            return node
        return Or(tuple(Text(t, node.position, node.quoted or " " in t) for t in terms))
    if isinstance(node, And):
        return And(tuple(_expand(c, table) for c in node.children))
    if isinstance(node, Or):
        children: list[Node] = []
        seen: set = set()
        for child in node.children:
            expanded = _expand(child, table)
            for item in expanded.children if isinstance(expanded, Or) else (expanded,):
                key = ("text", fold(item.value)) if isinstance(item, Text) else item
                if key not in seen:
                    seen.add(key)
                    children.append(item)
        return children[0] if len(children) == 1 else Or(tuple(children))
    if isinstance(node, Not):
        return Not(_expand(node.child, table), node.position)
    return node


def expansions(tree: Node, table: AliasTable | None = None) -> list[tuple[Text, list[str]]]:
    """The terms of ``tree`` that the alias list expands, each with its expansion, in query order.

    A term written twice is listed once.
    """
    table = table if table is not None else load_aliases()
    out: list[tuple[Text, list[str]]] = []
    seen: set[str] = set()

    def walk(node: Node) -> None:
        if isinstance(node, Text):
            terms = table.expand(node.value)
            key = fold(node.value)
            if len(terms) > 1 and key not in seen:
                seen.add(key)
                out.append((node, terms))
        elif isinstance(node, (And, Or)):
            for child in node.children:
                walk(child)
        elif isinstance(node, Not):
            walk(node.child)

    walk(tree)
    return out
