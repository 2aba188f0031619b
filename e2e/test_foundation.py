"""Foundation stories in a real browser: sign-in, dashboard, designated contacts (htmx), validation,
language, sign-out, tenant isolation, CSP, keyboard."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from playwright.async_api import Page, expect

from backend.config import LOCALE_DIR

pytestmark = pytest.mark.e2e

PASSWORD = "pacto-demo"
ANA = "ana@lacteos.example"
OLGA = "olga@otra.example"
ANA_RELATIONSHIP = "Yoghurt cups and lids"
OTHER_RELATIONSHIP = "Maintenance spare parts"  # Otra Industria ↔ Suministros Sur


# -- helpers --------------------------------------------------------------------------------

def catalog_entry(locale: str, msgid: str):
    """The message of the app's catalog for `locale`, read now (the catalog may be in progress)."""
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return catalog.get(msgid)


def shown_as(locale: str, msgid: str) -> str:
    """What gettext shows for msgid: the translation, or the English text when there is none yet."""
    if locale == "en":
        return msgid
    message = catalog_entry(locale, msgid)
    return message.string if message is not None and message.string and not message.fuzzy else msgid


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_role("button", name="Continue").click()  # e-mail first (SSO domains leave here)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"^[^?]*/$"))


def accept_next_dialog(page: Page, seen: list[str]) -> None:
    def on_dialog(dialog) -> None:
        seen.append(dialog.message)
        asyncio.ensure_future(dialog.accept())

    page.once("dialog", on_dialog)


def contact_rows(page: Page, name: str):
    return page.get_by_role("row").filter(has_text=name)


async def open_contacts_from_dashboard(page: Page) -> None:
    await page.get_by_role("link", name=ANA_RELATIONSHIP).click()
    await expect(page.get_by_role("heading", level=1, name=ANA_RELATIONSHIP)).to_be_visible()
    tabs = page.get_by_role("navigation", name="Relationship sections")
    await tabs.get_by_role("link", name="Designated contacts").click()
    await expect(tabs.get_by_role("link", name="Designated contacts")).to_have_attribute("aria-current", "page")
    await expect(page).to_have_url(re.compile(r"/relationships/[0-9a-f-]+/contacts$"))


NEW_CONTACT = {"name": "Quintín Calidad", "email": "calidad@lacteos.example", "phone": "+34 974 000 177"}
NEW_PHONE = "+34 974 000 188"


async def add_edit_remove_contact(page: Page) -> None:
    """On the contacts tab: add a contact, edit its phone, remove it, all inline without a page load."""
    url = page.url
    await page.evaluate("window.__marker = 1")
    add_form = page.locator("section", has=page.get_by_role("heading", name="Add a contact for")).locator("form")

    # Add.
    await add_form.get_by_label("Purpose").select_option(label="Quality")
    await add_form.get_by_label("Name").fill(NEW_CONTACT["name"])
    await add_form.get_by_label("E-mail").fill(NEW_CONTACT["email"])
    await add_form.get_by_label("Phone").fill(NEW_CONTACT["phone"])
    await add_form.get_by_role("button", name="Add contact").click()
    row = contact_rows(page, NEW_CONTACT["name"])
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Quality")
    await expect(row).to_contain_text(NEW_CONTACT["email"])
    await expect(row).to_contain_text(NEW_CONTACT["phone"])
    await expect(page.get_by_role("status")).to_contain_text("Contact added.")
    assert await page.evaluate("window.__marker") == 1, "adding the contact reloaded the page"
    assert page.url == url

    # Edit the phone inline.
    await row.get_by_role("link", name="Edit").click()
    edit_row = page.get_by_role("row").filter(has=page.get_by_role("button", name="Save"))
    await expect(edit_row).to_have_count(1)
    await expect(edit_row.get_by_label("Name")).to_have_value(NEW_CONTACT["name"])
    await edit_row.get_by_label("Phone").fill(NEW_PHONE)
    await edit_row.get_by_role("button", name="Save").click()
    await expect(edit_row).to_have_count(0)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(NEW_PHONE)
    await expect(row).not_to_contain_text(NEW_CONTACT["phone"])
    assert await page.evaluate("window.__marker") == 1, "saving the contact reloaded the page"
    assert page.url == url

    # Remove, confirming the dialog.
    dialogs: list[str] = []
    accept_next_dialog(page, dialogs)
    await row.get_by_role("button", name="Remove").click()
    await expect(row).to_have_count(0)
    assert len(dialogs) == 1 and NEW_CONTACT["name"] in dialogs[0], dialogs
    assert await page.evaluate("window.__marker") == 1, "removing the contact reloaded the page"
    assert page.url == url


