"""Reflection: triggers with their evidence, the separate call, placement, roles, role fallback, live toggle.

Every run here goes through the real openai SDK against the offline model (or a loopback HTTP double), and
every request the SDK sent is checked against the ordering rules.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

import agent.models.offline
from agent.events import (
    AssistantMessage,
    Completion,
    IterationStarted,
    Notice,
    ReflectionFallback,
    ReflectionNote,
    RunFinished,
    ToolResult,
)
from agent.models.errors import REFUSAL_TEXTS, role_refusal
from agent.protocols import PURPOSE_HEADER, IterationRecord
from agent.models.offline import OfflineServer, _error
from agent.ordering import check_messages
from agent.reflection.scripted import default_reflection_answer
from agent.reflection.reflector import (
    TriggerConfig,
    TriggerWatch,
    make_reflector,
    parse_triggers,

    summarize_test_failure,
)
from agent.run.runner import RunOptions, build_run
from agent.protocols import ToolOutcome
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect, reply, until, write_script

QS_EDIT = call("e1", "edit_file", path="quicksort.py",
               old="    larger = [x for x in items if x > pivot]\n    return quicksort(smaller) + [pivot] + quicksort(larger)\n",
               new="    equal = [x for x in items if x == pivot]\n    larger = [x for x in items if x > pivot]\n"
                   "    return quicksort(smaller) + equal + quicksort(larger)\n")
FINISH = call("f1", "finish", summary="done")


def options(tmp_path: Path, **kw: Any) -> RunOptions:
    kw.setdefault("reflection", "system")
    kw.setdefault("task", "quicksort")
    return RunOptions(out=tmp_path / "run.jsonl", **kw)


def scripted(tmp_path: Path, replies: list[dict[str, Any]], **kw: Any) -> Any:
    return build_run(options(tmp_path, script=write_script(tmp_path / "script.json", replies), **kw))


def notes_of(events: list) -> list[ReflectionNote]:
    return [e for e in events if isinstance(e, ReflectionNote)]


def assert_requests_clean(requests: list[dict[str, Any]]) -> None:
    for body in requests:
        assert check_messages(body["messages"]) == [], body["messages"]


def assert_transcript_exact(run: Any, events: list) -> None:
    """The transcript on disk rebuilds every request that was answered, exactly."""
    transcript = open_transcript(run.path)
    numbers = list(dict.fromkeys(e.iteration for e in events if isinstance(e, IterationStarted)))
    answered = [b for b in run.server.requests if not b.get("_refused")]
    assert len(answered) == len(numbers)
    for number, body in zip(numbers, answered):
        assert transcript.request_at(number)[0] == body["messages"]
    assert check_messages(transcript.messages()) == []


# --- triggers -------------------------------------------------------------------------------------------


async def test_tool_errors_fire_with_their_evidence(tmp_path: Path) -> None:
    run = scripted(tmp_path, [
        reply("poke around",
              call("c1", "read_file", path="nope.py"),
              {"id": "c2", "type": "function", "function": {"name": "read_file", "arguments": "{not json"}},
              call("c3", "frobnicate", x=1)),
        reply(None, FINISH),
    ])
    events = await collect(run)
    [note] = notes_of(events)
    assert note.iteration == 1 and [t.kind for t in note.triggers] == ["tool_error"]
    lines = note.triggers[0].evidence.splitlines()
    assert lines[0].startswith('[bad path] read_file({"path": "nope.py"}): error: no such file')
    assert lines[1].startswith("[malformed arguments] read_file({not json): error: arguments for read_file")
    assert lines[2].startswith('[unknown tool] frobnicate({"x": 1}): error: unknown tool')
    assert "nope.py" in note.content  # the offline note quotes the evidence
    assert len(run.server.reflection_requests) == 1
    assert run.server.reflection_requests[0].get("tools") is None  # no tools in the reflection call


@pytest.mark.real_pytest  # the evidence quotes pytest's own assertion message
async def test_failing_tests_fire_with_the_first_failing_test(tmp_path: Path) -> None:
    run = scripted(tmp_path, [reply(None, call("t1", "run_tests")), reply(None, FINISH)])
    events = await collect(run)
    [note] = notes_of(events)
    [trigger] = note.triggers
    assert trigger.kind == "tests_failed"
    first = trigger.evidence.splitlines()[0]
    assert first.startswith("tests failed (exit 1), 3 failed, 3 passed")
    assert "first failure: FAILED test_quicksort.py::test_keeps_duplicates - assert [1, 2, 3] == [1, 1, 2, 3, 3]" in first
    assert "test_quicksort.py::test_keeps_duplicates" in note.content


async def test_a_call_repeated_three_times_in_a_row_fires_once_per_three(tmp_path: Path) -> None:
    read = lambda i: reply(None, call(f"r{i}", "read_file", path="quicksort.py"))  # noqa: E731
    run = scripted(tmp_path, [read(1), read(2), read(3), read(4), reply(None, FINISH)])
    events = await collect(run)
    [note] = notes_of(events)
    assert note.iteration == 3 and [t.kind for t in note.triggers] == ["repeated_call"]
    assert note.triggers[0].evidence.startswith(
        'read_file({"path": "quicksort.py"}) called 3 times in a row (iterations 1, 2, 3)')
    assert 'read_file({"path": "quicksort.py"})' in note.content


async def test_no_change_for_five_iterations_fires(tmp_path: Path) -> None:
    run = scripted(tmp_path, [
        reply(None, call("a", "list_files")),
        reply(None, call("b", "read_file", path="quicksort.py")),
        reply(None, call("c", "grep", pattern="def")),
        reply(None, call("d", "read_file", path="test_quicksort.py")),
        reply(None, call("e", "grep", pattern="pivot")),
        reply(None, QS_EDIT),
        reply(None, FINISH),
    ])
    events = await collect(run)
    [note] = notes_of(events)
    assert note.iteration == 5 and [t.kind for t in note.triggers] == ["no_change"]
    assert note.triggers[0].evidence == ("no file changed in the last 5 iterations (1-5); calls made: "
                                         "list_files x1, read_file x2, grep x2")


async def test_budget_fires_once_at_eighty_percent(tmp_path: Path) -> None:
    run = scripted(tmp_path, [
        reply(None, call("a", "list_files")),
        reply(None, call("b", "read_file", path="quicksort.py")),
        reply(None, QS_EDIT),
        reply(None, call("d", "read_file", path="test_quicksort.py")),
        reply(None, FINISH),
    ], max_steps=5)
    events = await collect(run)
    [note] = notes_of(events)
    assert note.iteration == 4 and [t.kind for t in note.triggers] == ["budget"]
    assert note.triggers[0].evidence.startswith("iteration 4 of 5 done (80% of the step budget) without finish")


async def test_several_triggers_in_one_iteration_make_one_call(tmp_path: Path) -> None:
    run = scripted(tmp_path, [
        reply(None, call("a", "read_file", path="missing.py"), call("b", "run_tests")),
        reply(None, FINISH),
    ])
    events = await collect(run)
    [note] = notes_of(events)
    assert [t.kind for t in note.triggers] == ["tool_error", "tests_failed"]
    assert len(run.server.reflection_requests) == 1
    prompt = run.server.reflection_requests[0]["messages"][-1]["content"]
    assert [t.kind for t in parse_triggers(prompt)] == ["tool_error", "tests_failed"]
    assert note.messages[0]["content"].startswith("[reflection on tool_error, tests_failed] ")


async def test_triggers_are_configurable(tmp_path: Path) -> None:
    assert TriggerConfig.parse("all") == TriggerConfig()
    assert TriggerConfig.parse("-tests_failed").tests_failed is False
    cfg = TriggerConfig.parse("tests_failed,repeat=4")
    assert (cfg.tool_error, cfg.tests_failed, cfg.repeated_calls, cfg.no_change_iterations, cfg.budget_fraction) \
        == (False, True, 4, 0, 0.0)
    with pytest.raises(ValueError, match="unknown reflection trigger"):
        TriggerConfig.parse("bogus")
    run = build_run(options(tmp_path))
    run.loop.reflector = make_reflector(run.loop.reflector.model, run.header.goal,
                                        triggers="-tests_failed")
    events = await collect(run)
    assert notes_of(events) == [] and run.server.reflection_requests == []


def test_test_failure_summary_outside_pytest() -> None:
    text = "tests failed (exit 2)\nsome runner\nFAIL: test_x (mod.T)\nAssertionError: 1 != 2\n"
    assert summarize_test_failure(text) == "tests failed (exit 2)\nsome runner\nFAIL: test_x (mod.T)\nAssertionError: 1 != 2"


def test_offline_answer_is_deterministic_and_quotes_evidence() -> None:
    prompt = ('## Goal\nfix\n\n<trigger kind="tests_failed">\ntests failed (exit 1)\n'
              'FAILED t.py::test_a - assert 1 == 2\n</trigger>\n<trigger kind="budget">\niteration 8 of 10 done\n</trigger>')
    body = {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": prompt}]}
    answer = default_reflection_answer(body)
    assert answer == default_reflection_answer(body)
    assert "t.py::test_a (assert 1 == 2)" in answer and "iteration 8 of 10" in answer


# --- off, on, placement ---------------------------------------------------------------------------------


async def test_off_writes_no_note_and_makes_no_call(tmp_path: Path) -> None:
    run = build_run(options(tmp_path, reflection="off"))
    events = await collect(run)
    assert notes_of(events) == [] and run.server.reflection_requests == []
    assert all(e.reflection == "off" and e.reflection_role is None for e in events if isinstance(e, IterationStarted))
    assert isinstance(events[-1], RunFinished) and events[-1].tests_passed is True


async def test_quicksort_demo_notes_the_failing_run_after_the_batch(tmp_path: Path, capsys) -> None:
    run = build_run(options(tmp_path))
    events = await collect(run)
    notes = notes_of(events)
    assert len(notes) == 1
    note = notes[0]
    assert note.iteration == 2 and note.role == "system" and note.triggers[0].kind == "tests_failed"
    assert note.request[0]["role"] == "system" and "test_keeps_duplicates" in note.request[1]["content"]
    assert note.usage is not None and note.usage.prompt_tokens > 0 and note.model == "scripted"
    # the note comes right after the run_tests result, in the event stream and in the next request
    k = events.index(note)
    assert isinstance(events[k - 1], ToolResult) and events[k - 1].name == "run_tests"
    sent = run.server.requests[2]["messages"]
    assert sent[-2]["role"] == "tool" and sent[-1] == note.messages[0]
    assert sent[-1]["content"].startswith("[reflection on tests_failed] The tests fail, first "
                                          "test_quicksort.py::test_keeps_duplicates")
    assert_requests_clean(run.server.requests)
    assert_transcript_exact(run, events)
    assert isinstance(events[-1], RunFinished) and events[-1].tests_passed is True
    transcript = open_transcript(run.path)
    assert transcript.iterations[1].reflection is not None
    assert transcript.iterations[1].reflection.triggers[0].kind == "tests_failed"
    assert transcript.usage.prompt_tokens == sum(b.prompt_tokens for b in
                                                 [e.usage for e in events if isinstance(e, (AssistantMessage, ReflectionNote))])


def test_headless_output_shows_the_note_and_off_shows_none(tmp_path: Path, capsys) -> None:
    from agent.cli.commands import main

    assert main(["run", "--headless", "--out", str(tmp_path / "on.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "✦ reflection  as system" in out
    assert "┊ trigger tests_failed: tests failed (exit 1)" in out and "test_keeps_duplicates" in out
    assert main(["run", "--headless", "--reflection", "off", "--out", str(tmp_path / "off.jsonl")]) == 0
    assert "✦ reflection" not in capsys.readouterr().out


async def test_note_follows_the_last_result_of_a_parallel_batch(tmp_path: Path) -> None:
    run = scripted(tmp_path, [
        reply("three at once", call("p1", "read_file", path="missing.py"), call("p2", "run_tests"),
              call("p3", "list_files")),
        reply(None, FINISH),
    ])
    events = await collect(run)
    [note] = notes_of(events)
    results = [e for e in events if isinstance(e, ToolResult)]
    assert events.index(note) == events.index(results[2]) + 1
    sent = run.server.requests[1]["messages"]
    assert [m["role"] for m in sent[2:]] == ["assistant", "tool", "tool", "tool", "system"]
    assert [m["tool_call_id"] for m in sent[3:6]] == ["p1", "p2", "p3"]
    assert_requests_clean(run.server.requests)
    assert_transcript_exact(run, events)


@pytest.mark.parametrize("role", ["system", "user", "assistant"])
async def test_each_role(tmp_path: Path, role: str) -> None:
    run = build_run(options(tmp_path, reflection=role))
    events = await collect(run)
    [note] = notes_of(events)
    assert note.role == role and note.fallback_from is None
    sent = run.server.requests[2]["messages"]
    if role == "assistant":  # never last: a user follower, said so in the event
        assert note.follower_added is True
        assert [m["role"] for m in note.messages] == ["assistant", "user"]
        assert sent[-3]["role"] == "tool" and sent[-2]["role"] == "assistant" and sent[-1] == {"role": "user", "content": "Continue."}
        assert "tool_calls" not in sent[-2]
    else:
        assert note.follower_added is False and len(note.messages) == 1
        assert sent[-2]["role"] == "tool" and sent[-1]["role"] == role
    assert sent[-len(note.messages):] == note.messages
    assert_requests_clean(run.server.requests)
    assert_transcript_exact(run, events)
    assert isinstance(events[-1], RunFinished) and events[-1].tests_passed is True


async def test_a_failing_reflection_call_is_a_notice_not_the_end(tmp_path: Path, monkeypatch) -> None:
    class Broken(OfflineServer):
        def handle(self, request):
            if request.headers.get(PURPOSE_HEADER) == "reflection":
                return _error(503, "reflection model overloaded")
            return super().handle(request)

    monkeypatch.setattr(agent.models.offline, "OfflineServer", Broken)
    run = build_run(options(tmp_path))
    events = await collect(run)
    assert notes_of(events) == []
    [notice] = [e for e in events if isinstance(e, Notice) and "reflection skipped" in e.text]
    assert notice.iteration == 2 and "reflection model overloaded" in notice.text and "tests_failed" in notice.text
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "finished"


async def test_replaying_a_run_with_notes_matches_it(tmp_path: Path) -> None:
    first = build_run(options(tmp_path))
    await collect(first)
    again = build_run(RunOptions(replay=first.path, reflection="system", out=tmp_path / "again.jsonl"))
    events = await collect(again)
    assert any(isinstance(e, Notice) and "every request matched" in e.text for e in events)


# --- role fallback --------------------------------------------------------------------------------------

SYSTEM_LATE = REFUSAL_TEXTS[0]
MISTRAL = REFUSAL_TEXTS[3]


class PickyServer(OfflineServer):
    """The offline model behind a chat template that refuses some roles, with the real error texts."""

    refuse: str = "system_late"
    status: int = 400

    def handle(self, request):
        if request.headers.get(PURPOSE_HEADER) != "reflection" and request.url.path.endswith("/chat/completions"):
            body = json.loads(request.content)
            messages = body["messages"]
            text = None
            if self.refuse == "system_late" and any(m["role"] == "system" for m in messages[1:]):
                text = SYSTEM_LATE
            elif self.refuse == "user_after_tool" and any(
                    a["role"] == "tool" and b["role"] == "user" for a, b in zip(messages, messages[1:])):
                text = MISTRAL
            elif self.refuse == "any_note" and any(str(m.get("content") or "").startswith("[reflection on")
                                                   for m in messages):
                text = "Conversation roles must alternate user/assistant/user/assistant/..."
            elif self.refuse == "other" and len(messages) > 5:
                text = "Invalid 'messages': something else entirely"
            if text is not None:
                self.requests.append({**body, "_refused": text})
                return _error(self.status, text)
        return super().handle(request)


def picky(monkeypatch: pytest.MonkeyPatch, refuse: str, status: int = 400) -> None:
    monkeypatch.setattr(agent.models.offline, "OfflineServer",
                        type("Picky", (PickyServer,), {"refuse": refuse, "status": status}))


TWO_FAILURES = [
    reply(None, call("t1", "run_tests")),
    reply(None, call("r1", "read_file", path="test_quicksort.py")),
    reply(None, call("t2", "run_tests")),
    reply(None, QS_EDIT),
    reply(None, call("t3", "run_tests")),
    reply(None, FINISH),
]


@pytest.mark.parametrize("status", [400, 500])
async def test_system_refused_past_the_first_falls_back_to_user(tmp_path: Path, monkeypatch, status: int) -> None:
    picky(monkeypatch, "system_late", status)
    run = scripted(tmp_path, TWO_FAILURES)
    events = await collect(run)
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "finished" and events[-1].tests_passed
    [fallback] = [e for e in events if isinstance(e, ReflectionFallback)]
    assert (fallback.iteration, fallback.note_iteration) == (2, 1)
    assert (fallback.from_role, fallback.to_role, fallback.error, fallback.status) == ("system", "user", SYSTEM_LATE, status)
    assert fallback.replaced == 1 and [m["role"] for m in fallback.messages] == ["user"]
    assert any(isinstance(e, Notice) and "sending the request again" in e.text for e in events)
    # the same iteration is started again with the new request
    starts = [e for e in events if isinstance(e, IterationStarted) and e.iteration == 2]
    assert len(starts) == 2 and starts[1].reflection == "system" and starts[1].reflection_role == "user"
    # the role that worked is kept: the second note is a user note at once, and nothing else is refused
    notes = notes_of(events)
    assert [(n.role, n.fallback_from) for n in notes] == [("system", None), ("user", "system")]
    refused = [b for b in run.server.requests if b.get("_refused")]
    assert len(refused) == 1
    assert_requests_clean(run.server.requests)  # the refused request too
    assert_transcript_exact(run, events)
    transcript = open_transcript(run.path)
    assert transcript.iterations[1].fallbacks[0].to_role == "user"
    assert transcript.messages()[: len(run.server.requests[-1]["messages"])] == run.server.requests[-1]["messages"]


async def test_user_refused_after_tool_falls_back_to_assistant_with_follower(tmp_path: Path, monkeypatch) -> None:
    picky(monkeypatch, "user_after_tool")
    run = scripted(tmp_path, TWO_FAILURES, reflection="user")
    events = await collect(run)
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "finished"
    [fallback] = [e for e in events if isinstance(e, ReflectionFallback)]
    assert (fallback.from_role, fallback.to_role, fallback.error) == ("user", "assistant", MISTRAL)
    assert [m["role"] for m in fallback.messages] == ["assistant", "user"]
    notes = notes_of(events)
    assert [(n.role, n.fallback_from, n.follower_added) for n in notes] == [("user", None, False),
                                                                            ("assistant", "user", True)]
    assert_requests_clean(run.server.requests)
    assert_transcript_exact(run, events)


async def test_every_role_refused_drops_the_note_and_stops_reflecting(tmp_path: Path, monkeypatch) -> None:
    picky(monkeypatch, "any_note")
    run = scripted(tmp_path, TWO_FAILURES)
    events = await collect(run)
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "finished"
    fallbacks = [e for e in events if isinstance(e, ReflectionFallback)]
    assert [(f.from_role, f.to_role) for f in fallbacks] == [("system", "user"), ("user", "assistant"),
                                                             ("assistant", None)]
    assert fallbacks[-1].messages == [] and fallbacks[-1].replaced == 2
    assert any(isinstance(e, Notice) and "no more notes" in e.text for e in events)
    assert len(notes_of(events)) == 1  # the second failing run gets no note
    assert run.loop.reflector.disabled
    assert_requests_clean(run.server.requests)
    assert_transcript_exact(run, events)
    assert not any("[reflection on" in str(m.get("content")) for m in open_transcript(run.path).messages())


async def test_another_400_after_a_note_is_not_a_fallback(tmp_path: Path, monkeypatch) -> None:
    picky(monkeypatch, "other")
    run = scripted(tmp_path, TWO_FAILURES)
    events = await collect(run)
    assert not any(isinstance(e, ReflectionFallback) for e in events)
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "provider_error"


async def test_a_preset_that_knows_the_refusal_starts_with_the_working_role(tmp_path: Path, monkeypatch) -> None:
    picky(monkeypatch, "system_late")
    for kw in ({"refused_roles": {"system"}}, {"initial_role": "user"}):
        run = scripted(tmp_path, TWO_FAILURES)
        run.loop.reflector = make_reflector(run.loop.reflector.model, run.header.goal, **kw)
        events = await collect(run)
        assert not any(isinstance(e, ReflectionFallback) for e in events)
        assert [(n.role, n.fallback_from) for n in notes_of(events)] == [("user", "system")] * 2
        assert not any(b.get("_refused") for b in run.server.requests)
        assert all(e.reflection_role == "user" for e in events if isinstance(e, IterationStarted))


async def test_loopback_endpoint_refusing_a_late_system_message(tmp_path: Path) -> None:
    """Over TCP, through the SDK's real HTTP stack: `--provider vllm --base-url ... --reflection system`."""
    from tests.loopback import LoopbackServer

    def refuse(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
        if any(m["role"] == "system" for m in body["messages"][1:]):
            return 400, SYSTEM_LATE
        return None

    with LoopbackServer(json.loads((Path(agent.tasks.task.__file__).parent / "taskdata/quicksort/script.json")
                                   .read_text()), fail=refuse) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="qwen3"))
        events = await collect(run)
    assert isinstance(events[-1], RunFinished) and events[-1].reason == "finished" and events[-1].tests_passed
    [fallback] = [e for e in events if isinstance(e, ReflectionFallback)]
    assert (fallback.from_role, fallback.to_role, fallback.error) == ("system", "user", SYSTEM_LATE)
    for body in server.requests:  # every request sent, the refused one included
        assert check_messages(body["messages"]) == []
    answered = [b for b in server.requests if refuse(0, b) is None]
    transcript = open_transcript(run.path)
    numbers = list(dict.fromkeys(e.iteration for e in events if isinstance(e, IterationStarted)))
    assert [transcript.request_at(n)[0] for n in numbers] == [b["messages"] for b in answered]


