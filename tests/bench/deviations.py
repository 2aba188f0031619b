"""Benchmark: the deviations list at depth, with N deviations in one relationship.

    make bench            (or: .venv/bin/python -m tests.bench.deviations --rows 50000)

Each figure is printed beside a ceiling measured in the same run on the same data — the bare
keyset query as the database owner (no row-level security, no application) — and their ratio,
because absolute times on a shared machine drift. OFFSET paging at the same depth is shown for
contrast.
"""
from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from backend import db
from backend.disputes import queries
from tests.bench.harness import bench_database, signed_in, timed

BULK = """
INSERT INTO deviation (id, relationship, number, type, occurred_at, period, description, status, waiting_for,
                       due_at, created_at, updated_at)
SELECT gen_random_uuid(), $1, 1000 + g, (ARRAY['late_delivery','short_delivery','quality_rejection','other'])[1 + g % 4],
       t, to_char(t AT TIME ZONE 'Europe/Madrid', 'YYYY-MM'), 'bulk ' || g,
       (ARRAY['accepted','open','contested','withdrawn','settled'])[1 + g % 5],
       (ARRAY['','supplier','client','',''])[1 + g % 5], NULL, now(), now()
FROM generate_series(0, $2 - 1) AS g, LATERAL (SELECT timestamptz '2023-01-01' + g * interval '9 minutes' AS t) x
"""
BARE = ("SELECT id, number, type, subject_label, occurred_at, period, severity, status, level, waiting_for, due_at,"
        " paused_at, penalty_status, penalty_amount, penalty_final, currency, source, updated_at, version"
        " FROM deviation WHERE relationship = $1 {extra} ORDER BY occurred_at DESC, id DESC LIMIT 51")


async def main(rows: int, repeat: int) -> None:
    async with bench_database() as bench:
        owner = await asyncpg.connect(bench.admin_url)
        rel = await owner.fetchval("SELECT id FROM relationship WHERE name = 'Yoghurt cups and lids'")
        org = await owner.fetchval("SELECT client_org FROM relationship WHERE id = $1", rel)
        began = time.perf_counter()
        await owner.execute(BULK, rel, rows)
        await owner.execute("ANALYZE deviation")
        print(f"{rows:,} deviations inserted in {time.perf_counter() - began:.1f} s")
        depth = await owner.fetchrow("SELECT occurred_at, id FROM deviation WHERE relationship = $1"
                                     " ORDER BY occurred_at DESC, id DESC OFFSET $2 LIMIT 1", rel, int(rows * 0.8))
        cursor = queries.encode_cursor(depth["occurred_at"], depth["id"])

        await db.configure(bench.app_url)
        results = []

        async def app_query(filters, cur):
            async with db.tenant_transaction(org):
                await queries.page_of(rel, filters, cur)

        for label, filters, cur, extra, args in (
                ("first page", queries.Filters(), None, "", ()),
                (f"page at depth {int(rows * 0.8):,}", queries.Filters(), cursor,
                 "AND (occurred_at, id) < ($2, $3)", (depth["occurred_at"], depth["id"])),
                ("status=contested, at depth", queries.Filters(status="contested"), cursor,
                 "AND status = 'contested' AND (occurred_at, id) < ($2, $3)", (depth["occurred_at"], depth["id"]))):
            mine = await timed(lambda: app_query(filters, cur), repeat)
            bare = await timed(lambda: owner.fetch(BARE.format(extra=extra), rel, *args), repeat)
            results.append((f"SQL {label}", mine, bare))
        offset = await timed(lambda: owner.fetch(BARE.format(extra="").replace("LIMIT 51", f"OFFSET {int(rows * 0.8)}"
                                                                              " LIMIT 51"), rel), repeat)

        async with signed_in(bench) as client:
            for label, url in (("HTTP first page", f"/relationships/{rel}/deviations"),
                               ("HTTP page at depth", f"/relationships/{rel}/deviations?cursor={cursor}")):
                mine = await timed(lambda: client.get(url), repeat)
                page = await client.get(url)
                assert page.status_code == 200 and page.text.count('href="/deviations/') == 50
                bare = await timed(lambda: owner.fetch(BARE.format(extra=""), rel), repeat)
                results.append((label, mine, bare))
        await owner.close()
        await db.close()

        print(f"\n{'measure':40} {'median ms':>10} {'p95 ms':>9} {'ceiling ms':>11} {'ratio':>7}")
        for label, (median, p95), (ceiling, _) in results:
            print(f"{label:40} {median:10.2f} {p95:9.2f} {ceiling:11.2f} {median / ceiling:7.1f}")
        print(f"{'(contrast) bare OFFSET at the same depth':40} {offset[0]:10.2f} {offset[1]:9.2f}")
        print("\nceiling: the bare keyset query as the owner (no RLS, no app); ratio = median / ceiling")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()
    asyncio.run(main(options.rows, options.repeat))
