"""Tool calls written as text: parse them out of a reply, write them back as the model would have.

For models and servers without native tool calling. A call may come as a `<tool_call>{...}</tool_call>`
block (several in one reply), a fenced ```json block, or a bare JSON object; the object names the tool
(`name`, or `function.name`) and gives its arguments (`arguments` or `parameters`, as an object or a JSON
string; or, as small models do, the other keys of the object). Only objects that name a known tool count.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
TOOL_RESPONSE_OPEN, TOOL_RESPONSE_CLOSE = "<tool_response>", "</tool_response>"

# No two repeats side by side over the same characters (`\s*(.*?)\s*` and `[ \t]*(...)?[ \t]*` were quadratic
# on a long run of spaces); the bodies' spaces are JSON's to skip.
_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```[ \t]*+(?:(?:json|JSON|tool_call)[ \t]*+)?\n(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder(strict=False)  # small models put raw newlines inside strings
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_META_KEYS = {"name", "type", "id", "function", "tool", "tool_name"}


@dataclass(frozen=True)
class TextCall:
    """One call found in a reply: the tool's name and its arguments as a JSON string."""

    name: str
    arguments: str


def parse_text_calls(text: str | None, known: Iterable[str]) -> tuple[list[TextCall], str]:
    """The calls of known tools written in `text`, and the text that is left once they are taken out.

    `<tool_call>` blocks win; without any, fenced JSON blocks; without any, bare JSON objects. A model that
    goes on after its calls to write their `<tool_response>` made that up: everything from there on is
    dropped. (A reply that starts with `<tool_response>` is a model mixing up the tags: its calls count.)
    """
    if not text:
        return [], text or ""
    names = set(known)
    cut = text.find(TOOL_RESPONSE_OPEN)
    if cut >= 0:
        calls, rest = _find(text[:cut], names)
        if calls or text[:cut].strip():
            return calls, rest
    return _find(text, names)


def _find(text: str, names: set[str]) -> tuple[list[TextCall], str]:
    for finder in (_blocks, _fences, _bare):
        calls, spans = finder(text, names)
        if calls:
            return calls, _without(text, spans)
    return [], text.strip()


def render_text_call(name: str, arguments: str) -> str:
    """A call as the model writes it (Qwen / Hermes style), arguments as a JSON object when they parse."""
    try:
        args: Any = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        args = arguments
    return f"{TOOL_CALL_OPEN}\n{json.dumps({'name': name, 'arguments': args}, ensure_ascii=False)}\n{TOOL_CALL_CLOSE}"


def render_text_result(content: str) -> str:
    return f"{TOOL_RESPONSE_OPEN}\n{content}\n{TOOL_RESPONSE_CLOSE}"


def tools_prompt(tools: list[dict[str, Any]], one_call: bool = False) -> str:
    """The tool description appended to the system prompt when tools cannot go in the request."""
    lines = [json.dumps(t.get("function", t), ensure_ascii=False) for t in tools]
    return ("\n\n# Tools\n\nYou call tools by writing them in your reply. The tools, as JSON schemas:\n<tools>\n"
            + "\n".join(lines) + "\n</tools>" + calling_rules(one_call))


def calling_rules(one_call: bool = False) -> str:
    """How to write a call (appended to the system prompt in text mode, after the tools). It never names the
    result tag: small models that are told not to write one start writing their calls in it."""
    example = "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"README.md\"}}\n</tool_call>\n"
    if one_call:
        return ("\n\nTo call a tool, write one JSON object with its name and arguments inside <tool_call></tool_call> "
                "tags, like this:\n" + example + "Write one call per reply, then stop: the next message brings its "
                "result, and you choose the next call from what it says.")
    return ("\n\nTo call a tool, write a JSON object with its name and arguments inside <tool_call></tool_call> "
            "tags, like this:\n" + example + "Then stop: the next message brings the results.")


TEXT_NUDGE = ("You replied without calling a tool. Act only through the tools, one call at a time, written "
              "exactly like this:\n<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"...\"}}\n"
              "</tool_call>\nThe tools: {names}. Call finish with a summary when the task is done.")
"""What a model that wrote no call is told in text mode (`{names}`: the tools, filled in by the loop)."""


# --- finders: each returns (calls, spans of text they used) ------------------------------------------


Finder = Callable[[str, set[str]], tuple[list[TextCall], list[tuple[int, int]]]]


def _tagged(pattern: re.Pattern[str], unwrap: Callable[[str], str]) -> Finder:
    """A finder for calls inside the blocks `pattern` matches (its group 1 is the block's body)."""

    def find(text: str, names: set[str]) -> tuple[list[TextCall], list[tuple[int, int]]]:
        calls, spans = [], []
        budget = _Budget()
        for m in pattern.finditer(text):
            found = _calls_in(unwrap(m.group(1)), names, budget)
            if found:
                calls.extend(found)
                spans.append(m.span())
        return calls, spans

    return find


