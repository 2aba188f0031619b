"""Who may see and change a relationship, its members and its contacts.

An org admin sees all of the org's relationships; other users those they are members of.
Anything else is 404, whether it exists or not.
"""
from __future__ import annotations

import re
from contextvars import ContextVar, Token
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


def relationship_query(relationship: str, user: str) -> str:
    """The relationship `relationship` (row-level security hides it from outsiders), the membership
    in it of `user` (SQL expressions: a parameter, a column) and both sides' organizations."""
    return (f"SELECT {db.columns_of(Relationship, 'r')}, m.role AS pacto_member_role,"
            f" m.id IS NOT NULL AS pacto_is_member, {db.columns_of(Organization, 'client')},"
            f" {db.columns_of(Organization, 'supplier')} FROM relationship r"
            " JOIN organization client ON client.id = r.client_org"
            " JOIN organization supplier ON supplier.id = r.supplier_org"
            f" LEFT JOIN relationship_member m ON m.relationship = r.id AND m.\"user\" = {user}"
            f" WHERE r.id = {relationship}")


_RELATIONSHIP_FOR = relationship_query("$1", "$2")

# A relationship's page (GET /relationships/{id}/…) reads its relationship in the same round trip
# as the signed-in user (web/middleware.py): (relationship id, user id, the row or None)
_read_ahead: ContextVar[tuple[UUID, UUID, dict | None] | None] = ContextVar("relationship_read_ahead", default=None)
_PAGE = re.compile(r"/relationships/([0-9a-fA-F-]{36})(?:/|$)")


def page_relationship(method: str, path: str) -> UUID | None:
    """The relationship whose page a GET asks for, to be read ahead with the signed-in user."""
    if method not in ("GET", "HEAD") or not (found := _PAGE.match(path)):
        return None
    try:
        return UUID(found.group(1))
    except ValueError:
        return None


def read_ahead(relationship_id: UUID, user_id: UUID, row: dict | None) -> Token:
    """Hand get_relationship_for() the row of relationship_query(relationship_id, user_id) that was
    read with the signed-in user (None: none visible); reset with the token when the request ends."""
    return _read_ahead.set((relationship_id, user_id, row))


def end_read_ahead(token: Token) -> None:
    _read_ahead.reset(token)


async def get_relationship_for(actor: Actor, relationship_id: UUID) -> RelationshipView:
    if actor.relationships is not None and relationship_id not in actor.relationships:
        raise not_found()  # an API token reaches only the relationships it was given
    ahead = _read_ahead.get()
    if ahead is not None and ahead[0] == relationship_id and ahead[1] == actor.user.id:
        _read_ahead.set(None)  # taken once: a later call reads again
        data = None if ahead[2] is None else dict(ahead[2])
    else:
        row = await db.raw_one(_RELATIONSHIP_FOR, relationship_id, actor.user.id)
        data = None if row is None else dict(row)
    if data is None:
        raise not_found()
    is_member, role = data.pop("pacto_is_member"), data.pop("pacto_member_role")
    orgs = {side: db.row_of(Organization, data, side) for side in ("client", "supplier")}
    relationship = db.row_of(Relationship, data, "r")
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
