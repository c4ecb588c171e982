"""Every regular expression that reads what a model, a tool or a stranger's file wrote runs in linear time.

A quadratic pattern froze the event loop at 100% CPU with SIGTERM ignored (a Python signal handler waits
for the regex): edit_file's hint on an `old` of 40k newlines took 14.6 s, the fold's cause pattern on one
200 kB reply line 186 s, the export redactor on 100 kB of `a` or of `eyJ-` as long. Each case runs its
pattern on a large adversarial input in a child process; the time limit is a hang guard (quadratic would
take minutes to hours), not a speed check.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.export.redact import KEY_SHAPES
from tests.conftest import call, reply, write_script

REPO = Path(__file__).resolve().parent.parent
HANG_GUARD_S = 20
N = 200_000
"""Characters of adversarial input: a quadratic pattern does about N² steps on them."""


def finishes(code: str) -> None:
    """Run `code` in a child; it must end within the hang guard, without an error."""
    try:
        done = subprocess.run([sys.executable, "-c", f"N = {N}\n" + code], cwd=REPO, capture_output=True, text=True,
                              timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {HANG_GUARD_S} s (superlinear?):\n{code}")
    assert done.returncode == 0, done.stderr


CASES = {
    "edit_file hint, old of many newlines": """
import asyncio, json, tempfile
from agent.tools.sandbox import Sandbox
from agent.tools.toolbox import Toolbox
from agent.tools.workspace import Workspace
with tempfile.TemporaryDirectory() as root:
    open(f"{root}/a.py", "w").write("x = 1\\n")
    box = Toolbox(Workspace(root, Sandbox("none")), "true")
    out = asyncio.run(box.execute("edit_file", json.dumps({"path": "a.py", "old": "\\n" * (N * 5), "new": "y"})))
    assert "not found" in out.content, out.content
""",
    "fold cause, one long line of words": """
