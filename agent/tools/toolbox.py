"""The tools the agent calls, and the one place their input is checked.

Each tool's arguments are a pydantic model: the same class gives the JSON schema the model is shown and
validates what it sends back, so the two cannot drift. `Toolbox.execute` never raises for bad input: a
malformed call is an ordinary event in an agent loop, and the model can only correct it if the error comes
back as the tool message, naming the argument, what was wrong and what was expected.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import stat
from pathlib import Path
from typing import Any, Awaitable, Callable

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.protocols import ToolErrorKind, ToolOutcome
from agent.tools import regex_worker
from agent.tools.children import helper_argv, helper_environ
from agent.tools.sandbox import TMP_DIR
from agent.tools.testrun import TestRun, run_tests
from agent.tools.trees import walk_files
from agent.tools.workspace import (
    BadArguments,
    BadPath,
    EditNotApplied,
    ToolError,
    Workspace,
    cap_text,
)

SKIP_DIRS = frozenset({".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv", "node_modules",
                       TMP_DIR})
MAX_LISTED = 500
MAX_GREP_HITS = 200
MAX_GREP_LINE = 300
MAX_GREP_BYTES = 20_000_000
"""grep searches at most this much text per call; the files after it are left out, and the result says so."""
GREP_TIMEOUT = 10.0
"""Seconds a grep may take: a pattern that backtracks without end is stopped, and the model told why."""


class NotText(ToolError):
    """A regular file that is binary or not UTF-8: read_file refuses it, grep passes over it."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListFilesArgs(_Args):
    path: str = Field(".", description="Folder to list, relative to the workspace root.")


class ReadFileArgs(_Args):
    path: str = Field(description="File to read, relative to the workspace root.")
    start_line: int | None = Field(None, ge=1, description="First line to show, 1-based. Default: line 1.")
    end_line: int | None = Field(None, ge=1, description="Last line to show, inclusive. Default: the last line.")


class GrepArgs(_Args):
    pattern: str = Field(description="Python regular expression, searched for in each line.")
    path: str = Field(".", description="File or folder to search, relative to the workspace root.")


class WriteFileArgs(_Args):
    path: str = Field(description="File to write, relative to the workspace root. Missing folders are created.")
    content: str = Field(description="The complete new content of the file.")


class EditFileArgs(_Args):
    path: str = Field(description="File to edit, relative to the workspace root.")
    old: str = Field(description="Exact text to replace. It must occur exactly once in the file: include enough "
                     "surrounding lines to make it unique, and no line-number prefixes from read_file.")
    new: str = Field(description="Text to put in its place.")


class RunTestsArgs(_Args):
    pass


class FinishArgs(_Args):
    summary: str = Field(description="What was changed and why, in a sentence or two.")


@dataclass(frozen=True)
class ToolSpec:
    name: str
    args: type[_Args]
    description: str
    example: dict[str, Any]
    """A valid argument object, quoted in error messages so the model sees the expected shape."""


TOOL_SPECS: dict[str, ToolSpec] = {
    s.name: s
    for s in [
        ToolSpec("list_files", ListFilesArgs,
                 "List the files under a folder, recursively, as paths relative to the workspace root "
                 "(skips .git and cache folders).", {"path": "."}),
        ToolSpec("read_file", ReadFileArgs,
                 "Read a text file. Every line is prefixed with its number, like `  12| text`; the prefix is "
                 "not part of the file. Use start_line and end_line to read part of a long file.",
                 {"path": "quicksort.py"}),
        ToolSpec("grep", GrepArgs,
                 "Search the text files under a path for a Python regular expression. Prints "
                 "`file:line: text` for every matching line.", {"pattern": "def ", "path": "."}),
        ToolSpec("write_file", WriteFileArgs,
                 "Create a file, or replace the whole content of one. To change part of an existing file, "
                 "prefer edit_file.", {"path": "notes.txt", "content": "hello\n"}),
        ToolSpec("edit_file", EditFileArgs,
                 "Replace one exact occurrence of `old` with `new` in a file. `old` must match the file "
                 "exactly once, whitespace included.", {"path": "quicksort.py", "old": "x = 1", "new": "x = 2"}),
        ToolSpec("run_tests", RunTestsArgs,
                 "Run the task's test suite. Returns a status line (passed, failed or timed out) and the "
                 "test output.", {}),
        ToolSpec("finish", FinishArgs,
                 "End the run once the task is done and the tests pass, with a short summary of the change.",
                 {"summary": "Fixed the partition so duplicates are kept; all tests pass."}),
    ]
}


