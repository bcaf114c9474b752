"""Accessibility: axe-core finds nothing on any page, at desktop and at phone width.

Every page a user can reach (the forms, both results views, the meeting page, the research
pages, the embed, every error page) is loaded in Chromium from a real server and checked by
axe-core against the WCAG 2.1 A and AA rules and axe's best practices. Any violation fails
with its rule, impact, the failing elements and the rule's help page. Two checks axe leaves
open are made here: the contrast of text axe cannot decide (the timeline's SVG labels, one-sign
links such as ✕) and of the timeline's bars (WCAG 1.4.11, 3:1); and at phone width every page
must reflow without horizontal scrolling (WCAG 1.4.10; wide tables scroll in their own box).
The search widget that embed.js adds to intranet pages is checked on such a page, too.

A page you add to the app goes into PAGES below: a name, the address (with a query that shows
the page's interesting parts), the status it answers with and, where it matters, a CSS selector
for the part the entry is there to check (so that a change of data cannot make the test check
less without failing). That is all the test needs.

Where axe-core comes from: the PyPI package ``axe-playwright-python`` (in the ``test`` extra)
bundles a released ``axe.min.js`` (MPL-2.0), so the README's ``pip install '.[test]'`` brings
it like any other test tool and the test never skips for want of it. npm would leave a machine
that ran only the README's command without axe (the test could only skip), and a vendored
copy is half a megabyte of someone else's code to keep up to date by hand. To check against
another axe-core release (e.g. ``npm install axe-core`` for the newest rules), point
``$CIVIC_SEARCH_AXE_JS`` at its ``axe.min.js``.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import AppServer, HostServer
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from search_web import create_app


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # relative to the app's root; NO_INDEX_PREFIX for the app whose index is missing
    status: int = 200
    shows: str = "main h1"  # a CSS selector for the part this entry is here for: it must be there
    method: str = "GET"  # anything but GET is sent by rewriting the browser's request
    #: (CSS selector, text) pairs typed into the page's form before pressing its submit button:
    #: the page checked is the answer to that submission.
    form: tuple[tuple[str, str], ...] = ()


RECORD = "/meetings/000_c33521a9eed413fa"  # the bundled record: sections, many speakers
NO_INDEX_PREFIX = "/no-index"  # the same app over a folder with no index: the 503 pages
#: The app with e-mail alerts (an SMTP server on loopback, an allow-list of city.gov.tw) over a
#: copy of the index (alerts write beside it); in paths, {confirm}, {expired} and {unsubscribe}
#: are signed links to the watches the fixture saved, {leave} the unsubscribe link of another.
ALERTS_PREFIX = "/with-alerts"
NO_MAIL_PREFIX = "/no-mail"  # alerts without an SMTP server: the sign-up page offers the feed only
SUBSCRIBE = ALERTS_PREFIX + "/alerts/subscribe?q=淨零排碳"
EMAIL = (("#alert-email", "policy@city.gov.tw"),)

#: Every page a user can reach. Add yours here (other states of a page count as pages).
PAGES = (
    Page("home", "/"),
    Page("search-meetings", "/search?q=淨零排碳", shows="li.group mark"),
    Page("search-meetings-page-2", "/search?q=淨零排碳&page=2", shows="nav.pagination a[rel=prev]"),
    Page("search-turns", "/search?q=淨零排碳&view=turns", shows="body:has(ol.hits.flat):has(nav.pagination)"),
    Page(
        "search-filters-explain",
        "/search?q=數位部 智慧&aliases=1&explain=1&speaker=詹文男&since=2022&view=turns",
        shows="body:has(.chips a[aria-label]):has(.alias-note):has(table.explain-terms)",
    ),
    Page("search-months", "/search?q=淨零&since=2022&until=2023&sort=date", shows="svg.timeline-chart text.year"),
    Page("search-no-results", "/search?q=完全沒有這個詞", shows="section.empty"),
    Page("meeting", RECORD, shows="h2.section-heading ~ article.turn h3.speaker"),
    Page("meeting-hits", RECORD + "?q=淨零排碳#turn-5", shows=".transcript mark.current"),
    Page("meeting-no-hits", RECORD + "?q=完全沒有這個詞", shows=".hitnav-status"),
    Page("meeting-bad-query", RECORD + '?q="淨零', shows=".alert"),
    Page("meeting-markdown", "/meetings/2023-05-10-智慧城市與淨零座談?q=淨零", shows="article.turn:has(h2.speaker) mark"),
    Page("kwic", "/kwic?q=淨零", shows="table.kwic mark"),
    Page("kwic-filters-only", "/kwic?q=speaker:唐鳳", shows="section.empty"),
    Page("kwic-no-query", "/kwic"),
    Page("speakers", "/speakers?q=智慧城市", shows="table.ranking th[scope=row] a"),
    Page("speakers-no-query", "/speakers"),
    Page("people", "/people", shows="table.ranking th[scope=row] a"),
    Page("people-filtered", "/people?q=唐", shows="table.ranking th[scope=row] a"),
    Page("people-none", "/people?q=完全沒有這個人", shows="section.empty"),
    Page("person", "/people/唐鳳", shows="body:has(svg.timeline-chart):has(ol.phrases a):has(table.ranking):has(ol.hits)"),
    Page("embed", "/embed?q=淨零排碳", shows="li.hit mark"),
    Page("embed-no-query", "/embed"),
    Page("error-400-search", '/search?q="淨零', status=400, shows="details.syntax[open]"),
    Page("error-400-embed", "/embed?q=(淨零", status=400, shows=".alert"),
    Page("error-400-kwic", "/kwic?q=OR", status=400),
    Page("error-400-speakers", "/speakers?q=foo:bar", status=400),
    Page("error-404", "/no-such-page", status=404),
    Page("error-404-meeting", "/meetings/no-such-meeting", status=404),
    Page("error-404-person", "/people/no-such-person", status=404),
    Page("error-405", "/search?q=淨零", status=405, method="POST"),
    Page("error-500", "/test-only/fail", status=500),
    Page("error-503", NO_INDEX_PREFIX + "/search?q=淨零", status=503),
    Page("alerts-subscribe", SUBSCRIBE + "&speaker=陳委員&since=2024", shows="form.subscribe-form #alert-email"),
    Page("alerts-subscribe-feed-only", NO_MAIL_PREFIX + "/alerts/subscribe?q=淨零排碳", shows="a.feed-link"),
    Page("alerts-subscribe-no-query", ALERTS_PREFIX + "/alerts/subscribe"),
    Page("alerts-subscribe-bad-query", ALERTS_PREFIX + '/alerts/subscribe?q="淨零', status=400, shows=".alert"),
    Page("alerts-sent", SUBSCRIBE, form=EMAIL, shows="section.subscribe strong"),
    Page("alerts-domain-refused", SUBSCRIBE, status=400, form=(("#alert-email", "someone@gmail.com"),),
         shows="body:has(.alert):has(#alert-email[value='someone@gmail.com'])"),
    Page("alerts-rate-limited", SUBSCRIBE, status=429, form=(("#alert-email", "flood@city.gov.tw"),)),
    Page("alerts-csrf-400", ALERTS_PREFIX + "/alerts/subscribe", status=400, method="POST", shows="p.status"),
    Page("alerts-confirmed", ALERTS_PREFIX + "/alerts/confirm/{confirm}", shows="a.button[href*='/search?q=']"),
    Page("alerts-confirm-expired", ALERTS_PREFIX + "/alerts/confirm/{expired}", status=400, shows="p.status"),
    Page("alerts-confirm-bad-token", ALERTS_PREFIX + "/alerts/confirm/not-a-signed-link", status=400,
         shows="p.status"),
    Page("alerts-unsubscribe", ALERTS_PREFIX + "/alerts/unsubscribe/{unsubscribe}", shows="form button[type=submit]"),
    Page("alerts-unsubscribed", ALERTS_PREFIX + "/alerts/unsubscribe/{leave}", method="POST"),
    Page("alerts-unsubscribe-bad-token", ALERTS_PREFIX + "/alerts/unsubscribe/not-a-signed-link", status=400,
         shows="p.status"),
)

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}

#: Graphics that carry meaning without text: 3:1 against their background (WCAG 1.4.11).
MEANINGFUL_GRAPHICS = "svg .bar"

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations", "incomplete"]}

WIDGET_HOST_PAGE = """<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8"><title>市府內部入口網</title>
<script src="{app}/static/embed.js" defer></script></head>
<body><main><h1>會議紀錄快速查詢</h1>
<div data-civic-search data-limit="3" data-query="淨零排碳"></div>
</main></body></html>
"""

TIMEOUT = 15_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def axe() -> Axe:
    path = os.environ.get("CIVIC_SEARCH_AXE_JS")
    return Axe.from_file(Path(path)) if path else Axe()


@pytest.fixture(scope="module")
def alerts_apps(index_dir, tmp_path_factory):
    """The apps mounted at ALERTS_PREFIX and NO_MAIL_PREFIX, and the signed links of the watches
    saved for the pages that need one (as the sign-up would save them)."""
    from alerting import SmtpServer

    from indexer.alerts import AlertSettings, open_store, secret_for
    from indexer.alerts.tokens import CONFIRM, UNSUBSCRIBE, make_token
    from indexer.settings import Settings

    folder = tmp_path_factory.mktemp("alerts") / "index"
    shutil.copytree(index_dir, folder)  # a copy: the shared index stays read-only
    smtp = SmtpServer()
    mail = AlertSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="alerts@city.gov.tw",
                         smtp_security="none", allowed_domains=("city.gov.tw",))
    with open_store(folder) as store:
        pending = store.add_watch(query="淨零排碳", email="new@city.gov.tw", status="pending", origin="web")
        active = store.add_watch(query="淨零排碳", email="active@city.gov.tw")
        leaving = store.add_watch(query="智慧城市", email="leaving@city.gov.tw")
        for _ in range(mail.address_limit):  # flood@ has signed up as often as an hour allows
            store.take([("address:flood@city.gov.tw", mail.address_limit)], mail.rate_window)
    secret = secret_for(folder, mail)
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - mail.confirm_max_age - 60):
        expired = make_token(secret, CONFIRM, pending.id, pending.email)
    links = {
        "confirm": make_token(secret, CONFIRM, pending.id, pending.email),
        "expired": expired,
        "unsubscribe": make_token(secret, UNSUBSCRIBE, active.id, active.email),
        "leave": make_token(secret, UNSUBSCRIBE, leaving.id, leaving.email),
    }
    apps = {prefix: create_app(settings=Settings(index_dir=folder, alerts=alerts))
            for prefix, alerts in ((ALERTS_PREFIX, mail), (NO_MAIL_PREFIX, AlertSettings()))}
    yield SimpleNamespace(mounts=apps, links=links)
    for app in apps.values():
        app.extensions["civic_search"].close()
    smtp.stop()


@pytest.fixture(scope="module")
def site(index_dir, engine, tmp_path_factory, alerts_apps):
    """One server for every page: the fixture index with small pages (so that pagination shows),
    a route that fails (the 500 page) and, under NO_INDEX_PREFIX, the app with no index; beside
    it an intranet page with the widget (``site.host``)."""
    host = HostServer()
    fixed = {"EMBED_ORIGINS": [host.origin], "URL_PREFIX": ""}
    app = create_app(
        {"INDEX_DIR": str(index_dir), "ENGINE": engine, "MEETINGS_PER_PAGE": 2, "TURNS_PER_PAGE": 3,
         "KWIC_PER_PAGE": 5, **fixed}
    )

    @app.get("/test-only/fail")
    def fail():  # a bug in a view: what the user then sees is the 500 page
        raise RuntimeError("a deliberate failure for the accessibility test")

    no_index = create_app({"INDEX_DIR": str(tmp_path_factory.mktemp("no-index")), **fixed})
    server = AppServer(DispatcherMiddleware(app, {NO_INDEX_PREFIX: no_index, **alerts_apps.mounts}))
    host.pages["/widget.html"] = WIDGET_HOST_PAGE.format(app=server.url)
    yield SimpleNamespace(url=server.url, host=host.origin, links=alerts_apps.links)
    server.close()
    host.close()


@pytest.fixture(scope="module")
def tabs(browser):
    """One browser tab per viewport, reused for every page (a new context per page costs time)."""
    opened = {}

    def tab(viewport: str):
        if viewport not in opened:
            context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-TW")
            context.set_default_timeout(TIMEOUT)
            opened[viewport] = context.new_page()
        return opened[viewport]

    yield tab
    for tab_page in opened.values():
        tab_page.context.close()


def open_page(tab, url: str, method: str, form: tuple[tuple[str, str], ...] = ()):
    """Load ``url`` as a user's browser would; another method by rewriting the navigation; with
    ``form``, fill in the page's form and submit it, and return the answer to that."""
    if form:
        tab.goto(url)
        for selector, text in form:
            tab.fill(selector, text)
        with tab.expect_navigation() as navigation:
            tab.locator("form [type=submit]").first.click()
        return navigation.value
    if method == "GET":
        return tab.goto(url)

    def rewrite(route):
        if route.request.is_navigation_request():
            route.continue_(method=method)
        else:
            route.continue_()

    tab.route("**/*", rewrite)
    try:
        return tab.goto(url)
    finally:
        tab.unroute("**/*", rewrite)


