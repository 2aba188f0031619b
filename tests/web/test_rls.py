"""Tenant isolation, second wall: PostgreSQL row-level security under the application's role."""
import asyncpg
import pytest


async def _as_app(database, org_id, sql, *args):
    conn = await asyncpg.connect(database.app_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.org_id', $1, true)", str(org_id) if org_id else "")
            return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_app_role_is_not_superuser_and_cannot_bypass_rls(database):
    rows = await _as_app(database, None,
                         "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert rows[0]["rolsuper"] is False and rows[0]["rolbypassrls"] is False


async def test_without_an_acting_org_nothing_is_visible(demo, database):
    for table in ["organization", "app_user", "relationship", "relationship_member", "contact", "invitation",
                  "audit_entry"]:
        rows = await _as_app(database, None, f"SELECT count(*) AS n FROM {table}")
        assert rows[0]["n"] == 0, table


async def test_an_org_sees_only_its_own_relationships_and_their_rows(demo, database, owner):
    otra = demo["orgs"]["Otra Industria"]
    rels = await _as_app(database, otra, "SELECT name FROM relationship")
    assert [r["name"] for r in rels] == ["Maintenance spare parts"]
    contacts = await _as_app(database, otra, "SELECT c.name FROM contact c")
    assert {r["name"] for r in contacts} == {"Olga Jansen"}
    users = await _as_app(database, otra, "SELECT email FROM app_user ORDER BY email")
    # her colleagues, and the supplier's members of her own relationship: nobody from Lácteos or Envases
    assert [r["email"] for r in users] == ["olga@otra.example", "sergio@sur.example"]
    orgs = await _as_app(database, otra, "SELECT name FROM organization ORDER BY name")
    assert [r["name"] for r in orgs] == ["Otra Industria", "Suministros Sur"]


async def test_writing_into_another_companys_relationship_is_refused(demo, database):
    otra = demo["orgs"]["Otra Industria"]
    target = demo["relationships"]["Yoghurt cups and lids"]
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await _as_app(database, otra,
                      "INSERT INTO contact (id, relationship, org, side, purpose, name, email, phone, hours, version,"
                      " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'client', 'quality', 'x', '', '',"
                      " '', 1, now(), now())", target, otra)
    updated = await _as_app(database, otra, "UPDATE relationship SET name = 'hijacked' WHERE id = $1 RETURNING id",
                            target)
    assert updated == []


async def test_a_supplier_cannot_add_contacts_for_the_client_side(demo, database):
    envases = demo["orgs"]["Envases Norte"]
    lacteos = demo["orgs"]["Lácteos del Valle"]
    target = demo["relationships"]["Yoghurt cups and lids"]
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await _as_app(database, envases,
                      "INSERT INTO contact (id, relationship, org, side, purpose, name, email, phone, hours, version,"
                      " created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'client', 'quality', 'x', '', '',"
                      " '', 1, now(), now())", target, lacteos)


async def test_audit_log_is_append_only_for_the_app(demo, database):
    lacteos = demo["orgs"]["Lácteos del Valle"]
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await _as_app(database, lacteos, "UPDATE audit_entry SET action = 'x'")
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await _as_app(database, lacteos, "DELETE FROM audit_entry")


async def test_the_web_app_refuses_to_start_as_a_superuser(database, redis, servers):
    from backend.app import create_app

    application = create_app(database_url=database.admin_url, redis_url=servers.redis_url)
    with pytest.raises(BaseException) as raised:  # anyio wraps it in an ExceptionGroup
        async with application.lifespan():
            pass
    assert "neither a superuser nor BYPASSRLS" in repr(raised.value)
