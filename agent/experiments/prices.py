"""What a token costs, per provider preset: the dollars of a grid's cost table.

List prices in US dollars per million tokens for each preset's default model, as published when this table
was written (2025); they change, so `--price IN,OUT` overrides them, and a model other than the preset's
default has no price unless given one. A model served on this machine (local, llamacpp, ollama, vllm) or an
offline one costs no dollars: its cost is its tokens and its wall time.
"""

from __future__ import annotations

from agent.models.presets import PRESETS, UsageError

LIST_PRICES: dict[str, tuple[float, float]] = {
    "openai": (0.15, 0.60),       # gpt-4o-mini
    "together": (0.80, 0.80),     # Qwen/Qwen2.5-Coder-32B-Instruct
    "xai": (0.30, 0.50),          # grok-3-mini
    "groq": (0.59, 0.79),         # llama-3.3-70b-versatile
    "openrouter": (0.15, 0.60),   # openai/gpt-4o-mini
}
"""(prompt, completion) dollars per million tokens of each preset's default model."""
FREE = ("local", "llamacpp", "ollama", "vllm", "scripted", "replay")


def parse_price(text: str) -> tuple[float, float]:
    """`--price 0.15,0.60` (dollars per million prompt and completion tokens; one number: both)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(f"--price {text!r}: give dollars per million tokens, prompt,completion "
                         "(e.g. 0.15,0.60)") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or any(v < 0 for v in values):
        raise UsageError(f"--price {text!r}: give two numbers of 0 or more, prompt,completion (e.g. 0.15,0.60)")
    return values[0], values[1]


def price_for(provider: str, model: str | None, given: str | None = None) -> dict[str, float | str] | None:
    """The price a grid's cost table uses: `given` (--price), else the preset's list price for its default
    model, else 0 for a model served here; None when it is not known (another model of a paid preset)."""
    if given is not None:
        prompt, completion = parse_price(given)
        return {"prompt": prompt, "completion": completion, "source": "--price"}
    if provider in FREE:
        return {"prompt": 0.0, "completion": 0.0, "source": f"{provider}: served here, no per-token price"}
    preset = PRESETS.get(provider)
    if preset is None or provider not in LIST_PRICES or (model not in (None, preset.default_model)):
        return None
    prompt, completion = LIST_PRICES[provider]
    return {"prompt": prompt, "completion": completion, "source": f"{provider} list price of {preset.default_model}"}
