"""Office documents (issue #10): ODT, DOCX, DOC, PDF and HTML records through the real CLI.

The fixtures in tests/fixtures/office were made by LibreOffice, python-docx and openpyxl
(tests/fixtures/office/make_fixtures.py). One folder mixing all seven formats, the bad files
and a spreadsheet is indexed once by ``python -m indexer index`` in a subprocess; the tests read
that run's output and search its index through the CLI, the library and the web app.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from indexer.documents import OfficeSettings
from indexer.documents.blocks import join_lines
from indexer.documents.zipsafe import ZipBudget
from indexer.search import SearchEngine
from indexer.transcripts import TranscriptError, read_transcript

from hardening import assert_no_traceback

REPO = Path(__file__).resolve().parent.parent
OFFICE = Path(__file__).resolve().parent / "fixtures" / "office"
SEED_TXT = REPO / "corpus" / "000_c33521a9eed413fa.txt"
MANIFEST = json.loads((OFFICE / "manifest.json").read_text(encoding="utf-8"))
HAS_SOFFICE = shutil.which("soffice") is not None
needs_soffice = pytest.mark.skipif(
    not HAS_SOFFICE, reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui"
)

#: the seed record in each format: file name in the mixed folder → format
SEED_COPIES = {
    "000_c33521a9eed413fa.txt": "txt",
    "seed.odt": "odt",
    "seed.docx": "docx",
    "seed.doc": "doc",
    "seed.pdf": "pdf",
    "seed.html": "html",
    "seed-pdf-without-extension": "pdf",  # the kind comes from the content
    "seed-docx-named.pdf": "docx",
}
#: bad file → its exact skip reason
BAD = {
    "scanned.pdf": "no text layer (a scanned image): OCR it first",
    "encrypted.pdf": "encrypted PDF: it needs a password to open (save a copy without the password)",
    "truncated.pdf": "damaged PDF: truncated (the end of the file is missing)",
    "bomb.docx": "refused Word document: it unpacks to 1,024 MB (the limit is 256 MB, set "
    "CIVIC_SEARCH_MAX_UNPACKED_MB; a ZIP bomb?)",
    # Refused from what the file says of itself, before any conversion: also without LibreOffice.
    "locked.odt": "encrypted OpenDocument file: it needs a password to open (save a copy without the password)",
    "locked.doc": "encrypted Word 97-2003 document: it needs a password to open (save a copy without the password)",
    "locked.docx": "encrypted Office document: it needs a password to open (save a copy without the password)",
}
GOOD_DOCUMENTS = ("bold-labels.docx", "running-headers.pdf")


def fold_space(text: str) -> str:
    """White space folded: runs to one space, none beside CJK text (a line break inside a CJK
    paragraph is not a space; Latin words keep theirs)."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ?([\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]) ?", r"\1", text)


def cli(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "indexer", *args], cwd=REPO, capture_output=True,
                            text=True, timeout=600, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    assert_no_traceback(result.stderr)
    return result


