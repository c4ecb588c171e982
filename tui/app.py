"""The one Textual app of agent-tui. What it opens on is its first screen: a live run or a transcript
(`tui.screens.transcript`), the runs of a folder (`tui.screens.runs`) or two runs side by side
(`tui.screens.compare`). Every other view (a run picked from the folder, a comparison, the request of an
iteration, the keys) is a screen pushed over it, and `q` dismisses it again; dismissing the first screen
ends the app.
"""

from __future__ import annotations

from typing import Any, Iterable

from textual.app import App, SystemCommand
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

    async def on_mount(self) -> None:
        # Pushed over Textual's (blank) default screen: `q` dismisses the first screen as it does any other,
        # and its result callback ends the app. Mounted before the app is ready, as a default screen is.
        await self.push_screen(self.first, self._first_dismissed)
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

    def _first_dismissed(self, _result: Any) -> None:
        self.exit()