def clean_schema(node: Any) -> Any:
    """Pydantic's schema without the noise a model does not need: no `title`s, and `X | None = None`
    shown as a plain optional `X` instead of an anyOf with null."""
    if isinstance(node, list):
        return [clean_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    any_of = node.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        other = next(s for s in any_of if s != {"type": "null"})
        node = {**{k: v for k, v in node.items() if k != "anyOf"}, **other}
        if "default" in node and node["default"] is None:
            del node["default"]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: clean_schema(prop) for name, prop in value.items()}
        else:
            out[key] = clean_schema(value)
    return out


def _parameters(spec: ToolSpec) -> dict[str, Any]:
    return _schema_of(spec.args)


@functools.cache
def _schema_of(args: type[BaseModel]) -> dict[str, Any]:
    """Generated once per model: the schema goes out with every request, on a hot path."""
    return clean_schema(args.model_json_schema())


def _signature(spec: ToolSpec) -> str:
    """`path (string, required), start_line (integer, optional)`: the expected arguments, for errors."""
    params = _parameters(spec)
    required = set(params.get("required", []))
    parts = [f"{name} ({prop.get('type', 'any')}, {'required' if name in required else 'optional'})"
             for name, prop in params.get("properties", {}).items()]
    return ", ".join(parts) if parts else "no arguments"


_JSON_KINDS = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
               type(None): "null"}


def _describe_error(err: Any) -> str:
    name = ".".join(str(x) for x in err["loc"]) or "arguments"
    if err["type"] == "missing":
        return f"missing required argument {name!r}"
    if err["type"] == "extra_forbidden":
        return f"unexpected argument {name!r}"
    got = json.dumps(err.get("input"), ensure_ascii=False, default=str)
    return f"argument {name!r}: {err['msg'][:1].lower() + err['msg'][1:]} (got {got[:60]})"


def parse_arguments(spec: ToolSpec, arguments: str | None) -> _Args:
    """The validated arguments of one call, or a ToolError the model can act on."""
    example = json.dumps(spec.example)
    text = (arguments or "").strip()
    try:
        raw = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        raise BadArguments(f"arguments for {spec.name} are not valid JSON: {exc.msg} at line {exc.lineno} column "
                        f"{exc.colno} (char {exc.pos}). Send a JSON object such as {example}") from None
    if not isinstance(raw, dict):
        twice = isinstance(raw, str) and raw.strip().startswith("{")
        why = " (the object seems to be JSON-encoded twice)" if twice else ""
        raise BadArguments(f"arguments for {spec.name} must be a JSON object, got {_JSON_KINDS.get(type(raw), 'a value')}"
                        f"{why}. Send a JSON object such as {example}")
    try:
        return spec.args.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe_error(e) for e in exc.errors())
        raise BadArguments(f"invalid arguments for {spec.name}: {problems}. "
                        f"Expected arguments: {_signature(spec)}") from None


