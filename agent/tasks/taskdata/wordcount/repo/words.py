"""Splitting text into words."""

import string


def split_words(text):
    """The lower-cased words of `text`, without surrounding punctuation.

    Any run of whitespace (spaces, tabs, newlines) separates two words.
    """
    words = []
    for chunk in text.split(" "):
        word = chunk.strip(string.punctuation).lower()
        if word:
            words.append(word)
    return words
