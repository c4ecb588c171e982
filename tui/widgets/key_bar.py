"""The screen's keys in one line at the bottom, drawn with the screen's first frame.

It shows what Textual's `Footer` shows (the screen's shown bindings, dim when disabled, the command
palette's key at the right; click a key to press it, hover it for its tooltip), but as one widget that
renders the line itself. The Footer builds a widget per key only once the screen has published its
bindings, after its first frame, and lays them out a frame later: a first screen (and its `--snapshot`)
waited two frames for its keys. `python bench/bench_tui.py --footer` puts the Footer in its place: at 10,000
iterations (medians of 5, load 1.5) the first screen drawn whole takes 0.402 s instead of 0.328 in process,
and a key press ~1-2 ms more (its widgets answer every change of the bindings); `--snapshot` took ~80 ms
more (medians of 9 taking turns). In a pseudo-terminal the first frame comes as soon either way: the
Footer's keys come in the same reads. Keep it while the bench shows that.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget


class Key(NamedTuple):
    """A key as drawn: where it is on the line, and what it does."""

    start: int
    end: int
    key: str
    enabled: bool
    tooltip: str


class Entry(NamedTuple):
    """A key to show."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str
    palette: bool


class KeyBar(Widget):
    """The shown bindings of the screen, then the command palette's key at the right edge."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--hover", "key-bar--separator"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KeyBar > .key-bar--hover { background: $block-hover-background; }
    KeyBar > .key-bar--separator { color: $foreground 20%; }
    """

    hovered: reactive[int | None] = reactive(None, init=False)
    """The key under the mouse (its index in `keys`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys: list[Key] = []
        """The keys drawn, as of the last render."""
        self._shown: list[Entry] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen) -> None:
        if self._entries() != self._shown:  # the focus moved, most often to keys of the same line
            self.refresh()

    def _entries(self) -> list[Entry]:
        """The keys to show: one per action (the first key bound to it), then the palette's."""
        active = self.screen.active_bindings
        out: list[Entry] = []
        seen: set[str] = set()
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                out.append(Entry(binding.key, self.app.get_key_display(binding), binding.description, enabled,
                                 tooltip or binding.tooltip or binding.description, False))
        palette = active.get(self.app.COMMAND_PALETTE_BINDING) if self.app.ENABLE_COMMAND_PALETTE else None
        if palette is not None:
            binding = palette.binding
            out.append(Entry(binding.key, self.app.get_key_display(binding), binding.description, palette.enabled,
                             binding.tooltip or binding.description, True))
        return out

    def render(self) -> Text:
        self._shown = entries = self._entries()
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        hover_style = self.get_component_rich_style("key-bar--hover")
        left, right = Text(no_wrap=True, end=""), Text(no_wrap=True, end="")
        keys: list[Key] = []
        for index, entry in enumerate(entries):
            part = Text(no_wrap=True, end="")
            if entry.palette:  # at the right edge, against its separator
                right.append("▏", self.get_component_rich_style("key-bar--separator"))
                part.append(entry.display, key_style)
                part.append(f" {entry.description}", description_style)
                part.append(" ")
            else:
                part.append(f" {entry.display} ", key_style)
                part.append(f"{entry.description} " if entry.description else "", description_style)
            if not entry.enabled:
                part.stylize("dim")
            if index == self.hovered:
                part.stylize(hover_style)
            target = right if entry.palette else left
            start = len(target)
            target.append_text(part)
            keys.append(Key(start, len(target), entry.key, entry.enabled, entry.tooltip))
        if right:
            offset = max(self.size.width - len(right), len(left))
            keys[-1] = keys[-1]._replace(start=keys[-1].start + offset, end=keys[-1].end + offset)
            left.append(" " * (offset - len(left)))
            left.append_text(right)
        self.keys = keys
        return left

    def key_at(self, x: int) -> int | None:
        """The index of the key drawn at column `x`, if any."""
        return next((k for k, key in enumerate(self.keys) if key.start <= x < key.end), None)

    def watch_hovered(self, hovered: int | None) -> None:
        self.tooltip = self.keys[hovered].tooltip if hovered is not None and hovered < len(self.keys) else None
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self.hovered = self.key_at(event.x)

    def on_leave(self, _event: events.Leave) -> None:
        self.hovered = None

    def on_click(self, event: events.Click) -> None:
        k = self.key_at(event.x)
        if k is None:
            return
        if self.keys[k].enabled:
            self.app.simulate_key(self.keys[k].key)
        else:
            self.app.bell()
