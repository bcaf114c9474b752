import json

import click
import pytest
from click.testing import CliRunner

from indexer.cli import main


def test_search_prints_counts_and_hits(cli):
    result = cli("search", "淨零排碳", "--limit", "2")
    assert result.exit_code == 0
    assert result.stdout == (
        "4 turns in 3 meetings\n"
        "\n"
        "2023-05-10  智慧城市與淨零座談  [2023-05-10-智慧城市與淨零座談 #0]\n"
        "  李小明（台北市政府資訊局）: 台北的淨零排碳路徑需要數據。淨零排碳也是智慧城市的核心，台北通會整合服務。\n"
        "\n"
        "2022-09-05  臺北城市博覽會舞台活動 智慧城市產業座談會 會談紀錄  [000_c33521a9eed413fa #5]\n"
        "  臺北市資訊局/呂新科局長: 1. 淨零排碳是智慧城市最大的課題，今年臺北市政府由環保局主責，成立淨零排碳的治制條例，"
        "是第一個公部門訴諸法律規範，由此也代表臺北市的決心，2050與2035路徑已啟動，所以縣市與民間皆有啟動計畫。 2. 城市的管理，數…\n"
        "\n"
        "Page 1 of 2; next: --page 2\n"
    )


def test_search_highlights_in_colour_on_a_terminal(index_dir):
    result = CliRunner().invoke(main, ["search", "台北通", "--index", str(index_dir)], color=True)
    assert "\x1b[31m\x1b[1m台北通\x1b[0m" in result.stdout


def test_search_json_is_the_documented_object(cli):
    result = cli("search", "淨零排碳", "--json", "--limit", "1")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["query", "total", "meetings", "page", "limit", "hits"]
    assert (data["query"], data["total"], data["meetings"], data["page"], data["limit"]) == ("淨零排碳", 4, 3, 1, 1)
    hit = data["hits"][0]
    assert list(hit) == ["meeting_id", "turn", "title", "date", "speaker", "person", "score", "snippet", "source"]
    assert hit["snippet"].count("<mark>淨零排碳</mark>") == 2
    assert (hit["speaker"], hit["person"]) == ("李小明（台北市政府資訊局）", "李小明")


def test_search_options(cli):
    data = json.loads(cli("search", "開放政府", "--speaker", "唐鳳", "--since", "2021", "--sort", "date", "--json").stdout)
    assert [(h["date"], h["speaker"]) for h in data["hits"]] == [("2023-05-10", "唐鳳"), ("2021-03-02", "唐鳳")]


def test_limit_zero_means_all(cli):
    data = json.loads(cli("search", "的", "--limit", "0", "--json").stdout)
    assert len(data["hits"]) == data["total"] > 10


@pytest.mark.parametrize(
    "query, message",
    [
        ('"淨零', "Error: invalid query: unbalanced quote: the phrase is never closed at position 1\n"),
        ("(A OR", "Error: invalid query: 'OR' needs a term on each side at position 4\n"),
        ("speaker:", "Error: invalid query: field 'speaker' needs a value at position 1\n"),
    ],
)
def test_malformed_query_is_one_line_exit_1(cli, query, message):
    result = cli("search", query)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == message


