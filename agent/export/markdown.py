"""The export as Markdown, for pasting into an issue or a review.

Model and tool text goes into fenced code blocks whose fence is longer than any run of backticks in the
text, so it cannot close its block and turn into markup (a hostile reply could otherwise embed an image
that fetches a tracker). The short strings that stand outside code blocks are escaped.
"""

from __future__ import annotations

import html
import re

from agent.export.document import Document, Entry, Request, Section, dump_message

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    return _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group(0))) if m.group(0) != "\x7f" else "\u2421", text)


def inline(text: object) -> str:
    """Plain text on one line, with Markdown's and HTML's special characters escaped."""
    flat = " ".join(_clean(str(text)).split())
    return _SPECIAL.sub(r"\\\1", flat).replace("&", "&amp;").replace("<", "&lt;")


def code(text: object) -> str:
    """An inline code span that holds `text` whatever backticks it contains."""
    flat = " ".join(_clean(str(text)).split()) or " "
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def fenced(text: str, lang: str = "text") -> str:
    """A fenced code block that `text` cannot close."""
    body = _clean(text).rstrip("\n")
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def render_markdown(doc: Document) -> str:
    out: list[str] = [f"# {inline(doc.title)}", ""]
    if doc.goal:
        out += [fenced(doc.goal), ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {inline(name)} | {inline(value)} |" for name, value in doc.facts]
    out += ["", f"**{inline(doc.redaction)}**", ""]
    for warning in doc.warnings:
        out.append(f"- ⚠ {inline(warning)}")
    if doc.warnings:
        out.append("")
    for section in doc.sections:
        _section(out, section)
    return "\n".join(out).rstrip("\n") + "\n"


def _section(out: list[str], section: Section) -> None:
    title = " · ".join([section.title, *section.meta])
    out += [f"## {inline(title)}", ""]
    if section.badges:
        out += [" · ".join(inline(text) for text, _ in section.badges), ""]
    for entry in section.entries:
        _entry(out, entry)
    if section.request is not None:
        _request(out, section.request)


def _entry(out: list[str], e: Entry) -> None:
    head = [f"**{inline(e.label)}**"]
    if e.name:
        head.append(code(e.name))
    if e.call_id:
        head.append(code(e.call_id))
    if e.meta:
        head.append(inline(" · ".join(e.meta)))
    out += [" ".join(head), ""]
    for v in e.violations:
        out += [f"> ⚠ **ordering:** {inline(v)}", ""]
    for label, text in e.lines:
        out += [f"*{inline(label)}:*", "", fenced(text), ""] if "\n" in text.strip() else \
               [f"*{inline(label)}:* {inline(text)}", ""]
    if e.body:
        out += [fenced(e.body, e.lang), ""]


def _request(out: list[str], req: Request) -> None:
    since = (f"{len(req.new)} new since the request of iteration {req.previous_iteration}"
             if req.previous_iteration is not None else "the first request")
    out += ["<details>", f"<summary>What the model saw: {req.size} messages · {html.escape(since)}</summary>", ""]
    if req.previous:
        where = f"iteration {req.previous_iteration}" if req.previous_iteration is not None else "the previous request"
        out += [f"Messages 0–{req.previous - 1}: the request of {where}, unchanged.", ""]
    for index, message in req.new:
        role = message.get("role", "?") if isinstance(message, dict) else "?"
        call_id = message.get("tool_call_id") if isinstance(message, dict) else None
        head = f"`[{index}]` **{inline(role)}**" + (f" {code(call_id)}" if isinstance(call_id, str) and call_id else "")
        out += [head + " · new", "", fenced(dump_message(message), "json"), ""]
    out += ["</details>", ""]
