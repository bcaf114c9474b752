"""E-mail alerts on the web: the sign-up form, double opt-in by a signed and expiring link,
unsubscribing, CSRF, the domain allow-list, rate limits shared by worker processes, header
injection, a URL prefix and the embed widget. The confirmation mail is read from a real SMTP
server (aiosmtpd) on loopback; the links in it are followed through the app."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from indexer.alerts import AlertSettings, open_store, send_alerts
from indexer.alerts.tokens import CONFIRM, make_token
from indexer.build import build_index
from indexer.settings import Settings, WebSettings
from search_web import create_app

from alerting import MEETING_WITH_PHRASE
from alerting import site, smtp  # noqa: F401  (fixtures)
from hardening import assert_security_headers


@pytest.fixture
def settings(smtp):
    return AlertSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="alerts@city.gov.tw",
                         smtp_security="none")


@pytest.fixture
def make_app():
    """``make(index, alert_settings, url_prefix="")``: an app over the index with these alert
    settings, as the app factory gets them (the ``alerts`` section of its one Settings). Each app
    opens its own engine, closed at the end."""
    apps = []

    def make(index, alerts, url_prefix=""):
        settings = Settings(index_dir=index, web=WebSettings(url_prefix=url_prefix), alerts=alerts)
        apps.append(create_app(settings=settings))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["civic_search"].close()


def engine_of(client):
    return client.application.extensions["civic_search"].engine


@pytest.fixture
def client(site, settings, make_app):
    return make_app(site[1], settings).test_client()


def form_token(client, url="/alerts/subscribe?q=淨零排碳") -> str:
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_up(client, email, q="淨零排碳", prefix="", **fields):
    token = form_token(client, f"{prefix}/alerts/subscribe?q=淨零排碳")
    return client.post(f"{prefix}/alerts/subscribe", data={"q": q, "email": email, "csrf_token": token, **fields})


def heading(response) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", response.get_data(as_text=True), re.S).group(1).strip()


def link_in(text: str, kind: str) -> str:
    return re.search(rf"https?://\S+/alerts/{kind}/[A-Za-z0-9_.\-]+", text).group(0)


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_the_results_page_and_the_embed_offer_e_mail_alongside_the_feed(client):
    results = client.get("/search?q=淨零排碳&speaker=李小明").get_data(as_text=True)
    (subscribe,) = [html.unescape(u) for u in re.findall(r'<a class="subscribe-link" href="([^"]+)"', results)]
    assert urlsplit(subscribe).path == "/alerts/subscribe"
    assert parse_qs(urlsplit(subscribe).query) == {"q": ["淨零排碳"], "speaker": ["李小明"]}
    page = client.get(subscribe)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "訂閱「淨零排碳」" in text and "篩選條件：發言人：李小明" in text
    assert 'type="email"' in text and 'name="speaker" value="李小明"' in text
    assert "/feeds/search.atom?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3&amp;speaker=" in text
    assert_security_headers(page)
    embed = client.get("/embed?q=淨零排碳").get_data(as_text=True)
    assert re.search(r'<a class="subscribe-link" href="/alerts/subscribe\?q=[^"]+" target="_blank"', embed)


def test_sign_up_confirm_alert_and_unsubscribe(site, settings, smtp, make_app):
    corpus, index = site
    client = make_app(index, settings).test_client()
    answer = sign_up(client, "policy@city.gov.tw")
    assert answer.status_code == 200 and heading(answer) == "請到信箱確認訂閱"
    assert "確認信已寄到 <strong>policy@city.gov.tw</strong>" in answer.get_data(as_text=True)
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["policy@city.gov.tw"]
    assert str(mail.message["Subject"]) == "[會議逐字稿搜尋] 請確認訂閱「淨零排碳」"
    assert "List-Unsubscribe" not in mail.message
    confirm = link_in(mail.text, "confirm")
    assert confirm in mail.html
    with open_store(index) as store:
        (pending,) = store.watches()
        assert pending.status == "pending" and pending.origin == "web"
    # Nothing goes to an address that has not confirmed.
    (corpus / "2024-01-15-淨零轉型公聽會.md").write_text(MEETING_WITH_PHRASE, encoding="utf-8")
    build_index([corpus], index, workers=1)
    engine = engine_of(client)
    with open_store(index) as store:
        report = send_alerts(engine, store, replace(settings, base_url="http://localhost"), "unused-key" * 4)
    assert report.composed == 0 and len(smtp.messages) == 1

    confirmed = client.get(local(confirm))
    assert confirmed.status_code == 200 and heading(confirmed) == "已確認訂閱"
    assert "policy@city.gov.tw" in confirmed.get_data(as_text=True)
    assert client.get(local(confirm)).status_code == 200  # a second click changes nothing
    (corpus / "2024-03-01-淨零第二場.md").write_text(MEETING_WITH_PHRASE.replace("2024-01-15 淨零轉型", "2024-03-01 淨零第二場"),
                                                  encoding="utf-8")
    build_index([corpus], index, workers=1)
    secret = (index / "alerts-secret.key").read_text().strip()
    with open_store(index) as store:
        report = send_alerts(engine, store, replace(settings, base_url="http://localhost"), secret)
    assert report.sent == 1
    alert = smtp.messages[1]
    # Only the meeting indexed after the confirmation: the one indexed before it is not news.
    assert alert.rcpt_tos == ["policy@city.gov.tw"] and "淨零第二場" in alert.text and "淨零轉型公聽會" not in alert.text
    meeting = re.search(r"http://localhost(/meetings/\S+)#turn-1", alert.text).group(1)
    page = client.get(meeting)
    assert page.status_code == 200 and 'id="turn-1"' in page.get_data(as_text=True)
    assert "<mark>淨零排碳</mark>" in page.get_data(as_text=True)

    unsubscribe = alert.raw_header("List-Unsubscribe")[1:-1]
    assert unsubscribe == link_in(alert.text, "unsubscribe")
    ask = client.get(local(unsubscribe))
    assert ask.status_code == 200 and heading(ask) == "取消訂閱「淨零排碳」"
    with open_store(index) as store:
        assert len(store.watches()) == 1  # opening the link (a mail scanner does) removes nothing
    done = client.post(local(unsubscribe))
    assert done.status_code == 200 and heading(done) == "已取消訂閱"
    with open_store(index) as store:
        assert store.watches() == []
    assert heading(client.get(local(unsubscribe))) == "已取消訂閱"
    assert client.get(local(confirm)).status_code == 400  # the sign-up is gone


def test_one_click_unsubscribe_from_a_mail_program(site, settings, smtp, make_app):
    _, index = site
    client = make_app(index, settings).test_client()
    sign_up(client, "a@city.gov.tw")
    client.get(local(link_in(smtp.wait_for(1)[0].text, "confirm")))
    with open_store(index) as store:
        (watch,) = store.watches("active")
    secret = (index / "alerts-secret.key").read_text().strip()
    from indexer.alerts.tokens import UNSUBSCRIBE

    token = make_token(secret, UNSUBSCRIBE, watch.id, watch.email)
    fresh = make_app(index, settings).test_client()  # no session cookie, no CSRF token (RFC 8058)
    answer = fresh.post(f"/alerts/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    with open_store(index) as store:
        assert store.watches() == []


@pytest.mark.parametrize(
    "token",
    ["abc", "WzEsImFAY2l0eS5nb3YudHciXQ.aw_WPw.forgedsignature000000000", "", "x" * 3000],
)
def test_a_forged_token_is_a_400_page(client, token):
    for url in (f"/alerts/confirm/{token}", f"/alerts/unsubscribe/{token}"):
        if not token:
            assert client.get(url).status_code == 404
            continue
        answer = client.get(url)
        assert answer.status_code == 400 and heading(answer) == "連結無效", url
        assert_security_headers(answer)
    if token:
        assert client.post(f"/alerts/unsubscribe/{token}").status_code == 400


def test_a_token_for_another_purpose_or_key_is_refused(site, settings, smtp, make_app):
    _, index = site
    client = make_app(index, settings).test_client()
    sign_up(client, "a@city.gov.tw")
    confirm = local(link_in(smtp.wait_for(1)[0].text, "confirm"))
    token = confirm.rsplit("/", 1)[1]
    assert client.get(f"/alerts/unsubscribe/{token}").status_code == 400
    other = make_token("another-key-" * 4, CONFIRM, 1, "a@city.gov.tw")
    assert client.get(f"/alerts/confirm/{other}").status_code == 400
    wrong_address = make_token((index / "alerts-secret.key").read_text().strip(), CONFIRM, 1, "b@city.gov.tw")
    assert client.get(f"/alerts/confirm/{wrong_address}").status_code == 400


def test_an_expired_confirmation_is_a_400_page(site, settings, smtp, monkeypatch, make_app):
    _, index = site
    client = make_app(index, replace(settings, confirm_max_age=3600)).test_client()
    sign_up(client, "a@city.gov.tw")
    confirm = local(link_in(smtp.wait_for(1)[0].text, "confirm"))
    import itsdangerous.timed

    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 3601)
    answer = client.get(confirm)
    assert answer.status_code == 400 and heading(answer) == "連結已過期"
    monkeypatch.undo()
    assert client.get(confirm).status_code == 200


def test_csrf_token_missing_or_wrong_is_a_400(client, site, make_app):
    _, index = site
    missing = client.post("/alerts/subscribe", data={"q": "淨零排碳", "email": "a@city.gov.tw"})
    assert missing.status_code == 400 and heading(missing) == "表單已失效"
    form_token(client)
    wrong = client.post("/alerts/subscribe", data={"q": "淨零排碳", "email": "a@city.gov.tw", "csrf_token": "x" * 40})
    assert wrong.status_code == 400 and heading(wrong) == "表單已失效"
    other = make_app(index, client.application.extensions["civic_search"].settings.alerts).test_client()
    stolen = form_token(other)  # a token from another browser's session
    assert client.post("/alerts/subscribe", data={"q": "淨零排碳", "email": "a@city.gov.tw",
                                                  "csrf_token": stolen}).status_code == 400
    with open_store(index) as store:
        assert store.watches() == []


def test_the_domain_allow_list(site, settings, smtp, make_app):
    client = make_app(site[1], replace(settings, allowed_domains=("city.gov.tw",))).test_client()
    page = client.get("/alerts/subscribe?q=淨零排碳").get_data(as_text=True)
    assert "只接受 @city.gov.tw 的地址" in page
    refused = sign_up(client, "someone@gmail.com")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "這個網站只接受以下網域的電子郵件地址：@city.gov.tw。" in text
    assert 'value="someone@gmail.com"' in text  # the form keeps what was typed
    assert sign_up(client, "someone@sub.city.gov.tw").status_code == 400
    assert sign_up(client, "someone@City.Gov.TW").status_code == 200
    assert [m.rcpt_tos for m in smtp.wait_for(1)] == [["someone@city.gov.tw"]]


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "a@city.gov.tw, b@city.gov.tw",
                                   "A <a@city.gov.tw>", "a@city.gov.tw\r\nBcc: evil@example.org"])
def test_invalid_addresses_are_refused(client, smtp, email):
    answer = sign_up(client, email)
    assert answer.status_code == 400 and "請輸入一個有效的電子郵件地址" in answer.get_data(as_text=True)
    assert smtp.messages == []


def test_a_query_with_line_breaks_cannot_inject_headers(client, smtp, site):
    query = "淨零排碳\r\nBcc: evil@example.org\r\nSubject: hi\nX-Injected: 1"
    answer = sign_up(client, "a@city.gov.tw", q=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["a@city.gov.tw"]
    message = mail.message
    assert message["Bcc"] is None and message["X-Injected"] is None and len(message.get_all("Subject")) == 1
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert b"evil@example.org" not in head and b"X-Injected" not in head
    with open_store(site[1]) as store:
        (watch,) = store.watches()
    assert watch.query == "淨零排碳 Bcc: evil@example.org Subject: hi X-Injected: 1"


def test_an_invalid_query_is_refused_with_the_form(client, smtp):
    page = client.get('/alerts/subscribe?q="淨零')
    assert page.status_code == 400 and "無法解讀這個查詢" in page.get_data(as_text=True)
    assert sign_up(client, "a@city.gov.tw", q='"淨零').status_code in (400,)
    empty = client.get("/alerts/subscribe")
    assert empty.status_code == 200 and "請先搜尋" in empty.get_data(as_text=True)
    assert smtp.messages == []


def test_a_flood_of_sign_ups_is_rate_limited_across_processes(site, settings, smtp, make_app):
    _, index = site
    limited = replace(settings, address_limit=2, client_limit=5)
    # Two apps over the same index stand for two `serve --workers` processes: the limits are
    # kept in the shared database, so a flood spread over the workers is still counted once.
    workers = [make_app(index, limited).test_client() for _ in range(2)]
    statuses = [sign_up(workers[n % 2], "target@city.gov.tw").status_code for n in range(4)]
    assert statuses == [200, 200, 429, 429]
    flood = [sign_up(workers[n % 2], f"user{n}@city.gov.tw").status_code for n in range(5)]
    assert flood == [200, 200, 200, 429, 429]  # 5 per client: 2 above + 3 here
    answer = sign_up(workers[0], "late@city.gov.tw")
    assert answer.status_code == 429 and heading(answer) == "申請次數太多"
    assert answer.headers["Retry-After"] == "3600" and "您的網路位址" in answer.get_data(as_text=True)
    # A pending sign-up is mailed again when asked for again; nobody gets more than the limit.
    assert len(smtp.wait_for(5)) == 5
    assert sorted(m.rcpt_tos[0] for m in smtp.messages).count("target@city.gov.tw") == 2


def test_smtp_down_at_sign_up_queues_the_confirmation(site, settings, smtp, make_app):
    _, index = site
    client = make_app(index, settings).test_client()
    smtp.stop()
    answer = sign_up(client, "a@city.gov.tw")
    assert answer.status_code == 200 and "確認信會在稍後寄到" in answer.get_data(as_text=True)
    smtp.start()
    engine = engine_of(client)
    with open_store(index) as store:
        report = send_alerts(engine, store, replace(settings, base_url="http://localhost"), "k" * 40)
    assert report.sent == 1
    (mail,) = smtp.messages
    assert client.get(local(link_in(mail.text, "confirm"))).status_code == 200


def test_no_smtp_configured_offers_only_the_feed(site, make_app):
    client = make_app(site[1], AlertSettings()).test_client()
    page = client.get("/alerts/subscribe?q=淨零排碳").get_data(as_text=True)
    assert "尚未設定寄信伺服器" in page and 'type="email"' not in page and "/feeds/search.atom" in page


def test_under_a_url_prefix(site, settings, smtp, make_app):
    _, index = site
    client = make_app(index, settings, url_prefix="/search").test_client()
    results = client.get("/search/search?q=淨零排碳").get_data(as_text=True)
    assert '<a class="subscribe-link" href="/search/alerts/subscribe?q=' in results
    form = client.get("/search/alerts/subscribe?q=淨零排碳").get_data(as_text=True)
    assert 'action="/search/alerts/subscribe"' in form
    assert sign_up(client, "a@city.gov.tw", prefix="/search").status_code == 200
    confirm = link_in(smtp.wait_for(1)[0].text, "confirm")
    assert confirm.startswith("http://localhost/search/alerts/confirm/")
    assert client.get(local(confirm)).status_code == 200
    with open_store(index) as store:
        assert [w.status for w in store.watches()] == ["active"]


def test_the_configured_base_url_makes_the_links(site, settings, smtp, make_app):
    client = make_app(site[1], replace(settings, base_url="https://search.city.gov.tw/search")).test_client()
    # Links come from the configuration, not from the request (whose Host header anyone can set).
    cookie = client.get("/alerts/subscribe?q=淨零排碳").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    client = make_app(site[1], replace(settings, base_url="http://search.city.gov.tw/search")).test_client()
    assert sign_up(client, "a@city.gov.tw").status_code == 200
    assert link_in(smtp.wait_for(1)[0].text, "confirm").startswith("http://search.city.gov.tw/search/alerts/confirm/")


def test_the_secret_key_survives_a_restart(site, settings, smtp, make_app):
    _, index = site
    sign_up(make_app(index, settings).test_client(), "a@city.gov.tw")
    confirm = local(link_in(smtp.wait_for(1)[0].text, "confirm"))
    restarted = make_app(index, settings).test_client()
    assert restarted.get(confirm).status_code == 200
    assert (index / "alerts-secret.key").stat().st_mode & 0o777 == 0o600


def test_a_search_only_site_writes_nothing(site, settings, make_app):
    _, index = site
    before = sorted(p.name for p in index.iterdir())
    client = make_app(index, settings).test_client()
    for url in ("/", "/search?q=淨零排碳", "/embed?q=淨零排碳", "/api/search?q=淨零排碳"):
        assert client.get(url).status_code == 200
        assert "Set-Cookie" not in client.get(url).headers
    assert sorted(p.name for p in index.iterdir()) == before


def test_a_damaged_database_is_a_503_page(site, settings, make_app):
    _, index = site
    (index / "alerts.sqlite3").write_bytes(b"garbage" * 1000)
    client = make_app(index, settings).test_client()
    answer = sign_up(client, "a@city.gov.tw")
    assert answer.status_code == 503 and heading(answer) == "訂閱服務暫時無法使用"
    assert (index / "alerts.sqlite3").read_bytes() == b"garbage" * 1000
