"""`python -m agent.cli`: the commands that need no app (run --headless, fork --headless, tasks, check, ablate,
sweep, export)."""

import sys

from agent.cli.commands import main

sys.exit(main())
