"""Provider presets: where each OpenAI-compatible endpoint lives and which variable holds its key.

The loop never sees a provider name; it gets an `AsyncOpenAI` client. This module is the one place that
turns `--provider/--base-url/--model` into that client, and turns a provider's refusal into a line a
person can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

OFFLINE_PROVIDERS = ("scripted", "replay")
LOCAL_PROVIDER = "local"
"""llama-cpp-python's server started by agent-tui itself for `--model-path FILE.gguf` (agent.models.local)."""


class UsageError(Exception):
    """A mistake in how agent-tui was invoked; the message is one line that says what to change."""


@dataclass(frozen=True)
class ProviderPreset:
    """An endpoint's defaults. `key_env` is None for local servers that need no key."""

    name: str
    base_url: str
    key_env: str | None
    default_model: str | None = None


PRESETS: dict[str, ProviderPreset] = {
    p.name: p
    for p in (
        ProviderPreset("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini"),
        ProviderPreset("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY",
                       "Qwen/Qwen2.5-Coder-32B-Instruct"),
        ProviderPreset("xai", "https://api.x.ai/v1", "XAI_API_KEY", "grok-3-mini"),
        ProviderPreset("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "llama-3.3-70b-versatile"),
        ProviderPreset("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "openai/gpt-4o-mini"),
        ProviderPreset("vllm", "http://127.0.0.1:8000/v1", None),
        ProviderPreset("ollama", "http://127.0.0.1:11434/v1", None, "qwen2.5-coder:1.5b"),
        ProviderPreset("llamacpp", "http://127.0.0.1:8080/v1", None, "local"),
    )
}

PROVIDER_NAMES = (*PRESETS, LOCAL_PROVIDER, *OFFLINE_PROVIDERS)


def mask_url(url: str) -> str:
    """`url` as it may be recorded: a user and password (`user:password@`) become `***@`, every query value
    `***` (`?api_key=***`), a fragment `#***`. The rest (scheme, host, port, path) is kept."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{item.split('=', 1)[0]}=***" if "=" in item else item
                     for item in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, "***" if parts.fragment else ""))


def url_secrets(url: str) -> list[str]:
    """The pieces of `url` that `mask_url` hides, as they may appear in a message (raw and unquoted)."""
    parts = urlsplit(url)
    found = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        found += [userinfo, userinfo.split(":", 1)[-1]]  # a lone user may be a token; beside a password, not
    found += [value for item in parts.query.split("&") if "=" in item for value in [item.split("=", 1)[1]]]
    if parts.fragment:
        found.append(parts.fragment)
    pieces = {p for piece in found for p in (piece, unquote(piece)) if len(p) >= 3}
    return sorted(pieces, key=len, reverse=True)  # the longest first: a password inside the userinfo goes last


@dataclass(frozen=True)
class Endpoint:
    """A resolved endpoint. `api_key`, and any credentials in `base_url`, stay in memory: transcripts, notices
    and records get `shown_url`."""

    provider: str
    base_url: str
    model: str
    api_key: str
    key_env: str | None

    @property
    def shown_url(self) -> str:
        """The base URL with its credentials masked: the only form of it that is ever written or printed."""
        return mask_url(self.base_url)

    def redact(self, text: str) -> str:
        """`text` with the base URL's credentials, and the API key, masked wherever they occur."""
        text = text.replace(self.base_url, self.shown_url)
        key = [self.api_key] if len(self.api_key) >= 8 and self.api_key != "not-needed" else []  # not "offline"
        for secret in [*url_secrets(self.base_url), *key]:
            text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:  # keep the key out of tracebacks and debug prints
        return f"Endpoint(provider={self.provider!r}, base_url={self.shown_url!r}, model={self.model!r})"


def default_provider(environ: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """The first preset whose key is set in the environment, or None (then the run goes offline)."""
    for preset in PRESETS.values():
        if preset.key_env and environ.get(preset.key_env):
            return preset.name
    return None


def resolve_endpoint(provider: str, model: str | None, base_url: str | None,
                     environ: os._Environ[str] | dict[str, str] = os.environ) -> Endpoint:
    """Apply the preset, the flags and the environment; raise UsageError naming what is missing."""
    preset = PRESETS.get(provider)
    if provider == LOCAL_PROVIDER:
        raise UsageError("provider local starts its own server for a run: agent-tui run --provider local "
                         "--model-path FILE.gguf")
    if preset is None:
        raise UsageError(f"unknown provider {provider!r}; choose one of: {', '.join(PROVIDER_NAMES)}")
    key = "not-needed"
    if preset.key_env:
        key = environ.get(preset.key_env, "")
        if not key:
            raise UsageError(f"provider {provider} needs an API key: set {preset.key_env}")
    chosen_model = model or preset.default_model
    if not chosen_model:
        raise UsageError(f"provider {provider} has no default model: pass --model NAME")
    return Endpoint(provider, base_url or preset.base_url, chosen_model, key, preset.key_env)


def make_client(endpoint: Endpoint, *, max_retries: int = 2, timeout: float = 120.0, transport=None,
                gate=None):
    """The SDK client for an endpoint. Retries are the SDK's own (no second layer on top). `transport`
    replaces the network (the offline models); `gate` (agent.models.gate.RequestGate) bounds the requests
    in flight together with every other client that shares it. The client's event hooks show the SDK's
    retries (agent.models.retries). A query in the base URL (`?api_key=...`)
    goes with every request as the SDK's `default_query` (the SDK would put the path after it); a
    `user:password@` is used by httpx as basic auth."""
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient  # imported here: `agent-tui open` should not pay for it

    from agent.models.retries import RETRY_HOOKS

    http_client: DefaultAsyncHttpxClient
    if gate is not None:
        from agent.models.gate import GatedHttpClient

        http_client = GatedHttpClient(gate, transport=transport, event_hooks=RETRY_HOOKS)
    else:
        http_client = DefaultAsyncHttpxClient(transport=transport, event_hooks=RETRY_HOOKS)
    parts = urlsplit(endpoint.base_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) or None
    base_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return AsyncOpenAI(base_url=base_url, api_key=endpoint.api_key, max_retries=max_retries,
                       timeout=timeout, http_client=http_client, default_query=query)


