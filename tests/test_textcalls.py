"""Tool calls written as text: what is parsed out of a reply, and how calls and results are written back."""

from __future__ import annotations

import json

from agent.models.profiles import Profile
from agent.models.textcalls import TEXT_NUDGE, TextCall, parse_text_calls, render_text_call
from agent.models.wire import build_request, ensure_ids, mistral_id

TOOLS = ["list_files", "read_file", "write_file", "edit_file", "run_tests", "finish"]


def args_of(call: TextCall) -> dict:
    return json.loads(call.arguments)


def test_tool_call_blocks_several_in_one_reply() -> None:
    text = ('I will look first.\n<tool_call>\n{"name": "list_files", "arguments": {}}\n</tool_call>\n'
            '<tool_call>\n{"name": "read_file", "arguments": {"path": "quicksort.py"}}\n</tool_call>')
    calls, rest = parse_text_calls(text, TOOLS)
    assert [c.name for c in calls] == ["list_files", "read_file"]
    assert args_of(calls[1]) == {"path": "quicksort.py"}
    assert rest == "I will look first."


def test_unterminated_block_and_fenced_json_inside_a_block() -> None:
    calls, _ = parse_text_calls('<tool_call>\n```json\n{"name": "run_tests", "arguments": {}}\n```', TOOLS)
    assert calls == [TextCall("run_tests", "{}")]


def test_fenced_json_blocks() -> None:
    text = ('Let me run them.\n```json\n{"name": "run_tests"}\n```\n\n```json\n'
            '{\n  "name": "finish",\n  "summary": "done"\n}\n```')
    calls, rest = parse_text_calls(text, TOOLS)
    # a small model's shape: no "arguments", the other keys are the arguments
    assert [(c.name, args_of(c)) for c in calls] == [("run_tests", {}), ("finish", {"summary": "done"})]
    assert rest == "Let me run them."


def test_bare_json_objects_with_arguments_as_object_or_string() -> None:
    calls, rest = parse_text_calls('{"name": "read_file", "arguments": {"path": "a.py"}}', TOOLS)
    assert calls == [TextCall("read_file", '{"path": "a.py"}')] and rest == ""
    calls, _ = parse_text_calls('Sure: {"name": "read_file", "arguments": "{\\"path\\": \\"b.py\\"}"} now', TOOLS)
    assert calls == [TextCall("read_file", '{"path": "b.py"}')]
    calls, _ = parse_text_calls('{"type": "function", "function": {"name": "list_files", "parameters": {}}}', TOOLS)
    assert calls == [TextCall("list_files", "{}")]
    calls, _ = parse_text_calls('[{"name": "list_files", "arguments": {}}, {"name": "run_tests", "arguments": {}}]',
                                TOOLS)
    assert [c.name for c in calls] == ["list_files", "run_tests"]


def test_raw_newlines_inside_strings_are_accepted() -> None:
    text = ('<tool_call>\n{"name": "write_file", "arguments": {"path": "a.py", "content": "x = 1\ny = 2\n"}}\n'
            '</tool_call>')
    [call] = parse_text_calls(text, TOOLS)[0]
    assert args_of(call)["content"] == "x = 1\ny = 2\n"


def test_near_json_from_small_models_is_forgiven() -> None:
    text = '```json\n{"name": "edit_file", "arguments": {"path": "q.py", "old": "a", "new": "b",}}\n```'
    assert [args_of(c) for c in parse_text_calls(text, TOOLS)[0]] == [{"path": "q.py", "old": "a", "new": "b"}]
    text = ('{"name": "read_file", "arguments": {"path": r"quick\\.py"}} and '
            "{'name': 'run_tests', 'arguments': {}}")
    calls, _ = parse_text_calls(text, TOOLS)
    assert [(c.name, args_of(c)) for c in calls] == [("read_file", {"path": "quick\\.py"}), ("run_tests", {})]


def test_unknown_tools_and_garbage_are_not_calls() -> None:
    for text in ['{"name": "rm_rf", "arguments": {}}',
                 '<tool_call>\n{"name": "launch", "arguments": {}}\n</tool_call>',
                 "```json\n{\"result\": 3}\n```",
                 "<tool_call>{not json at all</tool_call>",
                 "The list is [1, 2, 3] and {braces} are fine.",
                 "", None]:
        calls, _ = parse_text_calls(text, TOOLS)
        assert calls == [], text


def test_a_set_of_dicts_is_not_a_call_and_does_not_crash() -> None:
    # Qwen2.5-Coder-1.5B wrote this in a real run: Python reads {{...}} as a set of dicts, which cannot be
    # built (TypeError), and the parser took the whole run down with it.
    text = 'I will call {{"name": "read_file", "arguments": {"path": "solution.py"}}} now.'
    calls, rest = parse_text_calls(text, TOOLS)
    assert [c.name for c in calls] in ([], ["read_file"])
    assert rest is not None


def test_blocks_win_over_bare_objects_and_made_up_results_are_cut() -> None:
    text = ('Example: {"name": "list_files", "arguments": {}}\n'
            '<tool_call>{"name": "run_tests", "arguments": {}}</tool_call>\n'
            '<tool_response>\n6 passed\n</tool_response>\n{"name": "finish", "arguments": {"summary": "x"}}')
    calls, rest = parse_text_calls(text, TOOLS)
    assert [c.name for c in calls] == ["run_tests"]
    assert "tool_response" not in rest and "passed" not in rest


