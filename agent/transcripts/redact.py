"""Redaction for exports: keys, tokens and passwords the agent met in files and command output.

A shared transcript goes to people who should not get the credentials in it. Every string of the export
(message text, tool arguments, results, the header, dict keys) goes through `Redactor.text`, which replaces
what looks like a secret by `[REDACTED]`: API keys and tokens by their well-known shapes, private keys
from BEGIN to END over any number of lines, `NAME=value`, `"name": "value"` and YAML pairs (block values
too) whose name says secret, key, token, password or pwd, Basic and Bearer authorization, the user part of
URLs, and the literal values of secret-named environment variables of the exporting process. It counts
what it replaced, so the export can say how many secrets it took out.

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

# Every pattern here runs on text a stranger wrote, so each is linear: a token starts only where no
# character of its own kind stands before it (`_START`), so no run is scanned from each of its positions
# (`\beyJ[\w-]{4,}\.` did that on `eyJ-eyJ-...`), and repeats are possessive where nothing can follow
# from their own characters. tests/test_redact.py checks each on large adversarial input.
_START = r"(?<![\w-])"

# The shapes follow gitleaks' default rules (github.com/gitleaks/gitleaks, config/gitleaks.toml, 2026) and
# Yelp/detect-secrets' plugins, loosened to "prefix, then the run of token characters" (a longer or shorter
# key of a known prefix goes too: over-redaction is the safe side).
KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern)) for kind, pattern in (
    ("jwt", _START + r"eyJ[\w-]{4,}+\.eyJ[\w-]{4,}+\.[\w-]*+"),
    ("api key", _START + r"sk-[\w-]{16,}+"),  # OpenAI sk-, sk-proj-; Anthropic sk-ant-; OpenRouter sk-or-v1-
    ("stripe key", _START + r"[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,}+"),
    ("github token", _START + r"(?:gh[pousr]_[A-Za-z0-9]{20,}+|github_pat_\w{20,}+)"),
    ("gitlab token", _START + r"gl(?:pat|dt|rt|ptt|cbt|oas|ft|imt|agent|ffct|soat)-[\w-]{20,}+"),
    ("slack token", _START + r"(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]{10,}+"),
    ("slack webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,}+"),
    ("aws key", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    ("google api key", r"\bAIza[\w-]{35}"),
    ("hugging face token", _START + r"(?:hf_|api_org_)[A-Za-z0-9]{30,}+"),
    ("sendgrid key", r"\bSG\.[\w-]{16,32}\.[\w-]{16,64}"),
    ("twilio key", r"\b(?:SK|AC)[0-9a-f]{32}\b"),
    ("npm token", _START + r"npm_[A-Za-z0-9]{36}\b"),
    ("pypi token", _START + r"pypi-AgE[\w-]{50,}+"),
    ("digitalocean token", _START + r"do[opr]_v1_[a-f0-9]{64}\b"),
    ("mailgun key", _START + r"(?:pub)?key-[a-f0-9]{32}\b"),
    ("square token", _START + r"(?:sq0atp-|sq0csp-|EAAA)[\w-]{22,}+"),
    ("shopify token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"),
    ("databricks token", r"\bdapi[a-f0-9]{32}\b"),
    ("azure client secret", r"(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])"),
    ("azure sas signature", r"\bsig=[\w%+/=-]{16,}+"),
    ("age secret key", r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}"),
))
"""Tokens recognised by their shape alone, wherever they stand."""

PRIVATE_KEY_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
PRIVATE_KEY_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
"""PEM, OpenSSH and PGP private keys: everything between the markers goes, over as many lines as it takes,
in whatever wrapping (line numbers, `\n` escapes in a JSON string); without an END, to the end of the text."""

BEARER = re.compile(r"\b(Bearer\s++)([A-Za-z0-9._~+/=-]{8,}+)", re.IGNORECASE)
BASIC = re.compile(r"\b(authorization[\"']?\s*+[:=]\s*+[\"']?basic\s++)([A-Za-z0-9+/]{6,}+=*+)", re.IGNORECASE)
"""`Authorization: Basic base64(user:password)`, as a header, a curl -H, or a JSON or Python field."""
HEADER = re.compile(r"(?<![\w-])((?:X-)?(?:api-?key|api-?token|auth-?token|access-?token|private-?token)\s*+:\s*+)"
                    r"([^\s\"',;]{6,}+)", re.IGNORECASE)
"""`X-Api-Key: value` and such headers, wherever they stand (curl -H '...', a log line)."""
CURL_USER = re.compile(r"(?<!\S)(-u|--user)([ =][\"']?)([^\s\"':]++:[^\s\"']++)")
"""`curl -u user:password`."""
URL_USERINFO = re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*+:(?://|\\/\\/))([^/\s@\"'<>\\]++)@"
                          r"(?=[^\s@/\"'<>\\A-Za-z0-9]*+[A-Za-z0-9])", re.IGNORECASE)
"""`scheme://user:password@host` (also JSON-escaped, `https:\\/\\/`): the whole user part goes (a bare
`https://TOKEN@host` is a credential too)."""

_LINE_NUMBER = r"(?:[ \t]*+\d+[|:\t] ?)?"
"""read_file's `  12| ` or `cat -n`'s `    12\t` before a line."""
_NAME = r"(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z_][A-Za-z0-9_.-]*+)"
_VALUE = (
    r"[ \t]*+(?:"
    r'\\"(?P<escaped>(?:[^"\\\n]|\\(?!"))*+)\\"'  # \"value\" (JSON inside a JSON string)
    r'|"(?P<double>(?:[^"\\\n]|\\.)*+)"'  # escapes included: a key's `\n`s in a JSON string
    r"|'(?P<single>(?:[^'\\\n]|\\.)*+)'"
    r"""|(?P<bare>[^\s"'\\,;&()\[\]{}<>`|#]++)"""  # a bare value (not one that is called or indexed: _pair)
    r")"
)
PAIRS = (
    re.compile(_NAME + r"(?:\\?[\"'][ \t]*+:|[ \t]*+=(?!=))" + _VALUE),  # NAME=value, "name": value
    # YAML's `name: value` at the start of a line (after a line number, as read_file and `cat -n` show it)
    re.compile(r"(?m)^" + _LINE_NUMBER + r"[ \t]*+(?:-[ \t]++)?" + _NAME + r"[ \t]*+:(?=[ \t])" + _VALUE),
)
"""`NAME=value` (env files, shell, URL queries, ini, code), `NAME="value"`, JSON `"name": "value"` (also in
JSON that is itself a string, where the quotes are escaped), and YAML's `name: value`."""
YAML_BLOCK = re.compile(
    r"(?m)^" + _LINE_NUMBER + r"(?P<indent>[ \t]*+)(?:-[ \t]++)?" + _NAME + r"[ \t]*+:[ \t]*+[|>][-+0-9]*+[ \t]*+\n"
    r"(?P<body>(?:" + _LINE_NUMBER + r"(?:(?P=indent)[ \t]++[^\n]*+|[ \t]*+)(?:\n|$))++)")
"""YAML's `password: |` and the more indented lines after it: a value split over lines."""
_SECRET_WORD = re.compile(r"(?:secret|passw(?:or)?d|(?:key|token|pwd|credentials?)$)", re.IGNORECASE)
_CODE_VALUES = frozenset({"lambda", "None", "True", "False", "null", "true", "false", "undefined", "self", "str",
                          "bytes", "int", "bool", "float", "Any", "Optional", "string", "number", "boolean"})

MEMO_LENGTH, MEMO_ENTRIES = 256, 100_000
"""The strings a Redactor remembers: up to this long, this many (some 50 MB at the worst)."""
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
        self._seen: dict[str, str] = {}
        """Short strings already redacted, and what they became: a transcript repeats its keys, roles, tool
        names and every message twice (in the event and in its `message`)."""

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
        if len(text) > MEMO_LENGTH:
            return self._text(text)
        done = self._seen.get(text)
        if done is None:
            done = self._text(text)
            if len(self._seen) < MEMO_ENTRIES:
                self._seen[text] = done
        return done

    def _text(self, text: str) -> str:
        if text[:1] in ("{", "[") and (parsed := _json(text)) is not None:
            try:
                redacted = self.value(parsed)
            except RecursionError:  # nested too deep to walk: redacted as the text it is
                pass
            else:
                return text if redacted == parsed else json.dumps(redacted, ensure_ascii=False)
        text = self._private_keys(text)
        if self._env is not None:
            text = self._env.sub(lambda m: self._replace(m.group(0), "environment value"), text)
        text = URL_USERINFO.sub(lambda m: m.group(1) + self._replace(m.group(2), "URL credentials") + "@", text)
        for pattern, kind in ((BEARER, "bearer token"), (BASIC, "basic auth"), (HEADER, "header")):
            def after_name(m: re.Match[str], kind: str = kind) -> str:
                return m.group(1) + self._replace(m.group(2), kind)
            text = pattern.sub(after_name, text)
        text = CURL_USER.sub(lambda m: m.group(1) + m.group(2) + self._replace(m.group(3), "basic auth"), text)
        for kind, pattern in KEY_SHAPES:
            def whole(m: re.Match[str], kind: str = kind) -> str:
                return self._replace(m.group(0), kind)
            text = pattern.sub(whole, text)
        text = YAML_BLOCK.sub(self._block, text)
        for pattern in PAIRS:
            text = pattern.sub(self._pair, text)
        return text

    def _private_keys(self, text: str) -> str:
        """Each private key's body, from its BEGIN marker to its END marker (or the end of the text)."""
        kept: list[str] = []
        pos = 0
        while (begin := PRIVATE_KEY_BEGIN.search(text, pos)) is not None:
            end = PRIVATE_KEY_END.search(text, begin.end())
            stop = end.start() if end is not None else len(text)
            kept += [text[pos:begin.end()], self._replace(text[begin.end():stop], "private key")]
            pos = stop
        kept.append(text[pos:])
        return "".join(kept)

    def _replace(self, secret: str, kind: str) -> str:
        if MARK not in secret:  # a value that holds a redacted key is not one more secret
            self._keep(secret, kind)
        return MARK

    def _pair(self, m: re.Match[str]) -> str:
        group = next(g for g in ("escaped", "double", "single", "bare") if m.group(g) is not None)
        name, value = m.group("name"), m.group(group)
        called = group == "bare" and m.string[m.end():m.end() + 1] in ("(", "[")  # `key=make_key()`, `key=keys[0]`
        if called or not _SECRET_WORD.search(name) or _not_a_secret(name, value):
            return m.group(0)
        start, end = m.span(group)
        whole = m.group(0)
        offset = m.start()
        return whole[: start - offset] + self._replace(value, "NAME=value") + whole[end - offset:]

    def _block(self, m: re.Match[str]) -> str:
        """A YAML block value under a secret's name: its lines become one [REDACTED]."""
        if not _SECRET_WORD.search(m.group("name")):
            return m.group(0)
        body = m.group("body")
        return m.group(0)[: m.start("body") - m.start()] + self._replace(body, "NAME=value") + \
            ("\n" if body.endswith("\n") else "")

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
