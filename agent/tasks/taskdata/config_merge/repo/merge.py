"""Merging nested dictionaries."""

import copy


def deep_merge(base, override):
    """A new dict: `base` with `override` merged over it.

    Nested dicts are merged key by key; any other value in `override` replaces the one in `base`.
    Neither argument is modified, and the result shares no mutable value with them.
    """
    result = base
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