def violation_report(violations: list[dict]) -> list[str]:
    """One paragraph per broken rule: id, impact, what it asks, where it fails, its help page."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}  {violation['helpUrl']}")
        for node in violation["nodes"][:8]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}: {summary}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more")
    return lines


# Contrast as WCAG defines it, for what axe reports as "incomplete" (it cannot find the colours
# behind SVG text, or will not judge a one-sign link) and for meaningful graphics. The colours
# behind an element are its ancestors' background colours, blended; a background image cannot
# be judged this way and is reported as such.
MEASURE_CONTRAST = r"""([targets, graphics]) => {
  const rgba = (text) => {
    const m = /rgba?\(([^)]+)\)/.exec(text || '');
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(v => v.endsWith('%') ? parseFloat(v) / 100 : parseFloat(v));
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => [0, 1, 2].map(i => top[i] * top[3] + below[i] * (1 - top[3])).concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.backgroundImage !== 'none') return null;
      const colour = rgba(style.backgroundColor);
      if (colour && colour[3] > 0) { layers.push(colour); if (colour[3] === 1) break; }
    }
    return layers.reduceRight((below, top) => over(top, below), [255, 255, 255, 1]);
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x); return (hi + 0.05) / (lo + 0.05); };
  const hex = (c) => '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');
  const check = (el, name, needed) => {
    const style = getComputedStyle(el);
    const bg = background(el.parentElement || el);
    if (!bg) return `${name}: the background is an image; check its contrast by hand`;
    const fg = over(rgba(el instanceof SVGElement ? style.fill : style.color) || [0, 0, 0, 1], bg);
    const large = !(el instanceof SVGElement) && (parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && parseInt(style.fontWeight, 10) >= 700));
    const need = needed || (large ? 3 : 4.5);
    const got = ratio(fg, bg);
    return got + 0.005 < need ? `${name}: contrast ${got.toFixed(2)}:1 (${hex(fg)} on ${hex(bg)}), needs ${need}:1` : null;
  };
  const problems = [];
  for (const target of targets) {
    const el = document.querySelector(target);
    if (el) problems.push(check(el, target, 0));
  }
  document.querySelectorAll(graphics).forEach((el, i) => problems.push(check(el, `${graphics} #${i + 1}`, 3)));
  return problems.filter(Boolean);
}"""


def accessibility_problems(axe: Axe, tab, context: str | None = None) -> list[str]:
    """axe's violations, then the contrast it left undecided, as readable lines (none: all good)."""
    response = axe.run(tab, context=context, options=AXE_OPTIONS).response
    lines = violation_report(response["violations"])
    undecided = [
        node["target"][-1]
        for result in response["incomplete"]
        if result["id"] == "color-contrast"
        for node in result["nodes"]
        if len(node["target"]) == 1 and isinstance(node["target"][0], str)
    ]
    graphics = f"{context} {MEANINGFUL_GRAPHICS}" if context else MEANINGFUL_GRAPHICS
    lines += [f"- contrast (WCAG 1.4.3 / 1.4.11): {line}" for line in tab.evaluate(MEASURE_CONTRAST, [undecided, graphics])]
    return lines


