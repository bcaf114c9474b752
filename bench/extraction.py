"""Office document extraction: throughput by kind, and the library comparison behind the choice.

Measured on the committed fixtures (tests/fixtures/office, made by LibreOffice and python-docx;
see make_fixtures.py there), each file read ``repeats`` times in this process:

- **throughput**: ``read_transcript`` (the indexer's whole path: recognising the kind,
  extracting, the record reader) per kind, as files per second; for PDF also pages per second.
  ``.doc`` includes starting LibreOffice for each file.
- **libraries**: each candidate extracts the text of the same files; *CJK correctness* is the
  share of the seed record's turn texts (white space removed) found whole in the library's text
  (white space removed): a missing or garbled character, a running header in the middle of a
  sentence, or text out of reading order breaks a turn. Candidates that are not installed are
  reported as such (``pip install '.[bench]'`` installs them).
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .measure import REPO

FIXTURES = REPO / "tests" / "fixtures" / "office"
SEED = REPO / "corpus" / "000_c33521a9eed413fa.txt"
#: Good fixtures by kind (the seed record in every format, and the transcripts).
KINDS = ("odt", "docx", "doc", "pdf", "html")


@dataclass
class KindThroughput:
    kind: str
    files: int  # distinct fixture files
    reads: int  # files read (files × repeats)
    pages: int  # pages read (PDF), else 0
    seconds: float
    error: str = ""

    @property
    def files_per_second(self) -> float:
        return self.reads / self.seconds if self.seconds else float("nan")

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds and self.pages else float("nan")


@dataclass
class LibraryRun:
    kind: str
    library: str
    chosen: bool
    files: int
    pages: int
    seconds: float
    turns_found: int  # of the seed's turns, found whole in the text of its rendition
    turns: int
    tables: str  # what it gives of tables
    error: str = ""

    @property
    def correctness(self) -> float:
        return self.turns_found / self.turns if self.turns else float("nan")

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds else float("nan")


@dataclass
class ExtractionResult:
    repeats: int
    throughput: list[KindThroughput] = field(default_factory=list)
    libraries: list[LibraryRun] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {"repeats": self.repeats, "throughput": [], "libraries": []}
        for t in self.throughput:
            out["throughput"].append({**asdict(t), "files_per_second": _round(t.files_per_second),
                                      "pages_per_second": _round(t.pages_per_second)})
        for lib in self.libraries:
            out["libraries"].append({**asdict(lib), "correctness": _round(lib.correctness, 4),
                                     "files_per_second": _round(lib.files_per_second)})
        return out


def _round(value: float, digits: int = 1):
    return None if value != value else round(value, digits)  # NaN → None (JSON)


def _files(kind: str) -> list[Path]:
    return sorted(p for p in (*FIXTURES.glob(f"seed.{kind}"), *FIXTURES.glob(f"transcripts/*.{kind}"),
                              *FIXTURES.glob(f"running-headers.{kind}"), *FIXTURES.glob(f"bold-labels.{kind}")))


def _pdf_pages(path: Path) -> int:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def measure_throughput(repeats: int) -> list[KindThroughput]:
    from indexer.transcripts import TranscriptError, read_transcript

    out = []
    for kind in KINDS:
        files = _files(kind)
        pages = sum(_pdf_pages(p) for p in files) if kind == "pdf" else 0
        started = time.perf_counter()
        error = ""
        try:
            for _ in range(repeats):
                for path in files:
                    read_transcript(path, meeting_id="bench")
        except TranscriptError as err:  # e.g. .doc without LibreOffice
            error = err.reason
        seconds = time.perf_counter() - started
        out.append(KindThroughput(kind, len(files), 0 if error else len(files) * repeats, pages * repeats,
                                  seconds, error))
    return out


# --- the candidates --------------------------------------------------------------------------------


def _pypdfium2(data: bytes) -> str:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(texts)
    finally:
        pdf.close()


def _pdfminer(data: bytes) -> str:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data))


def _pdfplumber(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        texts = []
        for page in pdf.pages:
            page.find_tables()
            texts.append(page.extract_text() or "")
        return "\n".join(texts)


def _ours(kind: str):
    def extract(data: bytes) -> str:
        from indexer.documents import OfficeSettings, extract as extract_blocks
        from indexer.documents.blocks import Table

        parts = []
        for block in extract_blocks(kind, data, OfficeSettings()).blocks:
            if isinstance(block, Table):
                parts.extend(p.text for row in block.rows for cell in row for p in cell)
            else:
                parts.append(block.text)
        return "\n".join(parts)

    return extract


def _python_docx_plain(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:  # python-docx's own API: tables apart from the body order
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def _docx2python(data: bytes) -> str:
    from docx2python import docx2python

    with docx2python(io.BytesIO(data)) as content:
        return content.text


def _odfpy(data: bytes) -> str:
    from odf import teletype, text
    from odf.opendocument import load

    document = load(io.BytesIO(data))
    return "\n".join(teletype.extractText(p) for p in document.getElementsByType(text.P))


CANDIDATES = {
    # kind: (library, chosen, tables, extractor)
    "pdf": [
        ("pypdfium2 characters + pdfplumber's table finder: civic-search", True, "cells, wrapped labels joined",
         _ours("pdf")),
        ("pypdfium2 alone (text per page)", False, "none: text in content order", _pypdfium2),
        ("pdfminer.six extract_text", False, "none: text boxes", _pdfminer),
        ("pdfplumber (pdfminer.six) extract_text + find_tables", False, "cells (text only)", _pdfplumber),
    ],
    "docx": [
        ("python-docx, body order: civic-search", True, "cells in body order, merged once", _ours("docx")),
        ("python-docx paragraphs, then tables", False, "after the body; merged cells repeated", _python_docx_plain),
        ("docx2python", False, "nested lists", _docx2python),
    ],
    "odt": [
        ("lxml on content.xml: civic-search", True, "cells, covered cells skipped", _ours("odt")),
        ("odfpy teletype", False, "paragraphs only", _odfpy),
    ],
}


def _turns() -> list[str]:
    from indexer.transcripts import read_transcript

    return [re.sub(r"\s+", "", t.text) for t in read_transcript(SEED, meeting_id="bench").turns]


def compare_libraries(repeats: int) -> list[LibraryRun]:
    turns = _turns()
    out = []
    for kind, candidates in CANDIDATES.items():
        files = _files(kind)
        seed = FIXTURES / f"seed.{kind}"
        pages = sum(_pdf_pages(p) for p in files) if kind == "pdf" else 0
        for library, chosen, tables, extractor in candidates:
            run = LibraryRun(kind, library, chosen, 0, 0, 0.0, 0, len(turns), tables)
            try:
                text = re.sub(r"\s+", "", extractor(seed.read_bytes()))
                run.turns_found = sum(1 for turn in turns if turn in text)
                started = time.perf_counter()
                for _ in range(repeats):
                    for path in files:
                        extractor(path.read_bytes())
                run.seconds = time.perf_counter() - started
                run.files, run.pages = len(files) * repeats, pages * repeats
            except ImportError as err:
                run.error = f"not installed ({err.name})"
            except Exception as err:  # a candidate that fails on a fixture: reported, not fatal
                run.error = f"{type(err).__name__}: {err}"[:200]
            out.append(run)
    return out


def measure_extraction(repeats: int = 3) -> ExtractionResult:
    result = ExtractionResult(repeats)
    result.throughput = measure_throughput(repeats)
    result.libraries = compare_libraries(repeats)
    return result


# --- the report section --------------------------------------------------------------------------------


def render(result: ExtractionResult, table) -> list[str]:
    """The "Office document extraction" section of docs/benchmarks.md (``table`` renders rows)."""

    def num(value: float, fmt: str = "{:.1f}") -> str:
        return "—" if value != value else fmt.format(value)

    lines = ["## Office document extraction", ""]
    rows = [[t.kind, str(t.files), str(t.reads), num(t.files_per_second), num(t.pages_per_second),
             t.error or ""] for t in result.throughput]
    lines += table(["kind", "fixture files", "files read", "files/s", "PDF pages/s", "note"], rows)
    lines.append(f"`read_transcript` on the fixtures of tests/fixtures/office ({result.repeats} passes): recognising "
                 "the kind, extracting the blocks and reading the record. `.doc` includes a LibreOffice start per file.")
    lines += ["", "### Library comparison", ""]
    rows = []
    for lib in result.libraries:
        correct = f"{lib.turns_found}/{lib.turns}" if not lib.error else "—"
        rows.append([lib.kind, ("**" + lib.library + "**") if lib.chosen else lib.library, correct,
                     num(lib.files_per_second), num(lib.pages / lib.seconds if lib.pages and lib.seconds else float("nan")),
                     lib.tables, lib.error])
    lines += table(["kind", "library", "seed turns found whole", "files/s", "pages/s", "tables", "note"], rows)
    lines.append("Seed turns found whole: of the seed record's turns (white space removed), how many occur in the "
                 "library's text of the seed's rendition (white space removed). Layout is what sets the chosen "
                 "libraries apart: table cells in body order, wrapped cells joined, running headers removed.")
    lines.append("")
    return lines
