"""The pages in a real Chromium: search, meeting navigation, the embed widget and framing.

Needs /usr/bin/chromium and the ``playwright`` package (no downloaded browsers: Playwright
drives the system Chromium). Saves screenshots to $CIVIC_SEARCH_SCREENSHOTS when it is set
(`CIVIC_SEARCH_SCREENSHOTS=docs/screenshots python -m pytest tests/test_browser.py` refreshes the
README's pictures), else to a temporary folder, so that a test run leaves the work tree alone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from browser_support import AppServer, HostServer

from search_web import create_app

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - depends on the machine (the browser fixture skips)
    PlaywrightError = Exception

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("CIVIC_SEARCH_SCREENSHOTS") or tempfile.mkdtemp(prefix="civic-screenshots-"))
RECORD_ID = "000_c33521a9eed413fa"
TIMEOUT = 15_000


HOST_PAGE = """<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8"><title>市府內部入口網</title>
<style>
  body {{ margin: 0; background: #eef2f6; color: #1c2330;
          font-family: "Noto Sans CJK TC", "PingFang TC", "Microsoft JhengHei", sans-serif; }}
  header {{ background: #24476b; color: #fff; padding: 14px 32px;
            font-size: 18px; font-weight: 700; letter-spacing: .08em; }}
  main {{ max-width: 860px; margin: 24px auto; padding: 0 24px; }}
  .card {{ background: #fff; border-radius: 12px; padding: 20px 24px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
  h1 {{ font-size: 20px; margin: 0 0 12px; }}
  p {{ color: #535e6c; margin: 0 0 16px; }}
</style>
<script src="{app}/static/embed.js" defer></script>
</head><body>
<header>市府內部入口網</header>
<main><div class="card">
<h1>會議紀錄快速查詢</h1>
<p>在這裡直接搜尋公開會議的逐字稿與會議紀錄。</p>
<div data-civic-search data-limit="3"></div>
</div></main>
</body></html>
"""

FRAME_PAGE = """<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8"><title>iframe</title></head><body>
<iframe name="civic" title="會議逐字稿搜尋" width="700" height="500"
        src="{app}/embed?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3"></iframe>
</body></html>
"""


@pytest.fixture(scope="module")
def sites(index_dir, engine):
    """The intranet host, the app allowing it (EMBED_ORIGINS) and the app not configured for it."""
    host = HostServer()
    config = {"INDEX_DIR": str(index_dir), "ENGINE": engine, "URL_PREFIX": ""}
    allowed = AppServer(create_app({**config, "EMBED_ORIGINS": [host.origin]}))
    refused = AppServer(create_app({**config, "EMBED_ORIGINS": []}))
    host.pages["/widget.html"] = HOST_PAGE.format(app=allowed.url)
    host.pages["/widget-refused.html"] = HOST_PAGE.format(app=refused.url)
    host.pages["/frame-allowed.html"] = FRAME_PAGE.format(app=allowed.url)
    host.pages["/frame-refused.html"] = FRAME_PAGE.format(app=refused.url)
    yield {"host": host, "app": allowed, "refused": refused}
    for server in (refused, allowed, host):
        server.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-TW")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A blocked inline script or style would show up here (the CSP allows neither).
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    page.errors = errors
    yield page
    context.close()


def screenshot(page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def current_hit(page) -> dict:
    return page.evaluate(
        """() => {
            const mark = document.querySelector('.transcript mark.current');
            return {
                hit: mark && mark.dataset.hit,
                focused: document.activeElement === mark,
                status: document.querySelector('.hitnav-pos').textContent,
                turn: mark && mark.closest('.turn').id,
            };
        }"""
    )


def test_search_then_meeting_then_next_hit(page, sites, summary):
    base = sites["app"].url
    page.goto(base + "/")
    page.get_by_label("搜尋逐字稿").fill("淨零排碳")
    page.get_by_role("button", name="搜尋").click()
    page.wait_for_url("**/search?**")
    assert summary("淨零排碳") in " ".join(page.locator("h1.summary").inner_text().split())
    groups = page.locator("li.group")
    assert groups.count() == 3
    assert page.locator("li.group mark").first.inner_text() == "淨零排碳"
    assert page.locator("svg.timeline-chart a.bar-link").count() == 3
    screenshot(page, "results.png")

    page.locator(f'a.hit-link[href*="{RECORD_ID}"][href$="#turn-5"]').click()
    page.wait_for_url(f"**/meetings/{RECORD_ID}?q=*#turn-5")
    page.wait_for_function("document.querySelector('.transcript mark.current') !== null")
    start = current_hit(page)
    assert start["status"] == "第 1 / 10 筆" and start["turn"] == "turn-5"
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "meeting.png", full_page=False)

    page.keyboard.press("n")
    after = current_hit(page)
    assert after["hit"] == "2" and after["focused"] and after["status"] == "第 2 / 10 筆"
    page.keyboard.press("n")
    assert current_hit(page)["hit"] == "3"
    page.keyboard.press("p")
    assert current_hit(page)["hit"] == "2"
    screenshot(page, "meeting-next-hit.png", full_page=False)

    page.get_by_role("button", name="上一筆").click()
    page.get_by_role("button", name="上一筆").click()
    wrapped = current_hit(page)
    assert wrapped["hit"] == "10" and wrapped["status"] == "第 10 / 10 筆"
    assert page.evaluate("location.hash") == "#" + wrapped["turn"]
    # Typing n in the search box types, it does not jump.
    page.locator("#meeting-q").press("n")
    assert current_hit(page)["hit"] == "10"
    assert not page.errors


def test_hit_keys_can_be_turned_off_and_stay_off(page, sites):
    # One-letter shortcuts must be possible to turn off (WCAG 2.1.4): speech input types letters.
    page.goto(sites["app"].url + f"/meetings/{RECORD_ID}?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3")
    switch = page.get_by_role("checkbox", name="快捷鍵")
    assert switch.is_visible() and switch.is_checked()
    page.keyboard.press("n")
    assert current_hit(page)["hit"] == "2"
    switch.uncheck()
    page.locator("h1").click()  # focus back on the page, away from the checkbox
    page.keyboard.press("n")
    page.keyboard.press("p")
    assert current_hit(page)["hit"] == "2"
    page.get_by_role("button", name="下一筆").click()  # the buttons still work
    assert current_hit(page)["hit"] == "3"
    page.reload()
    assert not page.get_by_role("checkbox", name="快捷鍵").is_checked()
    page.keyboard.press("n")
    assert current_hit(page)["hit"] == "1"
    page.get_by_role("checkbox", name="快捷鍵").check()
    page.locator("h1").click()
    page.keyboard.press("n")
    assert current_hit(page)["hit"] == "2"
    assert not page.errors


def test_view_switch_and_facets(page, sites, summary):
    base = sites["app"].url
    page.goto(base + "/search?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3")
    page.get_by_role("link", name="逐段列出").click()
    page.wait_for_url("**view=turns**")
    assert page.locator("ol.hits.flat li.hit").count() == 4
    page.locator("aside.facets a", has_text="2022 年").click()
    page.wait_for_url("**since=2022**")
    assert summary("淨零排碳", since="2022", until="2022") in " ".join(page.locator("h1.summary").inner_text().split())
    assert "view=turns" in page.url
    assert not page.errors


def test_embed_widget_on_an_intranet_page(page, sites, summary):
    host = sites["host"]
    page.goto(host.origin + "/widget.html")
    box = page.locator(".civic-search-input")
    box.fill("淨零排碳")
    box.press("Enter")
    page.wait_for_selector(".civic-search-hit")
    assert page.locator(".civic-search-status").inner_text() == summary("淨零排碳")
    assert page.locator(".civic-search-hit").count() == 3
    assert page.locator(".civic-search-snippet mark").first.inner_text() == "淨零排碳"
    href = page.locator(".civic-search-title").first.get_attribute("href")
    assert href.startswith(sites["app"].url + "/meetings/") and "#turn-" in href
    more = page.locator(".civic-search-more a")
    assert more.first.get_attribute("href").startswith(sites["app"].url + "/search?q=")
    # E-mail alerts from the widget: a link out to the site's own sign-up page.
    assert more.last.inner_text() == "訂閱這個搜尋"
    assert more.last.get_attribute("href") == sites["app"].url + "/alerts/subscribe?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3"
    screenshot(page, "embed.png")
    assert not page.errors


def test_embed_widget_is_refused_without_cors(page, sites):
    page.goto(sites["host"].origin + "/widget-refused.html")
    box = page.locator(".civic-search-input")
    box.fill("淨零排碳")
    box.press("Enter")
    page.wait_for_function("document.querySelector('.civic-search-status').textContent.includes('無法連線')")
    assert page.locator(".civic-search-hit").count() == 0


def _frame_shows_embed(page) -> bool:
    frame = page.frame(name="civic")
    if frame is None:
        return False
    try:
        return frame.evaluate("document.querySelector('[data-civic-embed]') !== null")
    except PlaywrightError:
        return False


def test_iframe_loads_for_a_configured_origin(page, sites):
    page.goto(sites["host"].origin + "/frame-allowed.html")
    frame = page.frame(name="civic")
    frame.wait_for_selector("li.hit")
    assert frame.url.startswith(sites["app"].url + "/embed")
    assert _frame_shows_embed(page)


def test_iframe_is_refused_for_other_origins(page, sites):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    with page.expect_response(lambda r: r.url.startswith(sites["refused"].url + "/embed")) as refused:
        page.goto(sites["host"].origin + "/frame-refused.html")
    response = refused.value
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    assert not _frame_shows_embed(page)
    frame = page.frame(name="civic")
    blocked_page = frame is not None and frame.url.startswith("chrome-error://")
    assert blocked_page or any("frame-ancestors" in m for m in messages), (frame and frame.url, messages)


# --- e-mail alerts: sign up in the browser, confirm from the mail a real SMTP server received ------


@pytest.fixture(scope="module")
def alerts_site(tmp_path_factory, fixture_corpus):
    """The app with e-mail alerts over an index of its own (alerts write beside the index),
    sending to aiosmtpd on loopback."""
    from alerting import SmtpServer

    from indexer.alerts import AlertSettings
    from indexer.build import build_index
    from indexer.search import SearchEngine
    from indexer.settings import Settings

    index = tmp_path_factory.mktemp("alerts-index")
    build_index([fixture_corpus], index, workers=1)
    smtp = SmtpServer()
    alerts = AlertSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="alerts@city.gov.tw",
                           smtp_security="none", allowed_domains=("city.gov.tw",))
    settings = Settings(index_dir=index, alerts=alerts)
    engine = SearchEngine(settings=settings)
    server = AppServer(create_app({"ENGINE": engine}, settings=settings))
    yield {"app": server, "smtp": smtp, "index": index}
    server.close()
    engine.close()
    smtp.stop()


def test_sign_up_for_alerts_and_confirm_by_e_mail(page, alerts_site):
    import re

    from indexer.alerts import open_store

    base, smtp = alerts_site["app"].url, alerts_site["smtp"]
    page.goto(base + "/search?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3")
    page.locator("a.subscribe-link").click()
    page.wait_for_url("**/alerts/subscribe?q=*")
    assert page.locator("h1").inner_text() == "訂閱「淨零排碳」"
    assert page.locator("a.feed-link").get_attribute("href").startswith("/feeds/search.atom?q=")
    page.get_by_label("電子郵件地址").fill("policy@city.gov.tw")
    screenshot(page, "alerts-subscribe.png")
    page.get_by_label("電子郵件地址").fill("someone@gmail.com")
    page.get_by_role("button", name="訂閱電子郵件通知").click()
    page.wait_for_load_state()
    assert "只接受以下網域" in page.locator("[role=alert]").inner_text()
    page.get_by_label("電子郵件地址").fill("policy@city.gov.tw")
    page.get_by_role("button", name="訂閱電子郵件通知").click()
    page.wait_for_selector("text=請到信箱確認訂閱")
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["policy@city.gov.tw"]
    confirm = re.search(r"http://\S+/alerts/confirm/\S+", mail.text).group(0)
    assert confirm.startswith(base + "/alerts/confirm/")
    page.goto(confirm)
    assert page.locator("h1").inner_text() == "已確認訂閱"
    with open_store(alerts_site["index"]) as store:
        assert [(w.email, w.status) for w in store.watches()] == [("policy@city.gov.tw", "active")]
    page.goto(confirm[:-3] + "xyz")
    assert page.locator("h1").inner_text() == "連結無效"
    assert not page.errors
