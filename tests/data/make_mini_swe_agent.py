"""Regenerate the mini-swe-agent 2 trajectories of tests/data with mini-swe-agent's own code:

    python3 -m venv /tmp/msa && /tmp/msa/bin/pip install mini-swe-agent==2.4.6
    /tmp/msa/bin/python tests/data/make_mini_swe_agent.py       # from the repository root

mini-swe-agent's real agent, models (through litellm) and local environment, with its bundled configs
(`mini.yaml`: tool calls, JSON observations; `mini_textbased.yaml`: a bash block per reply), fix a small
repository whose tests fail. The model is tests/loopback.py, an OpenAI-compatible endpoint on 127.0.0.1
that answers from the scripts below, one reply per request; nothing reaches a network. What the files hold
is what mini-swe-agent wrote: its prompts, its observations (pytest's real output), its format errors.

- `mini_swe_agent_toolcall.traj.json`: a failing pytest run inside a JSON observation, a reply without a
  tool call (mini-swe-agent's format error: the reply is not kept), the fix, the submission.
- `mini_swe_agent_textbased.traj.json`: a reply with two bash blocks (its format error keeps the reply in
  `extra.model_response`, not in the history), then the same fix.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))

from minisweagent.agents.default import DefaultAgent  # noqa: E402
from minisweagent.config import builtin_config_dir  # noqa: E402
from minisweagent.environments.local import LocalEnvironment  # noqa: E402
from minisweagent.models.litellm_model import LitellmModel  # noqa: E402
from minisweagent.models.litellm_textbased_model import LitellmTextbasedModel  # noqa: E402

from tests.loopback import LoopbackServer  # noqa: E402

CALC = "def add(a, b):\n    return a - b\n\n\ndef twice(a):\n    return add(a, a)\n"
TESTS = "".join(f"from calc import add, twice\n\n\ndef test_add_{n}():\n    assert add({n}, 2) == {n + 2}\n\n\n"
                for n in range(1, 4)) + "def test_twice():\n    assert twice(3) == 6\n"
TASK = "add() in calc.py returns the difference of its arguments instead of their sum. Fix it."
PYTEST = "python3 -m pytest -q -p no:cacheprovider test_calc.py"
FIX = "sed -i 's/return a - b/return a + b/' calc.py && " + PYTEST
SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


def bash(n: int, thought: str, command: str) -> dict:
    return {"role": "assistant", "content": thought, "tool_calls": [
        {"id": f"call_{n}", "type": "function", "function": {"name": "bash", "arguments": json.dumps({"command": command})}}]}


def block(thought: str, *commands: str) -> dict:
    return {"role": "assistant", "content": thought + "".join(f"\n\n```mswea_bash_command\n{c}\n```" for c in commands)}


TOOLCALL = [
    bash(1, "THOUGHT: Let me read calc.py first.", "cat calc.py"),
    bash(2, "THOUGHT: Now the tests, to see how add() fails.", PYTEST),
    {"role": "assistant", "content": "THOUGHT: add() subtracts where it should add; twice() fails through it. "
                                     "I will replace the minus with a plus."},
    bash(3, "THOUGHT: Fix the operator and run the tests again.", FIX),
    bash(4, "THOUGHT: The tests pass. Submitting.", SUBMIT),
]
TEXTBASED = [
    block("THOUGHT: Let me read calc.py and run the tests.", "cat calc.py", PYTEST),
    block("THOUGHT: One command at a time: the tests first.", PYTEST),
    block("THOUGHT: add() subtracts. Fix it and run the tests again.", FIX),
    block("THOUGHT: The tests pass. Submitting.", SUBMIT),
]


def run(name: str, config_file: str, model_class: type, script: list[dict]) -> None:
    config = yaml.safe_load((builtin_config_dir / config_file).read_text())
    out = HERE / name
    with tempfile.TemporaryDirectory(prefix="calc-") as work, LoopbackServer(script, step_by="request") as server:
        (Path(work) / "calc.py").write_text(CALC)
        (Path(work) / "test_calc.py").write_text(TESTS)
        model = model_class(**{**config["model"], "model_name": "openai/loopback", "cost_tracking": "ignore_errors",
                               "model_kwargs": {"api_base": server.base_url, "api_key": "not-needed",
                                                "temperature": 0.0}})
        env = LocalEnvironment(**{**config.get("environment", {}), "cwd": work})
        agent = DefaultAgent(model, env, **{**config["agent"], "output_path": out})
        agent.run(TASK)
    print(out.relative_to(HERE.parent.parent))


if __name__ == "__main__":
    run("mini_swe_agent_toolcall.traj.json", "mini.yaml", LitellmModel, TOOLCALL)
    run("mini_swe_agent_textbased.traj.json", "mini_textbased.yaml", LitellmTextbasedModel, TEXTBASED)