from agent.display.folding import fold_plan
lines = ["x"] * 30
lines[15] = "a." * (N // 2)
assert fold_plan(lines)
""",
    "fold cause, a long pytest summary": """
from agent.display.folding import CAUSE
CAUSE.search("= " + "failed " * (N // 7))
CAUSE.search("=== " + "= " * (N // 2) + "x")
""",
    "error marks, exit code and summary lines": """
from agent.display.errors import text_mark
text_mark("returncode" + " " * N + "x")
text_mark("= " + "1 failed " * (N // 9))
""",
    "text tool calls, blocks and fences of spaces": """
from agent.models.textcalls import parse_text_calls
parse_text_calls("<tool_call>x" + " " * N + "y", ["finish"])
parse_text_calls("```" + " " * N + "x", ["finish"])
""",
    "text tool calls, brackets that never close and nest too deep": """
from agent.models.textcalls import parse_text_calls
assert parse_text_calls("{" * N, ["finish"])[0] == []
assert parse_text_calls("<tool_call>" + "{" * N, ["finish"])[0] == []
assert parse_text_calls(("<tool_call>" + "{" * 4000 + "</tool_call>") * (N // 4000), ["finish"])[0] == []
assert parse_text_calls("[" * 3000, ["finish"])[0] == []  # deeper than the JSON parser goes: no RecursionError
calls, _ = parse_text_calls("{" * 1000 + ' {"name": "finish", "arguments": {"summary": "s"},}', ["finish"])
assert [c.name for c in calls] == ["finish"]  # near-JSON after the junk is still found
""",
    "reflection, unclosed think and trigger tags, digits": """
from agent.reflection.reflector import parse_triggers, summarize_test_failure, without_thinking
assert without_thinking("<think>" * (N // 7)) == "<think>" * (N // 7)
assert parse_triggers('<trigger kind="a">\\n' * (N // 19)) == []
summarize_test_failure("tests failed\\n" + "1" * N)
""",
    "redact: a name without a value (100 kB of a)": "from agent.export.redact import Redactor\n"
                                                    "Redactor(environ={}).text('a' * N)",
    "redact: a jwt that never ends (eyJ-)": "from agent.export.redact import Redactor\n"
                                            "Redactor(environ={}).text('eyJ-' * (N // 4))",
    "redact: a bare value that is called": "from agent.export.redact import Redactor\n"
                                           "Redactor(environ={}).text('a=' * (N // 2) + '(')",
    "redact: quoted values left open": "from agent.export.redact import Redactor\n"
                                       "r = Redactor(environ={})\n"
                                       "r.text('password=\"' + 'a' * N); r.text('key: \\\\\"' * (N // 7))",
    "redact: url schemes and user parts": "from agent.export.redact import Redactor\n"
                                          "r = Redactor(environ={})\n"
                                          "r.text('a-' * (N // 2)); r.text('a://' + 'b:' * (N // 2)); "
                                          "r.text('http://u@' + '.' * N)",
    "redact: authorization headers": "from agent.export.redact import Redactor\n"
                                     "r = Redactor(environ={})\n"
                                     "r.text('Authorization: Basic ' * (N // 21)); r.text('Bearer' + ' ' * N); "
                                     "r.text('X-Api-Key:' + ' ' * N); r.text('-u ' + 'a' * N)",
    "redact: private keys without an end": "from agent.export.redact import Redactor\n"
                                           "r = Redactor(environ={})\n"
                                           "r.text('-----BEGIN PRIVATE KEY-----' * (N // 27)); "
                                           "r.text('-----BEGIN ' + 'A' * N)",
    "redact: yaml block values": "from agent.export.redact import Redactor\n"
                                 "r = Redactor(environ={})\n"
                                 "r.text('password: |\\n' + '  x\\n' * (N // 4)); r.text('a: |\\n' * (N // 6)); "
                                 "r.text('  12|' + ' ' * N)",
}


@pytest.mark.parametrize("case", list(CASES))
def test_linear_on_adversarial_input(case: str) -> None:
    finishes(CASES[case])


KEY_SHAPE_UNITS = {
    "jwt": "eyJa.", "api key": "sk-", "stripe key": "sk_live_", "github token": "github_pat_",
    "gitlab token": "glpat-", "slack token": "xoxb-", "slack webhook": "hooks.slack.com/services/",
    "aws key": "AKIA", "google api key": "AIza", "hugging face token": "hf_", "sendgrid key": "SG.",
    "twilio key": "SK0", "npm token": "npm_", "pypi token": "pypi-AgE", "digitalocean token": "dop_v1_",
    "mailgun key": "key-", "square token": "sq0atp-", "shopify token": "shpat_", "databricks token": "dapi",
    "azure client secret": "ab0Q~", "azure sas signature": "sig=", "age secret key": "AGE-SECRET-KEY-1",
}


@pytest.mark.parametrize("kind", [kind for kind, _ in KEY_SHAPES])
def test_each_key_shape_is_linear_on_its_own_prefix(kind: str) -> None:
    """Its prefix repeated, alone and with a character that ends each try, 200 kB each."""
    unit = KEY_SHAPE_UNITS[kind]
    finishes("from agent.export.redact import KEY_SHAPES\n"
             f"[pattern] = [p for k, p in KEY_SHAPES if k == {kind!r}]\n"
             f"for text in ({unit!r} * (N // {len(unit)}), ({unit!r} + 'a!') * (N // {len(unit) + 2})):\n"
             "    pattern.sub('', text)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGTERM")
def test_sigterm_ends_a_headless_run_that_meets_adversarial_text(tmp_path: Path) -> None:
    """The run's first reply is 50 lines, one of them 200 kB of `a.` (the printer folds it around its causes),
    with an edit whose `old` is 1M newlines (minutes and hours of regex work before, SIGTERM waiting). SIGTERM,
    sent once the edit is under way, or after the guard if the printer never gets there, ends the run within
    the guard, its transcript closed."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("x = 1\n")
    text = "\n".join(["line"] * 25 + ["a." * (N // 2)] + ["line"] * 25)
    script = write_script(tmp_path / "script.json", [
        reply(text, call("c1", "edit_file", path="a.py", old="\n" * (N * 5), new="y")),
        reply("done", call("c2", "finish", summary="done")),
    ])
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--headless", "--workspace", str(ws),
                             "--goal", "g", "--test-cmd", "true", "--script", str(script), "--sandbox", "none",
                             "--reflection", "off", "--out", str(tmp_path / "run.jsonl")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    editing = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "→ call  edit_file  c1" in line:  # the reply is folded and printed; the edit runs next
                editing.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    editing.wait(HANG_GUARD_S)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the run did not end within {HANG_GUARD_S} s of SIGTERM (folded the reply: {editing.is_set()})")
    reader.join(HANG_GUARD_S)
    lines = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert lines[-1]["type"] == "run_finished"  # the transcript was closed
