"""Inviting colleagues and suppliers: single-use, expiring, hashed tokens sent by e-mail."""
import hashlib
import re

from tests.mailsink import sink

LINK_RE = re.compile(r"https://testserver(/invitations/\S+)")


async def test_admin_invites_a_colleague_who_joins_with_the_emailed_link(demo, browser, worker, owner):
    with sink() as box:
        ana = await browser("ana@lacteos.example")
        response = await ana.post("/org/invitations", {"email": "Nuria@Lacteos.example", "org_role": "member"})
        assert response.status_code == 200 and "Invitation sent." in response.text
        message = await box.wait_for("nuria@lacteos.example")
    assert "Lácteos del Valle" in message.subject
    assert message.date is not None and message.date.datetime.tzinfo is not None  # RFC 5322 requires a Date
    link = LINK_RE.search(message.body).group(1)
    token = link.rsplit("/", 1)[1]
    stored = await owner.fetchrow("SELECT token_hash, org_role FROM invitation WHERE email = 'nuria@lacteos.example'")
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept
    assert token not in str(await owner.fetch("SELECT * FROM invitation"))

    nuria = await browser()
    form = await nuria.get(link)
    assert form.status_code == 200 and "Join Lácteos del Valle" in form.text
    bad = await nuria.post(link, {"name": "", "password": "short"})
    assert bad.status_code == 422
    assert "This field is required." in bad.text and "at least 10 characters" in bad.text
    accepted = await nuria.post(link, {"name": "Nuria Sanz", "password": "nuria-password-1"})
    assert accepted.status_code == 302
    dashboard = await nuria.get("/")
    assert "Nuria Sanz" in dashboard.text and "Lácteos del Valle" in dashboard.text
    user = await owner.fetchrow("SELECT org, org_role FROM app_user WHERE email = 'nuria@lacteos.example'")
    assert user["org"] == demo["orgs"]["Lácteos del Valle"] and user["org_role"] == "member"

    again = await (await browser()).post(link, {"name": "Someone", "password": "another-password"})
    assert again.status_code == 422 and "was already used" in again.text
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email = 'nuria@lacteos.example'") == 1


async def test_expired_and_revoked_invitations_cannot_be_used(demo, browser, worker, owner):
    with sink() as box:
        ana = await browser("ana@lacteos.example")
        await ana.post("/org/invitations", {"email": "late@lacteos.example", "org_role": "member"})
        await ana.post("/org/invitations", {"email": "revoked@lacteos.example", "org_role": "member"})
        late = LINK_RE.search((await box.wait_for("late@lacteos.example")).body).group(1)
        revoked = LINK_RE.search((await box.wait_for("revoked@lacteos.example")).body).group(1)
    await owner.execute("UPDATE invitation SET expires_at = now() - interval '1 second'"
                        " WHERE email = 'late@lacteos.example'")
    invitation_id = await owner.fetchval("SELECT id FROM invitation WHERE email = 'revoked@lacteos.example'")
    assert (await ana.post(f"/org/invitations/{invitation_id}/revoke")).status_code == 302
    visitor = await browser()
    for link in (late, revoked):
        assert (await visitor.get(link)).status_code == 404
        response = await visitor.post(link, {"name": "X", "password": "long-enough-pw"})
        assert response.status_code == 422
    assert await owner.fetchval("SELECT count(*) FROM app_user WHERE email LIKE '%late%' OR email LIKE 'revoked%'") == 0


