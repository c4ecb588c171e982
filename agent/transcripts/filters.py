"""Which iterations a filter keeps: by tool name, by role, errors only.

A filter is typed as words: `run_tests` (a tool name, or part of one), `role:user` (a message of that role:
system, user, assistant, tool, reflection: a note, ours or another tool's system message mid-run), `errors` (a block whose title carries an error mark). Words of
one kind widen (`read_file grep`: either tool), kinds narrow (`errors run_tests`: failing run_tests). The
run's ending is always kept: it says how the run ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.events import DriverMessage, ReflectionNote, RunStarted
from agent.transcripts.store import Block, role_of

ROLES = ("system", "user", "assistant", "tool", "reflection")


class FilterError(ValueError):
    """A word the filter does not understand; the message says what it takes."""


@dataclass(frozen=True)
class BlockFilter:
    tools: tuple[str, ...] = ()
    roles: frozenset[str] = field(default_factory=frozenset)
    errors: bool = False

    @classmethod
    def parse(cls, text: str) -> BlockFilter:
        tools: list[str] = []
        roles: set[str] = set()
        errors = False
        for word in text.split():
            low = word.lower()
            if low in ("errors", "error", "!"):
                errors = True
            elif low.startswith("role:"):
                role = low[5:]
                if role not in ROLES:
                    raise FilterError(f"role:{role}? roles are {', '.join(ROLES)}")
                roles.add(role)
            else:
                tools.append(low)
        return cls(tuple(tools), frozenset(roles), errors)

    @property
    def empty(self) -> bool:
        return not (self.tools or self.roles or self.errors)

    def keeps(self, block: Block) -> bool:
        """Whether `block` is shown under this filter."""
        if block.kind == "finish" or self.empty:
            return True
        if self.errors and not block.marks:
            return False
        if self.tools and not any(t in name.lower() for name in block.tool_names for t in self.tools):
            return False
        return not self.roles or bool(self.roles & _roles(block))

    def describe(self) -> str:
        parts = list(self.tools) + [f"role:{r}" for r in sorted(self.roles)] + (["errors"] if self.errors else [])
        return " ".join(parts)


def _roles(block: Block) -> set[str]:
    """The roles of the messages a block shows (`reflection` for a note, whatever role it took)."""
    found: set[str] = set()
    with block.transient():
        for event in block.events:
            if isinstance(event, RunStarted):
                found.update(role_of(m) for m in event.messages)
            elif isinstance(event, ReflectionNote) or isinstance(event, DriverMessage) and event.kind == "note":
                found.add("reflection")  # ours, or another tool's note (a system message mid-run)
                if isinstance(event, DriverMessage):
                    found.add(role_of(event.message))
            else:
                message = getattr(event, "message", None)
                if isinstance(message, dict):
                    found.add(role_of(message))
    return found
