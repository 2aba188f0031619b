"""Benchmark: ingesting delivery rows through the JSON API and through a CSV import, against a bare
COPY of the same rows into the same table, in the same run.

    .venv/bin/python -m tests.bench.ingest --rows 1000000
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import time
from datetime import datetime, timedelta, timezone

import asyncpg

from tests.bench.harness import bench_database, signed_in  # noqa: I001

LINES_PER_ORDER = 10


async def main(rows: int) -> None:
    async with bench_database("pacto_bench_ingest") as bench:
        owner = await asyncpg.connect(bench.admin_url)
        rel = await owner.fetchval("SELECT id FROM relationship WHERE name = 'Yoghurt cups and lids'")
        lines = rows // 4
        base = datetime(2026, 1, 1, tzinfo=timezone.utc)
        # the lines the deliveries refer to (not timed)
        await owner.execute(
            "INSERT INTO purchase_order (id, relationship, external_id, ordered_at, updated_at)"
            " SELECT gen_random_uuid(), $1, 'PO-' || g, $2, now() FROM generate_series(0, $3 - 1) g",
            rel, base, lines // LINES_PER_ORDER)
        await owner.execute(
            "INSERT INTO order_line (id, relationship, purchase_order, external_id, item_code, qty_ordered,"
            " promised_date, location, updated_at) SELECT gen_random_uuid(), $1, o.id, 'L-' || g, 'CUP', 100,"
            " date '2026-01-05' + (g % 300), '', now() FROM generate_series(0, $2 - 1) g"
            " JOIN purchase_order o ON o.relationship = $1 AND o.external_id = 'PO-' || (g / $3)",
            rel, lines, LINES_PER_ORDER)
        deliveries = [{"external_id": f"D-{i}", "line_external_id": f"L-{i % lines}",
                       "delivered_at": (base + timedelta(minutes=i % 500000)).isoformat(),
                       "qty_delivered": "25", "qty_rejected": "0"} for i in range(rows)]
        body = json.dumps({"deliveries": deliveries}).encode()
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(deliveries[0]))
        writer.writeheader()
        writer.writerows(deliveries)
        csv_bytes = out.getvalue().encode()
        results = {}

        async with signed_in(bench) as client:
            began = time.perf_counter()
            response = await client.post(f"/api/v1/relationships/{rel}/deliveries", content=body,
                                         headers={"content-type": "application/json"})
            results["JSON API"] = time.perf_counter() - began
            assert response.status_code == 200, response.text[:500]
            await owner.execute("TRUNCATE delivery")

            from backend.operations import imports

            began = time.perf_counter()
            upload = await client.post(f"/relationships/{rel}/data", data={"kind": "deliveries"},
                                       files={"file": ("deliveries.csv", csv_bytes, "text/csv")})
            job_id = upload.headers["location"].rsplit("/", 1)[1]
            mapping = {f"map_{k}": k for k in deliveries[0]}
            started = await client.post(f"/imports/{job_id}/start", data=mapping)
            assert started.status_code == 302, started.text[:500]
            outcome = await imports.run(__import__("uuid").UUID(job_id))  # what the worker runs
            results["CSV import"] = time.perf_counter() - began
            assert outcome == "done", outcome
            assert await owner.fetchval("SELECT count(*) FROM delivery") == rows
            await owner.execute("TRUNCATE delivery")

        ids = {r["external_id"]: r["id"] for r in await owner.fetch(
            "SELECT external_id, id FROM order_line WHERE relationship = $1", rel)}
        # the ids from the table's default, as the app's INSERT makes them (time-ordered)
        records = [(rel, ids[d["line_external_id"]], d["external_id"],
                    datetime.fromisoformat(d["delivered_at"]), 25, 0, base) for d in deliveries]
        began = time.perf_counter()
        await owner.copy_records_to_table(
            "delivery", records=records, columns=["relationship", "order_line", "external_id", "delivered_at",
                                                  "qty_delivered", "qty_rejected", "updated_at"])
        results["bare COPY (ceiling)"] = time.perf_counter() - began
        await owner.close()

        ceiling = rows / results["bare COPY (ceiling)"]
        print(f"\n{rows:,} delivery rows, one relationship, {lines:,} order lines")
        print(f"{'path':24} {'seconds':>8} {'rows/s':>10} {'of COPY':>8}")
        for name, seconds in results.items():
            rate = rows / seconds
            print(f"{name:24} {seconds:8.2f} {rate:10,.0f} {rate / ceiling:8.2f}")
        print("targets: at least 50,000 rows/s and at least 0.33 of the bare COPY rate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().rows))
