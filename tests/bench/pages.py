"""Benchmark: the deviations list and the scorecard under 10 and 50 concurrent clients, served by
2 uvicorn processes (tests/bench/serve.py), each against a bare page of the same size from the same
query (tests/bench/bare.py) served the same way, in the same run, in interleaved rounds. The
scorecard is also set against the simpler ceiling of earlier runs (its month values only).

    .venv/bin/python -m tests.bench.pages --seconds 10 --rounds 5
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

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

# twelve periods of every KPI the agreement names, for every period kind, up to this month
KPI_VALUES = """
INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator, value, lines,
                       computed_at)
SELECT gen_random_uuid(), $1, m.metric, k.kind, (date_trunc(k.kind, current_date) - k.step * g)::date,
       90 + g % 10, 100, 90 + g % 10, 100, now()
FROM (SELECT DISTINCT jsonb_array_elements(content->'kpis')->>'metric' AS metric FROM agreement_version
      WHERE relationship = $1) m,
     (VALUES ('month', interval '1 month'), ('quarter', interval '3 months'), ('year', interval '1 year')) k(kind, step),
     generate_series(0, 11) g
ON CONFLICT DO NOTHING
"""


def serve(argv: list[str], env: dict, port: int, workers: int = 2) -> list[subprocess.Popen]:
    """`workers` server processes sharing the port (tests/bench/serve.py says why not uvicorn's own)."""
    return [subprocess.Popen([sys.executable, "-m", "tests.bench.serve", "--port", str(port), *argv], env=env, cwd=ROOT)
            for _ in range(workers)]


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


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response off a kept-alive connection; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    fields = {name.strip().lower(): value.strip() for name, _, value in
              (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)}
    if b"content-length" in fields:
        await reader.readexactly(int(fields[b"content-length"]))
    else:  # chunked
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status


async def load(url: str, clients: int, seconds: float, headers: dict, samples: list[float]) -> float:
    """`clients` kept-alive connections asking for `url` in a loop for `seconds`; each answer's
    time in ms goes to `samples`; returns the elapsed seconds. The client is a few lines of raw
    HTTP/1.1 rather than an HTTP library, so that it takes little of the CPU the servers share."""
    parts = urlsplit(url)
    request = (f"GET {parts.path}?{parts.query} HTTP/1.1\r\nhost: {parts.netloc}\r\n"
               + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode()
    stop = time.perf_counter() + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                assert status == 200, status
                samples.append((time.perf_counter() - began) * 1000)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return time.perf_counter() - began


async def measure(targets: list, clients: int, seconds: float, rounds: int) -> dict:
    """Each target in turn, `rounds` times (so that a slower spell of a shared machine falls on
    all of them): {name: (requests per second, p50 ms, p99 ms)}."""
    samples: dict[str, list[float]] = {name: [] for name, _, _ in targets}
    elapsed = dict.fromkeys(samples, 0.0)
    for name, url, headers in targets:
        await load(url, clients, 1.0, headers, [])  # warm up
    for _ in range(rounds):
        for name, url, headers in targets:
            elapsed[name] += await load(url, clients, seconds / rounds, headers, samples[name])
    results = {}
    for name, times in samples.items():
        times.sort()
        results[name] = (len(times) / elapsed[name], times[len(times) // 2],
                         times[max(math.ceil(len(times) * 0.99) - 1, 0)])
    return results


async def main(seconds: float, rounds: int) -> None:
    async with bench_database("pacto_bench_pages") as bench:
        owner = await asyncpg.connect(bench.admin_url)
        rel, org, today = await owner.fetchrow(
            "SELECT id, client_org, (now() AT TIME ZONE time_zone)::date FROM relationship"
            " WHERE name = 'Yoghurt cups and lids'")
        await owner.execute(DEVIATIONS, rel)
        await owner.execute(KPI_VALUES, rel)
        await owner.execute("ANALYZE")
        await owner.close()
        env = dict(os.environ, APP_DATABASE_URL=bench.app_url, REDIS_URL=bench.redis_url,
                   SESSION_COOKIE_SECURE="false", LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
        app_port, bare_port = runtime.free_port(), runtime.free_port()
        processes = serve(["--factory", "backend.app:create_app"], env, app_port) + serve(
            ["tests.bench.bare:app"], env, bare_port)
        try:
            await wait_up(f"http://127.0.0.1:{app_port}/healthz")
            await wait_up(f"http://127.0.0.1:{bare_port}/deviations?rel={rel}&org={org}")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app_port}") as client:
                page = await client.get("/login")
                token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
                await client.post("/login", data={"email": "ana@lacteos.example", "password": "pacto-demo"},
                                  headers={"x-csrftoken": token})
                cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            app, bare = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
            async with httpx.AsyncClient() as client:  # the bare pages weigh what the app's weigh
                pages = {name: await client.get(f"{app}/relationships/{rel}/{name}", headers={"cookie": cookie})
                         for name in ("deviations", "scorecard")}
                assert all(page.status_code == 200 for page in pages.values()), "not signed in"
                sizes = {name: len(page.content) for name, page in pages.items()}
            targets = [
                ("deviations list", f"{app}/relationships/{rel}/deviations", {"cookie": cookie}),
                ("bare deviations list", f"{bare}/deviations?rel={rel}&org={org}&size={sizes['deviations']}", {}),
                ("scorecard", f"{app}/relationships/{rel}/scorecard", {"cookie": cookie}),
                ("bare scorecard", f"{bare}/tiles?rel={rel}&org={org}&size={sizes['scorecard']}"
                                   f"&month={today.replace(day=1)}&today={today}", {}),
                ("bare month values", f"{bare}/scorecard?rel={rel}&org={org}&size={sizes['scorecard']}", {}),
            ]
            results = {clients: await measure(targets, clients, seconds, rounds) for clients in (10, 50)}
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
        print(f"\n2 server processes each; 50,000 deviations in the relationship; {seconds:.0f} s per page and"
              f" client count, in {rounds} interleaved rounds; pages of {sizes['deviations']:,} and"
              f" {sizes['scorecard']:,} bytes")
        print(f"{'page':22} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bare req/s':>10} {'of bare':>8}")
        for clients, by_name in results.items():
            for name, ceiling_name in (("deviations list", "bare deviations list"), ("scorecard", "bare scorecard"),
                                       ("scorecard", "bare month values")):
                rate, p50, p99 = by_name[name]
                ceiling = by_name[ceiling_name][0]
                print(f"{name:22} {clients:7} {rate:8.1f} {p50:8.1f} {p99:8.1f} {ceiling:10.1f} {rate / ceiling:8.2f}"
                      + ("  (against the month values only)" if ceiling_name == "bare month values" else ""))
            for name in ("bare deviations list", "bare scorecard", "bare month values"):
                rate, p50, p99 = by_name[name]
                print(f"{name:22} {clients:7} {rate:8.1f} {p50:8.1f} {p99:8.1f}")
        print("targets: at least 0.60 of the bare page's rate; p99 at most 100 ms at 10 clients")
        print("bare scorecard: the scorecard's own statement; bare month values: a simpler query of the twelve"
              " months' values (the ceiling of earlier runs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.rounds))
