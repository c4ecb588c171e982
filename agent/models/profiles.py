"""What the loop must adapt to each endpoint, held in one place: a capability profile per preset.

The loop never sees a provider name. It keeps one history in canonical Chat Completions form; the request
step (`agent.models.wire`, `agent.models.chat`) reads the run's `Profile` to decide what goes on the wire: native or text
tool calls, `null` or `""` as the content of a tool-call turn, `developer` for `system`, which optional
parameters may be sent, and which ids the endpoint accepts. Flags override single fields
(`resolve_profile(..., tool_calls="text")`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

ToolCallMode = Literal["native", "text", "auto"]
"""native: `tools` parameter and `tool_calls` fields; text: tools described in the prompt and calls parsed
from the reply; auto: native, but a reply whose text holds a call for a known tool is taken as a call (and an
endpoint that refuses the `tools` parameter switches the run to text)."""


@dataclass(frozen=True)
class Profile:
    """An endpoint's capabilities. Every field is one thing the request step adapts."""

    tool_calls: ToolCallMode = "auto"
    """How tools and calls travel (see ToolCallMode)."""
    system_after_first: bool = True
    """Whether the endpoint's templates take a `system` message after the first (a reflection note)."""
    assistant_content: Literal["null", "empty"] = "null"
    """The content of an assistant message that only carries tool calls: `null` or `""` on the wire."""
    parallel_tool_calls: bool = True
    """Whether the `parallel_tool_calls` parameter may be sent (it is sent only when turned off)."""
    tool_choice_required: bool = True
    """Whether `tool_choice="required"` is accepted."""
    stream: bool = True
    """Whether replies can be streamed (`--stream` is on by default where they can)."""
    stream_usage: bool = True
    """Whether `stream_options={"include_usage": true}` may be sent (token counts of streamed replies)."""
    system_role: Literal["system", "developer"] = "system"
    """The role `system` messages take on the wire (`developer` for OpenAI's reasoning models)."""
    id_style: Literal["any", "mistral9"] = "any"
    """Tool-call ids the endpoint accepts: any string, or exactly 9 characters from a-z, A-Z, 0-9."""
    role_refusals: tuple[str, ...] = ()
    """Roles the endpoint's templates are known to refuse for a note after the first message, besides
    `system` when `system_after_first` is false; reflection starts in the next role."""
    text_tools: Literal["prompt", "request"] = "prompt"
    """In text mode, where the tools are described: in the system prompt (by agent-tui), or in the `tools`
    parameter for the server's chat template to render (the model's own tool prompt)."""
    text_results: Literal["user", "tool"] = "user"
    """In text mode, how tool results go back: `tool` messages (for a template that renders them) or one
    `user` message per batch with `<tool_response>` blocks (which every template renders)."""
    text_stop: bool = False
    """In text mode with `text_one_call`, send `stop=["</tool_call>"]`: the reply ends with its first call
    (a small model on a CPU otherwise spends a minute writing the rest of its plan)."""
    text_one_call: bool = False
    """In text mode, ask for one call per reply and take only the first one a reply holds (a small model
    otherwise writes its whole plan at once, `finish` included, with the results it imagines)."""
    temperature: float | None = None
    """Sampling temperature sent with every agent request (None: the endpoint's default)."""
    max_tokens: int | None = None
    """A cap on each reply's length (None: the endpoint's); on a CPU it bounds a runaway reply's time."""

    @property
    def refused_roles(self) -> set[str]:
        """Roles a reflection note should not take on this endpoint."""
        return set(self.role_refusals) | (set() if self.system_after_first else {"system"})

    def settings(self) -> dict[str, Any]:
        """The profile as plain JSON for the transcript header."""
        out = asdict(self)
        out["role_refusals"] = list(self.role_refusals)
        return out

    def with_overrides(self, **overrides: Any) -> "Profile":
        """A copy with the fields given (None values are skipped: a flag that was not passed)."""
        names = {f.name for f in fields(self)}
        unknown = set(overrides) - names
        if unknown:
            raise ValueError(f"unknown profile field(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


PROFILES: dict[str, Profile] = {
    "openai": Profile(tool_calls="native"),
    "together": Profile(parallel_tool_calls=False, tool_choice_required=False),
    "xai": Profile(),
    "groq": Profile(),
    # Some OpenRouter upstreams reject a second system message.
    "openrouter": Profile(system_after_first=False),
    # vLLM ignores parallel_tool_calls; `required` depends on version and parser.
    "vllm": Profile(parallel_tool_calls=False, tool_choice_required=False),
    # Ollama: `invalid message content type: <nil>`; no parallel_tool_calls.
    "ollama": Profile(assistant_content="empty", parallel_tool_calls=False, tool_choice_required=False),
    # llama.cpp's server rejects null content (HTTP 500).
    "llamacpp": Profile(assistant_content="empty", parallel_tool_calls=False, tool_choice_required=False,
                        stream_usage=False),
    # llama-cpp-python's server with the model's own template: renders tools and `tool` messages, never
    # parses calls; a 1.5B model needs a low temperature to keep to the format.
    "local": Profile(tool_calls="text", assistant_content="empty", parallel_tool_calls=False,
                     tool_choice_required=False, stream_usage=False, text_tools="request", text_results="tool",
                     text_stop=True, text_one_call=True, temperature=0.2, max_tokens=1024),
    # The offline models answer anything; they stream only when asked (--stream).
    "scripted": Profile(tool_calls="native", stream=False),
    "replay": Profile(tool_calls="native", stream=False),
}

_REASONING_MODEL = re.compile(r"^(openai/)?(o\d|gpt-5)", re.IGNORECASE)
_MISTRAL_MODEL = re.compile(r"mistral|mixtral|codestral|devstral|magistral|ministral|pixtral", re.IGNORECASE)


def resolve_profile(provider: str, model: str | None = None, **overrides: Any) -> Profile:
    """The preset's profile, adjusted for what the model name tells (OpenAI reasoning models take
    `developer`, Mistral models 9-character ids), then the flags (`overrides`, None = not given)."""
    profile = PROFILES.get(provider, Profile())
    name = model or ""
    if provider in ("openai", "openrouter") and _REASONING_MODEL.match(name):
        profile = replace(profile, system_role="developer")
    if _MISTRAL_MODEL.search(name):
        profile = replace(profile, id_style="mistral9")
    return profile.with_overrides(**overrides)
