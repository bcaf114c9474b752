"""The messages: an alert e-mail (plain text and HTML, in Traditional Chinese), the same alert as
a webhook's JSON, and the confirmation e-mail of a web sign-up.

Text from the query, the meetings and the configuration never reaches a header unchecked: the
subject is one line made of printable characters (RFC 2047-encoded by the ``email`` package),
the recipient is a single address checked at sign-up, and the HTML part escapes everything but
the snippets' own ``<mark>``.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import quote, urlencode

from ..options import describe_filters
from .detect import NewHits
from .store import Outgoing, Watch

SITE_NAME = "會議逐字稿搜尋"
NO_SPEAKER = "（未標示發言人）"
NO_DATE = "日期不詳"
SUBJECT_QUERY_LIMIT = 40
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Links:
    """Where a message's links point: the public base URL (with any URL prefix)."""

    base_url: str

    def meeting(self, meeting_id: str, turn: int, watch: Watch) -> str:
        args = {"q": watch.query, **({"aliases": "1"} if watch.aliases else {})}
        return f"{self.base_url}/meetings/{quote(meeting_id, safe='')}?{urlencode(args)}#turn-{turn}"

    def search(self, watch: Watch) -> str:
        args = {"q": watch.query, "speaker": watch.speaker, "since": watch.since, "until": watch.until,
                "aliases": "1" if watch.aliases else ""}
        return f"{self.base_url}/search?" + urlencode({k: v for k, v in args.items() if v})

    def confirm(self, token: str) -> str:
        return f"{self.base_url}/alerts/confirm/{token}"

    def unsubscribe(self, token: str) -> str:
        return f"{self.base_url}/alerts/unsubscribe/{token}"


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` as one line of printable characters: line breaks, control and format
    characters become spaces (so nothing can start a new header line), at most ``limit``."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    cleaned = " ".join(cleaned.split())
    if limit and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned


def describe(watch: Watch) -> str:
    """「query」（filters）, for subjects and headings."""
    filters = describe_filters(one_line(watch.speaker, 20), one_line(watch.since, 12), one_line(watch.until, 12),
                               watch.aliases)
    where = f"（{filters}）" if filters else ""
    return f"「{one_line(watch.query, SUBJECT_QUERY_LIMIT)}」{where}"


def plain_snippet(snippet: str) -> str:
    """A search snippet (escaped HTML with <mark>) as text, matches in 【】."""
    return html.unescape(_TAG.sub("", _MARK.sub(r"【\1】", snippet)))


def alert_subject(found: NewHits) -> str:
    return f"[{SITE_NAME}] {describe(found.watch)}：{found.total} 段新發言"


def alert_text(found: NewHits, links: Links, unsubscribe_url: str) -> str:
    watch = found.watch
    lines = [
        f"新收錄的 {found.meetings} 場會議中，有 {found.total} 段發言符合{describe(watch)}。",
        "",
    ]
    for hit in found.hits:
        lines.append(f"{hit.date or NO_DATE}　{hit.title}")
        lines.append(f"{hit.speaker or NO_SPEAKER}：{plain_snippet(hit.snippet)}")
        lines.append(links.meeting(hit.meeting_id, hit.turn, watch))
        lines.append("")
    if found.total > len(found.hits):
        lines.append(f"另有 {found.total - len(found.hits)} 段未列出。")
    lines += [
        f"在網站上查看這個搜尋：{links.search(watch)}",
        "",
        "--",
        f"您收到這封信，是因為訂閱了{SITE_NAME}的通知。",
        f"取消這個訂閱：{unsubscribe_url}",
    ]
    return "\n".join(lines) + "\n"


def alert_html(found: NewHits, links: Links, unsubscribe_url: str) -> str:
    watch = found.watch
    e = html.escape
    items = []
    for hit in found.hits:
        url = links.meeting(hit.meeting_id, hit.turn, watch)
        items.append(
            '<li style="margin:0 0 16px">'
            f'<a href="{e(url)}" style="font-weight:bold">{e(hit.title or "（無標題）")}</a><br>'
            f'<span style="color:#555">{e(hit.date or NO_DATE)}・{e(hit.speaker or NO_SPEAKER)}</span><br>'
            # The snippet is escaped text with <mark> around the matches (indexer.snippets).
            f"{hit.snippet}</li>"
        )
    more = f"<p>另有 {found.total - len(found.hits)} 段未列出。</p>" if found.total > len(found.hits) else ""
    return (
        '<!doctype html><html lang="zh-Hant"><head><meta charset="utf-8">'
        f"<title>{e(alert_subject(found))}</title></head>"
        '<body style="font-family:sans-serif;line-height:1.6">'
        f"<p>新收錄的 <strong>{found.meetings}</strong> 場會議中，有 <strong>{found.total}</strong> 段發言"
        f"符合{e(describe(watch))}。</p>"
        f'<ol style="padding-left:20px">{"".join(items)}</ol>{more}'
        f'<p><a href="{e(links.search(watch))}">在網站上查看這個搜尋</a></p>'
        '<hr><p style="color:#555;font-size:90%">'
        f"您收到這封信，是因為訂閱了{SITE_NAME}的通知。"
        f'<a href="{e(unsubscribe_url)}">取消這個訂閱</a></p></body></html>'
    )


class UnfoldedHeader(str):
    """An ASCII header value written on one line as it is. The ``email`` package would fold a
    long URL into RFC 2047 encoded words, which mail programs do not read as a link."""

    def __new__(cls, name: str, value: str):
        if not value.isascii() or any(c in value for c in "\r\n"):
            raise ValueError(f"{name} must be one line of ASCII")
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def _email(sender: str, recipient: str, subject: str, text: str, html_part: str,
           unsubscribe_url: str | None = None) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(subject)
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 2369 and RFC 8058: mail programs show an unsubscribe button that POSTs here.
        message["List-Unsubscribe"] = UnfoldedHeader("List-Unsubscribe", f"<{unsubscribe_url}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html_part, subtype="html", charset="utf-8")
    return message


def alert_email(found: NewHits, sender: str, links: Links, unsubscribe_url: str) -> Outgoing:
    subject = alert_subject(found)
    message = _email(sender, found.watch.email, subject, alert_text(found, links, unsubscribe_url),
                     alert_html(found, links, unsubscribe_url), unsubscribe_url)
    return Outgoing("alert", "email", found.watch.email, one_line(subject), message.as_bytes())


def alert_webhook(found: NewHits, links: Links, unsubscribe_url: str) -> Outgoing:
    """JSON whose ``text`` is what Slack, Mattermost and Teams incoming webhooks show."""
    watch = found.watch
    payload = {
        "text": alert_text(found, links, unsubscribe_url),
        "watch_id": watch.id,
        "query": watch.query,
        "speaker": watch.speaker,
        "since": watch.since,
        "until": watch.until,
        "aliases": watch.aliases,
        "total": found.total,
        "meetings": found.meetings,
        "hits": [
            {
                "meeting_id": hit.meeting_id,
                "turn": hit.turn,
                "title": hit.title,
                "date": hit.date,
                "speaker": hit.speaker,
                "text": plain_snippet(hit.snippet),
                "url": links.meeting(hit.meeting_id, hit.turn, watch),
            }
            for hit in found.hits
        ],
        "search_url": links.search(watch),
        "unsubscribe_url": unsubscribe_url,
    }
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Outgoing("alert", "webhook", watch.webhook, one_line(alert_subject(found)), body)


def valid_days(max_age: int) -> int:
    """How long a confirmation link is valid, in whole days as the messages say it."""
    return max(1, round(max_age / 86400))


def confirmation_email(watch: Watch, sender: str, links: Links, confirm_url: str, max_age: int) -> Outgoing:
    """The double opt-in message of a web sign-up."""
    days = valid_days(max_age)
    subject = f"[{SITE_NAME}] 請確認訂閱{describe(watch)}"
    text = (
        f"有人（希望是您）在{SITE_NAME}以這個地址訂閱了{describe(watch)}的新發言通知。\n\n"
        f"請在 {days} 天內打開下面的連結確認訂閱：\n{confirm_url}\n\n"
        f"確認之後，每當新收錄的會議提到這個搜尋，我們會寄信通知您。\n"
        f"如果這不是您申請的，請忽略這封信：未確認的地址不會收到任何通知。\n"
    )
    e = html.escape
    html_part = (
        '<!doctype html><html lang="zh-Hant"><head><meta charset="utf-8">'
        f"<title>{e(one_line(subject))}</title></head><body style=\"font-family:sans-serif;line-height:1.6\">"
        f"<p>有人（希望是您）在{SITE_NAME}以這個地址訂閱了{e(describe(watch))}的新發言通知。</p>"
        f'<p><a href="{e(confirm_url)}">確認訂閱</a>（連結 {days} 天內有效）</p>'
        "<p>如果這不是您申請的，請忽略這封信：未確認的地址不會收到任何通知。</p></body></html>"
    )
    message = _email(sender, watch.email, subject, text, html_part)
    return Outgoing("confirm", "email", watch.email, one_line(subject), message.as_bytes())
