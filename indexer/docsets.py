"""Sets of documents as sorted ``int64`` numpy arrays: membership, intersection, union, and
the distinct values of a column.

Two ways, chosen by size: binary search of the smaller array in the larger (a few documents
among many), or a bitmap over the document numbers (two large sets: one pass over each, where
searching a million documents in a million would cost ~20 probes each). ``numpy.unique`` is not
used: it hashes, and on a million values it is tens of times slower than a bitmap or a sort.
"""

from __future__ import annotations

import numpy as np

EMPTY = np.zeros(0, np.int64)


def _use_bitmap(small: int, large: int, universe: int | None) -> bool:
    if universe is None or small < 4096:
        return False
    # Binary search: ~log2(large) probes per element of the smaller set; a bitmap: one write per
    # element of the larger set, one read per element of the smaller, and clearing the bitmap.
    return small * max(large, 2).bit_length() > 2 * (small + large) + universe // 64


def member(a: np.ndarray, b: np.ndarray, universe: int | None = None) -> np.ndarray:
    """For each element of sorted ``a``, whether it is in sorted ``b`` (both unique; ``universe``:
    an upper bound of the document numbers, which allows the bitmap)."""
    if not len(a) or not len(b):
        return np.zeros(len(a), bool)
    if _use_bitmap(min(len(a), len(b)), max(len(a), len(b)), universe):
        bitmap = np.zeros(universe, bool)
        bitmap[b] = True
        return bitmap[a]
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    return b[at] == a


def intersect(a: np.ndarray, b: np.ndarray, universe: int | None = None) -> np.ndarray:
    """The elements of sorted ``a`` that are in sorted ``b``."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return EMPTY
    return a[member(a, b, universe)]


def union(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct elements of sorted arrays: a stable sort of their concatenation finds
    the sorted runs and merges them (no hashing), then neighbours that repeat are dropped."""
    joined = np.concatenate(parts)
    joined.sort(kind="stable")
    return _drop_repeats(joined)


def _drop_repeats(ordered: np.ndarray) -> np.ndarray:
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def distinct(values: np.ndarray, universe: int | None = None) -> np.ndarray:
    """The sorted distinct values of ``values`` (non-negative integers below ``universe``, when
    given: then by a bitmap, else by a sort)."""
    if universe is not None:
        seen = np.zeros(max(universe, 1), bool)
        seen[values] = True
        return np.flatnonzero(seen)
    return _drop_repeats(np.sort(values))
