"""Who may see and change a relationship, its members and its contacts.

An org admin sees all of the org's relationships; other users those they are members of.
Anything else is 404, whether it exists or not.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend import db
from backend.relationships.tables import Contact, Relationship, RelationshipMember
from backend.tenancy.tables import Organization
from backend.web.current import Actor
from backend.web.errors import not_found

WRITING_ROLES = ("responsable", "manager", "contributor")


@dataclass
class RelationshipView:
    relationship: Relationship
    side: str  # the actor's side: client | supplier
    my_role: str | None  # the actor's relationship role, None for an admin who is not a member
    can_write: bool  # may change this side's contacts and members
    orgs: dict[str, Organization] | None = None  # {"client": …, "supplier": …}, read with the relationship

    @property
    def other_side(self) -> str:
        return "supplier" if self.side == "client" else "client"


async def visible_relationship_ids(actor: Actor) -> list[UUID]:
    if actor.is_admin:
        rows = await db.raw(
            "SELECT id FROM relationship WHERE client_org = $1 OR supplier_org = $1", actor.org.id)
    else:
        rows = await db.raw(
            "SELECT r.id FROM relationship r JOIN relationship_member m ON m.relationship = r.id"
            " WHERE m.\"user\" = $1 AND (r.client_org = $2 OR r.supplier_org = $2)", actor.user.id, actor.org.id)
    return [row["id"] for row in rows if actor.relationships is None or row["id"] in actor.relationships]


_RELATIONSHIP_FOR = (
    "SELECT r.*, m.role AS pacto_member_role, m.id IS NOT NULL AS pacto_is_member, "
    f"{db.columns_of(Organization, 'client')}, {db.columns_of(Organization, 'supplier')}"
    " FROM relationship r JOIN organization client ON client.id = r.client_org"
    " JOIN organization supplier ON supplier.id = r.supplier_org"
    " LEFT JOIN relationship_member m ON m.relationship = r.id AND m.\"user\" = $2 WHERE r.id = $1")


async def get_relationship_for(actor: Actor, relationship_id: UUID) -> RelationshipView:
    if actor.relationships is not None and relationship_id not in actor.relationships:
        raise not_found()  # an API token reaches only the relationships it was given
    # one round trip: the relationship (row-level security hides it from outsiders), my membership
    # and both sides' organizations
    row = await db.raw_one(_RELATIONSHIP_FOR, relationship_id, actor.user.id)
    if row is None:
        raise not_found()
    data = dict(row)
    is_member, role = data.pop("pacto_is_member"), data.pop("pacto_member_role")
    orgs = {side: db.row_of(Organization, data, side) for side in ("client", "supplier")}
    relationship = db.object_of(Relationship, data)
    if relationship.client_org == actor.org.id:
        side = "client"
    elif relationship.supplier_org == actor.org.id:
        side = "supplier"
    else:
        raise not_found()
    if not is_member and not actor.is_admin:
        raise not_found()
    return RelationshipView(relationship, side, role, actor.is_admin or role in WRITING_ROLES, orgs)


async def get_contact_for(actor: Actor, contact_id: UUID) -> tuple[Contact, RelationshipView, bool]:
    """(contact, its relationship, may the actor change it: only contacts of the actor's own side)."""
    contact = await Contact.objects().where(Contact.id == contact_id).first()
    if contact is None:
        raise not_found()
    view = await get_relationship_for(actor, contact.relationship)
    return contact, view, view.can_write and contact.org == actor.org.id


async def get_member_for(actor: Actor, member_id: UUID) -> tuple[RelationshipMember, RelationshipView, bool]:
    member = await RelationshipMember.objects().where(RelationshipMember.id == member_id).first()
    if member is None:
        raise not_found()
    view = await get_relationship_for(actor, member.relationship)
    may_manage = member.org == actor.org.id and (actor.is_admin or view.my_role in ("responsable", "manager"))
    return member, view, may_manage
