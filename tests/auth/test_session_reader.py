"""Sessions read on connections kept aside from the Redis client's pool: the right answer for every
read, even after a read was cut short, and never more connections kept than asked."""
import asyncio

import pytest

from backend.web import sessions


async def test_a_read_cut_short_never_leaves_its_answer_for_the_next(redis):
    reader = sessions.Reader(redis, keep=2)
    await redis.set("session:a", "A")
    await redis.set("session:b", "B")
    assert await reader.get("session:a") == b"A"
    assert await reader.get("session:none") is None
    # a request cancelled while its GET waits for the answer (its client went away)
    cut = asyncio.create_task(reader.get("session:a"))
    await asyncio.sleep(0)  # the GET is sent; its answer is not read yet
    cut.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cut
    # the next read gets its own answer, not the one left on that connection
    for _ in range(3):
        assert await reader.get("session:b") == b"B"
    await reader.close()


async def test_many_reads_at_once_each_get_their_own_answer_and_few_connections_are_kept(redis):
    reader = sessions.Reader(redis, keep=3)
    for i in range(20):
        await redis.set(f"session:{i}", str(i))
    answers = await asyncio.gather(*(reader.get(f"session:{i % 20}") for i in range(200)))
    assert answers == [str(i % 20).encode() for i in range(200)]
    assert len(reader._idle) == 3
    await reader.close()
    assert reader._idle == []
    # closed, it still reads (on new connections)
    assert await reader.get("session:7") == b"7"
    await reader.close()
