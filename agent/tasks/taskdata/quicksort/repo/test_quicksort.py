import random

from quicksort import quicksort


def test_empty_and_single():
    assert quicksort([]) == []
    assert quicksort([7]) == [7]


def test_distinct_values():
    assert quicksort([3, 1, 2]) == [1, 2, 3]


def test_keeps_duplicates():
    assert quicksort([3, 1, 3, 2, 1]) == [1, 1, 2, 3, 3]


def test_all_equal():
    assert quicksort([5, 5, 5]) == [5, 5, 5]


def test_input_is_not_modified():
    data = [2, 1, 2]
    quicksort(data)
    assert data == [2, 1, 2]


def test_matches_sorted_on_random_data():
    rng = random.Random(42)
    for _ in range(50):
        data = [rng.randint(0, 20) for _ in range(rng.randint(0, 30))]
        assert quicksort(data) == sorted(data)
