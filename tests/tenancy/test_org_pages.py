"""Organization settings: users and roles."""


async def test_admin_changes_a_role_inline_and_it_is_audited(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    carlos = demo["users"]["carlos@lacteos.example"]
    response = await ana.post(f"/org/users/{carlos}", {"org_role": "admin", "version": "1"}, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="user-{carlos}"')  # a row for an htmx swap, not a page
    assert await owner.fetchval("SELECT org_role FROM app_user WHERE id = $1", carlos) == "admin"
    entry = await owner.fetchrow("SELECT actor_email, details FROM audit_entry WHERE action = 'user.role_changed'")
    assert entry["actor_email"] == "ana@lacteos.example" and '"admin"' in entry["details"]


async def test_a_stale_version_is_refused_not_overwritten(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    carlos = demo["users"]["carlos@lacteos.example"]
    assert (await ana.post(f"/org/users/{carlos}", {"org_role": "admin", "version": "1"})).status_code == 302
    stale = await ana.post(f"/org/users/{carlos}", {"org_role": "member", "version": "1"})
    assert stale.status_code == 409
    assert "Someone else changed this" in stale.text
    assert await owner.fetchval("SELECT org_role FROM app_user WHERE id = $1", carlos) == "admin"


async def test_disabling_a_user_ends_their_sessions(demo, browser, owner):
    carlos_browser = await browser("carlos@lacteos.example")
    assert (await carlos_browser.get("/")).status_code == 200
    ana = await browser("ana@lacteos.example")
    carlos = demo["users"]["carlos@lacteos.example"]
    assert (await ana.post(f"/org/users/{carlos}", {"is_active": "0", "version": "1"})).status_code == 302
    assert (await carlos_browser.get("/")).status_code == 302
    again = await browser()
    refused = await again.post("/login", {"email": "carlos@lacteos.example", "password": "pacto-demo"})
    assert refused.status_code == 400


async def test_an_admin_cannot_lock_themself_out(demo, browser, owner):
    ana = await browser("ana@lacteos.example")
    me = demo["users"]["ana@lacteos.example"]
    response = await ana.post(f"/org/users/{me}", {"org_role": "member", "version": "1"})
    assert response.status_code == 422 and "You cannot remove your own administrator role." in response.text
    assert await owner.fetchval("SELECT org_role FROM app_user WHERE id = $1", me) == "admin"


async def test_members_see_users_but_cannot_change_them(demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")
    page = await carlos.get("/org")
    assert page.status_code == 200 and "Ana Martín" in page.text
    assert "Invite a colleague" not in page.text
    ana_id = demo["users"]["ana@lacteos.example"]
    assert (await carlos.post(f"/org/users/{ana_id}", {"org_role": "member", "version": "1"})).status_code == 403