def make_mixed_folder(folder: Path) -> Path:
    for name in SEED_COPIES:
        source = {"000_c33521a9eed413fa.txt": SEED_TXT, "seed-pdf-without-extension": OFFICE / "seed.pdf",
                  "seed-docx-named.pdf": OFFICE / "seed.docx"}.get(name, OFFICE / name)
        if name == "seed.doc" and not HAS_SOFFICE:
            continue
        shutil.copy(source, folder / name)
    for name in (*BAD, *GOOD_DOCUMENTS, "sheet.xlsx"):
        shutil.copy(OFFICE / name, folder / name)
    transcripts = folder / "transcripts"
    shutil.copytree(OFFICE / "transcripts", transcripts)
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(folder, index, CompletedProcess) of one `civic-search index` run over the mixed folder."""
    folder = make_mixed_folder(tmp_path_factory.mktemp("mixed"))
    index = tmp_path_factory.mktemp("mixed-index")
    result = cli("index", str(folder), "--index", str(index))
    return folder, index, result


@pytest.fixture(scope="module")
def mixed_engine(mixed):
    engine = SearchEngine(mixed[1])
    yield engine
    engine.close()


def meeting_of(engine: SearchEngine, folder: Path, name: str) -> str:
    """The id of the meeting indexed from ``folder/name``."""
    snap = engine.snapshot()
    for mid, (_, _, source) in snap.meetings.items():
        if source == str(folder / name):
            return mid
    raise AssertionError(f"{name} was not indexed")


def show(index: Path, meeting_id: str) -> dict:
    return json.loads(cli("show", meeting_id, "--index", str(index), "--json").stdout)


# --- one run over all seven formats ---------------------------------------------------------------


def test_mixed_folder_indexes_in_one_run(mixed):
    folder, _, result = mixed
    transcripts = len(list((OFFICE / "transcripts").iterdir()))
    indexed = len(SEED_COPIES) - (0 if HAS_SOFFICE else 1) + len(GOOD_DOCUMENTS) + transcripts
    assert result.stdout.startswith(f"Indexed {indexed} new and 0 changed meetings")
    assert f"; skipped {len(BAD)} files; ignored 1 .xlsx (" in result.stdout


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_file_is_skipped_with_its_reason(mixed, name):
    folder, _, result = mixed
    assert f"skipped {folder / name}: {BAD[name]}" in result.stderr.splitlines()


def test_only_the_bad_files_are_reported(mixed):
    folder, _, result = mixed
    reported = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert sorted(reported) == sorted(f"skipped {folder / name}: {reason}" for name, reason in BAD.items())


def test_strict_makes_bad_files_an_error(mixed, tmp_path):
    folder = mixed[0]
    result = cli("index", str(folder), "--index", str(tmp_path / "ix"), "--strict", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"Error: {len(BAD)} files could not be indexed (--strict)"


def test_second_run_has_nothing_to_do_and_a_changed_document_is_reindexed(mixed, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(mixed[0], folder)
    index = tmp_path / "ix"
    cli("index", str(folder), "--index", str(index))
    again = cli("index", str(folder), "--index", str(index))
    assert again.stdout.startswith("Index up to date: ")
    shutil.copy(OFFICE / "bold-labels.docx", folder / "seed.docx")  # another document, same name
    changed = cli("index", str(folder), "--index", str(index))
    assert changed.stdout.startswith("Indexed 0 new and 1 changed meetings")
    found = json.loads(cli("search", "四十二個網站", "--index", str(index), "--json").stdout)
    assert {h["source"] for h in found["hits"]} == {str(folder / "bold-labels.docx"), str(folder / "seed.docx")}


def test_workers_read_office_documents(mixed, tmp_path, monkeypatch):
    import indexer.build
    from indexer.build import build_index

    monkeypatch.setattr(indexer.build, "PARALLEL_MIN_BYTES", 0)  # the fixtures are small
    report = build_index([mixed[0]], tmp_path / "ix", workers=2)
    assert sorted(Path(s.path).name for s in report.skipped) == sorted(BAD)
    with _opened(tmp_path / "ix") as engine, _opened(mixed[1]) as expected:
        assert engine.search("淨零排碳", limit=0).total == expected.search("淨零排碳", limit=0).total
        pages = {h.source: h.page for h in engine.search("散會", limit=0).hits}
        assert pages[str(mixed[0] / "running-headers.pdf")] == 3


class _opened:
    """An engine on ``path``, closed at the end of the ``with`` block."""

    def __init__(self, path):
        self.engine = SearchEngine(path)

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc):
        self.engine.close()


# --- parity with the plain-text seed record -------------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    return read_transcript(SEED_TXT, meeting_id="reference")


@pytest.fixture(params=sorted(SEED_COPIES))
def seed_copy(request, mixed, mixed_engine) -> tuple[str, dict]:
    """(file name, `show --json` object) of each copy of the seed record."""
    name = request.param
    if name == "seed.doc" and not HAS_SOFFICE:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")
    folder, index, _ = mixed
    return name, show(index, meeting_of(mixed_engine, folder, name))


def test_seed_parity_meeting_fields(seed_copy, reference):
    name, record = seed_copy
    assert record["format"] == SEED_COPIES[name]
    assert record["title"] == reference.title == "臺北城市博覽會舞台活動 智慧城市產業座談會 會談紀錄"
    assert (record["date"], record["time"]) == ("2022-09-05", "10:30")
    assert record["chair"] == reference.chair
    for key in ("location", "recorder"):  # a PDF cell wraps "(TPMO)⏎彭滢旨": the space is gone
        assert fold_space(record[key]) == fold_space(getattr(reference, key))


def test_seed_parity_turns(seed_copy, reference):
    name, record = seed_copy
    assert [t["speaker"] for t in record["turns"]] == [t.speaker for t in reference.turns]
    assert [fold_space(t["text"]) for t in record["turns"]] == [fold_space(t.text) for t in reference.turns]
    if SEED_COPIES[name] == "pdf":
        assert [t["page"] for t in record["turns"]] == [1, 1, 2, 2, 3, 3, 4, 4]
    else:
        assert all("page" not in t for t in record["turns"])


def test_search_finds_the_same_turns_in_every_format(mixed):
    folder, index, _ = mixed
    found = json.loads(cli("search", "淨零排碳", "--index", str(index), "--json", "--limit", "0").stdout)
    by_file: dict[str, list] = {}
    for hit in found["hits"]:
        by_file.setdefault(Path(hit["source"]).name, []).append((hit["turn"], hit["speaker"], hit.get("page")))
    expected = sorted(by_file["000_c33521a9eed413fa.txt"])
    assert expected == [(5, "臺北市資訊局/呂新科局長", None), (6, "臺灣智慧城市產業聯盟/井琪會長", None)]
    for name, kind in SEED_COPIES.items():
        if name == "seed.doc" and not HAS_SOFFICE:
            continue
        turns = sorted(by_file[name])
        assert [(t, s) for t, s, _ in turns] == [(t, s) for t, s, _ in expected], name
        assert [p for _, _, p in turns] == ([3, 4] if kind == "pdf" else [None, None]), name


@needs_soffice
def test_doc_is_converted_by_libreoffice(mixed, mixed_engine):
    folder, index, _ = mixed
    record = show(index, meeting_of(mixed_engine, folder, "seed.doc"))
    assert record["format"] == "doc" and len(record["turns"]) == 8


# --- transcripts against their Markdown -----------------------------------------------------------


def _phrases(text: str) -> list[str]:
    """Every 6-character window at a stride of 5 over the text's lines (no line-spanning window)."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        out.extend(line[i : i + 6] for i in range(0, max(1, len(line) - 5), 5) if line[i : i + 6].strip())
    return out


