"""Bad queries at every front door: the CLI, the pages and the JSON API (issue #5, part 1).

A malformed query gets one clear message: ``Error: invalid query: …`` on one stderr line with
exit code 1 from the CLI, HTTP 400 in the JSON error shape from the API and the exports, a
friendly 400 page from the HTML pages. Option values click validates (``--page abc``) are usage
errors: exit code 2, as the design card says. Nothing answers with a traceback or a 500.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.errors import QueryError
from indexer.query import And, DateRange, Field, Not, Or, Text, parse_query, positive_texts
from indexer.results import SearchPage

from conftest import EMBED_ORIGIN
from hardening import (
    BAD_QUERIES,
    BLANK_QUERIES,
    ODD_QUERIES,
    assert_json_error,
    assert_no_traceback,
    assert_security_headers,
    one_line_error,
)

REPO = Path(__file__).resolve().parent.parent

#: Routes that take ``q`` and answer in JSON (or CSV/Atom when the query is good).
JSON_ROUTES = [
    "/api/search", "/api/facets", "/api/kwic", "/api/timeline", "/api/speakers/ranking", "/api/explain",
    "/export.csv", "/export.json", "/kwic.csv", "/kwic.json", "/feeds/search.atom",
]
#: HTML pages that take ``q``.
PAGE_ROUTES = ["/search", "/embed", "/kwic", "/speakers"]


def short_id(value: str) -> str:
    text = value if len(value) <= 20 else f"{value[:8]}…{len(value)}chars"
    return text.encode("unicode_escape").decode("ascii")


# --- CLI ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", BAD_QUERIES + BLANK_QUERIES, ids=short_id)
def test_cli_bad_query_is_one_line_and_exit_1(cli, query):
    result = cli("search", query)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert one_line_error(result.stderr).startswith("Error: invalid query: ")


@pytest.mark.parametrize("query", ODD_QUERIES, ids=short_id)
def test_cli_odd_query_answers(cli, query):
    result = cli("search", query, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] >= len(data["hits"]) >= 0


@pytest.mark.parametrize(
    "options",
    [
        ["--page", "-1"], ["--page", "0"], ["--page", "abc"], ["--page", "1000000000"],
        ["--limit", "1000000000"], ["--limit", "-1"], ["--limit", "abc"], ["--sort", "random"],
    ],
    ids=" ".join,
)
def test_cli_bad_paging_is_a_usage_error(cli, options):
    result = cli("search", "淨零", *options)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(f"Error: Invalid value for '{options[0]}'")
    assert_no_traceback(result.stderr)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", b"\xff\xe6\xb7\xa8"], "Error: invalid query: invalid character in query (bytes that are not UTF-8 text) at position 1"),
        (["search", "淨零", "--speaker", b"\xff"], "Error: "),
        (["search", "淨零", "--since", b"\xff"], "Error: invalid query: "),
        (["show", b"\xff\xfe"], "Error: no meeting with id "),
    ],
    ids=["query", "speaker", "since", "meeting-id"],
)
def test_cli_arguments_that_are_not_utf8(index_dir, argv, message):
    """Undecodable bytes in argv reach Python as lone surrogates (a Big5 terminal, a script)."""
    result = subprocess.run(
        [sys.executable, "-m", "indexer", *argv, "--index", str(index_dir).encode()],
        cwd=REPO, capture_output=True, timeout=120,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1, stderr
    assert result.stdout == b""
    assert one_line_error(stderr).startswith(message)


def test_engine_speaker_option_that_is_not_text_is_a_query_error(engine):
    with pytest.raises(QueryError):
        engine.search("淨零", speaker="\udcff")


def test_cli_unexpected_error_is_still_one_line(cli, monkeypatch):
    """A bug in the library costs one line on stderr; CIVIC_SEARCH_DEBUG=1 shows the traceback."""

    def broken(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'make_filename'")

    monkeypatch.setattr("indexer.search.SearchEngine.search", broken)
    result = cli("search", "淨零")
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == (
        "Error: unexpected error (AttributeError: 'NoneType' object has no attribute 'make_filename'); "
        "please report it (CIVIC_SEARCH_DEBUG=1 shows the traceback)"
    )
    monkeypatch.setenv("CIVIC_SEARCH_DEBUG", "1")
    assert isinstance(cli("search", "淨零").exception, AttributeError)


# --- pages and API -----------------------------------------------------------------------------


def require_route(app, route: str) -> None:
    """Fail (never skip) when a route these tests cover is not served: a renamed or lost route
    must show up as failures."""
    assert route in {rule.rule for rule in app.url_map.iter_rules()}, f"{route} is not served"


def test_every_route_these_tests_cover_is_served(app):
    for route in JSON_ROUTES + PAGE_ROUTES:
        require_route(app, route)


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize("query", BAD_QUERIES + BLANK_QUERIES, ids=short_id)
def test_api_bad_query_is_a_400_in_the_error_shape(app, client, route, query):
    require_route(app, route)
    response = client.get(route, query_string={"q": query})
    data = assert_json_error(response, 400)
    assert data["error"].startswith("invalid query: ")
    assert_security_headers(response, (EMBED_ORIGIN,))


@pytest.mark.parametrize("route", PAGE_ROUTES)
@pytest.mark.parametrize("query", BAD_QUERIES, ids=short_id)
def test_page_bad_query_is_a_friendly_400(app, client, route, query):
    require_route(app, route)
    response = client.get(route, query_string={"q": query})
    assert response.status_code == 400 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "無法解讀這個查詢" in text
    assert_no_traceback(text)
    assert_security_headers(response, (EMBED_ORIGIN,))


@pytest.mark.parametrize("query", ODD_QUERIES, ids=short_id)
def test_odd_query_answers_everywhere(app, client, query):
    for route in JSON_ROUTES + PAGE_ROUTES:
        require_route(app, route)
        response = client.get(route, query_string={"q": query})
        text = response.get_data(as_text=True)
        assert response.status_code == 200, (route, text[:300])
        assert_no_traceback(text)
        if response.mimetype == "application/json":
            json.loads(text)


@pytest.mark.parametrize(
    "name, value",
    [("page", "-1"), ("page", "0"), ("page", "abc"), ("page", "1.5"), ("page", "1000000000"),
     ("page", "99999999999999999999999"), ("limit", "1000000000"), ("limit", "-1"), ("limit", "abc"),
     ("sort", "random")],
)
def test_api_bad_paging_is_a_400(client, name, value):
    data = assert_json_error(client.get("/api/search", query_string={"q": "淨零", name: value}), 400)
    assert name in data["error"]


@pytest.mark.parametrize("route", ["/api/facets", "/api/speakers", "/api/speakers/ranking", "/api/search"])
def test_api_page_size_is_bounded(app, client, route):
    require_route(app, route)
    assert_json_error(client.get(route, query_string={"q": "淨零", "limit": "1000000000"}), 400)


@pytest.mark.parametrize("page", ["-1", "0", "abc", "1000000000", "99999999999999999999999"])
@pytest.mark.parametrize("view", ["meetings", "turns"])
def test_page_bad_paging_is_forgiven(client, page, view):
    """The pages never fail on ``page``: not a positive integer is 1, past the end is the last."""
    response = client.get("/search", query_string={"q": "淨零", "page": page, "view": view})
    assert response.status_code == 200
    assert_no_traceback(response.get_data(as_text=True))


# --- properties --------------------------------------------------------------------------------

FRAGMENTS = [
    "淨零", "台北", "a", " ", "  ", '"', "\uff02", "(", ")", "|", "-", "OR", "AND", "NOT", " OR ", " -",
    "speaker:", "title:", "date:", "speaker：", "2022", "2022-09", "..", ":", "：", "foo:", "https://x",
    "\t", "\n", "\x00", "\udcff", "\ud800", "😀", "\u202e", "ﬁ", "臺", "Ａ", "’", "\\", "%", "<b>",
]
QUERY_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(exclude_categories=()), max_size=30),
    st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join),
)
NODE_TYPES = (Text, Field, DateRange, And, Or, Not)


def check_tree(node) -> None:
    assert isinstance(node, NODE_TYPES)
    if isinstance(node, (And, Or)):
        assert len(node.children) >= 2
        for child in node.children:
            check_tree(child)
    elif isinstance(node, Not):
        check_tree(node.child)
    elif isinstance(node, (Text, Field)):
        assert node.value.strip()


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(QUERY_TEXT)
def test_parser_returns_a_tree_or_a_query_error(text):
    try:
        tree = parse_query(text)
    except QueryError as err:
        assert str(err).strip() and "\n" not in str(err)
        return
    check_tree(tree)
    positive_texts(tree)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(QUERY_TEXT)
def test_engine_returns_a_page_or_a_query_error(engine, text):
    try:
        page = engine.search(text, limit=3)
    except QueryError:
        return
    assert isinstance(page, SearchPage)
    assert page.total >= len(page.hits) and page.meetings <= page.total
    json.dumps(page.to_dict(), ensure_ascii=False).encode("utf-8")  # printable and servable


@pytest.mark.parametrize("route", PAGE_ROUTES)
@pytest.mark.parametrize("query", BLANK_QUERIES, ids=short_id)
def test_page_blank_query_is_not_an_error(app, client, route, query):
    """A blank query is no query: the page shows its empty state (the search form on /search)."""
    require_route(app, route)
    response = client.get(route, query_string={"q": query})
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert_no_traceback(text)
    if route == "/search":
        assert 'name="q"' in text