# -- stories --------------------------------------------------------------------------------

async def test_a_sign_in_shows_own_relationships_only(page: Page):
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("E-mail").fill(ANA)
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("heading", level=1, name="My relationships")).to_be_visible()
    assert path_of(page) == "/"
    await expect(page.get_by_role("link", name=ANA_RELATIONSHIP)).to_be_visible()
    await expect(page.get_by_text(OTHER_RELATIONSHIP)).to_have_count(0)
    assert OTHER_RELATIONSHIP not in await page.content()


async def test_b_contacts_inline_add_edit_remove(page: Page):
    await sign_in(page, ANA)
    await open_contacts_from_dashboard(page)
    await expect(contact_rows(page, "Muelle de recepción")).to_have_count(1)  # a demo contact
    await add_edit_remove_contact(page)

    # The edit persisted before the removal? Check the stored state after a full reload.
    await page.reload()
    assert await page.evaluate("window.__marker") is None  # this one was a real page load
    await expect(page.get_by_role("heading", level=2, name="Designated contacts")).to_be_visible()
    await expect(contact_rows(page, "Muelle de recepción")).to_have_count(1)
    await expect(contact_rows(page, NEW_CONTACT["name"])).to_have_count(0)
    assert NEW_CONTACT["name"] not in await page.content()


async def test_b2_edit_is_persisted(page: Page):
    """The inline edit is stored, not only shown: reload between edit and removal."""
    await sign_in(page, ANA)
    await open_contacts_from_dashboard(page)
    add_form = page.locator("section", has=page.get_by_role("heading", name="Add a contact for")).locator("form")
    await add_form.get_by_label("Purpose").select_option(label="Quality")
    await add_form.get_by_label("Name").fill(NEW_CONTACT["name"])
    await add_form.get_by_label("Phone").fill(NEW_CONTACT["phone"])
    await add_form.get_by_role("button", name="Add contact").click()
    row = contact_rows(page, NEW_CONTACT["name"])
    await row.get_by_role("link", name="Edit").click()
    edit_row = page.get_by_role("row").filter(has=page.get_by_role("button", name="Save"))
    await edit_row.get_by_label("Phone").fill(NEW_PHONE)
    await edit_row.get_by_role("button", name="Save").click()
    await expect(row).to_contain_text(NEW_PHONE)

    await page.reload()
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(NEW_PHONE)
    await expect(row).to_contain_text("Quality")


