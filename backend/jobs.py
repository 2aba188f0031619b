"""The arq queue the web processes enqueue into (set up at startup)."""
from __future__ import annotations

from arq.connections import ArqRedis

_pool: ArqRedis | None = None


def set_pool(pool: ArqRedis | None) -> None:
    global _pool
    _pool = pool


def redis() -> ArqRedis | None:
    """The shared Redis connection (an ArqRedis is a full Redis client)."""
    return _pool


async def enqueue(function: str, *args, _job_id: str | None = None, **kwargs) -> bool:
    """False when a job with this id is already queued or running (arq's deduplication)."""
    if _pool is None:
        raise RuntimeError("job queue not configured")
    return await _pool.enqueue_job(function, *args, _job_id=_job_id, **kwargs) is not None
