"""Real servers on loopback for the alert tests: an SMTP server (aiosmtpd) that can be stopped,
restarted on the same port and told to refuse recipients, and a webhook receiver
(http.server in a thread) that can be told to fail."""

from __future__ import annotations

import http.server
import json
import socket
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from browser_support import LoopbackServer

from indexer.build import build_index


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def text(self) -> str:
        # Text parts travel in canonical form (CRLF line ends); compare with LF.
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content().replace("\r\n", "\n")

    def raw_header(self, name: str) -> str:
        """The header as it was on the wire (unfolded, not decoded)."""
        head = self.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
        lines = head.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n")
        values = [line.split(":", 1)[1].strip() for line in lines if line.lower().startswith(name.lower() + ":")]
        assert len(values) == 1, (name, values)
        return values[0]


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refused:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                             or envelope.content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; ``messages`` holds what it received; ``refused`` addresses get 550."""

    def __init__(self, **smtp_options):
        self.port = free_port()
        self.messages: list[Received] = []
        self.refused: set[str] = set()
        self.options = smtp_options  # passed to aiosmtpd's SMTP (authenticator=…, …)
        self.controller: Controller | None = None
        self.start()

    def start(self) -> None:
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    @property
    def environ(self) -> dict[str, str]:
        """The CLI's settings for this server (no TLS on loopback)."""
        return {
            "CIVIC_SEARCH_SMTP_HOST": "127.0.0.1",
            "CIVIC_SEARCH_SMTP_PORT": str(self.port),
            "CIVIC_SEARCH_SMTP_FROM": "會議逐字稿搜尋 <alerts@city.gov.tw>",
            "CIVIC_SEARCH_SMTP_SECURITY": "none",
        }


class WebhookReceiver(LoopbackServer):
    """An HTTP server on 127.0.0.1 that records the JSON POSTed to it; it answers the statuses
    in ``failures`` first (one per request), then 200."""

    def __init__(self):
        received: list[dict] = []
        self.failures: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                status = receiver.failures.pop(0) if receiver.failures else 200
                received.append({"path": self.path, "status": status, "content_type": self.headers["Content-Type"],
                                 "json": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.received = received
        super().__init__(Handler)
        self.url = f"{self.origin}/hooks/T0123/secret"


MEETING_WITH_PHRASE = """# 2024-01-15 淨零轉型公聽會

### 主持人：
今天討論淨零排碳的時程，請各單位說明。

### 陳委員：
淨零排碳需要地方政府一起推動，預算要到位。
"""
MEETING_WITHOUT_PHRASE = """# 2024-01-16 交通會議

### 主持人：
今天討論公車路線調整，還有人行道。
"""


# --- fixtures (imported by the alert test modules) ----------------------------------------------


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def site(tmp_path):
    """A corpus folder of the fixture transcripts and its own index (alerts write beside it)."""
    from conftest import copy_index_fixtures

    corpus = copy_index_fixtures(tmp_path / "corpus")
    index = tmp_path / "ix"
    build_index([corpus], index, workers=1)
    return corpus, index
