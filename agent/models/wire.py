"""From the loop's history to what goes on the wire, as the run's profile asks.

The history stays in canonical Chat Completions form (assistant messages with `tool_calls`, `tool` messages
answering them): the ordering check, the transcript and the TUI read that. A request is derived from it:

- only the fields the API defines for each role (never a raw dump of a richer object);
- `""` for the `null` content of a tool-call turn, where the endpoint rejects `null`;
- `developer` for `system`, for OpenAI's reasoning models;
- ids of 9 letters and digits, for Mistral-style endpoints (the same id maps to the same id every time);
- in text mode: the tools described in the system prompt (or left to the server's template), each
  assistant call written back as a `<tool_call>` block, each result as the role the template renders.

`build_request(history, ...)` is a pure function of the history and the profile, so the exact request of
any iteration can be rebuilt from a transcript (its header records the profile, each reply the parameters
and profile changes of its request: `agent.transcripts.sent`); `request_body` gives its bytes as sent.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from typing import Any

from agent.models.profiles import Profile
from agent.models.textcalls import calling_rules, render_text_call, render_text_result, tools_prompt

_FIELDS = {
    "system": ("role", "content", "name"),
    "developer": ("role", "content", "name"),
    "user": ("role", "content", "name"),
    "assistant": ("role", "content", "tool_calls", "name", "refusal"),
    "tool": ("role", "content", "tool_call_id"),
}
_MISTRAL_ID = re.compile(r"^[A-Za-z0-9]{9}$")
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class WireRequest:
    """The messages and parameters of one request, as sent."""

    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    text_mode: bool = False


def build_request(history: list[dict[str, Any]], tools: list[dict[str, Any]], profile: Profile, *,
                  text_mode: bool, stream: bool = False, tool_choice: str | None = None,
                  parallel_tool_calls: bool | None = None) -> WireRequest:
    """The request for `history`. `tool_choice` ("required") and `parallel_tool_calls` (False) are sent only
    when asked for and the profile allows them."""
    messages = [clean(m) for m in history]
    if text_mode:
        messages = _as_text(messages, tools, profile)
    for m in messages:
        if m["role"] == "assistant" and m.get("content") is None and profile.assistant_content == "empty":
            m["content"] = ""
        if m["role"] == "system" and profile.system_role != "system":
            m["role"] = profile.system_role
    if profile.id_style == "mistral9":
        _mistral_ids(messages)
    params: dict[str, Any] = {}
    if tools and (not text_mode or profile.text_tools == "request"):
        params["tools"] = tools
    if tools and not text_mode:
        if tool_choice and (tool_choice != "required" or profile.tool_choice_required):
            params["tool_choice"] = tool_choice
        if parallel_tool_calls is False and profile.parallel_tool_calls:
            params["parallel_tool_calls"] = False
    if text_mode and profile.text_stop and profile.text_one_call:
        params["stop"] = ["</tool_call>"]
    if profile.temperature is not None:
        params["temperature"] = profile.temperature
    if profile.max_tokens is not None:
        params["max_tokens"] = profile.max_tokens
    if stream:
        params["stream"] = True
        if profile.stream_usage:
            params["stream_options"] = {"include_usage": True}
    return WireRequest(messages, params, text_mode)


class _Kept(Exception):
    """Raised by the keeping transport once it holds the body: nothing is sent anywhere."""


def request_body(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> bytes:
    """The JSON body of a chat completion request, byte for byte as the openai SDK sends it: the SDK itself
    serialises it (its key order, its separators), into a transport that keeps the body and answers nothing."""
    import openai

    try:
        import httpx2 as httpx  # the openai SDK 3.x is built on httpx2; older releases on httpx
    except ImportError:  # pragma: no cover
        import httpx  # type: ignore[no-redef]

    kept: list[bytes] = []

    def keep(sent: Any) -> Any:
        kept.append(sent.read())
        raise _Kept

    client = openai.OpenAI(api_key="not-sent", base_url="http://body.invalid/v1", max_retries=0,
                           http_client=openai.DefaultHttpxClient(transport=httpx.MockTransport(keep)))
    try:
        client.chat.completions.create(model=model, messages=messages, **params)  # type: ignore[call-overload, arg-type]
    except (_Kept, openai.APIConnectionError):
        pass
    finally:
        client.close()
    if not kept:  # pragma: no cover - the SDK always builds the request before sending it
        raise RuntimeError("the openai SDK built no request body")
    return kept[0]


def clean(message: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the API defines for the message's role (unknown roles pass as role and content)."""
    role = message.get("role")
    keep = _FIELDS.get(str(role), ("role", "content"))
    out = {k: message[k] for k in keep if k in message}
    if role == "assistant":
        out.setdefault("content", None)
        if out.get("refusal") is None:
            out.pop("refusal", None)
        calls = [_clean_call(c) for c in out.pop("tool_calls", None) or []]
        if calls:
            out["tool_calls"] = calls
    return out


