"""Saved searches and alerts through the real CLI, a real SMTP server (aiosmtpd) and a real
webhook receiver on loopback: what is sent, when, exactly once, and what survives failures."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from indexer.alerts import AlertSettings, add_watch, open_store, send_alerts
from indexer.alerts.store import DB_NAME, SCHEMA_VERSION, AlertStoreError
from indexer.build import build_index
from indexer.cli import main
from indexer.errors import SettingsError
from indexer.search import SearchEngine
from indexer.settings import Settings

from alerting import MEETING_WITH_PHRASE, MEETING_WITHOUT_PHRASE, SmtpServer, WebhookReceiver
from alerting import site, smtp  # noqa: F401  (fixtures)
from hardening import one_line_error

BASE_URL = "https://search.city.gov.tw/search"
NEW_ID = "2024-01-15-淨零轉型公聽會"


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def cli(site, smtp):
    """Run civic-search in-process with the SMTP server and base URL in the environment."""
    _, index = site
    runner = CliRunner()
    env = {**smtp.environ, "CIVIC_SEARCH_BASE_URL": BASE_URL}

    def run(*args, extra_env=None):
        return runner.invoke(main, [*args, "--index", str(index)], env={**env, **(extra_env or {})})

    return run


def add_new_meetings(corpus: Path) -> None:
    (corpus / f"{NEW_ID}.md").write_text(MEETING_WITH_PHRASE, encoding="utf-8")
    (corpus / "2024-01-16-交通會議.md").write_text(MEETING_WITHOUT_PHRASE, encoding="utf-8")


def settings_for(smtp: SmtpServer) -> AlertSettings:
    return AlertSettings.from_environ({**smtp.environ, "CIVIC_SEARCH_BASE_URL": BASE_URL})


# --- the headline case: index, watch, new meetings, index --notify -------------------------------


def test_index_notify_sends_one_message_for_the_new_meeting_only(site, smtp):
    corpus, index = site
    env = {**os.environ, **smtp.environ, "CIVIC_SEARCH_BASE_URL": BASE_URL}

    def civic(*args):
        return subprocess.run([sys.executable, "-m", "indexer", *args, "--index", str(index)],
                              capture_output=True, text=True, env=env, timeout=300)

    added = civic("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Added watch 1: 淨零排碳 -> policy@city.gov.tw\n")
    add_new_meetings(corpus)
    run = civic("index", str(corpus), "--notify")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith("Indexed 2 new and 0 changed meetings")
    assert run.stdout.splitlines()[1] == (
        "Alerts: 1 watch checked, 2 new or changed meetings, 1 message composed, 1 sent.")
    (mail,) = smtp.messages
    assert mail.rcpt_tos == ["policy@city.gov.tw"]
    # The archive's meeting that says 淨零排碳 (2023-05-10) is not news: only the new one is in it.
    assert "淨零轉型公聽會" in mail.text and "智慧城市與淨零座談" not in mail.text and "交通會議" not in mail.text
    assert "新收錄的 1 場會議中，有 2 段發言符合「淨零排碳」。" in mail.text
    again = civic("alerts", "send")
    assert again.returncode == 0 and again.stdout == (
        "Alerts: 1 watch checked, 0 new or changed meetings, 0 messages composed, 0 sent.\n")
    assert len(smtp.messages) == 1


def test_the_message(cli, site, smtp):
    corpus, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    add_new_meetings(corpus)
    assert cli("index", str(corpus), "--notify").exit_code == 0
    (mail,) = smtp.messages
    message = mail.message
    assert mail.mail_from == "alerts@city.gov.tw"
    assert message["To"] == "policy@city.gov.tw" and "alerts@city.gov.tw" in message["From"]
    # UTF-8 subject encoded per RFC 2047 on the wire, readable once decoded.
    assert mail.raw_header("Subject").startswith("=?utf-8?")
    assert str(message["Subject"]) == "[會議逐字稿搜尋] 「淨零排碳」：2 段新發言"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    unsubscribe = mail.raw_header("List-Unsubscribe")
    assert re.fullmatch(rf"<{re.escape(BASE_URL)}/alerts/unsubscribe/[A-Za-z0-9_.\-]+>", unsubscribe)
    assert mail.raw_header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    text = mail.text
    assert "陳委員：【淨零排碳】需要地方政府一起推動" in text
    assert "2024-01-15　淨零轉型公聽會" in text
    meeting_links = re.findall(r"^https://\S+#turn-\d+$", text, re.M)
    assert [urlsplit(u).fragment for u in meeting_links] == ["turn-0", "turn-1"]
    assert unquote(urlsplit(meeting_links[1]).path) == f"/search/meetings/{NEW_ID}"
    assert f"取消這個訂閱：{unsubscribe[1:-1]}" in text
    html = mail.html
    assert "<mark>淨零排碳</mark>需要地方政府一起推動" in html and unsubscribe[1:-1] in html
    assert html.count('href="https://search.city.gov.tw/search/meetings/') == 2


def test_a_new_watch_does_not_alert_on_the_archive(cli, smtp):
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    result = cli("alerts", "send")
    assert result.exit_code == 0 and "0 messages composed, 0 sent" in result.stdout
    assert smtp.messages == []


def test_a_changed_meeting_counts_as_newly_indexed(cli, site, smtp):
    corpus, _ = site
    assert cli("watch", "add", "開放政府", "--email", "a@city.gov.tw").exit_code == 0
    changed = corpus / "2019-11-20-青年諮詢委員會.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n### 主席：\n補充：開放政府的下一步。\n", encoding="utf-8")
    result = cli("index", str(corpus), "--notify")
    assert result.exit_code == 0, result.output
    (mail,) = smtp.messages
    assert "青年諮詢委員會" in mail.text and "補充：【開放政府】的下一步" in mail.text
    # Only the changed meeting: 開放政府 is said in other, unchanged meetings too.
    assert "協作會議" not in mail.text


def test_filters_and_aliases_apply_as_in_search(cli, site, smtp):
    corpus, _ = site
    assert cli("watch", "add", "淨零排碳", "--email", "chen@city.gov.tw", "--speaker", "陳委員").exit_code == 0
    assert cli("watch", "add", "淨零排碳", "--email", "old@city.gov.tw", "--until", "2023").exit_code == 0
    assert cli("watch", "add", "数位部", "--email", "alias@city.gov.tw", "--aliases").exit_code == 0
    add_new_meetings(corpus)
    (corpus / "2024-02-01-數位發展部會議.md").write_text(
        "# 2024-02-01 數位發展部會議\n\n### 部長：\n數位發展部的新計畫。\n", encoding="utf-8")
    assert cli("index", str(corpus), "--notify").exit_code == 0
    by_recipient = {m.rcpt_tos[0]: m for m in smtp.messages}
    assert set(by_recipient) == {"chen@city.gov.tw", "alias@city.gov.tw"}
    assert "新收錄的 1 場會議中，有 1 段發言符合「淨零排碳」（發言人：陳委員）。" in by_recipient["chen@city.gov.tw"].text
    assert "主持人" not in by_recipient["chen@city.gov.tw"].text
    assert "【數位發展部】的新計畫" in by_recipient["alias@city.gov.tw"].text


# --- exactly once, across failures -------------------------------------------------------------------


def test_smtp_down_keeps_the_alert_queued_until_it_is_back(cli, site, smtp):
    corpus, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    add_new_meetings(corpus)
    smtp.stop()
    failed = cli("index", str(corpus), "--notify")
    assert failed.exit_code == 1
    assert f"not sent: policy@city.gov.tw: cannot connect to the SMTP server 127.0.0.1:{smtp.port} (Connection refused)" in failed.stderr
    assert failed.stderr.rstrip().endswith(
        "Error: 1 message could not be delivered; it stays queued for the next run")
    assert "1 message composed, 0 sent, 1 still queued for the next run." in failed.stdout
    assert "queued: 1" in cli("watch", "list").stdout
    with open_store(index) as store:
        (queued,) = store.queued()
        assert queued.attempts == 1 and "Connection refused" in queued.last_error
    assert cli("alerts", "send").exit_code == 1  # still down: a second attempt, nothing lost
    smtp.start()
    back = cli("alerts", "send")
    assert back.exit_code == 0 and "0 messages composed, 1 sent." in back.stdout
    (mail,) = smtp.messages
    assert "淨零轉型公聽會" in mail.text
    with open_store(index) as store:
        (sent,) = store.sent()
        assert sent.attempts == 3 and store.queued() == []
    assert cli("alerts", "send").exit_code == 0 and len(smtp.messages) == 1


def test_a_refused_recipient_stays_queued_and_others_are_sent(cli, site, smtp):
    corpus, index = site
    for address in ("gone@city.gov.tw", "policy@city.gov.tw"):
        assert cli("watch", "add", "淨零排碳", "--email", address).exit_code == 0
    smtp.refused.add("gone@city.gov.tw")
    add_new_meetings(corpus)
    result = cli("index", str(corpus), "--notify")
    assert result.exit_code == 1
    assert ("not sent: gone@city.gov.tw: the SMTP server refused the recipient gone@city.gov.tw "
            "(550 5.1.1 <gone@city.gov.tw>: mailbox unavailable)") in result.stderr
    assert [m.rcpt_tos for m in smtp.messages] == [["policy@city.gov.tw"]]
    smtp.refused.clear()
    assert cli("alerts", "send").exit_code == 0
    assert [m.rcpt_tos for m in smtp.messages] == [["policy@city.gov.tw"], ["gone@city.gov.tw"]]


def _login(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"alerts", b"right")
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


def notify_one_watch(site, server: SmtpServer, env: dict, error: str | None) -> None:
    """Watch 淨零排碳 for a@city.gov.tw, add meetings that say it and ``index --notify`` with
    ``env``: the message arrives, or it is not sent with ``error`` (``{port}``: the server's)."""
    corpus, index = site
    runner = CliRunner()
    assert runner.invoke(main, ["watch", "add", "淨零排碳", "--email", "a@city.gov.tw", "--index", str(index)]).exit_code == 0
    add_new_meetings(corpus)
    result = runner.invoke(main, ["index", str(corpus), "--notify", "--index", str(index)], env=env)
    if error is None:
        assert result.exit_code == 0, result.output
        assert [m.rcpt_tos for m in server.messages] == [["a@city.gov.tw"]]
    else:
        assert result.exit_code == 1
        assert f"not sent: a@city.gov.tw: {error.format(port=server.port)}" in result.stderr
        assert server.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"CIVIC_SEARCH_SMTP_USER": "alerts", "CIVIC_SEARCH_SMTP_PASSWORD": "right"}, None),
        ({"CIVIC_SEARCH_SMTP_USER": "alerts", "CIVIC_SEARCH_SMTP_PASSWORD": "wrong"},
         "the SMTP server 127.0.0.1:{port} refused the login (535 5.7.8 Authentication credentials invalid)"),
        ({"CIVIC_SEARCH_SMTP_SECURITY": "starttls"},
         "the SMTP server 127.0.0.1:{port} does not offer STARTTLS (CIVIC_SEARCH_SMTP_SECURITY=starttls)"),
        ({"CIVIC_SEARCH_SMTP_SECURITY": "tls"}, "cannot connect to the SMTP server 127.0.0.1:{port} ("),
    ],
)
def test_smtp_login_and_security_settings(site, environ, error):
    server = SmtpServer(authenticator=_login, auth_require_tls=False)
    try:
        env = {**server.environ, "CIVIC_SEARCH_BASE_URL": BASE_URL, **environ}
        notify_one_watch(site, server, env, error)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certificate():
    """A private CA (trustme) and a server certificate for 127.0.0.1: (the server's TLS context,
    the CA as a PEM file that the sender trusts through SSL_CERT_FILE, as an office points it at
    its own CA)."""
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    with ca.cert_pem.tempfile() as pem:
        yield server_context, pem


