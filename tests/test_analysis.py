import pytest

from indexer.analysis import BigramTokenizer, bigrams, fold, fold_with_offsets, segment_words


@pytest.mark.parametrize(
    "text, folded",
    [
        ("臺北", "台北"),
        ("淨零排碳", "净零排碳"),
        ("ＡＩ", "ai"),
        ("第５次", "第5次"),
        ("Living Lab", "living lab"),
        ("數位發展部", "数位发展部"),
        ("a\u3000b\u00a0c\nd\te", "a b c d e"),
        ("（概念驗證）", "(概念验证)"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_is_substring_stable():
    text = "推動淨零排碳與臺北通，ＡＩ第５次…完成"
    for i in range(len(text)):
        for j in range(i + 1, len(text) + 1):
            assert fold(text[i:j]) in fold(text)


def test_offsets_identity_when_lengths_kept():
    ft = fold_with_offsets("臺北市")
    assert ft.starts is None
    assert ft.to_original(1, 3) == (1, 3)


def test_offsets_map_back_after_expansion():
    text = "前言…淨零排碳"  # NFKC turns … into three dots
    ft = fold_with_offsets(text)
    assert ft.folded == "前言...净零排碳"
    start = ft.folded.index("净零")
    o_start, o_end = ft.to_original(start, start + 4)
    assert text[o_start:o_end] == "淨零排碳"
    dots = ft.to_original(2, 5)
    assert text[dots[0] : dots[1]] == "…"


def test_bigrams_skip_spaces_and_punctuation():
    assert bigrams("净零 排碳,ok") == {"净零", "排碳", "ok"}
    assert bigrams("a") == set()


def test_bigram_tokenizer_emits_each_bigram_once_with_positions():
    tokens = [(t.text, t.pos, t.startchar) for t in BigramTokenizer()("abab", positions=True, chars=True)]
    assert tokens == [("ab", 0, 0), ("ba", 1, 1)]


def test_segment_words_uses_civic_dictionary_and_folds():
    words = segment_words("臺北市推動淨零排碳，台北通上線")
    assert "净零排碳" in words
    assert "台北通" in words
    assert "，" not in words
