"""`?`: every key, grouped, taken from the bindings themselves so the list cannot go stale."""

from __future__ import annotations

from typing import Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {
    "question_mark": "?", "slash": "/", "space": "space", "shift+tab": "shift+tab", "enter": "enter",
    "escape": "esc", "down": "↓", "up": "↑", "home": "home", "end": "end", "tab": "tab",
}

SEARCH_KEYS = [
    ("enter", "in the search input: go to the next match (shows match i/N)"),
    ("esc", "back to the transcript; the search stays on"),
    ("n / N", "while a search is on: next / previous match"),
    ("esc", "again: end the search"),
]

FILTER_KEYS = [
    ("run_tests", "in the filter bar: iterations that call a tool of that name (or part of one)"),
    ("role:user", "iterations with a message of that role (system, user, assistant, tool, reflection)"),
    ("errors", "iterations marked with an error; words combine: errors run_tests"),
    ("enter / esc", "back to the transcript, the filter on / cleared"),
]

ANYWHERE = [
    ("ctrl+p", "the command palette: export the transcript (HTML, Markdown, JSON), theme, quit"),
    ("j / k, g / G", "in this list: scroll, top, bottom"),
]

MOUSE = [
    ("click a title", "open or close the iteration"),
    ("click an item", "select it (a call or result highlights its partner)"),
    ("click '… lines hidden'", "unfold that text (click its last line to fold it again)"),
]


def _keys(key: str) -> str:
    return " / ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in key.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows: dict[str, list[str]] = {}
    for b in bindings:
        if not isinstance(b, Binding) or not b.description:
            continue
        rows.setdefault(b.tooltip or b.description, []).append(_keys(b.key))
    return [(" / ".join(keys), desc) for desc, keys in rows.items()]


class HelpScreen(ModalScreen[None]):
    """The keys of the screen under it, in titled sections of (keys, what they do)."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 84;
        max-width: 100%;
        height: 90%;
        border: round $primary;
        background: $background;
        padding: 0 1;
    }
    HelpScreen Grid {
        grid-size: 2;
        grid-columns: 22 1fr;
        grid-rows: auto;
        grid-gutter: 0 1;
        height: auto;
    }
    HelpScreen .help-title {
        column-span: 2;
        padding-top: 1;
        color: $foreground;
        text-style: bold underline;
    }
    HelpScreen .help-key {
        color: $text-warning;
        text-style: bold;
    }
    """

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
        Binding("g,home", "edge(0)", "Top", show=False),
        Binding("G,end", "edge(1)", "Bottom", show=False),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = [*sections, ("Anywhere", ANYWHERE)]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Keys — j/k scroll · esc closes"
            with Grid():
                for title, rows in self.sections:
                    yield Static(title, classes="help-title", markup=False)
                    for key, desc in rows:
                        yield Static(key, classes="help-key", markup=False)
                        yield Static(desc, markup=False)

    def action_scroll(self, lines: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_edge(self, end: int) -> None:
        box = self.query_one(VerticalScroll)
        (box.scroll_end if end else box.scroll_home)(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
