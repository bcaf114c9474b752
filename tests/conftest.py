"""Shared fixtures: one small index built once per session from hand-written transcripts.

The fixture corpus is the bundled sample record plus tests/fixtures/index/*.md. Library, CLI
and web tests all search the same index, so what one layer shows the others must show too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.paths import bundled_corpus_dir

FIXTURES = Path(__file__).parent / "fixtures"
INDEX_FIXTURES = FIXTURES / "index"


def shared_corpus_dir() -> Path:
    """``$CIVIC_SEARCH_CORPUS``, else ../shared/corpus beside the repository."""
    env = os.environ.get("CIVIC_SEARCH_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory) -> Path:
    """A folder holding the fixture transcripts (a copy: tests may not modify the originals)."""
    folder = tmp_path_factory.mktemp("corpus")
    for path in sorted(INDEX_FIXTURES.iterdir()):
        shutil.copy(path, folder / path.name)
    for path in sorted(bundled_corpus_dir().glob("*.txt")):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, fixture_corpus) -> Path:
    """A session-wide index of the fixture corpus. Read-only for tests."""
    directory = tmp_path_factory.mktemp("index")
    report = build_index([fixture_corpus], directory, workers=1)
    assert not report.skipped, report.skipped
    return directory


@pytest.fixture(scope="session")
def engine(index_dir):
    from indexer.search import SearchEngine

    engine = SearchEngine(index_dir)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    corpus = shared_corpus_dir()
    if not (corpus / "audreyt-transcript").is_dir():
        pytest.skip(f"shared corpus not found at {corpus} (set CIVIC_SEARCH_CORPUS to its path)")
    return corpus


@pytest.fixture(scope="session")
def shared_index(shared_corpus, tmp_path_factory) -> Path:
    """An index of the whole shared corpus, built once per session (a few minutes). Read-only."""
    directory = tmp_path_factory.mktemp("shared-index")
    report = build_index([shared_corpus], directory)
    assert not report.skipped, report.skipped[:5]
    return directory


@pytest.fixture
def engine_of(tmp_path):
    """Index a few transcripts written from strings ({file name: text}) and open an engine."""
    from indexer.search import SearchEngine

    opened = []

    def build(files: dict[str, str]):
        corpus = tmp_path / "corpus"
        corpus.mkdir(exist_ok=True)
        for name, text in files.items():
            (corpus / name).write_text(text, encoding="utf-8")
        build_index([corpus], tmp_path / "ix", workers=1)
        opened.append(SearchEngine(tmp_path / "ix"))
        return opened[-1]

    yield build
    for engine in opened:
        engine.close()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a module's browser tests (skips where Chromium or Playwright is
    missing). Per module, not per session: Playwright's sync API allows one driver at a time, and
    a test that starts its own (as test_hardening_web does) must find none running."""
    from browser_support import launched_chromium

    with launched_chromium() as chromium:
        yield chromium
