"""Every OpenAI-compatible endpoint's quirks, against loopback doubles that answer with the real error texts.

Each double is a real HTTP server on 127.0.0.1 (tests/loopback.py) reached through the openai SDK's own
network stack: the requests it records are what the SDK really sent.
"""

from __future__ import annotations

import base64
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from agent.cli import commands as cli
from agent.events import (
    AssistantDelta,
    AssistantMessage,
    DriverMessage,
    Notice,
    ReflectionNote,
    RunFinished,
    ToolResult,
)
from agent.ordering import check_messages
from agent.models.profiles import PROFILES, resolve_profile
from agent.run.runner import RunOptions, build_run, run_options
from agent.models.textcalls import render_text_call
from agent.transcripts.importers import open_transcript
from tests.conftest import call, collect, reply
from tests.loopback import LoopbackServer

SCRIPT = json.loads((Path(__file__).parent.parent / "agent/tasks/taskdata/quicksort/script.json").read_text())
SILENT = [{**m, "content": None} for m in SCRIPT]
"""The same calls with `null` content, as most models send them."""
FIX = json.loads(SCRIPT[3]["tool_calls"][0]["function"]["arguments"])

# The endpoints' own words (see /work/shared/reference/provider-quirks.md).
LLAMACPP_NULL = (
    "7 validation errors:\n  {'type': 'literal_error', 'loc': ('body', 'messages', {i}, "
    "'ChatCompletionRequestSystemMessage', 'role'), 'msg': \"Input should be 'system'\", 'input': 'assistant'}\n"
    "  {'type': 'string_type', 'loc': ('body', 'messages', {i}, 'ChatCompletionRequestAssistantMessage', "
    "'content'), 'msg': 'Input should be a valid string', 'input': None}")
OLLAMA_NULL = "invalid message content type: <nil>"
GROQ_FIELD = ("'messages.{i}' : for 'role:assistant' the following must be satisfied"
              "[('messages.{i}' : property '{field}' is unsupported)]")
MISTRAL_ID = "Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9."
OPENAI_SYSTEM = "Unsupported value: 'messages[0].role' does not support 'system' with this model."
VLLM_NO_PARSER = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
CONTEXT = ("This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 tokens. "
           "Please reduce the length of the messages.")


def text_reply(name: str, prefix: str = "", **arguments: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": prefix + render_text_call(name, json.dumps(arguments))}


TEXT_SCRIPT = [
    text_reply("list_files", "Let me look.\n", path="."),
    {"role": "assistant",
     "content": "```json\n" + json.dumps({"name": "read_file", "arguments": {"path": "quicksort.py"}}) + "\n```"},
    {"role": "assistant", "content": "The pivot's duplicates are dropped. " + json.dumps({"name": "edit_file",
                                                                                         "arguments": FIX})},
    text_reply("run_tests"),
    text_reply("finish", summary="kept every value equal to the pivot"),
]


def options(tmp_path: Path, **kw: Any) -> RunOptions:
    kw.setdefault("reflection", "off")
    kw.setdefault("task", "quicksort")
    return RunOptions(out=tmp_path / "run.jsonl", **kw)


def finished(events: list[Any]) -> RunFinished:
    done = events[-1]
    assert isinstance(done, RunFinished)
    return done


def notices(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, Notice)]


def assistant_messages(body: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, m) for i, m in enumerate(body["messages"]) if m["role"] == "assistant"]


