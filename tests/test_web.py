"""The web front end: pages, filters, exports, the JSON API, CORS, headers, prefix mounting."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.export import COLUMNS, export_rows, write_csv
from search_web import create_app

from conftest import EMBED_ORIGIN

RECORD_ID = "000_c33521a9eed413fa"
RECORD_TITLE = "臺北城市博覽會舞台活動 智慧城市產業座談會 會談紀錄"


class Page(HTMLParser):
    """The parts of a page the tests look at: links, assets, forms, scripts, attributes."""

    URL_ATTRS = ("href", "src", "action", "data-suggest-url")

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: (v or "") for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text_parts))

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def urls(self) -> list[str]:
        return [a[name] for _, a in self.tags for name in self.URL_ATTRS if name in a]

    def links(self, contains: str = "") -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and "href" in a and contains in a["href"]]


def args_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def get_page(client, url: str, status: int = 200) -> Page:
    with client.get(url) as response:
        assert response.status_code == status, (url, response.status_code)
        assert response.mimetype == "text/html"
        return Page(response.get_data(as_text=True))


def fetch(client, url: str, **kwargs):
    """GET ``url`` and close the response (static files hold an open file until closed)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
        return response


# --- the search form and results -----------------------------------------------------------------


def test_home_has_form_in_traditional_chinese(client, engine):
    response = client.get("/")
    text = response.get_data(as_text=True)
    assert '<html lang="zh-Hant">' in text
    page = Page(text)
    (form,) = page.find("form", role="search")
    assert form["action"] == "/search"
    assert page.find("input", name="q", id="q")
    assert page.find("label", **{"for": "q"})
    assert page.find("label", **{"for": "speaker"})
    options = [a["value"] for a in page.find("option") if a.get("value") not in ("relevance", "date")]
    assert options == engine.speaker_labels("", 100)
    assert "唐鳳" in options
    assert "speaker:" in page.text and "date:2021..2022" in page.text and "OR" in page.text


def test_empty_query_shows_the_form(client):
    page = get_page(client, "/search?q=+")
    assert page.find("input", name="q", value="")
    assert "已收錄 4 場會議" in page.text and not page.find("ol")


def test_results_grouped_by_meeting(client, summary):
    page = get_page(client, "/search?q=淨零排碳")
    assert summary("淨零排碳") in page.text
    titles = [a for a in page.links("/meetings/") if "#" not in a]
    assert len(titles) == 3
    assert all(args_of(url) == {"q": "淨零排碳"} for url in titles)
    assert f"/meetings/{RECORD_ID}?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3" in titles
    turn_links = [a for a in page.links("/meetings/") if "#turn-" in a]
    assert f"/meetings/{RECORD_ID}?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3#turn-5" in turn_links
    assert len(turn_links) == 4
    assert "2 段發言符合" in page.text and "2022-09-05" in page.text
    assert "臺北市資訊局/呂新科局長" in page.text


def test_snippets_are_highlighted(client):
    text = client.get("/search?q=淨零排碳").get_data(as_text=True)
    assert "<mark>淨零排碳</mark>" in text


def test_turns_view_is_a_flat_list(client):
    response = client.get("/search?q=淨零排碳&view=turns")
    page = Page(response.get_data(as_text=True))
    assert len(page.find("li", **{"class": "hit"})) == 4
    assert not page.find("li", **{"class": "group"})
    (current,) = [a for t, a in page.tags if t == "a" and a.get("aria-current") == "page" and "view=" in a["href"]]
    assert args_of(current["href"])["view"] == "turns"


@pytest.mark.parametrize(
    "url, total, meetings",
    [
        ("/search?q=淨零排碳&speaker=唐鳳", 1, 1),
        ("/search?q=淨零排碳&since=2022", 3, 2),
        ("/search?q=淨零排碳&until=2022-12", 3, 2),
        ("/search?q=淨零排碳&since=2022-01&until=2022-12-31", 2, 1),
        ("/search?q=speaker:唐鳳", 4, 3),
    ],
)
def test_filters(client, engine, url, total, meetings):
    page = get_page(client, url)
    assert f"{total} 段發言，{meetings} 場會議" in page.text
    args = args_of(url)
    rs = engine.run(args.pop("q"), **args)
    assert (rs.total, rs.meeting_count) == (total, meetings)