@pytest.mark.corpus
def test_transcripts_recall_speakers_and_dates_equal_their_markdown(shared_corpus, tmp_path):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    stems = sorted({p.stem for p in (OFFICE / "transcripts").iterdir()})
    for stem in stems:
        shutil.copy(shared_corpus / "audreyt-transcript" / f"{stem}.md", folder / f"{stem}.md")
    for path in (OFFICE / "transcripts").iterdir():
        shutil.copy(path, folder / path.name)
    cli("index", str(folder), "--index", str(tmp_path / "ix"))
    with _opened(tmp_path / "ix") as engine:
        ids = {source: mid for mid, (_, _, source) in engine.snapshot().meetings.items()}
        for stem in stems:
            markdown = show(tmp_path / "ix", ids[str(folder / f"{stem}.md")])
            phrases = sorted({p for t in markdown["turns"] for p in _phrases(t["text"])})
            assert len(phrases) > 50
            documents = [p for p in folder.iterdir() if p.stem == stem and p.suffix != ".md"]
            assert documents
            for document in documents:
                record = show(tmp_path / "ix", ids[str(document)])
                assert [t["speaker"] for t in record["turns"]] == [t["speaker"] for t in markdown["turns"]], document.name
                assert (record["date"], record["title"]) == (markdown["date"], markdown["title"]), document.name
                for who, mid in (("markdown", ids[str(folder / f"{stem}.md")]), (document.name, ids[str(document)])):
                    found = sum(1 for p in phrases if any(h.meeting_id == mid for h in engine.search(f'"{p}"', limit=0).hits))
                    assert found == len(phrases), (who, found, len(phrases))


# --- PDF layout -----------------------------------------------------------------------------------------


def test_running_headers_footers_and_page_numbers_are_removed(mixed_engine):
    for text in ("臺北市政府 市政會議紀錄", "第 1 頁", "第 2 頁"):
        assert mixed_engine.search(f'"{text}"', limit=0).total == 0, text


def test_a_phrase_broken_by_a_page_is_found_with_the_page_its_turn_starts_on(mixed):
    folder, index, _ = mixed
    phrase = MANIFEST["running_headers"]["phrase"]
    found = json.loads(cli("search", phrase, "--index", str(index), "--json").stdout)
    (hit,) = [h for h in found["hits"] if h["source"].endswith("running-headers.pdf")]
    assert hit["page"] == 1 and hit["speaker"] == "主席"
    closing = json.loads(cli("search", "照案通過", "--index", str(index), "--json").stdout)
    assert [(h["speaker"], h["page"]) for h in closing["hits"]] == [("秘書長", 3)]


