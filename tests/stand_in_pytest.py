"""A stand-in for `python -m pytest` in the tasks' test commands, for the tests that are not about running tests.

The suite's runs of the bundled tasks and of humanevalfix tasks call the tasks' tests hundreds of times, and
pytest's start-up is most of each call. tests/conftest.py puts this script, run as `python -I -S -B -c
SOURCE`, where the tasks' commands start pytest (`agent.tools.tasks.PYTEST`), unless a test is marked
`real_pytest` (the tests of the verdict, the tasks, the sandbox, the harness, humanevalfix, the demo and one
ablation run the real one). It takes the same arguments and answers in the same shapes: it imports each test
module (the files given after `--`, else every test_*.py / *_test.py under the working folder), calls its
`test*` functions (a `tmp_path` argument gets a new folder), prints pytest's `-q` output (the failure sections
with their `E` lines, the short summary, the counts) and writes the JUnit report named by `--junitxml=`;
`--collect-only` lists the tests and says how many. No fixtures but `tmp_path`, no assertion rewriting, no
conftest.py, no ini file, no plugins: whether the tests pass is decided by the workspace's code all the same.
It imports nothing outside the standard library and starts in ~20 ms.
"""

import os
import sys
import tempfile
import time
import traceback

started = time.perf_counter()
argv = sys.argv[1:]
report = next((a.split("=", 1)[1] for a in argv if a.startswith("--junitxml=")), None)
collect_only = "--collect-only" in argv


def test_files() -> list[str]:
    if "--" in argv:
        return [a for a in argv[argv.index("--") + 1:] if a]
    found = []
    for folder, dirs, files in os.walk("."):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")) and d not in ("venv", "node_modules"))
        found += [os.path.relpath(os.path.join(folder, f)) for f in sorted(files)
                  if f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py"))]
    return found


def load(path: str) -> dict:
    """The module's namespace, imported as pytest's default `prepend` mode does (its folder first on sys.path)."""
    folder, name = os.path.split(os.path.abspath(path))
    sys.path.insert(0, folder)
    module = __import__(name[:-3])
    return vars(module)


def call(function) -> None:
    code = function.__code__
    arguments = {}
    for name in code.co_varnames[:code.co_argcount]:
        if name != "tmp_path":
            raise LookupError(f"fixture '{name}' not found")
        import pathlib
        arguments[name] = pathlib.Path(tempfile.mkdtemp(prefix="pytest-"))
    function(**arguments)


def failure_text(exc: BaseException) -> tuple[str, str]:
    """(pytest-like lines of a failure, the one-line message)."""
    frames = traceback.extract_tb(exc.__traceback__)[1:] or traceback.extract_tb(exc.__traceback__)
    where = frames[-1] if frames else None
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    lines = [f"    {f.line}" for f in frames[-1:] if f.line]
    lines += [f"E       {line}" for line in message.splitlines()]
    if where is not None:
        lines.append(f"\n{os.path.relpath(where.filename)}:{where.lineno}: {type(exc).__name__}")
    return "\n".join(lines), message.splitlines()[0] if message else type(exc).__name__


cases = []  # (file, test name or None for the module, outcome, message, text)
for path in test_files():
    try:
        namespace = load(path)
    except BaseException as exc:  # noqa: BLE001 - a module that cannot be imported is a collection error
        text, message = failure_text(exc)
        cases.append((path, None, "error", message, text))
        continue
    for name, value in list(namespace.items()):
        if name.startswith("test") and callable(value) and hasattr(value, "__code__"):
            if collect_only:
                cases.append((path, name, "collected", "", ""))
                continue
            try:
                call(value)
            except BaseException as exc:  # noqa: BLE001 - any exception fails the test, as in pytest
                text, message = failure_text(exc)
                cases.append((path, name, "failed", message, text))
            else:
                cases.append((path, name, "passed", "", ""))

errors = [c for c in cases if c[2] == "error"]
failed = [c for c in cases if c[2] == "failed"]
passed = [c for c in cases if c[2] == "passed"]
seconds = time.perf_counter() - started
out = []
if collect_only:
    out += [f"{path}::{name}" for path, name, kind, _, _ in cases if kind == "collected"]
    count = sum(1 for c in cases if c[2] == "collected")
    out.append(f"\n{count} test{'s' if count != 1 else ''} collected in {seconds:.2f}s")
else:
    out.append("".join("." if c[2] == "passed" else "F" for c in cases if c[1] is not None))
    if errors:
        out.append(" ERRORS ".center(80, "="))
        for path, _, _, _, text in errors:
            out += [f" ERROR collecting {path} ".center(80, "_"), text]
    if failed:
        out.append(" FAILURES ".center(80, "="))
        for _, name, _, _, text in failed:
            out += [f" {name} ".center(80, "_"), "", text]
    if errors or failed:
        out.append(" short test summary info ".center(80, "="))
        out += [f"FAILED {path}::{name} - {message}" for path, name, _, message, _ in failed]
        out += [f"ERROR {path}" for path, _, _, _, _ in errors]
    counts = [f"{len(failed)} failed" if failed else "", f"{len(passed)} passed" if passed else "",
              f"{len(errors)} error{'s' if len(errors) != 1 else ''}" if errors else ""]
    out.append(f"{', '.join(c for c in counts if c) or 'no tests ran'} in {seconds:.2f}s")
print("\n".join(out))


def attribute(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;"))


if report and not collect_only:
    rows = []
    for path, name, kind, message, text in cases:
        module = path[:-3].replace("/", ".")
        inner = ""
        if kind == "failed":
            inner = f'<failure message="{attribute(message)}">{attribute(text)}</failure>'
        elif kind == "error":
            inner = f'<error message="collection failure">{attribute(text)}</error>'
        rows.append(f'<testcase classname="{attribute(module if name else "")}" '
                    f'name="{attribute(name or module)}" time="0.000">{inner}</testcase>')
    with open(report, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
                f'errors="{len(errors)}" failures="{len(failed)}" skipped="0" tests="{len(cases)}" '
                f'time="{seconds:.3f}">{"".join(rows)}</testsuite></testsuites>')
sys.exit(2 if errors else 1 if failed else 0 if cases else 5)
