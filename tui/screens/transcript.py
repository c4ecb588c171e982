"""The transcript screen: a status bar, the transcript view, a search bar and the footer.

Two uses. With a `run`, the agent loop runs as an async worker on the app's own event loop (no thread):
the worker consumes `run.events()` and every event is appended to an in-memory Transcript and to the
view, which re-renders only the blocks it touches. Keys steer the loop through `run.control`. With a
`transcript`, the screen inspects a saved file; `n` then steps through its iterations.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from textual.actions import SkipAction
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from rich.text import Text
from textual.widgets import Input, Static
from textual.worker import Worker

from agent.display.terminal import inert
from agent.display.wording import plural
from agent.events import IterationStarted, Notice, RunFinished, WorkspaceChanged, is_transient
from agent.view.model import Checker, TranscriptModel
from agent.transcripts.transcript import StepReader, Transcript, TranscriptError, TranscriptHeader, TranscriptTail
from tui.screens.drawn import first_drawn
from tui.widgets.key_bar import KeyBar
from tui.widgets.status_bar import StatusBar, StatusInfo
from tui.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from agent.loop.control import RunControl
    from tui.protocols import RunHandle
    from tui.widgets.filter_bar import FilterBar
    from tui.widgets.search_bar import SearchBar

LIVE_ONLY = {"continuous", "pause", "toggle_reflection"}
FOLLOW_EVERY = 0.5
"""Seconds between two looks at a transcript that a run is still writing."""
CHECK_NOW = 10_000
"""Histories up to this many messages (a few ms of ordering check) are checked before the first screen."""
FIRST_STEP = 128_000
"""Bytes of a file read in steps before its first screen: a screenful of iterations, most often."""
READ_STEP = 128_000
"""Bytes read per step behind the first screen (~10 ms each)."""
STEP_PAUSE = 0.002
"""Seconds given to the app between two steps: time for its messages to go all the way through (a key to
the view, a refresh to the screen), not one hop each step."""
SHOW_READ_EVERY = 0.2
"""Seconds between two updates of the screen while a file is read (the blocks read, how far it is): each
one draws a frame, and a frame per step would take longer than the steps."""


class TranscriptScreen(Screen[None]):
    """Watch a live agent loop (`run=`) or inspect a saved transcript (`transcript=`)."""

    DEFAULT_CSS = """
    TranscriptScreen #warnings {
        height: auto;
        max-height: 4;
        padding: 0 1;
        color: $warning;
        background: $warning 10%;
        display: none;
    }
    TranscriptScreen #warnings.-shown {
        display: block;
    }
    TranscriptScreen #no-match {
        height: 1;
        padding: 0 1;
        color: $text-warning;
        display: none;
    }
    TranscriptScreen #no-match.-shown {
        display: block;
    }
    """

    # The footer shows keys in this order and cuts what does not fit: the essential ones come first.
    BINDINGS = [
        Binding("n", "step", "Step", tooltip="live: run one more iteration (presses queue); file: open the next one; "
                "while a search is on: the next match"),
        Binding("space", "step", "Step", show=False, tooltip="same as n"),
        # `/` and `f` open their bar and focus it before the app hands the next key on (priority: run as the
        # app takes the key, not once the view has it), so keys typed right after them land in the bar.
        Binding("slash", "search", "Search", priority=True,
                tooltip="search everything shown: text, arguments, results, notes"),
        Binding("question_mark", "help", "Keys", tooltip="this list of keys"),
        Binding("q", "quit_now", "Quit", tooltip="quit now (the run's transcript keeps every finished event); "
                "back to the runs when opened from a folder"),
        Binding("c", "continuous", "Run", tooltip="run continuously"),
        Binding("p", "pause", "Pause", tooltip="pause at the next iteration boundary"),
        Binding("r", "toggle_reflection", "Reflect", tooltip="reflection on/off for the next iterations"),
        Binding("v", "show_request", "Request", tooltip="what the model saw: the exact request of this iteration"),
        Binding("F", "fork", "Fork", show=False, tooltip="fork the run at this iteration: replay up to it, then go on "
                "live (a form: reflection, the note after it, provider)"),
        Binding("N", "search_previous", "Previous match", show=False, tooltip="previous search match"),
        Binding("escape", "escape", "End search", show=False, tooltip="end the search; with none on, clear the filter"),
        Binding("f", "filter", "Filter", show=False, priority=True,
                tooltip="filter the iterations: tool name, role:NAME, errors"),
        Binding("d", "changes", "Changes", show=False, tooltip="what the agent changed in the workspace, as diffs"),
        Binding("y", "copy", "Copy", show=False, tooltip="copy the item at the cursor (text, arguments or result)"),
        Binding("J", "raw", "Raw JSON", show=False, tooltip="the raw JSON of the item at the cursor"),
    ]

    def __init__(self, transcript: Transcript | None = None, run: RunHandle | None = None, title: str = "agent-tui",
                 *, checker: Checker | None = None, source: str | None = None, follow: Path | None = None) -> None:
        """`follow`: the file `transcript` was read from; if it has no ending yet (a run is still writing
        it), new events are shown as they are appended, until the run finishes. Nothing is read nor built
        here: see `load`."""
        super().__init__()
        self.run_handle = run
        self.live = run is not None
        if run is not None:
            self.transcript = Transcript(header=run.header)
        else:
            self.transcript = transcript if transcript is not None else Transcript(header=TranscriptHeader())
        self.model = TranscriptModel(checker)
        self.model.imported = self.transcript.header.source is not None
        self.loaded = self.live
        """The model holds what the first screen shows (`load`); a live run's comes with its events."""
        self.ending: RunFinished | None = None
        """A file read in steps: how its run ended, from its last line, until the lines up to it are read."""
        self.title = title
        if source is None and run is not None and run.path is not None:
            source = str(run.path)
        if source is None and run is None and title != "agent-tui":
            source = title  # `agent-tui open FILE` titles the screen with the file's path
        self.source = source or ""
        self._pending: list[Any] = []
        self._flush_scheduled = False
        self._worker: Worker[None] | None = None
        self.run_done = not self.live
        self.run_error: str | None = None
        self.last_match: tuple[int, int] = (0, 0)
        self._view: TranscriptView | None = None
        self._lines: list[str] = []
        self._effective_role: str | None = None
        self._search_bar: SearchBar | None = None
        self._filter_bar: FilterBar | None = None
        self._follow_path = follow
        self._warned = 0
        """How many of the transcript's warnings are shown."""
        self._tail: TranscriptTail | None = None
        self._workspace_gone = False
        """A saved run's workspace that is no longer there (a task's copy is removed when its run ends)."""
        self._status: StatusBar | None = None

    def load(self) -> None:
        """The model of what the first screen shows: the transcript's events and, for a file read in steps,
        its first step (the rest is read behind the first screen, `_read_rest`). A broken line in the first
        step fails the opening as in a whole read (TranscriptError), so `agent-tui open` loads before the
        app starts; a screen not loaded by its caller loads when it is composed."""
        if self.loaded:
            return
        self.loaded = True
        self.model.extend(self.transcript.events)
        rest = self.transcript.rest
        if rest is not None:
            self.ending = rest.ending()
            self._take(rest, rest.read(FIRST_STEP))
        workspace = self.transcript.header.workspace
        self._workspace_gone = bool(workspace) and not Path(workspace).exists()
        if self.transcript.rest is None:
            self._start_tail()

    def _start_tail(self) -> None:
        """Follow the file from where it was read to, if it has no ending yet (a run is still writing it)."""
        t, follow = self.transcript, self._follow_path
        if follow is not None and not self.live and t.header.source is None and t.end_offset > 0 and (
                self.model.finished is None):
            self._tail = TranscriptTail(follow, t.end_offset)

    # -- layout ------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.load()
        self._status = StatusBar(self._status_info(), id="status")
        yield self._status
        yield Static("", id="warnings")
        yield Static("", id="no-match", markup=False)
        self._view = TranscriptView(self.model, live=self.live, id="transcript")
        yield self._view
        yield KeyBar()

    @property
    def view(self) -> TranscriptView:
        assert self._view is not None, "the app is not composed yet"
        return self._view

    @property
    def status(self) -> StatusBar:
        assert self._status is not None, "the app is not composed yet"
        return self._status


    @property
    def search_bar(self) -> SearchBar:
        """The search bar, mounted by the first `/`: composed hidden, the two bars' widgets and styles cost
        the first screen ~12 ms (one bare Input ~3 ms), for bars many sessions never open."""
        assert self._search_bar is not None, "the search bar is mounted by the first /"
        return self._search_bar

    @property
    def filter_bar(self) -> FilterBar:
        """The filter bar, mounted by the first `f`."""
        assert self._filter_bar is not None, "the filter bar is mounted by the first f"
        return self._filter_bar

    @property
    def searching(self) -> bool:
        return self._search_bar is not None and self._search_bar.is_open

    def on_mount(self) -> None:
        self.view.focus()
        self._show_warnings()
        if self.run_handle is not None:
            self._worker = self.run_worker(self._consume(), name="run", exclusive=True, exit_on_error=False)
            self.run_handle.control.subscribe(self._refresh_status)  # parked, steps queued, reflection
        elif self.reading:
            self.run_worker(self._read_rest(), name="read", exit_on_error=False)
        else:
            # The ordering check walks the whole history. A short one runs now, so that the first screen
            # already shows its flags; a long one right after the first screen is painted.
            if len(self.model.messages) <= CHECK_NOW:
                self._check_order()
            else:
                self.call_after_refresh(self._check_order)
        if self._tail is not None:
            self._follow_now()
        self._refresh_status()

    def _show_warnings(self) -> None:
        """What the reader warned about and is not shown yet: a line above the transcript, and a toast."""
        warnings = self.transcript.warnings
        for warning in warnings[self._warned:]:
            self._show_line(f"⚠ {warning}")
            self.notify(inert(warning), title="transcript", severity="warning", timeout=8, markup=False)
        self._warned = len(warnings)

    def _follow_now(self) -> None:
        self.view.start_tailing()
        self._follow_timer = self.set_interval(FOLLOW_EVERY, self._follow)

    @property
    def reading(self) -> bool:
        """A file read in steps is not all read yet."""
        return self.transcript.rest is not None

    def _take(self, reader: StepReader, read: list[Any]) -> None:
        """Give the model the events just `read` from `reader` (each event is read once); then a broken
        line found by the reader is a TranscriptError."""
        self.model.extend(self.transcript.events, read=read)
        if reader.done:
            self.transcript.rest = None
        if reader.error is not None:
            raise reader.error

    async def _read_rest(self) -> None:
        """The worker: read the rest of the file a step at a time, giving the keys a turn after each one.
        What is read goes to the model and the view every `SHOW_READ_EVERY` seconds (in between, the two
        agree on the blocks there are). A broken line stops the reading there: what was read stays shown,
        and a line says where it broke."""
        await first_drawn(self)  # the first screen comes first
        broken = False
        shown_at = time.monotonic()
        held: list[Any] = []
        """Events read, not given to the model yet."""
        while self.reading:
            await asyncio.sleep(STEP_PAUSE)
            reader = self.transcript.rest
            assert reader is not None
            held += reader.read(READ_STEP)
            if not reader.done and time.monotonic() - shown_at < SHOW_READ_EVERY:
                continue
            first = len(self.model.blocks)
            try:
                self._take(reader, held)
            except TranscriptError as exc:
                broken = True
                self._show_line(f"⚠ {exc}: shown up to that line")
                self.notify(inert(str(exc)), title="transcript", severity="error", timeout=10, markup=False)
            held = []
            self.view.blocks_read(first, complete=not self.reading)
            self._refresh_status()
            shown_at = time.monotonic()
        self.ending = None
        self._show_warnings()  # those of the lines read since the first screen (a torn last line)
        self._check_order()
        if not broken:  # a file still being written is followed from its end, not from a broken line
            self._start_tail()
        if self._tail is not None:
            self._follow_now()
        self._refresh_status()

    @property
    def following(self) -> bool:
        return self._tail is not None

    def _stop_following(self) -> None:
        self._tail = None
        self._follow_timer.stop()
        self.view.run_stopped()

    def _follow(self) -> None:
        """tail -f: show what the run appended to the file since the last look."""
        tail = self._tail
        if tail is None:
            return
        try:
            events = tail.read()
        except TranscriptError as exc:
            self._stop_following()
            self.notify(inert(f"stopped following: {exc}"), severity="warning", timeout=6, markup=False)
            self._refresh_status()
            return
        if not events:
            return
        for event in events:
            self.transcript.add(event)
        self.view.add_events(events)
        self.view.check_order()
        if self.transcript.finished is not None:
            self._stop_following()
            self.notify(f"the run finished: {self.transcript.finished.reason.replace('_', ' ')}", timeout=4)
        self._refresh_status()

    def _check_order(self) -> None:
        self.view.check_order()
        self._refresh_status()

    def on_unmount(self) -> None:
        if self.transcript.rest is not None:
            self.transcript.rest.close()
        if self.run_handle is not None:
            self.run_handle.control.unsubscribe(self._refresh_status)

    # -- the live run ------------------------------------------------------------------------------------

    async def _consume(self) -> None:
        """The worker: run the loop, and hand every event to the transcript and the view."""
        run = self.run_handle
        assert run is not None, "only a live screen runs the loop"
        try:
            async for event in run.events(transient=True):  # with the reply as it streams in, for display
                if not is_transient(event):
                    self.transcript.add(event)
                self._pending.append(event)
                if not self._flush_scheduled:
                    self._flush_scheduled = True
                    self.call_later(self._flush)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the loop crashed: show it, keep the app alive
            self.run_error = f"{type(exc).__name__}: {exc}"
            notice = Notice(level="error", text=f"the run stopped with an error: {self.run_error}")
            self._pending.append(notice)
            self.notify(inert(self.run_error), title="run failed", severity="error", timeout=10, markup=False)
        finally:
            self.run_done = True
        self._flush()
        self.view.run_stopped()
        self.refresh_bindings()

    def _show_line(self, text: str) -> None:
        """A line above the transcript for what concerns the whole run (a torn file, the offline model)."""
        self._lines.append(text)
        box = self.query_one("#warnings", Static)
        box.update(Text(inert("\n".join(self._lines[-4:]))))  # run notices quote providers: no markup
        box.add_class("-shown")

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending:
            self._refresh_status()
            return
        batch, self._pending = self._pending, []
        for event in batch:
            if isinstance(event, IterationStarted) and event.reflection != "off":
                self._effective_role = event.reflection_role
            if isinstance(event, Notice) and event.iteration is None:
                self._show_line(f"{'ℹ' if event.level == 'info' else '⚠'} {event.text}")
        durable: list[Any] = []
        for event in batch:  # in order: a delta belongs to the block that is running when it arrives
            if is_transient(event):
                if durable:
                    self.view.add_events(durable)
                    durable = []
                self.view.show_delta(event)
            else:
                durable.append(event)
        if durable:
            self.view.add_events(durable)
        self.view.check_order()
        self._refresh_status()

    @property
    def control(self) -> RunControl | None:
        """How the keys steer a live run (None: a saved transcript)."""
        return self.run_handle.control if self.run_handle is not None else None

    def _status_info(self) -> StatusInfo:
        header = self.transcript.header
        control = self.control
        model = self.model
        view = self._view
        in_flight = view is not None and view.running_block is not None
        finished = model.finished.reason if model.finished else ("error" if self.run_error else None)
        if self.live and self.run_done and finished is None:
            finished = "cancelled"
        ending, iterations, usage, unreported = self.ending, model.iterations, model.usage, model.unreported
        tests_passed = model.finished.tests_passed if model.finished else None
        reader = self.transcript.rest
        if ending is not None:  # still reading: what the file's last line says, until it is read
            finished, tests_passed = ending.reason, ending.tests_passed
            iterations = max(iterations, ending.iterations)
            if ending.usage is not None:
                usage, unreported = ending.usage, ending.unreported_calls
        return StatusInfo(
            live=self.live,
            mode=control.mode if control else "step",
            waiting=control.waiting if control else False,
            pending_steps=control.pending_steps if control else 0,
            in_flight=in_flight,
            reflection=control.reflection if control else "off",
            reflection_role=control.reflection_role if control else "system",
            effective_role=self._effective_role,
            finished=finished,
            tests_passed=tests_passed,
            provider=header.provider,
            model=header.model,
            iterations=iterations,
            usage=usage,
            unreported=unreported,
            violations=model.violation_count,
            source=self.source,
            imported_from=header.source,
            workspace=header.workspace,
            workspace_gone=self._workspace_gone,
            following=self.following,
            reading=None if reader is None else reader.fraction,
            tokens_so_far=reader is not None and (ending is None or ending.usage is None),
            filtered=self._filter_summary(),
        )

    def _filter_summary(self) -> str:
        view = self._view
        if view is None or view.filter is None:
            return ""
        shown, total = view.filter_counts()
        return f"{view.filter.describe()}: {shown:,} of {plural(total, 'iteration')}"

    def _refresh_status(self) -> None:
        self.status.info = self._status_info()

    # -- actions -----------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LIVE_ONLY and not self.live:
            return False
        if action == "step" and self.searching and self.view.search_query:
            return True  # n: the next match, whatever the run is doing
        if self.live and self.run_done and action in LIVE_ONLY | {"step"}:
            return None  # shown dimmed: the run is over
        return True

    def action_step(self) -> None:
        if self.searching and self.view.search_query:
            self._search(self.view.search_query)
            return
        if not self.live:
            self.view.step_file()
            return
        if self.run_done:
            self.notify("the run is over", timeout=2)
            return
        control = self.control
        assert control is not None, "a live screen has its run's control"
        if control.mode == "continuous":
            self.notify("running continuously: p pauses at the next iteration", timeout=3)
            return
        control.step()
        self._refresh_status()

    def action_continuous(self) -> None:
        if self.control is not None and not self.run_done:
            self.control.run_continuous()
            self._refresh_status()

    def action_pause(self) -> None:
        if self.control is not None and not self.run_done:
            self.control.pause()
            self._refresh_status()

    def action_toggle_reflection(self) -> None:
        if self.control is None:
            return
        mode = self.control.toggle_reflection()
        self.notify(f"reflection {'off' if mode == 'off' else 'on, as ' + mode} from the next iteration", timeout=3)
        self._refresh_status()

    def action_show_request(self) -> None:
        from agent.transcripts.sent import sent_request
        from tui.screens.request import RequestScreen

        view = self.view
        iteration = view.cursor_iteration
        if iteration is None:
            self.notify("put the cursor on an iteration to see its request", timeout=3)
            return
        try:
            sent = sent_request(self.transcript, iteration)
        except (KeyError, ValueError, IndexError) as exc:
            self.notify(inert(f"no request recorded for iteration {iteration} ({exc})"), severity="warning",
                        timeout=4, markup=False)
            return
        block = view.cursor_block
        started = next((e for e in block.events if isinstance(e, IterationStarted)), None) if block else None
        self.app.push_screen(RequestScreen(sent, link_of=self.model.link,
                                           reflection=started.reflection if started else None))

    def action_fork(self) -> None:
        """`F`: the fork form for the iteration at the cursor; the fork then runs live in a screen of its own."""
        iteration = self.view.cursor_iteration
        if iteration is None:
            self.notify("put the cursor on an iteration to fork the run there", timeout=3)
            return
        if not self.source or self.transcript.header.source is not None:
            self.notify("fork replays agent-tui's own transcript files", severity="warning", timeout=4)
            return
        from pathlib import Path

        from tui.screens.fork_form import ForkForm

        def started(run: Any) -> None:
            if run is not None:
                self.app.push_screen(TranscriptScreen(run=run))

        self.app.push_screen(ForkForm(Path(self.source), self.transcript, iteration), started)

    async def action_search(self) -> None:
        if self._search_bar is None:
            from tui.widgets.search_bar import SearchBar

            self._search_bar = SearchBar(id="search")
        await self._open_bar(self._search_bar)

    async def action_filter(self) -> None:
        if self._filter_bar is None:
            from tui.widgets.filter_bar import FilterBar

            self._filter_bar = FilterBar(id="filter")
        await self._open_bar(self._filter_bar)

    async def _open_bar(self, bar: SearchBar | FilterBar) -> None:
        """Mount `bar` if it is new, show it and focus it. The app waits for this before it hands on the next
        key (the bindings are priority), so a fast `/ERROR` types ERROR into the bar instead of collapsing
        every block (E). A `/` or `f` typed into a bar is text: the key goes on to its input."""
        if isinstance(self.focused, Input):
            raise SkipAction()
        if not bar.is_attached:
            await self.mount(bar, before=self.query_one(KeyBar))
        bar.open()

    def on_filter_bar_changed(self, message: FilterBar.Changed) -> None:
        from agent.view.filters import BlockFilter, FilterError

        try:
            block_filter = BlockFilter.parse(message.text)
        except FilterError as exc:
            self.filter_bar.set_status(str(exc))
            return
        shown, total = self.view.set_filter(block_filter)
        nothing = not block_filter.empty and shown == 0
        self.filter_bar.set_status("" if block_filter.empty else "no iteration matches" if nothing else
                                   f"{shown:,} of {plural(total, 'iteration')}")
        self._show_no_match(f"no iteration matches {block_filter.describe()!r} (esc clears the filter)" if nothing else "")
        self._refresh_status()

    def _show_no_match(self, text: str) -> None:
        """A line above the transcript when the filter leaves no iteration (else the screen looks empty)."""
        line = self.query_one("#no-match", Static)
        line.update(text)
        line.set_class(bool(text), "-shown")

    def on_filter_bar_left(self, message: FilterBar.Left) -> None:
        if message.clear or self.view.filter is None:
            self.filter_bar.close()
            self.view.set_filter(None)
            self._show_no_match("")
            self._refresh_status()
        self.view.focus()

    def action_changes(self) -> None:
        """`d`: every diff the run recorded, iteration by iteration, opened at the cursor's iteration."""
        from tui.render.content import unified_diff_lines
        from tui.screens.text import TextScreen

        lines: list[Text] = []
        anchor = 0
        here = self.view.cursor_iteration
        for event in self.transcript.events:
            if not isinstance(event, WorkspaceChanged):
                continue
            if here is not None and event.iteration <= here:
                anchor = len(lines)
            files = ", ".join(f.path for f in event.files)
            lines.append(Text(f"iteration {event.iteration} · {plural(len(event.files), 'file')}: {files}",
                              style="bold"))
            lines.extend(unified_diff_lines(event.diff))
            if event.cut:
                lines.append(Text(f"… {plural(event.cut, 'more character')} of this diff were not recorded",
                                  style="italic"))
            lines.append(Text(""))
        if not lines:
            why = ("runs of agent-tui record them; imported transcripts carry none" if self.transcript.header.source
                   else "no iteration changed a file")
            self.notify(f"no workspace changes recorded ({why})", timeout=4)
            return
        workspace = self.transcript.header.workspace
        title = "What the agent changed" + (f" in {workspace}" if workspace else "")
        self.app.push_screen(TextScreen(title, lines, "\n".join(t.plain for t in lines), anchor=anchor))

    def action_copy(self) -> None:
        """`y`: the item at the cursor to the clipboard, through the terminal (OSC 52)."""
        from agent.view.model import item_copy_text

        block, item = self.view.cursor_block, self.view.cursor_item
        if block is None or item is None or item.kind == "title":
            self.notify("move onto a message, call or result to copy it", timeout=3)
            return
        text = item_copy_text(block, item)
        self.app.copy_to_clipboard(text)
        self.notify(f"copied the {item.kind}: {plural(len(text), 'character')}", title="clipboard", timeout=3)

    def action_raw(self) -> None:
        """`J`: the raw JSON of the item at the cursor (the message, the call, or the event)."""
        import json

        from rich.syntax import Syntax

        from agent.display.terminal import inert
        from agent.view.model import item_raw
        from tui.screens.text import TextScreen

        block, item = self.view.cursor_block, self.view.cursor_item
        if block is None or item is None or item.kind == "title":
            self.notify("move onto a message, call or result to see its JSON", timeout=3)
            return
        dumped = json.dumps(item_raw(block, item), indent=2, ensure_ascii=False)
        text = Syntax(inert(dumped), "json", theme="monokai", background_color="default").highlight(inert(dumped))
        self.app.push_screen(TextScreen(f"Raw JSON — {item.kind}", list(text.split("\n")), dumped))

    def action_search_previous(self) -> None:
        if self.searching and self.view.search_query:
            self._search(self.view.search_query, backwards=True)

    def action_escape(self) -> None:
        """esc: end the search; with no search on, clear the filter."""
        if self.searching:
            self.search_bar.close()
            self.view.clear_search()
            self.view.focus()
        elif self.view.filter is not None:
            self.on_filter_bar_left(self.filter_bar.Left(clear=True))

    def action_help(self) -> None:
        from tui.screens.help import FILTER_KEYS, MOUSE, SEARCH_KEYS, HelpScreen, binding_rows
        from tui.screens.request import RequestScreen
        from tui.widgets.request_view import RequestView

        sections = [
            ("Run" if self.live else "Stepping", binding_rows(
                b for b in self.BINDINGS if isinstance(b, Binding) and b.action in
                ("step", "continuous", "pause", "toggle_reflection"))),
            ("Transcript", binding_rows(TranscriptView.BINDINGS)),
            ("Views", binding_rows(
                b for b in self.BINDINGS if isinstance(b, Binding) and b.action in
                ("show_request", "fork", "changes", "copy", "raw", "filter", "search", "help", "quit_now"))),
            ("What the model saw (v)", binding_rows(RequestView.BINDINGS) + binding_rows(
                b for b in RequestScreen.BINDINGS if isinstance(b, Binding) and b.action in ("switch", "copy"))
             + [("esc", "close")]),
        ]
        if not self.live:
            sections[0] = ("Stepping", [("n / space", "open the next iteration (closing the previous one)")])
        self.app.push_screen(HelpScreen(sections + [("Search", SEARCH_KEYS), ("Filter (f)", FILTER_KEYS),
                                                    ("Mouse", MOUSE)]))

    def commands(self) -> Iterator[SystemCommand]:
        """In the command palette: export the open transcript beside its file (`agent-tui export`)."""
        for fmt, what in (("html", "HTML page"), ("md", "Markdown"), ("json", "JSON message list")):
            yield SystemCommand(f"Export as {what}", f"write this transcript as {what} beside its file, secrets "
                                "redacted", lambda fmt=fmt: self.run_worker(self.export(fmt), group="export"))

    async def export(self, fmt: str) -> None:
        """Export from the file (read again in a thread: the screen's own events stay the screen's)."""
        from agent.export.export import default_output, export_transcript
        from agent.transcripts.importers import open_transcript
        from agent.transcripts.transcript import TranscriptError

        if not self.source:
            self.notify("this transcript has no file to export", severity="warning", timeout=4)
            return
        out = default_output(Path(self.source), fmt)  # type: ignore[arg-type]

        def write() -> str:
            export = export_transcript(open_transcript(self.source), fmt)  # type: ignore[arg-type]
            out.write_text(export.text, encoding="utf-8")
            return export.redaction

        try:
            redaction = await asyncio.to_thread(write)
        except (OSError, TranscriptError) as exc:  # a file gone bad, a folder we may not write in: say so
            self.notify(f"cannot export to {out}: {exc}", title="export", severity="error", timeout=8)
            return
        self.notify(f"{out} ({redaction})", title="exported", timeout=8)

    def action_quit_now(self) -> None:
        """Quit at once: cancel the run (its transcript keeps every finished event) and leave the screen."""
        if self._worker is not None and not self._worker.is_finished:
            self._worker.cancel()
        self.dismiss()

    # -- messages from widgets ---------------------------------------------------------------------------

    def on_search_bar_submitted(self, message: SearchBar.Submitted) -> None:
        self._search(message.text)

    def on_search_bar_left(self, message: SearchBar.Left) -> None:
        if not self.view.search_query or not self.view.matches:
            self.search_bar.close()
            self.view.clear_search()
        else:
            self.search_bar.set_status(f"match {self.last_match[0]}/{self.last_match[1]} · n/N next/previous · esc ends")
        self.view.focus()

    def _search(self, query: str, *, backwards: bool = False) -> None:
        query = query.strip()
        if not query:
            return
        i, total = self.view.search(query, backwards=backwards)
        self.last_match = (i, total)
        self.search_bar.set_status(f"match {i}/{total}" if total else "no match")

    def on_transcript_view_cursor_moved(self, message: TranscriptView.CursorMoved) -> None:
        pass

