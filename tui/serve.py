"""`agent-tui serve`: the same app in a browser, through textual-serve.

textual-serve starts one app process per browser tab (`agent-tui open FILE`, or the demo) and carries its
screen and keys over a WebSocket. As it comes, any page the browser opens may drive that WebSocket (it
checks no Origin, no Host, no token) and every connection starts a process. Here the server:
- listens on 127.0.0.1 unless `--host` says otherwise (a wider address is the user's explicit choice, and
  is said out loud);
- refuses every request that does not come from its own page at its own address with the token it printed
  (tui.serve_guard), pages and WebSocket alike;
- runs at most `--max-sessions` apps at once;
- starts each app as a process group of its own, without a shell, and ends the group with its connection
  (asked to quit first, then killed), so that nothing the app started outlives the tab.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shlex
import signal
import sys
from asyncio.subprocess import PIPE, Process
from typing import Any, Awaitable, Callable

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from agent.display.terminal import inert
from agent.tools.children import die_with_parent
from tui.serve_guard import LOOPBACK, Guard

log = logging.getLogger("agent-tui.serve")

DEFAULT_MAX_SESSIONS = 2
QUIT_GRACE_S = 3.0
"""How long an app gets to quit when its connection closes, before its process group is killed."""
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",  # the page's address holds the token
    "X-Frame-Options": "DENY",  # no other site may frame the app and click in it
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def serve_command(args: argparse.Namespace) -> list[str]:
    """The command each browser tab runs: this Python, the app, on FILE or DIR (or the demo)."""
    command = [sys.executable, "-m", "tui.main"]
    return command + (["open", str(args.file.resolve())] if args.file is not None else [])


class AppSession(AppService):
    """One tab's app. textual-serve starts the command through a shell in the server's process group; here
    it is exec'd as the leader of a group of its own, so `end` reaches every process the app started."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=self._build_environment(width, height),
            start_new_session=True, preexec_fn=die_with_parent)
        self._stdin = process.stdin
        return process

    async def end(self) -> None:
        """Ask the app to quit; kill its process group after QUIT_GRACE_S, and whatever is left of it."""
        process = self._process
        try:
            await asyncio.wait_for(self.stop(), QUIT_GRACE_S)
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            pass
        finally:
            if process is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


class GuardedServer(Server):
    """textual-serve's server for the one person who started it (see the module docstring)."""

    def __init__(self, argv: list[str], *, host: str, port: int, title: str, public_url: str | None = None,
                 max_sessions: int = DEFAULT_MAX_SESSIONS, token: str | None = None) -> None:
        super().__init__(shlex.join(argv), host=host, port=port, title=title, public_url=public_url)
        self.argv = argv
        self.max_sessions = max_sessions
        self.guard = Guard.for_address(host, port, public_url, token or secrets.token_urlsafe(24))
        self.sessions: set[AppSession] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    @property
    def url(self) -> str:
        """The address to open, token included."""
        return f"{self.public_url}/?token={self.guard.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.check_request)
        return app

    @web.middleware
    async def check_request(self, request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """Every page, file and WebSocket: refused unless it passes the guard; the token from the URL is
        kept in a cookie for the page's own requests (its scripts, its WebSocket)."""
        from_url = request.query.get("token")
        from_cookie = request.cookies.get(self.guard.cookie)
        tokens = [t for t in (from_url, from_cookie) if t]
        reason = self.guard.refusal(request.headers.get("Host"), request.headers.get("Origin"), tokens)
        if reason is not None:
            log.warning("refused %s %s: %s", request.method, inert(request.path[:100]), reason)
            return web.Response(status=403, text=f"agent-tui serve: {reason}\n", headers=SECURITY_HEADERS)
        response = await handler(request)
        if not response.prepared:  # a WebSocket's handshake and a download are sent already
            response.headers.update(SECURITY_HEADERS)
            if from_url and self.guard.token_matches(from_url):
                response.set_cookie(self.guard.cookie, self.guard.token, httponly=True, samesite="Strict", path="/")
        return response

    def _full(self) -> web.Response | None:
        """The refusal of one more session, when `max_sessions` are running."""
        if len(self.sessions) < self.max_sessions:
            return None
        return web.Response(status=503, headers=SECURITY_HEADERS,
                            text=f"agent-tui serve: {self.max_sessions} session(s) running already, the most "
                                 "--max-sessions allows; close a tab and reload\n")

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        return self._full() or await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        """textual-serve's handler, with the session cap, an AppSession, and its end with the connection."""
        if (refused := self._full()) is not None:
            log.warning("refused a session: %d running (--max-sessions)", len(self.sessions))
            return refused
        websocket = web.WebSocketResponse(heartbeat=15)
        session = AppSession(self.argv, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                             close=websocket.close, download_manager=self.download_manager, debug=self.debug)
        self.sessions.add(session)  # counted from here: no await since the check
        try:
            await websocket.prepare(request)
            self.sockets.add(websocket)
            await session.start(to_int(request.query.get("width", "80"), 80),
                                to_int(request.query.get("height", "24"), 24))
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # a malformed message from the page ends its session, not the server
            log.warning("session ended: %s", inert(repr(error))[:200])
        finally:
            self.sockets.discard(websocket)
            await asyncio.shield(session.end())
            self.sessions.discard(session)
            await websocket.close()
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        print(f"agent-tui: serving {self.title}, at most {self.max_sessions} session(s) at once, at\n"
              f"    {self.url}\n(only that address works: it holds the token; Ctrl+C stops)", flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every tab's connection, which ends its app (the handlers wait for that)."""
        for websocket in list(self.sockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"agent-tui serve stopped")


def serve_app(args: argparse.Namespace) -> int:
    from agent.transcripts.importers import open_transcript
    from agent.transcripts.transcript import TranscriptError

    if not 0 < args.port < 65536:
        print(f"agent-tui: --port {args.port}: expected 1 to 65535", file=sys.stderr)
        return 2
    if args.max_sessions < 1:
        print(f"agent-tui: --max-sessions {args.max_sessions}: expected 1 or more", file=sys.stderr)
        return 2
    if args.file is not None and not args.file.is_dir():
        try:
            open_transcript(args.file)  # a bad file is a one-line error here, not a broken page later
        except TranscriptError as exc:
            print(f"agent-tui: {exc}", file=sys.stderr)
            return 2
    if args.host not in LOOPBACK:
        print(f"agent-tui: listening on {args.host}: anyone who reaches this address and has the token gets the "
              "app (and can start runs with your keys)", file=sys.stderr)
    title = f"agent-tui {args.file.name}" if args.file is not None else "agent-tui"
    GuardedServer(serve_command(args), host=args.host, port=args.port, title=title, public_url=args.public_url,
                  max_sessions=args.max_sessions).serve()
    return 0
