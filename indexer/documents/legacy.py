"""Word 97-2003 documents (.doc), converted to .docx by LibreOffice headless.

Each conversion runs in a temporary folder with its own LibreOffice user profile
(``-env:UserInstallation``): LibreOffice refuses to start a second instance on a profile in use,
so parallel workers (or a LibreOffice the user has open) would otherwise collide. A conversion
that does not finish within the timeout is killed with its process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from .blocks import Document, DocumentError
from .docx import extract_docx
from ..settings import LIBREOFFICE_PACKAGE, OfficeSettings


#: What LibreOffice prints on every run where Java is absent: not about the file.
_NOISE = ("Warning: failed to launch javaldx",)


def convert_to_docx(data: bytes, settings: OfficeSettings) -> bytes:
    """The .doc bytes converted to .docx bytes by LibreOffice (DocumentError on failure)."""
    soffice = settings.soffice_path()
    if soffice is None:
        raise DocumentError("a Word 97-2003 .doc file needs LibreOffice to be read: install it "
                            f"(apt-get install {LIBREOFFICE_PACKAGE}) or convert the file to .docx")
    with tempfile.TemporaryDirectory(prefix="civic-search-doc-") as tmp:
        folder = Path(tmp)
        source = folder / "record.doc"
        source.write_bytes(data)
        command = [soffice, "--headless", "--norestore", "--nolockcheck",
                   f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                   "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(folder / "out"), str(source)]
        # A session of its own: on a timeout the whole group (soffice.bin under oosplash) is killed.
        with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True) as process:
            try:
                output, _ = process.communicate(timeout=settings.convert_timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                raise DocumentError(f"LibreOffice did not convert the .doc file within "
                                    f"{settings.convert_timeout:g} s (set CIVIC_SEARCH_SOFFICE_TIMEOUT)") from None
        result = folder / "out" / "record.docx"
        if process.returncode != 0 or not result.exists():
            detail = " ".join(line for line in output.decode("utf-8", "replace").splitlines()
                              if not line.startswith(_NOISE))
            detail = " ".join(detail.split())[-200:]
            raise DocumentError(f"damaged Word 97-2003 document (LibreOffice could not convert it: "
                                f"{detail or f'exit code {process.returncode}'})")
        return result.read_bytes()


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.communicate()  # reap it and drain its output pipe


def extract_doc(data: bytes, settings: OfficeSettings) -> Document:
    return extract_docx(convert_to_docx(data, settings), settings)
