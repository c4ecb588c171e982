import copy

from defaults import DEFAULTS
from settings import load_settings

PRISTINE = copy.deepcopy(DEFAULTS)


def test_no_overrides_gives_the_defaults():
    assert load_settings() == PRISTINE


def test_nested_override_keeps_siblings():
    settings = load_settings({"database": {"pool": {"size": 10}}})
    assert settings["database"]["pool"] == {"size": 10, "timeout": 30}
    assert settings["database"]["url"] == "sqlite:///app.db"


def test_new_keys_are_added():
    assert load_settings({"cache": {"ttl": 60}})["cache"] == {"ttl": 60}


def test_overrides_do_not_leak_into_later_calls():
    load_settings({"server": {"port": 9000}, "debug": True})
    settings = load_settings()
    assert settings["server"]["port"] == 8000
    assert settings["debug"] is False


def test_defaults_are_never_modified():
    load_settings({"server": {"host": "0.0.0.0"}, "database": {"pool": {"timeout": 1}}})
    assert DEFAULTS == PRISTINE


def test_result_is_independent_of_the_defaults():
    settings = load_settings()
    settings["server"]["port"] = 1
    assert DEFAULTS["server"]["port"] == 8000
