"""Bad files in the corpus folder (issue #5, part 2).

Whatever staff drop into the folder, each file is either indexed (read leniently where that is
right: a few damaged bytes) or reported with its path and a one-line reason; the other files
are indexed; meeting ids never collide; no turn is lost or duplicated.

Tests run as root here and in CI, where ``chmod 000`` does not stop reading. Unreadable files
are simulated instead: ``os.open``/``open`` raise PermissionError for one path (the errno
path a real EACCES takes), a FIFO named like a transcript, a folder named like one, a dangling
symlink, a symlink loop, and files deleted while the run is going.
"""

from __future__ import annotations

import errno
import html
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indexer.build
import indexer.writing
from indexer.build import build_index
from indexer.cli import main
from indexer.markdown_format import strip_inline
from indexer.search import SearchEngine
from indexer.settings import ENV_MAX_FILE_MB as MAX_FILE_ENV
from indexer.settings import IndexingSettings, Settings
from indexer.transcripts import clean_text, parse_transcript, read_transcript

from conftest import INDEX_FIXTURES
from hardening import assert_no_traceback, squash, write_transcript

REPO = Path(__file__).resolve().parent.parent
GOOD = sorted(p.name for p in INDEX_FIXTURES.iterdir())

DAMAGED = "# 2021-01-01 壞位元組\n\n### 甲：\n前面的話".encode() + b"\xff\xfe\x80" + "後面的話繼續說。\n".encode()
DAMAGED_LONG = (
    "# 2021-01-02 少數壞位元組\n\n### 乙：\n".encode()
    + "這是一段很長的發言，".encode() * 200
    + b"\xc3\x28"
    + "結尾仍然可以搜尋到。\n".encode()
)
#: file name → the start of the reason it is skipped with
SKIPPED = {
    "binary.md": "binary data",
    "scan.txt": "damaged PDF",  # a PDF by its content, whatever its name says
    "empty.md": "empty file",
    "blank.txt": "empty file",
    "no-speaker.md": "no speaker turns",
    "dangling.md": "cannot read file (No such file or directory)",
}
#: relative path → a phrase only that file says (all must be indexed, each under its own id)
INDEXED = {
    "damaged.md": "後面的話",
    "damaged-long.md": "結尾仍然可以搜尋到",
    "會議.md/2024-02-02-資料夾裡.md": "資料夾裡的發言",  # a folder named like a transcript
    "a/2024-01-01-同名.md": "甲資料夾的同名檔",  # the same name in two folders
    "b/2024-01-01-同名.md": "乙資料夾的同名檔",
    "2024-03-03 同 名.md": "空白檔名",  # two names with the same meeting id stem
    "2024-03-03-同-名.md": "連字號檔名",
    "2024-04-04-x.md": "副檔名md",  # same stem, two extensions
    "2024-04-04-x.txt": "副檔名txt",
}


def make_bad_corpus(folder: Path) -> Path:
    for name in GOOD:
        shutil.copy(INDEX_FIXTURES / name, folder / name)
    (folder / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000))
    (folder / "scan.txt").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nstream\n" + bytes(range(256)) * 8)
    (folder / "empty.md").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b" \r\n\t\n\xe3\x80\x80\n")
    write_transcript(folder, "no-speaker.md", "# 2020-01-01 沒有發言\n\n> （只有引言）\n\n## 議題\n\n---\n")
    (folder / "dangling.md").symlink_to(folder / "does-not-exist.md")
    (folder / "README.md").write_text("documentation, not a transcript", encoding="utf-8")
    (folder / "damaged.md").write_bytes(DAMAGED)
    (folder / "damaged-long.md").write_bytes(DAMAGED_LONG)
    for relative, phrase in INDEXED.items():
        if relative.startswith("damaged"):
            continue
        if relative.endswith(".txt"):
            text = f"副檔名測試\n日期\t113年04月04日\n王主席：\n{phrase}。\n"
        else:
            text = f"# 2024-01-01 測試\n\n### 甲：\n{phrase}。\n"
        write_transcript(folder, relative, text)
    return folder


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    folder = make_bad_corpus(tmp_path_factory.mktemp("bad-corpus"))
    index_dir = tmp_path_factory.mktemp("bad-index")
    seen = []
    report = build_index([folder], index_dir, workers=1, on_skip=seen.append)
    engine = SearchEngine(index_dir)
    yield folder, report, seen, engine
    engine.close()


