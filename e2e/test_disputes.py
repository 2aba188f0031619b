"""The dispute in two browsers: the client logs a late delivery, the supplier contests it with a
PDF, the client proposes a settlement, the supplier accepts, the ledger shows the settled amount."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from e2e.test_foundation import sign_in
from tests.disputes.conftest import agreement  # noqa: F401  (the signed agreement fixture)

pytestmark = pytest.mark.e2e
RELATIONSHIP = "Yoghurt cups and lids"


async def test_log_contest_settle_in_two_browsers(new_context, agreement, tmp_path):  # noqa: F811
    client = await (await new_context()).new_page()
    supplier = await (await new_context()).new_page()
    await sign_in(client, "ana@lacteos.example")
    await sign_in(supplier, "bram@envases.example")

    # the client logs the deviation from the relationship's Deviations tab
    await client.get_by_role("link", name=RELATIONSHIP).click()
    await client.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Deviations").click()
    await expect(client.get_by_text("No deviation has been logged in this relationship.")).to_be_visible()
    await client.get_by_role("link", name="Log a deviation").click()
    await client.get_by_label("Type").select_option(label="Late delivery")
    await client.get_by_label("Occurred at").fill("2026-11-03T10:00")
    await client.get_by_label("Concerning").select_option(label="An order line")
    await client.get_by_label("Which one").fill("PO-4471 line 2")
    await client.get_by_label("What happened").fill("The truck arrived three days after the promised date.")
    await client.get_by_label("Value of the affected line").fill("12400")
    await client.get_by_label("Days late").fill("3")
    await client.get_by_role("button", name="Log the deviation").click()
    await expect(client.get_by_role("heading", name="D-1 · Late delivery")).to_be_visible()
    await expect(client.locator("#calculation")).to_have_text("3 days × 0.5 % × €12,400.00 = €186.00")
    deviation_url = client.url

    # the supplier finds it waiting on the dashboard and contests it with a PDF
    await supplier.goto("/")
    await supplier.get_by_role("link", name="1 deviation waiting for you").click()
    await supplier.get_by_role("link", name="D-1").click()
    await expect(supplier.locator("#time-left")).to_contain_text("business days left")
    await supplier.locator("summary", has_text="Contest").click()
    await supplier.get_by_label("Why you contest it").fill("The dock refused our slot on the promised day.")
    pdf = tmp_path / "slot-refusal.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    await supplier.locator("#contest-evidence").set_input_files(str(pdf))
    await supplier.locator("#form-contest").get_by_role("button", name="Contest").click()
    await expect(supplier.locator("#status")).to_have_text("Contested")
    await expect(supplier.get_by_role("link", name="slot-refusal.pdf")).to_be_visible()

    # the client sees the evidence and proposes a settlement
    await client.goto(deviation_url)
    await expect(client.get_by_role("link", name="slot-refusal.pdf")).to_be_visible()
    await expect(client.get_by_text("The dock refused our slot on the promised day.")).to_be_visible()
    await client.locator("summary", has_text="Propose a settlement").click()
    await client.get_by_label("Amount (EUR)").fill("100")
    await client.get_by_label("Remedy or terms").fill("Half, as the dock shares the blame.")
    await client.locator("#form-propose_settlement").get_by_role("button", name="Propose a settlement").click()
    await expect(client.locator("#status")).to_have_text("Settlement proposed")

    # the supplier accepts it
    await supplier.goto(deviation_url)
    await expect(supplier.locator("#proposal")).to_contain_text("€100.00")
    await supplier.locator("summary", has_text="Accept the settlement").click()
    await supplier.locator("#form-accept_settlement").get_by_role("button", name="Accept the settlement").click()
    await expect(supplier.locator("#status")).to_have_text("Settled")
    await expect(supplier.locator("#penalty-amount")).to_have_text("€100.00")

    # the ledger of November shows the settled amount on both sides
    for page in (client, supplier):
        await page.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Penalties").click()
        await page.goto(page.url.split("?")[0] + "?period=2026-11")
        await expect(page.locator("#total-confirmed")).to_have_text("€100.00")
        await expect(page.locator("#ledger tbody tr")).to_have_count(1)
