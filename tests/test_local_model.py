"""A short session against the real Qwen2.5-Coder model on this CPU (opt-in: `pytest -m local_model`).

Needs the local extra (`pip install -e '.[local]'`) and the GGUF (`python -m agent.models.local setup`, or
AGENT_TUI_MODEL_PATH). Slow: 15 to 100 s a turn on 2 cores, so CI never runs it. It checks the protocol,
not the model's skill: the session completes, its calls were parsed from text, and the transcript is clean.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.cli import commands as cli
from agent.events import AssistantMessage, RunFinished, ToolResult
from agent.transcripts.importers import open_transcript

pytestmark = [pytest.mark.local_model, pytest.mark.timeout(1800)]  # a real model on the CPU: minutes

ROOT = Path(__file__).resolve().parent.parent


def model_path() -> Path | None:
    env = os.environ.get("AGENT_TUI_MODEL_PATH")
    if env:
        return Path(env) if Path(env).is_file() else None
    found = sorted((ROOT / "models").glob("*.gguf")) + sorted(Path("/work/models").glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def gguf() -> Path:
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        pytest.skip("llama-cpp-python's server is not installed: pip install -e '.[local]'")
    path = model_path()
    if path is None:
        pytest.skip("no GGUF model: run `python -m agent.models.local setup` or set AGENT_TUI_MODEL_PATH")
    return path


def test_a_short_session_against_the_real_model(gguf: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "local.jsonl"
    code = cli.main(["run", "--headless", "--task", "quicksort", "--provider", "local", "--model-path", str(gguf),
                     "--max-steps", "3", "--reflection", "off", "--out", str(out)])
    printed, err = capsys.readouterr()
    assert code in (0, 1), err  # tests pass or not: the model's skill is not what is tested
    transcript = open_transcript(out)
    done = transcript.events[-1]
    assert isinstance(done, RunFinished) and done.reason in ("finished", "max_steps"), done.detail
    answers = [e for e in transcript.events if isinstance(e, AssistantMessage)]
    assert answers and all(a.tool_call_mode == "text" for a in answers)
    assert any(a.parsed_from_text for a in answers), "the model wrote no call the parser understood"
    assert any(isinstance(e, ToolResult) for e in transcript.events)
    assert transcript.header.settings["profile"]["tool_calls"] == "text"
    assert cli.main(["check", str(out)]) == 0
    assert "ordering clean" in capsys.readouterr().out