def llamacpp_refusals(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
    """llama-cpp-python's server: HTTP 500 with a pydantic error for a null assistant content."""
    for i, m in assistant_messages(body):
        if m.get("content") is None:
            return 500, LLAMACPP_NULL.replace("{i}", str(i))
    return None


# --- the done-when run: text tool calls against a llama.cpp-like endpoint ----------------------------


def test_text_tool_calls_against_a_llamacpp_like_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "text.jsonl"
    with LoopbackServer(TEXT_SCRIPT, fail=llamacpp_refusals, step_by="count") as server:
        code = cli.main(["run", "--headless", "--provider", "llamacpp", "--base-url", server.base_url,
                         "--tool-calls", "text", "--reflection", "off", "--out", str(out)])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert "action parsed from text" in printed and "tests passed" in printed
    assert cli.main(["check", str(out)]) == 0
    transcript = open_transcript(out)
    answers = [e for e in transcript.events if isinstance(e, AssistantMessage)]
    assert len(answers) == 5 and all(a.parsed_from_text and a.tool_call_mode == "text" for a in answers)
    assert [c["id"] for a in answers for c in a.message["tool_calls"]] == [f"call_{n:04d}" for n in range(1, 6)]
    assert answers[0].message["content"] == "Let me look." and "<tool_call>" in answers[0].raw_content
    results = [e for e in transcript.events if isinstance(e, ToolResult)]
    assert not any(r.is_error for r in results)
    assert transcript.header.settings["profile"]["tool_calls"] == "text"
    assert "text tool calls" in transcript.header.settings["wire"]
    # on the wire: tools in the system prompt, calls as text, results as user messages; never null
    for body in server.requests:
        assert "tools" not in body and "<tools>" in body["messages"][0]["content"]
        assert all("tool_calls" not in m and m["role"] != "tool" for m in body["messages"])
        assert llamacpp_refusals(0, body) is None
    last = server.requests[-1]["messages"]
    assert "<tool_call>" in last[2]["content"] and last[3]["role"] == "user"
    assert last[3]["content"].startswith("<tool_response>")
    # the history stays canonical: calls and tool messages, in the order the check wants
    assert check_messages(transcript.messages()) == []


def test_null_content_refused_with_http_500_switches_to_empty(tmp_path: Path) -> None:
    with LoopbackServer(SILENT, fail=llamacpp_refusals) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback",
                                max_retries=0))
        events = asyncio_run(collect(run))
    assert finished(events).reason == "finished" and finished(events).tests_passed
    [switch] = [t for t in notices(events) if "refused the request" in t]
    assert "7 validation errors" in switch and 'sending "" instead of null' in switch
    refused = [b for b in server.requests if llamacpp_refusals(0, b)]
    assert len(refused) == 1 and all(m["content"] == "" for b in server.requests[2:] for _, m in assistant_messages(b)
                                     if m.get("tool_calls"))


# --- Ollama: streamed calls without index or ids, null content refused ------------------------------


def ollama_refusals(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
    if any(m.get("content") is None for _, m in assistant_messages(body)):
        return 400, OLLAMA_NULL
    return None


def test_ollama_like_stream_without_index_or_ids(tmp_path: Path) -> None:
    with LoopbackServer(SILENT, fail=ollama_refusals, stream_index=False, stream_ids=False,
                        step_by="count") as server:
        run = build_run(options(tmp_path, provider="ollama", base_url=server.base_url))
        events = asyncio_run(collect_all(run))
    done = finished(events)
    assert done.reason == "finished" and done.tests_passed, done.detail
    assert all(b.get("stream") is True for b in server.requests)
    answers = [e for e in events if isinstance(e, AssistantMessage)]
    first = answers[0].message["tool_calls"]
    assert [(c["id"], c["function"]["name"]) for c in first] == [("call_0001", "list_files"),
                                                                  ("call_0002", "read_file")]
    assert json.loads(first[1]["function"]["arguments"]) == {"path": "quicksort.py"}
    assert all(a.ttft_s is not None and a.ttft_s >= 0 for a in answers)
    assert any("no id" in t for t in notices(events))
    deltas = [e for e in events if isinstance(e, AssistantDelta)]
    assert deltas and all(d.iteration >= 1 for d in deltas)
    assert not any(ollama_refusals(0, b) for b in server.requests)  # "" from the start: the preset knows
    assert check_messages(open_transcript(run.path).messages()) == []


def test_ollama_null_refusal_is_adapted_once(tmp_path: Path) -> None:
    with LoopbackServer(SILENT, fail=ollama_refusals) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback",
                                assistant_content="null"))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed
    assert sum(OLLAMA_NULL in t for t in notices(events)) == 1


# --- Groq: only the fields the API defines ------------------------------------------------------------


ALLOWED = {"system": {"role", "content", "name"}, "user": {"role", "content", "name"},
           "assistant": {"role", "content", "tool_calls", "name"}, "tool": {"role", "content", "tool_call_id"}}


