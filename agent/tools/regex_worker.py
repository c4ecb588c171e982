"""grep's matching, in a process of its own: a pattern such as `(a+)+$` backtracks for hours holding the
interpreter lock, which would freeze agent-tui's event loop (even SIGTERM); a process can be killed.

Reads one JSON request on stdin: {"pattern", "files": [[name, text], ...], "max_hits", "max_line"}; writes
{"hits": ["name:line: text", ...], "count": n} or {"error": "..."}. Started by agent.tools.children (with
`python -I -S`, the allow-listed environment, non-dumpable: the files it holds are the workspace's, and a
command the model left running must not read anything else from it), it imports only the standard library.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any


def search(request: dict[str, Any]) -> dict[str, Any]:
    try:
        rx = re.compile(request["pattern"])
    except (re.error, OverflowError, RecursionError) as exc:
        return {"error": f"invalid regular expression {request['pattern']!r}: {exc}"}
    hits: list[str] = []
    count = 0
    for name, text in request["files"]:
        for n, line in enumerate(text.split("\n"), start=1):
            if rx.search(line):
                count += 1
                if len(hits) < request["max_hits"]:
                    hits.append(f"{name}:{n}: {line.rstrip()[:request['max_line']]}")
    return {"hits": hits, "count": count}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(search(json.load(sys.stdin))))