def overflowing_elements(tab) -> list[str]:
    """Elements that stick out to the right of the viewport (none, when the page reflows)."""
    return tab.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            const wide = [];
            for (const el of document.body.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.right > width + 1 && box.width > 0) {
                    wide.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
                              + ' (right edge ' + Math.round(box.right) + ' > ' + width + ')');
                }
            }
            return wide.slice(0, 10);
        }"""
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("entry", PAGES, ids=lambda entry: entry.name)
def test_page_passes_axe(axe, site, tabs, entry: Page, viewport: str):
    tab = tabs(viewport)
    url = site.url + entry.path.format_map(site.links)
    response = open_page(tab, url, entry.method, entry.form)
    assert response is not None and response.status == entry.status, (url, response and response.status)
    assert tab.locator(entry.shows).count(), f"{url} no longer shows {entry.shows!r}: pick an address that does"
    # Folded content counts too: open every <details> (the syntax help, the speaker list).
    tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    problems = accessibility_problems(axe, tab)
    where = f"{entry.method} {entry.path}{' (form sent)' if entry.form else ''} at {viewport} width"
    assert not problems, "\n".join([f"{where}: {len(problems)} accessibility problem line(s)", *problems])
    if viewport == "phone":
        assert not overflowing_elements(tab), (where, "scrolls sideways", overflowing_elements(tab))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_widget_on_an_intranet_page_passes_axe(axe, site, tabs, viewport: str):
    tab = tabs(viewport)
    tab.goto(site.host + "/widget.html")
    tab.wait_for_selector(".civic-search-hit")
    problems = accessibility_problems(axe, tab, context=".civic-search")
    assert not problems, "\n".join([f"the embed.js widget at {viewport} width:", *problems])
    if viewport == "phone":
        assert not overflowing_elements(tab), overflowing_elements(tab)


@pytest.fixture(scope="module")
def office_site(tmp_path_factory):
    """A server over an index of two PDFs (page markers, the original-file link), one of which
    is then changed on disk (its download is the 410 page)."""
    import shutil

    from indexer import SearchEngine, build_index

    office = Path(__file__).parent / "fixtures" / "office"
    folder = tmp_path_factory.mktemp("office-records")
    for name in ("seed.pdf", "running-headers.pdf"):
        shutil.copy(office / name, folder / name)
    index = tmp_path_factory.mktemp("office-index")
    build_index([folder], index, workers=1)
    (folder / "running-headers.pdf").write_bytes(b"changed since it was indexed")
    engine = SearchEngine(index)
    server = AppServer(create_app({"INDEX_DIR": str(index), "ENGINE": engine, "EMBED_ORIGINS": [], "URL_PREFIX": ""}))
    yield server.url
    server.close()
    engine.close()


OFFICE_PAGES = (
    Page("meeting-pdf", "/meetings/seed?q=淨零排碳", shows=".transcript .page-marker"),
    Page("error-410-source", "/meetings/running-headers/source", status=410),
)


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("entry", OFFICE_PAGES, ids=lambda entry: entry.name)
def test_office_document_pages_pass_axe(axe, office_site, tabs, entry: Page, viewport: str):
    tab = tabs(viewport)
    response = tab.goto(office_site + entry.path)
    assert response is not None and response.status == entry.status, (entry.path, response and response.status)
    assert tab.locator(entry.shows).count(), f"{entry.path} no longer shows {entry.shows!r}"
    problems = accessibility_problems(axe, tab)
    assert not problems, "\n".join([f"{entry.path} at {viewport} width:", *problems])
    if viewport == "phone":
        assert not overflowing_elements(tab), (entry.path, "scrolls sideways", overflowing_elements(tab))
