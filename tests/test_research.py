"""Research tools: keyword in context, timeline, speakers, query explanation, aliases (library,
CLI and web), and the dictionary version that forces a rebuild."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from indexer import aliases as alias_module
from indexer.aliases import AliasError, AliasTable, alias_version, expand_tree, load_aliases
from indexer.analysis import fold
from indexer.explain import char_changes, explain, render_tree
from indexer.query import And, Field, Not, Or, Text, parse_query
from indexer.research import occurrence_page, occurrence_rows, timeline
from indexer.terminal import bar_chart, columns, display_width, kwic_lines
from indexer.cli import main
from indexer.settings import Settings
from search_web import create_app

RECORD_ID = "000_c33521a9eed413fa"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def no_user_aliases(monkeypatch):
    monkeypatch.delenv("CIVIC_SEARCH_ALIASES", raising=False)


# --- aliases: the list ----------------------------------------------------------------------------


def test_bundled_alias_list_is_versioned_and_well_formed(no_user_aliases):
    path = alias_module.bundled_aliases_path()
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    assert first == "# version: 1\n"
    assert alias_version() == "1"
    table = load_aliases()
    assert table.sources[0].version == "1" and table.sources[0].groups == len(table.groups) > 20
    for group in table.groups:
        folded = [fold(t) for t in group]
        assert len(set(folded)) == len(folded) >= 2, group
        for a in folded:
            for b in folded:
                # A term inside another of its group would count one mention twice.
                assert a == b or a not in b, group


@pytest.mark.parametrize(
    "term, expected",
    [
        ("數位部", ["數位部", "數位發展部"]),
        ("数位发展部", ["数位发展部", "數位部"]),
        ("北市府", ["北市府", "臺北市政府"]),
        ("台北市政府", ["台北市政府", "北市府"]),
        ("TAIPEIPASS", ["TAIPEIPASS", "台北通"]),
        ("健保署", ["健保署", "中央健康保險署", "健保局", "中央健康保險局"]),
        ("國發會", ["國發會", "國家發展委員會"]),
        ("環保署", ["環保署", "環境保護署", "環境部"]),
        ("數位部長", ["數位部長"]),
        ("淨零", ["淨零"]),
    ],
)
def test_expand_whole_terms_by_folded_form(no_user_aliases, term, expected):
    assert load_aliases().expand(term) == expected


def test_expand_tree_replaces_text_nodes_keeping_positions(no_user_aliases):
    tree = parse_query('淨零 數位部 -北市府 speaker:數位部 "台北通"')
    assert expand_tree(tree) == And(
        (
            Text("淨零", 1),
            Or((Text("數位部", 4), Text("數位發展部", 4))),
            Not(Or((Text("北市府", 9), Text("臺北市政府", 9))), 8),
            Field("speaker", "數位部", 13),
            Or((Text("台北通", 25, quoted=True), Text("TaipeiPass", 25, quoted=True))),
        )
    )


def test_expand_tree_flattens_or_and_drops_repeats(no_user_aliases):
    tree = parse_query("數位部 OR 數位發展部 OR 國發會")
    assert expand_tree(tree) == Or(
        (Text("數位部", 1), Text("數位發展部", 1), Text("國發會", 17), Text("國家發展委員會", 17))
    )
    assert expand_tree(parse_query("淨零")) == Text("淨零", 1)


def test_user_alias_files_extend_and_merge(tmp_path, monkeypatch):
    extra = tmp_path / "mine.tsv"
    extra.write_text("\ufeff# version: 7\n數位部\tMODA\n線上討論\t網路討論\n\n單獨一個\n", encoding="utf-8")
    files = Settings.from_environ({"CIVIC_SEARCH_ALIASES": str(extra)}, overrides={"INDEX_DIR": tmp_path}).query.alias_files
    assert files == (str(extra),)
    table = load_aliases(files)
    assert table.expand("moda") == ["moda", "數位部", "數位發展部"]
    assert table.expand("網路討論") == ["網路討論", "線上討論"]
    assert table.sources[-1].version == "7" and table.sources[-1].groups == 2
    assert re.fullmatch(r"1\+[0-9a-f]{8}", alias_version(files))
    # Editing the file takes effect on the next lookup (no restart, no re-index).
    extra.write_text("數位部\tMODA\tmoda部\n", encoding="utf-8")
    assert load_aliases(files).expand("MODA") == ["MODA", "數位部", "數位發展部", "moda部"]


def test_unreadable_user_alias_file_is_a_named_error(tmp_path):
    files = [str(tmp_path / "missing.tsv")]
    with pytest.raises(AliasError, match="cannot read alias file .*missing.tsv"):
        load_aliases(files)
    assert alias_version(files).startswith("1+")  # stats still works


def test_alias_table_merges_groups_sharing_a_term():
    table = AliasTable.from_groups([["A", "B"], ["C", "D"], ["b", "C"]])
    assert table.groups == (("A", "B", "C", "D"),)


# --- explanation ----------------------------------------------------------------------------------


def test_char_changes_name_the_reasons():
    changes = {c.original: (c.folded, c.reasons) for c in char_changes("臺北ＡＩ 第５次\u3000Ab①淨")}
    assert changes == {
        "臺": ("台", ["variant"]),
        "Ａ": ("a", ["width", "case"]),
        "Ｉ": ("i", ["width", "case"]),
        "５": ("5", ["width"]),
        "\u3000": (" ", ["space"]),
        "A": ("a", ["case"]),
        "①": ("1", ["compatibility"]),
        "淨": ("净", ["variant"]),
    }


def test_explain_reads_terms_fields_dates_and_structure(no_user_aliases):
    expl = explain('臺北 (淨零 OR "開放 政府") -排放 speaker:唐鳳 date:2021..2022-06', since="2020", speaker="主席")
    assert expl.structure == (
        '臺北 AND (淨零 OR "開放 政府") AND NOT 排放 AND speaker:唐鳳 AND date:2021-01-01..2022-06-30 '
        "AND speaker:主席 AND date:2020-01-01.."
    )
    assert [(t.text, t.folded, t.quoted, t.excluded) for t in expl.terms] == [
        ("臺北", "台北", False, False),
        ("淨零", "净零", False, False),
        ("開放 政府", "开放 政府", True, False),
        ("排放", "排放", False, True),
    ]
    assert [t.words for t in expl.terms] == [["台北"], ["净零"], ["开放", "政府"], ["排放"]]
    assert [(f.name, f.value, f.folded, f.source) for f in expl.fields] == [
        ("speaker", "唐鳳", "唐凤", "query"),
        ("speaker", "主席", "主席", "option"),
    ]
    assert [(d.since, d.until, d.source) for d in expl.dates] == [
        ("2021-01-01", "2022-06-30", "query"),
        ("2020-01-01", None, "option"),
    ]
    assert expl.aliases is False and expl.expanded == "" and expl.expansions == []
    data = json.loads(json.dumps(expl.to_dict(), ensure_ascii=False))
    assert data["terms"][0]["changes"] == [{"original": "臺", "folded": "台", "reasons": ["variant"]}]


def test_explain_shows_alias_expansions_even_when_off(no_user_aliases):
    off = explain("數位部 -北市府")
    assert off.expansions == [
        {"term": "數位部", "terms": ["數位部", "數位發展部"]},
        {"term": "北市府", "terms": ["北市府", "臺北市政府"]},
    ]
    assert off.expanded == "" and off.terms[0].aliases == ["數位部", "數位發展部"]
    on = explain("數位部 -北市府", aliases=True)
    assert on.expanded == "(數位部 OR 數位發展部) AND NOT (北市府 OR 臺北市政府)"
    assert on.alias_version == "1"


def test_render_tree_resolves_dates():
    assert render_tree(parse_query("date:2022-09-05 x")) == "date:2022-09-05 AND x"
    assert render_tree(parse_query("x date:..2020")) == "x AND date:..2020-12-31"


# --- library: occurrences, periods ----------------------------------------------------------------


def test_occurrence_rows_one_per_occurrence(engine):
    result_set = engine.run("淨零排碳")
    rows = occurrence_rows(result_set, width=5)
    expected = sum(fold(engine.meeting(r.meeting_id).turns[r.turn].text).count(fold("淨零排碳")) for r in result_set.page(limit=0).hits)
    assert len(rows) == expected == 13
    assert {r["match"] for r in rows} == {"淨零排碳"}
    # "page" only for paged formats (PDF): none in this index
    assert list(rows[0]) == ["meeting_id", "title", "date", "speaker", "person", "turn", "left", "match", "right", "link"]
    assert (rows[0]["speaker"], rows[0]["person"]) == ("李小明（台北市政府資訊局）", "李小明")


@pytest.mark.parametrize("start, limit", [(0, 5), (3, 4), (9, 100), (12, 1), (13, 5)])
def test_occurrence_page_is_a_slice_of_all_rows(engine, start, limit):
    result_set = engine.run("淨零排碳")
    everything = occurrence_rows(result_set, width=8)
    page = occurrence_page(result_set, width=8, start=start, limit=limit)
    assert page.rows == everything[start : start + limit]
    assert (page.occurrences, page.turns, page.meetings) == (13, 4, 3)


def test_timeline_fills_empty_periods(engine):
    periods = timeline(engine.run("開放政府"), "year")
    assert [(p.period, p.occurrences, p.meetings) for p in periods] == [
        ("2019", 1, 1), ("2020", 0, 0), ("2021", 1, 1), ("2022", 0, 0), ("2023", 1, 1),
    ]
    months = timeline(engine.run("淨零", since="2022"), "month")
    assert [p.period for p in months] == [f"2022-{m:02d}" for m in range(9, 13)] + [f"2023-{m:02d}" for m in range(1, 6)]


# --- terminal formatting --------------------------------------------------------------------------


def test_display_width_counts_wide_characters_twice():
    assert display_width("臺北ＡＩ ai") == 11
    assert display_width("e\u0301\u200b") == 1
    assert columns([["名稱", "1"], ["ab", "100"]], "lr") == ["名稱    1", "ab    100"]


def test_kwic_lines_align_the_matches():
    rows = [
        {"date": "2023-05-10", "left": "台北的", "match": "淨零", "right": "路徑", "speaker": "甲", "meeting_id": "m1", "turn": 0},
        {"date": "", "left": "AI and 第5次", "match": "ＡＩ", "right": "x\ty", "speaker": "", "meeting_id": "m2", "turn": 12},
    ]
    lines = kwic_lines(rows)
    assert lines == [
        "2023-05-10        台北的 淨零 路徑  甲            m1 #0",
        "(no date)   AI and 第5次 ＡＩ x y   (no speaker)  m2 #12",
    ]
    assert {display_width(line[: line.index(r["match"])]) for line, r in zip(lines, rows)} == {25}


def test_bar_chart_scales_to_the_busiest_period():
    from indexer.results import PeriodCount

    lines = bar_chart([PeriodCount("2021", 1, 1, 1), PeriodCount("2022", 3, 1, 80), PeriodCount("unknown", 1, 1, 0)], 8)
    assert lines == [
        "period     mentions  occurrences  meetings",
        "2021       █                   1         1",
        "2022       ████████           80         1",
        "(no date)                      0         1",
    ]


# --- CLI ------------------------------------------------------------------------------------------


def test_kwic(cli):
    result = cli("kwic", "台北通", "--width", "6")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "4 occurrences in 2 turns, 2 meetings\n"
        "2023-05-10  城市的核心， 台北通 會整合服務。  李小明（台北市政府資訊局）  2023-05-10-智慧城市與淨零座談 #0\n"
        "2022-09-05  市政府目前由 台北通 內建免書證免  臺北市資訊局/呂新科局長     000_c33521a9eed413fa #1\n"
        "2022-09-05  府方向發展， 台北通 內已有30多    臺北市資訊局/呂新科局長     000_c33521a9eed413fa #1\n"
        "2022-09-05  些服務尚未在 台北通 應用。 以智   臺北市資訊局/呂新科局長     000_c33521a9eed413fa #1\n"
    )
    assert result.stderr == ""


def test_kwic_filters_and_aliases(cli):
    assert cli("kwic", "開放政府", "--width", "5", "--speaker", "唐鳳").stdout == (
        "2 occurrences in 2 turns, 2 meetings\n"
        "2023-05-10  部會協助， 開放政府 是共同的方  唐鳳  2023-05-10-智慧城市與淨零座談 #3\n"
        "2021-03-02  ，歡迎來到 開放政府 第 50       唐鳳  2021-03-02-開放政府第-50-次協作會議 #0\n"
    )
    assert cli("kwic", "開放政府", "--width", "5", "--aliases").stdout == (
        "4 occurrences in 4 turns, 3 meetings\n"
        "2023-05-10  部會協助， 開放政府        是共同的方  唐鳳    2023-05-10-智慧城市與淨零座談 #3\n"
        "2021-03-02  ，歡迎來到 開放政府        第 50       唐鳳    2021-03-02-開放政府第-50-次協作會議 #0\n"
        "2019-11-20    青年參與 開放政府        的管道還不  張委員  2019-11-20-青年諮詢委員會 #0\n"
        "2019-11-20   在英文是  Open Government 。          張委員  2019-11-20-青年諮詢委員會 #2\n"
    )
    assert cli("kwic", "開放政府", "--since", "2022", "--until", "2022").stdout == "0 occurrences in 0 turns, 0 meetings\n"


def test_kwic_colour_keeps_alignment(index_dir):
    result = CliRunner().invoke(main, ["kwic", "淨零排碳", "--index", str(index_dir)], color=True)
    lines = result.stdout.splitlines()[1:]
    assert all("\x1b[31m\x1b[1m淨零排碳\x1b[0m" in line for line in lines)
    columns_of_match = {display_width(ANSI.sub("", line.split("\x1b[")[0])) for line in lines}
    assert len(lines) == 13 and len(columns_of_match) == 1


def test_kwic_csv_one_row_per_occurrence(cli):
    result = cli("kwic", "淨零排碳", "--csv", "--width", "4")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "\ufeffmeeting_id,title,date,speaker,person,turn,page,left,match,right,link"
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert len(rows) == 13
    assert rows[0] == {
        "meeting_id": "2023-05-10-智慧城市與淨零座談",
        "title": "智慧城市與淨零座談",
        "date": "2023-05-10",
        "speaker": "李小明（台北市政府資訊局）",
        "person": "李小明",
        "turn": "0",
        "page": "",
        "left": "台北的",
        "match": "淨零排碳",
        "right": "路徑需要",
        "link": "/meetings/2023-05-10-%E6%99%BA%E6%85%A7%E5%9F%8E%E5%B8%82%E8%88%87%E6%B7%A8%E9%9B%B6%E5%BA%A7%E8%AB%87?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3#turn-0",
    }
    assert [r["turn"] for r in rows].count("5") == 9


def test_kwic_json(cli):
    data = json.loads(cli("kwic", "台北通", "--json", "--width", "3").stdout)
    assert list(data) == ["query", "occurrences", "turns", "meetings", "width", "rows"]
    assert (data["query"], data["occurrences"], data["turns"], data["meetings"], data["width"]) == ("台北通", 4, 2, 2, 3)
    assert data["rows"][0]["left"] == "核心，" and data["rows"][0]["right"] == "會整合"


def test_kwic_options_are_validated(cli):
    assert cli("kwic", "x", "--width", "0").exit_code == 2
    assert cli("kwic", "x", "--csv", "--json").exit_code == 2
    bad = cli("kwic", '"淨零')
    assert bad.exit_code == 1
    assert bad.stderr == "Error: invalid query: unbalanced quote: the phrase is never closed at position 1\n"


def test_kwic_filter_only_query_says_why_there_is_nothing(cli):
    result = cli("kwic", "speaker:唐鳳")
    assert result.stdout == "0 occurrences in 0 turns, 0 meetings\n"
    assert "only filters" in result.stderr


def test_timeline(cli):
    result = cli("timeline", "開放政府")
    assert result.exit_code == 0
    assert result.stdout == (
        "3 occurrences in 3 meetings, per year\n"
        "period  mentions                                  occurrences  meetings\n"
        "2019    ████████████████████████████████████████            1         1\n"
        "2020                                                        0         0\n"
        "2021    ████████████████████████████████████████            1         1\n"
        "2022                                                        0         0\n"
        "2023    ████████████████████████████████████████            1         1\n"
    )


def test_timeline_by_month(cli):
    result = cli("timeline", "淨零", "--by", "month", "--since", "2022")
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "16 occurrences in 2 meetings, per month",
        "period   mentions                                  occurrences  meetings",
        "2022-09  ████████████████████████████████████████           14         1",
    ]
    assert lines[-1] == "2023-05  ██████                                              2         1"
    assert len(lines) == 2 + 9


def test_timeline_json(cli):
    data = json.loads(cli("timeline", "淨零排碳", "--json").stdout)
    assert data == {
        "query": "淨零排碳",
        "by": "year",
        "total": 4,
        "meetings": 3,
        "occurrences": 13,
        "periods": [
            {"period": "2021", "occurrences": 1, "meetings": 1, "turns": 1},
            {"period": "2022", "occurrences": 10, "meetings": 1, "turns": 2},
            {"period": "2023", "occurrences": 2, "meetings": 1, "turns": 1},
        ],
    }
    assert cli("timeline", "x", "--by", "week").exit_code == 2


def test_speakers(cli):
    result = cli("speakers", "淨零排碳")
    assert result.exit_code == 0
    assert result.stdout == (
        "4 speakers in 4 turns, 3 meetings\n"
        "speaker  organisation          occurrences  turns  meetings  first       last        labels\n"
        "呂新科   臺北市資訊局                    9      1         1  2022-09-05  2022-09-05  臺北市資訊局/呂新科局長\n"
        "李小明   台北市政府資訊局                2      1         1  2023-05-10  2023-05-10  李小明（台北市政府資訊局）\n"
        "井琪     臺灣智慧城市產業聯盟            1      1         1  2022-09-05  2022-09-05  臺灣智慧城市產業聯盟/井琪會長\n"
        "唐鳳     -                               1      1         1  2021-03-02  2021-03-02\n"
    )


def test_speakers_limit_and_aliases(cli):
    assert cli("speakers", "開放政府", "--aliases", "--limit", "1").stdout == (
        "2 speakers in 4 turns, 3 meetings (the first 1; --limit 0 for all)\n"
        "speaker  organisation  occurrences  turns  meetings  first       last        labels\n"
        "唐鳳     -                       2      2         2  2021-03-02  2023-05-10\n"
    )


def test_speakers_json(cli):
    data = json.loads(cli("speakers", "開放政府", "--json").stdout)
    assert data == {
        "query": "開放政府",
        "total": 3,
        "meetings": 3,
        "speaker_count": 2,
        "speakers": [
            {"speaker": "唐鳳", "speaker_name": "唐鳳", "organisation": "", "person": "唐鳳",
             "labels": [{"label": "唐鳳", "turns": 2}], "occurrences": 2, "turns": 2,
             "meetings": 2, "first_date": "2021-03-02", "last_date": "2023-05-10"},
            {"speaker": "張委員", "speaker_name": "張委員", "organisation": "", "person": "",
             "labels": [{"label": "張委員", "turns": 1}], "occurrences": 1, "turns": 1,
             "meetings": 1, "first_date": "2019-11-20", "last_date": "2019-11-20"},
        ],
    }


def test_search_explain_goes_to_stderr_and_leaves_stdout_alone(cli, no_user_aliases):
    plain = cli("search", "臺北 ＡＩ -淨零")
    explained = cli("search", "臺北 ＡＩ -淨零", "--explain")
    assert explained.exit_code == 0
    assert explained.stdout == plain.stdout
    assert explained.stderr == (
        "Query: 臺北 ＡＩ -淨零\n"
        "Read as: 臺北 AND ＡＩ AND NOT 淨零\n"
        "Term 臺北: matched as 台北 (臺 → 台: Traditional/Simplified variant)\n"
        "  jieba words: 台北 (one word: a match that is a whole word ranks higher)\n"
        "Term ＡＩ: matched as ai (Ａ → a: full-width → half-width, upper → lower case; "
        "Ｉ → i: full-width → half-width, upper → lower case)\n"
        "  jieba words: ai (one word: a match that is a whole word ranks higher)\n"
        "Excluded term 淨零: matched as 净零 (淨 → 净: Traditional/Simplified variant)\n"
        "  jieba words: 净零 (one word: a match that is a whole word ranks higher)\n"
    )


def test_search_explain_with_filters_and_aliases(cli, no_user_aliases):
    result = cli("search", '"開放 政府" OR 數位部', "--speaker", "張", "--since", "2019-11", "--aliases", "--explain")
    assert result.stderr == (
        'Query: "開放 政府" OR 數位部\n'
        'Read as: ("開放 政府" OR 數位部) AND speaker:張 AND date:2019-11-01..\n'
        'Phrase "開放 政府": matched as 开放 政府 (開 → 开: Traditional/Simplified variant)\n'
        "  jieba words: 开放 / 政府\n"
        "Term 數位部: matched as 数位部 (數 → 数: Traditional/Simplified variant)\n"
        "  jieba words: 数位部 (one word: a match that is a whole word ranks higher)\n"
        "Filter speaker: speaker label or person contains 張 (matched as 张) (from --speaker)\n"
        "Filter date: meeting date from 2019-11-01 on (from --since/--until)\n"
        "Aliases (list version 1): 數位部 → 數位部 OR 數位發展部\n"
        'Searched: ("開放 政府" OR 數位部 OR 數位發展部) AND speaker:張 AND date:2019-11-01..\n'
    )
    assert result.stdout.startswith("1 turns in 1 meetings\n")


def test_search_json_explain_keeps_the_documented_object(cli, no_user_aliases):
    plain = cli("search", "台北通", "--json")
    explained = cli("search", "台北通", "--json", "--explain")
    assert explained.stdout == plain.stdout
    assert list(json.loads(explained.stdout)) == ["query", "total", "meetings", "page", "limit", "hits"]
    explanation = json.loads(explained.stderr)
    assert explanation["structure"] == "台北通"
    assert explanation["expansions"] == [{"term": "台北通", "terms": ["台北通", "TaipeiPass"]}]
    assert explanation["aliases"] is False


def test_search_explain_of_a_malformed_query_is_the_usual_error(cli):
    result = cli("search", "(A OR", "--explain")
    assert result.exit_code == 1
    assert result.stderr == "Error: invalid query: 'OR' needs a term on each side at position 4\n"


def test_search_aliases(cli, no_user_aliases):
    plain = json.loads(cli("search", "開放政府", "--json").stdout)
    expanded = json.loads(cli("search", "開放政府", "--json", "--aliases").stdout)
    assert (plain["total"], expanded["total"]) == (3, 4)
    snippets = [h["snippet"] for h in expanded["hits"]]
    assert any("<mark>Open Government</mark>" in s for s in snippets)
    rows = list(csv.DictReader(io.StringIO(cli("search", "開放政府", "--csv", "--aliases").stdout.lstrip("\ufeff"))))
    assert len(rows) == 4


def test_user_aliases_from_the_environment(index_dir, tmp_path, monkeypatch):
    extra = tmp_path / "aliases.tsv"
    extra.write_text("# version: 3\n線上討論\t網路討論\n", encoding="utf-8")
    monkeypatch.setenv("CIVIC_SEARCH_ALIASES", str(extra))
    result = CliRunner().invoke(main, ["kwic", "網路討論", "--aliases", "--index", str(index_dir)])
    assert result.stdout.splitlines()[0] == "1 occurrence in 1 turn, 1 meeting"
    stats = CliRunner().invoke(main, ["stats", "--index", str(index_dir)])
    assert re.search(r"^Aliases: version 1\+[0-9a-f]{8}$", stats.stdout, re.M)
    monkeypatch.setenv("CIVIC_SEARCH_ALIASES", str(tmp_path / "gone.tsv"))
    broken = CliRunner().invoke(main, ["search", "x", "--aliases", "--index", str(index_dir)])
    assert broken.exit_code == 1
    assert broken.stderr.startswith("Error: cannot read alias file ")


def test_stats_shows_the_alias_version(cli, no_user_aliases):
    result = cli("stats")
    assert result.stdout.splitlines()[-2] == "Aliases: version 1"
    assert json.loads(cli("stats", "--json").stdout)["alias_version"] == "1"


def test_changed_user_dictionary_rebuilds_the_index(tmp_path, fixture_corpus, monkeypatch):
    from indexer.search import SearchEngine

    runner = CliRunner()
    ix = tmp_path / "ix"
    args = ["index", str(fixture_corpus), "--index", str(ix), "--workers", "1"]
    monkeypatch.delenv("CIVIC_SEARCH_USER_DICT", raising=False)
    assert runner.invoke(main, args).exit_code == 0

    def words_df(word: str) -> int:
        engine = SearchEngine(ix)
        try:
            return engine.snapshot().doc_frequency("words", fold(word))
        finally:
            engine.close()

    assert words_df("線上討論") == 0  # jieba's own dictionary splits it: 線上 / 討論
    user_dict = tmp_path / "mine.txt"
    user_dict.write_text("線上討論 3000 n\n", encoding="utf-8")
    monkeypatch.setenv("CIVIC_SEARCH_USER_DICT", str(user_dict))
    # No cache to clear: the segmenter notices a changed dictionary in a running process too.
    try:
        rebuilt = runner.invoke(main, args)
        assert rebuilt.exit_code == 0
        assert rebuilt.stderr == "The dictionaries changed since the last build: rebuilding the index.\n"
        assert rebuilt.stdout.startswith("Indexed 4 new and 0 changed meetings (19 turns), removed 0, 0 unchanged (")
        assert words_df("線上討論") == 1
        again = runner.invoke(main, args)
        assert again.stderr == ""
        assert again.stdout.startswith("Index up to date: 4 meetings unchanged")
        # Changing the dictionary file again (not only naming another one) rebuilds too.
        user_dict.write_text("線上討論 3000 n\n青年參與 3000 n\n", encoding="utf-8")
        assert runner.invoke(main, args).stderr.startswith("The dictionaries changed")
    finally:
        monkeypatch.delenv("CIVIC_SEARCH_USER_DICT")


# --- web ------------------------------------------------------------------------------------------


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.parts: list[str] = []
        self.cells: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: (v or "") for k, v in attrs}))
        if tag == "tr":
            self.cells.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.parts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.parts))

    def links(self, contains: str = "") -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and contains in a.get("href", "")]

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def args_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def get_page(client, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


def test_search_page_links_the_research_views_with_its_filters(client):
    page = get_page(client, "/search?q=淨零排碳&speaker=臺&since=2022&sort=date")
    wanted = {"q": "淨零排碳", "speaker": "臺", "since": "2022"}
    (kwic,) = page.links("/kwic?")
    (speakers,) = page.links("/speakers?")
    (subscribe,) = page.links("/alerts/subscribe?")  # 訂閱: e-mail alerts and the Atom feed
    assert args_of(kwic) == args_of(speakers) == args_of(subscribe) == wanted
    (feed,) = get_page(client, subscribe).links("/feeds/search.atom?")
    assert args_of(feed) == wanted
    (alternate,) = page.find("link", rel="alternate")
    assert alternate["type"] == "application/atom+xml" and args_of(alternate["href"]) == wanted
    assert "訂閱" in page.text and "逐次出現" in page.text and "誰說過" in page.text


def test_kwic_page_lists_every_occurrence(client, engine, summary):
    occurrences = sum(engine.run("淨零排碳").occurrence_counts.values())
    page = get_page(client, "/kwic?q=淨零排碳&width=6")
    assert f"「淨零排碳」逐次出現 {occurrences} 次，{summary('淨零排碳')}" in page.text
    rows = [c for c in page.cells if len(c) == 6 and c[0] != "日期"]
    assert len(rows) == 13
    assert rows[0] == ["2023-05-10", "台北的", "淨零排碳", "路徑需要數據", "李小明（台北市政府資訊局）", "智慧城市與淨零座談#0"]
    turn_links = [u for u in page.links("/meetings/") if "#turn-" in u]
    assert len(turn_links) == 13 and turn_links[0].endswith("#turn-0")
    assert args_of(turn_links[0]) == {"q": "淨零排碳"}
    assert [args_of(u) for u in page.links("/kwic.csv")] == [{"q": "淨零排碳", "width": "6"}]


def test_kwic_page_filters_and_aliases(client, summary):
    page = get_page(client, "/kwic?q=開放政府&speaker=張委員&aliases=1")
    assert f"2 次，{summary('開放政府', speaker='張委員', aliases=True)}" in page.text
    assert "已展開同義詞：開放政府 → 開放政府 OR Open Government" in page.text
    matches = [c[2] for c in page.cells if len(c) == 6 and c[0] != "日期"]
    assert matches == ["開放政府", "Open Government"]
    assert all(args_of(u).get("aliases") == "1" for u in page.links("/meetings/"))


@pytest.fixture()
def small_kwic(index_dir, engine):
    return create_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, "URL_PREFIX": "", "KWIC_PER_PAGE": 5}).test_client()


@pytest.mark.parametrize("page_arg, shown, current", [("1", 5, "1"), ("3", 3, "3"), ("99", 3, "3"), ("x", 5, "1"), ("-2", 5, "1")])
def test_kwic_pages(small_kwic, page_arg, shown, current):
    page = get_page(small_kwic, f"/kwic?q=淨零排碳&page={page_arg}")
    rows = [c for c in page.cells if len(c) == 6 and c[0] != "日期"]
    assert len(rows) == shown
    (here,) = [a for t, a in page.tags if t == "a" and a.get("aria-current") == "page" and "page=" in a["href"]]
    assert args_of(here["href"]) == {"q": "淨零排碳", "page": current}


@pytest.mark.parametrize("width, expected", [("4", "台北的"), ("abc", "台北的"), ("0", "台北的"), ("500", "台北的")])
def test_kwic_width_is_forgiving(client, width, expected):
    page = get_page(client, f"/kwic?q=淨零排碳&width={width}")
    rows = [c for c in page.cells if len(c) == 6 and c[0] != "日期"]
    assert rows[0][1] == expected
    assert len(rows[1][1]) == (4 if width == "4" else 14)


def test_kwic_page_errors_and_empty(client):
    bad = get_page(client, "/kwic?q=%22bad", 400)
    assert "無法解讀這個查詢" in bad.text
    assert "先在搜尋首頁輸入關鍵字" in get_page(client, "/kwic").text
    assert "只有篩選條件" in get_page(client, "/kwic?q=speaker:唐鳳").text


def test_kwic_csv_download_matches_the_cli(client, cli):
    response = client.get("/kwic.csv?q=台北通&width=6")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="civic-search-kwic.csv"'
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeffmeeting_id,")
    web_rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    cli_rows = list(csv.DictReader(io.StringIO(cli("kwic", "台北通", "--csv", "--width", "6").stdout.lstrip("\ufeff"))))
    assert len(web_rows) == 4
    for web, cli in zip(web_rows, cli_rows):
        assert web["link"] == "http://localhost" + cli["link"]
        assert {**web, "link": ""} == {**cli, "link": ""}


def test_kwic_json_download_and_api_match_the_cli(client, cli):
    cli = json.loads(cli("kwic", "淨零排碳", "--json", "--speaker", "唐鳳").stdout)
    download = json.loads(client.get("/kwic.json?q=淨零排碳&speaker=唐鳳").data)
    api = client.get("/api/kwic?q=淨零排碳&speaker=唐鳳").get_json()
    for data in (download, api):
        assert [r["link"] for r in data["rows"]] == ["http://localhost" + r["link"] for r in cli["rows"]]
        assert {**data, "rows": None} == {**cli, "rows": None}
    assert client.get("/kwic.json?q=").get_json() == {
        "ok": False, "error": "invalid query: empty query: type a word or phrase to search for", "status": 400,
    }
    assert client.get("/api/kwic?q=x&width=0").get_json()["status"] == 400


def test_speakers_page(client, engine, summary):
    speakers = len(engine.run("淨零排碳", since="2021").by_speaker())
    page = get_page(client, "/speakers?q=淨零排碳&since=2021")
    assert f"誰說過「淨零排碳」 {speakers} 位發言人，{summary('淨零排碳', since='2021')}" in page.text
    rows = [c for c in page.cells if len(c) == 8 and c[0] != "發言人"]
    assert rows == [
        ["呂新科", "臺北市資訊局", "9", "1", "1", "2022-09-05", "2022-09-05", "臺北市資訊局/呂新科局長 發言人頁：呂新科"],
        ["李小明", "台北市政府資訊局", "2", "1", "1", "2023-05-10", "2023-05-10", "李小明（台北市政府資訊局） 發言人頁：李小明"],
        ["井琪", "臺灣智慧城市產業聯盟", "1", "1", "1", "2022-09-05", "2022-09-05", "臺灣智慧城市產業聯盟/井琪會長 發言人頁：井琪"],
        ["唐鳳", "—", "1", "1", "1", "2021-03-02", "2021-03-02", "發言人頁：唐鳳"],
    ]
    search_links = [u for u in page.links("/search?") if "speaker=" in u]
    assert args_of(search_links[0]) == {"q": "淨零排碳", "since": "2021", "speaker": "呂新科"}
    assert "/people/%E5%91%82%E6%96%B0%E7%A7%91" in page.links("/people/")


def test_speaker_link_filters_the_search(client, summary):
    page = get_page(client, "/speakers?q=淨零排碳")
    link = [u for u in page.links("/search?") if "speaker=" in u][1]
    results = get_page(client, link)
    assert summary("淨零排碳", speaker=args_of(link)["speaker"]) in results.text
    assert "李小明（台北市政府資訊局）" in results.text


def test_speakers_api_matches_the_cli(client, cli):
    cli = json.loads(cli("speakers", "淨零排碳", "--json", "--limit", "2").stdout)
    assert client.get("/api/speakers/ranking?q=淨零排碳&limit=2").get_json() == cli
    assert client.get("/api/speakers/ranking?q=淨零排碳&limit=0").get_json()["speakers"][2]["speaker_name"] == "井琪"
    assert client.get("/api/speakers/ranking?q=淨零排碳&limit=x").status_code == 400
    # The speaker suggestions keep their own route and shape.
    assert list(client.get("/api/speakers?prefix=唐").get_json()) == ["prefix", "speakers"]


def test_timeline_api_matches_the_cli(client, cli):
    cli = json.loads(cli("timeline", "淨零", "--json", "--by", "month").stdout)
    assert client.get("/api/timeline?q=淨零&by=month").get_json() == cli
    assert client.get("/api/timeline?q=淨零&by=week").get_json()["status"] == 400


def test_explain_api_matches_the_cli(client, cli, no_user_aliases):
    cli = json.loads(cli("search", "臺北 -淨零", "--since", "2022", "--aliases", "--json", "--explain").stderr)
    assert client.get("/api/explain?q=臺北 -淨零&since=2022&aliases=1").get_json() == cli
    assert client.get("/api/explain?q=(").get_json()["status"] == 400


def test_search_page_explain_toggle(client, summary, no_user_aliases):
    plain = get_page(client, "/search?q=臺北ＡＩ")
    assert not plain.find("section", **{"class": "explain"})
    (box,) = plain.find("input", name="explain")
    assert "checked" not in box
    page = get_page(client, "/search?q=數位部 ＡＩ -淨零&explain=1")
    assert page.find("input", name="explain", checked="")
    assert page.find("section", **{"class": "explain"})
    text = page.text
    assert summary("數位部 ＡＩ -淨零") in text
    assert "讀成數位部 AND ＡＩ AND NOT 淨零" in text
    assert "數 → 数（繁簡/異體字視為同一字）" in text
    assert "Ａ → a（全形/半形、大寫 → 小寫）" in text
    assert "排除 淨零" in text
    assert "數位部 OR 數位發展部（未啟用）" in text
    # The toggle is kept by the links that change the view, and left out of the research links.
    assert args_of(page.links("view=turns")[0])["explain"] == "1"
    assert "explain" not in args_of(page.links("/kwic?")[0])


def test_search_page_aliases(client, summary, no_user_aliases):
    plain = get_page(client, "/search?q=開放政府")
    assert summary("開放政府") in plain.text and "已展開同義詞" not in plain.text
    page = get_page(client, "/search?q=開放政府&aliases=1")
    assert summary("開放政府", aliases=True) != summary("開放政府")  # the fixtures hold an alias
    assert summary("開放政府", aliases=True) in page.text
    assert "已展開同義詞：開放政府 → 開放政府 OR Open Government" in page.text
    assert page.find("input", name="aliases", checked="")
    assert "<mark>Open Government</mark>" in client.get("/search?q=開放政府&aliases=1").get_data(as_text=True)
    for link in page.links("/meetings/") + page.links("/kwic?") + page.links("/feeds/") + page.links("page="):
        assert args_of(link).get("aliases") == "1", link


def test_meeting_page_highlights_alias_matches(client):
    url = "/meetings/2019-11-20-青年諮詢委員會?q=開放政府"
    assert "<mark>Open Government</mark>" not in client.get(url).get_data(as_text=True)
    assert "<mark>Open Government</mark>" in client.get(url + "&aliases=1").get_data(as_text=True)


def test_timeline_bars_open_that_period(client, summary):
    page = get_page(client, "/search?q=淨零排碳&aliases=1")
    bars = [a["href"] for t, a in page.tags if t == "a" and a.get("class") == "bar-link"]
    assert [args_of(b) for b in bars] == [
        {"q": "淨零排碳", "since": year, "until": year, "aliases": "1"} for year in ("2021", "2022", "2023")
    ]
    narrowed = get_page(client, bars[1])
    assert summary("淨零排碳", since="2022", until="2022", aliases=True) in narrowed.text
    months = get_page(client, "/search?q=智慧城市&since=2022&until=2023")
    month_bars = [a["href"] for t, a in months.tags if t == "a" and a.get("class") == "bar-link"]
    first = args_of(month_bars[0])
    assert summary("智慧城市", since=first["since"], until=first["until"]) in get_page(client, month_bars[0]).text


def test_research_pages_under_a_url_prefix(index_dir, engine):
    client = create_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, "URL_PREFIX": "/search"}).test_client()
    for url in ("/search/kwic?q=淨零排碳", "/search/speakers?q=淨零排碳", "/search/search?q=淨零排碳&explain=1"):
        page = get_page(client, url)
        urls = [a.get("href") or a.get("src") for _, a in page.tags if a.get("href") or a.get("src")]
        assert urls and all(u.startswith("/search/") for u in urls), url
    assert client.get("/search/kwic.csv?q=台北通").data.decode("utf-8").count("http://localhost/search/meetings/") == 4


@pytest.mark.parametrize("url", ["/kwic?q=淨零排碳", "/speakers?q=淨零排碳", "/search?q=淨零排碳&explain=1&aliases=1"])
def test_research_pages_have_no_inline_scripts_or_styles(client, url):
    text = client.get(url).get_data(as_text=True)
    page = Page(text)
    for tag, attrs in page.tags:
        assert "style" not in attrs and not [a for a in attrs if a.startswith("on")], (tag, attrs)
    assert "<style" not in text and "<script>" not in text


# --- the shared corpus: every occurrence, counted by brute force -----------------------------------


@pytest.mark.corpus
@pytest.mark.slow
def test_kwic_counts_every_occurrence_in_the_shared_corpus(shared_corpus, shared_index):
    from indexer.build import scan
    from indexer.transcripts import TranscriptError, read_transcript

    term = fold("開放政府")
    files, _, _ = scan([shared_corpus])
    expected = 0
    for path, shown in files:
        try:
            meeting = read_transcript(path, meeting_id=path.stem, source=shown)
        except TranscriptError:
            continue
        expected += sum(fold(turn.text).count(term) for turn in meeting.turns)
    result = CliRunner().invoke(main, ["kwic", "開放政府", "--csv", "--index", str(shared_index)])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert expected > 1000
    assert len(rows) == expected
    assert all(fold(r["match"]) == term for r in rows)
    assert len({(r["meeting_id"], r["turn"]) for r in rows}) < len(rows)  # turns that say it twice