def test_refusal_detection() -> None:
    class Err(Exception):
        def __init__(self, status: int, message: str) -> None:
            super().__init__(message)
            self.status_code, self.body = status, {"error": {"message": message}}

    for text in REFUSAL_TEXTS:
        assert role_refusal(Err(400, text)) == (text, 400)
    assert role_refusal(Err(500, "After the optional system message, conversation roles must alternate "
                                 "user/assistant/user/assistant/...")) is not None
    assert role_refusal(Err(400, "system message must be at the beginning")) is not None  # case, no period
    assert role_refusal(Err(401, SYSTEM_LATE)) is None
    assert role_refusal(Err(400, "context length exceeded")) is None


# --- live toggle ----------------------------------------------------------------------------------------


async def test_live_toggle_takes_effect_from_the_next_iteration(tmp_path: Path) -> None:
    run = scripted(tmp_path, TWO_FAILURES, reflection="off", step_mode="step")
    seen: list = []

    async def consume() -> None:
        async for event in run.events():
            seen.append(event)

    async def step_and_wait(n: int) -> None:
        run.control.step()
        await until(run.control, lambda: run.control.waiting and sum(isinstance(e, AssistantMessage) for e in seen) == n)

    task = asyncio.create_task(consume())
    await step_and_wait(1)  # run_tests fails with reflection off: no note
    assert run.control.toggle_reflection() == "system"
    await step_and_wait(2)  # read_file
    await step_and_wait(3)  # run_tests fails with reflection on: a note
    assert run.control.toggle_reflection() == "off"
    await step_and_wait(4)
    run.control.run_continuous()
    await asyncio.wait_for(task, 30)
    modes = {e.iteration: e.reflection for e in seen if isinstance(e, IterationStarted)}
    assert modes == {1: "off", 2: "system", 3: "system", 4: "off", 5: "off", 6: "off"}
    assert [n.iteration for n in notes_of(seen)] == [3]
    assert len(run.server.reflection_requests) == 1
    assert_requests_clean(run.server.requests)
    on_disk = {e.iteration: e.reflection for e in open_transcript(run.path).events if isinstance(e, IterationStarted)}
    assert on_disk == modes


