"""Exact-substring recall: the search API against a brute-force scan of the parsed turns.

For random substrings of the speech text (lengths 1 to 8: CJK, Latin, digits and mixed), the
set of turns the API returns must equal the set of turns whose folded text contains the folded
substring: nothing missed, nothing extra, and the exact total.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from indexer.analysis import fold
from indexer.build import scan
from indexer.search import SearchEngine
from indexer.transcripts import read_transcript

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
_DIGIT = re.compile(r"[0-9\uff10-\uff19]")


def parsed_turns(root: Path) -> list[tuple[str, int, str]]:
    """(source, turn, folded text) for every turn under ``root``, as the indexer reads them."""
    files, _, _ = scan([root])
    out = []
    for path, display in files:
        meeting = read_transcript(path, meeting_id="oracle", source=display)
        out.extend((display, t.turn, fold(t.text)) for t in meeting.turns)
    return out


def kind_of(sample: str) -> str:
    cjk, latin, digit = bool(_CJK.search(sample)), bool(_LATIN.search(sample)), bool(_DIGIT.search(sample))
    if cjk and not latin and not digit:
        return "cjk"
    if latin and not cjk and not digit:
        return "latin"
    if digit and not cjk and not latin:
        return "digits"
    return "mixed" if (cjk + latin + digit) >= 2 else "other"


def draw_queries(turns, quotas: dict[str, int], seed: int) -> list[str]:
    """Random substrings of the original speech text, ``quotas[kind]`` of each kind."""
    rng = random.Random(seed)
    texts = [t for t in turns]
    wanted = dict(quotas)
    chosen: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while any(wanted.values()) and attempts < 2_000_000:
        attempts += 1
        original = texts[rng.randrange(len(texts))]
        if not original:
            continue
        length = rng.randint(1, 8)
        start = rng.randrange(max(1, len(original) - length + 1))
        sample = original[start : start + length]
        if not sample or any(c.isspace() or c == '"' or c == "\uff02" for c in sample) or sample in seen:
            continue
        kind = kind_of(sample)
        if wanted.get(kind, 0) > 0:
            wanted[kind] -= 1
            seen.add(sample)
            chosen.append(sample)
    assert not any(wanted.values()), f"could not draw enough queries: {wanted}"
    return chosen


def check_oracle(engine: SearchEngine, turns, originals, queries) -> list[str]:
    failures = []
    for sample in queries:
        folded = fold(sample)
        expected = {(src, n) for src, n, text in turns if folded in text}
        page = engine.search(f'"{sample}"', limit=0)
        got = {(h.source, h.turn) for h in page.hits}
        if got != expected or page.total != len(expected):
            failures.append(f"{sample!r}: expected {len(expected)}, got {len(got)} (total {page.total})")
    return failures


def originals_of(root: Path) -> list[str]:
    files, _, _ = scan([root])
    return [t.text for path, display in files for t in read_transcript(path, meeting_id="x", source=display).turns]


def test_oracle_on_fixture_corpus(engine, fixture_corpus):
    turns = parsed_turns(fixture_corpus)
    originals = originals_of(fixture_corpus)
    queries = draw_queries(originals, {"cjk": 60, "latin": 10, "digits": 10, "mixed": 20}, seed=1)
    assert check_oracle(engine, turns, originals, queries) == []


@pytest.mark.corpus
@pytest.mark.slow
def test_oracle_on_shared_corpus(shared_corpus, shared_index):
    turns = parsed_turns(shared_corpus)
    originals = originals_of(shared_corpus)
    queries = draw_queries(originals, {"cjk": 180, "latin": 50, "digits": 40, "mixed": 50}, seed=20220905)
    assert len(queries) >= 300
    engine = SearchEngine(shared_index)
    try:
        failures = check_oracle(engine, turns, originals, queries)
    finally:
        engine.close()
    assert failures == [], f"{len(failures)} of {len(queries)} queries differ: {failures[:10]}"
