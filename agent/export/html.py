"""The exported page: one self-contained HTML file, readable with scripts off and on paper.

Everything the page needs is in it: an inline stylesheet, no script, no font, no image, no link out. A
Content-Security-Policy forbids loading anything at all, so even text that got past escaping could not
fetch a tracker. Every string from the transcript is model or tool output, hostile by assumption: it goes
through `esc`, which escapes HTML and turns control characters into visible symbols.
"""

from __future__ import annotations

import html
import re
import time

from agent.export.document import Document, Entry, Request, Section, color_class, dump_message
from agent.view.model import ID_PALETTE

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
:root { color-scheme: dark; --bg: #16181d; --panel: #1f2229; --text: #d7dae0; --muted: #8b949e;
  --error: #e06c75; --warn: #e5c07b; --reflect: #ff79c6; --new: #98c379; --rule: #2c313a; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; background: var(--bg); color: var(--text);
  font: 14px/1.45 ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.4rem; margin: 0 0 .4rem; }
h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
pre, code, .id { font-family: ui-monospace, "Fira Code", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
pre { margin: .3rem 0 .2rem; padding: .5rem .7rem; background: var(--panel); border-radius: 4px;
  white-space: pre-wrap; overflow-wrap: anywhere; }
a { color: inherit; }
.goal { white-space: pre-wrap; margin: 0 0 .8rem; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0 0 .8rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.redaction { color: var(--warn); margin: .3rem 0; }
.warnings { color: var(--warn); }
nav { margin: .6rem 0 1rem; color: var(--muted); }
nav a { margin-right: .5rem; text-decoration: none; }
nav a.error { color: var(--error); }
section, details.iteration { border-top: 1px solid var(--rule); padding: .6rem 0; }
details.iteration > summary { cursor: pointer; font-weight: 600; }
summary .meta, .head .meta { font-weight: normal; color: var(--muted); }
.badge { font-weight: normal; margin-left: .5rem; }
.badge.error, .error > .head .label, .violation { color: var(--error); }
.badge.reflect, .reflection .label, .fallback .label, .reflection .line-label { color: var(--reflect); }
.entry { margin: .6rem 0 .6rem 1rem; padding-left: .7rem; border-left: 3px solid var(--rule); }
.entry .head { margin-bottom: .1rem; }
.entry .label { font-weight: 600; }
.entry.call, .entry.result { border-left-color: var(--id, var(--rule)); }
.entry.call > .head .label, .entry.result > .head .label { color: var(--id, var(--text)); }
.entry.reflection, .entry.fallback { border-left-color: var(--reflect); }
.entry.reflection > pre { font-style: italic; }
.entry.error > pre { color: var(--error); }
.entry.notice { border-left-color: transparent; color: var(--muted); }
.id { display: inline-block; padding: 0 .35rem; border-radius: 3px; background: var(--id, var(--muted));
  color: #14161a; text-decoration: none; }
.line { margin: .1rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.violation { margin: .2rem 0; font-weight: 600; }
details.request { margin: .6rem 0 0 1rem; }
details.request > summary { cursor: pointer; color: var(--muted); }
.msg { margin: .4rem 0 .4rem .5rem; }
.msg.new { border-left: 3px solid var(--new); padding-left: .5rem; }
.msg .new-mark { color: var(--new); font-weight: 600; }
.muted { color: var(--muted); }
footer { border-top: 1px solid var(--rule); margin-top: 1rem; padding-top: .6rem; color: var(--muted); }
@media print {
  :root { color-scheme: light; --bg: #fff; --panel: #f4f4f4; --text: #111; --muted: #555; --rule: #ccc;
    --error: #b00020; --warn: #8a6100; --reflect: #a0136b; --new: #2e7d32; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 11px; }
  nav { display: none; }
  .entry, pre { break-inside: avoid-page; }
}
""" + "".join(f".id{i} {{ --id: {color}; }}\n" for i, color in enumerate(ID_PALETTE))


def esc(text: object) -> str:
    """HTML-escaped text, control characters shown as their symbols (␛ for ESC) rather than kept."""
    return html.escape(_CONTROL.sub(lambda m: chr(0x2400 + ord(m.group(0)) if m.group(0) != "\x7f" else 0x2421),
                                    str(text)), quote=True)


def render_html(doc: Document) -> str:
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="agent-tui export">',
        f"<title>{esc(doc.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
    ]
    _header(out, doc)
    out.append("<main>")
    for section in doc.sections:
        _section(out, section, doc)
    out.append("</main>")
    out.append(f'<footer>Exported by agent-tui on {esc(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))}. '
               f"{esc(doc.redaction)}.</footer>")
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def _header(out: list[str], doc: Document) -> None:
    out.append("<header>")
    out.append(f"<h1>{esc(doc.title)}</h1>")
    if doc.goal:
        out.append(f'<p class="goal">{esc(doc.goal)}</p>')
    out.append('<dl class="facts">')
    for name, value in doc.facts:
        out.append(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>")
    out.append("</dl>")
    out.append(f'<p class="redaction">{esc(doc.redaction)}</p>')
    if doc.warnings:
        out.append('<ul class="warnings">' + "".join(f"<li>{esc(w)}</li>" for w in doc.warnings) + "</ul>")
    iterations = [s for s in doc.sections if s.kind == "iteration"]
    if iterations:
        links = []
        for s in iterations:
            cls = ' class="error"' if any(c == "error" for _, c in s.badges) else ""
            links.append(f'<a href="#{s.anchor}"{cls}>{s.number}</a>')
        out.append(f"<nav>Iterations: {''.join(links)}</nav>")
    out.append("</header>")


def _section(out: list[str], section: Section, doc: Document) -> None:
    if section.kind == "iteration":
        out.append(f'<details class="iteration" id="{section.anchor}" open>')
        badges = "".join(f'<span class="badge {cls}">{esc(text)}</span>' for text, cls in section.badges)
        meta = f' <span class="meta">· {esc(" · ".join(section.meta))}</span>' if section.meta else ""
        out.append(f"<summary>{esc(section.title)}{meta}{badges}</summary>")
    else:
        out.append(f'<section class="{section.kind}" id="{section.anchor}">')
        out.append(f"<h2>{esc(section.title)}</h2>")
    for entry in section.entries:
        _entry(out, entry)
    if section.request is not None:
        _request(out, section, section.request, doc)
    out.append("</details>" if section.kind == "iteration" else "</section>")


def _id(call_id: str, color: int | None, target: str | None) -> str:
    cls = f"id {color_class(color)}".strip()
    if target:
        return f'<a class="{cls}" href="#{target}">{esc(call_id)}</a>'
    return f'<code class="{cls}">{esc(call_id)}</code>'


def _entry(out: list[str], e: Entry) -> None:
    classes = " ".join(x for x in ("entry", e.kind, color_class(e.color), "error" if e.error else "") if x)
    anchor = f' id="{e.anchor}"' if e.anchor else ""
    out.append(f'<div class="{classes}"{anchor}>')
    head = [f'<span class="label">{esc(e.label)}</span>']
    if e.name:
        head.append(f"<b>{esc(e.name)}</b>")
    if e.call_id:
        partner = ("result" if e.kind == "call" else "call") + f"-{e.link}" if e.partner else None
        head.append(_id(e.call_id, e.color, partner))
    if e.meta:
        head.append(f'<span class="meta">{esc(" · ".join(e.meta))}</span>')
    out.append(f'<div class="head">{" ".join(head)}</div>')
    for v in e.violations:
        out.append(f'<p class="violation">⚠ {esc(v)}</p>')
    for label, text in e.lines:
        out.append(f'<p class="line"><span class="line-label">{esc(label)}</span>: {esc(text)}</p>')
    if e.body:
        out.append(f'<pre class="{e.lang}">{esc(e.body)}</pre>')
    out.append("</div>")


def _request(out: list[str], section: Section, req: Request, doc: Document) -> None:
    new = len(req.new)
    since = (f"{new} new since the request of iteration {req.previous_iteration}" if req.previous_iteration
             is not None else "the first request")
    out.append(f'<details class="request" id="request-{section.number}">')
    out.append(f"<summary>What the model saw: {req.size} messages · {esc(since)}</summary>")
    if req.previous:
        where = (f'the request of <a href="#request-{req.previous_iteration}">iteration {req.previous_iteration}</a>'
                 if req.previous_iteration is not None else "the previous request")
        out.append(f'<p class="muted">Messages 0–{req.previous - 1}: {where}, unchanged.</p>')
    for index, message in req.new:
        role = message.get("role", "?") if isinstance(message, dict) else "?"
        head = [f'<span class="muted">[{index}]</span> <b>{esc(role)}</b>']
        call_id = message.get("tool_call_id") if isinstance(message, dict) else None
        if isinstance(call_id, str) and call_id:
            head.append(_id(call_id, doc.colors.get(call_id), None))
        head.append('<span class="new-mark">+ new</span>')
        out.append(f'<div class="msg new"><div class="head">{" ".join(head)}</div>'
                   f'<pre class="json">{esc(dump_message(message))}</pre></div>')
    out.append("</details>")
