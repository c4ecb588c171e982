"""What a call's arguments and a tool's result look like: pure functions from strings to lines of Rich Text.

Strings are text. JSON arguments keep their structure, pretty-printed, but a string value is shown as the
text it holds: a multi-line value as its lines under its key, with no `\\n` or `\\u003e` in sight.
`write_file`'s content is code, coloured by the file's extension; `edit_file` is a unified diff of `old`
against `new`, coloured the same way. A long body folds around the lines that carry a failure
(`agent.display.folding`). Every string goes through `inert` before it becomes Text: a control sequence
from a model or a tool is shown, never sent to the terminal.

No Textual here: the block renderer lays these lines out; tests read them as plain text and styles.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterable

from rich.style import Style
from rich.text import Span, Text

from agent.display.folding import Hidden, clip_line, fold_plan
from agent.display.json_text import json_rows, text_rule
from agent.display.terminal import CONTROL, inert
from agent.display.wording import plural

CODE_THEME = "monokai"
"""Pygments theme of code in arguments (only its foreground colours are used)."""
HIGHLIGHT_LIMIT = 200_000
"""Code longer than this many characters is shown plain (colouring it would stall the view)."""

S_KEY = "json.key"
S_STR = "json.str"
S_NUMBER = "json.number"
S_BRACE = "json.brace"
S_NULL = "json.null"
S_BOOL = {True: "json.bool_true", False: "json.bool_false"}
S_RULE = Style(color="#5c6370")
S_FOLD = Style(color="#8b949e", italic=True)
S_ADD = Style(color="#98c379")
S_DEL = Style(color="#e06c75")
S_HUNK = Style(color="#56b6c2")
S_ADD_BG = Style(bgcolor="#1f3324")
S_DEL_BG = Style(bgcolor="#3b2226")

CODE_ARGUMENTS = {"write_file": ("path", ("content",)), "edit_file": ("path", ("old", "new"))}
"""Tools whose string arguments are code: the argument naming the file (for its language), and the code ones."""


# ---------------------------------------------------------------------------------------------------------
# Safety


def inert_text(text: Text) -> Text:
    """`text` with its control characters shown (ESC as `^[`), styles kept: for Text built from strings
    that did not go through `inert` (a title, a label). Returns `text` itself when there is nothing to do."""
    plain = text.plain
    cuts = [m.start() for m in CONTROL.finditer(plain)]
    if not cuts:
        return text
    out = Text(style=text.style, justify=text.justify, no_wrap=text.no_wrap, overflow=text.overflow, end=text.end)
    for piece in text.divide([p for i in cuts for p in (i, i + 1)]):
        visible = inert(piece.plain)
        if visible != piece.plain:
            shown = Text(visible, style=piece.style)
            shown.spans = [Span(0, len(visible), span.style) for span in piece.spans]
            piece = shown
        out.append_text(piece)
    return out


# ---------------------------------------------------------------------------------------------------------
# Code and diffs


def _foreground_only(text: Text) -> Text:
    """Pygments themes paint a background on every token; keep the app's own background instead."""
    spans = []
    for span in text.spans:
        st = span.style
        if isinstance(st, Style):  # a token: its colour and weight; the theme's background (a str) is dropped
            spans.append(Span(span.start, span.end,
                              Style(color=st.color, bold=st.bold, italic=st.italic, underline=st.underline)))
    text.spans = spans
    text.style = ""
    return text


def highlighted(path: str, code: str, theme: str = CODE_THEME) -> list[Text]:
    """`code` coloured as the language of `path` says (by its extension, else by its content), a Text per
    line. Long or unknown code is plain."""
    code = inert(code)
    lines = code.split("\n")
    if code.endswith("\n"):
        lines.pop()
    if len(code) > HIGHLIGHT_LIMIT:
        return [Text(line) for line in lines]
    from rich.syntax import Syntax  # pygments: ~25 ms of imports, for the first code shown, not at start

    lexer = Syntax.guess_lexer(path or "", code)
    if lexer in ("default", "text"):
        return [Text(line) for line in lines]
    text = Syntax(code, lexer, theme=theme, background_color="default").highlight(code)
    text = _foreground_only(text)
    out = text.split("\n", allow_blank=True)
    return list(out[: len(lines)]) or [Text("")]