def groq_refusals(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
    for i, m in enumerate(body["messages"]):
        extra = set(m) - ALLOWED[m["role"]]
        if extra:
            return 400, GROQ_FIELD.format(i=i, field=sorted(extra)[0])
    return None


def test_groq_like_rejects_unknown_fields_and_none_are_sent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    richer = [{**m, "reasoning_content": "thinking...", "status": "completed"} for m in SCRIPT]
    with LoopbackServer(richer, fail=groq_refusals) as server:
        run = build_run(options(tmp_path, provider="groq", base_url=server.base_url))
        events = asyncio_run(collect(run))
    assert finished(events).reason == "finished", finished(events).detail
    assert len(server.requests) == len(SCRIPT) and not any(groq_refusals(0, b) for b in server.requests)
    assert groq_refusals(0, {"messages": [{"role": "assistant", "content": "", "status": "x"}]})[1] == \
        GROQ_FIELD.format(i=0, field="status")


# --- Mistral: 9-character ids ---------------------------------------------------------------------------


def mistral_refusals(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
    for m in body["messages"]:
        ids = [c["id"] for c in m.get("tool_calls") or []] + ([m["tool_call_id"]] if "tool_call_id" in m else [])
        for cid in ids:
            if not re.fullmatch(r"[A-Za-z0-9]{9}", cid):
                return 400, MISTRAL_ID.format(id=cid)
    return None


@pytest.mark.parametrize("model, adapted", [("mistral-small-latest", False), ("loopback", True)])
def test_mistral_like_ids(tmp_path: Path, model: str, adapted: bool) -> None:
    with LoopbackServer(SCRIPT, fail=mistral_refusals, step_by="count") as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model=model))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed, finished(events).detail
    switched = [t for t in notices(events) if "9 letters and digits" in t]
    assert len(switched) == (1 if adapted else 0)
    if adapted:
        assert "Tool call id was call_qs01a but must be" in switched[0]
    answered = [b for b in server.requests if not mistral_refusals(0, b)]
    assert len(answered) == len(SCRIPT)
    # the transcript keeps the provider's ids; only the wire form maps them
    transcript = open_transcript(run.path)
    assert transcript.messages()[2]["tool_calls"][0]["id"] == "call_qs01a"
    if not adapted:
        assert transcript.header.settings["profile"]["id_style"] == "mistral9"


# --- OpenAI reasoning models: developer instead of system -----------------------------------------------


