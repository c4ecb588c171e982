"""`agent-tui serve`: the app in a browser, to the person who started it only. Each attack runs against a
real server on a loopback port. The test plays the browser (and the attacker's page): it loads the page,
opens the WebSocket the page would open (textual-serve's protocol: the query gives the terminal size,
binary frames carry the app's screen as terminal output) and reads the app's first screen from it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import aiohttp
import pytest

from tests.conftest import DATA
from tui.serve_guard import Guard

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
DEADLINE_S = 90
ATTACKER = "attacker.example"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the app processes")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every living process under `pid` (zombies are dead: their parent has yet to wait for them)."""
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat[0] != "Z":
            children.setdefault(int(stat[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                living.add(pid)
        except OSError:
            pass
    return living


async def until(condition, what: str, deadline_s: float = DEADLINE_S) -> None:  # type: ignore[no-untyped-def]
    """Wait for `condition()` (a hang guard, not a speed check)."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.1)


class Served:
    """A server process and the address it printed."""

    def __init__(self, argv: list[str], out: Path, port: int) -> None:
        self.out, self.port = out, port
        self.proc = subprocess.Popen(argv, stdout=out.open("wb"), stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + DEADLINE_S
        while not (m := re.search(r"http://127\.0\.0\.1:\d+/\?token=([A-Za-z0-9_-]+)", self.output())):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.1)
        self.token = m.group(1)
        self.base = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.out.read_text("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`agent-tui serve FILE --max-sessions 1`, as a user starts it."""
    port = free_port()
    server = Served([sys.executable, "-m", "tui.main", "serve", str(DATA / "messages_array.json"), "--port",
                     str(port), "--max-sessions", "1"], tmp_path_factory.mktemp("serve") / "out.txt", port)
    yield server
    server.stop()


async def _until_listening(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            response = await session.get(url)
            await response.read()
            return response
        except aiohttp.ClientConnectorError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _refusal(session: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str]:
    async with session.get(url, headers=headers) as response:
        return response.status, await response.text()


async def _ws_refusal(session: aiohttp.ClientSession, url: str, **kwargs: object) -> tuple[int, str]:
    """The HTTP status that refused the WebSocket's handshake (a browser's page sees no more)."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with session.ws_connect(url, **kwargs):  # type: ignore[arg-type]
            pass
    return refused.value.status, refused.value.message


async def _first_screen(ws: aiohttp.ClientWebSocketResponse) -> str:
    screen = ""
    deadline = time.monotonic() + DEADLINE_S
    while not ("messages_array.json" in screen and "▶ 2  write_file" in screen):
        message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), (message, screen)
        if message.type == aiohttp.WSMsgType.BINARY:
            screen += ANSI.sub("", message.data.decode("utf-8", "replace"))
    return screen


async def test_without_the_token_the_page_and_the_websocket_are_refused(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        await _until_listening(session, served.base + "/")
        status, text = await _refusal(session, served.base + "/")
        assert (status, text) == (403, "agent-tui serve: this server needs the token it printed when it started: "
                                       "open the address it printed, http://HOST:PORT/?token=...\n")
        status, text = await _refusal(session, served.base + "/?token=" + "x" * len(served.token))
        assert status == 403 and "wrong token" in text
        assert (await _refusal(session, served.base + "/static/js/textual.js"))[0] == 403
        ws = f"ws://127.0.0.1:{served.port}/ws?width=80&height=24"
        assert (await _ws_refusal(session, ws))[0] == 403
        assert (await _ws_refusal(session, ws + "&token=wrong"))[0] == 403
    assert served.token not in text


async def test_a_page_of_another_site_is_refused_even_with_the_token(served: Served) -> None:
    """A foreign page may open a WebSocket to any address: its Origin gives it away."""
    ws = f"ws://127.0.0.1:{served.port}/ws?width=80&height=24&token={served.token}"
    async with aiohttp.ClientSession() as session:
        await _until_listening(session, served.base + "/")
        assert (await _ws_refusal(session, ws, origin=f"http://{ATTACKER}"))[0] == 403
        status, text = await _refusal(session, f"{served.base}/?token={served.token}", Origin=f"http://{ATTACKER}")
        assert (status, text) == (403, f"agent-tui serve: a page from 'http://{ATTACKER}' may not use this server: "
                                       "only pages it served may (the Origin must be the server's own)\n")
        # this server's own origin on another port (another local server's page) is foreign too
        assert (await _ws_refusal(session, ws, origin=f"http://127.0.0.1:{served.port + 1}"))[0] == 403


async def test_a_dns_rebinding_name_is_refused_on_the_page_and_the_websocket(served: Served) -> None:
    """A rebinding page reaches 127.0.0.1 under its own name: same origin as itself, but the Host says so."""
    host = f"{ATTACKER}:{served.port}"
    async with aiohttp.ClientSession() as session:
        await _until_listening(session, served.base + "/")
        status, text = await _refusal(session, f"{served.base}/?token={served.token}", Host=host)
        assert status == 403 and f"Host '{host}' is not an address of this server" in text
        assert (await _ws_refusal(session, f"ws://127.0.0.1:{served.port}/ws?token={served.token}",
                                  headers={"Host": host}, origin=f"http://{host}"))[0] == 403


@linux_only
async def test_the_page_opens_the_app_one_session_at_most_ended_with_its_connection(served: Served) -> None:
    """As a browser does: the page with the token sets a cookie, and the page's WebSocket goes with it."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        page = await _until_listening(browser, f"{served.base}/?token={served.token}")
        assert page.status == 200 and page.headers["Referrer-Policy"] == "no-referrer"
        html = await page.text()
        assert f"ws://127.0.0.1:{served.port}/ws" in html and "agent-tui messages_array.json" in html
        assert descendants(served.proc.pid) == set()  # no app runs before a tab opens its WebSocket
        async with browser.ws_connect(f"ws://127.0.0.1:{served.port}/ws?width=120&height=36",
                                      origin=served.base) as ws:
            screen = await _first_screen(ws)
            apps = descendants(served.proc.pid)
            assert apps, "the app runs in a process of its own"
            async with aiohttp.ClientSession() as other:  # a second tab, token and all: over --max-sessions 1
                assert (await _ws_refusal(other, f"ws://127.0.0.1:{served.port}/ws?token={served.token}"))[0] == 503
                status, text = await _refusal(other, f"{served.base}/ws?token={served.token}")  # what it says
                assert (status, text) == (503, "agent-tui serve: 1 session(s) running already, the most "
                                               "--max-sessions allows; close a tab and reload\n")
                assert (await _refusal(other, f"{served.base}/?token={served.token}"))[0] == 503
        # the tab closed without quitting the app: the app goes with its connection
        await until(lambda: not alive(apps), "the app to end with its connection")
    assert "← result read_file  call_read_1" in screen and "▶ 2  write_file" in screen  # its first blocks
    async with aiohttp.ClientSession() as again:  # and the freed place is there for the next tab
        deadline = time.monotonic() + DEADLINE_S  # once the server has seen its app end (it may lag the process)
        while (await again.get(f"{served.base}/?token={served.token}")).status == 503:
            assert time.monotonic() < deadline, "the session's place was never freed"
            await asyncio.sleep(0.1)
        async with again.ws_connect(f"ws://127.0.0.1:{served.port}/ws?width=120&height=36&token={served.token}") as ws:
            await _first_screen(ws)
            await ws.send_json(["stdin", "q"])  # quit, as a key press from the browser
    await until(lambda: not descendants(served.proc.pid), "the second app to quit")


STUBBORN_APP = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
child = subprocess.Popen(["sleep", "600"])  # something the app started (a test command, say)
with open(sys.argv[1], "a") as pids:
    pids.write(f"{os.getpid()} {child.pid}\\n")
sys.stdout.write("__GANGLION__\\n")
sys.stdout.flush()
while True:  # never reads its input: a quit request goes unheard
    time.sleep(1)
"""

SERVE_THE_STUB = """
import sys
from tui.serve import GuardedServer
GuardedServer([sys.executable, sys.argv[1], sys.argv[2]], host="127.0.0.1", port=int(sys.argv[3]), title="stub",
              token="the-token", max_sessions=3).serve()
"""


@linux_only
async def test_an_app_that_will_not_quit_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    """An app (and its child) that ignore quit and SIGTERM end when the tab closes, and when the server stops."""
    stub, pids = tmp_path / "stub.py", tmp_path / "pids.txt"
    stub.write_text(STUBBORN_APP)
    port = free_port()
    server = Served([sys.executable, "-c", SERVE_THE_STUB, str(stub), str(pids), str(port)], tmp_path / "out.txt",
                    port)

    def started() -> list[set[int]]:
        return [set(map(int, line.split())) for line in pids.read_text().splitlines()] if pids.exists() else []

    ws_url = f"ws://127.0.0.1:{port}/ws?token=the-token"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(ws_url):
                await until(lambda: len(started()) == 1, "the app to start")
                assert alive(started()[0]) == started()[0]
            await until(lambda: not alive(started()[0]), "the app and its child to be killed")
            async with session.ws_connect(ws_url):
                await until(lambda: len(started()) == 2, "a second app to start")
                server.proc.send_signal(signal.SIGTERM)  # the server stops with a tab open
                assert server.proc.wait(DEADLINE_S) == 0
        assert alive(started()[1]) == set()
    finally:
        server.stop()
        for pid in set().union(*started()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_the_guard_answers_only_to_the_servers_own_addresses() -> None:
    loopback = Guard.for_address("127.0.0.1", 8000, None, "t")
    assert [loopback.answers_to(h) for h in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST")] == [
        True] * 4
    assert not any(loopback.answers_to(h) for h in (None, "", f"{ATTACKER}:8000", "127.0.0.1.nip.io:8000",
                                                    "evil@127.0.0.1:8000", "127.0.0.1:8000/x", "10.0.0.1:8000"))
    everywhere = Guard.for_address("0.0.0.0", 8000, "https://tui.example.org", "t")
    assert everywhere.answers_to("10.0.0.7:8000") and everywhere.answers_to("tui.example.org")
    assert not everywhere.answers_to(f"{ATTACKER}:8000")
    assert loopback.refusal("127.0.0.1:8000", "null", ["t"]) is not None  # a sandboxed frame, a file:// page
    assert loopback.refusal("localhost:8000", "http://localhost:8000", ["t"]) is None
    assert loopback.refusal("127.0.0.1:8000", "http://localhost:8000", ["t"]) is not None  # another origin
    assert everywhere.refusal("tui.example.org", "https://tui.example.org", ["t"]) is None  # behind a proxy
    assert "\x1b" not in (loopback.refusal("\x1b]0;x\x07", None, ["t"]) or "")


def test_serve_refuses_a_bad_file_port_and_session_cap(tmp_path, capsys) -> None:
    from tui.main import main

    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["serve", str(bad), "--port", "8123"]) == 2
    assert "bad.json: not a transcript" in capsys.readouterr().err
    assert main(["serve", "--port", "0"]) == 2
    assert "--port 0" in capsys.readouterr().err
    assert main(["serve", "--max-sessions", "0"]) == 2
    assert "--max-sessions 0: expected 1 or more" in capsys.readouterr().err
