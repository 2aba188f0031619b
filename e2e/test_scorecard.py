"""Upload a CSV of orders and one of deliveries in the browser, watch the import finish, and see
the scorecard change — the same numbers for the supplier."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from e2e.test_foundation import sign_in
from tests.disputes.conftest import sign
from tests.operations.test_kpis import KPIS

pytestmark = pytest.mark.e2e
ORDERS = """order_external_id,ordered_at,line_external_id,item_code,qty_ordered,promised_date
PO-1,2026-11-01T08:00:00Z,PO-1/1,CUP,10,2026-11-10
PO-1,2026-11-01T08:00:00Z,PO-1/2,CUP,10,2026-11-12
"""
DELIVERIES = """external_id,line_external_id,delivered_at,qty_delivered,qty_rejected
DN-1,PO-1/1,2026-11-10T09:00:00Z,10,0
DN-2,PO-1/2,2026-11-14T09:00:00Z,10,0
"""


async def import_file(page, path, kind_label):
    await page.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Data").click()
    await page.get_by_label("What the file holds").select_option(label=kind_label)
    await page.get_by_label("CSV file").set_input_files(str(path))
    await page.get_by_role("button", name="Upload and map the columns").click()
    await page.get_by_role("button", name="Import").click()  # columns named like the fields: mapped already
    await expect(page.locator("#import-done")).to_be_visible(timeout=15000)


async def test_csv_upload_changes_the_scorecard(new_context, demo, owner, tmp_path):
    relationship = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, relationship, {"kpis": KPIS})
    client = await (await new_context()).new_page()
    await sign_in(client, "ana@lacteos.example")
    await client.get_by_role("link", name="Yoghurt cups and lids").click()
    await client.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Scorecard").click()
    await client.goto(client.url + "?period=2026-11")
    await expect(client.locator("#kpi-otif .tile-value")).to_have_text("no data")

    orders, deliveries = tmp_path / "orders.csv", tmp_path / "deliveries.csv"
    orders.write_text(ORDERS)
    deliveries.write_text(DELIVERIES)
    await import_file(client, orders, "Orders and order lines")
    await import_file(client, deliveries, "Deliveries and receipts")
    await client.get_by_role("link", name="Open the scorecard").click()
    # one line on time, one two days late: OTIF 50 %, red against a 96 % target
    await expect(client.locator("#kpi-otif .tile-value")).to_have_text("50.00 %", timeout=15000)
    await expect(client.locator("#kpi-otif")).to_have_class("card tile tile-red")
    await client.locator("#kpi-otif").get_by_role("link", name="Explain this number").click()
    await expect(client.locator("#lines tbody tr")).to_have_count(2)

    supplier = await (await new_context()).new_page()
    await sign_in(supplier, "bram@envases.example")
    await supplier.goto(client.url.split("/relationships/")[0] + f"/relationships/{relationship}/scorecard?period=2026-11")
    await expect(supplier.locator("#kpi-otif .tile-value")).to_have_text("50.00 %")
