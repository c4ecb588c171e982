"""Export: a run that read a file of planted secrets, shared as HTML, Markdown and a message list.

Nothing planted survives in any format, every tool_call_id is there, the page loads nothing from anywhere
(checked on the parsed page, and again in the DOM headless Chromium builds from it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agent.cli import commands as cli
from agent.export.export import FORMATS, export_transcript
from agent.transcripts.importers import open_transcript
from agent.view.model import ID_PALETTE
from tests.conftest import DATA, call, reply, write_script

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLXBsYW50ZWQtMTIz"
PLANTED = {
    "openai project key": "sk-proj-PLANTEDaaaaBBBBccccDDDD1234",
    "openai key": "sk-PLANTEDplainKEY0123456789abcd",
    "github token": "ghp_PLANTEDgithubTOKEN0123456789abcdef",
    "slack token": "xoxb-123456789012-PLANTEDslack",
    "aws key": "AKIAPLANTED123456789",
    "jwt": JWT,
    "bearer": "PLANTEDbearerTOKENvalue99",
    "password": "hunter2-PLANTED",
    "json secret": "json-PLANTED-client-secret",
    "yaml token": "yaml-PLANTED-token",
    "url password": "pa55word-PLANTED",
    "url token": "urlTOKENplanted0000",
    "env value": "plain-looking-PLANTED-value",
}
SECRETS_FILE = f"""# service credentials (planted for the export test)
OPENAI_API_KEY={PLANTED["openai project key"]}
LEGACY_KEY="{PLANTED["openai key"]}"
GITHUB_TOKEN={PLANTED["github token"]}
slack = {PLANTED["slack token"]}
aws_access_key_id = {PLANTED["aws key"]}
session: {PLANTED["jwt"]}
curl -H "Authorization: Bearer {PLANTED["bearer"]}" https://api.example.com
DB_PASSWORD={PLANTED["password"]}
DATABASE_URL=postgres://admin:{PLANTED["url password"]}@db.internal:5432/app
git clone https://{PLANTED["url token"]}@github.com/acme/private.git
pasted from the shell: {PLANTED["env value"]}
"""
CONFIG = json.dumps({"client_secret": PLANTED["json secret"], "region": "eu"}, indent=2) + \
    f"\nservice:\n  api_token: {PLANTED['yaml token']}\n"
HOSTILE = ('<script src="http://evil.example/x.js"></script><img src=http://evil.example/t.png>'
           '<style>@import url(http://evil.example/s.css)</style><a href="http://evil.example">x</a> \x1b[31mred')
IDS = ["call_ls", "call_read", "call_cfg", "call_grep", "call_note", "call_test", "call_done"]


@pytest.fixture
def secret_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A headless run of the scripted model that reads the secrets, echoes one, writes one, runs a test
    command that prints the file, and meets some hostile HTML."""
    monkeypatch.setenv("PLANTED_SERVICE_KEY", PLANTED["env value"])
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "secrets.env").write_text(SECRETS_FILE)
    (ws / "config.json").write_text(CONFIG)
    (ws / "page.html").write_text(HOSTILE)
    (ws / "sort.py").write_text("ranked = sorted(counts.items(), key=lambda item: -item[1])\n")
    script = write_script(tmp_path / "script.json", [
        reply("Let me look around.", call("call_ls", "list_files"), call("call_read", "read_file", path="secrets.env")),
        reply(f"The file has OPENAI_API_KEY={PLANTED['openai project key']}; and the config?",
              call("call_cfg", "read_file", path="config.json"), call("call_grep", "grep", pattern="<script")),
        reply(None, call("call_note", "write_file", path="notes.txt",
                         content=f"token to rotate: {PLANTED['github token']}\nDB_PASSWORD={PLANTED['password']}\n")),
        reply(None, call("call_test", "run_tests")),
        reply("Done.", call("call_done", "finish", summary=f"rotated {PLANTED['slack token']}")),
    ])
    out = tmp_path / "run.jsonl"
    code = cli.main(["run", "--headless", "--workspace", str(ws), "--script", str(script), "--out", str(out),
                     "--goal", f"Audit the credentials; the DB is postgres://admin:{PLANTED['url password']}@db",
                     "--test-cmd", "cat secrets.env page.html sort.py", "--reflection", "off"])
    assert code in (0, 1)
    raw = out.read_text()
    assert PLANTED["openai project key"] in raw and PLANTED["env value"] in raw  # the run did meet them
    return out


