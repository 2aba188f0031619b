"""Relationship pages: dashboard, tabs, inline contacts (htmx), members."""
import re


def rel(demo):
    return demo["relationships"]["Yoghurt cups and lids"]


async def test_dashboard_counts_what_waits_for_me(demo, browser):
    ana = await browser("ana@lacteos.example")
    page = await ana.get("/")
    # Lácteos designated responsable and logistics: commercial, quality, billing, escalation remain
    card = page.text[page.text.index("Yoghurt cups and lids"):]
    assert re.search(r'class="stat-value">4<', card)
    assert "commercial, quality, billing, escalation" in card




async def test_relationship_tabs_show_both_sides(demo, browser):
    bram = await browser("bram@envases.example")
    overview = await bram.get(f"/relationships/{rel(demo)}")
    assert overview.status_code == 200
    assert "Lácteos del Valle" in overview.text and "Envases Norte" in overview.text
    members = await bram.get(f"/relationships/{rel(demo)}/members")
    for name in ["Ana Martín", "Carlos Ruiz", "Bram de Vries", "Eva Gómez"]:
        assert name in members.text
    contacts = await bram.get(f"/relationships/{rel(demo)}/contacts")
    assert "Muelle de recepción" in contacts.text and "Dirección comercial" in contacts.text
    assert "Escalation level 1" in contacts.text


