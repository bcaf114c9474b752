"""Web security (issue #5, part 5): hostile text everywhere, headers, ids, methods, errors.

tests/test_web_security.py checks that turn text, one speaker label and the query are escaped on
the main pages. This file extends that to every route the app serves (found from its URL map,
so new pages are covered as they are added), to hostile titles, section headings, meeting
metadata and meeting ids (file names), to attributes and the embed widget in a real browser;
and checks the headers on every kind of response, meeting-id validation, that no method can
change the index, and what an internal error shows.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import re
import threading
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote
from urllib.parse import unquote as unquote_path

import pytest

from search_web import create_app

from conftest import EMBED_ORIGIN as ORIGIN
from hardening import (
    assert_json_error,
    assert_no_traceback,
    assert_security_headers,
    get_routes,
    index_files,
)

# A file name is a meeting id: this one becomes '"><svg-onload=alert(1)>'.
HOSTILE_FILE = '"><svg onload=alert(1)>.md'
HOSTILE_ID = '"><svg-onload=alert(1)>'
HOSTILE_MD = """# 2022-03-04 <img src=x onerror=alert(2)>&lt;script&gt;alert("title")&lt;/script&gt;

## &lt;iframe src=javascript:alert(3)&gt; 議題

### &lt;img src=x onerror=alert(4)&gt;：
發言裡有 &lt;svg onload=alert(5)&gt; 和 javascript:alert(6) 以及 "雙引號" 與 'apostrophe' 還有 &amp;lt;b&amp;gt;。

### 主席" onmouseover="alert(7)：
&lt;/textarea&gt;&lt;/title&gt;&lt;/style&gt;&lt;script&gt;alert(8)&lt;/script&gt; {{7*7}} ${alert(9)}
"""
HOSTILE_RECORD = (
    "會議紀錄 alert(10)\n"
    "日期\t111年09月05日\t時間\t10:30\n"
    "地點\t<script>alert(11)</script>\t紀錄\t\"><img src=x onerror=alert(12)>\n"
    "主席\t<svg/onload=alert(13)>\n"
    "王主席：\n"
    "記錄格式的 alert(14) 發言。\n"
)
#: A person whose label holds markup (decoded from entities), for the person routes.
HOSTILE_PERSON = "王大明"
HOSTILE_PERSON_MD = """# 2022-03-05 人物 alert

