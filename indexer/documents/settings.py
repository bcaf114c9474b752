"""What an office document may cost before it is refused, and where LibreOffice is."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Mapping

#: The Debian package that provides ``soffice`` without a desktop (named in skip reasons).
LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"


@dataclass(frozen=True)
class OfficeSettings:
    """Limits and tools for office documents (read once at the edge, passed down).

    ``soffice`` is the LibreOffice command (a name looked up on ``search_path``, or a path);
    None or "" means .doc files are skipped. ``search_path`` is the PATH to look it up on (None:
    the process's own, as a subprocess would).
    """

    soffice: str | None = "soffice"
    search_path: str | None = None
    convert_timeout: float = 120.0
    max_unpacked_mb: float = 256.0
    max_members: int = 10_000
    max_pages: int = 2_000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "OfficeSettings":
        """Settings from ``CIVIC_SEARCH_SOFFICE`` (command or path; ``none`` to disable),
        ``CIVIC_SEARCH_SOFFICE_TIMEOUT`` (seconds), ``CIVIC_SEARCH_MAX_UNPACKED_MB`` and
        ``CIVIC_SEARCH_MAX_PAGES``; invalid numbers keep the defaults."""
        defaults = cls()
        command = environ.get("CIVIC_SEARCH_SOFFICE", "").strip()
        return cls(
            soffice=None if command.lower() == "none" else (command or defaults.soffice),
            search_path=environ.get("PATH", ""),
            convert_timeout=_number(environ, "CIVIC_SEARCH_SOFFICE_TIMEOUT", defaults.convert_timeout),
            max_unpacked_mb=_number(environ, "CIVIC_SEARCH_MAX_UNPACKED_MB", defaults.max_unpacked_mb),
            max_pages=int(_number(environ, "CIVIC_SEARCH_MAX_PAGES", defaults.max_pages)),
        )

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 2**20)

    def soffice_path(self) -> str | None:
        """The LibreOffice executable, or None when it is not installed."""
        if not self.soffice:
            return None
        return shutil.which(self.soffice, path=self.search_path)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(environ.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default