class PageParts(HTMLParser):
    """Every tag, attribute and stylesheet of a page, to check what it would load."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def assert_loads_nothing(page: str) -> None:
    parts = PageParts()
    parts.feed(page)
    assert not {"script", "link", "img", "iframe", "object", "embed", "base", "form", "audio", "video",
                "source"} & set(parts.tags)
    assert [k for k, _ in parts.attrs if k in ("src", "srcset", "action", "background", "poster")] == []
    assert all(v.startswith("#") for k, v in parts.attrs if k == "href"), [v for k, v in parts.attrs if k == "href"]
    assert all("url(" not in v for k, v in parts.attrs if k == "style")
    assert len(parts.styles) == 1 and "@import" not in parts.styles[0] and "url(" not in parts.styles[0]


def test_no_planted_secret_survives_any_format(secret_run: Path) -> None:
    transcript = open_transcript(secret_run)
    for fmt in FORMATS:
        export = export_transcript(transcript, fmt)
        leaked = {name: s for name, s in PLANTED.items() if s in export.text}
        assert leaked == {}, fmt
        for call_id in IDS:
            assert call_id in export.text, (fmt, call_id)
        assert export.redacted >= len(PLANTED)
        assert "[REDACTED]" in export.text
    assert "sorted(counts.items(), key=lambda item" in export_transcript(transcript, "md").text  # code is code


def test_the_page_loads_nothing_and_says_what_it_redacted(secret_run: Path) -> None:
    page = export_transcript(open_transcript(secret_run), "html").text
    assert_loads_nothing(page)
    assert "&lt;script src=&quot;http://evil.example/x.js&quot;&gt;" in page  # hostile HTML shown as text
    assert "\x1b" not in page and "␛[31mred" in page
    assert "secrets redacted" in page
    for call_id in IDS:  # each id on its call and on its result, in the same colour, linked both ways
        assert f'href="#result-{IDS.index(call_id)}">{call_id}</a>' in page
        assert f'href="#call-{IDS.index(call_id)}">{call_id}</a>' in page
    assert page.count('<details class="iteration"') == 5 and page.count('<details class="request"') == 5


def test_no_redact_keeps_the_text(secret_run: Path) -> None:
    export = export_transcript(open_transcript(secret_run), "md", redact=False)
    assert PLANTED["github token"] in export.text and export.redacted == 0 and "redaction off" in export.text


def test_json_is_a_plain_message_list(secret_run: Path) -> None:
    messages = json.loads(export_transcript(open_transcript(secret_run), "json").text)
    assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
    assert [m["tool_call_id"] for m in messages if m["role"] == "tool"] == IDS
    json.loads(messages[2]["tool_calls"][1]["function"]["arguments"])  # arguments stay JSON text


def test_cli_export_writes_beside_the_file_and_to_stdout(secret_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", str(secret_run)]) == 0
    out = capsys.readouterr().out
    page = secret_run.with_suffix(".html")
    assert f"wrote {page}" in out and "secrets redacted" in out and page.exists()
    assert cli.main(["export", str(secret_run), "--format", "md", "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# agent-tui run") and "secrets redacted" in captured.err
    assert cli.main(["export", str(secret_run), "--format", "json", "-o", str(secret_run)]) == 2
    assert "is the transcript itself" in capsys.readouterr().err
    assert cli.main(["export", str(secret_run.parent / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    typo = secret_run.parent / "no-such-folder" / "x.md"  # a typo in -o makes no folders
    assert cli.main(["export", str(secret_run), "--format", "md", "-o", str(typo)]) == 2
    assert f"cannot write {typo}: no folder {typo.parent}" in capsys.readouterr().err
    assert not typo.parent.exists()


@pytest.mark.parametrize("name", ["bad_order.json", "mini_swe_agent.traj.json", "messages_object.json",
                                  "messages_array.json"])
def test_every_format_the_app_opens_exports(name: str, tmp_path: Path) -> None:
    transcript = open_transcript(DATA / name)
    ids = {c["id"] for m in transcript.messages() for c in m.get("tool_calls") or ()}
    for fmt in FORMATS:
        text = export_transcript(transcript, fmt).text
        assert all(i in text for i in ids), (name, fmt)
    json_roles = {m["role"] for m in json.loads(export_transcript(transcript, "json").text)}
    assert "exit" not in json_roles  # mini-swe-agent's exit is not a Chat Completions role
    title = export_transcript(transcript, "md").text.split("\n", 1)[0]
    assert title == f"# {transcript.header.source} run, read by agent-tui"  # not called one of ours


def test_ordering_findings_are_inline() -> None:
    transcript = open_transcript(DATA / "bad_order.json")
    page = export_transcript(transcript, "html").text
    md = export_transcript(transcript, "md").text
    assert "4 violations" in page
    for rule in ("missing-result", "note-inside-batch", "orphan-result"):
        assert f"[{rule}]</p>" in page and f"\\[{rule}\\]" in md
    assert page.count("[missing-result]") == 1  # on the assistant message, not again on its call
    assert_loads_nothing(page)


def test_ids_take_the_apps_palette_in_order() -> None:
    page = export_transcript(open_transcript(DATA / "messages_array.json"), "html").text
    assert f".id0 {{ --id: {ID_PALETTE[0]}; }}" in page
    assert 'class="entry call id0" id="call-0"' in page and 'class="entry result id0" id="result-0"' in page
    assert 'class="entry call id1" id="call-1"' in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_chromium_renders_the_page_with_every_id(secret_run: Path, tmp_path: Path) -> None:
    page = tmp_path / "run.html"
    page.write_text(export_transcript(open_transcript(secret_run), "html").text, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                              capture_output=True, text=True, timeout=120)
    dom = done.stdout
    assert done.returncode == 0 and "</html>" in dom, done.stderr[-2000:]
    parts = PageParts()
    parts.feed(dom)
    assert "script" not in parts.tags and "img" not in parts.tags  # the hostile markup stayed text
    for i, call_id in enumerate(IDS):
        assert f'id="call-{i}"' in dom and f'id="result-{i}"' in dom and dom.count(call_id) >= 2
    assert all(s not in dom for s in PLANTED.values())
