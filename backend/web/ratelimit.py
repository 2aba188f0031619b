"""Fixed-window counters in Redis, used to slow down password guessing."""
from __future__ import annotations

from redis.asyncio import Redis


async def hit(redis: Redis, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt; True while the key is still within its limit."""
    full = f"ratelimit:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(full, 0, ex=window, nx=True)  # the window starts with the first attempt
        pipe.incr(full)
        _, count = await pipe.execute()
    return int(count) <= limit


async def clear(redis: Redis, key: str) -> None:
    await redis.delete(f"ratelimit:{key}")