@pytest.mark.parametrize("name, reason", sorted(SKIPPED.items()))
def test_bad_file_is_reported_with_path_and_reason(bad_run, name, reason):
    folder, report, seen, _ = bad_run
    (item,) = [s for s in report.skipped if Path(s.path).name == name]
    assert item.path == str(folder / name)
    assert item.reason.startswith(reason) and "\n" not in item.reason
    assert item in seen  # reported as it happened, too


def test_only_the_bad_files_are_skipped(bad_run):
    _, report, _, engine = bad_run
    assert sorted(Path(s.path).name for s in report.skipped) == sorted(SKIPPED)
    assert report.added == len(GOOD) + len(INDEXED)
    assert engine.stats().meetings == len(GOOD) + len(INDEXED)
    assert f"skipped {len(SKIPPED)} files" in report.summary()


@pytest.mark.parametrize("relative, phrase", sorted(INDEXED.items()))
def test_each_file_is_indexed_under_its_own_id(bad_run, relative, phrase):
    folder, _, _, engine = bad_run
    (hit,) = engine.search(phrase, limit=0).hits
    assert hit.source == str(folder / relative)
    ids = {h.meeting_id for phrase in INDEXED.values() for h in engine.search(phrase, limit=0).hits}
    assert len(ids) == len(INDEXED)  # never a collision


def test_good_files_keep_every_turn(bad_run):
    folder, _, _, engine = bad_run
    for name in GOOD:
        expected = read_transcript(folder / name, meeting_id="x").turns
        record = engine.meeting(Path(name).stem)
        assert [(t.speaker, t.text) for t in record.turns] == [(t.speaker, t.text) for t in expected]


def test_damaged_utf8_is_read_leniently(bad_run):
    """A few invalid bytes in a UTF-8 file become U+FFFD; the speech around them is kept."""
    _, _, _, engine = bad_run
    (before,) = engine.search("前面的話", limit=0).hits
    (after,) = engine.search("後面的話", limit=0).hits
    assert (before.meeting_id, before.turn) == (after.meeting_id, after.turn) == ("damaged", 0)
    assert engine.meeting("damaged").turns[0].text == "前面的話\ufffd後面的話繼續說。"
    assert engine.search("這是一段很長的發言", limit=0).total == 1


