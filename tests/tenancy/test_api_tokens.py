"""API tokens: created by an admin and shown once, stored hashed, limited to their relationships,
revocable (at once), last use recorded; a bearer request needs no cookie and no CSRF token."""
import httpx

ANA = "ana@lacteos.example"


async def test_a_token_reaches_its_relationships_only_until_revoked(app, demo, browser, owner):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    lacteos, sur = demo["orgs"]["Lácteos del Valle"], demo["orgs"]["Suministros Sur"]
    other = await owner.fetchval(
        "INSERT INTO relationship (id, client_org, supplier_org, name, status, time_zone, currency, start_date,"
        " version, created_at) VALUES (gen_random_uuid(), $1, $2, 'Cheese cloth', 'active', 'Europe/Madrid', 'EUR',"
        " '2026-01-01', 1, now()) RETURNING id", lacteos, sur)
    ana = await browser(ANA)
    page = await ana.post("/org/api-tokens", {"name": "SAP ERP", "relationships": str(rel)})
    assert page.status_code == 201
    token = page.text.split('<p><code>')[1].split("</code>")[0]
    assert token.startswith("pacto_") and len(token) > 40
    stored = await owner.fetchrow("SELECT token_hash, prefix FROM api_token")
    assert token not in stored["token_hash"] and stored["prefix"] == token[:12]
    assert token not in (await ana.get("/org/api-tokens")).text  # shown once

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://erp.example")
    auth = {"authorization": f"Bearer {token}"}
    sent = await client.post(f"/api/v1/relationships/{rel}/forecasts", headers=auth, json={"forecasts": [
        {"external_id": "F-1", "item_code": "CUP", "period": "2026-12", "qty": "100"}]})
    assert sent.status_code == 200, sent.text
    assert (await client.get(f"/api/v1/relationships/{other}", headers=auth)).status_code == 404
    listed = (await client.get("/api/v1/relationships", headers=auth)).json()
    assert [item["name"] for item in listed["items"]] == ["Yoghurt cups and lids"]
    assert await owner.fetchval("SELECT last_used_at FROM api_token") is not None
    # the token is for the API only: pages still want a session
    assert (await client.get("/", headers=auth)).status_code == 302
    assert (await client.get(f"/api/v1/relationships/{rel}", headers={"authorization": "Bearer pacto_nope"}
                             )).status_code == 401
    # revoked: refused at once
    token_id = await owner.fetchval("SELECT id FROM api_token")
    assert (await ana.post(f"/org/api-tokens/{token_id}/revoke")).status_code == 302
    assert (await client.get(f"/api/v1/relationships/{rel}", headers=auth)).status_code == 401
    assert await owner.fetchval("SELECT count(*) FROM audit_entry WHERE action LIKE 'api_token.%'") == 2
    await client.aclose()


async def test_only_admins_manage_tokens_of_their_own_organization(app, demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")
    assert (await carlos.get("/org/api-tokens")).status_code == 404
    assert (await carlos.post("/org/api-tokens", {"name": "x", "relationships": "x"})).status_code == 403
    await owner.execute("UPDATE app_user SET locale = 'en' WHERE email = 'olga@otra.example'")  # to read it
    olga = await browser("olga@otra.example")
    rel = demo["relationships"]["Yoghurt cups and lids"]
    refused = await olga.post("/org/api-tokens", {"name": "steal", "relationships": str(rel)})
    assert refused.status_code == 422 and "Choose relationships of your organization." in refused.text
    assert await owner.fetchval("SELECT count(*) FROM api_token") == 0
