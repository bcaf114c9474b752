import pytest

from indexer.analysis import fold
from indexer.errors import MeetingNotFound, QueryError

SAMPLE = "000_c33521a9eed413fa"
MEETING_2021 = "2021-03-02-開放政府第-50-次協作會議"
MEETING_2023 = "2023-05-10-智慧城市與淨零座談"


def turns(page):
    return {(h.meeting_id, h.turn) for h in page.hits}


def test_sample_meeting_hits_for_net_zero(engine):
    page = engine.search("淨零排碳", limit=0)
    sample = [h for h in page.hits if h.meeting_id == SAMPLE]
    assert sample and all(h.date == "2022-09-05" for h in sample)
    assert "臺北市資訊局/呂新科局長" in {h.speaker for h in sample}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("台北", "臺北"),
        ("臺北", "台北"),
        ("净零", "淨零"),
        ("ＡＩ", "AI"),
        ("ai", "ＡＩ"),
        ("第5次", "第５次"),
        ("数位部", "數位部"),
    ],
)
def test_folding_finds_other_spellings(engine, query, expected):
    hits = engine.search(query, limit=0).hits
    texts = [engine.meeting(h.meeting_id).turns[h.turn].text for h in hits]
    assert any(expected in t for t in texts), (query, texts)


def test_phrase_is_exact_not_word_and(engine):
    # Turn 0 of the 2021 meeting says 淨零排放 … 碳排放 but never 淨零排碳.
    page = engine.search("淨零排碳", limit=0)
    assert (MEETING_2021, 0) not in turns(page)
    assert (MEETING_2021, 3) in turns(page)
    assert all("<mark>淨零排碳</mark>" in h.snippet or "<mark>" in h.snippet for h in page.hits)


def test_totals_count_turns_and_meetings(engine):
    page = engine.search("淨零排碳", limit=1)
    assert page.total == 4
    assert page.meetings == 3
    assert len(page.hits) == 1


def test_pagination_covers_all_hits_once(engine):
    everything = engine.search("開放政府", limit=0)
    pages = [engine.search("開放政府", limit=2, page=p) for p in range(1, 5)]
    seen = [(h.meeting_id, h.turn) for p in pages for h in p.hits]
    assert seen == [(h.meeting_id, h.turn) for h in everything.hits]
    assert engine.search("開放政府", limit=2, page=99).hits == []


def test_same_query_same_order(engine):
    first = engine.search("政府", limit=0).to_dict()
    assert engine.search("政府", limit=0).to_dict() == first


def test_ranking_prefers_more_occurrences(engine):
    hits = engine.search("淨零排碳", limit=0).hits
    # The 2023 turn says it twice in a short turn: it ranks first.
    assert (hits[0].meeting_id, hits[0].turn) == (MEETING_2023, 0)


def test_sort_by_date_newest_first(engine):
    hits = engine.search("開放政府", limit=0, sort="date").hits
    dates = [h.date for h in hits]
    assert dates == sorted(dates, reverse=True)


def test_or_and_not(engine):
    either = turns(engine.search("PoC OR 逐字稿", limit=0))
    assert (MEETING_2023, 2) in either
    assert ("2019-11-20-青年諮詢委員會", 1) in either
    without = turns(engine.search("淨零 -排放", limit=0))
    assert (MEETING_2021, 0) not in without
    assert (MEETING_2023, 0) in without


def test_quoted_phrase_matches_spaces_as_written(engine):
    assert turns(engine.search('"開放 政府"', limit=0)) == {("2019-11-20-青年諮詢委員會", 2)}


def test_speaker_field_and_option(engine):
    by_field = turns(engine.search("speaker:唐鳳 開放政府", limit=0))
    by_option = turns(engine.search("開放政府", speaker="唐鳳", limit=0))
    assert by_field == by_option == {(MEETING_2021, 0), (MEETING_2023, 3)}


def test_organisation_is_part_of_the_speaker_label(engine):
    hits = engine.search("speaker:資訊局 淨零排碳", limit=0).hits
    assert {h.meeting_id for h in hits} == {SAMPLE, MEETING_2023}


def test_title_field(engine):
    page = engine.search("title:協作會議 淨零", limit=0)
    assert {h.meeting_id for h in page.hits} == {MEETING_2021}


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"since": "2022"}, {SAMPLE, MEETING_2023}),
        ({"until": "2021-12"}, {MEETING_2021}),
        ({"since": "2022-01-01", "until": "2022-12-31"}, {SAMPLE}),
    ],
)
def test_date_options(engine, kwargs, expected):
    hits = engine.search("淨零", limit=0, **kwargs).hits
    assert {h.meeting_id for h in hits} == expected


def test_date_field_range(engine):
    hits = engine.search("date:2021..2022 淨零", limit=0).hits
    assert {h.meeting_id for h in hits} == {SAMPLE, MEETING_2021}