def test_cli_reports_each_skipped_file_on_stderr(bad_run, tmp_path):
    folder = bad_run[0]
    result = subprocess.run(
        [sys.executable, "-m", "indexer", "index", str(folder), "--index", str(tmp_path / "ix")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert sorted(lines) == sorted(f"skipped {folder / name}: {reason}" for name, reason in _reasons(bad_run))
    assert result.stdout.startswith(f"Indexed {len(GOOD) + len(INDEXED)} new and 0 changed meetings")
    assert f"; skipped {len(SKIPPED)} files" in result.stdout
    strict = subprocess.run(
        [sys.executable, "-m", "indexer", "index", str(folder), "--index", str(tmp_path / "ix"), "--strict"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert strict.returncode == 1
    assert strict.stderr.splitlines()[-1] == f"Error: {len(SKIPPED)} files could not be indexed (--strict)"
    assert_no_traceback(strict.stderr)


def _reasons(bad_run):
    return [(Path(s.path).name, s.reason) for s in bad_run[1].skipped]


# --- unreadable files, simulated (the tests run as root) -------------------------------------------


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(INDEX_FIXTURES / name, folder / name)
    return folder


def test_unreadable_file_is_reported(small_corpus, tmp_path, monkeypatch):
    """EACCES on open (what chmod 000 gives a normal user), simulated for one path."""
    locked = write_transcript(small_corpus, "2024-05-05-鎖住.md", "# 2024-05-05 鎖住\n\n### 甲：\n看不到\n")
    real_os_open, real_open = os.open, open

    def denied(path):
        if os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def fake_os_open(path, *args, **kwargs):
        denied(path)
        return real_os_open(path, *args, **kwargs)

    def fake_open(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)):
            denied(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr("builtins.open", fake_open)
    report = build_index([small_corpus], tmp_path / "ix", workers=1)
    monkeypatch.undo()
    assert [(s.path, s.reason) for s in report.skipped] == [(str(locked), "cannot read file (Permission denied)")]
    assert report.added == len(GOOD)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_chmod_000_file_is_reported(small_corpus, tmp_path):
    locked = write_transcript(small_corpus, "2024-05-05-鎖住.md", "# 2024-05-05 鎖住\n\n### 甲：\n看不到\n")
    locked.chmod(0)
    report = build_index([small_corpus], tmp_path / "ix", workers=1)
    assert [(s.path, s.reason) for s in report.skipped] == [(str(locked), "cannot read file (Permission denied)")]


def test_folder_named_like_a_transcript_given_directly(small_corpus, tmp_path):
    folder = small_corpus / "2024-06-06-看起來像檔案.md"
    write_transcript(folder, "2024-06-06-內容.md", "# 2024-06-06 內容\n\n### 甲：\n資料夾裡\n")
    report = build_index([folder], tmp_path / "ix", workers=1)
    assert (report.added, report.skipped) == (1, [])


@pytest.mark.parametrize("when", ["after-scan", "while-reading"])
def test_file_deleted_during_the_run(small_corpus, tmp_path, monkeypatch, when):
    doomed = write_transcript(small_corpus, "zz-2024-07-07-會被刪除.md", "# 2024-07-07 刪\n\n### 甲：\n消失的發言\n")
    if when == "after-scan":
        real_scan = indexer.build.scan

        def scan_then_delete(paths):
            found = real_scan(paths)
            doomed.unlink()
            return found

        monkeypatch.setattr(indexer.build, "scan", scan_then_delete)
    else:
        real_read = indexer.writing.read_transcript

        def delete_a_later_file(path, **kwargs):
            if doomed.exists():
                doomed.unlink()
            return real_read(path, **kwargs)

        monkeypatch.setattr(indexer.writing, "read_transcript", delete_a_later_file)
    report = build_index([small_corpus], tmp_path / "ix", workers=1)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(doomed), "cannot read file (No such file or directory)")
    ]
    assert report.added == len(GOOD)
    monkeypatch.undo()
    again = build_index([small_corpus], tmp_path / "ix", workers=1)
    assert not again.changed and not again.skipped


def _unblock_fifo_after(fifo: Path, delay: float, done: threading.Event, unblocked: list) -> threading.Thread:
    """If someone still has ``fifo`` open for reading after ``delay`` seconds (a blocked
    indexer), open it for writing and close it, so the reader sees end of file."""

    def run():
        if done.wait(delay):
            return
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                done.wait(0.05)
                continue
            unblocked.append(True)
            os.close(fd)
            return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_fifo_named_like_a_transcript_is_reported_without_blocking(small_corpus, tmp_path):
    fifo = small_corpus / "2024-08-08-管道.md"
    os.mkfifo(fifo)
    done, unblocked = threading.Event(), []
    thread = _unblock_fifo_after(fifo, 3.0, done, unblocked)
    try:
        report = build_index([small_corpus], tmp_path / "ix", workers=1)
    finally:
        done.set()
        thread.join()
    assert [(s.path, s.reason) for s in report.skipped] == [
        (str(fifo), "not a regular file (a FIFO, socket or device)")
    ]
    assert not unblocked, "the indexer blocked on the FIFO until the test wrote to it"


def test_read_transcript_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "管道.md"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match=r"not a regular file \(a FIFO, socket or device\)"):
        read_transcript(fifo, meeting_id="x")


def test_symlink_loop_is_reported(small_corpus, tmp_path):
    (small_corpus / "loop-a.md").symlink_to(small_corpus / "loop-b.md")
    (small_corpus / "loop-b.md").symlink_to(small_corpus / "loop-a.md")
    (small_corpus / "folder-loop").symlink_to(small_corpus)  # a folder loop: not followed
    report = build_index([small_corpus], tmp_path / "ix", workers=1)
    assert sorted((Path(s.path).name, s.reason) for s in report.skipped) == [
        ("loop-a.md", "cannot read file (Too many levels of symbolic links)"),
        ("loop-b.md", "cannot read file (Too many levels of symbolic links)"),
    ]
    assert report.added == len(GOOD)


def test_file_name_that_is_not_utf8(small_corpus, tmp_path):
    raw_name = "2022-01-01-會議紀錄.md".encode("cp950")
    with open(os.path.join(os.fsencode(small_corpus), raw_name), "wb") as handle:
        handle.write("# 2022-01-01 會議\n\n### 甲：\n檔名是大五碼\n".encode())
    report = build_index([small_corpus], tmp_path / "ix", workers=1)
    assert report.added == len(GOOD) + 1 and not report.skipped
    engine = SearchEngine(tmp_path / "ix")
    try:
        (hit,) = engine.search("大五碼", limit=0).hits
        hit.meeting_id.encode("utf-8")
        assert hit.source.endswith("2022-01-01-會議紀錄.md")
    finally:
        engine.close()


@pytest.mark.parametrize("drop", ["empty-folder", "only-bad-files"])
def test_first_run_with_nothing_to_index_gives_an_empty_index(tmp_path, drop):
    from search_web import create_app

    folder = tmp_path / "drop"
    folder.mkdir()
    if drop == "only-bad-files":
        (folder / "empty.md").write_bytes(b"")
        (folder / "binary.md").write_bytes(b"\x00\x01" * 100)
    report = build_index([folder], tmp_path / "ix", workers=1)
    assert report.added == 0 and len(report.skipped) == (2 if drop == "only-bad-files" else 0)
    engine = SearchEngine(tmp_path / "ix")
    try:
        assert engine.search("青年").total == 0 and engine.stats().meetings == 0
        client = create_app({"INDEX_DIR": str(tmp_path / "ix"), "ENGINE": engine}).test_client()
        assert [client.get(url).status_code for url in ("/", "/search?q=x", "/api/search?q=x", "/healthz")] == [200] * 4
    finally:
        engine.close()


def test_control_characters_in_a_file_name_stay_out_of_the_meeting_id(small_corpus, tmp_path):
    from search_web import create_app

    write_transcript(small_corpus, "2024-01-01-\x1b[31m紅\x01.md", "# 2024-01-01 控制\n\n### 甲：\n控制字元檔名\n")
    build_index([small_corpus], tmp_path / "ix", workers=1)
    engine = SearchEngine(tmp_path / "ix")
    try:
        (hit,) = engine.search("控制字元檔名").hits
        assert not re.search("[\x00-\x1f\x7f-\x9f]", hit.meeting_id), repr(hit.meeting_id)
        client = create_app({"INDEX_DIR": str(tmp_path / "ix"), "ENGINE": engine}).test_client()
        assert client.get("/meetings/" + quote(hit.meeting_id, safe="")).status_code == 200
    finally:
        engine.close()


def test_symlink_to_a_transcript_is_indexed_once(small_corpus, tmp_path):
    target = small_corpus / GOOD[-1]
    (small_corpus / "alias.md").symlink_to(target)
    build_index([small_corpus], tmp_path / "ix", workers=1)
    target.write_text(target.read_text(encoding="utf-8") + "\n### 新講者：\n新增的發言\n", encoding="utf-8")
    build_index([small_corpus], tmp_path / "ix", workers=1)
    engine = SearchEngine(tmp_path / "ix")
    try:
        turns = len(read_transcript(target, meeting_id="x").turns)
        assert engine.stats().turns == sum(len(read_transcript(small_corpus / n, meeting_id="x").turns) for n in GOOD)
        assert engine.search("新增的發言", limit=0).total == 1
        assert len(engine.meeting(engine.search("新增的發言").hits[0].meeting_id).turns) == turns
    finally:
        engine.close()


# --- a 50 MB file ----------------------------------------------------------------------------------

PEAK_RSS = """
import resource, runpy, sys
sys.argv = ["civic-search", "index", *sys.argv[1:]]
try:
    runpy.run_module("indexer", run_name="__main__")
except SystemExit as exit:
    code = exit.code
peak = max(resource.getrusage(r).ru_maxrss for r in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(f"PEAK_RSS_KB {peak}", file=sys.stderr)
sys.exit(code)
"""


def test_50_mb_file_is_refused_with_a_reason_and_little_memory(small_corpus, tmp_path):
    big = small_corpus / "2024-09-09-巨大的檔案.md"
    chunk = "### 甲：\n" + "我們今天討論開放政府與淨零排碳的推動進度，請各位發言。" * 20 + "\n\n"
    block = chunk.encode() * 64
    with open(big, "wb") as handle:
        handle.write("# 2024-09-09 巨大的檔案\n\n".encode())
        while handle.tell() < 50 * 2**20:
            handle.write(block)
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(small_corpus), "--index", str(tmp_path / "ix"), "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"skipped {big}: file too large (50.0 MB; the limit is 20 MB, set {MAX_FILE_ENV}")
    peak_mb = int(lines[-1].split()[1]) / 1024
    print(f"peak RSS while refusing a 50 MB file: {peak_mb:.0f} MB")
    assert peak_mb < 400
    assert result.stdout.startswith(f"Indexed {len(GOOD)} new")


def test_size_limit_is_configurable(tmp_path, monkeypatch):
    path = write_transcript(tmp_path, "2024-01-01-小.md", "# 2024-01-01 小\n\n### 甲：\n" + "字" * 2000 + "\n")
    limit = Settings.from_environ({MAX_FILE_ENV: "0.001"}, overrides={"INDEX_DIR": tmp_path}).indexing.max_file_mb
    with pytest.raises(Exception, match=r"file too large \(0\.0 MB; the limit is 0\.001 MB"):
        read_transcript(path, meeting_id="x", max_file_mb=limit)
    # A value that is not a positive number is ignored: the default applies.
    for ignored in ("not a number", "0", "-1"):
        limit = IndexingSettings.from_environ({MAX_FILE_ENV: ignored}).max_file_mb
        assert limit == IndexingSettings().max_file_mb == 20
        assert len(read_transcript(path, meeting_id="x", max_file_mb=limit).turns) == 1
    # The command line reads the variable.
    result = CliRunner().invoke(main, ["index", str(path), "--index", str(tmp_path / "ix"), "-q"],
                                env={MAX_FILE_ENV: "0.001"})
    assert f"{path.name}: file too large (0.0 MB; the limit is 0.001 MB" in result.stderr


# --- properties of the parser ----------------------------------------------------------------------

NAMES = st.sampled_from(["x.md", "2022-01-01-x.md", "x.txt", "111年01月01日.txt", "README.markdown"])
PIECES = [
    "\n", "### ", "## ", "# ", "：", ":", "> ", "---", ":::", "<br>", "<p>", "</p>", "\t", "<", ">",
    "[a](b)", "**", "`", "&lt;", "&amp;", "一、", "？", "。", "日期", "111年09月05日",
    "臺北市資訊局/呂新科局長：", "甲", "乙", " ", "\r", "\u00a0", "\ufeff", "2022-01-01", "(", "（",
    "）", "\x00", "\x85", "\u2028", "\u3000", "\udcff",
]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.text(), st.lists(st.sampled_from(PIECES), max_size=40).map("".join)), NAMES)
def test_parser_never_crashes(text, name):
    meeting, turns = parse_transcript(text, name=name)
    assert set(meeting) == {"title", "date", "time", "location", "chair", "recorder"}
    assert [t.turn for t in turns] == list(range(len(turns)))
    for turn in turns:
        assert turn.text and turn.text == clean_text(turn.text)  # no empty, blank or raw text
        assert "\n" not in turn.speaker and "\n" not in turn.section
        (turn.text + turn.speaker + turn.section).encode("utf-8")
    for value in meeting.values():
        assert "\n" not in value
        value.encode("utf-8")


