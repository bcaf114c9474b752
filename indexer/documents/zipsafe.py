"""Opening ODF and Word ZIP packages without letting a ZIP bomb through.

A package is refused when its directory declares more members or more unpacked bytes than the
limits allow; members are then read through a budget that counts the bytes actually unpacked,
so a member whose directory entry lies about its size is stopped too.
"""

from __future__ import annotations

import io
import zipfile

from .blocks import DocumentError
from ..settings import OfficeSettings

_CHUNK = 1 << 16


class ZipBudget:
    """A ZIP package opened under the limits of ``settings``; members read through a budget."""

    def __init__(self, data: bytes, settings: OfficeSettings, what: str):
        self.what = what
        self.limit = settings.max_unpacked_bytes
        self.left = self.limit
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
            raise DocumentError(f"damaged {what} (not a readable ZIP package: {err})") from None
        if len(infos) > settings.max_members:
            raise DocumentError(f"refused {what}: {len(infos)} members in the ZIP package "
                                f"(the limit is {settings.max_members}; a ZIP bomb?)")
        declared = sum(info.file_size for info in infos)
        if declared > self.limit:
            raise DocumentError(self._too_big(f"{declared / 2**20:,.0f} MB"))

    def _too_big(self, size: str) -> str:
        return (f"refused {self.what}: it unpacks to {size} (the limit is {self.limit / 2**20:g} MB, "
                "set CIVIC_SEARCH_MAX_UNPACKED_MB; a ZIP bomb?)")

    def has(self, name: str) -> bool:
        try:
            self.archive.getinfo(name)
        except KeyError:
            return False
        return True

    def read(self, name: str) -> bytes:
        """A member's bytes, counted against the budget; DocumentError when damaged or over it."""
        chunks = []
        try:
            with self.archive.open(name) as member:
                while True:
                    chunk = member.read(min(_CHUNK, self.left + 1))
                    if not chunk:
                        break
                    self.left -= len(chunk)
                    if self.left < 0:
                        raise DocumentError(self._too_big(f"more than {self.limit / 2**20:g} MB"))
                    chunks.append(chunk)
        except KeyError:
            raise DocumentError(f"damaged {self.what} (the member {name} is missing)") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            raise DocumentError(f"damaged {self.what} ({name}: {err})") from None
        return b"".join(chunks)

    def check_all(self) -> None:
        """Unpack every member through the budget (for libraries that read the package whole)."""
        for info in self.archive.infolist():
            if not info.is_dir():
                self.read(info.filename)