async def test_add_contact_inline_returns_the_section_and_is_audited(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    response = await ana.post(f"/relationships/{rel(demo)}/contacts", {
        "purpose": "quality", "name": "Laura Calidad", "email": "Laura@Lacteos.example",
        "phone": "+34 974 000 120", "hours": "Mon–Fri 7:00–15:00"}, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="contacts-section">')
    assert "<html" not in response.text  # a partial for htmx, not a page
    assert "Laura Calidad" in response.text and "Contact added." in response.text
    row = await owner.fetchrow("SELECT side, org, email FROM contact WHERE name = 'Laura Calidad'")
    assert row["side"] == "client" and row["org"] == demo["orgs"]["Lácteos del Valle"]
    assert row["email"] == "laura@lacteos.example"
    entry = await owner.fetchrow("SELECT actor_email, chain FROM audit_entry WHERE action = 'contact.added'"
                                 " AND target_label = 'Laura Calidad'")
    assert entry["actor_email"] == "ana@lacteos.example" and entry["chain"] == f"rel:{rel(demo)}"


async def test_invalid_contact_names_each_field_and_saves_nothing(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    before = await owner.fetchval("SELECT count(*) FROM contact")
    response = await ana.post(f"/relationships/{rel(demo)}/contacts", {
        "purpose": "escalation", "name": "", "email": "not-an-address", "phone": "call me", "escalation_level": "12"},
        htmx=True)
    assert response.status_code == 422
    for message in ["This field is required.", "Enter a valid e-mail address", "Use digits, spaces and",
                    "Give the escalation level, from 1 to 9."]:
        assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert re.search(r'name="escalation_level" type="number" value="12"[^>]* min="1" max="9">', response.text)
    assert await owner.fetchval("SELECT count(*) FROM contact") == before


async def test_edit_contact_inline_with_version_check(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    contact = await owner.fetchval("SELECT id FROM contact WHERE name = 'Muelle de recepción'")
    edit = await ana.get(f"/contacts/{contact}/edit", headers={"hx-request": "true"})
    assert edit.status_code == 200 and f'<tr id="contact-{contact}" class="editing">' in edit.text
    saved = await ana.post(f"/contacts/{contact}", {
        "purpose": "logistics", "name": "Muelle 2", "email": "recepcion@lacteos.example", "phone": "+34 974 000 151",
        "hours": "", "version": "1"}, htmx=True)
    assert saved.status_code == 200 and "Muelle 2" in saved.text and saved.text.lstrip().startswith("<tr")
    # a second editor still holding version 1 is told, and nothing is overwritten
    stale = await ana.post(f"/contacts/{contact}", {
        "purpose": "logistics", "name": "Overwritten", "email": "x@lacteos.example", "version": "1"}, htmx=True)
    assert stale.status_code == 409 and "Someone else changed this" in stale.text
    row = await owner.fetchrow("SELECT name, phone, version FROM contact WHERE id = $1", contact)
    assert (row["name"], row["phone"], row["version"]) == ("Muelle 2", "+34 974 000 151", 2)


async def test_remove_contact_inline(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    contact = await owner.fetchval("SELECT id FROM contact WHERE name = 'Muelle de recepción'")
    response = await ana.post(f"/contacts/{contact}/remove", htmx=True)
    assert response.status_code == 200 and response.text == ""
    assert await owner.fetchval("SELECT count(*) FROM contact WHERE id = $1", contact) == 0
    assert await owner.fetchval("SELECT count(*) FROM audit_entry WHERE action = 'contact.removed'") == 1


async def test_the_other_sides_contacts_are_read_only(demo, browser, owner):
    bram = await browser("bram@envases.example")
    client_contact = await owner.fetchval("SELECT id FROM contact WHERE name = 'Muelle de recepción'")
    page = await bram.get(f"/relationships/{rel(demo)}/contacts")
    assert f"/contacts/{client_contact}/edit" not in page.text
    assert (await bram.get(f"/contacts/{client_contact}/edit")).status_code == 403
    assert (await bram.post(f"/contacts/{client_contact}/remove")).status_code == 403
    assert (await bram.post(f"/contacts/{client_contact}", {"purpose": "logistics", "name": "X",
                                                           "email": "x@y.example", "version": "1"})).status_code == 403
    assert await owner.fetchval("SELECT name FROM contact WHERE id = $1", client_contact) == "Muelle de recepción"


async def test_viewers_cannot_add_contacts(demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")
    page = await carlos.get(f"/relationships/{rel(demo)}/contacts")
    assert "Add contact" not in page.text
    response = await carlos.post(f"/relationships/{rel(demo)}/contacts", {"purpose": "quality", "name": "X",
                                                                          "email": "x@lacteos.example"})
    assert response.status_code == 403


async def test_members_are_managed_by_their_own_side(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    carlos_member = await owner.fetchval(
        "SELECT m.id FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
        " WHERE u.email = 'carlos@lacteos.example'")
    assert (await ana.post(f"/members/{carlos_member}", {"role": "contributor"})).status_code == 302
    assert await owner.fetchval("SELECT role FROM relationship_member WHERE id = $1", carlos_member) == "contributor"
    bram = await browser("bram@envases.example")
    assert (await bram.post(f"/members/{carlos_member}", {"role": "viewer"})).status_code == 403
    assert (await bram.post(f"/members/{carlos_member}/remove")).status_code == 403
    # only colleagues not yet in are offered: with both in, none, and a way to invite one
    page = (await ana.get(f"/relationships/{rel(demo)}/members")).text
    assert 'id="f-user_id"' not in page and "Everyone in your organization is a member already." in page
    assert (await ana.post(f"/members/{carlos_member}/remove")).status_code == 302
    assert await owner.fetchval("SELECT count(*) FROM relationship_member WHERE id = $1", carlos_member) == 0
    offered = (await ana.get(f"/relationships/{rel(demo)}/members")).text.split('id="f-user_id"')[1]
    assert re.findall(r"<option value=\"[^\"]+\">([^<]+)</option>", offered.split("</select>")[0]) == [
        "Carlos Ruiz (carlos@lacteos.example)"]
    carlos = await browser("carlos@lacteos.example")
    assert (await carlos.get(f"/relationships/{rel(demo)}")).status_code == 404  # no longer a member
    await owner.execute("UPDATE app_user SET is_active = false WHERE email = 'carlos@lacteos.example'")
    assert "Carlos Ruiz" not in (await ana.get(f"/relationships/{rel(demo)}/members")).text  # disabled: not offered


async def test_adding_a_member_from_another_company_is_refused(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    olga = demo["users"]["olga@otra.example"]
    await owner.execute('DELETE FROM relationship_member WHERE "user" = $1', demo["users"]["carlos@lacteos.example"])
    response = await ana.post(f"/relationships/{rel(demo)}/members", {"user_id": str(olga), "role": "viewer"})
    assert response.status_code == 422 and "Choose a colleague from the list." in response.text
    assert 'aria-invalid="true" aria-describedby="e-user_id"' in response.text  # named at its field
    assert await owner.fetchval("SELECT count(*) FROM relationship_member WHERE \"user\" = $1", olga) == 1


async def test_empty_dashboard_says_what_to_do(database, app, browser):
    from backend import db
    from backend.tenancy.actions import create_organization, create_user

    async with db.tenant_transaction(None):
        org = await create_organization(name="Nueva S.A.")
        await create_user(org_id=org.id, email="new@nueva.example", name="Nuevo", password="pacto-demo",
                          org_role="member")
    nuevo = await browser("new@nueva.example")
    page = await nuevo.get("/")
    assert "You are not a member of any relationship yet." in page.text
    assert "Ask your organization" in page.text


async def test_a_contact_can_be_linked_to_a_colleague_only(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    carlos, olga = demo["users"]["carlos@lacteos.example"], demo["users"]["olga@otra.example"]
    ok = await ana.post(f"/relationships/{rel(demo)}/contacts", {
        "purpose": "billing", "name": "Carlos Ruiz", "email": "carlos@lacteos.example", "user_id": str(carlos)},
        htmx=True)
    assert ok.status_code == 200
    assert await owner.fetchval("SELECT \"user\" FROM contact WHERE purpose = 'billing'") == carlos
    refused = await ana.post(f"/relationships/{rel(demo)}/contacts", {
        "purpose": "quality", "name": "Olga", "email": "olga@otra.example", "user_id": str(olga)}, htmx=True)
    assert refused.status_code == 422 and "Choose a colleague from the list." in refused.text
    assert await owner.fetchval("SELECT count(*) FROM contact WHERE name = 'Olga'") == 0


async def test_the_contact_edit_link_opened_on_its_own_is_a_whole_page(demo, browser, owner):
    """"Edit" opened in a new tab (or without JavaScript): the form within the site's layout; saving
    returns to the list, and a bad value comes back on the same page."""
    ana = await browser("ana@lacteos.example")
    contact = await owner.fetchval("SELECT id FROM contact WHERE name = 'Muelle de recepción'")
    edit = await ana.get(f"/contacts/{contact}/edit")
    assert edit.status_code == 200 and edit.text.lstrip().startswith("<!doctype html>")
    assert 'class="site-header"' in edit.text and f'<tr id="contact-{contact}" class="editing">' in edit.text
    bad = await ana.post(f"/contacts/{contact}", {"purpose": "logistics", "name": "", "email": "x@lacteos.example",
                                                  "version": "1"})
    assert bad.status_code == 422 and bad.text.lstrip().startswith("<!doctype html>") and "This field is required." in bad.text
    saved = await ana.post(f"/contacts/{contact}", {"purpose": "logistics", "name": "Muelle 3",
                                                    "email": "x@lacteos.example", "version": "1"})
    assert saved.status_code == 302 and saved.headers["location"] == f"/relationships/{rel(demo)}/contacts"
    assert (await ana.get(f"/contacts/{contact}")).status_code == 302  # the row alone is for htmx
