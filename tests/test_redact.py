"""Redaction: what it takes out of a string, what it leaves, and how it counts."""

from __future__ import annotations

import html
import json
import random
import re
import string

import pytest

from agent.transcripts.export import FORMATS, export_transcript
from agent.transcripts.importers import open_transcript
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


# --- the shapes of secrets, through every export format ------------------------------------------------------
# One fake of each kind (none is a real credential), as a file would hold it. Each is met three ways in a run:
# in a read_file result (numbered lines), quoted in the assistant's text, and written by write_file (so it
# is JSON-escaped in the call's arguments); every export format must lose every one of its fragments.


ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def fake(kind: str, n: int, alphabet: str = ALNUM) -> str:
    """`n` characters of `alphabet`, the same for the same `kind`, and no other shape's (so that one
    shape's leak cannot pass for another's)."""
    return "".join(random.Random(kind).choices(alphabet, k=n))


def _pem(kind: str, seed: str = "") -> tuple[str, list[str]]:
    seed = seed or kind
    body = [fake(seed + "1", 64, ALNUM + "+/"), fake(seed + "2", 64, ALNUM + "+/"), fake(seed + "3", 20) + "=="]
    return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(body) + f"\n-----END {kind}PRIVATE KEY-----", body


def _gcp_service_account() -> tuple[str, list[str]]:
    pem, body = _pem("", "gcp")
    return ('{\n  "type": "service_account",\n  "project_id": "fake-project",\n'
            f'  "private_key": "{pem.replace(chr(10), chr(92) + "n")}\\n",\n'
            '  "client_email": "fake@fake-project.iam.gserviceaccount.com"\n}', body)


F = {kind: fake(kind, 64) for kind in ("github", "gho", "pat", "glpat", "slack", "hook", "stripe", "rk", "openai",
                                       "proj", "ant", "hf", "sg1", "sg2", "google", "npm", "pypi", "azure", "sas",
                                       "square")}
X = {kind: fake(kind, 64, HEX) for kind in ("twilio", "do", "mailgun", "shopify", "databricks")}
SHAPES: dict[str, tuple[str, list[str]]] = {
    "aws access key id": ("aws_access_key_id = AKIAZ7Q3TESTFAKE0042", ["AKIAZ7Q3TESTFAKE0042"]),
    "aws secret access key": ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKE0042QQ",
                              ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKE0042QQ"]),
    "github pat": (f"token: ghp_{F['github'][:36]}", [F["github"][:36]]),
    "github oauth token": (f"gho_{F['gho'][:36]} was printed", [F["gho"][:36]]),
    "github fine-grained pat": (f"GH=github_pat_11ABCDEFG0_{F['pat'][:60]}", [F["pat"][:60]]),
    "gitlab pat": (f"git push https://oauth2@gitlab.com (glpat-{F['glpat'][:20]})", [F["glpat"][:20]]),
    "slack bot token": (f"slack.token xoxb-1234567890123-1234567890123-{F['slack'][:24]}", [F["slack"][:24]]),
    "slack webhook": (f"post to https://hooks.slack.com/services/T0FAKE00/B0FAKE00/{F['hook'][:24]}",
                      [F["hook"][:24]]),
    "stripe secret key": (f"stripe.api = sk_live_{F['stripe'][:24]}", [F["stripe"][:24]]),
    "stripe restricted key": (f"use rk_live_{F['rk'][:24]} here", [F["rk"][:24]]),
    "openai key": (f"key: sk-{F['openai'][:48]}", [F["openai"][:48]]),
    "openai project key": (f"sk-proj-{F['proj'][:58]}T3BlbkFJ{F['proj'][-58:]}", [F["proj"][:58], F["proj"][-58:]]),
    "anthropic key": (f"ANTHROPIC=sk-ant-api03-{F['ant'][:60]}AA", [F["ant"][:60]]),
    "hugging face token": (f"hf_{F['hf'][:34]} in the cache", [F["hf"][:34]]),
    "sendgrid key": (f"SG.{F['sg1'][:22]}.{F['sg2'][:43]}", [F["sg1"][:22], F["sg2"][:43]]),
    "twilio api key": (f"twilio SK{X['twilio'][:32]} for the account", [X["twilio"][:32]]),
    "google api key": (f"maps?key=AIza{F['google'][:35]}", [F["google"][:35]]),
    "gcp service account, as read_file shows it": _gcp_service_account(),
    "pem rsa private key": _pem("RSA "),
    "pem ec private key": _pem("EC "),
    "pem pkcs8 private key": _pem("", "pkcs8"),
    "pem dsa private key": _pem("DSA "),
    "pem encrypted private key": _pem("ENCRYPTED "),
    "openssh private key": _pem("OPENSSH "),
    "private key cut short": (_pem("CUT ")[0].split("\n")[0] + "\n" + _pem("CUT ")[1][0] + "\n[output truncated]",
                              _pem("CUT ")[1][:1]),
    "jwt": (f"session: {JWT}", [JWT.split(".")[1], JWT.split(".")[2]]),
    "basic auth header": ('curl -H "Authorization: Basic dXNlcjpGQUtFcGFzc3dvcmQ0Mg==" https://api.example.com',
                          ["dXNlcjpGQUtFcGFzc3dvcmQ0Mg"]),
    "url user:password": ("DATABASE_URL=postgres://admin:FAKEpass42word@db.internal:5432/app", ["FAKEpass42word"]),
    "url credentials, json-escaped": ('{"url": "https:\\/\\/bot:FAKEescaped42@git.example.com\\/r.git"}',
                                      ["FAKEescaped42"]),
    "bearer token": ("Authorization: Bearer FAKEbearer0042tokenVALUE", ["FAKEbearer0042tokenVALUE"]),
    "curl user": ("curl -u admin:FAKEcurlPass42 https://api.example.com", ["FAKEcurlPass42"]),
    "api key header": ("curl -H 'X-Api-Key: FAKEheaderKEY0042' https://api.example.com", ["FAKEheaderKEY0042"]),
    "npm token": (f"npm_{F['npm'][:36]}", [F["npm"][:36]]),
    "npmrc auth token": ("//registry.npmjs.org/:_authToken=FAKE0042-aaaa-bbbb-cccc-npmrcTOKEN00",
                         ["FAKE0042-aaaa-bbbb-cccc-npmrcTOKEN00"]),
    "pypi token": (f"password = pypi-AgEIcHlwaS5vcmc{F['pypi'][:60]}", [F["pypi"][:60]]),
    "azure storage connection string": (
        f"DefaultEndpointsProtocol=https;AccountName=fake;AccountKey={fake('accountkey', 86, ALNUM + '+/')}==;"
        "EndpointSuffix=core.windows.net", [fake("accountkey", 86, ALNUM + "+/")]),
    "azure ad client secret": (f"client secret abc8Q~{F['azure'][:34]} expires soon", [F["azure"][:34]]),
    "azure sas url": (f"https://fake.blob.core.windows.net/c?sv=2022-11-02&sig={F['sas'][:43]}%3D",
                      [F["sas"][:43]]),
    "digitalocean token": (f"doctl auth init -t dop_v1_{X['do']}", [X["do"]]),
    "mailgun key": (f"mailgun: key-{X['mailgun'][:32]}", [X["mailgun"][:32]]),
    "square token": (f"SQUARE=sq0atp-{F['square'][:22]}", [F["square"][:22]]),
    "shopify token": (f"X-Shopify-Access-Token: shpat_{X['shopify'][:32]}", [X["shopify"][:32]]),
    "databricks token": (f"host=x token dapi{X['databricks'][:32]}", [X["databricks"][:32]]),
    "password assignment": ("DB_PASSWORD=FAKEhunter2pass", ["FAKEhunter2pass"]),
    "password in code": ('connect(user="bob", password="FAKE two words")', ["FAKE two words"]),
    "json key in a json string": (json.dumps(json.dumps({"api_key": "FAKEjsonESCAPEDvalue42"})),
                                  ["FAKEjsonESCAPEDvalue42"]),
    "yaml block value over lines": ("db:\n  password: |\n    FAKEfirstLINE42\n    FAKEsecondLINE42\n  user: bob",
                                    ["FAKEfirstLINE42", "FAKEsecondLINE42"]),
}


