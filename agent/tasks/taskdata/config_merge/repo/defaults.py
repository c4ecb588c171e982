"""The default settings of the service; load_settings layers a user's overrides on top of them."""

DEFAULTS = {
    "server": {"host": "127.0.0.1", "port": 8000},
    "database": {"url": "sqlite:///app.db", "pool": {"size": 5, "timeout": 30}},
    "debug": False,
}
