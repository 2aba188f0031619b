"""From the data, deviations proposed for the client to confirm: a late line, a short line once its
date has passed, a KPI shortfall of a closed month under a service-credit rule — once each."""
from datetime import datetime, timezone
from decimal import Decimal

from backend import db
from backend.operations.ingest import recompute_dirty
from tests.disputes.conftest import RULES, sign
from tests.operations.test_kpis import KPIS

ANA = "ana@lacteos.example"


async def test_late_short_and_kpi_shortfalls_are_proposed_once(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    org = demo["orgs"]["Lácteos del Valle"]
    await sign(owner, rel, {"kpis": KPIS, "penalty_rules": RULES})
    ana = await browser(ANA)
    orders = {"orders": [{"external_id": "PO-1", "ordered_at": "2026-10-01T08:00:00Z", "lines": [
        {"external_id": "PO-1/1", "item_code": "CUP", "qty_ordered": "1000", "unit_price": "0.5",
         "promised_date": "2026-10-10"},
        {"external_id": "PO-1/2", "item_code": "CUP", "qty_ordered": "1000", "unit_price": "0.5",
         "promised_date": "2026-10-12"},
        {"external_id": "PO-1/3", "item_code": "CUP", "qty_ordered": "1000", "unit_price": "0.5",
         "promised_date": "2026-10-14"}]}]}
    deliveries = {"deliveries": [
        {"external_id": "D1", "line_external_id": "PO-1/1", "delivered_at": "2026-10-13T09:00:00Z",
         "qty_delivered": "1000"},  # 3 days late
        {"external_id": "D2", "line_external_id": "PO-1/2", "delivered_at": "2026-10-12T09:00:00Z",
         "qty_delivered": "500"},  # short
        {"external_id": "D3", "line_external_id": "PO-1/3", "delivered_at": "2026-10-14T09:00:00Z",
         "qty_delivered": "1000"}]}  # fine
    invoices = {"invoices": [{"external_id": "I1", "amount": "48000", "issued_on": "2026-10-20",
                              "due_date": "2026-11-20"}]}
    for path, body in (("orders", orders), ("deliveries", deliveries), ("invoices", invoices)):
        assert (await ana.request("POST", f"/api/v1/relationships/{rel}/{path}", json=body)).status_code == 200
    now = datetime(2026, 11, 5, 9, 0, tzinfo=timezone.utc)
    for _ in range(2):  # a second run proposes nothing new
        async with db.tenant_transaction(org):
            await db.raw("INSERT INTO kpi_dirty VALUES ($1, '2026-10-01') ON CONFLICT DO NOTHING", rel)
            await recompute_dirty(rel, now)
    rows = await owner.fetch("SELECT type, subject_ref, status, value, days_late, shortfall_points, waiting_for"
                             " FROM deviation ORDER BY type, subject_ref")
    got = [(r["type"], r["subject_ref"], r["status"], r["value"], r["days_late"], r["shortfall_points"])
           for r in rows]
    # OTIF of October: 1 of 3 lines (PO-1/3) → 33.333… %, 62.666… points below 96 (from the exact
    # counts, to ten decimals: the stored value's 33.3333 would give 62.6667)
    assert got == [
        ("kpi_shortfall", "k1", "proposed", Decimal("48000.00"), None, Decimal("62.6666666667")),
        ("late_delivery", "PO-1/1", "proposed", Decimal("500.00"), 3, None),
        ("short_delivery", "PO-1/2", "proposed", Decimal("500.00"), None, None)]
    assert {r["waiting_for"] for r in rows} == {"client"}
    # the client confirms the shortfall: its service credit is computed by the agreement's rule
    shortfall = await owner.fetchval("SELECT id FROM deviation WHERE type = 'kpi_shortfall'")
    confirmed = await ana.request("POST", f"/api/v1/deviations/{shortfall}/actions",
                                  json={"action": "confirm", "version": 1})
    assert confirmed.status_code == 200
    # 62.666… points × 1 % × 48,000.00 = 30,080.00, capped at 5 % of the period value: 2,400.00
    assert confirmed.json()["penalty"]["computed"] == "2400.00"
