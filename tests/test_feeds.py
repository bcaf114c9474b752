"""Saved searches as Atom feeds: /feeds/search.atom."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from search_web import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def get_feed(client, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    return root


def entries(feed: ET.Element) -> list[ET.Element]:
    return feed.findall(f"{ATOM}entry")


def text(element: ET.Element, tag: str) -> str:
    found = element.find(f"{ATOM}{tag}")
    assert found is not None, tag
    return found.text or ""


def links(element: ET.Element, rel: str = "alternate") -> list[str]:
    return [link.get("href") for link in element.findall(f"{ATOM}link") if link.get("rel") == rel]


def test_feed_has_the_required_elements(client):
    feed = get_feed(client, "/feeds/search.atom?q=淨零排碳")
    assert text(feed, "id") == "http://localhost/feeds/search.atom?q=淨零排碳"
    assert text(feed, "title") == "「淨零排碳」的最新發言・會議逐字稿搜尋"
    assert text(feed, "updated") == "2023-05-10T00:00:00Z"
    assert links(feed, "self") == ["http://localhost/feeds/search.atom?q=淨零排碳"]
    (alternate,) = links(feed)
    assert urlsplit(alternate).path == "/search"
    assert parse_qs(urlsplit(alternate).query) == {"q": ["淨零排碳"], "sort": ["date"], "view": ["turns"]}
    assert text(feed.find(f"{ATOM}author"), "name") == "會議逐字稿搜尋"
    for entry in entries(feed):
        for tag in ("id", "title", "updated", "content"):
            assert text(entry, tag), tag
        assert RFC3339.match(text(entry, "updated"))
        assert entry.find(f"{ATOM}content").get("type") == "html"
        assert text(entry.find(f"{ATOM}author"), "name")


def test_one_entry_per_turn_newest_first(client, engine):
    feed = get_feed(client, "/feeds/search.atom?q=淨零排碳")
    hits = engine.run("淨零排碳").page(limit=0, sort="date").hits
    got = entries(feed)
    assert len(got) == len(hits) == 4
    q = quote("淨零排碳")
    for entry, hit in zip(got, hits):
        mid = quote(hit.meeting_id)
        assert text(entry, "id") == f"http://localhost/meetings/{mid}#turn-{hit.turn}"
        assert links(entry) == [f"http://localhost/meetings/{mid}?q={q}#turn-{hit.turn}"]
        assert text(entry, "title") == f"{hit.title} — {hit.speaker}"
        assert text(entry, "updated") == f"{hit.date}T00:00:00Z"
        assert text(entry.find(f"{ATOM}author"), "name") == hit.speaker
        assert text(entry, "content") == hit.snippet
    assert [text(e, "updated")[:10] for e in got] == ["2023-05-10", "2022-09-05", "2022-09-05", "2021-03-02"]
    assert len({text(e, "id") for e in got}) == 4


def test_entry_links_open_the_turn(client):
    feed = get_feed(client, "/feeds/search.atom?q=台北通")
    link = links(entries(feed)[0])[0]
    path = link.removeprefix("http://localhost")
    page = client.get(path.split("#")[0]).get_data(as_text=True)
    assert 'id="turn-0"' in page and "<mark>台北通</mark>" in page


@pytest.mark.parametrize(
    "args, expected",
    [
        ("&speaker=唐鳳", 1),
        ("&since=2022", 3),
        ("&until=2022-09", 3),
        ("&since=2024", 0),
        ("&aliases=1", 4),
    ],
)
def test_feed_keeps_the_search_filters(client, engine, args, expected):
    query = "淨零排碳" if "aliases" not in args else "開放政府"
    feed = get_feed(client, f"/feeds/search.atom?q={query}{args}")
    assert len(entries(feed)) == expected
    assert text(feed, "updated")  # also without entries


def test_feed_with_aliases_links_with_aliases(client):
    feed = get_feed(client, "/feeds/search.atom?q=開放政府&aliases=1")
    assert text(feed, "title") == "「開放政府」的最新發言（含同義詞）・會議逐字稿搜尋"
    for entry in entries(feed):
        assert parse_qs(urlsplit(links(entry)[0]).query) == {"q": ["開放政府"], "aliases": ["1"]}
    assert any("<mark>Open Government</mark>" in text(e, "content") for e in entries(feed))


def test_feed_has_at_most_fifty_entries(client, monkeypatch):
    from search_web import feeds

    assert feeds.FEED_LIMIT == 50
    monkeypatch.setattr(feeds, "FEED_LIMIT", 3)
    assert len(entries(get_feed(client, "/feeds/search.atom?q=的"))) == 3


def test_untrusted_text_is_escaped_not_parsed(client):
    feed = get_feed(client, "/feeds/search.atom?q=alert(1)")
    (entry,) = entries(feed)
    content = text(entry, "content")
    # The snippet is HTML (escaped text with <mark>), carried as text, as type="html" wants.
    assert "&lt;script&gt;<mark>alert(1)</mark>&lt;/script&gt;" in content
    raw = client.get("/feeds/search.atom?q=alert(1)").data.decode("utf-8")
    assert "&amp;lt;script&amp;gt;&lt;mark&gt;alert(1)&lt;/mark&gt;" in raw and "<script" not in raw
    assert entry.find(f"{ATOM}content").find("*") is None  # no elements inside
    odd = get_feed(client, "/feeds/search.atom?q=" + quote('淨零排碳 -"</title><x>&amp;"'))
    assert text(odd, "title") == '「淨零排碳 -"</title><x>&amp;"」的最新發言・會議逐字稿搜尋'


def test_xml_text_drops_characters_xml_cannot_hold():
    from search_web.feeds import _xml_text

    assert _xml_text("a\x00b\x0bc\td\ne\ufffe") == "abc\td\ne"


@pytest.mark.parametrize("url", ["/feeds/search.atom", "/feeds/search.atom?q=", '/feeds/search.atom?q="open'])
def test_feed_errors_have_the_json_error_shape(client, url):
    response = client.get(url)
    assert response.status_code == 400
    data = response.get_json()
    assert data["ok"] is False and data["status"] == 400 and data["error"].startswith("invalid query: ")


def test_feed_under_a_url_prefix(index_dir, engine):
    client = create_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, "URL_PREFIX": "/search"}).test_client()
    feed = get_feed(client, "/search/feeds/search.atom?q=台北通")
    assert text(feed, "id").startswith("http://localhost/search/feeds/search.atom?q=")
    assert links(feed)[0].startswith("http://localhost/search/search?")
    for entry in entries(feed):
        assert text(entry, "id").startswith("http://localhost/search/meetings/")
        assert links(entry)[0].startswith("http://localhost/search/meetings/")
