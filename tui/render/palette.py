"""The styles the line views draw with, taken from the theme, so that every Textual theme reads well.

The transcript, the comparison and the request view draw Rich segments themselves (they are line-API
widgets), so CSS cannot colour their text directly. Instead `LazyBlockView` declares component classes
whose colours are theme variables (`$text-muted`, `$text-error`, `$foreground`...), reads them into one
`Palette` and hands it to the renderer; a new theme means a new palette and a repaint. `DEFAULT` is the
dark palette the renderer uses outside an app (the pure rendering tests).

Two colours are ours rather than Textual's: the reflection pink and the eight tool_call_id link colours.
`theme_variables` gives each a dark and a light shade, and the app offers them as theme variables
(`$reflection`, `$link-0`...), which a theme may override.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style

from agent.view.model import ID_PALETTE

LINKS_DARK = ID_PALETTE
LINKS_LIGHT = ("#1f5f9e", "#8a6500", "#3b7a1e", "#0f7480", "#a4501a", "#4b4fc4", "#17755d", "#76602f")
REFLECTION_DARK = "#ff79c6"
REFLECTION_LIGHT = "#b0206a"
CODE_THEMES = {True: "monokai", False: "default"}
"""The Pygments style of code, for a dark theme (True) and a light one."""


def theme_variables(dark: bool) -> dict[str, str]:
    """Our theme variables and their defaults for a dark or a light theme."""
    links = LINKS_DARK if dark else LINKS_LIGHT
    return {"reflection": REFLECTION_DARK if dark else REFLECTION_LIGHT,
            **{f"link-{k}": color for k, color in enumerate(links)}}


def foreground(style: Style) -> Style:
    """The colour and text style of `style`, without its background (so a cursor line shows under it)."""
    return Style(color=style.color, bold=style.bold, italic=style.italic, underline=style.underline,
                 strike=style.strike, dim=style.dim)


@dataclass(frozen=True)
class Palette:
    """Foreground styles by meaning; `cursor*` are backgrounds."""

    text: Style
    muted: Style
    label: Style
    error: Style
    warning: Style
    success: Style
    reflection: Style
    running: Style
    links: tuple[Style, ...]
    cursor: Style
    cursor_blurred: Style
    cursor_mark: Style
    code_theme: str = "monokai"
    """The Pygments style of code in arguments and results (a light one on a light theme)."""

    def link(self, index: int) -> Style:
        """The colour of the `index`th tool_call_id (in order of first appearance)."""
        return self.links[index % len(self.links)]

    @property
    def match(self) -> Style:
        """A search match: the warning colour as a background."""
        return self.warning + Style(reverse=True)


DEFAULT = Palette(
    text=Style(),
    muted=Style(color="#8b949e"),
    label=Style(color="#c8ccd4", bold=True),
    error=Style(color="#e06c75"),
    warning=Style(color="#e5c07b"),
    success=Style(color="#98c379"),
    reflection=Style(color=REFLECTION_DARK),
    running=Style(color="#56b6c2"),
    links=tuple(Style(color=c) for c in LINKS_DARK),
    cursor=Style(bgcolor="#2c323c"),
    cursor_blurred=Style(bgcolor="#262a30"),
    cursor_mark=Style(color="#e6e6e6", bold=True),
)
