"""arq worker settings: `pacto worker` runs them."""
from __future__ import annotations

from datetime import timezone

from arq import cron, func
from arq.connections import RedisSettings

from backend import db, jobs
from backend.config import settings
from workers.agreements import commitments_overdue, review_reminders
from workers.disputes import dispute_deadlines
from workers.kpis import recompute_kpis, reconcile_kpis, run_import
from workers.mail import send_email
from workers.pricing import price_year_end, review_action_reminders

# recompute_kpis keeps no result: its job id (one per relationship) must be free again once it ran.
FUNCTIONS = [send_email, review_reminders, commitments_overdue, dispute_deadlines,
             func(recompute_kpis, keep_result=0), reconcile_kpis, run_import, price_year_end,
             review_action_reminders]
# Cron times are read in UTC (said explicitly: arq would otherwise use the machine's zone); each
# job works out "today" in every relationship's own time zone.
CRON_JOBS = [
    cron(review_reminders, minute={7, 37}, run_at_startup=False, unique=True),
    cron(commitments_overdue, minute={12, 42}, run_at_startup=False, unique=True),
    cron(dispute_deadlines, second=30, run_at_startup=False, unique=True),  # every minute
    cron(reconcile_kpis, hour={2}, minute={15}, run_at_startup=False, unique=True),  # nightly, 02:15 UTC
    # hourly: a contract year begins at midnight in the relationship's own time zone
    cron(price_year_end, minute={50}, run_at_startup=False, unique=True),
    # hourly; each owner is reminded once a day (the action item keeps the day of its last reminder)
    cron(review_action_reminders, minute={20}, run_at_startup=False, unique=True),
]


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
        "cron_jobs": CRON_JOBS,
        "timezone": timezone.utc,
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
    cron_jobs = CRON_JOBS
    timezone = timezone.utc
    poll_delay = 0.05
    max_tries = 5

    redis_settings = RedisSettings.from_dsn(settings().redis_url or "redis://127.0.0.1:6379/0")

    @staticmethod
    async def on_startup(ctx) -> None:
        ctx["database_url"] = settings().app_database_url
        await startup(ctx)

    on_shutdown = shutdown