async def test_c_contact_validation_shows_field_errors(page: Page):
    await sign_in(page, ANA)
    await open_contacts_from_dashboard(page)
    rows_before = await page.get_by_role("row").count()
    add_form = page.locator("section", has=page.get_by_role("heading", name="Add a contact for")).locator("form")
    name = add_form.get_by_label("Name")

    # The browser's own check stops the empty required name before anything is sent.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    await add_form.get_by_role("button", name="Add contact").click()
    assert await name.evaluate("el => el.validity.valueMissing") is True
    await page.wait_for_timeout(300)
    assert sent == []

    # The server's answer, for a browser that does not check (or a form past the native check).
    await add_form.evaluate("form => { form.noValidate = true; }")
    await page.evaluate("window.__marker = 1")
    await add_form.get_by_role("button", name="Add contact").click()

    name_field = add_form.locator(".field").filter(has=page.get_by_label("Name"))
    email_field = add_form.locator(".field").filter(has=page.get_by_label("E-mail"))
    await expect(name_field.locator(".field-error")).to_have_text("This field is required.")
    await expect(email_field.locator(".field-error")).to_have_text("Give at least an e-mail address or a phone number.")
    await expect(add_form.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await expect(add_form.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("alert")).to_contain_text("Please correct the following:")
    # the summary names each field, as a link to it
    await expect(page.get_by_role("alert").get_by_role("link", name="Name")).to_have_attribute("href", "#f-name")
    assert len(sent) == 1
    assert await page.evaluate("window.__marker") == 1  # shown inline, not by a page load
    assert await page.get_by_role("row").count() == rows_before

    await page.reload()
    assert await page.get_by_role("row").count() == rows_before


async def test_d_language_switch(page: Page):
    spanish = catalog_entry("es", "My relationships")
    assert spanish is not None, "'My relationships' is not in the Spanish catalog"
    assert spanish.string and not spanish.fuzzy, (
        "'My relationships' has no (non-fuzzy) Spanish translation in backend/locale/es/LC_MESSAGES/messages.po")

    await sign_in(page, ANA)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.get_by_label("Language").select_option(label="Español")

    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", level=1)).to_have_text(spanish.string)
    assert path_of(page) == "/"
    await page.reload()  # stored, not only shown once
    await expect(page.locator("html")).to_have_attribute("lang", "es")

    await page.get_by_label(shown_as("es", "Language")).select_option(label="English")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("My relationships")


async def test_e_sign_out(page: Page):
    await sign_in(page, ANA)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1, name="Sign in to Pacto")).to_be_visible()
    assert path_of(page) == "/login"

    await page.goto("/")
    await expect(page.get_by_role("heading", level=1, name="Sign in to Pacto")).to_be_visible()
    assert path_of(page) == "/login"
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


async def test_f_outsider_gets_not_found(page: Page, demo):
    relationship_id = demo["relationships"][ANA_RELATIONSHIP]
    await sign_in(page, OLGA)
    locale = await page.locator("html").get_attribute("lang")  # Olga reads Pacto in her own language
    for path in (f"/relationships/{relationship_id}", f"/relationships/{relationship_id}/contacts",
                 f"/relationships/{relationship_id}/members"):
        response = await page.goto(path)
        assert response is not None and response.status == 404, (path, response and response.status)
        await expect(page.get_by_role("heading", level=1)).to_have_text(shown_as(locale, "Not found"))
        html = await page.content()
        assert ANA_RELATIONSHIP not in html, path
        assert "Envases Norte" not in html, path
        assert "Lácteos del Valle" not in html, path


async def test_g_csp_and_no_inline_script_or_console_errors(page: Page):
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console error on {page.url}: {msg.text} "
                                                     f"(source: {msg.location.get('url')})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    async def check_page(response) -> None:
        assert response is not None
        csp = await response.header_value("content-security-policy")
        assert csp and "script-src 'self'" in csp, (response.url, csp)
        assert await page.locator("script:not([src])").count() == 0, response.url
        inline_handlers = await page.evaluate(
            "() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]"
            ".filter(a => a.name.startsWith('on')).map(a => el.tagName + '[' + a.name + ']'))")
        assert inline_handlers == [], (response.url, inline_handlers)

    await check_page(await page.goto("/login"))
    async with page.expect_navigation() as nav:
        await page.get_by_label("E-mail").fill(ANA)
        await page.get_by_role("button", name="Continue").click()
    await check_page(await nav.value)
    async with page.expect_navigation() as nav:
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
    await check_page(await nav.value)
    async with page.expect_navigation() as nav:
        await page.get_by_role("link", name=ANA_RELATIONSHIP).click()
    await check_page(await nav.value)
    async with page.expect_navigation() as nav:
        await page.get_by_role("navigation", name="Relationship sections").get_by_role(
            "link", name="Designated contacts").click()
    await check_page(await nav.value)

    await add_edit_remove_contact(page)
    await check_page(await page.reload())
    assert problems == []


async def test_h_keyboard_sign_in(page: Page):
    await page.goto("/login")
    email = page.get_by_label("E-mail")
    await expect(email).to_be_focused()  # autofocus
    await page.keyboard.type(ANA)
    await page.keyboard.press("Enter")  # e-mail first; the password step focuses its field
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1, name="My relationships")).to_be_visible()
    assert path_of(page) == "/"
