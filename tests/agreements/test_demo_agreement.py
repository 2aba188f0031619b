"""The demo's signed agreement is valid content whose hash both signatures carry."""
import json

from backend import demo as demo_data
from backend.agreements.sections import BY_KEY, clean_row, content_hash


async def test_demo_agreement_is_signed_valid_and_seeded_once(demo, database, owner, app, browser):
    assert await demo_data.seed_agreement(database.admin_url) is True
    assert await demo_data.seed_agreement(database.admin_url) is False
    version = await owner.fetchrow("SELECT * FROM agreement_version")
    content = json.loads(version["content"])
    recomputed = content_hash(str(version["relationship"]), 1, version["effective_date"].isoformat(), content)
    signatures = await owner.fetch("SELECT content_hash FROM agreement_signature")
    assert len(signatures) == 2 and {s["content_hash"] for s in signatures} == {recomputed, version["content_hash"]}
    contacts = {str(r["id"]): r["side"] for r in await owner.fetch("SELECT id, side FROM contact")}
    for key, rows in content.items():  # every row passes the same validation as the pages'
        for row in rows if isinstance(rows, list) else [rows]:
            raw = {k: "" if v is None else str(v) for k, v in row.items()}
            assert clean_row(BY_KEY[key], raw, contacts)[1] == {}, (key, row)
    ana = await browser("ana@lacteos.example")
    api = (await ana.get(f"/api/v1/relationships/{version['relationship']}/agreement?at=2026-06-01")).json()
    assert api["number"] == 1 and len(api["content"]["kpis"]) == 4


async def test_demo_disputes_are_made_by_the_real_actions_once(demo, database, owner, app, browser):
    assert await demo_data.seed_disputes(database.admin_url) is False  # no signed agreement yet
    await demo_data.seed_agreement(database.admin_url)
    assert await demo_data.seed_disputes(database.admin_url) is True
    assert await demo_data.seed_disputes(database.admin_url) is False
    rows = await owner.fetch("SELECT number, status, penalty_status FROM deviation ORDER BY number")
    assert [(r["status"], r["penalty_status"]) for r in rows] == [
        ("accepted", "confirmed"), ("open", "none"), ("contested", "pending"), ("open", "none")]
    assert await owner.fetchval("SELECT count(*) FROM audit_entry WHERE action LIKE 'deviation.%'") == 6
    ana = await browser("ana@lacteos.example")
    relationship = await owner.fetchval("SELECT relationship FROM deviation LIMIT 1")
    ledger = (await ana.get(f"/api/v1/relationships/{relationship}/penalties?period=2026-10")).json()
    # the first two late deliveries of a month are free under the demo's rule
    assert ledger["lines"][0]["calculation"].endswith("incident 1 of 2 free in the period: 0")
    assert ledger["invoiced_value"] == "152000.00"


async def test_demo_operations_give_the_scorecard_a_measured_year_once(demo, database, owner, app, browser):
    from datetime import datetime, timezone

    now = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
    assert await demo_data.seed_operations(database.admin_url, now) is False  # no signed agreement yet
    await demo_data.seed_agreement(database.admin_url)
    assert await demo_data.seed_operations(database.admin_url, now) is True
    assert await demo_data.seed_operations(database.admin_url, now) is False
    months = await owner.fetch("SELECT period_start, value, frozen_at IS NOT NULL AS closed FROM kpi_value"
                               " WHERE metric = 'otif' AND period_kind = 'month' ORDER BY period_start")
    assert [str(m["period_start"]) for m in months] == [f"{y}-{m:02d}-01" for y, m in
                                                         [(2025, 12), *((2026, k) for k in range(1, 12))]]
    assert all(m["value"] is not None for m in months)
    assert [m["closed"] for m in months] == [True] * 11 + [False]  # up to October (closed 10 days after)
    # rows the ingestion would accept: never more rejected than delivered
    assert await owner.fetchval("SELECT count(*) FROM delivery WHERE qty_rejected > qty_delivered") == 0
    assert await owner.fetchval("SELECT count(*) FROM delivery WHERE delivered_at > $1", now) == 0
    assert await owner.fetchval("SELECT count(*) FROM invoice WHERE issued_on > $1", now.date()) == 0
    ana = await browser("ana@lacteos.example")
    relationship = await owner.fetchval("SELECT relationship FROM kpi_value LIMIT 1")
    page = await ana.get(f"/relationships/{relationship}/scorecard?period=2026-11")
    assert page.status_code == 200 and page.text.count("no data") == 0
    assert await owner.fetchval("SELECT count(*) FROM deviation WHERE source = 'worker'") > 0  # proposed from the data



async def test_demo_operations_seed_on_any_day_of_the_month(demo, database, owner):
    """Late deliveries never land after today, whatever today is (they were proposed as deviations
    "in the future", which are refused, and the seed failed on some days)."""
    from datetime import datetime, timezone

    await demo_data.seed_agreement(database.admin_url)
    assert await demo_data.seed_operations(database.admin_url, datetime(2026, 11, 10, 9, tzinfo=timezone.utc))
