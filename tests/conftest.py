"""Shared fixtures: one small index built once per session from hand-written transcripts, and
the front doors over it (the command line, the web app and its test client).

The fixture corpus is the bundled sample record plus tests/fixtures/index/*.md. Library, CLI
and web tests all search the same index, so what one layer shows the others must show too.
Counts that tests compare with pages and outputs come from the engine (:func:`counts`), never
from literals, so that a fixture transcript can be added without editing the tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.build import build_index
from indexer.cli import main
from indexer.paths import bundled_corpus_dir
from search_web import create_app

FIXTURES = Path(__file__).parent / "fixtures"
INDEX_FIXTURES = FIXTURES / "index"
#: The intranet origin the shared web app lets embed its pages and call its API.
EMBED_ORIGIN = "https://intranet.example.org"


def shared_corpus_dir() -> Path:
    """``$CIVIC_SEARCH_CORPUS``, else ../shared/corpus beside the repository."""
    env = os.environ.get("CIVIC_SEARCH_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def write_corpus(folder: Path, files: dict[str, str]) -> Path:
    """Write transcripts given as {file name: text} into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def copy_index_fixtures(folder: Path) -> Path:
    """``folder`` (created) holding a copy of tests/fixtures/index: a corpus a test may change."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(INDEX_FIXTURES.iterdir()):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory) -> Path:
    """A folder holding the fixture transcripts (a copy: tests may not modify the originals)."""
    folder = copy_index_fixtures(tmp_path_factory.mktemp("corpus"))
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
def counts(engine):
    """``counts(query, **filters)`` → (matching turns, meetings) in the fixture index."""

    def count(query: str, **filters) -> tuple[int, int]:
        result_set = engine.run(query, **filters)
        return result_set.total, result_set.meeting_count

    return count


@pytest.fixture(scope="session")
def summary(counts):
    """``summary(query, **filters)`` → the pages' count line, e.g. "4 段發言，3 場會議"."""

    def text(query: str, **filters) -> str:
        turns, meetings = counts(query, **filters)
        return f"{turns} 段發言，{meetings} 場會議"

    return text


@pytest.fixture(scope="session")
def make_index(tmp_path_factory):
    """``make_index(name, {file name: text})`` → the folder of a new index of those transcripts."""

    def make(name: str, files: dict[str, str]) -> Path:
        corpus = write_corpus(tmp_path_factory.mktemp(f"{name}-corpus"), files)
        directory = tmp_path_factory.mktemp(f"{name}-index")
        report = build_index([corpus], directory, workers=1)
        assert not report.skipped, report.skipped
        return directory

    return make


@pytest.fixture(scope="session")
def make_app():
    """``make_app(config)`` → ``create_app(config)``; engines the apps open are closed at the end."""
    apps = []

    def make(config: dict | None = None, **kwargs):
        app = create_app(config, **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["civic_search"].close()


@pytest.fixture(scope="session")
def app(make_app, index_dir, engine):
    """The web app over the fixture index (the session's engine), embeddable by EMBED_ORIGIN."""
    return make_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, "EMBED_ORIGINS": [EMBED_ORIGIN], "URL_PREFIX": ""})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(index_dir):
    """``cli(*args)`` runs ``civic-search *args --index <fixture index>`` (``index=False``: no
    ``--index``) and returns click's Result (stdout, stderr and exit code apart)."""
    runner = CliRunner()

    def invoke(*args, index: bool = True):
        extra = ["--index", str(index_dir)] if index else []
        return runner.invoke(main, [*args, *extra])

    return invoke


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
        build_index([write_corpus(tmp_path / "corpus", files)], tmp_path / "ix", workers=1)
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
