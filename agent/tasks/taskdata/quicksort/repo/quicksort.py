"""Quicksort, written for clarity rather than speed."""


def quicksort(items):
    """Return a new list with the items of `items` in ascending order."""
    if len(items) <= 1:
        return list(items)
    pivot = items[len(items) // 2]
    smaller = [x for x in items if x < pivot]
    larger = [x for x in items if x > pivot]
    return quicksort(smaller) + [pivot] + quicksort(larger)