def test_kwic_and_exports_carry_the_page(mixed, tmp_path):
    folder, index, _ = mixed
    rows = json.loads(cli("kwic", "照案通過", "--index", str(index), "--json").stdout)["rows"]
    assert [(r["speaker"], r["page"]) for r in rows] == [("秘書長", 3)]
    csv_text = cli("kwic", "淨零排碳", "--index", str(index), "--csv").stdout
    header, *lines = csv_text.lstrip("\ufeff").splitlines()
    assert header == "meeting_id,title,date,speaker,person,turn,page,left,match,right,link"
    pages = {line.split(",")[6] for line in lines}
    assert pages == {"", "3", "4"}  # empty for the formats without pages
    search_csv = cli("search", "照案通過", "--index", str(index), "--csv").stdout.lstrip("\ufeff").splitlines()
    assert search_csv[1].split(",")[6] == "3"
    kwic_rows = json.loads(cli("kwic", "淨零排碳", "--index", str(index), "--json").stdout)["rows"]
    assert {r.get("page") for r in kwic_rows} == {None, 3, 4}  # the key only where a page is known


def test_label_wrapped_inside_its_cell_is_read(tmp_path):
    """府級長官 wraps as 府級 + 長官 in the PDF's narrow label column: still a header label, so its
    value is not taken for speech or title."""
    meeting = read_transcript(OFFICE / "seed.pdf", meeting_id="m")
    assert all("彭振聲副市長" not in t.text and "府級" not in t.text for t in meeting.turns)


def test_join_lines_as_a_reader_would():
    assert join_lines("大數據歸納的知", "識，希望") == "大數據歸納的知識，希望"
    assert join_lines("garbage in", "garbage out") == "garbage in garbage out"
    assert join_lines("infor-", "mation") == "information"
    assert join_lines("PoC(概念", "驗證)") == "PoC(概念驗證)"
    assert join_lines("由 A", "單位") == "由 A單位"
    assert join_lines("2050", "淨零") == "2050淨零"
    assert join_lines("top-", "Down") == "top-Down"  # a capital: a real hyphen, not a break


# --- DOCX from python-docx: bold and inline labels ------------------------------------------------------


def test_bold_and_inline_speaker_labels():
    meeting = read_transcript(OFFICE / "bold-labels.docx", meeting_id="m")
    assert meeting.title == "數位服務諮詢會議紀錄"  # the heading, not the file's metadata title
    assert (meeting.date, meeting.chair, meeting.location) == ("2023-05-10", "王大同主任委員", "市政大樓北區二樓")
    assert [(t.speaker, t.text) for t in meeting.turns] == [
        ("主席", "各位好，今天討論市民數位服務的無障礙改善。"),
        ("資訊局/王小明科長", "我們今年完成了網站無障礙檢測，共有四十二個網站通過。"),
        ("民政局/李大華專員", "關於戶政預約系統，我們會在下個月上線語音導覽。"),
        ("陳委員", "建議把檢測結果公開在開放資料平臺，讓民間團體一起協助。"),
    ]


def test_metadata_title_is_only_a_fallback(tmp_path):
    from docx import Document

    doc = Document()
    doc.core_properties.title = "第五次審查會議紀錄"
    doc.add_paragraph("主席：")
    doc.add_paragraph("請各位委員發言。")
    doc.save(tmp_path / "untitled.docx")
    meeting = read_transcript(tmp_path / "untitled.docx", meeting_id="m")
    assert meeting.title == "第五次審查會議紀錄" and meeting.turns[0].speaker == "主席"


def test_web_page_declaring_big5(tmp_path):
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head><body>'
            "<h1>交通委員會會議紀錄</h1><p>日期：112年6月1日</p><p>主席：</p><p>本案照案通過。</p></body></html>")
    (tmp_path / "big5.htm").write_bytes(page.encode("cp950"))
    meeting = read_transcript(tmp_path / "big5.htm", meeting_id="m")
    assert (meeting.format, meeting.title, meeting.date) == ("html", "交通委員會會議紀錄", "2023-06-01")
    assert [(t.speaker, t.text) for t in meeting.turns] == [("主席", "本案照案通過。")]


# --- limits and the LibreOffice requirement -------------------------------------------------------------


