"""A line-API scroll view over many variable-height blocks, each rendered only when it is on screen.

The view keeps, per block, a height (exact once the block has been rendered at the current width, an
estimate before) and prefix sums of the heights, so a line `y` maps to `(block, line)` by bisection and
the virtual size is the last prefix sum. Rendered blocks sit in a bounded LRU cache of Strips (Textual's), so memory
does not grow with the number of blocks visited. No child widgets: a 10,000-block transcript is one widget.

Subclasses say how many blocks there are, how to render one, how to guess its height, and how to
decorate a line (cursor, gutter marks) at paint time; when a block changes they call `forget_block`
(same height) or `resize_block` (new height), never the cache itself.

Colours: the view's component classes (`block--muted`, `block--error`...) take theme variables, and
`palette` hands them to the renderer as one `tui.render.palette.Palette`. A theme change repaints everything.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.render.palette import CODE_THEMES, Palette, foreground

GUTTER = 2
"""Columns left of every line, for the cursor and link marks."""
CACHE_BLOCKS = 200
"""Rendered blocks kept; the rest are re-rendered when they come back into view."""


LINKS = 8
"""Colours of tool_call_id links (`$link-0`... in the theme)."""


class LazyBlockView(ScrollView):
    """Blocks of lines, rendered when on screen; the subclass says what a block is."""

    COMPONENT_CLASSES = {
        "block--muted", "block--label", "block--error", "block--warning", "block--success", "block--reflection",
        "block--running", "block--cursor", "block--cursor-blurred", "block--cursor-mark",
        *(f"block--link-{k}" for k in range(LINKS)),
    }

    DEFAULT_CSS = """
    LazyBlockView {
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
    }
    LazyBlockView > .block--muted { color: $text-muted; }
    LazyBlockView > .block--label { color: $foreground; text-style: bold; }
    LazyBlockView > .block--error { color: $text-error; }
    LazyBlockView > .block--warning { color: $text-warning; }
    LazyBlockView > .block--success { color: $text-success; }
    LazyBlockView > .block--reflection { color: $reflection; }
    LazyBlockView > .block--running { color: $text-primary; }
    LazyBlockView > .block--cursor { background: $primary 25%; }
    LazyBlockView > .block--cursor-blurred { background: $foreground 8%; }
    LazyBlockView > .block--cursor-mark { color: $foreground; text-style: bold; }
    """ + "\n".join(f"    LazyBlockView > .block--link-{k} {{ color: $link-{k}; }}" for k in range(LINKS))

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._heights: list[int] = []
        self._starts: list[int] = [0]
        self._cache: LRUCache[int, tuple[list[Strip], list[int]]] = LRUCache(CACHE_BLOCKS)
        self._cache_width = 0
        self._fix_scheduled = False
        self._palette: Palette | None = None
        self._styles: dict[tuple[str, bool], Style] = {}

    # -- to implement ------------------------------------------------------------------------------------

    def block_count(self) -> int:
        raise NotImplementedError

    def render_block(self, index: int, width: int) -> tuple[list[Strip], list[int]]:
        """The lines of block `index` at `width`, and the first line of each of its items."""
        raise NotImplementedError

    def estimate_block(self, index: int, width: int) -> int:
        return 1

    def evicted(self, index: int) -> None:
        """Block `index` left the render cache: drop anything else derived from it that is cheap to redo."""

    def decorate_line(self, index: int, line: int, item: int, strip: Strip, width: int) -> Strip:
        """The final line: by default a blank gutter and the strip."""
        return Strip([Segment(" " * GUTTER)] + list(strip), width)

    # -- colours -----------------------------------------------------------------------------------------

    def component_style(self, name: str, *, background: bool = False) -> Style:
        """The colour (or, with `background`, the background) of component class `name`, as a Rich style
        to lay over a line (read once per theme)."""
        key = (name, background)
        found = self._styles.get(key)
        if found is None:
            style = self.get_component_rich_style(name)
            found = self._styles[key] = Style(bgcolor=style.bgcolor) if background else foreground(style)
        return found

    @property
    def palette(self) -> Palette:
        """The theme's colours for the renderer (read once per theme)."""
        if self._palette is None:
            def fg(name: str) -> Style:
                return self.component_style(name)

            def bg(name: str) -> Style:
                return self.component_style(name, background=True)

            self._palette = Palette(
                text=Style(), muted=fg("block--muted"), label=fg("block--label"), error=fg("block--error"),
                warning=fg("block--warning"), success=fg("block--success"), reflection=fg("block--reflection"),
                running=fg("block--running"), links=tuple(fg(f"block--link-{k}") for k in range(LINKS)),
                cursor=bg("block--cursor"), cursor_blurred=bg("block--cursor-blurred"),
                cursor_mark=fg("block--cursor-mark"), code_theme=CODE_THEMES[self.app.current_theme.dark])
        return self._palette

    def _theme_changed(self, _theme: Any) -> None:
        self._palette = None
        self._styles.clear()
        self.forget_all()

    # -- geometry ----------------------------------------------------------------------------------------

    @property
    def content_width(self) -> int:
        """The width inside the scrollbar. Before the view is laid out (mounting), the terminal's width less
        the scrollbar: the view's own width most often, and then its first frame is drawn from blocks
        rendered at the right width, and not laid out again once it knows its width."""
        laid_out = self.scrollable_content_region.width
        return laid_out or max(self.app.size.width - self.styles.scrollbar_size_vertical, 0)

    @property
    def line_width(self) -> int:
        """Width of the blocks' lines (the content width minus the gutter)."""
        return max(self.content_width - GUTTER, 0)

    @property
    def total_height(self) -> int:
        return self._starts[-1]

    def block_top(self, index: int) -> int:
        return self._starts[index]

    def block_height(self, index: int) -> int:
        return self._heights[index]

    def locate(self, y: int) -> tuple[int, int]:
        """(block, line within the block) of virtual line `y`."""
        index = bisect_right(self._starts, y) - 1
        index = min(max(index, 0), len(self._heights) - 1)
        return index, y - self._starts[index]

    @property
    def laid_out(self) -> bool:
        """Whether every block has a height yet (the view is mounted and has a width)."""
        return bool(self._heights)

    @property
    def cached_blocks(self) -> int:
        """How many blocks are rendered and kept."""
        return len(self._cache)

    def _recompute_from(self, index: int) -> None:
        index = max(0, min(index, len(self._heights)))
        del self._starts[index + 1:]
        total = self._starts[index]
        self._starts.extend(accumulate(self._heights[index:], initial=total))
        del self._starts[index + 1]  # `initial` repeated the start of block `index`
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        size = Size(self.content_width, self._starts[-1])
        if size != self.virtual_size:
            self.virtual_size = size

    # -- layout maintenance ------------------------------------------------------------------------------

    def relayout(self) -> None:
        """Forget every rendering and re-estimate every height (after a resize or a global change)."""
        self._cache.clear()
        width = self.line_width
        self._cache_width = width
        self._heights = [self.estimate_block(i, width) for i in range(self.block_count())]
        self._starts = [0]
        self._recompute_from(0)
        self.prepare_viewport()
        self.refresh()

    def blocks_added(self) -> None:
        """Blocks were appended to the end."""
        first = len(self._heights)
        width = self.line_width
        self._heights.extend(self.estimate_block(i, width) for i in range(first, self.block_count()))
        self._recompute_from(first)

    def forget_block(self, index: int) -> None:
        """Block `index` looks different now, at the same height: rendered again when next painted."""
        self._cache.discard(index)

    def resize_block(self, index: int, height: int | None = None) -> None:
        """Block `index` looks different and may have another height: `height`, else an estimate until it
        is rendered. The blocks below move."""
        self._cache.discard(index)
        if 0 <= index < len(self._heights):
            self._heights[index] = self.estimate_block(index, self.line_width) if height is None else height
            self._recompute_from(index)

    def forget_all(self) -> None:
        """Every block looks different now (a search, a theme): rendered again when next painted."""
        self._cache.clear()
        self.refresh()

    def update_line(self, index: int, line: int, strip: Strip) -> None:
        """Replace one line of block `index` if it is rendered (a spinner in a title), and repaint it."""
        found = self._cache.get(index)
        if found is None:
            return
        strips, starts = found
        if line < len(strips):
            strips = list(strips)
            strips[line] = strip
            self._cache.discard(index)  # `set` keeps the value of a key it holds
            self._cache.set(index, (strips, starts))
            self.refresh_lines(self._starts[index] + line, 1)

    def get_block(self, index: int) -> tuple[list[Strip], list[int]]:
        """The rendering of block `index` at the current width (rendering it now if needed)."""
        width = self.line_width
        if width != self._cache_width:
            self._cache.clear()
            self._cache_width = width
        found = self._cache.get(index)
        if found is not None:
            return found
        found = self.render_block(index, width)
        self._keep(index, found)
        if self._heights[index] != len(found[0]):
            self._heights[index] = len(found[0])
            self._recompute_from(index)
        return found

    def _keep(self, index: int, rendered: tuple[list[Strip], list[int]]) -> None:
        """Cache the rendering of block `index`; when the cache is full, the least recently used block leaves
        it, and `evicted` hears which (the cache drops it without a word: its keys before and after say)."""
        cache = self._cache
        if len(cache) < cache.maxsize:
            cache.set(index, rendered)
            return
        before = set(cache.keys())
        cache.set(index, rendered)
        for gone in before - cache.keys():
            self.evicted(gone)

    def prepare_viewport(self) -> None:
        """Render the blocks on screen so their heights are exact before painting."""
        if not self._heights or self.line_width <= 0:
            return
        height = self.scrollable_content_region.height or self.app.size.height  # not laid out yet: at most that
        for _ in range(8):
            before = self._starts[-1]
            top = round(self.scroll_y)
            index, _line = self.locate(top)
            while index < len(self._heights) and self._starts[index] < top + height:
                self.get_block(index)
                index += 1
            if self._starts[-1] == before:
                break

    def _fix_layout(self) -> None:
        self._fix_scheduled = False
        self.prepare_viewport()
        self.refresh()

    # -- Textual hooks -----------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.relayout()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        self.prepare_viewport()
        super().watch_scroll_y(old_value, new_value)

    def on_resize(self, event: events.Resize) -> None:
        if self.line_width != self._cache_width:
            self.relayout()
        else:
            self._update_virtual_size()
            self.prepare_viewport()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        vy = round(self.scroll_y) + y
        if not self._heights or vy >= self._starts[-1] or width <= GUTTER:
            return Strip.blank(width, self.rich_style)
        index, line = self.locate(vy)
        before = self._starts[-1]
        strips, starts = self.get_block(index)
        if self._starts[-1] != before and not self._fix_scheduled:
            # A block rendered during painting had a different height than guessed: repaint after.
            self._fix_scheduled = True
            self.call_later(self._fix_layout)
        if line >= len(strips):
            return Strip.blank(width, self.rich_style)
        item = bisect_right(starts, line) - 1
        return self.decorate_line(index, line, item, strips[line], width).apply_style(self.rich_style)


def gutter(mark: str = "", style: Style | None = None) -> list[Segment]:
    """The two gutter columns: a mark and a space."""
    if not mark:
        return [Segment(" " * GUTTER)]
    return [Segment(mark, style), Segment(" " * (GUTTER - 1))]