def test_sort_by_date_orders_meetings_newest_first(client):
    page = get_page(client, "/search?q=淨零&sort=date")
    titles = [a for a in page.links("/meetings/") if "#" not in a]
    assert [unquote(urlsplit(u).path).rsplit("/", 1)[1] for u in titles][:2] == ["2023-05-10-智慧城市與淨零座談", RECORD_ID]
    assert page.find("option", value="date", selected="")


def test_speaker_suggestions_api(client):
    data = client.get("/api/speakers?prefix=唐").get_json()
    assert data == {"prefix": "唐", "speakers": ["唐鳳"]}
    assert client.get("/api/speakers?prefix=臺北市資訊局").get_json()["speakers"] == ["臺北市資訊局/呂新科局長"]
    assert client.get("/api/speakers?limit=abc").status_code == 400


def test_facets_narrow_the_search(client, engine, summary):
    page = get_page(client, "/search?q=淨零排碳&sort=date&view=turns")
    year_links = [u for u in page.links("since=") if args_of(u).get("since") == args_of(u).get("until")]
    years = {args_of(u)["since"] for u in year_links}
    assert years == {"2021", "2022", "2023"}
    for url in year_links:
        assert args_of(url)["q"] == "淨零排碳" and args_of(url)["sort"] == "date" and args_of(url)["view"] == "turns"
    speaker_links = {args_of(u)["speaker"] for u in page.links("speaker=")}
    assert speaker_links == {s.speaker for s in engine.run("淨零排碳").by_speaker()}
    narrowed = get_page(client, "/search?q=淨零排碳&since=2022&until=2022")
    assert summary("淨零排碳", since="2022", until="2022") in narrowed.text


def test_timeline_per_year(client, summary):
    text = client.get("/search?q=淨零排碳").get_data(as_text=True)
    page = Page(text)
    (svg,) = page.find("svg")
    assert svg["role"] == "group"
    bars = [a for t, a in page.tags if t == "a" and a.get("class") == "bar-link"]
    years = ("2021", "2022", "2023")  # the fixtures' years that say 淨零排碳
    assert [b["aria-label"] for b in bars] == [f"{y} 年：{summary('淨零排碳', since=y, until=y)}" for y in years]
    assert args_of(bars[1]["href"]) == {"q": "淨零排碳", "since": "2022", "until": "2022"}
    per_year = "、".join(f"{y} 年 {summary('淨零排碳', since=y, until=y).split(' ')[0]} 段" for y in years)
    assert f"每年符合的發言數：{per_year}" in text
    assert f"<title>2022 年：{summary('淨零排碳', since='2022', until='2022')}</title>" in text


def test_timeline_per_month_within_two_years(client, summary):
    page = get_page(client, "/search?q=智慧城市&since=2022&until=2023")
    bars = [a for t, a in page.tags if t == "a" and a.get("class") == "bar-link"]
    labels = [b["aria-label"] for b in bars]
    months = ((2022, 9), (2023, 5))  # the fixtures' months that say 智慧城市
    assert labels == [f"{y} 年 {m} 月：{summary('智慧城市', since=f'{y}-{m:02d}', until=f'{y}-{m:02d}')}" for y, m in months]
    assert args_of(bars[0]["href"])["since"] == "2022-09" and args_of(bars[0]["href"])["until"] == "2022-09"
    # The empty months between are drawn (labels) but not linked.
    assert page.text.count("月") >= 9


@pytest.fixture()
def small_pages(index_dir, engine):
    app = create_app(
        {"INDEX_DIR": str(index_dir), "ENGINE": engine, "URL_PREFIX": "", "MEETINGS_PER_PAGE": 1, "TURNS_PER_PAGE": 2}
    )
    return app.test_client()


