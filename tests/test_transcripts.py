"""Tests for indexer.transcripts, indexer.markdown_format and indexer.record_format."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.record_format import parse_date, parse_time
from indexer.transcripts import (Meeting, TranscriptError, Turn, decode_transcript,
                                 parse_transcript, read_transcript, split_speaker)

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "corpus" / "000_c33521a9eed413fa.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "transcripts"
CORPUS = Path(os.environ.get("CIVIC_SEARCH_CORPUS", REPO.parent / "shared" / "corpus"))

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_BAD_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_FIELDS = ("title", "date", "time", "location", "chair", "recorder")


def read(path: Path | str, **kwargs) -> Meeting:
    return read_transcript(path, meeting_id="m", **kwargs)


def assert_clean_turns(turns) -> None:
    """The guarantees every parsed turn gives, whatever the format."""
    assert [t.turn for t in turns] == list(range(len(turns)))
    for t in turns:
        assert isinstance(t, Turn)
        assert t.text and t.text == t.text.strip()
        assert not _BAD_CONTROLS.search(t.text), repr(t.text)
        assert "\u00a0" not in t.text and "\n\n" not in t.text
        assert not t.speaker.endswith(("：", ":"))


# ---------------------------------------------------------------------------------------
# The plain-text sample record

@pytest.fixture(scope="module")
def sample() -> Meeting:
    return read(SAMPLE)


def test_sample_meeting_fields(sample: Meeting) -> None:
    assert sample.meeting_id == "m"
    assert sample.title == "臺北城市博覽會舞台活動 智慧城市產業座談會 會談紀錄"
    assert sample.date == "2022-09-05"
    assert sample.time == "10:30"
    assert sample.location.startswith("台北市中山區玉門街1號")
    assert sample.chair == "臺北智慧城市專案辦公室 李鎮宇主任"
    assert "彭滢旨" in sample.recorder
    assert sample.source == str(SAMPLE)
    assert sample.content_hash == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert_clean_turns(sample.turns)


def test_sample_speakers_in_order(sample: Meeting) -> None:
    spoken = [(t.speaker_name, t.organisation) for t in sample.turns if t.speaker]
    assert spoken == [
        ("呂新科局長", "臺北市資訊局"), ("井琪會長", "臺灣智慧城市產業聯盟"),
        ("詹文男博士", "數位轉型學院共同創辦人暨院長"),
    ] * 2
    assert sample.turns[1].speaker == "臺北市資訊局/呂新科局長"


def test_sample_questions_are_sections_and_turns(sample: Meeting) -> None:
    q1 = "一、目前城市智慧化發展已十餘年，我們預見下個十年的智慧城市是什麼？"
    q2 = "二、淨零環保的智慧城市是全球的脈動，我們要如何因應這個趨勢?政府該做什麼?產業該做什麼?"
    assert [t.section for t in sample.turns] == [q1] * 4 + [q2] * 4
    questions = [t for t in sample.turns if not t.speaker]
    assert [(t.turn, t.text) for t in questions] == [(0, q1), (4, q2)]


def test_sample_page_break_joins(sample: Meeting) -> None:
    by_name = {}
    for t in sample.turns:
        by_name.setdefault(t.speaker_name, []).append(t.text)
    assert any("歸納的知識，希望" in text for text in by_name["詹文男博士"])
    assert any("產業與民間建立" in text for text in by_name["呂新科局長"])
    # List items and "3. 環保議題：" stay separate paragraphs, not joined or speakers.
    assert "3. 環保議題：\n- (1)電價合理化首要" in sample.turns[7].text


def test_sample_no_markup_left(sample: Meeting) -> None:
    for t in sample.turns:
        assert not _TAG.search(t.text), t.text[:80]
        assert "list-style-type" not in t.text


def test_sample_search_phrase(sample: Meeting) -> None:
    speakers = {t.speaker_name for t in sample.turns if "淨零排碳" in t.text}
    assert {"呂新科局長", "井琪會長"} <= speakers


# ---------------------------------------------------------------------------------------
# Encodings: copies of the sample made in tmp_path

def _as_comparable(meeting: Meeting) -> tuple:
    return tuple(getattr(meeting, f) for f in _FIELDS), meeting.turns


@pytest.mark.parametrize("encoding, line_end", [
    ("big5hkscs", "\n"),       # Big5 with HKSCS: has 滢 (the recorder's name)
    ("utf-16", "\n"),          # with BOM
    ("utf-16-le", "\n"),       # no BOM: NULs on one byte parity only
    ("utf-8-sig", "\r\n"),
    ("utf-8", "\r"),
])
def test_sample_encodings(tmp_path: Path, sample: Meeting, encoding: str, line_end: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("\n", line_end)
    copy = tmp_path / SAMPLE.name
    copy.write_bytes(text.encode(encoding))
    assert _as_comparable(read(copy)) == _as_comparable(sample)


def test_sample_cp950(tmp_path: Path) -> None:
    # 滢 is not in CP950: compare against a UTF-8 copy with the same substitution.
    text = SAMPLE.read_text(encoding="utf-8").replace("滢", "瀅")
    (tmp_path / "utf8").mkdir()
    (tmp_path / "utf8" / SAMPLE.name).write_text(text, encoding="utf-8")
    (tmp_path / SAMPLE.name).write_bytes(text.replace("\n", "\r\n").encode("cp950"))
    converted = read(tmp_path / SAMPLE.name)
    assert _as_comparable(converted) == _as_comparable(read(tmp_path / "utf8" / SAMPLE.name))
    assert converted.recorder.endswith("彭瀅旨")


@pytest.mark.parametrize("text", ["### 主席：\n好。\n", "# 2020-01-01 測試\n\n### 主席：\n好。\n",
                                  "會議紀錄\n日期\t111年9月5日\n"])
def test_decode_short_big5(text: str) -> None:
    # Short texts are where unrestricted detectors answer Korean or Cyrillic code pages.
    assert decode_transcript(text.encode("cp950")) == text


def test_decode_crlf_and_bom() -> None:
    assert decode_transcript("\ufeffa\r\nb\rc\n".encode("utf-8")) == "a\nb\nc\n"


def test_invalid_bytes_in_utf8_are_read_leniently(tmp_path: Path, sample: Meeting) -> None:
    data = SAMPLE.read_bytes()
    cut = data.index("淨零推動決心".encode("utf-8"))
    damaged = tmp_path / "damaged.txt"
    damaged.write_bytes(data[:cut] + b"\xa4\xff" + data[cut:])
    meeting = read(damaged)
    assert [getattr(meeting, f) for f in _FIELDS] == [getattr(sample, f) for f in _FIELDS]
    assert "\ufffd淨零推動決心" in meeting.turns[2].text
    assert len(meeting.turns) == len(sample.turns)


# ---------------------------------------------------------------------------------------
# Markdown fixtures

def fixture(name: str) -> Meeting:
    return read(FIXTURES / name)


@pytest.mark.parametrize("name, title, date", [
    ("2021-10-05-開放政府第-101-次協作會議.md", "開放政府第 101 次協作會議", "2021-10-05"),
    ("2017-04-21-開放政府聯絡人第四次協作會議.md", "開放政府聯絡人第四次協作會議", "2017-04-21"),
    ("2016-02-04-公共政策網路參與平臺座談會.md",
     "「公共政策網路參與平臺公民參與情形調查研究」座談會", "2016-02-04"),
    ("2016-05-04-律師法修法諮詢會議.md", "《律師法》修法諮詢會議", "2016-05-04"),
    ("2016-06-14-第二階段第一次工作會議.md", "第二階段第一次工作會議會議紀錄", "2016-06-14"),
    ("無標題的-逐字稿.md", "無標題的 逐字稿", ""),
    ("2019-11-15-HTML-與實體.md", "HTML & 實體", "2019-11-15"),
])
def test_markdown_title_and_date(name: str, title: str, date: str) -> None:
    meeting = fixture(name)
    assert (meeting.title, meeting.date) == (title, date)
    assert (meeting.time, meeting.location, meeting.chair, meeting.recorder) == ("",) * 4
    assert_clean_turns(meeting.turns)


@pytest.mark.parametrize("name, speakers", [
    ("2020-01-02-半形冒號.md",
     ["唐鳳", "張馨文", "Richard Haddock (何立德)", "【行政院農業委員會林務局新竹林管處補充說明】"]),
    ("2022-06-06-開放政府第-126-次協作公聽會.md", ["空保處代表：許平和薦任科員", "科長：邱俊雄", "主席"]),
    ("2021-10-05-開放政府第-101-次協作會議.md",
     ["", "陳依婕 (中央健康保險署)", "唐鳳", "高振傑（台灣臨床心理學會）", "唐鳳"]),
])
def test_markdown_speaker_labels(name: str, speakers: list[str]) -> None:
    assert [t.speaker for t in fixture(name).turns] == speakers


def test_markdown_speech_on_heading_line() -> None:
    last = fixture("2022-06-06-開放政府第-126-次協作公聽會.md").turns[-1]
    assert last.text == "好，我們開始今天的會議，請各位依序發言。\n第二行。"


def test_markdown_merge_quotes_sections_and_preamble() -> None:
    turns = fixture("2021-10-05-開放政府第-101-次協作會議.md").turns
    assert turns[0].text == "各位好，會議即將開始，請大家就座。"  # text before the first speaker
    assert turns[1].text.split("\n") == [  # three headings of one speaker: one turn
        "各位與會者大家好，歡迎大家今天來到「心理諮商及心理治療納入健保」連署的協作會議。",
        "第二段：請參考健保署網站的說明。", "第三段，影片播完了。"]
    assert (turns[1].speaker_name, turns[1].organisation) == ("陳依婕", "中央健康保險署")
    assert [t.section for t in turns] == ["", "", "", "一、議題討論", "一、議題討論"]
    assert turns[4].text == "好。\n（與會者皆無意見）那我們就這樣。"  # merged across "---"
    everything = "\n".join(t.text for t in turns)
    for context in ("播放影片", "簡報參考", "工作會議結論", "https://", "---"):
        assert context not in everything


def test_markdown_html_entities_links() -> None:
    turns = fixture("2019-11-15-HTML-與實體.md").turns
    assert turns[0].text == "撿起這殘破\n來給我帶上\n看見「萬物聯網」，我們將智慧聯網。"
    assert turns[1].text.split("\n") == [
        '共筆APP<etherpad>與 "引號"、A & B、A & C、文字。',
        "請不要執行 <script>alert(1)</script> 這段。"]  # escaped markup stays text
    assert turns[2].text.split("\n") == [
        "粗體與多元宇宙，註解1，網址 https://g0v.tw/。", "圖片：示意圖與結束。",
        "連結 audreyt.eth 與 g0v 與 前後空白。", "- 項目一", "- 項目二"]
    assert all("iframe" not in t.text for t in turns)


def test_markdown_nbsp_becomes_space() -> None:
    assert fixture("2017-04-21-開放政府聯絡人第四次協作會議.md").turns[0].text == "不換行空格 之後的文字。"


@pytest.mark.parametrize("text, name, first_speaker", [
    ("### 唐鳳：\n你好。\n", "notes.txt", "唐鳳"),  # speaker headings make it Markdown
    ("主席：\n你好。\n", "notes.markdown", ""),     # the name makes it Markdown
    ("主席：\n你好。\n", "notes.txt", "主席"),       # otherwise a plain-text record
])
def test_format_dispatch(text: str, name: str, first_speaker: str) -> None:
    _, turns = parse_transcript(text, name=name)
    assert turns[0].speaker == first_speaker


def test_control_characters_and_tabs() -> None:
    text = "# 2020-01-01 t\n\n### 唐鳳：\n一\t二\x07三\x85四\ufeff五　六\n"
    _, turns = parse_transcript(text, name="x.md")
    assert turns[0].text == "一 二三四五　六"  # U+3000 kept as written


# ---------------------------------------------------------------------------------------
# Plain-text record variants

def test_record_variants() -> None:
    meeting = fixture("民國會議紀錄.txt")
    assert [getattr(meeting, f) for f in _FIELDS] == [
        "測試市政府 資料治理諮詢會議紀錄", "2023-03-07", "14:30", "市政大樓 N206 會議室",
        "王大明 副市長", "李小華"]
    assert [(t.speaker, t.section) for t in meeting.turns] == [
        ("", "壹、主席致詞"), ("主席", "壹、主席致詞"), ("資訊局/張局長", "壹、主席致詞")]
    assert meeting.turns[1].text.split("\n") == [
        "各位委員午安，今天討論資料開放的議題，請大家踴躍發言。", "說明如下：", "1. 第一點。", "2. 第二點。"]


def test_record_without_title_lines() -> None:
    text = "會議名稱\t資料開放會議\n時間\t112年3月7日 上午10時\n\n主席：\n開會。\n"
    fields, turns = parse_transcript(text, name="r.txt")
    assert (fields["title"], fields["date"], fields["time"]) == ("資料開放會議", "2023-03-07", "10:00")
    assert [(t.speaker, t.text) for t in turns] == [("主席", "開會。")]
    fields, _ = parse_transcript("主席：\n開會。\n", name="2023-03-08-r.txt")
    assert (fields["title"], fields["date"]) == ("2023-03-08-r", "2023-03-08")


@pytest.mark.parametrize("text", ["111年09月05日", "民國111年9月5日", "111/09/05", "111.9.5",
                                  "2022-09-05", "2022年9月5日", "111 年 9 月 5 日（星期一）"])
def test_parse_date(text: str) -> None:
    assert parse_date(text) == "2022-09-05"


@pytest.mark.parametrize("text, expected", [
    ("10:30", "10:30"), ("上午9時30分", "09:30"), ("下午2時", "14:00"), ("14：00-16：00", "14:00"),
    ("111年09月05日 10時30分", "10:30"), ("如簽到表", ""),
])
def test_parse_time(text: str, expected: str) -> None:
    assert parse_time(text) == expected


# ---------------------------------------------------------------------------------------
# Speaker labels

@pytest.mark.parametrize("label, expected", [
    ("臺北市資訊局/呂新科局長", ("呂新科局長", "臺北市資訊局")),
    ("陳依婕 (中央健康保險署)", ("陳依婕", "中央健康保險署")),
    ("高振傑（台灣臨床心理學會）", ("高振傑", "台灣臨床心理學會")),
    ("空保處代表：許平和薦任科員", ("許平和薦任科員", "空保處代表")),
    ("國發會（Daniel Chiu）", ("Daniel Chiu", "國發會")),
    ("唐鳳", ("唐鳳", "")),
    ("Richard Haddock (何立德)", ("Richard Haddock (何立德)", "")),
    ("石怡佳(司儀)", ("石怡佳(司儀)", "")),
    ("經濟部(補充說明)", ("經濟部(補充說明)", "")),
    ("行政院環保署廢棄物管理處賴瑩瑩處長", ("行政院環保署廢棄物管理處賴瑩瑩處長", "")),
])
def test_split_speaker(label: str, expected: tuple[str, str]) -> None:
    assert split_speaker(label) == expected


# ---------------------------------------------------------------------------------------
# Errors

@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "empty"),
    ("blank.md", b" \n\r\n\t\n", "empty"),
    ("bom-only.txt", "\ufeff".encode("utf-16"), "empty"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "binary"),
    ("controls.txt", bytes(range(1, 9)) * 50, "binary"),
    ("no-turns.md", (FIXTURES / "2020-01-01-沒有發言.md").read_bytes(), "no speaker turns"),
])
def test_errors(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(TranscriptError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)
    assert info.value.path == str(path) and reason in info.value.reason


def test_error_uses_source_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError) as info:
        read(tmp_path / "missing.md", source="corpus/missing.md")
    assert str(info.value).startswith("corpus/missing.md: cannot read file")
    with pytest.raises(TranscriptError, match="binary"):
        decode_transcript(b"abc\x00\x00\x01def", "x.bin")


def test_error_pickles() -> None:
    import pickle
    error = pickle.loads(pickle.dumps(TranscriptError("a/b.md", "empty file")))
    assert (error.path, error.reason, str(error)) == ("a/b.md", "empty file", "a/b.md: empty file")


def test_source_is_kept(tmp_path: Path) -> None:
    assert read(SAMPLE, source="corpus/sample.txt").source == "corpus/sample.txt"


def test_turns_are_frozen(sample: Meeting) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.turns[0].text = "x"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------
# Robustness: arbitrary text never crashes and always gives clean turns

_PIECES = st.sampled_from(["### 唐鳳：", "### ", "## 一、議題", "# 2020-01-01 標題", "> 引言", "\t",
                           "<p>", "</p>", "<br>", "&lt;", "&amp;", "[a](http://b)", "主席：", "一、問題？",
                           "日期\t111年9月5日", "。", "\n", "\n\n", "\r\n", "\x00", "\x85", "\u00a0",
                           "　", "文字", "text"])


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=30),
       name=st.sampled_from(["a.md", "b.txt", "2020-01-01-c.md"]))
def test_parse_never_crashes(pieces: list[str], name: str) -> None:
    fields, turns = parse_transcript("".join(pieces), name=name)
    assert set(fields) == set(_FIELDS)
    assert_clean_turns(turns)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_decode_arbitrary_bytes(data: bytes) -> None:
    try:
        text = decode_transcript(data, "x.bin")
    except TranscriptError as exc:
        assert str(exc).startswith("x.bin: ")
    else:
        assert "\r" not in text


# ---------------------------------------------------------------------------------------
# The shared corpus, when present

@pytest.mark.corpus
def test_shared_corpus_parses() -> None:
    files = sorted(CORPUS.glob("**/*.md"))
    files = [f for f in files if f.name not in ("SOURCES.md", "README.md")]
    if not files:
        pytest.skip(f"shared corpus not found at {CORPUS} (set CIVIC_SEARCH_CORPUS)")
    problems = []
    for path in files:
        try:
            meeting = read(path)
        except TranscriptError as exc:
            problems.append(str(exc))
            continue
        if not meeting.date or not meeting.turns:
            problems.append(f"{path}: no date or no turns")
        for t in meeting.turns:
            for bad in ("<br", "&quot;", "](http"):
                if bad in t.text:
                    problems.append(f"{path}: turn {t.turn} contains {bad!r}")
    assert not problems, "\n".join(problems[:20])