def reasoning_refusals(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
    if body["model"] != "gpt-4o-mini" and body["messages"][0]["role"] == "system":
        return 400, OPENAI_SYSTEM
    return None


@pytest.mark.parametrize("model, first_role, adapted", [("o3-mini", "developer", False),
                                                        ("gpt-4o-mini", "system", False),
                                                        ("house-reasoner", "developer", True)])
def test_openai_reasoning_models_take_developer(tmp_path: Path, monkeypatch, model: str, first_role: str,
                                                adapted: bool) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with LoopbackServer(SCRIPT, fail=reasoning_refusals) as server:
        run = build_run(options(tmp_path, provider="openai", base_url=server.base_url, model=model))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed, finished(events).detail
    assert server.requests[-1]["messages"][0]["role"] == first_role
    assert sum("sending system messages as developer" in t for t in notices(events)) == int(adapted)
    assert open_transcript(run.path).messages()[0]["role"] == "system"  # the history is canonical


@pytest.mark.parametrize("model", ["o3-mini", "house-reasoner"])
def test_reflection_calls_take_the_same_adaptation_as_the_agents(tmp_path: Path, monkeypatch, model: str) -> None:
    """The notes are written through a ChatModel like the agent's: against an endpoint that refuses `system`
    for reasoning models, the reflection request goes as `developer` too (a known model from its first
    request, another after its first refusal), and every note is written (each call was refused before)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with LoopbackServer(SCRIPT, fail=reasoning_refusals) as server:
        run = build_run(options(tmp_path, provider="openai", base_url=server.base_url, model=model,
                                reflection="system"))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed, finished(events).detail
    notes = [e for e in events if isinstance(e, ReflectionNote)]
    assert notes and not any("reflection skipped" in t for t in notices(events))
    answered = [b for b in server.reflection_requests if not reasoning_refusals(0, b)]
    assert len(answered) == len(notes) and len(server.reflection_requests) == len(notes) + (model != "o3-mini")
    assert all(b["messages"][0]["role"] == "developer" and "tools" not in b for b in answered)
    assert [n.request[0]["role"] for n in notes] == ["system"] * len(notes)  # the note's record is canonical
    adapted = [e for e in events if isinstance(e, Notice) and "sending system messages as developer" in e.text]
    assert len(adapted) == (0 if model == "o3-mini" else 2)  # the agent's model, then the note's, each said once
    if adapted:
        assert adapted[1].iteration == notes[0].iteration  # in the iteration whose note it was


# --- vLLM: no tool parser, or the wrong one --------------------------------------------------------------


def test_vllm_without_tool_parser_switches_to_text_calls(tmp_path: Path) -> None:
    def no_parser(n: int, body: dict[str, Any]) -> tuple[int, str] | None:
        return (400, VLLM_NO_PARSER) if "tools" in body else None

    with LoopbackServer(TEXT_SCRIPT, fail=no_parser, step_by="count") as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="qwen"))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed, finished(events).detail
    assert sum(VLLM_NO_PARSER in t for t in notices(events)) == 1
    answers = [e for e in events if isinstance(e, AssistantMessage)]
    assert all(a.tool_call_mode == "text" and a.parsed_from_text for a in answers)
    assert len(server.requests) == len(TEXT_SCRIPT) + 1


def test_auto_mode_takes_calls_written_as_text(tmp_path: Path) -> None:
    """vLLM with the wrong parser: `<tool_call>` text in content, tool_calls empty."""
    script = [{"role": "assistant", "content": "All fine, nothing to do."}, *TEXT_SCRIPT]
    with LoopbackServer(script, step_by="count") as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="qwen"))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed, finished(events).detail
    [nudge] = [e for e in events if isinstance(e, DriverMessage)]
    assert nudge.kind == "nudge" and nudge.iteration == 1
    answers = [e for e in events if isinstance(e, AssistantMessage)]
    assert [a.parsed_from_text for a in answers] == [False] + [True] * 5
    assert all(a.tool_call_mode == "native" for a in answers)
    last = server.requests[-1]
    assert "tools" in last and any(m.get("tool_calls") for m in last["messages"])  # sent back natively


# --- errors a person can act on ---------------------------------------------------------------------------


def test_401_is_one_line_naming_provider_key_and_base_url(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    out = tmp_path / "r.jsonl"
    with LoopbackServer(SCRIPT, fail=lambda n, b: (401, "Incorrect API key provided: sk-test.")) as server:
        url = server.base_url
        code = cli.main(["run", "--headless", "--provider", "openai", "--base-url", url, "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "openai" in err and "OPENAI_API_KEY" in err and url in err and "HTTP 401" in err
    assert open_transcript(out).events[-1].reason == "provider_error"  # the transcript is complete


def test_404_model_names_the_model_and_suggests_the_flag(tmp_path: Path, capsys) -> None:
    text = "The model `nope` does not exist or you do not have access to it."
    with LoopbackServer(SCRIPT, fail=lambda n, b: (404, text)) as server:
        code = cli.main(["run", "--headless", "--provider", "vllm", "--base-url", server.base_url, "--model", "nope",
                         "--out", str(tmp_path / "r.jsonl")])
    _, err = capsys.readouterr()
    assert code == 2 and "no model 'nope'" in err and "--model" in err


@pytest.mark.parametrize("status, text", [(429, "Rate limit reached for requests"), (503, "upstream overloaded")])
def test_sdk_retries_then_success_and_the_wait_is_shown(tmp_path: Path, status: int, text: str) -> None:
    with LoopbackServer(SCRIPT, fail=lambda n, b: (status, text) if n == 1 else None,
                        headers=lambda n, s: {"retry-after-ms": "10"} if s != 200 else {}) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback",
                                max_retries=2))
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed
    assert len(server.requests) == len(SCRIPT) + 1  # one retry, made by the SDK
    [wait] = [e for e in events if isinstance(e, Notice) and "retrying" in e.text]
    assert re.fullmatch(rf"HTTP {status}: retrying after \d+\.\d s \(SDK retry 1 of 2\)", wait.text)  # ~0.01 s
    assert wait.level == "warning" and wait.iteration == 1
    assert any(n.text == wait.text for n in open_transcript(run.path).events if isinstance(n, Notice))


def test_retries_used_up_end_the_run_with_the_transcript_kept(tmp_path: Path) -> None:
    with LoopbackServer(SCRIPT, fail=lambda n, b: (429, "Rate limit reached"),
                        headers=lambda n, s: {"retry-after-ms": "10"}) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback",
                                max_retries=1))
        events = asyncio_run(collect(run))
    done = finished(events)
    assert done.reason == "provider_error" and "rate-limiting (HTTP 429)" in done.detail
    assert len(server.requests) == 2 and sum("SDK retry 1 of 1" in t for t in notices(events)) == 1
    assert open_transcript(run.path).events[-1].reason == "provider_error"


def test_timeouts_are_retried_by_the_sdk_then_reported(tmp_path: Path) -> None:
    with LoopbackServer(SCRIPT, latency=0.5) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback",
                                max_retries=1, timeout=0.15))
        events = asyncio_run(collect(run))
    done = finished(events)
    assert done.reason == "provider_error" and "did not answer in time" in done.detail
    assert any(t.startswith("timed out: retrying after") for t in notices(events))


def test_a_refused_connection_is_retried_by_the_sdk_and_says_why(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = build_run(options(tmp_path, provider="vllm", base_url=f"http://127.0.0.1:{port}/v1", model="loopback",
                            max_retries=1))
    events = asyncio_run(collect(run))
    assert finished(events).reason == "provider_error"
    [wait] = [t for t in notices(events) if "retrying" in t]
    assert re.fullmatch(r"connection failed \(ConnectError\): retrying after \d+\.\d s \(SDK retry 1 of 1\)", wait)


def test_context_length_ends_the_run_with_that_status(tmp_path: Path) -> None:
    with LoopbackServer(SCRIPT, fail=lambda n, b: (400, CONTEXT) if n >= 3 else None) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback"))
        events = asyncio_run(collect(run))
    done = finished(events)
    assert done.reason == "context_length" and "maximum context length" in done.detail and done.iterations == 3
    transcript = open_transcript(run.path)
    assert transcript.events[-1].reason == "context_length" and check_messages(transcript.messages()) == []


# --- streaming ----------------------------------------------------------------------------------------------


def test_streaming_deltas_are_live_only_and_usage_is_kept(tmp_path: Path) -> None:
    with LoopbackServer(SCRIPT) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback"))
        events = asyncio_run(collect_all(run))
    assert finished(events).tests_passed
    assert all(b["stream"] is True and b["stream_options"] == {"include_usage": True} for b in server.requests)
    deltas = [e for e in events if isinstance(e, AssistantDelta)]
    assert deltas and deltas[0].iteration == 1
    first = next(e for e in events if isinstance(e, AssistantMessage))
    assert first.usage is not None and first.usage.prompt_tokens > 0 and first.ttft_s is not None
    assert first.message == {k: v for k, v in SCRIPT[0].items()}  # put back together exactly
    on_disk = [json.loads(line)["type"] for line in run.path.read_text().splitlines()]
    assert "assistant_delta" not in on_disk
    # a consumer that does not ask for them never sees them
    with LoopbackServer(SCRIPT) as server:
        run = build_run(options(tmp_path, provider="vllm", base_url=server.base_url, model="loopback"))
        assert not any(isinstance(e, AssistantDelta) for e in asyncio_run(collect(run)))


def test_streamed_call_deltas_by_index_and_repeated_index_with_new_ids() -> None:
    from types import SimpleNamespace as NS

    from agent.models.streaming import StreamAccumulator

    def chunk(**delta: Any) -> Any:
        calls = [NS(**{k: v for k, v in c.items() if k != "function"}, function=NS(**c.get("function", {})))
                 for c in delta.pop("tool_calls", [])]
        return NS(model="m", usage=None, choices=[NS(index=0, finish_reason=None,
                                                     delta=NS(content=delta.get("content"), tool_calls=calls))])

    acc = StreamAccumulator()
    acc.add(chunk(tool_calls=[{"index": 0, "id": "a", "function": {"name": "read_file", "arguments": '{"pa'}}]))
    acc.add(chunk(tool_calls=[{"index": 1, "id": "b", "function": {"name": "run_tests", "arguments": ""}}]))
    acc.add(chunk(tool_calls=[{"index": 0, "function": {"arguments": 'th": "q.py"}'}}]))
    acc.add(chunk(tool_calls=[{"index": 1, "function": {"arguments": "{}"}}]))
    assert [(c["id"], c["function"]["arguments"]) for c in acc.message()["tool_calls"]] == [
        ("a", '{"path": "q.py"}'), ("b", "{}")]
    acc = StreamAccumulator()  # Ollama: index always 0, a new id for each call
    acc.add(chunk(tool_calls=[{"index": 0, "id": "x1", "function": {"name": "list_files", "arguments": "{}"}}]))
    acc.add(chunk(tool_calls=[{"index": 0, "id": "x2", "function": {"name": "run_tests", "arguments": "{}"}}]))
    assert [c["id"] for c in acc.message()["tool_calls"]] == ["x1", "x2"] and acc.ttft_s is not None


def test_offline_scripted_model_streams_when_asked(tmp_path: Path) -> None:
    run = build_run(options(tmp_path, stream=True))
    events = asyncio_run(collect_all(run))
    assert finished(events).tests_passed
    assert all(b["stream"] for b in run.server.requests)
    assert any(isinstance(e, AssistantDelta) for e in events)
    assert open_transcript(run.path).header.settings["stream"] is True


# --- profiles and flags -------------------------------------------------------------------------------------


def test_every_preset_has_a_profile() -> None:
    from agent.models.presets import PROVIDER_NAMES

    assert set(PROVIDER_NAMES) <= set(PROFILES)
    assert resolve_profile("local").tool_calls == "text" and resolve_profile("local").assistant_content == "empty"
    assert resolve_profile("openai", "o1").system_role == "developer"
    assert resolve_profile("openai", "gpt-4o").system_role == "system"
    assert resolve_profile("openrouter", "openai/o3-mini").system_role == "developer"
    assert resolve_profile("together", "mistralai/Mixtral-8x7B").id_style == "mistral9"
    assert resolve_profile("ollama", tool_calls="text", assistant_content=None).tool_calls == "text"
    with pytest.raises(ValueError):
        resolve_profile("vllm", colour="blue")


def test_flags_reach_the_profile_and_the_header(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(
        ["run", "--provider", "vllm", "--model", "m", "--tool-calls", "text", "--no-stream",
         "--assistant-content", "empty", "--no-parallel-tool-calls", "--tool-choice", "required",
         "--tool-call-ids", "mistral9", "--max-retries", "0", "--timeout", "30", "--temperature", "0.1",
         "--reflection", "off", "--out", str(tmp_path / "r.jsonl")])
    opts = run_options(args)
    assert (opts.tool_calls, opts.stream, opts.assistant_content, opts.parallel_tool_calls, opts.tool_choice,
            opts.tool_call_ids, opts.max_retries, opts.timeout) == ("text", False, "empty", False, "required",
                                                                     "mistral9", 0, 30.0)
    with LoopbackServer(TEXT_SCRIPT, step_by="count") as server:
        opts.base_url = server.base_url
        run = build_run(opts)
        settings = run.header.settings
        assert settings["profile"]["tool_calls"] == "text" and settings["stream"] is False
        assert settings["profile"]["temperature"] == 0.1 and settings["max_retries"] == 0
        assert any("parallel_tool_calls" in n for n in run.notices)  # vLLM does not take it
        assert any("tool_choice" in n for n in run.notices)
        events = asyncio_run(collect(run))
    assert finished(events).tests_passed
    body = server.requests[0]
    assert "stream" not in body and body["temperature"] == 0.1
    assert "tool_choice" not in body and "parallel_tool_calls" not in body


def test_native_options_are_sent_where_the_endpoint_takes_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with LoopbackServer(SCRIPT) as server:
        run = build_run(options(tmp_path, provider="openai", base_url=server.base_url, tool_choice="required",
                                parallel_tool_calls=False))
        asyncio_run(collect(run))
    assert server.requests[0]["tool_choice"] == "required" and server.requests[0]["parallel_tool_calls"] is False


def test_a_preset_that_refuses_late_system_notes_starts_with_user(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-test")
    run = build_run(options(tmp_path, provider="openrouter", reflection="system"))
    assert run.loop.reflector.effective_role("system") == "user"
    run = build_run(options(tmp_path, provider="vllm", model="m", reflection="system"))
    assert run.loop.reflector.effective_role("system") == "system"


def test_local_provider_usage_errors(tmp_path: Path, capsys) -> None:
    code = cli.main(["run", "--headless", "--provider", "local"])
    assert code == 2 and "--model-path" in capsys.readouterr().err
    code = cli.main(["run", "--headless", "--provider", "local", "--model-path", str(tmp_path / "none.gguf")])
    err = capsys.readouterr().err
    assert code == 2 and "none.gguf: no such file" in err and len(err.strip().splitlines()) == 1
    code = cli.main(["run", "--headless", "--provider", "vllm", "--model-path", str(tmp_path / "x.gguf")])
    assert code == 2 and "--model-path goes with --provider local" in capsys.readouterr().err


# --- helpers -------------------------------------------------------------------------------------------------


def asyncio_run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


async def collect_all(run: Any) -> list[Any]:
    """Every event, the transient ones (the reply streaming in) included."""
    return [event async for event in run.events(transient=True)]


def test_helpers_agree_with_conftest() -> None:
    assert reply(None, call("c", "finish", summary="s"))["tool_calls"][0]["id"] == "c"


@pytest.mark.parametrize("preset", sorted(PROFILES))
def test_no_preset_sends_a_parameter_its_endpoint_rejects(preset: str) -> None:
    """xAI's reasoning models reject penalties and `stop`; some endpoints reject `stream_options`."""
    from agent.models.wire import build_request

    profile = resolve_profile(preset, "grok-3-mini")
    history = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    tools = [{"type": "function", "function": {"name": "finish", "parameters": {"type": "object"}}}]
    request = build_request(history, tools, profile, text_mode=profile.tool_calls == "text", stream=profile.stream)
    assert not {"presence_penalty", "frequency_penalty", "logit_bias"} & set(request.params)
    assert ("stop" in request.params) == (preset == "local")
    assert ("stream_options" in request.params) == (profile.stream and profile.stream_usage)


# --- credentials in the base URL ------------------------------------------------------------------------------


def with_credentials(base_url: str) -> str:
    return base_url.replace("http://", "http://alice:pw-s3cret@") + "?api_key=qk-s3cret"


def test_credentials_in_the_base_url_are_used_and_recorded_masked(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.jsonl"
    with LoopbackServer(SCRIPT) as server:
        port, url = server.port, with_credentials(server.base_url)
        code = cli.main(["run", "--headless", "--provider", "vllm", "--base-url", url, "--model", "loopback",
                         "--reflection", "off", "--out", str(out)])
    printed, err = capsys.readouterr()
    assert code == 0, err
    path, auth = server.seen[0]  # used: the query goes with each request, user:password as basic auth
    assert path == "/v1/chat/completions?api_key=qk-s3cret"
    assert auth == "Basic " + base64.b64encode(b"alice:pw-s3cret").decode()
    assert open_transcript(out).header.base_url == f"http://***@127.0.0.1:{port}/v1?api_key=***"
    assert "s3cret" not in out.read_text() + printed + err


def test_a_provider_error_names_the_base_url_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer(SCRIPT) as server:
        port = server.port
    url = with_credentials(f"http://127.0.0.1:{port}/v1")  # stopped: nobody answers there
    out = tmp_path / "run.jsonl"
    code = cli.main(["run", "--headless", "--provider", "vllm", "--base-url", url, "--model", "loopback",
                     "--max-retries", "0", "--reflection", "off", "--out", str(out)])
    printed, err = capsys.readouterr()
    assert code == 2 and f"cannot reach vllm at http://***@127.0.0.1:{port}/v1?api_key=***" in err
    assert "s3cret" not in out.read_text() + printed + err


def test_ablation_records_and_summary_mask_the_base_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer.for_tasks(["quicksort"]) as server:
        code = cli.main(["ablate", "--tasks", "quicksort", "--reflection", "off", "--repeats", "1",
                         "--provider", "vllm", "--model", "loopback", "--base-url", with_credentials(server.base_url),
                         "--out", str(tmp_path / "grid")])
    printed, err = capsys.readouterr()
    assert code == 0, printed + err
    files = [p for p in (tmp_path / "grid").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"summary.json", "results.csv"} and len(files) >= 4
    assert not [p.name for p in files if "s3cret" in p.read_text()] and "s3cret" not in printed + err
    assert "***@127.0.0.1" in (tmp_path / "grid" / "summary.json").read_text()