def test_pagination_keeps_every_filter(small_pages):
    url = "/search?q=智慧城市&speaker=臺&since=2019&until=2023&sort=date&view=turns"
    page = get_page(small_pages, url)
    nav = [u for u in page.links("page=")]
    assert nav, "expected page links"
    for link in nav:
        args = args_of(link)
        assert args["q"] == "智慧城市" and args["speaker"] == "臺" and args["since"] == "2019"
        assert args["until"] == "2023" and args["sort"] == "date" and args["view"] == "turns"
    second = get_page(small_pages, url + "&page=2")
    (current,) = [a for t, a in second.tags if t == "a" and a.get("aria-current") == "page" and "page=" in a["href"]]
    assert args_of(current["href"])["page"] == "2"
    assert second.find("a", rel="prev")


def test_pagination_grouped(small_pages):
    first = get_page(small_pages, "/search?q=淨零排碳")
    second = get_page(small_pages, "/search?q=淨零排碳&page=2")
    first_titles = [u for u in first.links("/meetings/") if "#" not in u]
    second_titles = [u for u in second.links("/meetings/") if "#" not in u]
    assert len(first_titles) == len(second_titles) == 1 and first_titles != second_titles
    assert "第 2 頁，目前頁面" in [a.get("aria-label") for t, a in second.tags if t == "a"]


@pytest.mark.parametrize("page", ["abc", "-1", "0", "1.5", "", "９x"])
def test_page_that_is_not_a_positive_integer_is_page_one(small_pages, summary, page):
    result = get_page(small_pages, f"/search?q=淨零排碳&page={page}")
    (current,) = [a for t, a in result.tags if t == "a" and a.get("aria-label") == "第 1 頁，目前頁面"]
    assert "page" not in args_of(current["href"])
    assert summary("淨零排碳") in result.text


def test_page_past_the_end_shows_the_last_page(small_pages):
    page = get_page(small_pages, "/search?q=淨零排碳&page=99")
    assert "第 3 頁，目前頁面" in [a.get("aria-label") for t, a in page.tags if t == "a"]


@pytest.mark.parametrize("sort, view", [("bogus", "bogus"), ("", "")])
def test_unknown_sort_and_view_fall_back(client, summary, sort, view):
    page = get_page(client, f"/search?q=淨零排碳&sort={sort}&view={view}")
    assert summary("淨零排碳") in page.text


@pytest.mark.parametrize(
    "query, fragment",
    [
        ('"淨零', "unbalanced quote"),
        ("(淨零", "unclosed"),
        ("OR", "needs a term"),
        ("foo:bar", "unknown field"),
        ("-淨零", "nothing to exclude"),
    ],
)
def test_malformed_query_is_a_friendly_400(client, query, fragment):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 400
    page = Page(response.get_data(as_text=True))
    assert "無法解讀這個查詢" in page.text and fragment in page.text
    assert page.find("input", name="q", value=query)
    assert any(a.get("role") == "alert" for _, a in page.tags)


@pytest.mark.parametrize("args", [{"since": "abc"}, {"since": "2023", "until": "2020"}, {"until": "2022-13"}])
def test_bad_dates_are_a_friendly_400(client, args):
    response = client.get("/search", query_string={"q": "淨零", **args})
    assert response.status_code == 400
    assert "無法解讀這個查詢" in response.get_data(as_text=True)


def test_no_results(client):
    page = get_page(client, "/search?q=沒有這個詞語")
    assert "0 段發言，0 場會議" in page.text and "沒有符合的發言" in page.text


# --- the meeting page --------------------------------------------------------------------------


def test_meeting_page_shows_the_whole_transcript(client, engine):
    record = engine.meeting(RECORD_ID)
    response = client.get(f"/meetings/{RECORD_ID}")
    text = response.get_data(as_text=True)
    page = Page(text)
    assert response.status_code == 200
    for value in (record.title, record.date, record.time, record.location, record.chair, record.file_name):
        assert value and value in page.text
    assert record.source.startswith("/") and record.source not in text  # the file's name, not the server's path
    assert f"/meetings/{RECORD_ID}/source" in page.links("/source")
    for turn in record.turns:
        assert f'id="turn-{turn.turn}"' in text
        assert f"/meetings/{RECORD_ID}#turn-{turn.turn}" in page.links("#turn-")
        if turn.speaker:
            assert turn.speaker in page.text
    sections = [s for s in dict.fromkeys(t.section for t in record.turns) if s]
    assert len(sections) == 2
    assert text.count('class="section-heading"') == len(sections)
    assert "<mark>" not in text


