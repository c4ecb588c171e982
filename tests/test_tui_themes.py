"""Every built-in Textual theme reads well: the colours the line views draw with come from the theme.

The transcript draws its own segments, so its colours are read from component classes whose values are
theme variables. This checks what a reader gets: in every built-in theme, every colour of the palette
stands out from the view's background (WCAG contrast of 3:1 at least; the ANSI themes leave colours to the
terminal and are skipped), and a theme change repaints with the new colours.
"""

from __future__ import annotations

from rich.color import Color as RichColor
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from tests.tui_helpers import quicksort_transcript, transcript_app

FIELDS = ("label", "muted", "error", "warning", "success", "reflection", "running")


def luminance(color: Color) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: RichColor, b: RichColor) -> float:
    la, lb = sorted((luminance(Color.from_rich_color(a)), luminance(Color.from_rich_color(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


async def test_every_builtin_theme_gives_readable_colours() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    low: list[str] = []
    checked = 0
    async with app.run_test(size=(100, 30)) as pilot:
        for name in sorted(BUILTIN_THEMES):
            app.theme = name
            await pilot.pause()
            view = screen.view
            background = view.rich_style.bgcolor
            assert background is not None
            palette = view.palette
            colours = {field: getattr(palette, field).color for field in FIELDS}
            colours.update({f"link-{k}": style.color for k, style in enumerate(palette.links)})
            for field, colour in colours.items():
                if colour is None or colour.triplet is None or background.triplet is None:
                    continue  # ANSI colours: the terminal's palette decides
                checked += 1
                ratio = contrast(colour, background)
                if ratio < 3.0:
                    low.append(f"{name} {field} {ratio:.1f}")
    assert checked > 250 and low == []


async def test_a_theme_change_repaints_with_the_new_colours() -> None:
    app, screen = transcript_app(transcript=quicksort_transcript())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        view = screen.view
        dark_label = view.palette.label
        b = view.cursor[0]
        assert view.get_block(b)[0][0].text  # rendered
        app.theme = "textual-light"
        await pilot.pause()
        assert view.palette.label != dark_label
        # the rendered lines were dropped: the next rendering uses the light palette
        strips, _ = view.get_block(b)
        styles = {seg.style.color for strip in strips for seg in strip if seg.style and seg.style.color}
        assert view.palette.label.color in styles
        assert dark_label.color not in styles
