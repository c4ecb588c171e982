"""The footer of the transcript screen: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's footer, rebuilt only when the keys it shows change.

    The stock footer rebuilds all its keys on every bindings signal, and opening the app sends two with
    the same keys (the screen's stack update, then the focus given to the transcript): a second, identical
    set of key widgets, styled and laid out again, was a sixth of the time to the first screen."""

    _shown: tuple[Any, ...] | None = None

    def __init__(self) -> None:
        super().__init__()
        self._bindings_ready = True  # mounted once the app has its focus: its keys are known

    def _keys(self) -> tuple[Any, ...]:
        return (self.compact, self.show_command_palette, *(
            (key, b.action, b.description, b.key_display, b.group, enabled, tooltip)
            for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items() if b.show))

    def compose(self) -> ComposeResult:
        keys = self._keys()
        composed = 0
        for widget in super().compose():
            composed += 1
            yield widget
        # Remember what is shown only if the stock footer did show it (it shows nothing until it is told
        # the bindings are ready): otherwise the next signal must rebuild it, as it would have.
        self._shown = keys if composed or len(keys) == 2 else None

    def bindings_changed(self, screen: Any) -> None:
        if self._shown is not None and screen is self.screen and self.is_attached and self._keys() == self._shown:
            return
        super().bindings_changed(screen)