def test_meeting_page_highlights_every_match(client, engine):
    text = client.get(f"/meetings/{RECORD_ID}?q=淨零排碳").get_data(as_text=True)
    expected = sum(t.text.count("淨零排碳") for t in engine.meeting(RECORD_ID).turns)
    assert text.count("<mark>淨零排碳</mark>") == expected == 10
    page = Page(text)
    (nav,) = page.find("div", id="hitnav")
    assert nav["data-total"] == "10"
    assert "共 10 筆" in page.text
    assert page.find("button", **{"data-hitnav": "next"}) and page.find("button", **{"data-hitnav": "prev"})
    assert f"/meetings/{RECORD_ID}?q=%E6%B7%A8%E9%9B%B6%E6%8E%92%E7%A2%B3#turn-5" in page.links("#turn-")
    assert page.find("script", src="/static/app.js", defer="")


def test_meeting_page_highlight_folds_variants(client):
    # 台北 finds 臺北 (folding); the original text is shown.
    text = client.get(f"/meetings/{RECORD_ID}?q=台北").get_data(as_text=True)
    assert "<mark>臺北</mark>" in text and "<mark>台北</mark>" in text


def test_meeting_page_with_malformed_query_still_shows(client):
    response = client.get(f"/meetings/{RECORD_ID}?q=%22open")
    assert response.status_code == 200
    assert "無法解讀這個查詢" in response.get_data(as_text=True)


def test_meeting_page_without_matches(client):
    page = get_page(client, f"/meetings/{RECORD_ID}?q=沒有這個詞語")
    assert "本場會議沒有「沒有這個詞語」" in page.text


@pytest.mark.parametrize("meeting_id", ["nope", "..", "%3Cscript%3E"])
def test_unknown_meeting_is_a_404_page(client, meeting_id):
    page = get_page(client, f"/meetings/{meeting_id}", 404)
    assert "找不到這場會議" in page.text or "找不到這個頁面" in page.text


def test_unknown_page_is_a_404_page(client):
    page = get_page(client, "/no/such/page", 404)
    assert "找不到這個頁面" in page.text


# --- exports -------------------------------------------------------------------------------------


def test_export_csv(client, engine):
    response = client.get("/export.csv?q=淨零排碳&sort=date")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(COLUMNS, r)) for r in rows[1:]]
    assert len(body) == engine.run("淨零排碳").total == 4
    assert [r["date"] for r in body] == sorted((r["date"] for r in body), reverse=True)
    first = body[0]
    assert first["title"] == "智慧城市與淨零座談" and first["speaker"] == "李小明（台北市政府資訊局）"
    assert first["match"] == "淨零排碳" and first["left"] == "台北的" and first["right"].startswith("路徑需要數據")
    assert first["link"] == (
        "http://localhost/meetings/" + quote("2023-05-10-智慧城市與淨零座談") + "?q=" + quote("淨零排碳") + "#turn-0"
    )
    assert client.get(urlsplit(first["link"]).path + "?" + urlsplit(first["link"]).query).status_code == 200


def test_export_csv_keeps_filters(client):
    raw = client.get("/export.csv?q=淨零排碳&speaker=唐鳳").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert [(r["speaker"], r["turn"]) for r in rows] == [("唐鳳", "3")]
    assert rows[0]["left"] == "好，謝謝。淨零排放不等於" and rows[0]["right"] == "，這點請大家留意用詞。"


def test_export_json(client, engine):
    response = client.get("/export.json?q=淨零排碳")
    assert response.mimetype == "application/json"
    data = json.loads(response.data)
    assert data["query"] == "淨零排碳" and data["total"] == 4 and data["meetings"] == 3
    assert len(data["rows"]) == 4
    assert all(list(row) == [c for c in COLUMNS if c != "page"] for row in data["rows"])  # no PDF here
    assert data["rows"] == export_rows(engine.run("淨零排碳"), base_url="http://localhost")


def test_export_errors_have_the_error_shape(client):
    for url in ("/export.csv?q=", "/export.json?q=%22x", "/export.csv?q=x&since=bad"):
        response = client.get(url)
        assert response.status_code == 400
        assert set(response.get_json()) == {"ok", "error", "status"}


