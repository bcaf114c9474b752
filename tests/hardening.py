"""Helpers shared by the tests/test_hardening_*.py files (hostile input, crashes, concurrency).

What every front door must do with bad input is written down once here: the JSON error shape,
the headers every response carries, and what an error must never show (a traceback, a path).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "site-packages", "werkzeug.exceptions")

#: Malformed queries: every front door answers them with a clear error.
BAD_QUERIES = [
    '"淨零',  # unbalanced quote
    "(淨零",  # unclosed parenthesis
    "淨零)",  # unmatched parenthesis
    "()",
    '""',
    "OR",  # a lone operator
    "NOT",
    "-",
    "|",
    "AND",
    "淨零 OR",
    "A OR -B",
    "-淨零",  # nothing to exclude from
    "foo:bar",  # an unknown field
    "speaker:",  # a field with no value
    "title:",
    "date:",
    "date:2023..2021",  # an impossible date range
    "date:2022-13-45",
    "date:2022-02-30",
    "date:..",
    "date:yesterday",
    "淨" * 10_000,  # far too long
    "x" * 1001,
    "a\x00b",  # control characters
    "a\x07b",
    "\x1b[31m紅色",
    "淨零\x7f",
    "'; DROP TABLE turns; --",  # SQL fragment ending in a lone '-'
    '"><img src=x onerror=alert(1)>',  # an unbalanced quote
]

#: Blank queries: an error for the CLI and the API; the pages show the search form.
BLANK_QUERIES = ["", "   ", "\t", "\x85", "\u3000"]

#: Odd but well-formed queries: every front door answers them (possibly with no hits).
ODD_QUERIES = [
    "😀",
    "淨零😀排碳",
    "\u202eשלום\u202c",  # right-to-left override and Hebrew
    "مرحبا",
    "<script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "' OR '1'='1",
    "1; SELECT * FROM meetings",
    "UNION SELECT password",
    "%",
    "%00",
    "\\",
    "../../etc/passwd",
    "ﬁ ß İ",
    "淨零\u200b排碳",  # zero-width space
    "\u3000淨零\u3000",  # ideographic spaces
    "a" * 1000,  # exactly the limit
    "(((淨零)))",
    "PoC(概念驗證)",
    "https://example.org/?q=1&x=<y>",
    "speaker:'",
    "title:<b>",
    "date:2022",
]


def children_of(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc; psutil is not a test dependency)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_no_traceback(text: str) -> None:
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, f"{marker!r} in {text[:500]!r}"


def assert_json_error(response, status: int) -> dict:
    """The one JSON error shape, with that HTTP status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    data = json.loads(response.get_data(as_text=True))
    assert set(data) == {"ok", "error", "status"}, data
    assert data["ok"] is False and data["status"] == status
    assert isinstance(data["error"], str) and data["error"].strip() and "\n" not in data["error"]
    assert_no_traceback(data["error"])
    return data


def assert_security_headers(response, origins: tuple[str, ...] = ()) -> None:
    """CSP without inline scripts and with frame-ancestors from the configuration, nosniff,
    a referrer policy."""
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives.get("script-src") == ["'self'"], csp
    assert directives.get("default-src") == ["'self'"], csp
    assert directives.get("object-src") == ["'none'"], csp
    assert directives.get("frame-ancestors") == ["'self'", *origins], csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "same-origin"


def get_routes(app) -> list[tuple[str, tuple[str, ...]]]:
    """Every URL rule of the app with its argument names, static files excepted."""
    return sorted(
        (rule.rule, tuple(sorted(rule.arguments)))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    )


def write_transcript(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def index_files(index_dir: Path) -> dict[str, tuple[int, int]]:
    """The index folder's files with (size, mtime_ns): to show that nothing was written."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in Path(index_dir).iterdir() if p.is_file()}


def one_line_error(stderr: str) -> str:
    """The single ``Error: …`` line a failing command prints (and nothing else)."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    assert_no_traceback(stderr)
    return lines[0]


_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    return _WS.sub("", text)
