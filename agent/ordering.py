"""The tool-call ordering check: point at the message a provider would refuse, before it refuses it.

Providers answer a broken history with one terse 400 ("messages with role 'tool' must be a response to a
preceeding message with 'tool_calls'") and no index. This check names the offending message, the ids and
the rule, for the whole history at once. It runs before every request, so it is two linear passes with
dict lookups and nothing else: fine on histories of thousands of messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
"""Roles the Chat Completions API knows; anything else (mini-swe-agent's `exit`) is not a request message."""


@dataclass(frozen=True)
class Violation:
    """One broken rule, at the index of the message to fix."""

    index: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"message {self.index}: {self.message} [{self.rule}]"


def _ids(ids: Collection[str]) -> str:
    return ", ".join(ids)


def check_messages(messages: Sequence[Mapping[str, Any]], *, skip_roles: Collection[str] = (),
                   open_end: bool = False) -> list[Violation]:
    """Every rule of the contract the history breaks, sorted by message index.

    Messages whose role is in `skip_roles` are neutral: ignored, but indices still count them, so a
    violation points into the list as given.

    `open_end`: the history as a whole is not a request (a transcript, a live run), so calls that nothing
    but their own results follows yet are not missing: their tools are running, or the run stopped before
    they answered (see `unanswered_calls`). The loop checks with `open_end=False`: what it is about to send
    must be complete.
    """
    # Pass 1: who called each id first, and where each id's last result stands (to tell a note that
    # interrupts a batch from a batch that is simply never answered).
    caller: dict[str, int] = {}
    last_result: dict[str, int] = {}
    for i, m in enumerate(messages):
        role = m.get("role")
        if role in skip_roles:
            continue
        if role == "assistant":
            for call in m.get("tool_calls") or ():
                cid = call.get("id")
                if cid and cid not in caller:
                    caller[cid] = i
        elif role == "tool":
            cid = m.get("tool_call_id")
            if cid:
                last_result[cid] = i

    out: list[Violation] = []
    owner: int | None = None  # assistant whose tool group we are in (None: not in a group)
    pending: dict[str, None] = {}  # its ids not answered yet, in call order
    answered: dict[str, int] = {}  # id -> index of the tool message that answered it
    previous = "the start of the history"  # what stands before a group, for orphan messages

    for i, m in enumerate(messages):
        role = m.get("role")
        if role in skip_roles:
            continue
        if role == "tool":
            cid = m.get("tool_call_id")
            if not cid:
                out.append(Violation(i, "unknown-call-id", f"tool message {i} has no tool_call_id"))
            elif cid in answered:
                out.append(Violation(i, "duplicate-result",
                                     f"tool message {i} answers {cid} again; message {answered[cid]} already answered it"))
            elif owner is None:
                where = f" (it answers assistant message {caller[cid]})" if cid in caller else ""
                out.append(Violation(i, "orphan-result",
                                     f"tool message {i} ({cid}) must be a response to a preceding message with "
                                     f"'tool_calls', but {previous} stands before its group{where}"))
            elif cid in pending:
                del pending[cid]
                answered[cid] = i
            elif cid in caller:
                out.append(Violation(i, "orphan-result",
                                     f"tool message {i} answers {cid} of assistant message {caller[cid]}, not a call "
                                     f"of assistant message {owner} just before its group"))
            else:
                out.append(Violation(i, "unknown-call-id",
                                     f"tool message {i} answers {cid}, which no assistant message called"))
            continue

        # Any other role closes the current group: whatever is still pending is missing.
        if owner is not None and pending:
            out.append(Violation(owner, "missing-result",
                                 f"assistant message {owner} has tool_calls whose ids were not answered before "
                                 f"message {i} (role {role}): {_ids(pending)}"))
            late = [cid for cid in pending if last_result.get(cid, -1) > i]
            if late:
                out.append(Violation(i, "note-inside-batch",
                                     f"message {i} (role {role}) stands between assistant message {owner} and its "
                                     f"results for {_ids(late)}; put it after the last tool message of the batch"))
        owner, pending = None, {}
        bare = ", without tool_calls" if role == "assistant" and not m.get("tool_calls") else ""
        previous = f"message {i} (role {role}{bare})"
        calls = m.get("tool_calls") if role == "assistant" else None
        if not calls:
            continue
        owner = i
        for call in calls:
            cid = call.get("id")
            if not cid:
                out.append(Violation(i, "missing-call-id", f"assistant message {i} has a tool call without an id"))
            elif cid in pending or caller.get(cid, i) != i:
                first = caller[cid]
                where = "twice in this message" if first == i else f"already used by assistant message {first}"
                out.append(Violation(i, "duplicate-call-id", f"assistant message {i} reuses tool_call id {cid}, {where}"))
            if cid:
                pending[cid] = None
                answered.pop(cid, None)  # a reused id may be answered again, once, in its new batch

    if owner is not None and pending and not open_end:
        out.append(Violation(owner, "missing-result",
                             f"assistant message {owner} has tool_calls whose ids were not answered before the end "
                             f"of the history: {_ids(pending)}"))
    out.sort(key=lambda v: v.index)  # stable: a missing-result is found late but belongs at its assistant
    return out


@dataclass(frozen=True)
class Unanswered:
    """Calls at the very end of a history that no tool message answers (yet): no request carried them."""

    index: int
    """The assistant message that made them."""
    ids: tuple[str, ...]


def unanswered_calls(messages: Sequence[Mapping[str, Any]]) -> Unanswered | None:
    """The calls of the last assistant message that are still unanswered when only their own results (and
    roles the API does not know, such as mini-swe-agent's `exit`) follow it: tools still running in a live
    run, or a run stopped (quit, SIGTERM, SIGKILL) between a call and its result. None when the history ends
    any other way."""
    answered: set[str] = set()
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        role = m.get("role")
        if role not in CHAT_ROLES:
            continue
        if role == "tool":
            answered.add(str(m.get("tool_call_id")))
            continue
        if role != "assistant":
            return None
        ids = tuple(str(c.get("id")) for c in m.get("tool_calls") or () if isinstance(c, Mapping) and c.get("id"))
        missing = tuple(cid for cid in ids if cid not in answered)
        return Unanswered(i, missing) if missing else None
    return None
