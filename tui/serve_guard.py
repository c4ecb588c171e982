"""Who may reach `agent-tui serve`: the person who started it, from a page it served, at an address it
listens on.

The served app can start runs on the user's key and shows every transcript it opens, so a request is
refused unless:
- its `Host` is an address of this server (a DNS-rebinding page reaches 127.0.0.1 under its own name, and
  its requests carry that name);
- its `Origin`, when there is one (a browser sends it on every WebSocket and on cross-origin requests), is
  the server itself (a page of another site may open a WebSocket to any address);
- it carries the token printed at start, in the URL (`?token=...`, as Jupyter does) or in the cookie that
  the page opened with it sets (HttpOnly, SameSite=Strict: sent by this server's own page only).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
"""Addresses that listen on every interface: any IP address of the machine is then the server's."""

_HOST = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]{2,45})\]|(?P<name>[A-Za-z0-9.-]{1,253}))(?::(?P<port>[0-9]{1,5}))?")
"""A Host header: a name or an IP address, then an optional port (nothing else: no user part, no path)."""


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header's (lower-case name, port), or None when it is not one."""
    m = _HOST.fullmatch(value)
    if m is None:
        return None
    return (m.group("v6") or m.group("name")).lower(), int(m.group("port")) if m.group("port") else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Guard:
    """The addresses, and the token, a request must show."""

    names: frozenset[str]
    """The host names and addresses this server answers to."""
    any_ip: bool
    """Listening on every interface: any IP address (never a name) is one of ours."""
    token: str
    cookie: str
    """The cookie that carries the token (its name holds the port: cookies do not tell ports apart)."""

    @classmethod
    def for_address(cls, host: str, port: int, public_url: str | None, token: str) -> "Guard":
        names = {host.lower().strip("[]")}
        if host in LOOPBACK or host in WILDCARD:
            names.update(LOOPBACK)
        if public_url and (public := urlsplit(public_url).hostname):
            names.add(public.lower())
        return cls(frozenset(names), host in WILDCARD, token, f"agent_tui_token_{port}")

    def answers_to(self, host_header: str | None) -> bool:
        """Whether a request with this Host header is for this server."""
        host = split_host(host_header or "")
        return host is not None and (host[0] in self.names or (self.any_ip and _is_ip(host[0])))

    def refusal(self, host_header: str | None, origin: str | None, tokens: list[str]) -> str | None:
        """None when a request may go on; else why it may not, in one line (the value quoted is the
        requester's own: it is shown cut and as data)."""
        if not self.answers_to(host_header):
            return (f"Host {_quote(host_header)} is not an address of this server (it answers to "
                    f"{', '.join(sorted(self.names))}); a page that renamed the server (DNS rebinding) is refused")
        if origin is not None and not self._same_origin(origin, host_header or ""):
            return (f"a page from {_quote(origin)} may not use this server: only pages it served may "
                    "(the Origin must be the server's own)")
        if not tokens:
            return ("this server needs the token it printed when it started: open the address it printed, "
                    "http://HOST:PORT/?token=...")
        if not any(self.token_matches(t) for t in tokens):
            return "wrong token: open the address `agent-tui serve` printed when it started, token included"
        return None

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self.token.encode("utf-8"))

    @staticmethod
    def _same_origin(origin: str, host_header: str) -> bool:
        """The Origin names the host (and port, when the Host gives one) the request was sent to."""
        try:
            parts = urlsplit(origin)
            origin_port = parts.port
        except ValueError:
            return False
        host = split_host(host_header)
        if parts.scheme not in ("http", "https") or not parts.hostname or host is None:
            return False
        if parts.hostname.lower() != host[0]:
            return False
        default = 443 if parts.scheme == "https" else 80
        return host[1] is None or (origin_port or default) == host[1]


def _quote(value: str | None) -> str:
    """A requester's value, quoted, at most 100 characters, with no control character."""
    if value is None:
        return "(none)"
    shown = value[:100] + ("..." if len(value) > 100 else "")
    return repr(shown)
