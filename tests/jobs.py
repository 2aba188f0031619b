"""Run one job on a real arq worker in burst mode, as of a moment the test chooses."""
import asyncio

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker

from workers.main import worker_settings


async def run_job(servers, database, name: str, when, workers: int = 1) -> None:
    """Enqueue `name(when.isoformat())` once per worker and let `workers` real workers run it; no job may fail."""
    pool = await create_pool(RedisSettings.from_dsn(servers.redis_url))
    running = [Worker(**(worker_settings(database.app_url, servers.redis_url)
                         | {"burst": True, "handle_signals": False, "cron_jobs": []})) for _ in range(workers)]
    for i in range(workers):
        await pool.enqueue_job(name, when.isoformat(), _job_id=f"{name}-{when.isoformat()}-{i}")
    await asyncio.gather(*(worker.async_run() for worker in running))  # at the same time
    failed = sum(w.jobs_failed for w in running)
    for worker in running:
        await worker.close()
    await pool.aclose()
    assert failed == 0