@pytest.mark.parametrize(
    ("security", "server_options", "trusted", "error"),
    [
        # The relay will not take mail nor a login before STARTTLS: a message sent proves both
        # went over TLS; "auto" (the default) upgrades because the relay offers it.
        ("auto", {"require_starttls": True, "auth_require_tls": True}, True, None),
        ("starttls", {"require_starttls": True, "auth_require_tls": True}, True, None),
        ("tls", {}, True, None),  # implicit TLS (port 465 style)
        ("starttls", {"require_starttls": True}, False,
         "cannot connect to the SMTP server 127.0.0.1:{port} ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        ("tls", {}, False,
         "cannot connect to the SMTP server 127.0.0.1:{port} ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
    ],
)
def test_smtp_over_tls_verifies_the_certificate(site, certificate, security, server_options, trusted, error):
    server_context, ca_file = certificate
    if security == "tls":
        # aiosmtpd does not count a TLS listener as TLS for AUTH, so it is told to offer AUTH.
        server = SmtpServer(ssl_context=server_context, authenticator=_login, auth_require_tls=False)
    else:
        server = SmtpServer(tls_context=server_context, authenticator=_login, **server_options)
    try:
        env = {**server.environ, "CIVIC_SEARCH_BASE_URL": BASE_URL, "CIVIC_SEARCH_SMTP_SECURITY": security,
               "CIVIC_SEARCH_SMTP_USER": "alerts", "CIVIC_SEARCH_SMTP_PASSWORD": "right",
               "SSL_CERT_FILE": ca_file if trusted else None, "SSL_CERT_DIR": None}
        notify_one_watch(site, server, env, error)
    finally:
        server.stop()


def test_concurrent_sends_send_each_alert_once(site, smtp):
    corpus, index = site
    settings = settings_for(smtp)
    engine = SearchEngine(index)
    reports, errors = [], []
    try:
        with open_store(index) as store:
            for n in range(3):
                add_watch(engine, store, query="淨零排碳", email=f"p{n}@city.gov.tw")
        add_new_meetings(corpus)
        build_index([corpus], index, workers=1)

        def send():
            try:
                with open_store(index) as own:  # one connection each, as separate processes have
                    reports.append(send_alerts(engine, own, settings, "k" * 40))
            except Exception as err:  # pragma: no cover - shown by the assertion below
                errors.append(err)

        threads = [threading.Thread(target=send) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        engine.close()
    assert errors == []
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["p0@city.gov.tw", "p1@city.gov.tw", "p2@city.gov.tw"]
    assert sum(r.composed for r in reports) == 3 and sum(r.sent for r in reports) == 3


def test_nothing_is_sent_for_a_failed_index_run(cli, site, smtp):
    corpus, _ = site
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    add_new_meetings(corpus)
    (corpus / "empty.md").write_text("", encoding="utf-8")
    result = cli("index", str(corpus), "--strict", "--notify")
    assert result.exit_code == 1 and "Error: 1 files could not be indexed (--strict)" in result.stderr
    assert "Alerts:" not in result.stdout and smtp.messages == []


def test_rebuild_keeps_the_watches_and_alerts_nobody(cli, site, smtp):
    corpus, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    before = (index / DB_NAME).read_bytes()
    result = cli("index", str(corpus), "--rebuild", "--notify")
    assert result.exit_code == 0, result.output
    assert "0 new or changed meetings, 0 messages composed" in result.stdout and smtp.messages == []
    assert "policy@city.gov.tw" in cli("watch", "list").stdout
    assert len((index / DB_NAME).read_bytes()) == len(before)
    add_new_meetings(corpus)
    assert cli("index", str(corpus), "--notify").exit_code == 0 and len(smtp.messages) == 1


def unsigned(text: str) -> str:
    """``text`` with the signed tokens of its links replaced by ``TOKEN``."""
    return re.sub(r"/alerts/(confirm|unsubscribe)/[\w.-]+", r"/alerts/\1/TOKEN", text)


def test_dry_run_prints_and_sends_nothing(cli, site, smtp):
    corpus, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    add_new_meetings(corpus)
    assert cli("index", str(corpus)).exit_code == 0
    dry = cli("alerts", "send", "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.stdout.splitlines()
    assert lines[0] == "=== e-mail to policy@city.gov.tw (new, watch 1)"
    assert "Subject: [會議逐字稿搜尋] 「淨零排碳」：2 段新發言" in lines
    assert "陳委員：【淨零排碳】需要地方政府一起推動，預算要到位。" in lines
    assert lines[-1] == "Dry run: 1 message would be sent (1 new, 0 queued); nothing was sent or recorded."
    assert smtp.messages == []
    # The same message again: nothing was recorded. (Its unsubscribe link is signed with the
    # time, so it differs when the two runs fall in different seconds.)
    assert unsigned(cli("alerts", "send", "--dry-run").stdout) == unsigned(dry.stdout)
    with open_store(index) as store:
        assert store.queued() == [] and store.watches()[0].last_notified_at is None
    assert cli("alerts", "send").exit_code == 0 and len(smtp.messages) == 1


# --- webhooks -------------------------------------------------------------------------------------


def test_a_webhook_gets_the_json(cli, site, smtp, webhook):
    corpus, _ = site
    added = cli("watch", "add", "淨零排碳", "--webhook", webhook.url)
    assert added.exit_code == 0 and "-> webhook http://127.0.0.1:" in added.stdout and "secret" not in added.stdout
    add_new_meetings(corpus)
    assert cli("index", str(corpus), "--notify").exit_code == 0
    (call,) = webhook.received
    assert call["path"] == "/hooks/T0123/secret" and call["content_type"] == "application/json; charset=utf-8"
    body = call["json"]
    assert body["text"].startswith("新收錄的 1 場會議中，有 2 段發言符合「淨零排碳」。\n")
    assert body["total"] == 2 and body["meetings"] == 1 and body["query"] == "淨零排碳"
    assert [(h["meeting_id"], h["turn"], h["speaker"]) for h in body["hits"]] == [(NEW_ID, 0, "主持人"), (NEW_ID, 1, "陳委員")]
    assert body["hits"][1]["url"].startswith(BASE_URL + "/meetings/") and body["unsubscribe_url"].startswith(BASE_URL)
    assert smtp.messages == []
    assert cli("alerts", "send").exit_code == 0 and len(webhook.received) == 1


def test_a_webhook_is_retried_with_back_off_then_queued(site, smtp, webhook):
    corpus, index = site
    waits: list[float] = []
    settings = settings_for(smtp)
    engine = SearchEngine(index)
    try:
        with open_store(index) as store:
            add_watch(engine, store, query="淨零排碳", webhook=webhook.url)
            add_new_meetings(corpus)
            build_index([corpus], index, workers=1)
            webhook.failures = [500, 503]  # two failures, then the third attempt succeeds
            report = send_alerts(engine, store, settings, "k" * 40, sleep=waits.append)
            assert report.sent == 1 and [c["status"] for c in webhook.received] == [500, 503, 200]
            assert waits == [1, 2]
            webhook.failures = [500] * 3
            (corpus / "2024-03-01-再一次.md").write_text(MEETING_WITH_PHRASE.replace("2024-01-15", "2024-03-01"),
                                                      encoding="utf-8")
            build_index([corpus], index, workers=1)
            report = send_alerts(engine, store, settings, "k" * 40, sleep=waits.append)
            assert report.sent == 0 and report.queued == 1
            assert report.failed == [f"webhook: the webhook http://127.0.0.1:{webhook.httpd.server_address[1]}/… "
                                     "failed (HTTP 500 Internal Server Error)"]
            report = send_alerts(engine, store, settings, "k" * 40, sleep=waits.append)
            assert report.sent == 1 and len(webhook.received) == 7
    finally:
        engine.close()


# --- commands and their errors ---------------------------------------------------------------------


def test_watch_list_and_remove(cli, webhook):
    assert cli("watch", "list").stdout == "No watches. Add one: civic-search watch add QUERY --email ADDRESS\n"
    assert cli("watch", "add", "淨零排碳", "--email", "Policy@City.GOV.tw", "--since", "2022").exit_code == 0
    assert cli("watch", "add", "數位部", "--webhook", webhook.url, "--email", "b@city.gov.tw", "--aliases").exit_code == 0
    listed = json.loads(cli("watch", "list", "--json").stdout)
    first, second = listed["watches"]
    assert first["email"] == "Policy@city.gov.tw" and first["since"] == "2022" and first["status"] == "active"
    assert second["webhook"] == webhook.url and second["aliases"] is True and second["queued"] == 0
    assert set(first) == {"id", "query", "speaker", "since", "until", "aliases", "email", "webhook", "status",
                          "origin", "created_at", "confirmed_at", "last_notified_at", "queued"}
    text = cli("watch", "list").stdout.splitlines()
    assert text[0] == "1  淨零排碳 --since 2022" and text[1] == "    to Policy@city.gov.tw"
    assert text[3] == "2  數位部 --aliases"
    removed = cli("watch", "remove", "1")
    assert removed.exit_code == 0 and removed.stdout == "Removed watch 1: 淨零排碳 --since 2022 -> Policy@city.gov.tw\n"
    assert [w["id"] for w in json.loads(cli("watch", "list", "--json").stdout)["watches"]] == [2]
    again = cli("watch", "remove", "1")
    assert again.exit_code == 1 and one_line_error(again.stderr) == "Error: no watch with id 1 (see civic-search watch list)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["淨零排碳"], "Error: a watch needs --email ADDRESS or --webhook URL (or both)"),
        (['"淨零', "--email", "a@city.gov.tw"], "Error: invalid query: unbalanced quote: the phrase is never closed at position 1"),
        (["淨零", "--email", "a@city.gov.tw", "--since", "2023-13"], None),
        (["淨零", "--email", "not an address"], "Error: not a valid e-mail address (An email address must have an @-sign.)"),
        (["淨零", "--email", "a@city.gov.tw\r\nBcc: evil@example.org"], None),
        (["淨零", "--email", "a@city.gov.tw, b@city.gov.tw"], None),
        (["淨零", "--webhook", "ftp://chat.example.org/x"], "Error: not a webhook address (http:// or https://): 'ftp://chat.example.org/x'"),
    ],
)
def test_watch_add_refuses_bad_input(cli, args, message):
    result = cli("watch", "add", *args)
    assert result.exit_code == 1
    line = one_line_error(result.stderr)
    if message:
        assert line == message
    assert json.loads(cli("watch", "list", "--json").stdout)["watches"] == []


def test_send_needs_smtp_and_base_url(cli):
    assert cli("watch", "add", "淨零排碳", "--email", "a@city.gov.tw").exit_code == 0
    no_host = cli("alerts", "send", extra_env={"CIVIC_SEARCH_SMTP_HOST": ""})
    assert one_line_error(no_host.stderr) == (
        "Error: no SMTP server configured: set CIVIC_SEARCH_SMTP_HOST (see the README, Alerts)")
    no_url = cli("alerts", "send", extra_env={"CIVIC_SEARCH_BASE_URL": ""})
    assert one_line_error(no_url.stderr).startswith("Error: no public address for the links in messages: set CIVIC_SEARCH_BASE_URL")
    bad = cli("alerts", "send", extra_env={"CIVIC_SEARCH_SMTP_PORT": "smtp"})
    assert one_line_error(bad.stderr) == "Error: SMTP_PORT must be a number, not 'smtp'"


@pytest.mark.parametrize("args", [["watch", "add", "淨零", "--email", "a@city.gov.tw"], ["watch", "list"],
                                  ["watch", "remove", "1"], ["alerts", "send"]])
def test_commands_need_an_index(tmp_path, args):
    result = CliRunner().invoke(main, [*args, "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == f"Error: no index in {tmp_path / 'none'}. Run 'civic-search index' first."
    assert not (tmp_path / "none").exists()


# --- the database ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not a database, but someone's notes\n" * 200, "file is not a database"),
        (b"", "the file is empty"),
    ],
)
def test_a_damaged_database_is_a_clear_error_and_is_left_alone(cli, site, content, reason):
    _, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "a@city.gov.tw").exit_code == 0
    db = index / DB_NAME
    db.write_bytes(content)
    for args in (["watch", "list"], ["watch", "add", "x", "--email", "a@city.gov.tw"], ["alerts", "send"],
                 ["index", str(site[0]), "--notify"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        line = one_line_error(result.stderr) if args[0] != "index" else result.stderr.strip().splitlines()[-1]
        assert line == (f"Error: the alerts database {db} is damaged or not an alerts database ({reason}); it was "
                        "left as it is: restore it from a backup, or move it away to start with no watches")
        assert db.read_bytes() == content


def test_a_database_from_a_newer_version_is_refused(cli, site):
    _, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "a@city.gov.tw").exit_code == 0
    with sqlite3.connect(index / DB_NAME) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result = cli("watch", "list")
    assert one_line_error(result.stderr) == (
        f"Error: the alerts database {index / DB_NAME} was written by a newer version of civic-search "
        f"(schema {SCHEMA_VERSION + 1}; this version knows {SCHEMA_VERSION}); upgrade civic-search")


def test_an_older_schema_is_migrated_and_keeps_its_watches(tmp_path, monkeypatch):
    from indexer.alerts import store as store_module

    path = tmp_path / DB_NAME
    with store_module.AlertStore.open(path) as store:
        store.add_watch(query="淨零排碳", email="a@city.gov.tw")
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, extra))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(store_module.MIGRATIONS))
    with store_module.AlertStore.open(path) as store:
        assert [w.query for w in store.watches()] == ["淨零排碳"]
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert store.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0