def _bare(text: str, names: set[str]) -> tuple[list[TextCall], list[tuple[int, int]]]:
    calls, spans = [], []
    i = 0
    budget = _Budget()
    while budget.left > 0 and (start := _next_json(text, i)) >= 0:
        decoded = _decode(text, start, budget)
        if decoded is None:
            i = start + 1
            continue
        value, end = decoded
        found = [c for c in map(lambda v: _call_of(v, names), value if isinstance(value, list) else [value]) if c]
        if found:
            calls.extend(found)
            spans.append((start, end))
        i = end
    return calls, spans


def _next_json(text: str, start: int) -> int:
    found = [k for k in (text.find("{", start), text.find("[", start)) if k >= 0]
    return min(found) if found else -1


class _Budget:
    """How many characters the search for near-JSON may still scan in one reply. Each `{` or `[` that does
    not start valid JSON is scanned to its closing bracket, so a reply of 8,000 `{` would cost 8,000 scans
    of 8,000 characters: past the budget the search stops, with the calls found so far."""

    def __init__(self, left: int = 4_000_000) -> None:
        self.left = left


def _decode(text: str, start: int, budget: _Budget) -> tuple[Any, int] | None:
    """The JSON value starting at `start` and where it ends; small models' near-JSON is forgiven: a trailing
    comma, or a Python literal (single quotes, True/None). None for anything else, nesting too deep to
    parse included."""
    try:
        return _DECODER.raw_decode(text, start)
    except (json.JSONDecodeError, RecursionError):
        pass
    end = _matching_close(text, start, budget)
    if end is None:
        return None
    candidate = text[start:end]
    try:
        return _DECODER.decode(_TRAILING_COMMA.sub(r"\1", candidate)), end
    except (json.JSONDecodeError, RecursionError):
        pass
    try:
        value = ast.literal_eval(candidate)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # TypeError: {{...}}, a set of dicts
        return None
    return (value, end) if isinstance(value, (dict, list)) else None


def _matching_close(text: str, start: int, budget: _Budget) -> int | None:
    """The index just past the bracket that closes the one at `start` (quotes of both kinds respected);
    None when there is none, or when finding it would overspend `budget`."""
    stop = min(len(text), start + budget.left)
    depth, quote, escaped = 0, "", False
    for k in range(start, stop):
        ch = text[k]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                budget.left -= k + 1 - start
                return k + 1
    budget.left -= stop - start
    return None


def _unfence(body: str) -> str:
    m = _FENCE.search(body + ("\n" if not body.endswith("\n") else ""))
    return m.group(1) if m else body


def _calls_in(body: str, names: set[str], budget: _Budget) -> list[TextCall]:
    """The calls in the body of a block or fence: one object, a list of them, or several one after another."""
    calls: list[TextCall] = []
    i = 0
    while budget.left > 0 and (start := _next_json(body, i)) >= 0:
        decoded = _decode(body, start, budget)
        if decoded is None:
            i = start + 1
            continue
        value, end = decoded
        for v in value if isinstance(value, list) else [value]:
            call = _call_of(v, names)
            if call is not None:
                calls.append(call)
        i = end
    return calls


def _call_of(value: Any, names: set[str]) -> TextCall | None:
    if not isinstance(value, dict):
        return None
    obj = value
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name") or obj.get("tool") or obj.get("tool_name")
    if not isinstance(name, str) or name not in names:
        return None
    if "arguments" in obj:
        args = obj["arguments"]
    elif "parameters" in obj:
        args = obj["parameters"]
    else:  # {"name": "finish", "summary": "..."}: the other keys are the arguments
        args = {k: v for k, v in obj.items() if k not in _META_KEYS}
    if args is None:
        args = {}
    if isinstance(args, str):
        return TextCall(name, args if args.strip() else "{}")
    return TextCall(name, json.dumps(args, ensure_ascii=False))


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    parts, last = [], 0
    for start, end in sorted(spans):
        parts.append(text[last:start])
        last = end
    parts.append(text[last:])
    rest = re.sub(r"<tool_response>\s*</tool_response>", "", "".join(parts))  # a mixed-up tag, emptied
    return re.sub(r"\n{3,}", "\n\n", rest).strip()


_blocks = _tagged(_BLOCK, _unfence)
"""`<tool_call>` blocks (a fenced body inside one is unwrapped)."""
_fences = _tagged(_FENCE, lambda body: body)
"""Fenced JSON blocks."""
