import pytest

from indexer.errors import QueryError
from indexer.query import And, DateRange, Field, Not, Or, Text, parse_query, positive_texts


def test_single_term():
    assert parse_query("淨零排碳") == Text("淨零排碳", 1)


def test_terms_are_anded():
    assert parse_query("淨零 台北") == And((Text("淨零", 1), Text("台北", 4)))


def test_or_binds_tighter_than_and():
    assert parse_query("淨零 台北 OR 臺中") == And((Text("淨零", 1), Or((Text("台北", 4), Text("臺中", 10)))))


@pytest.mark.parametrize("query", ["A OR B", "A | B", "A|B"])
def test_or_spellings(query):
    tree = parse_query(query)
    assert isinstance(tree, Or) and [c.value for c in tree.children] == ["A", "B"]


@pytest.mark.parametrize("query", ["淨零 -排放", "淨零 NOT 排放"])
def test_exclusion(query):
    tree = parse_query(query)
    assert isinstance(tree, And)
    assert isinstance(tree.children[1], Not) and tree.children[1].child.value == "排放"


def test_hyphen_inside_a_word_is_text():
    assert parse_query("top-down") == Text("top-down", 1)


def test_quoted_phrase_keeps_single_spaces():
    assert parse_query('"開放   政府"') == Text("開放 政府", 1, quoted=True)


def test_parentheses_group():
    tree = parse_query("(台北 OR 臺北) 淨零")
    assert tree == And((Or((Text("台北", 2), Text("臺北", 8))), Text("淨零", 12)))


def test_parentheses_inside_a_term_are_text():
    assert parse_query("PoC(概念驗證)") == Text("PoC(概念驗證)", 1)


def test_fields():
    tree = parse_query("speaker:唐鳳 title:協作會議 date:2021..2022-06")
    assert tree == And(
        (
            Field("speaker", "唐鳳", 1),
            Field("title", "協作會議", 12),
            DateRange("2021-01-01", "2022-06-30", 23),
        )
    )


@pytest.mark.parametrize(
    "value, since, until",
    [
        ("2022-09-05", "2022-09-05", "2022-09-05"),
        ("2022", "2022-01-01", "2022-12-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2021..", "2021-01-01", None),
        ("..2020", None, "2020-12-31"),
    ],
)
def test_date_forms(value, since, until):
    assert parse_query(f"date:{value}") == DateRange(since, until, 1)


def test_quoted_field_value():
    assert parse_query('speaker:"Audrey Tang"') == Field("speaker", "Audrey Tang", 1)


def test_urls_and_times_are_text():
    assert parse_query("https://example.org") == Text("https://example.org", 1)
    assert parse_query("10:30") == Text("10:30", 1)


@pytest.mark.parametrize(
    "query, message",
    [
        ('"淨零', "unbalanced quote: the phrase is never closed at position 1"),
        ("(A OR", "'OR' needs a term on each side at position 4"),
        ("(A", "unclosed '(' at position 1"),
        ("A)", "unmatched ')' at position 2"),
        ("speaker:", "field 'speaker' needs a value at position 1"),
        ("OR", "'OR' needs a term on each side at position 1"),
        ("A OR", "'OR' needs a term on each side at position 3"),
        ("-", "'-' needs a term right after it at position 1"),
        ("NOT", "'NOT' needs a term after it at position 1"),
        ("-淨零", "nothing to exclude from: add a term to search for at position 1"),
        ("A OR -B", "an excluded term cannot be one side of OR at position 6"),
        ("foo:bar", "unknown field 'foo' (fields: speaker, title, date; put the term in quotes to search for it as text) at position 1"),
        ("date:2023..2021", "the date range 2023..2021 ends before it starts at position 1"),
        ("date:2022-13-45", "'2022-13-45' is not a valid date at position 1"),
        ("date:yesterday", "'yesterday' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD) at position 1"),
        ("()", "empty parentheses at position 1"),
        ('""', "empty phrase at position 1"),
        ("", "empty query: type a word or phrase to search for"),
        ("   ", "empty query: type a word or phrase to search for"),
        ("a\x00b", "control character in query at position 2"),
    ],
)
def test_malformed_queries_name_the_position(query, message):
    with pytest.raises(QueryError) as err:
        parse_query(query)
    assert str(err.value) == message


def test_long_query_is_refused():
    with pytest.raises(QueryError, match="query too long"):
        parse_query("淨" * 10_000)


def test_positive_texts_skip_exclusions():
    assert positive_texts(parse_query("淨零 (台北 OR 臺中) -排放 speaker:唐鳳")) == ["淨零", "台北", "臺中"]