def test_the_database_and_key_are_private(cli, site):
    _, index = site
    assert cli("watch", "add", "淨零排碳", "--email", "a@city.gov.tw").exit_code == 0
    assert cli("alerts", "send").exit_code == 0
    assert (index / DB_NAME).stat().st_mode & 0o777 == 0o600
    assert (index / "alerts-secret.key").stat().st_mode & 0o777 == 0o600


def test_store_error_is_a_library_error(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"x" * 5000)
    with pytest.raises(AlertStoreError, match="damaged"):
        open_store(tmp_path)


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".py"])
def test_alert_settings_are_a_section_of_the_settings(tmp_path, suffix):
    """One reading of the environment and the configuration file: a file key KEY stands for
    $CIVIC_SEARCH_KEY, and the environment wins."""
    values = {"SMTP_HOST": "mail.city.gov.tw", "SMTP_PASSWORD": "from-file", "SMTP_PORT": 587,
              "ALERT_DOMAINS": ["city.gov.tw", "@Dept.City.gov.tw"], "ALERT_MAX_PASSAGES": 3}
    config = tmp_path / f"civic{suffix}"
    if suffix == ".json":
        config.write_text(json.dumps(values))
    else:
        config.write_text("".join(f"{key} = {value!r}\n" for key, value in values.items()))
    settings = Settings.from_environ({"CIVIC_SEARCH_CONFIG": str(config), "CIVIC_SEARCH_SMTP_HOST": "relay",
                                      "CIVIC_SEARCH_SMTP_SECURITY": "TLS", "CIVIC_SEARCH_ALERT_CLIENT_LIMIT": "50",
                                      "CIVIC_SEARCH_BASE_URL": "https://s.city.gov.tw/search/"},
                                     overrides={"INDEX_DIR": tmp_path}).alerts
    assert settings.smtp_host == "relay" and settings.smtp_password == "from-file" and settings.smtp_port == 587
    assert settings.smtp_security == "tls" and settings.base_url == "https://s.city.gov.tw/search"
    assert settings.allowed_domains == ("city.gov.tw", "dept.city.gov.tw")
    assert settings.max_passages == 3 and settings.client_limit == 50
    assert "from-file" not in repr(settings)
    assert Settings.from_environ({}, overrides={"INDEX_DIR": tmp_path}).alerts == AlertSettings()