def _clean_call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return {"id": call.get("id") or "", "type": "function",
            "function": {"name": function.get("name") or "", "arguments": function.get("arguments") or ""}}


def _as_text(messages: list[dict[str, Any]], tools: list[dict[str, Any]], profile: Profile) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m["role"]
        if role == "assistant" and m.get("tool_calls"):
            parts = [str(m.get("content") or "").strip()]
            parts += [render_text_call(c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"]]
            out.append({"role": "assistant", "content": "\n".join(p for p in parts if p)})
        elif role == "tool" and profile.text_results == "user":
            block = render_text_result(str(m.get("content") or ""))
            if out and out[-1]["role"] == "user" and out[-1].get("_results"):
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block, "_results": True})
        else:
            out.append(m)
    for m in out:
        m.pop("_results", None)
    if tools:  # the server's template describes the tools itself, but not our rules for writing calls
        extra = (tools_prompt(tools, profile.text_one_call) if profile.text_tools == "prompt"
                 else calling_rules(profile.text_one_call))
        if out and out[0]["role"] == "system":
            out[0] = {**out[0], "content": str(out[0].get("content") or "") + extra}
        else:
            out.insert(0, {"role": "system", "content": extra.lstrip()})
    return out


def mistral_id(original: str) -> str:
    """A stable 9-character id of letters and digits for any id (one that already fits is kept)."""
    if _MISTRAL_ID.match(original):
        return original
    n = int.from_bytes(hashlib.sha256(original.encode("utf-8")).digest()[:8], "big")
    chars = []
    for _ in range(9):
        n, k = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[k])
    return "".join(chars)


def _mistral_ids(messages: list[dict[str, Any]]) -> None:
    for m in messages:
        for call in m.get("tool_calls") or []:
            call["id"] = mistral_id(call["id"])
        if m["role"] == "tool" and "tool_call_id" in m:
            m["tool_call_id"] = mistral_id(str(m["tool_call_id"]))


def ensure_ids(calls: list[dict[str, Any]], history: list[dict[str, Any]], style: str = "any") -> int:
    """Give every call a usable id, in place: a missing id, or one already used in the history or this
    batch, is replaced with a generated one, stable for the same history. Returns how many were made."""
    seen = {c.get("id") for m in history for c in m.get("tool_calls") or []}
    n = sum(len(m.get("tool_calls") or []) for m in history)
    made = 0
    for k, call in enumerate(calls):
        cid = call.get("id")
        if cid and cid not in seen:
            seen.add(cid)
            continue
        number = n + k + 1
        while (new := _generated_id(number, style)) in seen:
            number += 1000
        call["id"] = new
        seen.add(new)
        made += 1
    return made


def _generated_id(number: int, style: str) -> str:
    return f"call{number:05d}" if style == "mistral9" else f"call_{number:04d}"


def describe_wire(profile: Profile, text_mode: bool) -> str:
    """One line for the transcript header: how requests differ from the history, if at all."""
    parts = []
    if text_mode:
        where = ("in the request's tools, rendered by the server's template" if profile.text_tools == "request"
                 else "in the system prompt")
        results = "tool messages" if profile.text_results == "tool" else "user messages of <tool_response> blocks"
        parts.append(f"text tool calls: tools described {where}; assistant calls sent as <tool_call> text; "
                     f"results sent as {results}")
    if profile.assistant_content == "empty":
        parts.append('null assistant content sent as ""')
    if profile.system_role != "system":
        parts.append(f"system messages sent as {profile.system_role}")
    if profile.id_style == "mistral9":
        parts.append("tool-call ids mapped to 9 letters and digits")
    return "; ".join(parts) or "the history as it is"
