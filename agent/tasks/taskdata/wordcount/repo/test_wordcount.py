from counter import top_words
from words import split_words


def test_split_on_spaces():
    assert split_words("the cat sat") == ["the", "cat", "sat"]


def test_split_strips_punctuation_and_case():
    assert split_words("Hello, World!") == ["hello", "world"]


def test_split_on_any_whitespace():
    assert split_words("one\ntwo\tthree  four") == ["one", "two", "three", "four"]


def test_top_words_returns_n_pairs():
    assert top_words("a b a c b a", 2) == [("a", 3), ("b", 2)]


def test_top_words_breaks_ties_alphabetically():
    assert top_words("pear apple pear apple fig", 3) == [("apple", 2), ("pear", 2), ("fig", 1)]


def test_top_words_across_lines():
    assert top_words("The end.\nThe start.", 1) == [("the", 2)]