def test_snippet_marks_whole_terms_and_escapes(engine):
    hit = engine.search("<script>", limit=1).hits[0]
    assert "<mark>&lt;script&gt;</mark>alert(1)&lt;/script&gt;" in hit.snippet
    assert "<script>" not in hit.snippet


def test_snippet_shows_original_spelling(engine):
    hit = engine.search("台北通", limit=1).hits[0]
    assert "<mark>台北通</mark>" in hit.snippet
    hit = engine.search("臺北通", limit=1).hits[0]
    assert "<mark>台北通</mark>" in hit.snippet


def test_filter_only_query(engine):
    page = engine.search("speaker:王大同", limit=0)
    assert page.total == 1 and page.hits[0].meeting_id == MEETING_2023


def test_bad_options_raise_query_error(engine):
    with pytest.raises(QueryError):
        engine.search("x", page=0)
    with pytest.raises(QueryError):
        engine.search("x", limit=-1)
    with pytest.raises(QueryError):
        engine.search("x", sort="alphabet")
    with pytest.raises(QueryError):
        engine.search("x", since="2023", until="2021")


def test_meeting_record(engine):
    meeting = engine.meeting(SAMPLE)
    assert meeting.date == "2022-09-05"
    assert meeting.time == "10:30"
    assert [t.turn for t in meeting.turns] == list(range(len(meeting.turns)))
    assert meeting.to_dict()["turns"][0].keys() == {"turn", "speaker", "person", "section", "text"}
    with pytest.raises(MeetingNotFound):
        engine.meeting("no-such-meeting")


def test_stats(engine):
    stats = engine.stats()
    assert stats.meetings == 4
    assert stats.first_date == "2019-11-20" and stats.last_date == "2023-05-10"


def test_result_set_counts(engine):
    result = engine.run("淨零排碳")
    years = {p.period: (p.turns, p.meetings, p.occurrences) for p in result.by_period("year")}
    # The sample record: nine times in 呂新科's second answer, once in 井琪's; the 2023 turn
    # twice; the 2021 meeting once.
    assert years == {"2021": (1, 1, 1), "2022": (2, 1, 10), "2023": (1, 1, 2)}
    occurrences = result.occurrences(width=5)
    assert len(occurrences) == 13
    assert all(fold(o.match) == fold("淨零排碳") for o in occurrences)
    speakers = result.by_speaker()
    assert speakers[0].occurrences >= speakers[-1].occurrences


def test_grouped_results(engine):
    grouped = engine.run("淨零").grouped(limit=2, per_meeting=1)
    assert grouped.meetings == 3 and len(grouped.groups) == 2
    assert all(len(g.hits) == 1 for g in grouped.groups)
    assert sum(g.count for g in engine.run("淨零").grouped(limit=0).groups) == grouped.total


def test_speaker_suggestions(engine):
    # Most frequent first: 李小明 has two turns, 呂新科 one.
    assert engine.speaker_labels("資訊局") == ["李小明（台北市政府資訊局）", "臺北市資訊局/呂新科局長"]


def test_repeated_page_comes_from_the_cache(engine):
    first = engine.search("開放政府", limit=3)
    assert engine.search("開放政府", limit=3) is first
    assert engine.search("開放政府", limit=3, page=2) is not first


@pytest.fixture(scope="module")
def ranking_engine(tmp_path_factory):
    from indexer.build import build_index
    from indexer.search import SearchEngine

    corpus = tmp_path_factory.mktemp("ranking")
    (corpus / "2020-01-01-預算審查會議.md").write_text(
        "# 2020-01-01 預算審查會議\n\n### 甲：\n今天討論預算的分配。\n", encoding="utf-8"
    )
    (corpus / "2020-01-02-例行會議.md").write_text(
        "# 2020-01-02 例行會議\n\n### 乙：\n今天討論預算的分配。\n\n"
        "### 丙：\n預算、預算，還是預算。\n\n"
        "### 丁：\n關於預算，我們先聽取各單位在過去一年裡執行計畫的經驗，再回頭檢討整體的方向與做法。\n",
        encoding="utf-8",
    )
    index = tmp_path_factory.mktemp("ranking-index")
    build_index([corpus], index, workers=1)
    engine = SearchEngine(index)
    yield engine
    engine.close()


def test_ranking_more_occurrences_shorter_turns_and_titles(ranking_engine):
    hits = ranking_engine.search("預算", limit=0).hits
    order = [(h.meeting_id, h.speaker) for h in hits]
    # 丙 says it three times; 甲 and 乙 say the same words, but 甲's meeting title has the term;
    # 丁 says it once in a long turn.
    assert order == [
        ("2020-01-02-例行會議", "丙"),
        ("2020-01-01-預算審查會議", "甲"),
        ("2020-01-02-例行會議", "乙"),
        ("2020-01-02-例行會議", "丁"),
    ]