def test_export_rows_for_a_filter_only_query(engine):
    rows = export_rows(engine.run("speaker:唐鳳"))
    assert len(rows) == 4
    for row in rows:
        turns = {t.turn: t.text for t in engine.meeting(row["meeting_id"]).turns}
        assert row["left"] == "" and row["match"] == ""
        assert row["right"] == turns[row["turn"]].replace("\n", " ")[:60]
        assert row["link"] == f"/meetings/{quote(row['meeting_id'])}?q=speaker%3A{quote('唐鳳')}#turn-{row['turn']}"
    long_turns = export_rows(engine.run("speaker:呂新科"))
    assert [len(r["right"]) for r in long_turns] == [60, 60]


def test_write_csv_starts_with_bom_and_guards_formulas():
    stream = io.StringIO()
    write_csv([{"meeting_id": "m", "title": "=HYPERLINK(1)", "turn": 1, "right": "中文，保持原樣"}], stream)
    value = stream.getvalue()
    assert value.startswith("\ufeff" + ",".join(COLUMNS) + "\r\n")
    row = list(csv.DictReader(io.StringIO(value[1:])))[0]
    assert row["title"] == "'=HYPERLINK(1)" and row["right"] == "中文，保持原樣" and row["turn"] == "1"


# --- the JSON API --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, options",
    [
        ("淨零排碳", {}),
        ("智慧城市", {"limit": "3", "page": "2"}),
        ("淨零", {"speaker": "唐鳳"}),
        ("智慧城市", {"since": "2022-01", "until": "2022-12", "sort": "date"}),
        ("開放政府 OR 淨零", {"limit": "0"}),
        ("沒有這個詞語", {}),
    ],
)
def test_api_search_equals_cli_json(client, index_dir, query, options):
    response = client.get("/api/search", query_string={"q": query, **options})
    assert response.status_code == 200
    args = ["search", query, "--index", str(index_dir), "--json"]
    for name, value in options.items():
        args += [f"--{name}", value]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert response.get_json() == json.loads(result.stdout)
    assert list(response.get_json()) == ["query", "total", "meetings", "page", "limit", "hits"]


