"""A request gate shared by SDK clients: each HTTP attempt holds a token until its response is closed."""

from __future__ import annotations

from pathlib import Path

from agent.models.presets import Endpoint, make_client
from agent.run.runner import RunOptions, build_run
from tests.conftest import collect, reply
from tests.loopback import LoopbackServer

HI = [{"role": "user", "content": "hi"}]


class CountingGate:
    """A gate that never makes anyone wait, and counts."""

    def __init__(self) -> None:
        self.taken = self.held = self.most = 0

    async def acquire(self) -> None:
        self.taken += 1
        self.held += 1
        self.most = max(self.most, self.held)

    def release(self) -> None:
        assert self.held > 0, "released a token nobody held"
        self.held -= 1


def client_for(server: LoopbackServer, gate: CountingGate, **kwargs):
    return make_client(Endpoint("vllm", server.base_url, "loopback", "none", None), gate=gate, **kwargs)


async def test_a_reply_gives_its_token_back_once_read_a_stream_once_closed() -> None:
    gate = CountingGate()
    with LoopbackServer([reply("hello")]) as server:
        client = client_for(server, gate)
        answer = await client.chat.completions.create(model="loopback", messages=HI)
        assert answer.choices[0].message.content == "hello"
        assert (gate.taken, gate.held) == (1, 0)

        stream = await client.chat.completions.create(model="loopback", messages=HI, stream=True)
        assert gate.held == 1  # the headers are in, the reply is still coming
        assert [c async for c in stream]
        assert (gate.taken, gate.held) == (2, 0)

        dropped = await client.chat.completions.create(model="loopback", messages=HI, stream=True)
        await dropped.close()  # left unread: closing gives the token back too
        assert (gate.taken, gate.held) == (3, 0)
        await client.close()


async def test_each_retry_is_an_attempt_of_its_own() -> None:
    gate = CountingGate()
    with LoopbackServer([reply("hello")], fail=lambda n, body: (500, "busy") if n == 1 else None,
                        headers=lambda n, status: {"retry-after-ms": "10"} if status >= 400 else {}) as server:
        client = client_for(server, gate, max_retries=1)
        await client.chat.completions.create(model="loopback", messages=HI)
        await client.close()
    assert (gate.taken, gate.held, gate.most) == (2, 0, 1)  # the failed attempt's token went back first


async def test_a_run_sends_every_request_through_its_gate(tmp_path: Path) -> None:
    gate = CountingGate()
    run = build_run(RunOptions(task="quicksort", provider="scripted", reflection="system", request_gate=gate,
                               stream=True, out=tmp_path / "run.jsonl"))
    await collect(run)
    assert run.finished is not None and run.finished.tests_passed
    assert run.server.reflection_requests  # reflection calls go through the same client, and the same gate
    assert gate.taken == len(run.server.requests) + len(run.server.reflection_requests)
    assert (gate.held, gate.most) == (0, 1)
