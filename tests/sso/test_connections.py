"""SSO connections: org admins only, validated, the client secret encrypted and never shown."""
from backend.sso import crypto
from backend.web import i18n


async def test_admin_creates_a_connection_with_an_encrypted_secret(demo, browser, owner):
    bram = await browser("bram@envases.example")
    response = await bram.post("/org/sso", {
        "name": "Envases Norte", "issuer": "https://login.microsoftonline.com/tenant/v2.0/", "client_id": "pacto-app",
        "client_secret": "very-secret-value", "domains": "envases.example, Envases-Norte.example",
        "default_role": "member", "groups_claim": "groups", "group_roles": "pacto-admins = admin",
        "enabled": "on"})
    assert response.status_code == 302
    row = await owner.fetchrow("SELECT * FROM sso_connection")
    assert row["issuer"] == "https://login.microsoftonline.com/tenant/v2.0"  # trailing slash dropped
    assert "very-secret-value" not in row["client_secret_encrypted"]
    assert crypto.decrypt(row["client_secret_encrypted"]) == "very-secret-value"
    domains = await owner.fetch("SELECT domain FROM sso_domain ORDER BY domain")
    assert [d["domain"] for d in domains] == ["envases-norte.example", "envases.example"]
    page = await bram.get(response.headers["location"])
    assert page.status_code == 200 and "very-secret-value" not in page.text
    assert "/sso/callback" in page.text  # the redirect URI to register
    entry = await owner.fetchrow("SELECT details FROM audit_entry WHERE action = 'sso.connection_created'")
    assert "very-secret-value" not in entry["details"] and "client_secret_changed" in entry["details"]


async def test_invalid_connection_names_each_field(demo, browser, owner):
    bram = await browser("bram@envases.example")
    response = await bram.post("/org/sso", {
        "name": "", "issuer": "http://idp.example.com", "client_id": "", "client_secret": "",
        "domains": "not a domain!", "default_role": "owner", "group_roles": "admins",
        "sso_required": "on"})
    assert response.status_code == 422
    for text in ["This field is required.", "Use the issuer&#39;s https:// address", "Not a domain: a, domain!, not",
                 "Choose a role.", "Line 1: write", "choose a break-glass administrator"]:
        assert text in response.text, text
    assert await owner.fetchval("SELECT count(*) FROM sso_connection") == 0


async def test_a_domain_belongs_to_one_connection_only(demo, browser, owner):
    bram = await browser("bram@envases.example")
    olga = await browser("olga@otra.example")
    ok = await bram.post("/org/sso", {"name": "A", "issuer": "https://a.example", "client_id": "a",
                                      "client_secret": "s", "domains": "envases.example", "enabled": "on"})
    assert ok.status_code == 302
    taken = await olga.post("/org/sso", {"name": "B", "issuer": "https://b.example", "client_id": "b",
                                         "client_secret": "s", "domains": "envases.example", "enabled": "on"})
    message = i18n.translations("nl").gettext("%(domain)s already belongs to another connection.")  # Olga reads Dutch
    assert message != "%(domain)s already belongs to another connection."
    assert taken.status_code == 422 and message % {"domain": "envases.example"} in taken.text


async def test_members_cannot_see_or_change_connections(demo, browser, owner):
    bram = await browser("bram@envases.example")
    await bram.post("/org/sso", {"name": "A", "issuer": "https://a.example", "client_id": "a",
                                 "client_secret": "s", "domains": "envases.example", "enabled": "on"})
    connection = await owner.fetchval("SELECT id FROM sso_connection")
    eva = await browser("eva@envases.example")  # a member of the same company
    assert (await eva.get("/org/sso")).status_code == 403
    assert (await eva.get(f"/org/sso/{connection}")).status_code == 404
    assert (await eva.post(f"/org/sso/{connection}/delete")).status_code == 404
    assert await owner.fetchval("SELECT count(*) FROM sso_connection") == 1


async def test_editing_keeps_the_secret_when_left_empty_and_detects_conflicts(demo, browser, owner):
    bram = await browser("bram@envases.example")
    created = await bram.post("/org/sso", {"name": "A", "issuer": "https://a.example", "client_id": "a",
                                           "client_secret": "first", "domains": "envases.example", "enabled": "on"})
    url = created.headers["location"]
    saved = await bram.post(url, {"name": "A2", "issuer": "https://a.example", "client_id": "a", "client_secret": "",
                                  "domains": "envases.example", "enabled": "on", "version": "1"})
    assert saved.status_code == 302
    row = await owner.fetchrow("SELECT name, client_secret_encrypted, version FROM sso_connection")
    assert row["name"] == "A2" and crypto.decrypt(row["client_secret_encrypted"]) == "first" and row["version"] == 2
    stale = await bram.post(url, {"name": "A3", "issuer": "https://a.example", "client_id": "a", "client_secret": "",
                                  "domains": "envases.example", "enabled": "on", "version": "1"})
    assert stale.status_code == 409
    assert await owner.fetchval("SELECT name FROM sso_connection") == "A2"


async def test_test_connection_says_exactly_why_it_fails(demo, browser, owner):
    from backend.runtime import free_port

    bram = await browser("bram@envases.example")
    created = await bram.post("/org/sso", {"name": "A", "issuer": f"http://127.0.0.1:{free_port()}",
                                           "client_id": "a", "client_secret": "s", "domains": "envases.example",
                                           "enabled": "on"})
    result = await bram.post(created.headers["location"] + "/test", htmx=True)
    assert result.status_code == 200
    assert "The connection does not work." in result.text and "idp_unreachable" in result.text
