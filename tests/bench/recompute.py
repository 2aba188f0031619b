"""Benchmark: the incremental KPI recompute after a 1,000-row delivery batch (the month it touched,
and that month's quarter and year), against a hand-written single-statement upsert of the month's
delivery rollup on the same data, in the same run.

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

HAND = """
WITH d AS (
  SELECT d.order_line, sum(d.qty_delivered - d.qty_rejected) AS accepted, max(d.delivered_at) AS last_at
  FROM delivery d JOIN order_line l ON l.id = d.order_line
  WHERE l.relationship = $1 AND l.promised_date >= $2 AND l.promised_date < $3 GROUP BY d.order_line
), j AS (
  SELECT l.id, coalesce(d.accepted, 0) >= l.qty_ordered * 0.98 AS in_full,
         coalesce((d.last_at AT TIME ZONE 'Europe/Madrid')::date BETWEEN l.promised_date - 1 AND l.promised_date,
                  false) AS on_time
  FROM order_line l LEFT JOIN d ON d.order_line = l.id
  WHERE l.relationship = $1 AND l.promised_date >= $2 AND l.promised_date < $3
)
INSERT INTO kpi_value (id, relationship, metric, period_kind, period_start, numerator, denominator, value, lines,
                       computed_at)
SELECT gen_random_uuid(), $1, 'hand_otif', 'month', $2, count(*) FILTER (WHERE on_time AND in_full), count(*),
       100.0 * count(*) FILTER (WHERE on_time AND in_full) / nullif(count(*), 0), count(*), now() FROM j
ON CONFLICT (relationship, metric, period_kind, period_start) DO UPDATE SET numerator = EXCLUDED.numerator,
  denominator = EXCLUDED.denominator, value = EXCLUDED.value, computed_at = EXCLUDED.computed_at
"""


async def main(lines: int, repeat: int) -> None:
    async with bench_database("pacto_bench_recompute") as bench:
        owner = await asyncpg.connect(bench.admin_url)
        rel, org = await owner.fetchrow("SELECT id, client_org FROM relationship WHERE name = 'Yoghurt cups and lids'")
        await owner.execute(
            "INSERT INTO purchase_order (id, relationship, external_id, ordered_at, updated_at)"
            " SELECT gen_random_uuid(), $1, 'PO-' || g, timestamptz '2026-01-01', now()"
            " FROM generate_series(0, $2 / 10 - 1) g", rel, lines)
        await owner.execute(
            "INSERT INTO order_line (id, relationship, purchase_order, external_id, item_code, qty_ordered,"
            " promised_date, location, updated_at) SELECT gen_random_uuid(), $1, o.id, 'L-' || g, 'CUP', 100,"
            " date '2026-01-01' + (g % 365), '', now() FROM generate_series(0, $2 - 1) g"
            " JOIN purchase_order o ON o.relationship = $1 AND o.external_id = 'PO-' || (g / 10)", rel, lines)
        await owner.execute(
            "INSERT INTO delivery (id, relationship, order_line, external_id, delivered_at, qty_delivered,"
            " qty_rejected, updated_at) SELECT gen_random_uuid(), $1, l.id, 'D-' || l.external_id,"
            " l.promised_date + time '09:00' - (random() * 3)::int * interval '1 day', 100, 0, now()"
            " FROM order_line l WHERE l.relationship = $1", rel)
        await owner.execute("ANALYZE")
        month = date(2026, 6, 1)
        await db.configure(bench.app_url)

        async def incremental():
            async with db.tenant_transaction(org):
                await kpis.recompute(rel, [month])

        async def month_only():
            async with db.tenant_transaction(org):
                start, end = kpis.period_range("month", month)
                await kpis.compute(rel, "month", start, end, "Europe/Madrid", kpis.Tolerances(1, 0, 0), month)

        mine = await timed(incremental, repeat)
        month_family = await timed(month_only, repeat)
        hand = await timed(lambda: owner.execute(HAND, rel, month, date(2026, 7, 1)), repeat)
        await owner.close()
        print(f"\n{lines:,} order lines over a year, one delivery each; recompute after a batch in June")
        print(f"{'measure':52} {'median ms':>10} {'p95 ms':>8} {'ratio':>7}")
        print(f"{'incremental recompute (month + quarter + year)':52} {mine[0]:10.1f} {mine[1]:8.1f} "
              f"{mine[0] / hand[0]:7.1f}")
        print(f"{'the month alone, every KPI family':52} {month_family[0]:10.1f} {month_family[1]:8.1f} "
              f"{month_family[0] / hand[0]:7.1f}")
        print(f"{'hand-written single-statement upsert (ceiling)':52} {hand[0]:10.1f} {hand[1]:8.1f} {1:7.1f}")
        print("target: within 2x of the hand-written statement")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=120_000)
    parser.add_argument("--repeat", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.lines, options.repeat))
