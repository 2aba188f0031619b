"""arq worker settings: `pacto worker` runs them."""
from __future__ import annotations

from arq.connections import RedisSettings

from backend import db, jobs
from backend.config import settings
from workers.mail import send_email

FUNCTIONS = [send_email]


async def startup(ctx) -> None:
    ctx["owns_db"] = await db.configure(ctx["database_url"])
    if jobs.redis() is None:
        jobs.set_pool(ctx["redis"])


async def shutdown(ctx) -> None:
    if ctx.get("owns_db"):
        await db.close()


def worker_settings(database_url: str, redis_url: str) -> dict:
    """Keyword arguments for arq.Worker; also used by tests that run a real worker in-process."""

    async def on_startup(ctx) -> None:
        ctx["database_url"] = database_url
        await startup(ctx)

    return {
        "functions": FUNCTIONS,
        "redis_settings": RedisSettings.from_dsn(redis_url),
        "on_startup": on_startup,
        "on_shutdown": shutdown,
        "poll_delay": 0.05,  # arq's 0.5 s default delays every job
        "max_tries": 5,
        "job_timeout": 300,
        "handle_signals": True,
    }


class WorkerSettings:
    """For `arq workers.main.WorkerSettings` with APP_DATABASE_URL and REDIS_URL set."""

    functions = FUNCTIONS
    poll_delay = 0.05
    max_tries = 5

    redis_settings = RedisSettings.from_dsn(settings().redis_url or "redis://127.0.0.1:6379/0")

    @staticmethod
    async def on_startup(ctx) -> None:
        ctx["database_url"] = settings().app_database_url
        await startup(ctx)

    on_shutdown = shutdown
