"""`write_now` writes what nats-py has queued, through nats-py's private fields; pyproject bounds
nats-py below the next minor release, and these tests fail loudly if those fields change."""

import inspect

import nats
from nats.aio.client import Client

from command.infra.append_acks import write_now

CHANGED = ("nats-py no longer queues and writes as command/infra/append_acks.py:write_now "
           "assumes; read its flusher again before raising the bound in pyproject.toml")


def test_nats_py_queues_and_flushes_as_write_now_assumes() -> None:
    queue = inspect.getsource(Client._send_command)
    flush = inspect.getsource(Client._flusher)
    assert "self._pending.append(cmd)" in queue, CHANGED
    assert "self._pending_data_size += len(cmd)" in queue, CHANGED
    assert "self._transport.writelines(self._pending[:])" in flush, CHANGED
    assert "self._pending = []" in flush and "self._pending_data_size = 0" in flush, CHANGED
    fields = Client()
    assert fields._pending == [] and fields._pending_data_size == 0, CHANGED
    assert fields._transport is None, CHANGED


async def test_a_published_message_leaves_before_the_flusher_runs(nats_url: str) -> None:
    sender, receiver = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        sub = await receiver.subscribe("write-now.check")
        await receiver.flush()
        await sender.publish("write-now.check", b"press")
        assert sender._pending_data_size > 0, CHANGED  # queued, the flusher not yet run
        write_now(sender)
        assert (sender._pending, sender._pending_data_size) == ([], 0), CHANGED
        msg = await sub.next_msg(timeout=5)
        assert msg.data == b"press"
    finally:
        await sender.close()
        await receiver.close()


def test_write_now_leaves_a_closed_client_alone() -> None:
    client = Client()
    client._pending, client._pending_data_size = [b"PUB x 1\r\nx\r\n"], 12
    write_now(client)  # not connected: nothing to write to, and nothing dropped
    assert (client._pending, client._pending_data_size) == ([b"PUB x 1\r\nx\r\n"], 12)
