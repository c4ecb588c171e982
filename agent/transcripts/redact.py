"""Redaction for exports: keys, tokens and passwords the agent met in files and command output.

A shared transcript goes to people who should not get the credentials in it. Every string of the export
(message text, tool arguments, results, the header, dict keys) goes through `Redactor.text`, which replaces
what looks like a secret by `[REDACTED]`: API keys and tokens by their well-known shapes, `NAME=value` and
`"name": "value"` pairs whose name says secret, key, token, password or pwd, the user part of URLs, and
the literal values of secret-named environment variables of the exporting process. It counts what it
replaced, so the export can say how many secrets it took out.

Over-redaction is the safe side: a `sort_key=name` loses its value too. Values that are plainly code
(`key=lambda ...`, `token=next(...)`, `$API_KEY`) are left alone.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from agent.events import EVENT_ADAPTER
from agent.transcripts.transcript import Transcript, TranscriptHeader

MARK = "[REDACTED]"

SECRET_NAME = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
"""Environment variable names whose values are taken out of exports (OPENAI_API_KEY, GITHUB_TOKEN, ...). Only
redaction guesses by name; commands get an allow-listed environment instead (agent.tools.sandbox)."""

KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    ("api key", re.compile(r"\bsk-(?:proj-|ant-|or-v1-|live-|test-)?[A-Za-z0-9_-]{16,}")),
    ("github token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("gitlab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("aws key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("google api key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
)
"""Tokens recognised by their shape alone, wherever they stand."""

BEARER = re.compile(r"\b(Bearer\s+)([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
URL_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^/\s@\"'<>\\]+)@(?=[^\s@/\"'<>\\]*[A-Za-z0-9])", re.IGNORECASE)
"""`scheme://user:password@host`: the whole user part goes (a bare `https://TOKEN@host` is a credential too)."""

_NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)"
_VALUE = (
    r"[ \t]*(?:"
    r'\\"(?P<escaped>(?:[^"\\\n]|\\(?!"))*+)\\"'  # \"value\" (JSON inside a JSON string)
    r'|"(?P<double>[^"\\\n]*+)"'
    r"|'(?P<single>[^'\\\n]*+)'"
    r"""|(?P<bare>[^\s"'\\,;&()\[\]{}<>`|#]++)(?![(\[])"""  # a bare value; none that is called or indexed
    r")"
)
PAIRS = (
    re.compile(_NAME + r"(?:\\?[\"'][ \t]*:|[ \t]*=(?!=))" + _VALUE),  # NAME=value, "name": value
    # YAML's `name: value` at the start of a line (after a line number, as read_file and `cat -n` show it)
    re.compile(r"(?m)^[ \t]*(?:\d+[|:\t][ \t]*)?(?:-[ \t]+)?" + _NAME + r"[ \t]*:(?=[ \t])" + _VALUE),
)
"""`NAME=value` (env files, shell, URL queries, ini, code), `NAME="value"`, JSON `"name": "value"` (also in
JSON that is itself a string, where the quotes are escaped), and YAML's `name: value`."""
_SECRET_WORD = re.compile(r"(?:secret|passw(?:or)?d|(?:key|token|pwd|credentials?)$)", re.IGNORECASE)
_CODE_VALUES = frozenset({"lambda", "None", "True", "False", "null", "true", "false", "undefined", "self", "str",
                          "bytes", "int", "bool", "float", "Any", "Optional", "string", "number", "boolean"})

ENV_MIN_LENGTH = 8
"""Environment values shorter than this are not replaced literally (they would hit ordinary words)."""


@dataclass
class Redactor:
    """Replaces secrets in strings, and remembers each distinct secret it replaced and its kind."""

    environ: Mapping[str, str] | None = None
    """Whose secret-named variables' values are replaced literally (default: this process's environment)."""
    found: dict[str, str] = field(default_factory=dict)
    """Each distinct secret replaced -> its kind."""

    def __post_init__(self) -> None:
        source = os.environ if self.environ is None else self.environ
        values = {v for k, v in source.items() if SECRET_NAME.search(k) and len(v) >= ENV_MIN_LENGTH}
        self._env = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))) if values else None

    @property
    def count(self) -> int:
        """How many distinct secrets were replaced."""
        return len(self.found)

    def summary(self) -> str:
        """'3 secrets redacted (api key, github token, NAME=value)', or that nothing was."""
        if not self.found:
            return "redaction on: nothing looked like a secret"
        kinds = Counter(self.found.values())
        detail = ", ".join(f"{kind} ×{n}" if n > 1 else kind for kind, n in sorted(kinds.items()))
        return f"{self.count} secret{'s' if self.count != 1 else ''} redacted ({detail})"

    def _keep(self, secret: str, kind: str) -> None:
        self.found.setdefault(secret, kind)

    def text(self, text: str) -> str:
        """`text` with every secret in it replaced by [REDACTED]. JSON text (tool arguments) is redacted value
        by value and written again, so that its escaped strings are read as the text they hold."""
        if text[:1] in ("{", "[") and (parsed := _json(text)) is not None:
            redacted = self.value(parsed)
            return text if redacted == parsed else json.dumps(redacted, ensure_ascii=False)
        if self._env is not None:
            text = self._env.sub(lambda m: self._replace(m.group(0), "environment value"), text)
        text = URL_USERINFO.sub(lambda m: m.group(1) + self._replace(m.group(2), "URL credentials") + "@", text)
        text = BEARER.sub(lambda m: m.group(1) + self._replace(m.group(2), "bearer token"), text)
        for kind, pattern in KEY_SHAPES:
            text = pattern.sub(lambda m, kind=kind: self._replace(m.group(0), kind), text)
        for pattern in PAIRS:
            text = pattern.sub(self._pair, text)
        return text

    def _replace(self, secret: str, kind: str) -> str:
        if secret == MARK:
            return secret
        self._keep(secret, kind)
        return MARK

    def _pair(self, m: re.Match[str]) -> str:
        group = next(g for g in ("escaped", "double", "single", "bare") if m.group(g) is not None)
        name, value = m.group("name"), m.group(group)
        if not _SECRET_WORD.search(name) or _not_a_secret(name, value):
            return m.group(0)
        start, end = m.span(group)
        whole = m.group(0)
        offset = m.start()
        return whole[: start - offset] + self._replace(value, "NAME=value") + whole[end - offset:]

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings, numbers) with every string redacted, keys too."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self._field(k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def _field(self, name: Any, value: Any) -> Any:
        """A dict's value: all of it when its key names a secret (`{"client_secret": "..."}`)."""
        if (isinstance(name, str) and isinstance(value, str) and _SECRET_WORD.search(name)
                and not _not_a_secret(name, value)):
            return self._replace(value, "NAME=value")
        return self.value(value)

    def transcript(self, transcript: Transcript) -> Transcript:
        """A redacted copy of `transcript`: its header, every event and every warning."""
        header = TranscriptHeader.model_validate(self.value(transcript.header.model_dump()))
        events = [EVENT_ADAPTER.validate_python(self.value(e.model_dump())) for e in transcript.events]
        return Transcript(header=header, events=events, warnings=[self.text(w) for w in transcript.warnings])


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # JSON nested past the parser: kept as text
        return None


def _not_a_secret(name: str, value: str) -> bool:
    """Values that are code or a reference, not a credential: `key=lambda`, `token=token`, `$API_KEY`."""
    return (not value or value == MARK or value in _CODE_VALUES or value.startswith(("$", "%", "os.environ"))
            or value.lower() == name.lower().strip("\"'\\"))