def test_the_cli_reads_the_alert_settings_from_the_configuration_file(cli, site, smtp, tmp_path):
    """As the README's cron line does: the SMTP settings in a file only the owner reads."""
    corpus, _ = site
    config = tmp_path / "alerts.json"
    config.write_text(json.dumps({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "SMTP_SECURITY": "none",
                                  "SMTP_FROM": "alerts@city.gov.tw", "BASE_URL": BASE_URL}))
    assert cli("watch", "add", "淨零排碳", "--email", "policy@city.gov.tw").exit_code == 0
    add_new_meetings(corpus)
    nothing_in_the_environment = {name: "" for name in smtp.environ} | {"CIVIC_SEARCH_BASE_URL": "",
                                                                        "CIVIC_SEARCH_CONFIG": str(config)}
    result = cli("index", str(corpus), "--notify", extra_env=nothing_in_the_environment)
    assert result.exit_code == 0, result.output
    assert [m.rcpt_tos for m in smtp.messages] == [["policy@city.gov.tw"]]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CIVIC_SEARCH_SMTP_PORT": "0"}, "SMTP_PORT must be from 1 to 65535, not '0'"),
        ({"CIVIC_SEARCH_SMTP_SECURITY": "ssl"}, "SMTP_SECURITY must be one of none, starttls, tls (or auto), not 'ssl'"),
        ({"CIVIC_SEARCH_BASE_URL": "search.city.gov.tw"}, "BASE_URL must start with http:// or https://, not 'search.city.gov.tw'"),
        ({"CIVIC_SEARCH_SMTP_FROM": "a@b\r\nBcc: c@d"}, "SMTP_FROM must be one line"),
        ({"CIVIC_SEARCH_ALERT_RATE_WINDOW": "1h"}, "ALERT_RATE_WINDOW must be a number, not '1h'"),
    ],
)
def test_bad_settings_are_named(environ, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ(environ, overrides={"INDEX_DIR": "unused"})
    assert str(caught.value) == message


def test_every_alert_setting_is_in_the_readme():
    from indexer.settings import ALERT_KEYS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n### Settings for an office\n", 1)[1].split("\n### ", 1)[0]
    for key in ALERT_KEYS:
        assert f"`CIVIC_SEARCH_{key}`" in table and f"`{key}`" in table, key
