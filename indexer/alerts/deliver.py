"""Delivery: e-mail over SMTP (smtplib) and webhooks over HTTP(S) (urllib).

A delivery either succeeds or raises :class:`DeliveryError` with a one-line reason; the caller
keeps the message queued and records the reason. :class:`ServerUnavailable` means no message
can go through this server now (connection, TLS or login failed), so the rest of the queue for
it is not tried in this run.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from email.utils import parseaddr
from typing import Callable

from ..errors import CivicSearchError
from ..settings import AlertSettings

USER_AGENT = "civic-search-alerts"


class DeliveryError(CivicSearchError):
    """One message could not be delivered (it stays queued)."""


class ServerUnavailable(DeliveryError):
    """The server cannot be reached or refuses us: no message can be delivered through it now."""


class SmtpSender:
    """One SMTP session for a run: connect lazily, send each message, quit at the end."""

    def __init__(self, settings: AlertSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpSender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def connect(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        s = self.settings
        s.require_smtp()
        context = ssl.create_default_context()
        try:
            if s.smtp_security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            try:
                smtp.ehlo()
                if s.smtp_security == "starttls" or (s.smtp_security == "auto" and smtp.has_extn("starttls")):
                    if not smtp.has_extn("starttls"):
                        raise ServerUnavailable(f"the SMTP server {self._where()} does not offer STARTTLS "
                                                "(CIVIC_SEARCH_SMTP_SECURITY=starttls)")
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as err:
            raise ServerUnavailable(f"the SMTP server {self._where()} refused the login ({_smtp_reply(err)})") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as err:
            raise ServerUnavailable(f"cannot connect to the SMTP server {self._where()} ({_reason(err)})") from None
        self.smtp = smtp
        return smtp

    def send(self, recipient: str, message: bytes) -> None:
        """Send ``message`` to ``recipient`` only (the envelope names nobody else)."""
        smtp = self.connect()
        sender = parseaddr(self.settings.smtp_from)[1] or self.settings.smtp_from
        try:
            smtp.sendmail(sender, [recipient], message)
        except smtplib.SMTPRecipientsRefused as err:
            code, reply = next(iter(err.recipients.values()))
            raise DeliveryError(f"the SMTP server refused the recipient {recipient} ({code} {_decode(reply)})") from None
        except smtplib.SMTPSenderRefused as err:
            raise ServerUnavailable(f"the SMTP server refused the sender {sender} ({_smtp_reply(err)})") from None
        except smtplib.SMTPResponseException as err:
            raise DeliveryError(f"the SMTP server did not accept the message ({_smtp_reply(err)})") from None
        except (smtplib.SMTPException, OSError) as err:
            self.smtp = None
            raise ServerUnavailable(f"the connection to the SMTP server {self._where()} failed ({_reason(err)})") from None


def _decode(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _smtp_reply(err: smtplib.SMTPResponseException) -> str:
    return f"{err.smtp_code} {_decode(err.smtp_error)}"


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return " ".join(str(err).split()) or type(err).__name__


def post_webhook(url: str, body: bytes, *, timeout: float, attempts: int,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """POST the JSON ``body``; retry a connection failure, a timeout or a 5xx/429 answer up to
    ``attempts`` times with back-off (1 s, 2 s, 4 s…). A 4xx answer is not retried."""
    last = ""
    for attempt in range(attempts):
        if attempt:
            sleep(min(2 ** (attempt - 1), 30))
        request = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(65536)
                return
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code} {err.reason}"
            if err.code < 500 and err.code != 429:
                break
        except (urllib.error.URLError, socket.timeout, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            last = _reason(reason) if isinstance(reason, BaseException) else str(reason)
    raise DeliveryError(f"the webhook {safe_url(url)} failed ({last})")


def safe_url(url: str) -> str:
    # Webhook URLs carry their secret in the path (Slack, Teams): show only scheme and host.
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") else url
