"""Regenerate the screenshots of ablation folders: `compare.png`, `runs-picker.png`, `ablation-results.png`,
and of the real results committed in `docs/results/` and `docs/sweep/`: `ablation-real.png`, `sweep-real.png`.

    python screenshots/regenerate_compare.py        # only these; regenerate.py makes all of them

Both come from offline ablations run in a temporary folder, the way a person would make them:

    agent-tui ablate --tasks quicksort --reflection off,system --repeats 1 --provider scripted --out abl
    cd abl && agent-tui compare runs/quicksort__off__r1.jsonl runs/quicksort__system__r1.jsonl
    agent-tui open abl2     # a wider grid, two runs marked A and B
    agent-tui open abl3     # a grid whose step budget is too short for some scripts: the results beside the runs
    agent-tui open docs/results          # the real grid
    agent-tui open docs/sweep          # the real sweep

Paths are relative to the folder, so no machine-specific path shows up in a picture.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HERE = ROOT / "screenshots"

from agent.cli.commands import main as agent_tui  # noqa: E402
from agent.transcripts.importers import open_transcript  # noqa: E402
from tui.app import AgentTuiApp  # noqa: E402
from tui.screens.compare import CompareScreen  # noqa: E402
from tui.screens.runs import RunsScreen  # noqa: E402

sys.path.insert(0, str(HERE))
from regenerate import to_png  # noqa: E402

COMPARE_SIZE = (160, 45)
PICKER_SIZE = (130, 18)
RESULTS_SIZE = (170, 40)


async def shoot(name: str, app: Any, size: tuple[int, int], keys: list[str] = ()) -> Path:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for _ in range(200):  # the picker fills in outcomes in a worker
            if getattr(app.screen, "loading_done", True):
                break
            await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)
        svg = app.export_screenshot(title=app.title)
    out = HERE / f"{name}.svg"
    out.write_text(svg, encoding="utf-8")
    return out


def grid(out: str, tasks: str, settings: str, max_steps: int = 30) -> None:
    code = agent_tui(["ablate", "--tasks", tasks, "--reflection", settings, "--repeats", "1", "--provider", "scripted",
                   "--concurrency", "4", "--max-steps", str(max_steps), "--out", out])
    if code != 0:
        raise SystemExit(f"the ablation failed (exit {code})")


async def shots() -> None:
    os.chdir("abl")
    a, b = "runs/quicksort__off__r1.jsonl", "runs/quicksort__system__r1.jsonl"
    app = AgentTuiApp(CompareScreen(open_transcript(a), open_transcript(b), label_a=a, label_b=b))
    svg = await shoot("compare", app, COMPARE_SIZE)
    print(to_png(svg, COMPARE_SIZE).relative_to(ROOT))
    os.chdir("..")
    # the picker: quicksort off marked A, quicksort system marked B, the cursor on the next run
    svg = await shoot("runs-picker", AgentTuiApp(RunsScreen(Path("abl2"))), PICKER_SIZE, ["space", "space"])
    print(to_png(svg, PICKER_SIZE).relative_to(ROOT))
    svg = await shoot("ablation-results", AgentTuiApp(RunsScreen(Path("abl3"))), RESULTS_SIZE)
    print(to_png(svg, RESULTS_SIZE).relative_to(ROOT))
    os.chdir(ROOT / "docs")  # the folders' own relative names in the pictures
    for name, folder in (("ablation-real", "results"), ("sweep-real", "sweep")):
        svg = await shoot(name, AgentTuiApp(RunsScreen(Path(folder))), RESULTS_SIZE)
        print(to_png(svg, RESULTS_SIZE).relative_to(ROOT))


def main() -> None:
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the tasks' own test runs, faster
    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            grid("abl", "quicksort", "off,system")
            grid("abl2", "quicksort,wordcount", "off,system,user")
            grid("abl3", "quicksort,wordcount,config_merge,todo_cli,humanevalfix/12,humanevalfix/4",
                 "off,system,user", max_steps=3)
            asyncio.run(shots())
        finally:
            os.chdir(home)  # the next script starts from a folder that still exists


if __name__ == "__main__":
    main()
