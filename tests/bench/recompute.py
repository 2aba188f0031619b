"""Benchmark: the incremental KPI recompute after a 1,000-row delivery batch (the month it touched,
and that month's quarter and year), against a hand-written single-statement upsert of the same
rollup on the same data, in the same run.

    .venv/bin/python -m tests.bench.recompute --lines 120000
"""
from __future__ import annotations

import argparse
import asyncio
from datetime import date

import asyncpg

from backend import db
from backend.operations import kpis
from tests.bench.harness import bench_database, timed
from tests.bench.rollup import HAND_ROLLUP, generate


async def main(lines: int, repeat: int) -> None:
    async with bench_database("pacto_bench_recompute") as bench:
        owner = await asyncpg.connect(bench.admin_url)
        rel, org = await owner.fetchrow("SELECT id, client_org FROM relationship WHERE name = 'Yoghurt cups and lids'")
        await generate(owner, [rel], lines)
        # the batch: 1,000 deliveries of June corrected (a rejected unit each)
        await owner.execute(
            "UPDATE delivery SET qty_rejected = qty_rejected + 1 WHERE id IN (SELECT d.id FROM delivery d"
            " JOIN order_line l ON l.id = d.order_line WHERE l.relationship = $1 AND l.promised_date >= '2026-06-01'"
            " AND l.promised_date < '2026-07-01' LIMIT 1000)", rel)
        month = date(2026, 6, 1)
        await db.configure(bench.app_url)

        async def incremental():
            async with db.tenant_transaction(org):
                await kpis.recompute(rel, [month])

        async def hand():
            await owner.execute(HAND_ROLLUP, [rel], date(2026, 1, 1), date(2027, 1, 1))

        mine = await timed(incremental, repeat)
        ceiling = await timed(hand, repeat)
        month_only = await timed(lambda: owner.execute(HAND_ROLLUP, [rel], month, date(2026, 7, 1)), repeat)
        await owner.close()
        print(f"\n{lines:,} order lines over 2026 in one relationship; recompute after a 1,000-row batch in June")
        print(f"{'measure':58} {'median ms':>10} {'p95 ms':>8} {'ratio':>7}")
        print(f"{'incremental recompute: June, Q2, 2026, every KPI family':58} {mine[0]:10.1f} {mine[1]:8.1f} "
              f"{mine[0] / ceiling[0]:7.2f}")
        print(f"{'hand-written single-statement upsert, same rollup (ceiling)':58} {ceiling[0]:10.1f} "
              f"{ceiling[1]:8.1f} {1:7.2f}")
        print(f"{'  for scale: the same statement for June alone':58} {month_only[0]:10.1f} {month_only[1]:8.1f}")
        print("target: within 2x of the ceiling (the year's value needs the year's lines: an order counts once"
              " in each period)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=120_000)
    parser.add_argument("--repeat", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.lines, options.repeat))