async def test_a_toggle_during_an_iteration_waits_for_the_next(tmp_path: Path) -> None:
    run = scripted(tmp_path, TWO_FAILURES, reflection="system")
    execute = run.loop.toolbox.execute
    flipped: list[bool] = []

    async def flip_while_running(name: str, arguments: str) -> ToolOutcome:
        outcome = await execute(name, arguments)
        if name == "run_tests" and not flipped:
            run.control.toggle_reflection()  # 'r' pressed while the first test run runs
            flipped.append(True)
        return outcome

    run.loop.toolbox.execute = flip_while_running
    events = await collect(run)
    modes = [e.reflection for e in events if isinstance(e, IterationStarted)]
    assert modes == ["system", "off", "off", "off", "off", "off"]
    assert [n.iteration for n in notes_of(events)] == [1]  # iteration 1 started with reflection on


class _FakeModel:
    """Records the reflection requests (messages, tools); answers with a fixed note."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []

    async def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> AsyncIterator[Completion]:
        self.calls.append((messages, tools))
        yield Completion(message={"role": "assistant", "content": "note"}, model="m")


async def _note(events: AsyncIterator[Any]) -> ReflectionNote | None:
    """The note a reflector's look at an iteration ends with (None: it wrote none)."""
    return next((e for e in [e async for e in events] if isinstance(e, ReflectionNote)), None)


