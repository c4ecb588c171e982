"""Redaction: what it takes out of a string, what it leaves, and how it counts."""

from __future__ import annotations

import json

import pytest

from agent.transcripts.redact import MARK, Redactor

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(("text", "expected"), [
    ("key sk-abcdefghijklmnop1234567890 here", f"key {MARK} here"),
    ("sk-proj-AbCdEfGhIjKlMnOpQrStUvWx_yz-0123", MARK),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", MARK),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", MARK),
    ("xoxb-123456789012-abcdefghijkl", MARK),
    ("AKIAIOSFODNN7EXAMPLE", MARK),
    (f"token {JWT}.", f"token {MARK}."),
    ("Authorization: Bearer abc.def-ghi_12345678", f"Authorization: Bearer {MARK}"),
    ("DB_PASSWORD=hunter2", f"DB_PASSWORD={MARK}"),
    ("PGPASSWORD=s3cr3t!x psql", f"PGPASSWORD={MARK} psql"),
    ("export API_TOKEN='two words'", f"export API_TOKEN='{MARK}'"),
    ('db_pwd = "hunter 2"', f'db_pwd = "{MARK}"'),
    ('{"client_secret": "abc123", "region": "eu"}', f'{{"client_secret": "{MARK}", "region": "eu"}}'),
    ("service:\n  api_token: abc123\n  user: bob", f"service:\n  api_token: {MARK}\n  user: bob"),
    ("  12|   password: letmein", f"  12|   password: {MARK}"),
    ("postgres://admin:pa55@db.example.com:5432/app", f"postgres://{MARK}@db.example.com:5432/app"),
    ("git clone https://tok123@github.com/o/r.git", f"git clone https://{MARK}@github.com/o/r.git"),
    ("https://example.com/cb?access_token=qwerty&x=1", f"https://example.com/cb?access_token={MARK}&x=1"),
])
def test_secrets_are_replaced(text: str, expected: str) -> None:
    r = Redactor(environ={})
    assert r.text(text) == expected
    assert r.count == 1


@pytest.mark.parametrize("text", [
    "ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))",
    "token = tokens[i]; key=key; api_key = os.environ['X']; k=$API_KEY",
    "max_tokens=100 prompt_tokens=5 if key == 3:",
    "class A:\n    password: str = ''\n    token: Optional[str]\n",
    "sk-learn is fine; mail me@example.com; https://example.com/a@b; key=None",
    "api_key = get_key()",
])
def test_code_and_plain_text_stay(text: str) -> None:
    r = Redactor(environ={})
    assert r.text(text) == text
    assert r.count == 0


def test_json_text_is_redacted_value_by_value_and_stays_json() -> None:
    r = Redactor(environ={})
    arguments = json.dumps({"path": "cfg.yaml", "content": 'db:\n  password: hunter2\nX_KEY="abc"\n'})
    out = json.loads(r.text(arguments))
    assert out == {"path": "cfg.yaml", "content": f'db:\n  password: {MARK}\nX_KEY="{MARK}"\n'}
    nested = json.dumps(json.dumps({"password": "inner"}))  # JSON inside a JSON string
    assert "inner" not in r.text(nested)


def test_environment_values_go_literally_and_counts_are_distinct() -> None:
    r = Redactor(environ={"MY_SERVICE_TOKEN": "plain-looking-value", "SHORT_KEY": "abc", "HOME": "/root/home"})
    assert r.text("a plain-looking-value b plain-looking-value") == f"a {MARK} b {MARK}"
    assert r.text("abc /root/home") == "abc /root/home"  # too short, or not a secret's name
    r.text("x=1 GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    assert r.count == 2
    assert r.summary() == "2 secrets redacted (environment value, github token)"
    assert Redactor(environ={}).summary() == "redaction on: nothing looked like a secret"


def test_value_walks_keys_lists_and_leaves_other_types() -> None:
    r = Redactor(environ={})
    value = {"sk-abcdefghijklmnop1234567890": [1, None, "PASSWORD=x1", {"n": 2.5}]}
    assert r.value(value) == {MARK: [1, None, f"PASSWORD={MARK}", {"n": 2.5}]}
