"""The effective settings: the defaults with the user's overrides merged over them."""

from defaults import DEFAULTS
from merge import deep_merge


def load_settings(overrides=None):
    """DEFAULTS with `overrides` merged over them. DEFAULTS itself never changes."""
    return deep_merge(DEFAULTS, overrides or {})