def _record(i: int, *results: tuple[str, str, ToolOutcome]) -> IterationRecord:
    events = [ToolResult(iteration=i, tool_call_id=f"c{i}{k}", name=n, arguments=a, content=o.content,
                         is_error=o.is_error, message={"role": "tool", "tool_call_id": f"c{i}{k}", "content": o.content})
              for k, (n, a, o) in enumerate(results)]
    return IterationRecord(i, {"role": "assistant"}, events, [o for _, _, o in results], 30)


async def test_counters_keep_running_while_reflection_is_off() -> None:
    model = _FakeModel()
    reflector = make_reflector(model, "goal")
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "g"}]
    read = ("read_file", '{"path": "a.py"}', ToolOutcome("1| x"))
    for i in range(1, 5):  # four iterations of reading, reflection off: no call
        record = _record(i, read if i < 3 else ("list_files", "{}", ToolOutcome("a.py")))
        assert await _note(reflector.after_iteration(record, messages, "off")) is None
    assert model.calls == []
    note = await _note(reflector.after_iteration(_record(5, ("grep", '{"pattern": "x"}', ToolOutcome("none"))),
                                                 messages, "user"))
    assert note is not None and [t.kind for t in note.triggers] == ["no_change"]
    assert note.triggers[0].evidence.startswith("no file changed in the last 5 iterations (1-5)")
    [(request, tools)] = model.calls
    assert tools == [] and [m["role"] for m in request] == ["system", "user"]


def test_watch_repeats_span_iterations_and_a_change_resets_no_change() -> None:
    watch = TriggerWatch(TriggerConfig(no_change_iterations=2))
    same = ("read_file", '{"path":"a.py"}', ToolOutcome("x"))
    spaced = ("read_file", '{"path": "a.py"}', ToolOutcome("x"))  # same call, other spacing
    edit = ("edit_file", '{"path": "a.py", "old": "a", "new": "b"}', ToolOutcome("edited", changed_files=True))
    assert watch.observe(_record(1, same, spaced)) == []
    fired = watch.observe(_record(2, spaced, edit))
    assert [t.kind for t in fired] == ["repeated_call"]
    assert "(iterations 1, 2)" in fired[0].evidence
    assert [t.kind for t in watch.observe(_record(3, ("list_files", "{}", ToolOutcome("a.py"))))] == []
    assert [t.kind for t in watch.observe(_record(4, ("list_files", "{}", ToolOutcome("a.py"))))] == ["no_change"]
