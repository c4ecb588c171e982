"""The note the offline model writes when it is asked to reflect: deterministic, built from the triggers the
reflection request carries, so offline runs, tests and demos show a note that answers what happened."""

from __future__ import annotations

import re
from typing import Any

from agent.models.offline import GENERIC_NOTE
from agent.reflection.reflector import parse_triggers


def default_reflection_answer(body: dict[str, Any]) -> str:
    """A deterministic note built from the trigger evidence in the reflection request.

    The reflection prompt carries its triggers as `<trigger kind="...">evidence</trigger>` blocks
    (`agent.reflection.reflector.trigger_block`); the note answers each one, quoting its concrete evidence.
    """
    prompt = next((m.get("content") or "" for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    triggers = parse_triggers(str(prompt))
    if not triggers:
        return GENERIC_NOTE
    parts: list[str] = []
    for t in triggers:
        lines = [line.strip() for line in t.evidence.splitlines() if line.strip()]
        first = lines[0] if lines else ""
        if t.kind == "tests_failed":
            failing = next((line for line in lines if line.startswith(("FAILED ", "ERROR "))), "")
            m = re.match(r"(?:FAILED|ERROR) (\S+)(?: - (.*))?", failing)
            if m:
                test = m.group(1)
                why = f" ({m.group(2)})" if m.group(2) else ""
                parts.append(f"The tests fail, first {test}{why}. Read that test to see the expected result, "
                             "fix the code it exercises with a minimal edit, then run the tests again.")
            else:
                parts.append(f"The test run failed: {first[:160]}. Read the failing test to see the expected "
                             "result, fix the code with a minimal edit, then run the tests again.")
        elif t.kind == "tool_error":
            more = f" (and {len(lines) - 1} more failing call{'s' if len(lines) > 2 else ''})" if len(lines) > 1 else ""
            parts.append(f"This call failed: {first[:200]}{more}. Correct its input (check paths with list_files "
                         "and arguments against the tool's schema) instead of repeating it.")
        elif t.kind == "repeated_call":
            call = first.split(" called ")[0]
            parts.append(f"You repeated {call} without progress. Do something different: read another file, "
                         "or make the edit the goal needs.")
        elif t.kind == "no_change":
            parts.append(f"{first[:1].upper()}{first[1:160]}. Stop exploring and make the edit the goal needs.")
        elif t.kind == "budget":
            parts.append(f"Step budget: {first[:160]}. Make the smallest fix that passes the tests and call finish.")
        else:
            parts.append(f"{t.kind}: {first[:160]}. Reconsider the last result and pick the next action that "
                         "moves toward passing the tests.")
    return " ".join(parts)
