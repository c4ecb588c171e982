"""Regenerate the realistic fixtures of tests/data (run from the repository root):

    .venv/bin/python tests/data/make_fixtures.py

- `syntax_error_run.jsonl`: a real offline run of the quicksort task (the real tools, the real pytest) in
  which the model edits in a SyntaxError, runs the tests (a collection error: the SyntaxError sits in the
  middle of pytest's import traceback), then rewrites the file with write_file and finishes.
- `killed_run.jsonl`: the same run as SIGKILL leaves it, cut right after the reply that called run_tests.
- `long_result.json`: a message list whose one tool result is a 5,000-line `pytest -v` log with a single
  failure near line 3,100.
- `escapes.json`: a message list in which the model's text and a tool result carry escape sequences (a
  window title, a screen clear, an OSC 52 clipboard write).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))

from agent.run.runner import RunOptions, build_run  # noqa: E402

BROKEN = '''"""Quicksort, written for clarity rather than speed."""


def quicksort(items):
    """Return a new list with the items of `items` in ascending order."""
    if len(items) <= 1:
        return list(items)
    pivot = items[len(items) // 2]
    smaller = [x for x in items if x < pivot]
    equal = [x for x in items if x == pivot]
    larger = [x for x in items if x > pivot]
    return quicksort(smaller) + equal + quicksort(larger
'''

FIXED = BROKEN.replace("quicksort(larger\n", "quicksort(larger)\n")


def _call(call_id: str, name: str, **arguments: object) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _reply(content: str, *calls: dict) -> dict:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


SCRIPT = [
    _reply("Let me read the sort first.", _call("call_se01", "read_file", path="quicksort.py")),
    _reply("Values equal to the pivot are dropped; I'll keep them all.",
           _call("call_se02", "edit_file", path="quicksort.py",
                 old="    larger = [x for x in items if x > pivot]\n"
                     "    return quicksort(smaller) + [pivot] + quicksort(larger)\n",
                 new="    equal = [x for x in items if x == pivot]\n"
                     "    larger = [x for x in items if x > pivot]\n"
                     "    return quicksort(smaller) + equal + quicksort(larger\n")),
    _reply("Now the tests.", _call("call_se03", "run_tests")),
    _reply("I left a parenthesis open. I'll write the whole file again.",
           _call("call_se04", "write_file", path="quicksort.py", content=FIXED)),
    _reply("And the tests again.", _call("call_se05", "run_tests")),
    _reply("All tests pass.", _call("call_se06", "finish",
                                    summary="quicksort now keeps every value equal to the pivot.")),
]


async def _drive(run: object) -> None:
    async for _ in run.events():  # type: ignore[attr-defined]
        pass


def syntax_error_run() -> None:
    out = HERE / "syntax_error_run.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(json.dumps(SCRIPT), encoding="utf-8")
        run = build_run(RunOptions(task="quicksort", provider="scripted", script=script, out=out,
                                   reflection="off", max_steps=10))
        asyncio.run(_drive(run))
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    third_call = next(i for i, line in enumerate(lines) if '"call_se03"' in line and '"assistant_message"' in line)
    (HERE / "killed_run.jsonl").write_text("".join(lines[:third_call + 1]), encoding="utf-8")


def long_result() -> None:
    log = ["============================= test session starts ==============================",
           "platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0 -- /usr/bin/python3",
           "cachedir: .pytest_cache", "rootdir: /work/repo", "collecting ... collected 4991 items", ""]
    for n in range(4991):
        module = f"tests/test_module_{n // 100:02d}.py"
        result = "FAILED" if n == 3090 else "PASSED"
        log.append(f"{module}::test_case_{n:04d} {result} {'[' + format(100 * (n + 1) // 4991, '3d') + '%]'}")
    log += ["", "=================================== FAILURES ===================================",
            "_______________________________ test_case_3090 ________________________________", "",
            "    def test_case_3090():", "        parsed = parse_config('retries = 3')",
            ">       assert parsed['retries'] == 3",
            "E       AssertionError: assert '3' == 3", "",
            "tests/test_module_30.py:91: AssertionError",
            "=========================== short test summary info ============================",
            "FAILED tests/test_module_30.py::test_case_3090 - AssertionError: assert '3' == 3",
            "======================= 1 failed, 4990 passed in 41.20s ========================"]
    messages = [
        {"role": "system", "content": "You are a coding agent. Use the tools to fix the repository."},
        {"role": "user", "content": "Make the whole test suite pass."},
        {"role": "assistant", "content": "Running the whole suite first.",
         "tool_calls": [_call("call_lr1", "bash", command="python -m pytest -v")]},
        {"role": "tool", "tool_call_id": "call_lr1", "content": "\n".join(log)},
        {"role": "assistant", "content": "One failure: parse_config returns strings."},
    ]
    (HERE / "long_result.json").write_text(json.dumps(messages, indent=1), encoding="utf-8")


def escapes() -> None:
    esc = "\x1b"
    messages = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "Show me the log."},
        {"role": "assistant",
         "content": f"Sure.{esc}]0;pwned{chr(7)}{esc}[2J{esc}[31mred text{esc}[0m{esc}]52;c;ZWNobyBwd25lZA=={chr(7)}",
         "tool_calls": [_call("call_es1", "bash", command="cat app.log")]},
        {"role": "tool", "tool_call_id": "call_es1",
         "content": f"start\n{esc}[2J{esc}[H{esc}]0;owned{chr(7)}progress 10%\rprogress 100%\ndone{chr(0x9b)}31m"},
        {"role": "assistant", "content": "The log is clean."},
    ]
    (HERE / "escapes.json").write_text(json.dumps(messages, indent=1), encoding="utf-8")


if __name__ == "__main__":
    syntax_error_run()
    long_result()
    escapes()
