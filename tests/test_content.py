"""Arguments and results as a person reads them: strings as text, code as code, edits as diffs, long
bodies folded around their cause, nothing that a terminal would execute."""

from __future__ import annotations

import json

from rich.style import Style
from rich.text import Text

from agent.events import AssistantMessage, ToolResult
from agent.transcripts.importers import open_transcript
from tests.conftest import DATA
from tui.render.content import arguments_lines, diff_lines, folded, inert_text, json_lines, result_lines, unified_diff_lines


def _calls(name: str) -> dict[str, dict]:
    out = {}
    for event in open_transcript(DATA / name).events:
        if isinstance(event, AssistantMessage):
            for call in event.message.get("tool_calls") or []:
                out[call["id"]] = call["function"]
    return out


def _plain(lines: list[Text]) -> list[str]:
    return [line.plain for line in lines]


def _colours(line: Text) -> set[str]:
    return {str(span.style.color.name) for span in line.spans if isinstance(span.style, Style) and span.style.color}


def test_write_file_content_is_code_in_lines() -> None:
    fn = _calls("syntax_error_run.jsonl")["call_se04"]
    assert "\\n" in fn["arguments"]  # on the wire: one line of escapes
    lines, ok = arguments_lines(fn["name"], fn["arguments"])
    plain = _plain(lines)
    assert ok and plain[0] == "{" and plain[-1] == "}" and plain[1] == '  "path": "quicksort.py",'
    assert plain[2] == '  "content": ┐ 12 lines, python'
    assert "    │ def quicksort(items):" in plain and "    │     equal = [x for x in items if x == pivot]" in plain
    assert not any("\\n" in line for line in plain)
    code = lines[plain.index("    │ def quicksort(items):")]
    assert len(_colours(code)) >= 2  # `def` and the name in different colours
    assert all(span.style.bgcolor is None for span in code.spans if isinstance(span.style, Style))


def test_edit_file_is_a_unified_diff_of_old_against_new() -> None:
    fn = _calls("syntax_error_run.jsonl")["call_se02"]
    lines, ok = arguments_lines(fn["name"], fn["arguments"])
    plain = _plain(lines)
    assert ok and plain[:3] == ["{", '  "path": "quicksort.py"', "}"] and plain[3] == "old → new:"
    assert plain[4] == "@@ -1,2 +1,3 @@"
    assert plain[5:] == ["+     equal = [x for x in items if x == pivot]",
                         "      larger = [x for x in items if x > pivot]",
                         "-     return quicksort(smaller) + [pivot] + quicksort(larger)",
                         "+     return quicksort(smaller) + equal + quicksort(larger"]
    removed = lines[7]
    assert removed.spans and len(_colours(removed)) >= 3  # the sign and the code's own colours
    assert diff_lines("a.py", "x = 1\n", "x = 1\n")[0].plain == "(old and new are the same)"


def test_json_strings_are_text_and_structure_stays() -> None:
    arguments = json.dumps({"command": "grep -n 'a > b' x.py", "env": {"A": "1"}, "n": 3, "ok": True,
                            "note": "first\nsecond > third"})
    assert "\\u003e" in arguments.replace(">", "\\u003e")  # what some SDKs send
    lines, ok = arguments_lines("bash", arguments.replace(">", "\\u003e"))
    assert ok and _plain(lines) == [
        "{",
        '  "command": "grep -n \'a > b\' x.py",',
        '  "env": {',
        '    "A": "1"',
        "  },",
        '  "n": 3,',
        '  "ok": true,',
        '  "note": ┐ 2 lines',
        "    │ first",
        "    │ second > third",
        "}",
    ]
    bad, ok = arguments_lines("bash", '{"command": "ls')
    assert not ok and _plain(bad) == ['{"command": "ls']


def test_json_result_shows_its_output_as_lines() -> None:
    content = json.dumps({"returncode": 1, "output": "Traceback (most recent call last):\n  File \"x.py\"\nValueError: no"})
    assert _plain(result_lines(content)) == [
        "{", '  "returncode": 1,', '  "output": ┐ 3 lines', "    │ Traceback (most recent call last):",
        '    │   File "x.py"', "    │ ValueError: no", "}"]
    assert result_lines("plain\ntext\n") == ["plain", "text"]


def test_escape_sequences_are_inert_in_every_line() -> None:
    transcript = open_transcript(DATA / "escapes.json")
    result = next(e for e in transcript.events if isinstance(e, ToolResult))
    lines = _plain(folded(result_lines(result.content), unfolded=True)[0])
    assert lines[1] == "^[[2J^[[H^[]0;owned^Gprogress 10%^Mprogress 100%"
    assert lines[2] == "done<U+009B>31m"
    args, _ = arguments_lines("bash", json.dumps({"command": "printf '\x1b]52;c;ZXZpbA==\x07'"}))
    assert "\x1b" not in "".join(_plain(args)) and "^[]52;c;ZXZpbA==^G" in _plain(args)[1]
    styled = Text("a\x1bb")
    styled.stylize("red", 0, 3)
    safe = inert_text(styled)
    assert safe.plain == "a^[b" and all(s.style == "red" for s in safe.spans)
    assert unified_diff_lines("+ok\x1b[2J\n")[0].plain == "+ok^[[2J"


def test_folded_lines_keep_the_cause_and_count_what_they_hide() -> None:
    failing = next(e for e in open_transcript(DATA / "syntax_error_run.jsonl").events
                   if isinstance(e, ToolResult) and e.content.startswith("tests failed"))
    lines, hidden = folded(result_lines(failing.content))
    plain = _plain(lines)
    assert "E   SyntaxError: '(' was never closed" in plain
    assert hidden == sum(int(p.split()[1]) for p in plain if p.startswith("… "))
    assert all(p.endswith("lines hidden (o unfolds)") for p in plain if p.startswith("… "))
    whole, none = folded(result_lines(failing.content), unfolded=True)
    assert none == 0 and len(whole) == len(failing.content.split("\n"))
    [long], _ = folded([Text("x" * 2100)])
    assert long.plain.endswith("x … (100 more characters)")


def test_plain_json_lines_lay_out_strings_as_text_as_the_app_does() -> None:
    """The headless log and the Markdown export print a call's arguments in the app's layout, unstyled."""
    from agent.display.json_text import plain_json_lines

    value = {"path": "q.py", "old": "a\nb\n", "n": [1, True, None], "e": {}, "evil": "\x1b[2J"}
    assert plain_json_lines(value) == [
        "{",
        '  "path": "q.py",',
        '  "old": ┐ 3 lines,',
        "    │ a",
        "    │ b",
        "    │ ",
        '  "n": [',
        "    1,",
        "    true,",
        "    null",
        "  ],",
        '  "e": {},',
        '  "evil": "^[[2J"',
        "}",
    ]
    assert [str(t) for t in json_lines(value)] == plain_json_lines(value)  # the same rows, coloured there
