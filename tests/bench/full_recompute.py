"""Benchmark: the full KPI recompute (what the nightly job runs) over many relationships of one
client company, against the equivalent single hand-written statement on the same data, in the same
run.

    .venv/bin/python -m tests.bench.full_recompute --relationships 1000 --lines 10000
"""
from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date

import asyncpg

from backend import db
from backend.operations import kpis
from tests.bench.harness import bench_database, timed
from tests.bench.rollup import HAND_ROLLUP, generate


async def main(relationships: int, lines: int, repeat: int) -> None:
    async with bench_database("pacto_bench_full") as bench:
        owner = await asyncpg.connect(bench.admin_url)
        org = await owner.fetchval("SELECT client_org FROM relationship WHERE name = 'Yoghurt cups and lids'")
        began = time.perf_counter()
        suppliers = await owner.fetch(
            "INSERT INTO organization (id, name, default_locale, currency, time_zone, created_at)"
            " SELECT gen_random_uuid(), 'Supplier ' || g, 'en', 'EUR', 'Europe/Madrid', now()"
            " FROM generate_series(1, $1) g RETURNING id", relationships)
        ids = [r["id"] for r in await owner.fetch(
            "INSERT INTO relationship (id, client_org, supplier_org, name, status, time_zone, currency, start_date,"
            " version, created_at) SELECT gen_random_uuid(), $1, s, 'Bench ' || s, 'active',"
            " (ARRAY['Europe/Madrid', 'America/Mexico_City', 'Asia/Tokyo'])[1 + abs(hashtext(s::text)) % 3], 'EUR',"
            " date '2025-01-01', 1, now() FROM unnest($2::uuid[]) s RETURNING id", org, [r["id"] for r in suppliers])]
        await generate(owner, ids, lines)
        print(f"data: {relationships * lines:,} lines in {time.perf_counter() - began:.0f} s", flush=True)
        await db.configure(bench.app_url)
        year = kpis.months_of(date(2026, 1, 1), date(2027, 1, 1))

        async def full():
            async with db.tenant_transaction(org):
                await kpis.recompute_many({r: year for r in ids})

        async def hand():
            async with owner.transaction():
                await owner.execute("SET LOCAL work_mem = '64MB'")
                await owner.execute(HAND_ROLLUP, ids, date(2026, 1, 1), date(2027, 1, 1))

        mine = await timed(full, repeat)
        ceiling = await timed(hand, repeat)
        await owner.close()
        print(f"\n{relationships * lines:,} order lines over 2026 across {relationships:,} relationships of one client")
        print(f"{'measure':58} {'median s':>9} {'p95 s':>7} {'ratio':>7}")
        print(f"{'full recompute: every month, quarter and year, every family':58} {mine[0] / 1000:9.2f} "
              f"{mine[1] / 1000:7.2f} {mine[0] / ceiling[0]:7.2f}")
        print(f"{'hand-written single statement, same rollup (ceiling)':58} {ceiling[0] / 1000:9.2f} "
              f"{ceiling[1] / 1000:7.2f} {1:7.2f}")
        print("target: within 2x of the ceiling")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relationships", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=10_000, help="order lines per relationship")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.relationships, options.lines, options.repeat))