# Markdown: a speech line is any line of a "### 甲：" body that the format does not reserve
# (">" context, "#" headings, "---" rules, ":::" fences). Its speech text is the line after the
# documented cleaning: inline markup removed (strip_inline), then clean_text. Property: the
# turns' lines are exactly the speech lines of the input, in order: none lost, none duplicated.
_RESERVED = re.compile(r"^ {0,3}(?:#|>)|^:::|^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
SPEECH_LINE = st.text(
    st.characters(exclude_categories=("Cs", "Zl", "Zp"), exclude_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85"),
    min_size=1, max_size=30,
).filter(lambda line: not _RESERVED.match(line))
LABEL = st.text(st.sampled_from("甲乙丙丁唐鳳李明 ()（）ABé"), min_size=1, max_size=8).filter(
    lambda s: s.strip() and not s.strip().endswith(("：", ":"))
)
BLOCK = st.tuples(
    LABEL, st.sampled_from(["：", ":", ""]),
    st.lists(st.one_of(SPEECH_LINE, st.just(""), st.just("> （中場休息）"), st.just("<br>")), max_size=5),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(BLOCK, min_size=1, max_size=6))
def test_markdown_speech_text_is_never_lost(blocks):
    doc = "# 2022-01-01 標題\n\n" + "".join(
        f"### {label}{colon}\n" + "".join(line + "\n" for line in lines) for label, colon, lines in blocks
    )
    _, turns = parse_transcript(doc, name="2022-01-01-x.md")
    got = [line for turn in turns for line in turn.text.split("\n")]
    expected = [
        piece
        for _, _, lines in blocks
        for line in lines
        if not line.startswith(">")
        for piece in clean_text(strip_inline(line)).split("\n")
        if piece
    ]
    assert got == expected
    plain = [line.strip() for _, _, lines in blocks for line in lines if line.strip() and not re.search(r"[<>\[&*_`>]", line)]
    joined = "\n".join(got)
    for line in plain:  # lines without markup characters are kept as written
        assert " ".join(line.split()).replace("\u00a0", " ") in joined.replace("\u00a0", " ") or clean_text(line) in joined


# Records: generated record-shaped input (title lines, a header table, speaker lines such as
# "臺北市資訊局/呂新科局長：", speech paragraphs, blank lines, HTML remnants). Speech text: every
# paragraph that is not a speaker line (does not end with a colon once its tags are removed:
# "的：<b>" is a speaker line), tags removed and entities decoded. Page-break joins glue paragraphs without a separator, so the property compares the
# concatenated speech with whitespace removed: nothing lost, nothing added, in order.
CJK = "的是在我們這個政府資料開放會議討論城市淨零排碳市民參與預算"
PARA_PIECES = st.sampled_from(list(CJK) + list("，、0123456789AZaz ()（）「」：:/.-") + ["1. ", "一、", "&amp;", "<b>", "\t"])
PARAGRAPH = st.tuples(
    st.lists(PARA_PIECES, min_size=1, max_size=40).map("".join), st.sampled_from(["", "。", "？", "！", "；", "…"])
).map("".join).filter(lambda p: p.strip() and not p.replace("<b>", "").rstrip().endswith(("：", ":")))
SPEAKER_LINE = st.tuples(
    st.sampled_from(["臺北市資訊局/呂新科局長", "主席", "王小明", "臺灣智慧城市產業聯盟/井琪會長", "市民A"]),
    st.sampled_from(["：", ":"]),
).map("".join)
ITEM = st.one_of(
    st.tuples(st.just("speaker"), SPEAKER_LINE), st.tuples(st.just("speech"), PARAGRAPH),
    st.tuples(st.just("blank"), st.sampled_from(["", " ", "\t"])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ITEM, min_size=1, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_record_speech_text_is_never_lost(items, newline):
    header = ["測試會議", "會議紀錄", "日期\t111年09月05日\t時間\t10:30", "地點\t市政大樓\t紀錄\t某人", "主席\t王主席"]
    first = [] if items[0][0] == "speaker" else ["主席："]
    doc = newline.join(header + first + [value for _, value in items]) + newline
    meeting, turns = parse_transcript(doc.replace("\r\n", "\n"), name="x.txt")
    speech = "".join(value.replace("<b>", "") for kind, value in items if kind == "speech")
    assert squash("".join(t.text for t in turns)) == squash(html.unescape(speech))
    assert (meeting["date"], meeting["time"]) == ("2022-09-05", "10:30")