def test_api_meeting_equals_cli_show_json(client, index_dir):
    response = client.get(f"/api/meetings/{RECORD_ID}")
    result = CliRunner().invoke(main, ["show", RECORD_ID, "--index", str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert response.get_json() == json.loads(result.stdout)


@pytest.mark.parametrize(
    "query_string, fragment",
    [
        ({"q": "淨零", "limit": "abc"}, "limit"),
        ({"q": "淨零", "limit": "101"}, "limit"),
        ({"q": "淨零", "limit": "-1"}, "limit"),
        ({"q": "淨零", "page": "0"}, "page"),
        ({"q": "淨零", "page": "-1"}, "page"),
        ({"q": "淨零", "page": "abc"}, "page"),
        ({"q": "淨零", "sort": "bogus"}, "sort"),
        ({"q": ""}, "empty query"),
        ({"q": '"淨零'}, "unbalanced quote"),
        ({"q": "淨零", "since": "abc"}, "not a date"),
    ],
)
def test_api_errors_have_one_shape(client, query_string, fragment):
    response = client.get("/api/search", query_string=query_string)
    assert response.status_code == 400
    data = response.get_json()
    assert set(data) == {"ok", "error", "status"}
    assert data["ok"] is False and data["status"] == 400 and fragment in data["error"]


@pytest.mark.parametrize("url", ["/api/meetings/nope", "/api/nope", "/api/search/extra"])
def test_api_404_has_the_error_shape(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["ok"] is False and response.get_json()["status"] == 404


def test_api_405_has_the_error_shape(client):
    response = client.post("/api/search?q=x")
    assert response.status_code == 405
    assert response.get_json() == {"ok": False, "error": "method not allowed", "status": 405}


def test_api_facets(client, engine):
    data = client.get("/api/facets?q=淨零排碳").get_json()
    assert data["total"] == 4 and [y["period"] for y in data["years"]] == ["2021", "2022", "2023"]
    assert data["speakers"][0]["speaker"] == engine.run("淨零排碳").by_speaker()[0].speaker


@pytest.mark.parametrize("query, filters", [
    ("開放政府", {"aliases": "1"}),
    ("淨零排碳", {"speaker": "局長", "since": "2022"}),
    ("數位部 -淨零", {"aliases": "1", "until": "2023"}),
])
def test_a_page_and_its_json_twins_answer_the_same_query(client, summary, query, filters):
    """/search, /api/search and /api/facets read the query, filters and aliases the same way."""
    args = {"q": query, **filters}
    page = get_page(client, "/search?" + "&".join(f"{k}={v}" for k, v in args.items()))
    search = client.get("/api/search", query_string={**args, "limit": "100"}).get_json()
    facets = client.get("/api/facets", query_string=args).get_json()
    wanted = {k: (v == "1" if k == "aliases" else v) for k, v in filters.items()}
    assert summary(query, **wanted) in page.text
    assert f"{search['total']} 段發言，{search['meetings']} 場會議" == summary(query, **wanted)
    assert (facets["total"], facets["meetings"]) == (search["total"], search["meetings"])
    assert sum(y["turns"] for y in facets["years"]) == search["total"]


def test_a_search_page_counts_each_turns_occurrences_once(client, monkeypatch):
    # Periods, both timelines and the speakers of one page come from one count: each matching
    # turn's text is read at most once (to verify it), never again for the facets.
    from indexer.store import StoreView

    read = []
    real = StoreView.count_in
    monkeypatch.setattr(StoreView, "count_in",
                        lambda view, docnums, term: read.extend((id(view), d) for d in docnums.tolist())
                        or real(view, docnums, term))
    page = client.get("/search?q=智慧城市")
    assert page.status_code == 200
    assert read and len(read) == len(set(read))


def test_meeting_json_has_the_sections_the_page_shows(client):
    record = client.get(f"/api/meetings/{RECORD_ID}").get_json()
    page = client.get(f"/meetings/{RECORD_ID}").get_data(as_text=True)
    sections = {t["section"] for t in record["turns"] if t["section"]}
    assert sections and all(f'<h2 class="section-heading">{s}</h2>' in page for s in sections)


def test_healthz(client, engine):
    data = client.get("/healthz").get_json()
    assert data["ok"] is True and data["meetings"] == engine.stats().meetings


# --- embed, CORS and headers --------------------------------------------------------------------


def test_embed_page_is_compact(client, summary):
    page = get_page(client, "/embed?q=淨零排碳")
    assert page.find("div", **{"data-civic-embed": ""})
    assert not page.find("header", **{"class": "site-header"})
    assert summary("淨零排碳") in page.text
    meeting_links = [a for t, a in page.tags if t == "a" and "/meetings/" in a.get("href", "")]
    assert meeting_links and all(a["target"] == "_blank" and a["rel"] == "noopener" for a in meeting_links)
    assert get_page(client, "/embed").find("input", name="q")
    assert client.get("/embed?q=%22x").status_code == 400


def test_cors_allows_configured_origin_on_api_only(client):
    response = client.get("/api/search?q=淨零", headers={"Origin": EMBED_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == EMBED_ORIGIN
    assert "Origin" in response.headers["Vary"]
    page = client.get("/search?q=淨零", headers={"Origin": EMBED_ORIGIN})
    assert "Access-Control-Allow-Origin" not in page.headers
    error = client.get("/api/search?q=", headers={"Origin": EMBED_ORIGIN})
    assert error.status_code == 400 and error.headers["Access-Control-Allow-Origin"] == EMBED_ORIGIN
    preflight = client.options("/api/search", headers={"Origin": EMBED_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == EMBED_ORIGIN


@pytest.mark.parametrize("origin", ["https://evil.example", "https://intranet.example.org.evil.example", "null"])
def test_cors_denies_other_origins(client, origin):
    response = client.get("/api/search?q=淨零", headers={"Origin": origin})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize(
    "url", ["/", "/search?q=淨零", "/search?q=%22", f"/meetings/{RECORD_ID}", "/embed", "/api/search?q=淨零",
            "/api/nope", "/nope", "/static/style.css", "/static/embed.js", "/healthz", "/export.csv?q=淨零"]
)
def test_security_headers_on_every_response(client, url):
    headers = fetch(client, url).headers
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "object-src 'none'", "base-uri 'none'", f"frame-ancestors 'self' {EMBED_ORIGIN}"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "X-Frame-Options" not in headers


def test_frame_ancestors_without_origins_is_self_only(index_dir, engine):
    app = create_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, "EMBED_ORIGINS": []})
    csp = app.test_client().get("/embed").headers["Content-Security-Policy"]
    assert re.search(r"frame-ancestors 'self'(;|$)", csp)


@pytest.mark.parametrize("url", ["/", "/search?q=淨零排碳", f"/meetings/{RECORD_ID}?q=淨零排碳", "/embed?q=淨零排碳", "/nope"])
def test_pages_have_no_inline_scripts_or_styles(client, url):
    page = Page(client.get(url).get_data(as_text=True))
    for tag, attrs in page.tags:
        assert "style" not in attrs, (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/")
        if tag == "link":  # stylesheets, and the search page's Atom feed (rel="alternate")
            assert attrs["href"].startswith("/static/" if attrs.get("rel") == "stylesheet" else ("/static/", "/feeds/"))
    assert "<style" not in client.get(url).get_data(as_text=True)


def test_static_files_are_local_and_safe(client):
    for name, mimetype in (("style.css", "text/css"), ("app.js", "javascript"), ("embed.js", "javascript"),
                           ("embed.css", "text/css")):
        response = fetch(client, f"/static/{name}")
        assert response.status_code == 200 and response.mimetype.endswith(mimetype)
        body = response.get_data(as_text=True)
        assert "http://" not in body and "https://" not in body.replace("https://search.example.org", "")
        assert "innerHTML" not in body and "eval(" not in body and "@import" not in body
    embed = fetch(client, "/static/embed.js").get_data(as_text=True)
    assert "document.currentScript" in embed and "textContent" in embed and "/api/search" in embed


# --- configuration --------------------------------------------------------------------------------


def test_engine_is_opened_lazily_once(index_dir):
    app = create_app({"INDEX_DIR": str(index_dir)})
    extension = app.extensions["civic_search"]
    assert extension._engine is None
    client = app.test_client()
    assert client.get("/api/search?q=淨零").status_code == 200
    engine = extension.engine
    assert engine is not None and engine.index_dir == index_dir
    client.get("/search?q=淨零")
    assert extension.engine is engine
    engine.close()


def test_missing_index_is_a_503(tmp_path):
    app = create_app({"INDEX_DIR": str(tmp_path / "none")})
    client = app.test_client()
    page = client.get("/search?q=x")
    assert page.status_code == 503 and "搜尋服務暫時無法使用" in page.get_data(as_text=True)
    api = client.get("/api/search?q=x")
    assert api.status_code == 503 and api.get_json()["status"] == 503


def test_configuration_from_environment(monkeypatch, index_dir):
    monkeypatch.setenv("CIVIC_SEARCH_INDEX", str(index_dir))
    monkeypatch.setenv("CIVIC_SEARCH_EMBED_ORIGINS", "https://a.example, https://b.example:8443  http://c.example/")
    monkeypatch.setenv("CIVIC_SEARCH_URL_PREFIX", "/search/")
    app = create_app()
    assert app.config["INDEX_DIR"] == str(index_dir)
    assert app.config["EMBED_ORIGINS"] == ["https://a.example", "https://b.example:8443", "http://c.example"]
    assert app.config["URL_PREFIX"] == "/search"
    override = create_app({"EMBED_ORIGINS": ["https://d.example"], "URL_PREFIX": ""})
    assert override.config["EMBED_ORIGINS"] == ["https://d.example"] and override.config["URL_PREFIX"] == ""


@pytest.mark.parametrize("suffix", [".json", ".py"])
def test_configuration_file(monkeypatch, tmp_path, index_dir, suffix):
    path = tmp_path / f"civic{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"INDEX_DIR": str(index_dir), "EMBED_ORIGINS": ["https://a.example"]}))
    else:
        path.write_text(f"INDEX_DIR = {str(index_dir)!r}\nEMBED_ORIGINS = 'https://a.example'\nURL_PREFIX = 'civic'\n")
    monkeypatch.delenv("CIVIC_SEARCH_INDEX", raising=False)
    monkeypatch.delenv("CIVIC_SEARCH_EMBED_ORIGINS", raising=False)
    monkeypatch.delenv("CIVIC_SEARCH_URL_PREFIX", raising=False)
    monkeypatch.setenv("CIVIC_SEARCH_CONFIG", str(path))
    app = create_app()
    assert app.config["INDEX_DIR"] == str(index_dir)
    assert app.config["EMBED_ORIGINS"] == ["https://a.example"]
    assert app.config["URL_PREFIX"] == ("/civic" if suffix == ".py" else "")
    # The environment wins over the file.
    monkeypatch.setenv("CIVIC_SEARCH_EMBED_ORIGINS", "https://b.example")
    assert create_app().config["EMBED_ORIGINS"] == ["https://b.example"]


@pytest.mark.parametrize("origins", ["*", "https://a.example; script-src *", "javascript:alert(1)", "intranet"])
def test_invalid_embed_origins_are_refused(origins):
    with pytest.raises(ValueError):
        create_app({"EMBED_ORIGINS": origins, "INDEX_DIR": "unused"})


def test_request_logging(client, caplog):
    with caplog.at_level(logging.INFO, logger="search_web"):
        client.get("/search?q=淨零")
        client.get("/api/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == "search_web"]
    assert re.fullmatch(r"GET /search 200 \d+\.\dms", lines[0])
    assert re.fullmatch(r"GET /api/nope 404 \d+\.\dms", lines[1])


# --- mounted under a URL prefix ---------------------------------------------------------------------

PREFIX_PAGES = [
    "/search/",
    "/search/search?q=淨零排碳",
    "/search/search?q=淨零排碳&view=turns",
    "/search/search?q=%22bad",
    f"/search/meetings/{RECORD_ID}?q=淨零排碳",
    "/search/embed?q=淨零排碳",
    "/search/no-such-page",
]


@pytest.fixture(scope="module")
def prefixed(index_dir, engine):
    return create_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, "URL_PREFIX": "/search"})


@pytest.mark.parametrize("url", PREFIX_PAGES)
def test_prefix_every_url_is_under_the_prefix(prefixed, url):
    client = prefixed.test_client()
    response = fetch(client, url)
    assert response.status_code in (200, 400, 404)
    urls = Page(response.get_data(as_text=True)).urls()
    assert urls
    for link in urls:
        assert link.startswith("/search/"), (url, link)
    for link in set(urls):
        if link.endswith("#main"):
            continue  # the skip link: this page itself
        target = link.split("#", 1)[0]
        if target.startswith("/search/api/speakers"):
            target += "?prefix=唐"
        assert fetch(client, target).status_code == 200, link


def test_prefix_api_and_assets(prefixed, engine):
    client = prefixed.test_client()
    assert client.get("/search/api/search?q=淨零").get_json()["total"] == engine.run("淨零").total
    assert fetch(client, "/search/static/embed.js").status_code == 200
    assert client.get("/search/healthz").get_json()["ok"] is True
    assert client.get("/search").status_code == 200
    rows = json.loads(client.get("/search/export.json?q=淨零排碳").data)["rows"]
    assert rows[0]["link"].startswith("http://localhost/search/meetings/")


def test_prefix_other_paths_are_404(prefixed):
    client = prefixed.test_client()
    response = client.get("/api/search?q=淨零")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers
    assert client.get("/searching").status_code == 404


def test_prefix_set_by_the_server(index_dir, engine):
    """A server that sets SCRIPT_NAME itself (waitress url_prefix) works with or without URL_PREFIX."""
    for config in ({}, {"URL_PREFIX": "/search"}):
        app = create_app({"INDEX_DIR": str(index_dir), "ENGINE": engine, **config})
        client = app.test_client()
        response = client.get("/search?q=淨零排碳", environ_overrides={"SCRIPT_NAME": "/search"})
        assert response.status_code == 200
        urls = Page(response.get_data(as_text=True)).urls()
        assert urls and all(u.startswith("/search/") for u in urls)
