"""The alerts API the CLI and the web call: add and remove watches, sign up with double
opt-in, confirm and unsubscribe with signed links, and send.

Sending is two steps. *Detect and compose*: sync the index's meeting versions, and for each
active watch compose the message about its new meetings and queue it in the same transaction
that moves the watch on (so a crash never loses or repeats an alert). *Deliver*: send what is
queued; a message that fails stays queued with its error and attempt count for the next run.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Callable
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from ..errors import CivicSearchError, QueryError
from ..query import build_query
from . import tokens
from .compose import Links, alert_email, alert_webhook, confirmation_email
from .deliver import DeliveryError, ServerUnavailable, SmtpSender, post_webhook
from .detect import Matcher
from ..settings import AlertSettings
from .store import AlertStore, OutboxMessage, Watch

MAX_ADDRESS = 254
MAX_URL = 2000


class AlertError(CivicSearchError):
    """A watch or sign-up that cannot be accepted (the message says why)."""


class AddressInvalid(AlertError):
    """Not a single, valid e-mail address."""


class DomainNotAllowed(AlertError):
    """An address outside the configured allow-list of domains."""

    def __init__(self, message: str, domains: tuple[str, ...]):
        super().__init__(message)
        self.domains = domains


class RateLimited(AlertError):
    """Too many sign-ups from this address or client; ``bucket`` says which."""

    def __init__(self, message: str, bucket: str):
        super().__init__(message)
        self.bucket = bucket


def open_store(index_dir: str | os.PathLike, *, create: bool = True) -> AlertStore:
    """The alerts database beside the index in ``index_dir``."""
    return AlertStore.open(AlertStore.path_for(index_dir), create=create)


def secret_for(index_dir: str | os.PathLike, settings: AlertSettings) -> str:
    return tokens.load_secret(index_dir, settings.secret_key)


# --- checking what users give ------------------------------------------------------------------


def check_email(address: str, allowed_domains: tuple[str, ...] = ()) -> str:
    """One e-mail address, normalised (domain in ASCII); AddressInvalid or DomainNotAllowed."""
    address = address.strip()
    if not address or len(address) > MAX_ADDRESS:
        raise AddressInvalid("not an e-mail address")
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as err:
        raise AddressInvalid(f"not a valid e-mail address ({err})") from None
    normalised = checked.ascii_email or checked.normalized
    domain = normalised.rpartition("@")[2].lower()
    if allowed_domains and domain not in allowed_domains:
        raise DomainNotAllowed(f"only addresses at {', '.join(allowed_domains)} are accepted", allowed_domains)
    return normalised


def check_webhook(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise AlertError(f"not a webhook address (http:// or https://): {url[:100]!r}")
    return url


def check_query(query: str, speaker: str = "", since: str = "", until: str = "") -> dict[str, str]:
    """The saved search with each run of white space (line breaks included) as one space,
    which reads the same (folding does it too); QueryError unless it can be run."""
    spec = {name: " ".join(value.split()) for name, value in
            (("query", query), ("speaker", speaker), ("since", since), ("until", until))}
    build_query(spec["query"], speaker=spec["speaker"] or None, since=spec["since"] or None,
                until=spec["until"] or None)
    return spec


# --- watches from the command line ---------------------------------------------------------------


def add_watch(engine, store: AlertStore, *, query: str, speaker: str = "", since: str = "", until: str = "",
              aliases: bool = False, email: str = "", webhook: str = "") -> Watch:
    """Save an active watch (the administrator's own: no confirmation). It alerts on meetings
    indexed from now on."""
    spec = check_query(query, speaker, since, until)
    email = check_email(email) if email else ""
    webhook = check_webhook(webhook) if webhook else ""
    if not email and not webhook:
        raise AlertError("a watch needs --email ADDRESS or --webhook URL (or both)")
    return store.add_watch(**spec, aliases=aliases, email=email, webhook=webhook,
                           versions=engine.meeting_versions())


# --- sign-up on the web -----------------------------------------------------------------------------


@dataclass
class SignUp:
    """The outcome of a sign-up: the watch, and whether its confirmation went out at once
    (``delivered``) or waits in the outbox. ``already`` means the address already has this
    watch: nothing is sent, and the page says the same as for a new sign-up."""

    watch: Watch
    delivered: bool = False
    already: bool = False
    error: str = ""


def sign_up(engine, store: AlertStore, settings: AlertSettings, secret: str, links: Links, *, query: str,
            speaker: str, since: str, until: str, aliases: bool, email: str, client: str) -> SignUp:
    """Save a pending watch and send its confirmation link (double opt-in).

    Raises QueryError, AddressInvalid, DomainNotAllowed or RateLimited.
    """
    settings.require_smtp()
    spec = check_query(query, speaker, since, until)
    email = check_email(email, settings.allowed_domains)
    store.expire_pending(settings.confirm_max_age)
    limited = store.take([(f"address:{email.lower()}", settings.address_limit),
                          (f"client:{client}", settings.client_limit)], settings.rate_window)
    if limited:
        raise RateLimited(f"too many sign-ups from this {limited.partition(':')[0]}; try again later",
                          limited.partition(":")[0])
    spec.update(aliases=aliases, email=email)
    watch = store.find_watch(**spec)
    if watch is not None and watch.status == "active":
        return SignUp(watch, already=True)
    if watch is None:
        watch = store.add_watch(**spec, status="pending", origin="web")
    token = tokens.make_token(secret, tokens.CONFIRM, watch.id, email)
    message = confirmation_email(watch, settings.smtp_from, links, links.confirm(token), settings.confirm_max_age)
    message_id = store.enqueue(watch.id, message)
    report = deliver(store, settings, ids=[message_id])
    return SignUp(watch, delivered=report.sent == 1, error="; ".join(report.failed))


def confirm(engine, store: AlertStore, secret: str, token: str, max_age: int) -> Watch:
    """Activate the watch a confirmation link names; TokenInvalid / TokenExpired otherwise."""
    watch_id, email = tokens.read_token(secret, tokens.CONFIRM, token, max_age)
    watch = store.confirm_watch(watch_id, email, versions=engine.meeting_versions())
    if watch is None:
        raise tokens.TokenInvalid("this sign-up no longer exists")
    return watch


def unsubscription(store: AlertStore, secret: str, token: str) -> tuple[int, str, Watch | None]:
    """What an unsubscribe link names: (watch id, address, the watch or None if already gone)."""
    watch_id, owner = tokens.read_token(secret, tokens.UNSUBSCRIBE, token)
    watch = store.watch(watch_id)
    return watch_id, owner, watch if watch is not None and owner in (watch.email, watch.webhook) else None


def unsubscribe(store: AlertStore, secret: str, token: str) -> Watch | None:
    """Remove the watch an unsubscribe link names; None when it was already removed."""
    watch_id, owner = tokens.read_token(secret, tokens.UNSUBSCRIBE, token)
    return store.remove_watch(watch_id, owner=owner)


# --- sending --------------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What a run did: watches checked, new meeting versions seen, messages composed,
    delivered and still queued (with one line per failure), and for a dry run the previews."""

    watches: int = 0
    new_meetings: int = 0
    composed: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    queued: int = 0
    previews: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def send_alerts(engine, store: AlertStore, settings: AlertSettings, secret: str, *, dry_run: bool = False,
                sleep: Callable[[float], None] = time.sleep) -> SendReport:
    """Compose the alerts of every active watch for its new meetings, then deliver everything
    queued. With ``dry_run`` nothing is written or sent: ``report.previews`` shows what would be."""
    report = SendReport()
    watches = store.watches("active")
    queued = store.queued()
    _check_settings(settings, watches, queued)
    links = Links(settings.base_url)
    matcher = Matcher(engine, settings.max_passages)
    versions = engine.meeting_versions()
    if dry_run:
        return _preview(store, settings, secret, links, matcher, versions, watches, queued, report)
    before = store.current_seq()
    seq = store.record_meetings(versions)
    report.new_meetings = len(store.meetings_after(before, seq))
    for watch in watches:
        report.watches += 1
        if watch.last_seq >= seq:
            continue
        try:
            messages = _compose(matcher, watch, store.meetings_after(watch.last_seq, seq), settings, secret, links)
        except QueryError as err:
            report.skipped.append(f"watch {watch.id}: the query can no longer be read ({err}); remove it")
            continue
        if store.advance(watch, seq, messages):
            report.composed += len(messages)
    deliver(store, settings, report=report, sleep=sleep)
    return report


def _check_settings(settings: AlertSettings, watches: list[Watch], queued: list[OutboxMessage]) -> None:
    if watches:
        settings.require_base_url()
    if any(w.email for w in watches) or any(m.channel == "email" for m in queued):
        settings.require_smtp()


def _compose(matcher: Matcher, watch: Watch, meeting_ids: set[str], settings: AlertSettings, secret: str,
             links: Links) -> list:
    found = matcher.new_hits(watch, meeting_ids)
    if not found.total:
        return []
    messages = []
    if watch.email:
        token = tokens.make_token(secret, tokens.UNSUBSCRIBE, watch.id, watch.email)
        messages.append(alert_email(found, settings.smtp_from, links, links.unsubscribe(token)))
    if watch.webhook:
        token = tokens.make_token(secret, tokens.UNSUBSCRIBE, watch.id, watch.webhook)
        messages.append(alert_webhook(found, links, links.unsubscribe(token)))
    return messages


def _preview(store, settings, secret, links, matcher, versions, watches, queued, report) -> SendReport:
    unseen = store.unseen(versions)
    report.new_meetings = len(unseen)
    for message in queued:
        retry = f", {message.attempts} attempts, last error: {message.last_error}" if message.attempts else ""
        report.previews.append(preview(message.channel, message.recipient, message.body, f"queued{retry}"))
    for watch in watches:
        report.watches += 1
        meetings = store.meetings_after(watch.last_seq) | unseen
        try:
            messages = _compose(matcher, watch, meetings, settings, secret, links)
        except QueryError as err:
            report.skipped.append(f"watch {watch.id}: the query can no longer be read ({err}); remove it")
            continue
        report.composed += len(messages)
        for message in messages:
            report.previews.append(preview(message.channel, message.recipient, message.body, f"new, watch {watch.id}"))
    report.queued = len(queued) + report.composed
    return report


def preview(channel: str, recipient: str, body: bytes, note: str) -> str:
    """A message as a dry run prints it: the e-mail's headers and plain text, or the JSON."""
    if channel == "webhook":
        text = json.dumps(json.loads(body), ensure_ascii=False, indent=1)
        from .deliver import safe_url

        return f"=== webhook to {safe_url(recipient)} ({note})\n{text}"
    parsed = message_from_bytes(body, policy=policy.default)
    headers = "\n".join(f"{name}: {parsed[name]}" for name in ("From", "To", "Subject", "List-Unsubscribe")
                        if parsed[name])
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return f"=== e-mail to {recipient} ({note})\n{headers}\n\n{text.rstrip()}"


def deliver(store: AlertStore, settings: AlertSettings, *, ids: list[int] | None = None,
            report: SendReport | None = None, sleep: Callable[[float], None] = time.sleep) -> SendReport:
    """Deliver the queued messages (only ``ids``, when given). One SMTP session for all
    e-mail; once the server is unreachable the remaining e-mail waits for the next run."""
    report = report if report is not None else SendReport()
    smtp_down = ""
    with SmtpSender(settings) as smtp:
        for message in store.queued(ids):
            if message.channel == "email" and smtp_down:
                store.mark_failed(message.id, smtp_down)
                report.failed.append(f"{message.recipient}: {smtp_down}")
                continue
            if not store.claim(message.id):
                continue  # another run is delivering it, or did
            try:
                if message.channel == "email":
                    smtp.send(message.recipient, message.body)
                else:
                    post_webhook(message.recipient, message.body, timeout=settings.webhook_timeout,
                                 attempts=settings.webhook_attempts, sleep=sleep)
            except DeliveryError as err:
                if isinstance(err, ServerUnavailable):
                    smtp_down = str(err)
                store.mark_failed(message.id, str(err))
                report.failed.append(f"{message.recipient if message.channel == 'email' else 'webhook'}: {err}")
                continue
            store.mark_sent(message.id)
            report.sent += 1
    report.queued = len(store.queued(ids))
    return report
