"""Escaping: transcript text, speaker labels and queries never reach a page unescaped."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

XSS_TRANSCRIPT = """# 2022-01-01 XSS 測試

### <b>惡意</b>：
字面的 <script>alert(1)</script> 與實體的 &lt;script&gt;alert(1)&lt;/script&gt; 都只是文字。

### 主席：
有人貼了 "><img src=x onerror=alert(1)> 還有 <a href="javascript:alert(2)">連結</a>。
"""

RAW = "<script>alert(1)"
QUERY_ATTACK = '"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def app(make_app, make_index):
    """The web app over an index of XSS_TRANSCRIPT (``client`` is the shared fixture over it)."""
    return make_app({"INDEX_DIR": str(make_index("xss", {"xss.md": XSS_TRANSCRIPT})), "EMBED_ORIGINS": [],
                     "URL_PREFIX": ""})


class Tags(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_safe(text: str) -> None:
    """No markup from the transcript or the query became markup in the page."""
    assert RAW not in text
    assert "<img" not in text
    assert "<b>惡意" not in text
    for tag, attrs in Tags(text).tags:
        assert tag not in ("img", "iframe", "object", "embed", "b"), (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in ("href", "src", "action"):
            assert not (attrs.get(name) or "").lower().startswith("javascript:"), (tag, attrs)


def test_the_fixture_holds_the_literal_script_text(app):
    """The parser unescapes the entity form, so the index holds ``<script>alert(1)</script>`` as text."""
    with app.app_context():
        from search_web.helpers import get_engine

        record = get_engine().meeting("xss")
    assert any(RAW in turn.text for turn in record.turns)


@pytest.mark.parametrize(
    "url",
    [
        "/search?q=script",
        "/search?q=script&view=turns",
        "/search?q=alert",
        "/search?q=speaker:惡意",
        "/meetings/xss",
        "/meetings/xss?q=script",
        "/embed?q=script",
        "/",
    ],
)
def test_transcript_text_is_escaped(client, url):
    response = client.get(url)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert_safe(text)
    if "script" in url and "meetings" not in url:
        assert "&lt;<mark>script</mark>&gt;alert(1)" in text
    if url == "/meetings/xss":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_meeting_page_highlights_inside_escaped_text(client):
    text = client.get("/meetings/xss?q=script").get_data(as_text=True)
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in text


@pytest.mark.parametrize("path", ["/search", "/embed", "/meetings/xss", "/export.json", "/api/search"])
def test_query_is_escaped_where_echoed(client, path):
    response = client.get(path, query_string={"q": QUERY_ATTACK, "speaker": QUERY_ATTACK})
    text = response.get_data(as_text=True)
    assert_safe(text)
    if path in ("/export.json", "/api/search"):
        assert response.status_code == 400 and response.mimetype == "application/json"
        assert json.loads(text)["ok"] is False
    elif path == "/meetings/xss":
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in text
    else:
        assert response.status_code == 400
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in text


def test_filters_are_escaped_where_echoed(client):
    attack = "</script><script>alert(1)</script>"
    query = {"q": "script", "speaker": attack, "since": attack}
    text = client.get("/search", query_string=query).get_data(as_text=True)
    assert_safe(text)
    text = client.get("/search", query_string={"q": "script", "speaker": attack}).get_data(as_text=True)
    assert_safe(text)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_query_that_parses_is_escaped_in_results(client):
    query = '"<script>alert(1)</script>"'
    response = client.get("/search", query_string={"q": query})
    text = response.get_data(as_text=True)
    assert_safe(text)
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in text


def test_api_snippets_are_escaped_html(client):
    data = client.get("/api/search?q=script").get_json()
    (hit,) = data["hits"]
    assert RAW not in hit["snippet"]
    assert "&lt;<mark>script</mark>&gt;alert(1)" in hit["snippet"]
    assert hit["speaker"] == "惡意"


def test_unknown_meeting_id_is_not_echoed(client):
    response = client.get("/meetings/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert_safe(response.get_data(as_text=True))
    api = client.get("/api/meetings/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert api.status_code == 404 and api.mimetype == "application/json"


def test_exports_hold_plain_text(client):
    rows = json.loads(client.get("/export.json?q=script").data)["rows"]
    assert len(rows) == 1 and rows[0]["match"] == "script"
    assert rows[0]["left"].endswith("<") and rows[0]["right"].startswith(">alert(1)")
    raw = client.get("/export.csv?q=script").data.decode("utf-8-sig")
    assert "<,script,>alert(1)</script>" in raw  # CSV is data, not HTML: the text as written


def test_json_responses_are_not_html(client):
    for url in ("/api/search?q=script", "/api/meetings/xss", "/export.json?q=script", "/api/nope"):
        response = client.get(url)
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
