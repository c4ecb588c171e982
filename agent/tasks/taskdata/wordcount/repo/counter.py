"""Word frequencies."""

from collections import Counter

from words import split_words


def top_words(text, n):
    """The `n` most common words of `text` as (word, count) pairs.

    Most common first; words with the same count are in alphabetical order.
    """
    counts = Counter(split_words(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n - 1]