def _numbered(text: str) -> str:
    """As read_file shows a file."""
    return "\n".join(f"{n:>4}| {line}" for n, line in enumerate(text.split("\n"), start=1))


def _messages() -> list[dict[str, object]]:
    messages: list[dict[str, object]] = [{"role": "system", "content": "You audit credentials."},
                                         {"role": "user", "content": "Read the files and report."}]
    for n, (text, _) in enumerate(SHAPES.values()):
        messages += [
            {"role": "assistant", "content": f"Found in file {n}: {text}", "tool_calls": [
                {"id": f"call_r{n}", "type": "function",
                 "function": {"name": "read_file", "arguments": json.dumps({"path": f"f{n}.txt"})}},
                {"id": f"call_w{n}", "type": "function",
                 "function": {"name": "write_file", "arguments": json.dumps({"path": f"g{n}.txt", "content": text})}}]},
            {"role": "tool", "tool_call_id": f"call_r{n}", "content": _numbered(text)},
            {"role": "tool", "tool_call_id": f"call_w{n}", "content": f"wrote 1 line to g{n}.txt"},
        ]
    return messages


def _readable(fmt: str, text: str) -> str:
    """The export as a reader sees it: HTML entities and Markdown escapes undone, JSON strings decoded."""
    if fmt == "html":
        return html.unescape(text)
    if fmt == "md":
        return re.sub(r"\\(.)", r"\1", text)
    return "\n".join(_strings(json.loads(text)))


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value, *_strings(json.loads(value))] if value[:1] in "{[" and _parses(value) else [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], str]:
    path = tmp_path_factory.mktemp("shapes") / "shapes.json"
    path.write_text(json.dumps(_messages()), encoding="utf-8")
    transcript = open_transcript(path)
    return {(fmt, redact): _readable(fmt, export_transcript(transcript, fmt, redact=redact,
                                                            redactor=Redactor(environ={})).text)
            for fmt in FORMATS for redact in (True, False)}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_no_shape_of_secret_survives_an_export(shape: str, fmt: str, exports: dict[tuple[str, bool], str]) -> None:
    fragments = SHAPES[shape][1]
    assert all(f in exports[fmt, False] for f in fragments), "the run holds it (export --no-redact shows it)"
    assert [f for f in fragments if f in exports[fmt, True]] == []


def test_a_private_key_in_a_secret_named_field_counts_once() -> None:
    r = Redactor(environ={})
    out = r.text(_numbered(SHAPES["gcp service account, as read_file shows it"][0]))
    assert '   4|   "private_key": "[REDACTED]",' in out.split("\n")
    assert list(r.found.values()) == ["private key"]