async def test_only_admins_invite_colleagues(demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")
    response = await carlos.post("/org/invitations", {"email": "x@lacteos.example", "org_role": "admin"})
    assert response.status_code == 403
    assert await owner.fetchval("SELECT count(*) FROM invitation") == 0


async def test_inviting_an_existing_user_names_the_field(demo, browser):
    ana = await browser("ana@lacteos.example")
    response = await ana.post("/org/invitations", {"email": "carlos@lacteos.example", "org_role": "member"})
    assert response.status_code == 422
    assert "A user with this e-mail address already exists." in response.text


async def test_a_new_supplier_creates_its_company_on_accepting(demo, browser, worker, owner):
    with sink() as box:
        ana = await browser("ana@lacteos.example")
        invalid = await ana.post("/invite-supplier", {"email": "nope", "company_name": "", "relationship_name": "",
                                                      "time_zone": "Mars/Base", "currency": "XXX", "start_date": "x"})
        assert invalid.status_code == 422
        for text in ["Enter a valid e-mail address", "This field is required.", "Choose a time zone",
                     "Choose a currency", "Enter a date as YYYY-MM-DD."]:
            assert text in invalid.text
        sent = await ana.post("/invite-supplier", {
            "email": "pia@cartonajes.example", "company_name": "Cartonajes Pia",
            "relationship_name": "Shipping boxes", "time_zone": "Europe/Madrid", "currency": "EUR",
            "start_date": "2027-01-01"})
        assert sent.status_code == 200
        message = await box.wait_for("pia@cartonajes.example")
    link = LINK_RE.search(message.body).group(1)
    pia = await browser()
    assert "Shipping boxes" in (await pia.get(link)).text
    accepted = await pia.post(link, {"company_name": "Cartonajes Pia S.L.", "name": "Pia Ortega",
                                     "password": "pia-password-1"})
    assert accepted.status_code == 302
    relationship_url = accepted.headers["location"]
    page = await pia.get(relationship_url)
    assert page.status_code == 200 and "Shipping boxes" in page.text and "Lácteos del Valle" in page.text
    row = await owner.fetchrow(
        "SELECT r.client_org, o.name AS supplier, r.currency, r.time_zone FROM relationship r"
        " JOIN organization o ON o.id = r.supplier_org WHERE r.name = 'Shipping boxes'")
    assert row["client_org"] == demo["orgs"]["Lácteos del Valle"] and row["supplier"] == "Cartonajes Pia S.L."
    members = await owner.fetch(
        "SELECT u.email, m.role FROM relationship_member m JOIN app_user u ON u.id = m.\"user\""
        " JOIN relationship r ON r.id = m.relationship WHERE r.name = 'Shipping boxes' ORDER BY u.email")
    assert [(m["email"], m["role"]) for m in members] == [("ana@lacteos.example", "responsable"),
                                                          ("pia@cartonajes.example", "manager")]
    # Ana sees it too; Olga does not
    assert "Shipping boxes" in (await ana.get("/")).text
    olga = await browser("olga@otra.example")
    assert (await olga.get(relationship_url)).status_code == 404


async def test_an_existing_company_accepts_while_signed_in(demo, browser, worker, owner):
    with sink() as box:
        olga = await browser("olga@otra.example")
        await olga.post("/invite-supplier", {
            "email": "bram@envases.example", "company_name": "Envases Norte", "relationship_name": "Crates",
            "time_zone": "Europe/Amsterdam", "currency": "EUR", "start_date": "2027-02-01"})
        link = LINK_RE.search((await box.wait_for("bram@envases.example")).body).group(1)
    anonymous = await (await browser()).post(link, {"name": "B", "password": "long-enough-pw",
                                                    "company_name": "Dup"})
    assert anonymous.status_code == 422 and "sign in first" in anonymous.text
    bram = await browser("bram@envases.example")
    accepted = await bram.post(link, {})
    assert accepted.status_code == 302
    supplier = await owner.fetchval("SELECT supplier_org FROM relationship WHERE name = 'Crates'")
    assert supplier == demo["orgs"]["Envases Norte"]
    assert await owner.fetchval("SELECT count(*) FROM organization WHERE name = 'Dup'") == 0


async def test_a_member_who_is_not_responsable_cannot_invite_suppliers(demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")  # a viewer
    assert (await carlos.get("/invite-supplier")).status_code == 403
    response = await carlos.post("/invite-supplier", {
        "email": "x@y.example", "company_name": "Y", "relationship_name": "Z", "time_zone": "Europe/Madrid",
        "currency": "EUR", "start_date": "2027-01-01"})
    assert response.status_code == 403
    assert await owner.fetchval("SELECT count(*) FROM invitation") == 0
