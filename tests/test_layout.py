"""The layout holds: no import cycle among agent/ and tui/ modules, agent/ never imports tui/, and a command
imports what it needs (`agent-tui open` loads neither the openai SDK nor the ablation runner nor the
provider stack).

The import graph counts every import statement, at the top of a module or inside a function or under
TYPE_CHECKING: a cycle through a function-level import is still a cycle in the design.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("agent", "tui")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "taskdata" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base for alias in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + ".") and target not in PACKAGES:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "agent.view.model" in graph["tui.widgets.transcript_view"]
    assert "agent.events" in graph["agent.transcripts.transcript"]


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_a_cycle_would_be_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_agent_never_imports_tui() -> None:
    graph = import_graph()
    arrows = sorted((m, t) for m, targets in graph.items() if m.startswith("agent") for t in targets
                    if t.startswith("tui"))
    assert arrows == []


def test_open_imports_neither_the_sdk_nor_the_runner_nor_the_provider_stack(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from tui.main import main\n"
        f"code = main(['open', {str(ROOT / 'tests/data/bad_order.json')!r}, '--snapshot', {str(tmp_path / 'o.svg')!r}])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    code, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0 and (tmp_path / "o.svg").is_file()
    unwanted = [m for m in loaded if m == "openai" or m.startswith(("openai.", "agent.experiments.ablate", "agent.run.runner",
                                                                    "agent.models.chat", "agent.models.wire",
                                                                    "agent.models.streaming", "agent.loop.agent_loop",
                                                                    "agent.export.export"))]
    assert unwanted == []
    assert "agent.transcripts.importers" in loaded and "tui.screens.transcript" in loaded
