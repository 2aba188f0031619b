"""JSON API: relationships and contacts, with RFC 9457 problem details."""


def rel(demo):
    return demo["relationships"]["Yoghurt cups and lids"]


async def test_list_and_read_relationships(demo, browser):
    bram = await browser("bram@envases.example")
    body = (await bram.get("/api/v1/relationships")).json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item["name"] == "Yoghurt cups and lids" and item["side"] == "supplier" and item["my_role"] == "manager"
    assert item["client"]["name"] == "Lácteos del Valle" and item["currency"] == "EUR"
    one = (await bram.get(f"/api/v1/relationships/{rel(demo)}")).json()
    assert one == item


async def test_cursor_pagination(demo, browser, owner):
    for i in range(3):
        await owner.execute(
            "INSERT INTO relationship (id, client_org, supplier_org, name, status, time_zone, currency, start_date,"
            " version, created_at) VALUES (gen_random_uuid(), $1, $2, $3, 'active', 'Europe/Madrid', 'EUR',"
            " '2026-01-01', 1, now())", demo["orgs"]["Lácteos del Valle"], demo["orgs"]["Envases Norte"], f"Extra {i}")
    ana = await browser("ana@lacteos.example")  # an admin sees all of her org's relationships
    seen, cursor = [], None
    while True:
        url = "/api/v1/relationships?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = (await ana.get(url)).json()
        assert len(body["items"]) <= 2
        seen += [item["name"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["Extra 0", "Extra 1", "Extra 2", "Yoghurt cups and lids"]


async def test_contacts_crud(demo, browser, owner):
    bram = await browser("bram@envases.example")
    created = await bram.request("POST", f"/api/v1/relationships/{rel(demo)}/contacts",
                                 json={"purpose": "billing", "name": "Facturación", "email": "FACT@envases.example"})
    assert created.status_code == 201
    contact = created.json()
    assert contact["side"] == "supplier" and contact["email"] == "fact@envases.example" and contact["version"] == 1
    listed = (await bram.get(f"/api/v1/relationships/{rel(demo)}/contacts")).json()
    assert contact["id"] in [c["id"] for c in listed] and len(listed) == 6
    patched = await bram.request("PATCH", f"/api/v1/contacts/{contact['id']}", json={"version": 1, "phone": "+34 1 234"})
    assert patched.status_code == 200
    assert patched.json()["phone"] == "+34 1 234" and patched.json()["name"] == "Facturación"
    conflict = await bram.request("PATCH", f"/api/v1/contacts/{contact['id']}", json={"version": 1, "name": "Old"})
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    assert (await bram.request("DELETE", f"/api/v1/contacts/{contact['id']}")).status_code == 204
    assert (await bram.get(f"/api/v1/contacts/{contact['id']}")).status_code == 404
    assert await owner.fetchval("SELECT count(*) FROM contact WHERE name = 'Facturación'") == 0


async def test_invalid_input_is_a_problem_naming_the_field(demo, browser, owner):
    bram = await browser("bram@envases.example")
    response = await bram.request("POST", f"/api/v1/relationships/{rel(demo)}/contacts",
                                  json={"purpose": "nonsense", "name": "", "phone": "abc"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid input"
    assert {e["field"] for e in problem["errors"]} >= {"purpose", "name", "phone"}
    malformed = await bram.request("POST", f"/api/v1/relationships/{rel(demo)}/contacts", json={"name": 3})
    assert malformed.status_code == 400 and malformed.json()["status"] == 400
    assert await owner.fetchval("SELECT count(*) FROM contact WHERE side = 'supplier'") == 3


async def test_api_needs_a_session(demo, app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        response = await c.get("/api/v1/relationships")
    assert response.status_code == 401 and response.json()["status"] == 401


async def test_openapi_describes_the_api(demo, app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        spec = (await c.get("/schema/openapi.json")).json()
    for path in ["/api/v1/relationships", "/api/v1/relationships/{relationship_id}",
                 "/api/v1/relationships/{relationship_id}/contacts", "/api/v1/contacts/{contact_id}"]:
        assert path in spec["paths"], path
