"""Rows read with raw SQL become the same Piccolo objects that Piccolo's own queries give."""

from backend import db
from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User


async def test_raw_rows_become_the_objects_piccolo_builds(demo, one_connection):
    org = demo["orgs"]["Lácteos del Valle"]
    async with db.tenant_transaction(org):
        piccolo_user = await User.objects().where(User.email == "ana@lacteos.example").first()
        row = await db.raw_one(f"SELECT {db.columns_of(User, 'u')}, {db.columns_of(Organization, 'o')}"
                               " FROM app_user u JOIN organization o ON o.id = u.org WHERE u.email = $1",
                               "ana@lacteos.example")
        data = dict(row)
        user, organization = db.row_of(User, data, "u"), db.row_of(Organization, data, "o")
        assert data == {}  # every column taken out
        assert type(user) is User and vars(user) == vars(piccolo_user)
        assert vars(organization) == vars(await Organization.objects().where(Organization.id == org).first())
        relationship = await Relationship.objects().first()
        raw = db.object_of(Relationship, await db.raw_one("SELECT * FROM relationship WHERE id = $1",
                                                          relationship.id))
        assert vars(raw) == vars(relationship) and raw.name and raw.time_zone

        # and they behave as Piccolo's do: saved as an UPDATE of the row they came from
        users = await User.count()
        user.name = "Ana B."
        await user.save([User.name])
        assert (await User.objects().where(User.id == user.id).first()).name == "Ana B."
        assert await User.count() == users  # nothing inserted