def test_usage_error_exit_2(cli):
    result = cli("search", "x", "--limit", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--limit'" in result.stderr


def test_show(cli, fixture_corpus):
    result = cli("show", "2019-11-20-青年諮詢委員會")
    assert result.exit_code == 0
    source = str(fixture_corpus / "2019-11-20-青年諮詢委員會.md")
    assert result.stdout == (
        "青年諮詢委員會\n"
        "Date: 2019-11-20\n"
        f"Source: {source}\n"
        "Format: md\n"
        "\n[0] 張委員\n青年參與開放政府的管道還不夠多，希望可以增加線上討論。\n"
        "\n[1] 唐鳳\n我們會把討論紀錄公開，包括逐字稿，讓大家都能查詢。\n"
        '\n[2] 張委員\n另外，"開放 政府"這個詞在英文是 Open Government。\n'
    )


def test_show_json(cli):
    data = json.loads(cli("show", "000_c33521a9eed413fa", "--json").stdout)
    assert data["date"] == "2022-09-05" and data["meeting_id"] == "000_c33521a9eed413fa"
    assert data["format"] == "txt"
    assert data["turns"][1] == {
        "turn": 1,
        "speaker": "臺北市資訊局/呂新科局長",
        "person": "呂新科",
        "section": "一、目前城市智慧化發展已十餘年，我們預見下個十年的智慧城市是什麼？",
        "text": data["turns"][1]["text"],
    }


def test_show_unknown_meeting(cli):
    result = cli("show", "nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: no meeting with id 'nope'\n"


def test_stats(cli, index_dir):
    result = cli("stats")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:7] == [
        f"Index: {index_dir}",
        "Meetings: 4",
        "Turns: 19",
        "Speakers: 10",
        "Persons: 7",
        "Dates: 2019-11-20 to 2023-05-10",
        "Segments: 1",
    ]
    assert lines[-1] == "People: version 1"
    data = json.loads(cli("stats", "--json").stdout)
    assert (data["turns"], data["persons"], data["people_version"]) == (19, 7, "1")


def test_stats_without_index(tmp_path):
    result = CliRunner().invoke(main, ["stats", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: no index in {tmp_path / 'none'}. Run 'civic-search index' first.\n"


def test_search_without_index_builds_from_bundled_corpus(tmp_path):
    result = CliRunner().invoke(main, ["search", "淨零排碳", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"No index in {tmp_path / 'ix'} yet: building it from the bundled corpus…\n")
    assert result.stdout.startswith("2 turns in 1 meetings\n\n2022-09-05  ")
    assert "臺北市資訊局/呂新科局長" in result.stdout


def test_index_reports_and_is_incremental(tmp_path, fixture_corpus):
    runner = CliRunner()
    first = runner.invoke(main, ["index", str(fixture_corpus), "--index", str(tmp_path / "ix")])
    assert first.exit_code == 0
    assert first.stdout.startswith("Indexed 4 new and 0 changed meetings (19 turns), removed 0, 0 unchanged (")
    second = runner.invoke(main, ["index", str(fixture_corpus), "--index", str(tmp_path / "ix")])
    assert second.stdout.startswith("Index up to date: 4 meetings unchanged, nothing re-indexed (")


def test_index_reports_skipped_files_and_strict(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "2024-01-01-好.md").write_text("# 2024-01-01 好\n\n### 甲：\n內容\n", encoding="utf-8")
    (corpus / "壞.txt").write_bytes(b"\x00\x01\x02" * 100)
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(corpus), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0
    assert result.stderr.startswith(f"skipped {corpus / '壞.txt'}: ")
    assert "; skipped 1 files (" in result.stdout
    strict = runner.invoke(main, ["index", str(corpus), "--index", str(tmp_path / "ix2"), "--strict"])
    assert strict.exit_code == 1
    assert strict.stderr.endswith("Error: 1 files could not be indexed (--strict)\n")


def test_every_command_has_help_and_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    context = click.Context(main)
    names = main.list_commands(context)
    assert "serve" in names  # added by search_web through the civic_search.commands entry point
    for name in names:
        command = main.get_command(context, name)
        assert command.help, name
        assert f"civic-search {name}" in readme, name


def test_python_dash_m(index_dir):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "indexer", "search", "台北通", "--index", str(index_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["total"] == 2  # the sample record and the 2023 fixture


def test_search_csv_has_bom_header_and_one_row_per_hit(cli):
    import csv
    import io

    result = cli("search", "淨零排碳", "--csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "\ufeffmeeting_id,title,date,speaker,person,turn,page,left,match,right,link"
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert len(rows) == 4
    assert {r["match"] for r in rows} == {"淨零排碳"}
    assert rows[0]["link"] == "/meetings/2023-05-10-%E6%99%BA%E6%85%A7%E5%9F%8E%E5%B8%82%E8%88%87%E6%B7%A8%E9%9B%B6%E5%BA%A7%E8%AB%87?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3#turn-0"


def test_csv_and_json_together_is_a_usage_error(cli):
    assert cli("search", "x", "--csv", "--json").exit_code == 2


def test_closed_pipe_stops_quietly(tmp_path):
    import subprocess
    import sys

    from indexer.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    turns = "".join(f"### 講者{i}：\n第{i}段發言的內容，內容足夠長，讓輸出超過管線的緩衝區。\n\n" for i in range(3000))
    (corpus / "2024-06-01-長會議.md").write_text("# 2024-06-01 長會議\n\n" + turns, encoding="utf-8")
    build_index([corpus], tmp_path / "ix", workers=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "search", "發言", "--limit", "0", "--index", str(tmp_path / "ix")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`, long before the 3,000 hits are written
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert stderr == ""
