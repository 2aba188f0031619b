"""Designing and signing the agreement in two browsers: the supplier drafts and proposes, the
client asks for a change, the supplier amends and proposes again, both authorised signers sign."""
from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, expect

from e2e.test_foundation import sign_in

pytestmark = pytest.mark.e2e
RELATIONSHIP = "Yoghurt cups and lids"


def confirm_next(page: Page, seen: list[str]) -> None:
    def on_dialog(dialog) -> None:
        seen.append(dialog.message)
        asyncio.ensure_future(dialog.accept())

    page.once("dialog", on_dialog)


async def open_agreement(page: Page) -> None:
    await page.goto("/")
    await page.get_by_role("link", name=RELATIONSHIP).click()
    await page.get_by_role("navigation", name="Relationship sections").get_by_role("link", name="Agreement").click()


async def add_kpi(page: Page, weight: str) -> None:
    section = page.locator("#section-kpis")
    await section.locator("summary", has_text="Add a row").click()
    await section.get_by_label("Metric").select_option(label="OTIF %")
    await section.get_by_label("Measured party").select_option(label="Supplier")
    await section.get_by_label("Target").fill("96")
    await section.get_by_label("Warning threshold").fill("93")
    await section.get_by_label("Weight").fill(weight)
    await section.get_by_role("button", name="Add").click()
    await expect(page.locator("#section-kpis tbody tr")).to_have_count(1)


async def test_design_propose_comment_sign_in_two_browsers(new_context):
    supplier = await (await new_context()).new_page()
    client = await (await new_context()).new_page()
    dialogs: list[str] = []
    await sign_in(supplier, "bram@envases.example")
    await sign_in(client, "ana@lacteos.example")

    # the supplier drafts version 1 section by section, without page reloads
    await open_agreement(supplier)
    await supplier.get_by_role("button", name="Start the first draft").click()
    await expect(supplier.get_by_role("heading", name=re.compile("Version 1"))).to_be_visible()
    version_url = supplier.url
    await supplier.evaluate("window.__marker = 1")
    await add_kpi(supplier, "40")
    assert await supplier.evaluate("window.__marker") == 1  # an htmx swap, not a new page
    await supplier.get_by_label("Effective date").fill("2027-01-01")
    await supplier.get_by_role("button", name="Save date").click()
    confirm_next(supplier, dialogs)
    await supplier.get_by_role("button", name="Propose to the other side").click()
    await expect(supplier.get_by_text("Proposed", exact=True)).to_be_visible()

    # the client reads it, comments beside the KPI section, and sends it back
    await client.goto(version_url)
    await expect(client.locator("#section-kpis")).to_contain_text("OTIF %")
    thread = client.locator("#comments-kpis")
    await thread.locator("summary").click()
    await thread.get_by_label("Your comment").fill("OTIF should weigh less than quality.")
    await thread.get_by_role("button", name="Comment").click()
    await expect(client.locator("#comments-kpis")).to_contain_text("OTIF should weigh less than quality.")
    await client.get_by_label("Request changes").fill("A weight of 40 is too much for OTIF alone.")
    await client.get_by_role("button", name="Send back to draft").click()
    await expect(client.get_by_text("Draft", exact=True)).to_be_visible()

    # the supplier reads the comment beside the section, changes the weight inline, proposes again
    await supplier.goto(version_url)
    await expect(supplier.locator("#comments-kpis")).to_contain_text("OTIF should weigh less than quality.")
    section = supplier.locator("#section-kpis")
    await section.get_by_role("link", name="Edit").click()
    await section.get_by_label("Weight").fill("30")
    await section.get_by_role("button", name="Save").click()
    await expect(supplier.locator("#section-kpis tbody")).to_contain_text("30")
    confirm_next(supplier, dialogs)
    await supplier.get_by_role("button", name="Propose to the other side").click()
    await expect(supplier.get_by_text("Proposed", exact=True)).to_be_visible()

    # both authorised signers sign
    await client.goto(version_url)
    confirm_next(client, dialogs)
    await client.get_by_role("button", name="Sign for Lácteos del Valle").click()
    await expect(client.get_by_text(re.compile("signed by Ana Martín"))).to_be_visible()
    await supplier.goto(version_url)
    confirm_next(supplier, dialogs)
    await supplier.get_by_role("button", name="Sign for Envases Norte").click()
    await expect(supplier.get_by_text("Signed", exact=True)).to_be_visible()
    await expect(supplier.get_by_role("button", name="Propose to the other side")).to_have_count(0)
    await expect(supplier.locator("#section-kpis").get_by_role("link", name="Edit")).to_have_count(0)
    assert len(dialogs) == 4

    # the printable view shows both signatures and a hash that matches the content
    await client.goto(version_url + "/print")
    await expect(client.get_by_text("matches the signed hash")).to_be_visible()
    await expect(client.locator(".signatures")).to_contain_text("Ana Martín")
    await expect(client.locator(".signatures")).to_contain_text("Bram de Vries")