def _count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Toolbox:
    """The tools of one run, bound to its workspace and test command."""

    def __init__(self, workspace: Workspace, test_cmd: str, test_timeout: float = 120,
                 output_cap: int = 12_000, grep_timeout: float = GREP_TIMEOUT) -> None:
        self.workspace = workspace
        self.test_cmd = test_cmd
        self.test_timeout = test_timeout
        self.output_cap = output_cap
        self.grep_timeout = grep_timeout
        self.last_test: TestRun | None = None
        """The most recent run_tests result, for a loop that reports whether the tests passed at the end."""
        self._handlers: dict[str, Callable[[Any], Awaitable[ToolOutcome | str]]] = {
            "list_files": self._list_files,
            "read_file": self._read_file,
            "grep": self._grep,
            "write_file": self._write_file,
            "edit_file": self._edit_file,
            "run_tests": self._run_tests,
            "finish": self._finish,
        }
        self.names: list[str] = list(TOOL_SPECS)

    def schemas(self) -> list[dict[str, Any]]:
        """The `tools` parameter of a Chat Completions request."""
        return [{"type": "function",
                 "function": {"name": s.name, "description": s.description, "parameters": _parameters(s)}}
                for s in TOOL_SPECS.values()]

    async def execute(self, name: str, arguments: str) -> ToolOutcome:
        """Run one tool call. Never raises for bad input: every problem becomes an `error: ...` outcome."""
        spec = TOOL_SPECS.get(name)
        if spec is None:
            return _error(f"unknown tool {name!r}; available tools: {', '.join(self.names)}", "unknown_tool")
        try:
            result = await self._handlers[name](parse_arguments(spec, arguments))
        except ToolError as exc:
            return _error(str(exc), exc.kind)
        except OSError as exc:
            return _error(f"{name} failed: {self._os_message(exc)}")
        except Exception as exc:  # a bug in a tool must not end the run; the model sees it, the loop goes on
            return _error(f"{name} failed unexpectedly: {type(exc).__name__}: {exc}")
        return result if isinstance(result, ToolOutcome) else ToolOutcome(result)

    # --- helpers ---------------------------------------------------------------------------------------

    def _os_message(self, exc: OSError) -> str:
        text = exc.strerror or str(exc)
        if exc.filename:
            try:
                text += f": {self.workspace.relative(Path(exc.filename).resolve())}"
            except ValueError:
                pass
        return text

    def _walk(self, top: Path) -> list[Path]:
        """The files under `top`, sorted by their path in the workspace (not folders, nor links to them)."""
        return [top / rel for rel, info in sorted(walk_files(top, skip=SKIP_DIRS))
                if not (stat.S_ISLNK(info.st_mode) and (top / rel).is_dir())]

    def _read_text(self, path: str, real: Path | None = None) -> tuple[Path, str]:
        """A text file's real path and content: a regular file inside the workspace, not binary, UTF-8."""
        p, data = self.workspace.read_file(path, real)
        if b"\0" in data[:8192]:
            raise NotText(f"{path!r} is a binary file ({len(data)} bytes); only text files can be read")
        try:
            return p, data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotText(f"{path!r} is not UTF-8 text (undecodable byte at offset {exc.start})") from None

    def _numbered(self, lines: list[str], start: int, end: int) -> list[str]:
        """Lines `start..end` with number prefixes, stopping at the output cap with a note on how to go on."""
        out: list[str] = []
        size = 0
        for n in range(start, end + 1):
            line = lines[n - 1].rstrip("\r")
            row = f"{n:>4}| {line}" if line else f"{n:>4}|"
            if len(row) > self.output_cap:
                row = row[: self.output_cap] + " ... [line cut]"
            if out and size + len(row) + 1 > self.output_cap:
                out.append(f"... [lines {n}-{end} not shown: output limit reached; "
                           f"call read_file with start_line={n}]")
                break
            out.append(row)
            size += len(row) + 1
        return out

    # --- tools ----------------------------------------------------------------------------------------

    async def _list_files(self, args: ListFilesArgs) -> str:
        top = self.workspace.resolve(args.path)
        if not top.exists():
            raise BadPath(f"no such folder {args.path!r}")
        if not top.is_dir():
            raise BadPath(f"{args.path!r} is a file, not a folder; use read_file to read it")
        files = [self.workspace.relative(p) for p in await asyncio.to_thread(self._walk, top)]
        if not files:
            return f"no files under {args.path!r}"
        shown = files[:MAX_LISTED]
        if len(files) > len(shown):
            shown.append(f"... and {len(files) - len(shown)} more files; list a subfolder to see them")
        return cap_text("\n".join(shown), self.output_cap)[0]

    async def _read_file(self, args: ReadFileArgs) -> str:
        _, text = await asyncio.to_thread(self._read_text, args.path)
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        total = len(lines)
        if total == 0:
            return f"{args.path} is empty (0 lines)"
        start = args.start_line or 1
        if start > total:
            raise ToolError(f"start_line {start} is past the end of {args.path!r}, which has {_plural(total, 'line')}")
        if args.end_line is not None and args.end_line < start:
            raise ToolError(f"end_line {args.end_line} is before start_line {start}")
        end = min(args.end_line or total, total)
        out = self._numbered(lines, start, end)
        if start > 1 or end < total:
            out.append(f"({args.path}: lines {start}-{end} of {total})")
        return "\n".join(out)

    async def _grep(self, args: GrepArgs) -> str:
        top = self.workspace.resolve(args.path)
        if not top.exists():
            raise BadPath(f"no such file or folder {args.path!r}")
        files, skipped = await asyncio.to_thread(self._grep_files, top)
        answer = await self._match(args.pattern, files)
        hits, count = answer["hits"], answer["count"]
        notes = [f"({note})" for note in skipped]
        if not hits:
            return "\n".join([f"no matches for {args.pattern!r} under {args.path!r}", *notes])
        if count > len(hits):
            hits.append(f"... {count - len(hits)} more matches not shown; narrow the pattern or the path")
        return cap_text("\n".join([*hits, *notes]), self.output_cap)[0]

    def _grep_files(self, top: Path) -> tuple[list[tuple[str, str]], list[str]]:
        """The text of each file grep searches, by read_file's rules (a file symlinked from outside, a FIFO,
        a device, a file too large are left out and named), and notes on what was left out."""
        files: list[tuple[str, str]] = []
        refused: list[str] = []
        stopped = ""
        total = 0
        for f in self._walk(top) if top.is_dir() else [top]:
            rel = self.workspace.relative(f)
            try:
                _, text = self._read_text(rel, top if f is top else self.workspace.resolve(rel))
            except NotText:
                continue  # nothing to search
            except ToolError:
                if f is top:
                    raise
                refused.append(rel)
                continue
            if total + len(text) > MAX_GREP_BYTES:
                stopped = rel
                break
            total += len(text)
            files.append((rel, text))
        notes = []
        if refused:
            shown = ", ".join(refused[:5]) + (", ..." if len(refused) > 5 else "")
            notes.append(f"skipped {_plural(len(refused), 'file')} that read_file refuses (not a regular file of "
                         f"the workspace, or too large): {shown}")
        if stopped:
            notes.append(f"stopped before {stopped}: grep searches at most {MAX_GREP_BYTES} characters at once; "
                         "grep a subfolder")
        return files, notes

    async def _match(self, pattern: str, files: list[tuple[str, str]]) -> dict[str, Any]:
        """Run the regex over `files` in regex_worker, killed after `grep_timeout` seconds."""
        request = json.dumps({"pattern": pattern, "files": files, "max_hits": MAX_GREP_HITS,
                              "max_line": MAX_GREP_LINE}).encode("utf-8")
        proc = await asyncio.create_subprocess_exec(
            *helper_argv(regex_worker.__name__, isolated=True), env=helper_environ(), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(self.grep_timeout):  # not wait_for, which can swallow a cancel in 3.11
                out, err = await proc.communicate(request)
        except TimeoutError:
            raise ToolError(f"grep stopped after {self.grep_timeout:g} s: the pattern {pattern!r} takes too long on "
                            "these files (nested repeats such as (a+)+ can backtrack without end); use a simpler "
                            "pattern or a narrower path") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        try:
            answer = json.loads(out)
        except ValueError:
            raise ToolError(f"grep failed: {err.decode('utf-8', 'replace').strip()[-300:] or 'no answer'}") from None
        if "error" in answer:
            raise ToolError(answer["error"])
        return answer

    async def _write_file(self, args: WriteFileArgs) -> ToolOutcome:
        p = self.workspace.write_file(args.path, args.content.encode("utf-8"))
        lines = _count_lines(args.content)
        return ToolOutcome(f"wrote {_plural(lines, 'line')} to {self.workspace.relative(p)}", changed_files=True)

    async def _edit_file(self, args: EditFileArgs) -> ToolOutcome:
        if not args.old:
            raise EditNotApplied("'old' is empty; give the exact text to replace (write_file creates or overwrites "
                            "a whole file)")
        # Read and write with no await in between: calls of one turn that edit the same file, if run
        # concurrently, still apply one after the other instead of overwriting each other.
        p, text = self._read_text(args.path)
        rel = self.workspace.relative(p)
        old, new = args.old, args.new
        count = text.count(old)
        if count == 0 and "\r\n" in text and "\r\n" not in old:  # the model writes \n; the file uses CRLF
            old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
            count = text.count(old)
        if count == 0:
            raise EditNotApplied(f"'old' text not found in {rel}.{_not_found_hint(old, text)}")
        if count > 1:
            starts = [m.start() for m in re.finditer(re.escape(old), text)]
            where = ", ".join(str(text.count("\n", 0, s) + 1) for s in starts[:10])
            raise EditNotApplied(f"'old' text matches {count} times in {rel} (at lines {where}); include more "
                            "surrounding lines so that it matches exactly once")
        if old == new:
            return ToolOutcome(f"no change: 'old' and 'new' are identical; {rel} was left as it was")
        pos = text.index(old)
        updated = text[:pos] + new + text[pos + len(old):]
        self.workspace.write_file(args.path, updated.encode("utf-8"), p)
        first = text.count("\n", 0, pos) + 1
        lines = updated.split("\n")
        if lines[-1] == "":
            lines.pop()
        last = max(first, first + _count_lines(new) - 1)
        shown = self._numbered(lines, max(1, first - 2), min(len(lines), last + 2))
        report = (f"edited {rel}: replaced {_plural(_count_lines(old), 'line')} at line {first} with "
                  f"{_plural(_count_lines(new), 'line')}. Now:\n" + "\n".join(shown))
        return ToolOutcome(report, changed_files=True)

    async def _run_tests(self, args: RunTestsArgs) -> ToolOutcome:
        if not self.test_cmd.strip():  # an empty shell command "passes", which would be a lie
            raise ToolError("no test command is configured for this workspace, so run_tests cannot run")
        run = await run_tests(self.workspace, self.test_cmd, self.test_timeout, self.output_cap)
        self.last_test = run
        content = f"{run.status(self.test_timeout)}\n{run.result.output.rstrip() or '(no output)'}"
        if run.harness is not None:
            return ToolOutcome(content, harness=run.harness)
        return ToolOutcome(content, tests_failed=not run.passed)

    async def _finish(self, args: FinishArgs) -> ToolOutcome:
        return ToolOutcome(f"finished: {args.summary}", finished=True, summary=args.summary)


def _error(message: str, kind: ToolErrorKind = "tool_failed") -> ToolOutcome:
    return ToolOutcome(f"error: {message}", error_kind=kind)


def _not_found_hint(old: str, text: str) -> str:
    """Why an exact match may have failed, from the two most common causes."""
    if re.search(r"^[ \t]*\d+\|", old, re.MULTILINE):  # [ \t], not \s: \s* ran over every newline (quadratic)
        return " 'old' seems to include the line-number prefixes read_file shows; leave them out."
    first = next((line.strip() for line in old.split("\n") if line.strip()), "")
    near = [str(n) for n, line in enumerate(text.split("\n"), start=1) if first and first in line][:5]
    if near:
        where = f"line{'s' if len(near) > 1 else ''} {', '.join(near)}"
        return (f" Its first line {first[:80]!r} is at {where}, so the rest differs (whitespace or "
                "the lines around it); read_file those lines and copy them exactly.")
    return " Use read_file to see the current text and copy it exactly, indentation included."
