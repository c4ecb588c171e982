"""`F` on an iteration: the small form that forks the run there (`agent.run.fork`).

It asks what a fork may change: the reflection setting from iteration K on, what becomes of the note
written after K (kept, dropped, or edited; prefilled with the recorded text), and the provider and model
that go on live. `Fork` builds the run at once: a usage error (a missing API key, reflection off with an
edited note) stays in the form, under the fields; a run that could be built closes the form and is handed
to the caller, which shows it live.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast, get_args

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static, TextArea

from agent.events import ReflectionMode, ReflectionNote
from agent.models.presets import PROVIDER_NAMES, UsageError
from agent.run.fork import ForkSpec, build_fork, describe_configuration, fork_path, header_configuration
from agent.transcripts.transcript import Transcript

MUTED = "$text-muted"
NOTE_CHOICES = ("keep", "drop", "edit")


class ForkForm(ModalScreen[Any]):
    """Fork `path` at iteration `at`: reflection, the note after `at`, provider. Dismissed with the fork's
    Run, or None (cancelled)."""

    DEFAULT_CSS = """
    ForkForm {
        align: center middle;
        background: $background 60%;
    }
    ForkForm #fork-form {
        width: 92;
        height: auto;
        max-height: 95%;
        padding: 1 2;
        border: round $accent;
        background: $panel;
    }
    ForkForm .row {
        height: auto;
        margin-top: 1;
    }
    ForkForm .field {
        width: 14;
        color: $text-muted;
    }
    ForkForm .field.-tall {
        padding-top: 1;
    }
    ForkForm RadioSet {
        layout: horizontal;
        width: 1fr;
        background: $panel;
    }
    ForkForm RadioSet:blur > RadioButton.-selected > .toggle--label {
        background: transparent;
    }
    ForkForm RadioButton {
        margin-right: 2;
        background: $panel;
    }
    ForkForm #note-text {
        height: 6;
        margin-left: 14;
    }
    ForkForm #note-recorded {
        margin-left: 14;
        height: auto;
        max-height: 4;
    }
    ForkForm #provider {
        width: 28;
    }
    ForkForm #model {
        width: 1fr;
    }
    ForkForm #from-header {
        margin-top: 1;
        background: $panel;
    }
    ForkForm #fork-error {
        color: $error;
        height: auto;
        margin-top: 1;
    }
    ForkForm #buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ForkForm Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="close the form without forking"),
        Binding("ctrl+s", "fork", "Fork", tooltip="fork with these settings"),
    ]

    def __init__(self, path: Path, transcript: Transcript, at: int) -> None:
        super().__init__()
        self.parent_path = Path(path)
        self.transcript = transcript
        self.fork_at = at
        header = transcript.header
        setting = (header.settings or {}).get("reflection")
        self.parent_reflection: ReflectionMode = cast(ReflectionMode, setting) if setting in get_args(ReflectionMode) \
            else "system"
        self.recorded_note: ReflectionNote | None = next(
            (e for e in transcript.events if isinstance(e, ReflectionNote) and e.iteration == at), None)
        self.parent_provider = header.provider if header.provider in PROVIDER_NAMES and header.provider != "replay" else None
        self.header_named = header_configuration(header, ForkSpec(path, at), header.provider)
        """What the parent's header names that a fork takes only when asked (a stranger's file chose it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="fork-form"):
            yield Static(self._intro(), id="fork-intro")
            with Horizontal(classes="row"):
                yield Label("reflection", classes="field")
                with RadioSet(id="reflection", compact=True):
                    for mode in get_args(ReflectionMode):
                        yield RadioButton(mode, value=mode == self.parent_reflection, id=f"reflection-{mode}")
            with Horizontal(classes="row"):
                yield Label(f"note after {self.fork_at}", classes="field")
                with RadioSet(id="note", compact=True):
                    yield RadioButton("keep" if self.recorded_note else "none recorded", value=True, id="note-keep")
                    yield RadioButton("drop", id="note-drop", disabled=self.recorded_note is None)
                    yield RadioButton("edit" if self.recorded_note else "add one", id="note-edit")
            yield Static(self._recorded(), id="note-recorded")
            area = TextArea(self.recorded_note.content if self.recorded_note else "", id="note-text", soft_wrap=True)
            area.display = False
            yield area
            with Horizontal(classes="row"):
                yield Label("provider", classes="field -tall")
                options = [(name, name) for name in PROVIDER_NAMES if name != "replay"]
                yield Select(options, value=self.parent_provider if self.parent_provider else Select.BLANK, allow_blank=True,
                             prompt="choose a provider", id="provider")
                yield Input(placeholder=f"model (default: {self.transcript.header.model or 'the preset’s'})",
                            id="model")
            if self.header_named:
                yield Checkbox(f"use what its header names: {describe_configuration(self.header_named)}",
                               id="from-header", compact=True)
            yield Static("", id="fork-error")
            with Horizontal(id="buttons"):
                yield Button("Fork", variant="primary", id="fork")
                yield Button("Cancel", id="cancel")

    def _intro(self) -> Content:
        return Content.assemble(
            ("⎇ Fork ", "bold"), (self.parent_path.name, "bold $text-primary"),
            (f" at iteration {self.fork_at}\n", "bold"),
            (("Iteration 1 replays the recording (its" if self.fork_at == 1 else
              f"Iterations 1–{self.fork_at} replay the recording (their")
             + " tool calls run again on a fresh workspace, "
             f"results checked); live from iteration {self.fork_at + 1}. Writes "
             f"{fork_path(self.parent_path, self.fork_at)}.", MUTED))

    def _recorded(self) -> Content:
        """The note the parent wrote after K (a model's text: Content shows its control characters inert)."""
        if self.recorded_note is None:
            return Content.styled("The run wrote no note after this iteration.", MUTED)
        kinds = ", ".join(x.kind for x in self.recorded_note.triggers) or "manual"
        text = " ".join(self.recorded_note.content.split())
        return Content.assemble((f"✦ {self.recorded_note.role} note on {kinds}: ", "$reflection"),
                                (text if len(text) <= 200 else text[:199] + "…", MUTED))

    def on_mount(self) -> None:
        # The first choice, not Fork: a stray enter must not start a live (maybe paid) run; ctrl+s forks.
        self.query_one("#reflection", RadioSet).focus()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == "note":
            self.query_one("#note-text", TextArea).display = self.note_choice == "edit"

    @property
    def note_choice(self) -> str:
        pressed = self.query_one("#note", RadioSet).pressed_button
        return (pressed.id or "note-keep").removeprefix("note-") if pressed is not None else "keep"

    def spec(self) -> ForkSpec:
        """The fork the fields ask for."""
        pressed = self.query_one("#reflection", RadioSet).pressed_button
        reflection = (pressed.id or "").removeprefix("reflection-") if pressed is not None else self.parent_reflection
        provider = self.query_one("#provider", Select).value
        model = self.query_one("#model", Input).value.strip()
        choice = self.note_choice
        from_header = bool(self.header_named) and self.query_one("#from-header", Checkbox).value
        return ForkSpec(self.parent_path, self.fork_at, drop_note=choice == "drop",
                        edit_note=self.query_one("#note-text", TextArea).text if choice == "edit" else None,
                        overrides={"reflection": reflection, "model": model or None,
                                   # the parent's provider, as prefilled, is not a choice of the user's: with
                                   # it the fork asks about the header's endpoint, as the command line does
                                   "provider": provider if isinstance(provider, str)
                                   and provider != self.parent_provider else None},
                        from_header=from_header)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "fork":
            await self.action_fork()
        else:
            self.action_cancel()

    async def action_fork(self) -> None:
        """Build the fork off the event loop (copying a workspace, starting a local model's server take
        time), then hand it over; a usage error stays in the form."""
        button, error = self.query_one("#fork", Button), self.query_one("#fork-error", Static)
        if button.disabled:
            return
        button.disabled = True
        error.update("starting the fork…")
        try:
            run = await asyncio.to_thread(build_fork, self.spec())
        except UsageError as exc:
            error.update(f"✗ {exc}")
            button.disabled = False
            button.focus()  # disabled, it had passed the focus on to Cancel: enter must not cancel now
            return
        self.dismiss(run)

    def action_cancel(self) -> None:
        self.dismiss(None)
