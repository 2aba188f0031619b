"""In a real browser: the client walks the price schedule (the timeline chart, each year's price,
the calculator answered in place by htmx), the supplier reports a commitment with evidence and
the client confirms it; then a quarterly review: pack, minutes, an action item, the printable pack."""
from __future__ import annotations

import pytest
from playwright.async_api import expect

from e2e.test_foundation import sign_in
from tests.disputes.conftest import sign
from tests.disputes.test_evidence import PDF
from tests.pricing.test_schedule import CONTENT
from tests.pricing.test_year_end import IMPROVEMENTS
from tests.reviews.test_reviews import CONTENT as REVIEW_TERMS

pytestmark = pytest.mark.e2e


async def test_schedule_then_a_review(new_context, demo, owner, tmp_path):
    relationship = demo["relationships"]["Yoghurt cups and lids"]
    await owner.execute("UPDATE relationship SET start_date = '2025-01-01' WHERE id = $1", relationship)
    await sign(owner, relationship, CONTENT | REVIEW_TERMS | {"improvements": IMPROVEMENTS}, effective="2025-01-01")
    client = await (await new_context()).new_page()
    await sign_in(client, "ana@lacteos.example")
    await client.get_by_role("link", name="Yoghurt cups and lids").click()
    await client.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Prices").click()
    chart = client.locator("#schedule-chart")
    await expect(chart).to_be_visible()
    await expect(chart.locator("polyline")).to_have_count(1)
    await expect(client.locator("#year-2")).to_contain_text("10.3000")
    await expect(client.locator("#year-3")).to_contain_text("conditional")

    # the calculator answers in place (htmx), keyboard only
    await client.get_by_label("Date").fill("2026-03-01")
    await client.get_by_label("Annual quantity (optional)").fill("1200")
    await client.get_by_label("Annual quantity (optional)").press("Enter")
    await expect(client.locator("#quote")).to_contain_text("9.7850 EUR per unit")
    await expect(client.locator("#quote")).to_contain_text("€11,742.00")

    supplier = await (await new_context()).new_page()
    await sign_in(supplier, "bram@envases.example")
    base = client.url.split("/relationships/")[0]
    await supplier.goto(f"{base}/relationships/{relationship}/prices")
    await supplier.locator("#year-2").get_by_text("Report with evidence").click()
    await supplier.locator("#year-2").get_by_label("Achieved").fill("2.5")
    study = tmp_path / "cost-study.pdf"
    study.write_bytes(PDF)
    await supplier.locator("#year-2").get_by_label("Evidence files").set_input_files(str(study))
    await supplier.locator("#year-2").get_by_label("Evidence reference").fill("Controllers' report Q3")
    await supplier.locator("#year-2").get_by_role("button", name="Send the report").click()
    await expect(supplier.locator("#year-2")).to_contain_text("reported, awaiting confirmation")
    await expect(supplier.locator("#year-2").get_by_role("link", name="cost-study.pdf")).to_be_visible()
    await client.reload()
    await client.locator("#year-2").get_by_role("button", name="Confirm").click()
    await expect(client.locator("#year-2")).to_contain_text("met")

    # a review on the cadence: prepare the pack, write the minutes, add an action item, print
    await client.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Reviews").click()
    await client.locator("#reviews tr", has_text="Oct 1, 2026").get_by_role("button", name="Prepare the pack").click()
    await expect(client.get_by_role("heading", name="Review of Oct 1, 2026")).to_be_visible()
    await client.get_by_label("Attendees (one per line: name, company)").fill("Ana Martín\nBram de Vries")
    await client.get_by_label("Decisions").fill("Keep the Tuesday slot.")
    await client.get_by_role("button", name="Save the minutes").click()
    await expect(client.locator("#minutes")).to_contain_text("held")
    await client.get_by_label("Action *", exact=True).fill("Send the pallet study")
    await client.get_by_label("Owner").select_option(label="Bram de Vries (supplier)")
    await client.get_by_label("Due date").fill("2026-12-15")
    await client.get_by_role("button", name="Add the action item").click()
    await expect(client.locator("#actions tbody tr")).to_have_count(1)
    await client.get_by_role("link", name="Printable pack").click()
    await expect(client.locator("body.print")).to_contain_text("Send the pallet study")
    await expect(client.locator("body.print")).to_contain_text("Keep the Tuesday slot.")
