"""The one Textual app of agent-tui. What it opens on is its first screen: a live run or a transcript
(`tui.screens.transcript`), the runs of a folder (`tui.screens.runs`) or two runs side by side
(`tui.screens.compare`). Every other view (a run picked from the folder, a comparison, the request of an
iteration, the keys) is a screen pushed over it, and `q` dismisses it again; dismissing the first screen
ends the app.
"""

from __future__ import annotations

from typing import Any, Iterable

from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.screen import Screen

from tui.collector import started
from tui.screens.drawn import first_drawn
from tui.render.palette import theme_variables


class AgentTuiApp(App[None]):
    """The app, opened on `first`."""

    TITLE = "agent-tui"

    def __init__(self, first: Screen[Any]) -> None:
        super().__init__()
        self.first = first
        if first.title:
            self.title = first.title

    def get_default_screen(self) -> Screen[Any]:
        return self.first

    def on_mount(self) -> None:
        self.run_worker(self._collect_once_drawn(), name="collector")

    async def _collect_once_drawn(self) -> None:
        """The collector on again once the first screen is drawn (`tui.collector`)."""
        await first_drawn(self.screen)
        started()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: Textual's commands, and those of the screen it was opened on (`commands()`)."""
        yield from super().get_system_commands(screen)
        yield from getattr(screen, "commands", tuple)()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """`$reflection` and the tool_call_id link colours `$link-0`..., in a shade for this theme."""
        return theme_variables(self.current_theme.dark)

    def pop_screen(self) -> AwaitComplete:
        """`q` dismisses a screen (`Screen.dismiss`, which pops it); the first one has nothing under it to go
        back to, and dismissing it ends the app. (Pushed over Textual's blank default screen instead, with a
        result callback that ends the app, the first screen reached a real terminal ~17 ms later.)"""
        if len(self.screen_stack) == 1:
            self.exit()
            return AwaitComplete.nothing()
        return super().pop_screen()
