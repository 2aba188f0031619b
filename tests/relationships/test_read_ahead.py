"""A relationship's page reads its relationship in the round trip that reads the signed-in user
(web/middleware.py), and get_relationship_for() takes that row: the same answers as its own query,
one round trip fewer, and only for the relationship and the user it was read for."""
import asyncpg.connection
import pytest
from litestar.exceptions import NotFoundException

from backend import db
from backend.relationships import access
from backend.tenancy.tables import Organization, User
from backend.web.current import Actor


def rel(demo):
    return demo["relationships"]["Yoghurt cups and lids"]


@pytest.fixture
def statements(monkeypatch):
    """The statements the app sends while the test runs (observed, not replaced)."""
    seen: list[str] = []
    run = asyncpg.connection.Connection._execute

    async def observed(self, query, args, limit, timeout, **kwargs):
        seen.append(query)
        return await run(self, query, args, limit, timeout, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "_execute", observed)
    return seen


async def test_a_relationship_page_reads_the_relationship_with_the_user(demo, browser, statements):
    bram = await browser("bram@envases.example")
    statements.clear()
    page = await bram.get(f"/relationships/{rel(demo)}/contacts")
    assert page.status_code == 200 and "Muelle de recepción" in page.text
    assert [s for s in statements if access.relationship_query("$1", "$2") in s] == []  # not asked again
    assert sum(access.relationship_query("$3", "u.id") in s for s in statements) == 1

    # a form's POST reads the relationship itself, inside the handler that may change it
    statements.clear()
    await bram.post(f"/relationships/{rel(demo)}/contacts", {"purpose": "billing", "name": "Facturación",
                                                            "email": "facturas@envases.example"})
    assert sum(access.relationship_query("$1", "$2") in s for s in statements) == 1


@pytest.mark.parametrize(("email", "status"), [
    ("ana@lacteos.example", 200),  # member, client side
    ("carlos@lacteos.example", 200),  # viewer
    ("eva@envases.example", 200),  # member, supplier side
    ("olga@otra.example", 404),  # another company: sees nothing of it
    ("sergio@sur.example", 404),
])
async def test_read_ahead_answers_as_the_handlers_own_query(demo, browser, email, status):
    user = await browser(email)
    for path in ("", "/contacts", "/members", "/deviations", "/scorecard"):
        page = await user.get(f"/relationships/{rel(demo)}{path}")
        assert page.status_code == status, (email, path)
        if status == 404:
            assert "Yoghurt cups and lids" not in page.text


async def test_a_member_removed_is_refused_by_the_read_ahead_too(demo, browser, owner):
    carlos = await browser("carlos@lacteos.example")
    assert (await carlos.get(f"/relationships/{rel(demo)}")).status_code == 200
    await owner.execute('DELETE FROM relationship_member WHERE "user" = $1 AND relationship = $2',
                        demo["users"]["carlos@lacteos.example"], rel(demo))
    assert (await carlos.get(f"/relationships/{rel(demo)}")).status_code == 404  # not an admin
    ana = await browser("ana@lacteos.example")
    await owner.execute('DELETE FROM relationship_member WHERE "user" = $1 AND relationship = $2',
                        demo["users"]["ana@lacteos.example"], rel(demo))
    assert (await ana.get(f"/relationships/{rel(demo)}")).status_code == 200  # an admin sees it still


async def test_a_row_read_ahead_serves_only_its_relationship_and_user_once(demo, one_connection):
    org = demo["orgs"]["Lácteos del Valle"]
    async with db.tenant_transaction(org):
        ana = await User.objects().where(User.email == "ana@lacteos.example").first()
        carlos = await User.objects().where(User.email == "carlos@lacteos.example").first()
        actor = Actor(user=ana, org=await Organization.objects().where(Organization.id == org).first())
        # a row read for someone else, or for another relationship, is not taken: the view is read
        for other in ((rel(demo), carlos.id), (demo["relationships"]["Maintenance spare parts"], ana.id)):
            token = access.read_ahead(*other, None)
            try:
                assert (await access.get_relationship_for(actor, rel(demo))).side == "client"
            finally:
                access.end_read_ahead(token)
        # the row read for this user and relationship is taken (None: nothing visible), once
        token = access.read_ahead(rel(demo), ana.id, None)
        try:
            with pytest.raises(NotFoundException):
                await access.get_relationship_for(actor, rel(demo))
            view = await access.get_relationship_for(actor, rel(demo))
            assert view.side == "client" and view.my_role == "responsable" and view.can_write
        finally:
            access.end_read_ahead(token)
