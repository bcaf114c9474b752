"""Persons behind speaker labels: the person list, grouping, the speaker filter, the speakers
ranking, `civic-search people`, `show`, and the person pages, on an index of tests/fixtures/people.

The fixture meetings: a plain-text record whose header names the chair (資訊局 王大明局長) with
主席 and 王局長 turns; two Markdown meetings of a working group where 唐鳳, 吳銘軒, 彭啟明 and
龔明鑫 are written in several ways; and a meeting where 唐院長 and 唐淑華 (not 唐鳳) and 雨蒼
(林雨蒼, who also speaks there) talk.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from indexer.analysis import fold
from indexer.build import build_index
from indexer.cli import main
from indexer.errors import PersonListError
from indexer.people import load_person_list
from indexer.person_views import person_summaries
from indexer.search import SearchEngine
from indexer.settings import PeopleSettings, Settings
from search_web import create_app

PEOPLE_FIXTURES = Path(__file__).parent / "fixtures" / "people"
RECORD = "112年資料治理諮詢會議紀錄"
GROUP_3 = "2021-05-12-開放政府推動小組第3次會議"
GROUP_4 = "2021-08-30-開放政府推動小組第4次會議"
HOSPITAL = "2022-08-22-醫院團隊拜訪"


@pytest.fixture(scope="module")
def people_index(make_index) -> Path:
    return make_index("people", {path.name: path.read_text(encoding="utf-8") for path in PEOPLE_FIXTURES.iterdir()})


@pytest.fixture(scope="module")
def engine(people_index):
    engine = SearchEngine(people_index)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def client(people_index, engine):
    return create_app({"INDEX_DIR": str(people_index), "ENGINE": engine}).test_client()


@pytest.fixture
def run(people_index, monkeypatch):
    monkeypatch.delenv("CIVIC_SEARCH_PEOPLE", raising=False)

    def invoke(*args):
        return CliRunner().invoke(main, [*args, "--index", str(people_index)])

    return invoke


def persons_of(engine, meeting_id: str) -> list[tuple[str, str]]:
    return [(t.speaker, t.person) for t in engine.meeting(meeting_id).turns if t.speaker]


# --- who each label is ----------------------------------------------------------------------------


def test_labels_are_read_into_persons(engine):
    assert persons_of(engine, GROUP_3) == [
        ("唐召集人鳳", "唐鳳"), ("吳委員銘軒", "吳銘軒"), ("彭委員啟明", "彭啟明"), ("龔明鑫召集人", "龔明鑫"),
        # a surname and title is the person of that surname and title in the same meeting
        ("龔召集人", "龔明鑫"), ("臺北市資訊局代表", ""),
    ]
    assert persons_of(engine, GROUP_4) == [
        ("唐鳳共同召集人", "唐鳳"), ("吳銘軒委員", "吳銘軒"), ("彭啟明", "彭啟明"),
        ("龔召集人", ""),  # nobody here has that surname and title: not merged across meetings
    ]


def test_the_same_surname_is_not_the_same_person(engine):
    assert persons_of(engine, HOSPITAL) == [
        ("唐鳳", "唐鳳"), ("唐院長", ""), ("唐淑華", "唐淑華"), ("雨蒼", "林雨蒼"), ("林雨蒼", "林雨蒼")]


def test_the_chair_named_in_the_header_speaks_as_主席(engine, run):
    assert persons_of(engine, RECORD) == [
        ("主席", "王大明"), ("資訊局/張局長", ""), ("王局長", "王大明"), ("主席", "王大明")]
    shown = run("show", RECORD).stdout
    assert "[1] 主席 (王大明)\n" in shown and "[3] 王局長 (王大明)\n" in shown and "[2] 資訊局/張局長\n" in shown
    turns = json.loads(run("show", RECORD, "--json").stdout)["turns"]
    assert [t["person"] for t in turns] == ["", "王大明", "", "王大明", "王大明"]
    found = run("search", "淨零排碳", "--sort", "date").stdout
    assert "  主席 (王大明): 各位委員午安" in found and "  資訊局/張局長: 資料治理" in found


def test_the_seed_records_主席_turns_are_its_chair(tmp_path):
    from indexer.paths import bundled_corpus_dir

    seed = (bundled_corpus_dir() / "000_c33521a9eed413fa.txt").read_text(encoding="utf-8")
    marker = "臺灣智慧城市產業聯盟/井琪會長："
    assert seed.count(marker) == 2
    (tmp_path / "seed.txt").write_text(seed.replace(marker, "主席：\n謝謝各位的分享。\n\n" + marker, 1), encoding="utf-8")
    build_index([tmp_path / "seed.txt"], tmp_path / "ix", workers=1)
    engine = SearchEngine(tmp_path / "ix")
    try:
        record = engine.meeting("seed")
    finally:
        engine.close()
    assert record.chair == "臺北智慧城市專案辦公室 李鎮宇主任"
    assert [(t.speaker, t.person) for t in record.turns if t.speaker == "主席"] == [("主席", "李鎮宇")]


# --- the speaker filter -----------------------------------------------------------------------------


def labels_found(result) -> list[str]:
    return sorted(hit["speaker"] for hit in result["hits"])


def test_speaker_matches_the_person_behind_every_label(engine, run, client):
    library = engine.search("淨零排碳", speaker="吳銘軒", limit=0)
    assert sorted(h.speaker for h in library.hits) == ["吳委員銘軒", "吳銘軒委員"]
    assert {h.person for h in library.hits} == {"吳銘軒"}
    cli = json.loads(run("search", "淨零排碳", "--speaker", "吳銘軒", "--json").stdout)
    api = client.get("/api/search?q=淨零排碳&speaker=吳銘軒").get_json()
    in_query = json.loads(run("search", "淨零排碳 speaker:吳銘軒", "--json").stdout)
    assert labels_found(cli) == labels_found(api) == labels_found(in_query) == ["吳委員銘軒", "吳銘軒委員"]
    page = client.get("/search?q=淨零排碳&speaker=吳銘軒&view=turns").get_data(as_text=True)
    assert "吳委員銘軒" in page and "吳銘軒委員" in page and "2 段發言" in page.replace("</strong>", "").replace("<strong>", "")


def test_speaker_still_matches_a_label_that_names_nobody(engine):
    found = engine.search("speaker:資訊局", limit=0)
    assert sorted((h.speaker, h.person) for h in found.hits) == [("臺北市資訊局代表", ""), ("資訊局/張局長", "")]


def test_speaker_finds_主席_turns_by_the_chairs_name(engine):
    found = engine.search("speaker:王大明", limit=0, sort="date")
    assert [(h.speaker, h.person) for h in found.hits] == [("主席", "王大明"), ("王局長", "王大明"), ("主席", "王大明")]


def test_a_surname_and_title_alone_is_found_only_where_its_meeting_says_who(engine):
    found = engine.search("speaker:龔明鑫", limit=0)
    assert sorted((h.meeting_id, h.speaker) for h in found.hits) == [(GROUP_3, "龔召集人"), (GROUP_3, "龔明鑫召集人")]


# --- the speakers ranking, facets, KWIC and exports -------------------------------------------------


def test_speakers_ranking_has_one_row_per_person(engine, run, client):
    ranked = engine.run("淨零排碳").by_speaker()
    peng = [s for s in ranked if s.person == "彭啟明"]
    assert len(peng) == 1 and peng[0].turns == 2 and peng[0].occurrences == 2
    assert peng[0].labels == [{"label": "彭啟明", "turns": 1}, {"label": "彭委員啟明", "turns": 1}]
    cli = json.loads(run("speakers", "淨零排碳", "--json", "--limit", "0").stdout)
    api = client.get("/api/speakers/ranking?q=淨零排碳&limit=0").get_json()
    assert cli == api
    rows = {s["speaker"]: s for s in cli["speakers"]}
    assert set(rows) == {"吳銘軒", "彭啟明", "唐鳳", "王大明", "資訊局/張局長", "唐院長"}  # the last two: nobody
    assert rows["吳銘軒"]["labels"] == [{"label": "吳委員銘軒", "turns": 1}, {"label": "吳銘軒委員", "turns": 1}]
    assert (rows["唐院長"]["person"], rows["唐院長"]["labels"]) == ("", [{"label": "唐院長", "turns": 1}])
    text = run("speakers", "淨零排碳").stdout
    assert "彭啟明" in text and "彭啟明 · 彭委員啟明" in text and text.count("\n彭") == 1
    page = client.get("/speakers?q=淨零排碳").get_data(as_text=True)
    assert page.count(">彭啟明</a>") == 1 and "彭啟明、彭委員啟明" in page


def test_facets_and_exports_carry_the_person(client):
    facets = client.get("/api/facets?q=淨零排碳").get_json()["speakers"]
    assert {f["speaker"] for f in facets} >= {"吳銘軒", "彭啟明"}
    exported = client.get("/export.csv?q=淨零排碳").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {(r["speaker"], r["person"]) for r in rows} >= {("吳委員銘軒", "吳銘軒"), ("主席", "王大明"), ("唐院長", "")}
    kwic = client.get("/api/kwic?q=淨零排碳").get_json()["rows"]
    assert {(r["speaker"], r["person"]) for r in kwic} == {(r["speaker"], r["person"]) for r in rows}


# --- civic-search people ----------------------------------------------------------------------------


def test_people_lists_persons_with_their_labels(run):
    result = run("people")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "7 persons behind 17 speaker labels"
    assert lines[1].split() == ["person", "turns", "meetings", "first", "last", "labels"]
    assert lines[2].split() == ["唐鳳", "3", "3", "2021-05-12", "2022-08-22", "唐召集人鳳", "(1)", "·", "唐鳳", "(1)",
                                "·", "唐鳳共同召集人", "(1)"]
    assert any(line.split()[:2] == ["王大明", "3"] and "主席 (2)" in line and "王局長 (1)" in line for line in lines)


def test_people_json_csv_and_a_name(run, client):
    data = json.loads(run("people", "--json").stdout)
    assert (data["persons"], data["labels"]) == (7, 17)
    tang = data["people"][0]
    assert tang == {"person": "唐鳳", "turns": 3, "meetings": 3, "first_date": "2021-05-12",
                    "last_date": "2022-08-22",
                    "labels": [{"label": "唐召集人鳳", "turns": 1}, {"label": "唐鳳", "turns": 1},
                               {"label": "唐鳳共同召集人", "turns": 1}],
                    "organisations": [], "titles": ["召集人", "共同召集人"]}
    assert client.get("/api/people").get_json() == data
    named = json.loads(run("people", "唐", "--json").stdout)
    assert [p["person"] for p in named["people"]] == ["唐鳳", "唐淑華"]  # 唐院長 is nobody
    rows = list(csv.DictReader(io.StringIO(run("people", "雨蒼", "--csv").stdout.lstrip("\ufeff"))))
    assert rows == [{"person": "林雨蒼", "turns": "2", "meetings": "1", "first_date": "2022-08-22",
                     "last_date": "2022-08-22", "labels": "林雨蒼 (1) | 雨蒼 (1)", "organisations": "", "titles": ""}]
    assert run("people", "--json", "--csv").exit_code == 2


# --- the person page --------------------------------------------------------------------------------


def test_person_page_json(client, engine):
    data = client.get("/api/people/彭啟明").get_json()
    assert (data["person"], data["turns"], data["meetings"]) == ("彭啟明", 2, 2)
    assert data["timeline"] == [{"period": "2021", "turns": 2, "meetings": 2}]
    assert [m["meeting_id"] for m in data["meeting_list"]] == [GROUP_4, GROUP_3]
    assert data["meeting_list"][0]["link"] == f"http://localhost/meetings/{quote(GROUP_4)}#turn-2"
    assert [t["speaker"] for t in data["turn_list"]] == ["彭啟明", "彭委員啟明"]
    assert (data["page"], data["pages"]) == (1, 1)
    phrases = {p["phrase"]: p for p in data["phrases"]}
    assert "氣象" in phrases
    texts = [fold(t.text) for t in engine.meeting(GROUP_3).turns + engine.meeting(GROUP_4).turns if t.person == "彭啟明"]
    for phrase in phrases.values():  # exact: str.count over the folded texts of every turn of theirs
        folded = fold(phrase["phrase"])
        assert phrase["occurrences"] == sum(t.count(folded) for t in texts)
        assert phrase["turns"] == sum(folded in t for t in texts)


def test_person_page_counts_agree_with_kwic(client):
    for phrase in client.get("/api/people/唐鳳").get_json()["phrases"]:
        kwic = client.get("/api/kwic", query_string={"q": phrase["phrase"], "speaker": "唐鳳"}).get_json()
        assert kwic["occurrences"] == phrase["occurrences"], phrase


def test_person_page_html(client):
    response = client.get("/people/" + quote("王大明"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<h1>王大明</h1>" in text and "主席 <span class=\"muted\">2 段</span>" in text
    assert '<input type="hidden" name="speaker" value="王大明">' in text  # the search box limited to them
    assert f'href="/meetings/{quote(RECORD)}#turn-1"' in text
    assert "timeline-chart" in text


@pytest.mark.parametrize("name", ["nobody", "唐院長", "%20", "a" * 300])
def test_unknown_person_is_a_404(client, name):
    page = client.get("/people/" + quote(name))
    assert page.status_code == 404 and page.mimetype == "text/html"
    api = client.get("/api/people/" + quote(name))
    assert api.status_code == 404 and api.get_json()["ok"] is False


def test_person_names_compare_folded(client):
    assert client.get("/api/people/" + quote("彭啟明")).get_json() == client.get("/api/people/" + quote("彭启明")).get_json()


def test_people_page_lists_and_filters(client):
    text = client.get("/people?q=唐").get_data(as_text=True)
    assert "<strong>2</strong> 位" in text and "/people/%E5%94%90%E9%B3%B3" in text and "唐院長" not in text


# --- the person list ---------------------------------------------------------------------------------


def test_a_person_list_regroups_without_a_rebuild(people_index, tmp_path):
    extra = tmp_path / "people.tsv"
    extra.write_text("# version: 1\n", encoding="utf-8")
    engine = SearchEngine(people_index, settings=Settings(people=PeopleSettings((str(extra),))))
    try:
        assert engine.search("speaker:張局長", limit=0).hits[0].person == ""
        before = {s.person for s in person_summaries(engine)}
        extra.write_text("# version: 1\n張家豪\t資訊局/張局長\n-\t唐淑華\n", encoding="utf-8")
        hit = engine.search("speaker:張局長", limit=0).hits[0]  # not answered from the page cache
        assert (hit.speaker, hit.person) == ("資訊局/張局長", "張家豪")
        assert engine.search("speaker:張家豪", limit=0).total == 1
        after = {s.person for s in person_summaries(engine)}
        assert after == before - {"唐淑華"} | {"張家豪"}
        assert engine.person_list().version.startswith("1+")
    finally:
        engine.close()


@pytest.mark.parametrize("content, reason", [(None, "No such file or directory"), (b"\xff\xfe\x00bad", "not UTF-8 text")])
def test_an_unreadable_person_list_is_one_clear_error(tmp_path, people_index, monkeypatch, content, reason):
    path = tmp_path / "people.tsv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PersonListError, match=f"cannot read person list {path}: {reason}"):
        load_person_list((str(path),))
    monkeypatch.setenv("CIVIC_SEARCH_PEOPLE", str(path))
    for command in (["search", "淨零排碳"], ["people"], ["stats"]):
        result = CliRunner().invoke(main, [*command, "--index", str(people_index)])
        assert (result.exit_code, result.stderr) == (1, f"Error: cannot read person list {path}: {reason}\n")


def test_the_bundled_list_is_versioned():
    table = load_person_list()
    assert table.version == "1" and table.lookup("audrey tang") == "唐鳳"


# --- the shared corpus ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(shared_index):
    engine = SearchEngine(shared_index)
    app = create_app({"INDEX_DIR": str(shared_index), "ENGINE": engine})
    yield engine, app.test_client(), shared_index
    engine.close()


@pytest.mark.corpus
def test_corpus_speaker_finds_every_way_of_writing_吳銘軒(shared):
    engine, client, index = shared
    found = engine.search("speaker:吳銘軒", limit=0)
    by_label: dict[str, int] = {}
    for hit in found.hits:
        by_label[hit.speaker] = by_label.get(hit.speaker, 0) + 1
    assert by_label == {"吳委員銘軒": 7, "吳銘軒委員": 18, "吳銘軒": 7}
    assert {hit.person for hit in found.hits} == {"吳銘軒"}
    cli = json.loads(CliRunner().invoke(main, ["search", "speaker:吳銘軒", "--limit", "0", "--json",
                                               "--index", str(index)]).stdout)
    api = client.get("/api/search?q=speaker:吳銘軒&limit=100").get_json()
    assert cli["total"] == api["total"] == found.total == 32


@pytest.mark.corpus
def test_corpus_speakers_has_one_row_for_彭啟明(shared):
    engine, client, index = shared
    cli = json.loads(CliRunner().invoke(main, ["speakers", "淨零", "--limit", "0", "--json",
                                               "--index", str(index)]).stdout)
    rows = [s for s in cli["speakers"] if "彭" in s["speaker"] and "啟明" in s["speaker"]]
    assert [r["speaker"] for r in rows] == ["彭啟明"]
    assert {entry["label"] for entry in rows[0]["labels"]} == {"彭啟明", "彭委員啟明", "彭啟明委員", "彭啟明共同召集人"}
    assert client.get("/api/speakers/ranking?q=淨零&limit=0").get_json() == cli
    page = client.get("/speakers?q=淨零").get_data(as_text=True)
    assert page.count(">彭啟明</a>") == 1
    person = client.get("/api/people/彭啟明").get_json()
    assert person["turns"] == 68 and len(person["labels"]) == 4


@pytest.mark.corpus
def test_corpus_checked_labels_occur_where_the_list_says(shared_corpus):
    """Each row of the hand-checked list names a meeting of the corpus (or the sample record) that
    holds the label, and for labels whose person depends on their meeting, the meeting's other
    labels and title as written in the row."""
    from indexer.label_check import load_checked_labels
    from indexer.transcripts import read_transcript

    checked = 0
    for row in load_checked_labels(Path(__file__).parent / "data" / "speaker_labels.tsv"):
        if row.meeting.startswith("("):
            continue  # constructed from the sample record's header: said so in the row
        if row.meeting == "000_c33521a9eed413fa":
            from indexer.paths import bundled_corpus_dir

            path = bundled_corpus_dir() / "000_c33521a9eed413fa.txt"
        else:
            path = shared_corpus / "audreyt-transcript" / f"{row.meeting}.md"
        meeting = read_transcript(path, meeting_id=row.meeting)
        labels = {t.speaker for t in meeting.turns if t.speaker}
        assert row.label in labels, (row.label, row.meeting)
        if row.other_labels:
            assert set(row.other_labels) == labels - {row.label}, row.label
            assert row.meeting_title == meeting.title and row.chair == meeting.chair, row.label
        checked += 1
    assert checked >= 120


def test_the_web_app_reads_the_person_list_from_its_settings(people_index, tmp_path, monkeypatch):
    from search_web.helpers import EXTENSION

    extra = tmp_path / "people.tsv"
    extra.write_text("# version: 2\n張家豪\t資訊局/張局長\n", encoding="utf-8")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"INDEX_DIR": str(people_index), "PEOPLE": [str(extra)]}), encoding="utf-8")
    monkeypatch.setenv("CIVIC_SEARCH_PEOPLE", str(extra))
    from_environment = create_app({"INDEX_DIR": str(people_index)})
    monkeypatch.delenv("CIVIC_SEARCH_PEOPLE")
    from_file = create_app({"CONFIG_FILE": str(config)})
    try:
        for app in (from_environment, from_file):
            person = app.test_client().get("/api/people/張家豪").get_json()
            assert person["labels"] == [{"label": "資訊局/張局長", "turns": 1}]
    finally:
        for app in (from_environment, from_file):
            app.extensions[EXTENSION].close()