def test_doc_without_libreoffice_names_the_package(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(OFFICE / "seed.doc", folder / "seed.doc")
    shutil.copy(OFFICE / "seed.docx", folder / "seed.docx")
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin")}  # nowhere to find soffice
    result = cli("index", str(folder), "--index", str(tmp_path / "ix"), env=env)
    assert result.stderr.splitlines() == [
        f"skipped {folder / 'seed.doc'}: a Word 97-2003 .doc file needs LibreOffice to be read: install it "
        "(apt-get install libreoffice-writer-nogui) or convert the file to .docx"
    ]
    assert result.stdout.startswith("Indexed 1 new and 0 changed meetings")
    assert OfficeSettings.from_environ({"PATH": ""}).soffice_path() is None
    assert OfficeSettings.from_environ({"CIVIC_SEARCH_SOFFICE": "none"}).soffice_path() is None


@needs_soffice
def test_a_conversion_that_takes_too_long_is_stopped(tmp_path):
    settings = OfficeSettings(convert_timeout=0.05)
    with pytest.raises(TranscriptError) as caught:
        read_transcript(OFFICE / "seed.doc", meeting_id="m", office=settings)
    assert caught.value.reason == ("LibreOffice did not convert the .doc file within 0.05 s "
                                   "(set CIVIC_SEARCH_SOFFICE_TIMEOUT)")


def test_page_limit_from_the_environment(tmp_path):
    folder = tmp_path / "pdf"
    folder.mkdir()
    shutil.copy(OFFICE / "seed.pdf", folder / "seed.pdf")
    env = {**os.environ, "CIVIC_SEARCH_MAX_PAGES": "3"}
    result = cli("index", str(folder), "--index", str(tmp_path / "ix"), env=env)
    assert result.stderr.splitlines() == [
        f"skipped {folder / 'seed.pdf'}: too many pages (5; the limit is 3, set CIVIC_SEARCH_MAX_PAGES to change it)"
    ]


def test_absurd_page_count(tmp_path):
    import pypdfium2

    pdf = pypdfium2.PdfDocument.new()
    for _ in range(2500):
        pdf.new_page(200, 200)
    pdf.save(tmp_path / "pages.pdf")
    pdf.close()
    with pytest.raises(TranscriptError) as caught:
        read_transcript(tmp_path / "pages.pdf", meeting_id="m")
    assert caught.value.reason == "too many pages (2,500; the limit is 2,000, set CIVIC_SEARCH_MAX_PAGES to change it)"


def test_zip_limits_from_the_directory_and_while_reading():
    data = (OFFICE / "seed.docx").read_bytes()
    with pytest.raises(TranscriptError) as caught:
        read_transcript(OFFICE / "seed.docx", meeting_id="m", office=OfficeSettings(max_unpacked_mb=0.01))
    assert caught.value.reason.startswith("refused Word document: it unpacks to ")
    with pytest.raises(TranscriptError) as caught:
        read_transcript(OFFICE / "seed.docx", meeting_id="m", office=OfficeSettings(max_members=3))
    assert re.fullmatch(r"refused Word document: \d+ members in the ZIP package \(the limit is 3; a ZIP bomb\?\)",
                        caught.value.reason)
    # The budget counts what is actually unpacked: reading the package twice exceeds what its
    # directory declared once.
    declared = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    budget = ZipBudget(data, OfficeSettings(max_unpacked_mb=declared * 1.5 / 2**20), "Word document")
    budget.check_all()
    from indexer.documents import DocumentError

    with pytest.raises(DocumentError, match="it unpacks to more than"):
        budget.check_all()


def test_damaged_documents(tmp_path):
    (tmp_path / "cut.docx").write_bytes((OFFICE / "seed.docx").read_bytes()[:3000])
    (tmp_path / "cut.odt").write_bytes((OFFICE / "seed.odt").read_bytes()[:3000])
    for name in ("cut.docx", "cut.odt"):
        with pytest.raises(TranscriptError) as caught:
            read_transcript(tmp_path / name, meeting_id="m")
        assert caught.value.reason.startswith("not a meeting record: a damaged ZIP archive"), name


# --- file scanning ------------------------------------------------------------------------------------


def test_scan_opens_only_files_with_an_unknown_extension(tmp_path, monkeypatch):
    import indexer.documents.sniff as sniff
    from indexer.build import scan

    for name in ("a.md", "b.txt", "c.pdf", "d.docx", "README.md", ".hidden.pdf"):
        (tmp_path / name).write_bytes(b"x")
    shutil.copy(OFFICE / "seed.odt", tmp_path / "odt-without-extension")
    shutil.copy(OFFICE / "sheet.xlsx", tmp_path / "sheet.xlsx")
    (tmp_path / "notes.csv").write_text("a,b\n", encoding="utf-8")
    opened = []
    real = sniff.file_kind
    monkeypatch.setattr(sniff, "file_kind", lambda path, suffix: opened.append(Path(path).name) or real(path, suffix))
    found = scan([tmp_path])
    assert sorted(p.name for p, _ in found.files) == ["a.md", "b.txt", "c.pdf", "d.docx", "odt-without-extension"]
    assert sorted(opened) == ["notes.csv", "odt-without-extension", "sheet.xlsx"]
    assert found.ignored == {".xlsx": 1, ".csv": 1}


# --- the original file on the web -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(mixed, mixed_engine):
    from search_web import create_app

    app = create_app({"INDEX_DIR": str(mixed[1]), "ENGINE": mixed_engine, "TESTING": True})
    return app.test_client()


def test_source_is_served_as_an_attachment(mixed, mixed_engine, web):
    folder = mixed[0]
    for name, media_type in (("seed.pdf", "application/pdf"),
                             ("seed.odt", "application/vnd.oasis.opendocument.text"),
                             ("seed-pdf-without-extension", "application/pdf")):
        mid = meeting_of(mixed_engine, folder, name)
        response = web.get(f"/meetings/{quote(mid)}/source")
        assert response.status_code == 200
        assert response.mimetype == media_type
        assert response.data == (folder / name).read_bytes()
        assert response.headers["Content-Disposition"] == f"attachment; filename={name}"


def test_source_with_a_chinese_file_name(mixed, mixed_engine, web):
    name = "2018-12-03-經濟日報訪問.pdf"
    mid = meeting_of(mixed_engine, mixed[0], f"transcripts/{name}")
    response = web.get(f"/meetings/{quote(mid)}/source")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(name)}" in disposition  # RFC 5987


