"""Reading speaker labels (indexer.labels) and the hand-checked list of labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.label_check import load_checked_labels, map_checked_label, score_mapping
from indexer.people import PersonList, load_person_list
from indexer.labels import read_label

CHECKED = Path(__file__).parent / "data" / "speaker_labels.tsv"


@pytest.mark.parametrize("label, kind, name, title, organisation", [
    ("唐鳳", "person", "唐鳳", "", ""),
    ("唐鳳召集人", "person", "唐鳳", "召集人", ""),
    ("唐召集人鳳", "person", "唐鳳", "召集人", ""),
    ("唐共同召集人鳳", "person", "唐鳳", "共同召集人", ""),
    ("行政院唐鳳政委", "person", "唐鳳", "政委", "行政院"),
    ("吳委員銘軒", "person", "吳銘軒", "委員", ""),
    ("黃委員長玲", "person", "黃長玲", "委員", ""),
    ("臺北市資訊局/呂新科局長", "person", "呂新科", "局長", "臺北市資訊局"),
    ("國發會社發處張處長富林", "person", "張富林", "處長", "國發會社發處"),
    ("臺北智慧城市專案辦公室 李鎮宇主任", "person", "李鎮宇", "主任", "臺北智慧城市專案辦公室"),
    ("Arnold 參議員", "person", "Arnold", "參議員", ""),
    ("唐院長", "surname", "", "院長", ""),
    ("國發會簡處長", "surname", "", "處長", "國發會"),
    ("雨蒼", "given", "雨蒼", "", ""),
    ("主席", "role", "", "主席", ""),
    ("內政部代表", "organisation", "", "代表", "內政部"),
    ("文化部", "organisation", "", "", "文化部"),
    ("魏守斌、彭筱婷", "group", "", "", ""),
    ("【經濟部補充說明】", "note", "", "", ""),
    ("諮委2", "unread", "", "", ""),
    ("", "none", "", "", ""),
])
def test_reading(label, kind, name, title, organisation):
    reading = read_label(label)
    assert (reading.kind, reading.name, reading.title, reading.organisation) == (kind, name, title, organisation)
    assert reading.person == (name if kind == "person" else "")


@pytest.mark.parametrize("label", ["新唐人", "時間", "廠商", "NEC Dev", "李○○(附議者)", "Kide0411", "1", "A"])
def test_words_that_are_no_name_name_nobody(label):
    assert read_label(label).person == ""


def test_the_checked_list_is_large_and_covers_the_traps():
    rows = load_checked_labels(CHECKED)
    labels = {r.label for r in rows}
    assert len(rows) >= 60
    assert {"唐鳳", "唐淑華", "唐召集人鳳", "唐共同召集人鳳", "吳委員銘軒", "吳銘軒委員", "彭委員啟明",
            "臺北市資訊局/呂新科局長", "國發會（Daniel Chiu）", "陳依婕 (中央健康保險署)", "主席", "主持人",
            "內政部代表", "Audrey Tang", "唐院長"} <= labels
    chair_rows = [r for r in rows if r.label == "主席"]
    assert {bool(r.chair) for r in chair_rows} == {True, False}  # with and without a header
    assert sum(not r.person for r in rows) >= 20  # organisations, roles and notes: nobody


def test_mapping_precision_and_recall_on_the_checked_list():
    score = score_mapping(load_checked_labels(CHECKED), load_person_list())
    wrong = [(row.label, row.person, got) for row, got in score.mistakes]
    assert score.precision >= 0.98, wrong
    assert score.recall >= 0.95, wrong


def test_checked_organisations_and_titles_are_read():
    for row in load_checked_labels(CHECKED):
        reading = read_label(row.label)
        for column, read in (("organisation", reading.organisation), ("title", reading.title)):
            expected = getattr(row, column)
            if expected:  # "-": nothing to read; empty: not checked
                assert read == ("" if expected == "-" else expected), (row.label, column)


def test_the_person_list_is_what_joins_another_script():
    rows = {r.label: r for r in load_checked_labels(CHECKED) if r.label in ("Audrey Tang", "Audrey")}
    assert {label: map_checked_label(row, load_person_list()) for label, row in rows.items()} == {
        "Audrey Tang": "唐鳳", "Audrey": "唐鳳"}
    bare = PersonList({}, "none")
    assert map_checked_label(rows["Audrey Tang"], bare) == "Audrey Tang"
