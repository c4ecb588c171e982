"""The ordering check names the message a provider would refuse, with the rule and the ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.ordering import Unanswered, check_messages, unanswered_calls

DATA = Path(__file__).parent / "data"


def system(text: str = "You are an agent.") -> dict:
    return {"role": "system", "content": text}


def user(text: str = "Fix the bug.") -> dict:
    return {"role": "user", "content": text}


def asst(*ids: str, content: str | None = None) -> dict:
    m: dict = {"role": "assistant", "content": content}
    if ids:
        m["tool_calls"] = [{"id": i, "type": "function", "function": {"name": "run", "arguments": "{}"}} for i in ids]
    return m


def tool(cid: str, content: str = "ok") -> dict:
    return {"role": "tool", "tool_call_id": cid, "content": content}


def found(messages: list[dict]) -> list[tuple[int, str]]:
    return [(v.index, v.rule) for v in check_messages(messages)]


# --- valid histories -------------------------------------------------------------------------------

@pytest.mark.parametrize("messages", [
    pytest.param([system(), user(), asst("a"), tool("a"), asst(content="done")], id="single-call"),
    pytest.param([system(), user(), asst("a", "b", "c"), tool("c"), tool("a"), tool("b")], id="parallel-swapped"),
    pytest.param([system(), user(), asst("a"), tool("a"), asst("b", "c"), tool("b"), tool("c"),
                  asst("d"), tool("d"), asst(content="done")], id="several-iterations"),
    pytest.param([system(), user(), asst("a", "b"), tool("b"), tool("a"), system("Reflection: rerun the tests."),
                  asst("c"), tool("c")], id="note-after-batch"),
    pytest.param([system(), system("Second system prompt."), user(), asst("a"), tool("a"), system("note 1"), system("note 2"),
                  user("nudge"), asst(content="done")], id="multi-system"),
    pytest.param([], id="empty"),
    pytest.param([system(), user(), asst(content="no tools at all")], id="plain"),
])
def test_valid_histories_have_no_violation(messages: list[dict]) -> None:
    assert check_messages(messages) == []
    assert check_messages(messages) == []


# --- invalid histories -----------------------------------------------------------------------------

def test_missing_result_is_flagged_at_the_assistant_with_the_ids() -> None:
    messages = [system(), user(), asst("call_a", "call_b"), tool("call_a"), user("next")]
    [v] = check_messages(messages)
    assert (v.index, v.rule) == (2, "missing-result")
    assert v.message == ("assistant message 2 has tool_calls whose ids were not answered before message 4 "
                         "(role user): call_b")
    assert str(v) == f"message 2: {v.message} [missing-result]"


def test_history_ending_mid_batch_is_missing_result() -> None:
    messages = [system(), user(), asst("a"), tool("a"), asst("b", "c"), tool("c")]
    [v] = check_messages(messages)
    assert (v.index, v.rule) == (4, "missing-result")
    assert "end of the history" in v.message and "b" in v.message.split(":")[-1]


def test_result_answering_an_earlier_batch_is_an_orphan() -> None:
    # call a is never answered in its batch; its result turns up in the next batch's group.
    messages = [system(), user(), asst("a"), asst("b"), tool("b"), tool("a")]
    assert found(messages) == [(2, "missing-result"), (3, "note-inside-batch"), (5, "orphan-result")]
    orphan = check_messages(messages)[-1]
    assert "answers a of assistant message 2" in orphan.message
    assert "assistant message 3 just before its group" in orphan.message


def test_results_swapped_across_batches() -> None:
    messages = [system(), user(), asst("a"), tool("b"), asst("b"), tool("a")]
    assert found(messages) == [(2, "missing-result"), (3, "orphan-result"), (4, "note-inside-batch"),
                               (4, "missing-result"), (5, "orphan-result")]


def test_note_inside_batch_is_flagged_at_the_note_and_the_missing_id_at_the_assistant() -> None:
    messages = [system(), user(), asst("a", "b"), tool("a"), system("Reflection: think first."), tool("b")]
    assert found(messages) == [(2, "missing-result"), (4, "note-inside-batch"), (5, "orphan-result")]
    by_rule = {v.rule: v for v in check_messages(messages)}
    assert "message 4 (role system) stands between assistant message 2" in by_rule["note-inside-batch"].message
    assert by_rule["missing-result"].message.endswith(": b")
    assert "message 4 (role system) stands before its group" in by_rule["orphan-result"].message


def test_note_between_call_and_all_results() -> None:
    messages = [user(), asst("a", "b"), user("note"), tool("b"), tool("a")]
    assert found(messages) == [(1, "missing-result"), (2, "note-inside-batch"), (3, "orphan-result"),
                               (4, "orphan-result")]


def test_orphan_tool_message_at_start() -> None:
    [v] = check_messages([tool("x"), user(), asst(content="hi")])
    assert (v.index, v.rule) == (0, "orphan-result")
    assert "must be a response to a preceding message with 'tool_calls'" in v.message
    assert "the start of the history" in v.message


def test_orphan_after_plain_assistant_message() -> None:
    [v] = check_messages([system(), user(), asst(content="thinking"), tool("x")])
    assert (v.index, v.rule) == (3, "orphan-result")
    assert "message 2 (role assistant, without tool_calls)" in v.message


def test_unknown_call_id_inside_a_group() -> None:
    assert found([user(), asst("a"), tool("a"), tool("nope")]) == [(3, "unknown-call-id")]
    assert found([user(), asst("a"), {"role": "tool", "content": "x"}, tool("a")]) == [(2, "unknown-call-id")]


def test_duplicate_call_ids() -> None:
    messages = [user(), asst("a"), tool("a"), asst("a"), tool("a")]
    [v] = check_messages(messages)
    assert (v.index, v.rule) == (3, "duplicate-call-id")
    assert "already used by assistant message 1" in v.message
    [w] = check_messages([user(), asst("a", "a"), tool("a")])
    assert (w.index, w.rule) == (1, "duplicate-call-id") and "twice" in w.message


def test_duplicate_results() -> None:
    assert found([user(), asst("a", "b"), tool("a"), tool("a"), tool("b")]) == [(3, "duplicate-result")]
    # a second result later in the history, after the batch was closed
    messages = [user(), asst("a"), tool("a"), user("go on"), tool("a")]
    [v] = check_messages(messages)
    assert (v.index, v.rule) == (4, "duplicate-result")
    assert "message 2 already answered it" in v.message


def test_skip_roles_are_neutral_but_indices_are_kept() -> None:
    exit_msg = {"role": "exit", "content": "diff"}
    assert found([user(), asst("a"), exit_msg, tool("a")]) == [(1, "missing-result"), (2, "note-inside-batch"),
                                                               (3, "orphan-result")]
    assert check_messages([user(), asst("a"), exit_msg, tool("a")], skip_roles={"exit"}) == []
    [v] = check_messages([user(), asst("a"), exit_msg], skip_roles={"exit"})
    assert (v.index, v.rule) == (1, "missing-result")


def test_an_open_end_is_not_missing_results() -> None:
    """A transcript or a live run: calls that only their own results follow are running, or the run stopped;
    no request carried them. A batch closed by another message is still missing its results."""
    running = [system(), user(), asst("a"), tool("a"), asst("b", "c"), tool("c")]
    assert check_messages(running, open_end=True) == []
    assert unanswered_calls(running) == Unanswered(4, ("b",))
    assert [v.rule for v in check_messages(running)] == ["missing-result"]  # as a request, it is incomplete
    closed = running + [user("Go on.")]
    assert [v.rule for v in check_messages(closed, open_end=True)] == ["missing-result"]
    assert unanswered_calls(closed) is None
    assert unanswered_calls([system(), user(), asst("a"), tool("a")]) is None
    assert unanswered_calls([user(), asst("a"), {"role": "exit", "content": ""}]) == Unanswered(1, ("a",))


def test_bad_order_sample_file() -> None:
    messages = json.loads((DATA / "bad_order.json").read_text())
    assert found(messages) == [(2, "missing-result"), (4, "note-inside-batch"), (5, "orphan-result"),
                               (7, "orphan-result")]


def test_long_histories_check_clean_and_a_late_violation_is_found() -> None:
    # How long the check takes on long histories is printed by bench/bench_ordering.py, not asserted here.
    out = [system(), user()]
    for k in range(20_000):  # about 80k messages
        out += [asst(f"c{k}a", f"c{k}b"), tool(f"c{k}b"), tool(f"c{k}a"), system("note")]
    assert check_messages(out) == []
    out.append(tool("c5a"))
    assert found(out) == [(len(out) - 1, "duplicate-result")]