@pytest.mark.parametrize("url", [
    "/meetings/no-such-meeting/source",
    "/meetings/..%2F..%2Fetc%2Fpasswd/source",
    "/meetings/%2e%2e/source",
    "/meetings/seed/source/../../etc/passwd",
    "/meetings/../../setup.cfg/source",
])
def test_source_of_anything_else_is_404(web, url):
    response = web.get(url)
    assert response.status_code == 404
    assert b"root:" not in response.data and b"[metadata]" not in response.data


def test_source_gone_or_changed_is_410(tmp_path):
    from search_web import create_app

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(OFFICE / "seed.docx", folder / "seed.docx")
    shutil.copy(OFFICE / "bold-labels.docx", folder / "bold-labels.docx")
    cli("index", str(folder), "--index", str(tmp_path / "ix"))
    with _opened(tmp_path / "ix") as engine:
        client = create_app({"INDEX_DIR": str(tmp_path / "ix"), "ENGINE": engine, "TESTING": True}).test_client()
        assert client.get("/meetings/seed/source").status_code == 200
        (folder / "seed.docx").write_bytes(b"changed")
        (folder / "bold-labels.docx").unlink()
        for mid in ("seed", "bold-labels"):
            response = client.get(f"/meetings/{mid}/source")
            assert response.status_code == 410
            assert "原始檔案無法提供" in response.get_data(as_text=True)
            assert_no_traceback(response.get_data(as_text=True))


def test_meeting_page_shows_file_name_format_and_pages(mixed, mixed_engine, web):
    folder = mixed[0]
    mid = meeting_of(mixed_engine, folder, "seed.pdf")
    page = web.get(f"/meetings/{quote(mid)}").get_data(as_text=True)
    assert str(folder) not in page  # never the server's path
    assert f'href="/meetings/{quote(mid)}/source"' in page and ">seed.pdf</a>" in page
    assert "PDF" in page
    assert [int(n) for n in re.findall(r'class="page-marker"><span>第 (\d+) 頁', page)] == [1, 2, 3, 4]
    other = web.get(f"/meetings/{quote(meeting_of(mixed_engine, folder, 'seed.odt'))}").get_data(as_text=True)
    assert "page-marker" not in other and "ODF 文字文件" in other


