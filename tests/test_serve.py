"""`agent-tui serve`: the app in a browser. The real command, on a free loopback port; the test plays the
browser: it loads the page, opens the websocket the page would open (textual-serve's protocol: the query
gives the terminal size, binary frames carry the app's screen as terminal output) and reads the app's first
screen from it."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import time

import aiohttp

from tests.conftest import DATA

ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
DEADLINE_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _until_listening(session: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process) -> str:
    """The index page, once the server answers (it prints its banner a moment before it listens)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            async with session.get(url) as response:
                assert response.status == 200
                return await response.text()
        except aiohttp.ClientConnectorError:
            if proc.returncode is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_serve_shows_the_apps_first_screen_over_its_websocket() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.main", "serve", str(DATA / "messages_array.json"), "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    screen = ""
    try:
        async with aiohttp.ClientSession() as session:
            page = await _until_listening(session, f"http://127.0.0.1:{port}/", proc)
            assert f"ws://127.0.0.1:{port}/ws" in page and "agent-tui messages_array.json" in page
            async with session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=120&height=36") as ws:
                deadline = time.monotonic() + DEADLINE_S
                while not ("messages_array.json" in screen and "▶ 2  write_file" in screen):
                    message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                    assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), (message, screen)
                    if message.type == aiohttp.WSMsgType.BINARY:
                        screen += ANSI.sub("", message.data.decode("utf-8", "replace"))
                await ws.send_json(["stdin", "q"])  # quit, as a key press from the browser
    finally:
        if proc.returncode is None:
            proc.terminate()
        output = (await proc.communicate())[0].decode("utf-8", "replace")
    assert "Serving" in output and f"http://127.0.0.1:{port}" in output
    assert "← result read_file  call_read_1" in screen and "▶ 2  write_file" in screen  # its first blocks


def test_serve_refuses_a_bad_file_and_port(tmp_path, capsys) -> None:
    from tui.main import main

    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["serve", str(bad), "--port", "8123"]) == 2
    assert "bad.json: not a transcript" in capsys.readouterr().err
    assert main(["serve", "--port", "0"]) == 2
    assert "--port 0" in capsys.readouterr().err
