"""Benchmark: the deviations list and the scorecard under 10 and 50 concurrent clients, served by
uvicorn with 2 worker processes, against a bare page of the same rows (tests/bench/bare.py) served
the same way, in the same run.

    .venv/bin/python -m tests.bench.pages --seconds 10
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time

import asyncpg
import httpx

from backend import runtime
from tests.bench.harness import ROOT, bench_database

DEVIATIONS = """
INSERT INTO deviation (id, relationship, number, type, occurred_at, period, description, status, waiting_for,
                       created_at, updated_at)
SELECT gen_random_uuid(), $1, 1000 + g, 'late_delivery', timestamptz '2025-01-01' + g * interval '17 minutes',
       '2025-01', 'bulk', 'accepted', '', now(), now() FROM generate_series(0, 49999) g
"""


def serve(argv: list[str], env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "uvicorn", *argv, "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "2", "--log-level", "warning"], env=env, cwd=ROOT)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def load(url: str, clients: int, seconds: float, headers: dict) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) with `clients` connections asking in a loop."""
    samples: list[float] = []
    stop = time.perf_counter() + seconds

    async def one() -> None:
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                response = await client.get(url)
                assert response.status_code == 200, response.status_code
                samples.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    samples.sort()
    return len(samples) / elapsed, samples[len(samples) // 2], samples[max(int(len(samples) * 0.99) - 1, 0)]


async def main(seconds: float) -> None:
    async with bench_database("pacto_bench_pages") as bench:
        owner = await asyncpg.connect(bench.admin_url)
        rel, org = await owner.fetchrow("SELECT id, client_org FROM relationship WHERE name = 'Yoghurt cups and lids'")
        await owner.execute(DEVIATIONS, rel)
        await owner.execute("ANALYZE")
        await owner.close()
        env = dict(os.environ, APP_DATABASE_URL=bench.app_url, REDIS_URL=bench.redis_url,
                   SESSION_COOKIE_SECURE="false", LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
        app_port, bare_port = runtime.free_port(), runtime.free_port()
        processes = [serve(["--factory", "backend.app:create_app"], env, app_port),
                     serve(["tests.bench.bare:app"], env, bare_port)]
        try:
            await wait_up(f"http://127.0.0.1:{app_port}/healthz")
            await wait_up(f"http://127.0.0.1:{bare_port}/?rel={rel}&org={org}")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app_port}") as client:
                page = await client.get("/login")
                token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
                await client.post("/login", data={"email": "ana@lacteos.example", "password": "pacto-demo"},
                                  headers={"x-csrftoken": token})
                cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            targets = [
                ("deviations list", f"http://127.0.0.1:{app_port}/relationships/{rel}/deviations", {"cookie": cookie}),
                ("scorecard", f"http://127.0.0.1:{app_port}/relationships/{rel}/scorecard", {"cookie": cookie}),
                ("bare page (ceiling)", f"http://127.0.0.1:{bare_port}/?rel={rel}&org={org}", {}),
            ]
            results = {}
            for clients in (10, 50):
                for name, url, headers in targets:
                    await load(url, clients, 1.0, headers)  # warm up
                    results[(name, clients)] = await load(url, clients, seconds, headers)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
        print(f"\n2 server processes each; 50,000 deviations in the relationship; {seconds:.0f} s per run")
        print(f"{'page':22} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'of bare':>8}")
        for (name, clients), (rate, p50, p99) in results.items():
            bare = results[("bare page (ceiling)", clients)][0]
            print(f"{name:22} {clients:7} {rate:8.1f} {p50:8.1f} {p99:8.1f} {rate / bare:8.2f}")
        print("targets: at least 0.60 of the bare page's rate; p99 at most 100 ms at 10 clients")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    asyncio.run(main(parser.parse_args().seconds))