def test_api_search_and_meeting_carry_page_and_format(mixed, mixed_engine, web):
    hits = web.get("/api/search", query_string={"q": "照案通過"}).get_json()["hits"]
    assert [(h["speaker"], h["page"]) for h in hits] == [("秘書長", 3)]
    txt = web.get("/api/search", query_string={"q": "淨零排碳", "limit": 100}).get_json()["hits"]
    assert all("page" not in h for h in txt if not h["source"].endswith(("pdf", "extension")))
    mid = meeting_of(mixed_engine, mixed[0], "running-headers.pdf")
    meeting = web.get(f"/api/meetings/{quote(mid)}").get_json()
    assert meeting["format"] == "pdf" and [t["page"] for t in meeting["turns"]] == [1, 3]


def test_file_hash_matches_what_was_indexed(mixed, mixed_engine):
    """The download check compares the content hash recorded at indexing time."""
    folder = mixed[0]
    mid = meeting_of(mixed_engine, folder, "seed.html")
    source = mixed_engine.source_file(mid)
    assert hashlib.sha256(source.data).hexdigest() == hashlib.sha256((folder / "seed.html").read_bytes()).hexdigest()
    assert (source.name, source.format, source.media_type) == ("seed.html", "html", "text/html")


def test_rtf_named_doc_is_refused_with_a_reason(tmp_path):
    (tmp_path / "minutes.doc").write_bytes(rb"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}} \f0 Hello}")
    with pytest.raises(TranscriptError) as caught:
        read_transcript(tmp_path / "minutes.doc", meeting_id="m")
    assert caught.value.reason == "not a meeting record: an RTF document, which is not read: save it as .docx or .odt"


def test_odt_saved_from_a_web_page_is_read(tmp_path):
    """LibreOffice marks an .odt saved from a page opened as a web page as ODF ``text-web``; its
    body is an ordinary text document."""
    shutil.copy(OFFICE / "web-page.odt", tmp_path / "minutes")  # no extension: the content decides
    meeting = read_transcript(tmp_path / "minutes", meeting_id="m")
    assert (meeting.format, meeting.title, meeting.chair) == ("odt", "資訊安全小組會議紀錄", "王小明")
    assert [turn.text for turn in meeting.turns] == ["這份紀錄有開啟密碼。"]


@pytest.mark.parametrize("line, is_number", [
    ("3", True), ("- 3 -", True), ("— 12 —", True), ("第 3 頁", True), ("第3頁，共12頁", True),
    ("3/12", True), ("3 / 12", True), ("Page 3 of 12", True), ("共 12 頁，第 3 頁", True),
    ("第3項", False), ("3. 環保議題：", False), ("111年09月05日", False), ("2050淨零", False),
])
def test_page_number_lines(line, is_number):
    from indexer.documents.pdf import _PAGE_NUMBER

    assert bool(_PAGE_NUMBER.match(line)) is is_number


def test_text_output_names_the_page(mixed):
    index = str(mixed[1])
    result = cli("search", "照案通過", "--index", index, "--limit", "1")
    assert re.search(r"\[running-headers #1, page 3\]$", result.stdout.splitlines()[2])
    kwic = cli("kwic", "照案通過", "--index", index).stdout.splitlines()
    assert kwic[1].endswith("running-headers #1, page 3")
    shown = cli("show", "running-headers", "--index", index).stdout
    assert "Format: pdf\n" in shown and "\n[1] 秘書長  (page 3)\n" in shown


def test_office_settings_from_the_environment_and_a_configuration_file(tmp_path):
    from indexer.settings import Settings

    settings = Settings.from_environ({"CIVIC_SEARCH_MAX_UNPACKED_MB": "64", "CIVIC_SEARCH_SOFFICE_TIMEOUT": "30"})
    office = settings.indexing.office
    assert (office.max_unpacked_mb, office.convert_timeout, office.max_pages) == (64.0, 30.0, 2000)
    config = tmp_path / "civic.json"
    config.write_text(json.dumps({"MAX_PAGES": 50, "SOFFICE": "none"}), encoding="utf-8")
    office = Settings.from_environ({"CIVIC_SEARCH_CONFIG": str(config)}).indexing.office
    assert (office.max_pages, office.soffice, office.soffice_path()) == (50, None, None)
    assert Settings.from_environ({"CIVIC_SEARCH_MAX_PAGES": "many"}).indexing.office.max_pages == 2000