def diff_lines(path: str, old: str, new: str, theme: str = CODE_THEME, context: int = 3) -> list[Text]:
    """A unified diff of `old` against `new` (the two sides of an edit), each side's lines coloured as code;
    removed lines marked `-` in red, added `+` in green, each hunk under its `@@` header."""
    a, b = highlighted(path, old, theme), highlighted(path, new, theme)
    a_plain, b_plain = [t.plain for t in a], [t.plain for t in b]
    out: list[Text] = []
    for group in difflib.SequenceMatcher(None, a_plain, b_plain, autojunk=False).get_grouped_opcodes(context):
        (_, i1, _, j1, _), (_, _, i2, _, j2) = group[0], group[-1]
        out.append(Text(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@", style=S_HUNK))
        for tag, p1, p2, q1, q2 in group:
            if tag == "equal":
                out.extend(_prefixed("  ", line, None) for line in a[p1:p2])
                continue
            out.extend(_prefixed("- ", line, S_DEL, S_DEL_BG) for line in a[p1:p2])
            out.extend(_prefixed("+ ", line, S_ADD, S_ADD_BG) for line in b[q1:q2])
    if not out:
        out.append(Text("(old and new are the same)", style=S_FOLD))
    return out


def _range(start: int, stop: int) -> str:
    length = stop - start
    first = start + 1 if length else start
    return f"{first}" if length == 1 else f"{first},{length}"


def _prefixed(sign: str, line: Text, sign_style: Style | None, background: Style | None = None) -> Text:
    out = Text(sign, style=sign_style or S_RULE)
    out.append_text(line)
    if background is not None:
        out.stylize(background)
    return out


def unified_diff_lines(diff: str, theme: str = CODE_THEME) -> list[Text]:
    """A unified diff as `git diff` prints it (what an iteration changed in the workspace), coloured: file
    headers bold, hunk headers cyan, `-` lines red, `+` lines green."""
    out = []
    for line in inert(diff).rstrip("\n").split("\n"):
        if line.startswith(("+++", "---")):
            out.append(Text(line, style=Style(bold=True)))
        elif line.startswith("@@"):
            out.append(Text(line, style=S_HUNK))
        elif line.startswith("+"):
            out.append(Text(line, style=S_ADD))
        elif line.startswith("-"):
            out.append(Text(line, style=S_DEL))
        else:
            out.append(Text(line, style=S_RULE if line.startswith("\\") or line.startswith("Binary") else ""))
    return out


# ---------------------------------------------------------------------------------------------------------
# JSON with strings as text


def json_lines(value: Any, *, code: dict[str, str] | None = None, theme: str = CODE_THEME) -> list[Text]:
    """`value` laid out as `agent.display.json_text` lays it out (strings as text), coloured. `code` maps
    keys whose strings are code to the file path that names their language."""
    code = code or {}
    out: list[Text] = []
    for row in json_rows(value, frozenset(code)):
        pad = " " * row.indent
        lead = Text(pad)
        if row.key is not None:
            lead.append(f'"{inert(row.key)}": ', style=S_KEY)
        tail = Text(",", style=S_BRACE) if row.comma else Text()
        if row.kind == "text":
            key = row.key if row.key in code else None
            body = (highlighted(code[key], row.value, theme) if key is not None
                    else [Text(inert(x)) for x in row.value.split("\n")])
            what = plural(len(body), "line") + (f", {_language(code[key], row.value)}" if key is not None else "")
            out.append(lead.append(f"┐ {what}", S_RULE).append_text(tail))
            rule = Text().append(text_rule(row.indent), style=S_RULE)  # the rule grey, not its text
            out.extend(rule.copy().append_text(line) for line in body)
        elif row.kind == "scalar":
            out.append(lead.append_text(_scalar(row.value)).append_text(tail))
        elif row.kind == "open":
            out.append(lead.append(row.value, S_BRACE))
        else:
            out.append(Text(pad + row.value, style=S_BRACE).append_text(tail))
    return out


def _language(path: str, code: str) -> str:
    from rich.syntax import Syntax

    lexer = Syntax.guess_lexer(path or "", code[:2000])
    return "text" if lexer == "default" else lexer


def _scalar(value: Any) -> Text:
    if isinstance(value, str):
        return Text(f'"{inert(value)}"', style=S_STR)
    if isinstance(value, bool):
        return Text("true" if value else "false", style=S_BOOL[value])
    if value is None:
        return Text("null", style=S_NULL)
    if isinstance(value, (int, float)):
        return Text(json.dumps(value), style=S_NUMBER)
    if isinstance(value, dict):
        return Text("{}", style=S_BRACE)
    if isinstance(value, list):
        return Text("[]", style=S_BRACE)
    return Text(inert(repr(value)))


def arguments_lines(name: str, arguments: str, theme: str = CODE_THEME) -> tuple[list[Text], bool]:
    """A call's arguments as lines, and whether they were valid JSON (invalid ones are shown as written).
    write_file's content is code; edit_file shows its other arguments, then `old` against `new` as a diff."""
    if not arguments.strip():
        return [], True
    try:
        value = json.loads(arguments)
    except (ValueError, TypeError, RecursionError):  # JSON nested past the parser
        return [Text(inert(line)) for line in arguments.split("\n")], False
    spec = CODE_ARGUMENTS.get(name)
    if not isinstance(value, dict) or spec is None:
        return json_lines(value, theme=theme), True
    path_key, code_keys = spec
    path: str = value[path_key] if isinstance(value.get(path_key), str) else ""
    if name == "edit_file" and isinstance(value.get("old"), str) and isinstance(value.get("new"), str):
        rest = {k: v for k, v in value.items() if k not in ("old", "new")}
        lines = json_lines(rest, theme=theme) if rest else []
        lines.append(Text("old → new:", style=S_RULE))
        return lines + diff_lines(path, value["old"], value["new"], theme), True
    return json_lines(value, code={k: path for k in code_keys}, theme=theme), True


def result_lines(content: str, theme: str = CODE_THEME) -> list[Text] | list[str]:
    """A tool result as lines: a JSON object or array pretty-printed with its strings as text (Text), anything
    else as its own lines (plain strings: `folded` makes Text, inert, of the lines it shows, and a
    5,000-line log shows about thirty)."""
    stripped = content.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            value = json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            if isinstance(value, (dict, list)):
                return json_lines(value, theme=theme)
    return content.rstrip("\n").split("\n")


# ---------------------------------------------------------------------------------------------------------
# Folding


def folded(lines: list[Text] | list[str], unfolded: bool = False, hint: str = "o unfolds") -> tuple[list[Text], int]:
    """`lines` folded around the lines that carry a failure (`agent.display.folding.fold_plan`), each
    hidden run shown as one `… N lines hidden` line; and how many lines are hidden in all. `unfolded`: every
    line, each still cut at `LINE_CHARS`. Plain strings become Text (inert) only when they are shown."""
    plan = fold_plan([t if isinstance(t, str) else t.plain for t in lines]) if not unfolded else None
    out: list[Text] = []
    hidden = 0
    for part in plan or ():
        if isinstance(part, Hidden):
            hidden += part.count
            out.append(Text(f"… {plural(part.count, 'line')} hidden ({hint})", style=S_FOLD))
        else:
            out.extend(_clipped(lines[part.start:part.end]))
    if plan is None:
        out.extend(_clipped(lines))
    return out, hidden


def _clipped(lines: Iterable[Text | str]) -> Iterable[Text]:
    for line in lines:
        if isinstance(line, str):
            shown, cut = clip_line(line)
            line = Text(inert(shown))
        else:
            _, cut = clip_line(line.plain)
            if cut:
                line = line[: len(line.plain) - cut]
        if cut:
            line.append(f" … ({plural(cut, 'more character')})", S_FOLD)
        yield line