### 王大明（&lt;b onmouseover=alert&gt;）：
有 alert(16) 的 &lt;b&gt;發言&lt;/b&gt; 與 &lt;img src=x onerror=alert(17)&gt;。
"""
#: Elements that transcript text must never become.
FORBIDDEN_TAGS = {"img", "svg", "iframe", "object", "embed", "textarea", "b", "math", "video", "audio", "base"}
HOSTILE_QUERIES = [
    "alert",  # matches every hostile turn: snippets and highlights of hostile text
    'alert "><svg onload=alert(20)>',  # unbalanced quote: echoed on an error page
    "alert ' onfocus=alert(21) autofocus '",
    "</textarea><script>alert(22)</script>",
    "speaker:主席\" onmouseover=\"alert(7)",
]


class Page(HTMLParser):
    """Tags, attributes and text of an HTML page."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def assert_safe_html(text: str) -> Page:
    """No hostile markup became markup: only the templates' own tags, no handlers, no
    javascript: links, scripts only from /static/."""
    page = Page(text)
    for tag, attrs in page.tags:
        if tag == "svg" and attrs.get("class") == "timeline-chart":
            continue  # the template's own chart
        assert tag not in FORBIDDEN_TAGS, (tag, attrs)
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction", "xlink:href"):
            assert not (attrs.get(name) or "").strip().lower().startswith(("javascript:", "data:text")), (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        if tag == "meta":
            assert "refresh" not in (attrs.get("http-equiv") or "").lower(), attrs
        if tag == "form":
            assert (attrs.get("action") or "").startswith("/"), attrs
    assert "<script>alert" not in text and "<img" not in text
    assert not re.search(r"<svg[\s/-]*onload", text, re.I)
    return page


@pytest.fixture(scope="module")
def hostile_index(make_index):
    return make_index("hostile", {HOSTILE_FILE: HOSTILE_MD, "紀錄-alert.txt": HOSTILE_RECORD,
                                  "2022-03-05-人物-alert.md": HOSTILE_PERSON_MD})


@pytest.fixture(scope="module")
def app(make_app, hostile_index):
    """The web app over the hostile index (``client`` is the shared fixture over this app)."""
    return make_app({"INDEX_DIR": str(hostile_index), "EMBED_ORIGINS": [ORIGIN], "URL_PREFIX": ""})


def test_the_fixture_is_as_hostile_as_intended(app, client):
    record = client.get(f"/api/meetings/{quote(HOSTILE_ID, safe='')}").get_json()
    assert record["title"] == '<script>alert("title")</script>'
    assert [t["speaker"] for t in record["turns"]] == ["<img src=x onerror=alert(4)>", '主席" onmouseover="alert(7)']
    with app.app_context():
        from search_web.helpers import get_engine

        assert get_engine().meeting(HOSTILE_ID).turns[0].section.startswith("<iframe src=javascript:alert(3)>")
    assert "<svg onload=alert(5)>" in record["turns"][0]["text"]
    other = client.get("/api/search?q=alert(14)").get_json()["hits"][0]["meeting_id"]
    meta = client.get(f"/api/meetings/{quote(other)}").get_json()
    assert meta["location"] == "<script>alert(11)</script>" and meta["chair"] == "<svg/onload=alert(13)>"


def route_urls(app) -> list[str]:
    """One URL per GET route, the meeting routes with each hostile meeting, the person routes
    with the hostile record's person."""
    urls = []
    for rule, arguments in get_routes(app):
        if not arguments:
            urls.append(rule)
        elif arguments == ("meeting_id",):
            for mid in (HOSTILE_ID, "紀錄-alert"):
                urls.append(rule.replace("<meeting_id>", quote(mid, safe="")))
        elif arguments == ("name",):
            urls.append(rule.replace("<name>", quote(HOSTILE_PERSON, safe="")))
        elif arguments == ("token",):
            continue  # the alerts' signed links: their own tests send forged and expired ones
        else:
            raise AssertionError(f"a route this sweep does not know how to fill: {rule}")
    return urls


@pytest.mark.parametrize("name", ['<script>alert(30)</script>', '"><img src=x onerror=alert(31)>', "王大明\x00",
                                  "\u202e王大明", "..", "%2e%2e"])
def test_person_routes_refuse_hostile_names(client, name):
    page = client.get("/people/" + quote(name, safe=""))
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert_safe_html(page.get_data(as_text=True))
    api = client.get("/api/people/" + quote(name, safe=""))
    assert api.status_code == 404 and api.get_json()["ok"] is False
    assert_no_traceback(api.get_data(as_text=True))


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_every_page_escapes_hostile_text(app, client, query):
    shown = 0
    for url in route_urls(app):
        for extra in ({}, {"view": "turns"}, {"speaker": "主席", "sort": "date"}):
            response = client.get(url, query_string={"q": query, **extra})
            assert response.status_code in (200, 400), (url, response.status_code)
            text = response.get_data(as_text=True)
            assert_no_traceback(text)
            assert_security_headers(response, (ORIGIN,))
            if url.endswith("/source"):  # the original file, as a download: never rendered
                assert response.headers["Content-Disposition"].startswith("attachment")
            elif response.mimetype == "text/html":
                page = assert_safe_html(text)
                shown += any("alert" in chunk for chunk in page.text)
            elif response.mimetype == "application/json":
                check_json_snippets(json.loads(text))
            elif response.mimetype == "application/atom+xml":
                ET.fromstring(response.data)  # well-formed: the text is XML-escaped
            else:
                assert response.mimetype == "text/csv" and response.headers["Content-Disposition"].startswith("attachment")
    assert shown  # the hostile text was on the pages, as text


def check_json_snippets(value) -> None:
    """Snippets are HTML with only <mark> as markup: everything else is escaped."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "snippet":
                assert "<" not in re.sub(r"</?mark>", "", item), item
            check_json_snippets(item)
    elif isinstance(value, list):
        for item in value:
            check_json_snippets(item)


def test_hostile_meeting_page_shows_everything_as_text(client):
    response = client.get(f"/meetings/{quote(HOSTILE_ID, safe='')}", query_string={"q": "alert"})
    assert response.status_code == 200
    page = assert_safe_html(response.get_data(as_text=True))
    text = "".join(page.text)
    for shown in ('<script>alert("title")</script>', "<img src=x onerror=alert(4)>", "<iframe src=javascript:alert(3)>",
                  "<svg onload=alert(5)>", '主席" onmouseover="alert(7)', "&lt;b&gt;", "{{7*7}}", "${alert(9)}"):
        assert shown in text, shown
    record = client.get("/meetings/紀錄-alert").get_data(as_text=True)
    text = "".join(assert_safe_html(record).text)
    assert "<script>alert(11)</script>" in text and "<svg/onload=alert(13)>" in text


def test_hostile_meeting_id_in_links_and_attributes(client):
    text = client.get("/search", query_string={"q": "alert", "view": "turns"}).get_data(as_text=True)
    page = assert_safe_html(text)
    hrefs = [attrs["href"] for tag, attrs in page.tags if tag == "a" and "/meetings/" in attrs.get("href", "")]
    targets = {unquote_path(h.split("?", 1)[0].removeprefix("/meetings/")) for h in hrefs}
    assert HOSTILE_ID in targets, hrefs
    for href in hrefs:
        assert '"' not in href and "<" not in href and " " not in href


def test_embed_js_builds_the_dom_from_text_only(client):
    for name in ("embed.js", "app.js"):
        with client.get(f"/static/{name}") as response:
            body = response.get_data(as_text=True)
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                     "setTimeout(\"", "srcdoc"):
            assert sink not in body, (name, sink)
    with client.get("/static/embed.js") as response:
        embed = response.get_data(as_text=True)
    assert "encodeURIComponent(hit.meeting_id)" in embed and "encodeURIComponent(query)" in embed
    assert "credentials: \"omit\"" in embed


# --- headers on every response ------------------------------------------------------------------


def response_kinds(client):
    """One request of every kind of response: pages, JSON, files, errors."""
    requests = [
        ("page 200", "GET", "/search?q=alert"), ("page 400", "GET", '/search?q="alert'), ("page 404", "GET", "/nope"),
        ("meeting 404", "GET", "/meetings/no-such-meeting"), ("page 405", "POST", "/search"),
        ("json 200", "GET", "/api/search?q=alert"), ("json 400", "GET", "/api/search?q="),
        ("json 404", "GET", "/api/nope"), ("json 405", "DELETE", "/api/search"), ("csv 200", "GET", "/export.csv?q=alert"),
        ("static 200", "GET", "/static/style.css"), ("static 404", "GET", "/static/nope.js"), ("healthz", "GET", "/healthz"),
        ("head", "HEAD", "/search?q=alert"), ("options", "OPTIONS", "/api/search"),
    ]
    for kind, method, url in requests:
        with client.open(url, method=method) as response:
            response.get_data()
            yield kind, response


def test_security_headers_on_every_kind_of_response(client):
    for kind, response in response_kinds(client):
        assert_security_headers(response, (ORIGIN,)), kind
        assert "X-Frame-Options" not in response.headers, kind
        if response.status_code >= 400 and response.mimetype == "text/html":
            assert_no_traceback(response.get_data(as_text=True))


def test_frame_ancestors_follow_the_configuration(hostile_index, app):
    bare = create_app({"INDEX_DIR": str(hostile_index), "ENGINE": app.extensions["civic_search"].engine, "EMBED_ORIGINS": []})
    for _, response in response_kinds(bare.test_client()):
        assert_security_headers(response, ())
    two = ["https://a.example", "http://b.example:8080"]
    configured = create_app({"INDEX_DIR": str(hostile_index), "EMBED_ORIGINS": " ".join(two)})
    assert_security_headers(configured.test_client().get("/nope"), tuple(two))


def test_security_headers_on_errors_and_outside_the_prefix(hostile_index):
    prefixed = create_app({"INDEX_DIR": str(hostile_index), "EMBED_ORIGINS": [ORIGIN], "URL_PREFIX": "/search"})
    response = prefixed.test_client().get("/elsewhere")
    assert response.status_code == 404
    assert_security_headers(response, (ORIGIN,))
    missing = create_app({"INDEX_DIR": str(hostile_index / "missing"), "EMBED_ORIGINS": [ORIGIN]})
    for url in ("/search?q=x", "/api/search?q=x"):
        response = missing.test_client().get(url)
        assert response.status_code == 503
        assert_security_headers(response, (ORIGIN,))
        assert str(hostile_index) not in response.get_data(as_text=True)  # no filesystem path


# --- meeting ids ---------------------------------------------------------------------------------


TRAVERSALS = [
    "..%2F..%2Fetc%2Fpasswd", "..%2f..%2fsetup.cfg", "%2e%2e%2f%2e%2e%2fsetup.cfg", "..%5C..%5Csetup.cfg",
    "....//....//etc/passwd", "%00", "x%00.md", "%2F", "%252e%252e%252fetc%252fpasswd", "..", ".",
    "%C0%AE%C0%AE%2Fetc%2Fpasswd", "~root", "%ff%fe", "a" * 10_000, "%0d%0aSet-Cookie:%20x=1",
]


@pytest.mark.parametrize("raw", TRAVERSALS, ids=lambda r: r[:24])
def test_meeting_ids_never_read_files(client, raw):
    for prefix in ("/meetings/", "/api/meetings/"):
        response = client.get(prefix + raw)
        body = response.get_data(as_text=True)
        assert response.status_code == 404, (prefix + raw, response.status_code)
        assert "root:" not in body and "[metadata]" not in body and "Set-Cookie" not in response.headers
        assert len(body) < 40_000 and "<" not in unquote_path(raw)[:0] + body.split("</html>")[-1]
        if prefix.startswith("/api"):
            assert "a" * 1000 not in body  # a long id is not echoed back in the JSON error
        assert_no_traceback(body)
        if prefix.startswith("/api"):
            assert_json_error(response, 404)


@pytest.mark.parametrize("raw", ["..%2f..%2fsetup.cfg", "../../setup.cfg", "%2e%2e/%2e%2e/setup.cfg", "..%5capp.py"])
def test_static_files_stay_in_the_static_folder(client, raw):
    response = client.get("/static/" + raw)
    assert response.status_code == 404 and "[metadata]" not in response.get_data(as_text=True)


# --- no endpoint changes the index ----------------------------------------------------------------


#: Forms that take POST (CSRF-protected; their own tests are in tests/test_alerts_web.py).
FORM_ROUTES = {"/alerts/subscribe"}


def test_no_method_other_than_get_is_accepted(app, client, hostile_index):
    before = index_files(hostile_index)
    for url in route_urls(app) + ["/static/embed.js"]:
        allowed = {"GET", "HEAD", "OPTIONS"} | ({"POST"} if url in FORM_ROUTES else set())
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            response = client.open(url, method=method, data={"q": "x"})
            if method in allowed:  # a form's POST without its CSRF token: refused, nothing written
                assert response.status_code == 400 and "表單已失效" in response.get_data(as_text=True)
                continue
            assert response.status_code == 405, (method, url, response.status_code)
            assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed
            assert_security_headers(response, (ORIGIN,))
            if url.startswith(("/api/", "/export", "/kwic.", "/feeds/", "/healthz")):
                assert_json_error(response, 405)
            else:
                text = response.get_data(as_text=True)
                assert response.mimetype == "text/html" and "不支援這個操作" in text
                assert f"只接受 {'、'.join(sorted(allowed - {'HEAD', 'OPTIONS'}))} 請求" in text
    assert index_files(hostile_index) == before


# --- internal errors ---------------------------------------------------------------------------------

SECRET = "/srv/secret/index/MAIN_abc.pst"


class BrokenEngine:
    """An engine whose every method fails with a message holding a filesystem path."""

    index_dir = Path(SECRET)

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise RuntimeError(f"disk read failed at {SECRET}")

        return fail


def test_internal_error_is_a_plain_500_and_is_logged(hostile_index, caplog):
    app = create_app({"INDEX_DIR": str(hostile_index), "ENGINE": BrokenEngine(), "EMBED_ORIGINS": [ORIGIN]})
    client = app.test_client()
    failed = []
    with caplog.at_level(logging.ERROR):
        for url in route_urls(app):
            response = client.get(url, query_string={"q": "alert"})
            if response.status_code != 500:
                continue
            failed.append(url)
            body = response.get_data(as_text=True)
            assert_no_traceback(body)
            assert SECRET not in body and "RuntimeError" not in body
            assert_security_headers(response, (ORIGIN,))
            if response.mimetype == "application/json":
                assert assert_json_error(response, 500)["error"] == "internal error"
            else:
                assert response.mimetype == "text/html" and "系統發生錯誤" in body
    assert {"/", "/search", "/api/search", "/healthz", "/embed"} <= set(failed)
    assert any(u.startswith("/meetings/") for u in failed) and any(u.startswith("/api/meetings/") for u in failed)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert len(logged) >= len(failed)
    assert all(r.exc_info[0] is RuntimeError for r in logged)


# --- the embed widget in a real browser ---------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
def test_embed_widget_shows_hostile_results_as_text(app, hostile_index):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from waitress import create_server

    host_pages: dict[str, str] = {}

    class Host(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = host_pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
    origin = f"http://127.0.0.1:{host.server_address[1]}"
    widget_app = create_app({"INDEX_DIR": str(hostile_index), "ENGINE": app.extensions["civic_search"].engine, "EMBED_ORIGINS": [origin]})
    server = create_server(widget_app, host="127.0.0.1", port=0, threads=2)
    base = f"http://127.0.0.1:{server.effective_port}"
    host_pages["/w.html"] = (
        f'<!doctype html><meta charset="utf-8"><script src="{base}/static/embed.js" defer></script>'
        '<div data-civic-search data-limit="5" data-query="alert"></div>'
    )
    threads = [threading.Thread(target=s, daemon=True) for s in (host.serve_forever, server.run)]
    for thread in threads:
        thread.start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            dialogs = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(origin + "/w.html")
            page.wait_for_selector(".civic-search-hit", timeout=15_000)
            widget = page.locator("[data-civic-search]")
            injected = widget.evaluate("w => [...w.querySelectorAll('img,svg,iframe,script,b,textarea')].length")
            text = widget.inner_text()
            hrefs = widget.evaluate("w => [...w.querySelectorAll('a')].map(a => a.getAttribute('href'))")
            page.goto(base + "/embed?q=alert")  # the iframe page, too
            page.goto(f"{base}/meetings/{quote(HOSTILE_ID, safe='')}?q=alert")
            page.wait_for_timeout(300)
            browser.close()
    finally:
        server.close()
        host.shutdown()
        host.server_close()
    assert dialogs == [] and injected == 0
    assert "<svg onload=alert(5)>" in text and "<img src=x onerror=alert(4)>" in text
    encoded = "%22%3E%3Csvg-onload%3Dalert(1)%3E"  # encodeURIComponent(HOSTILE_ID)
    assert all(h.startswith(base + "/") for h in hrefs) and any(f"/meetings/{encoded}?" in h for h in hrefs), hrefs