def test_a_reply_that_starts_with_a_mixed_up_tag_still_calls() -> None:
    text = ('<tool_response>\n{"name": "edit_file", "arguments": {"path": "q.py", "old": "a", "new": "b"}}\n'
            '</tool_response>')
    assert [c.name for c in parse_text_calls(text, TOOLS)[0]] == ["edit_file"]
    assert parse_text_calls(text, TOOLS)[1] == ""
    # a made-up result after prose: the prose stays, the rest is dropped
    assert parse_text_calls("Running.\n<tool_response>\n6 passed\n</tool_response>", TOOLS) == ([], "Running.")


def test_render_round_trips_through_the_parser() -> None:
    text = render_text_call("read_file", '{"path": "q.py", "start_line": 2}')
    assert text.startswith("<tool_call>\n{") and text.endswith("}\n</tool_call>")
    assert parse_text_calls(text, TOOLS)[0] == [TextCall("read_file", '{"path": "q.py", "start_line": 2}')]
    assert "<tool_call>" in TEXT_NUDGE and "{names}" in TEXT_NUDGE


HISTORY = [
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "goal"},
    {"role": "assistant", "content": None, "status": "completed", "reasoning_content": "hmm",
     "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "list_files", "arguments": "{}"}},
                    {"id": "call_b", "type": "function",
                     "function": {"name": "read_file", "arguments": '{"path": "q.py"}'}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "q.py", "name": "list_files"},
    {"role": "tool", "tool_call_id": "call_b", "content": "1| x"},
    {"role": "system", "content": "[reflection] note"},
]
TOOL_SCHEMAS = [{"type": "function", "function": {"name": n, "description": n, "parameters": {"type": "object"}}}
                for n in TOOLS]


def test_text_wire_form_with_user_results() -> None:
    req = build_request(HISTORY, TOOL_SCHEMAS, Profile(tool_calls="text"), text_mode=True)
    roles = [m["role"] for m in req.messages]
    assert roles == ["system", "user", "assistant", "user", "system"]
    assert "<tools>" in req.messages[0]["content"] and '"name": "read_file"' in req.messages[0]["content"]
    assert "tools" not in req.params  # described in the prompt instead
    assistant = req.messages[2]
    assert "tool_calls" not in assistant and assistant["content"].count("<tool_call>") == 2
    results = req.messages[3]["content"]  # one user message for the whole batch
    assert results.count("<tool_response>") == 2 and "q.py" in results and "1| x" in results
    assert HISTORY[2]["content"] is None  # the history itself is never changed


def test_text_wire_form_for_the_local_template() -> None:
    profile = Profile(tool_calls="text", text_tools="request", text_results="tool", text_stop=True,
                      text_one_call=True, assistant_content="empty")
    req = build_request(HISTORY, TOOL_SCHEMAS, profile, text_mode=True)
    assert [m["role"] for m in req.messages] == ["system", "user", "assistant", "tool", "tool", "system"]
    system = req.messages[0]["content"]  # the server's template renders the tools; we add how to write a call
    assert system.startswith("sys\n\n") and "<tools>" not in system and "one call per reply" in system
    assert req.params["tools"] == TOOL_SCHEMAS and req.params["stop"] == ["</tool_call>"]
    assert req.messages[3] == {"role": "tool", "tool_call_id": "call_a", "content": "q.py"}


def test_only_defined_fields_and_content_null_or_empty() -> None:
    req = build_request(HISTORY, TOOL_SCHEMAS, Profile(), text_mode=False)
    assistant = req.messages[2]
    assert set(assistant) == {"role", "content", "tool_calls"} and assistant["content"] is None
    assert set(req.messages[3]) == {"role", "tool_call_id", "content"}
    req = build_request(HISTORY, TOOL_SCHEMAS, Profile(assistant_content="empty"), text_mode=False)
    assert req.messages[2]["content"] == ""


def test_developer_role_and_mistral_ids() -> None:
    req = build_request(HISTORY, TOOL_SCHEMAS, Profile(system_role="developer", id_style="mistral9"),
                        text_mode=False)
    assert [m["role"] for m in req.messages].count("developer") == 2
    ids = [c["id"] for c in req.messages[2]["tool_calls"]]
    assert all(len(i) == 9 and i.isalnum() for i in ids)
    assert [m["tool_call_id"] for m in req.messages[3:5]] == ids  # the same mapping for calls and results
    assert mistral_id("abcDEF123") == "abcDEF123" and mistral_id("call_a") == ids[0]


def test_generated_ids_are_stable_and_unique() -> None:
    calls = [{"id": "", "function": {}}, {"id": "call_a", "function": {}}, {"function": {}}]
    assert ensure_ids(calls, HISTORY) == 3  # missing, already used in the history, missing
    assert [c["id"] for c in calls] == ["call_0003", "call_0004", "call_0005"]
    again = [{"id": "", "function": {}}, {"id": "call_a", "function": {}}, {"function": {}}]
    ensure_ids(again, HISTORY)
    assert again == calls
    repeated = [{"id": "x", "function": {}}, {"id": "x", "function": {}}]
    ensure_ids(repeated, [], "mistral9")
    assert repeated[0]["id"] == "x" and repeated[1]["id"] == "call00002"
