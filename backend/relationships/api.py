"""JSON API: the caller's relationships and their designated contacts."""
from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import delete, get, patch, post

from backend import db
from backend.relationships import access, actions
from backend.relationships.schemas import (
    ContactCreate,
    ContactRead,
    ContactUpdate,
    OrganizationRef,
    RelationshipPage,
    RelationshipRead,
)
from backend.relationships.tables import Contact
from backend.web.current import Actor
from backend.web.errors import Forbidden


async def _read(view: access.RelationshipView) -> RelationshipRead:
    rel = view.relationship
    orgs = view.orgs
    return RelationshipRead(
        id=rel.id, name=rel.name, status=rel.status, side=view.side,
        client=OrganizationRef(id=orgs["client"].id, name=orgs["client"].name),
        supplier=OrganizationRef(id=orgs["supplier"].id, name=orgs["supplier"].name),
        time_zone=rel.time_zone, currency=rel.currency, start_date=rel.start_date, my_role=view.my_role,
    )


def _contact(contact: Contact) -> ContactRead:
    return ContactRead(id=contact.id, relationship_id=contact.relationship, side=contact.side,
                       purpose=contact.purpose, escalation_level=contact.escalation_level, name=contact.name,
                       email=contact.email, phone=contact.phone, hours=contact.hours, user_id=contact.user,
                       version=contact.version)


@get("/api/v1/relationships")
async def list_relationships(actor: Actor, cursor: UUID | None = None, limit: int = 50) -> RelationshipPage:
    """The caller's relationships, by id; pass `next_cursor` back as `cursor` for the next page."""
    limit = max(1, min(limit, 200))
    ids = sorted(await access.visible_relationship_ids(actor), key=str)
    if cursor:
        ids = [i for i in ids if str(i) > str(cursor)]
    page_ids = ids[:limit]
    # One query for the page (ids come from visible_relationship_ids, the same rule as access.py).
    rows = await db.raw(
        """
        SELECT r.*, c.name AS client_name, s.name AS supplier_name, m.role AS my_role
        FROM relationship r
        JOIN organization c ON c.id = r.client_org
        JOIN organization s ON s.id = r.supplier_org
        LEFT JOIN relationship_member m ON m.relationship = r.id AND m."user" = $2
        WHERE r.id = ANY($1::uuid[])
        """, page_ids, actor.user.id)
    by_id = {row["id"]: row for row in rows}
    items = [RelationshipRead(
        id=row["id"], name=row["name"], status=row["status"],
        side="client" if row["client_org"] == actor.org.id else "supplier",
        client=OrganizationRef(id=row["client_org"], name=row["client_name"]),
        supplier=OrganizationRef(id=row["supplier_org"], name=row["supplier_name"]),
        time_zone=row["time_zone"], currency=row["currency"], start_date=row["start_date"], my_role=row["my_role"],
    ) for row in (by_id[rid] for rid in page_ids)]
    return RelationshipPage(items=items, next_cursor=str(page_ids[-1]) if len(ids) > limit else None)


@get("/api/v1/relationships/{relationship_id:uuid}")
async def get_relationship(actor: Actor, relationship_id: UUID) -> RelationshipRead:
    return await _read(await access.get_relationship_for(actor, relationship_id))


@get("/api/v1/relationships/{relationship_id:uuid}/contacts")
async def list_contacts(actor: Actor, relationship_id: UUID) -> list[ContactRead]:
    view = await access.get_relationship_for(actor, relationship_id)
    contacts = await Contact.objects().where(Contact.relationship == view.relationship.id).order_by(Contact.side)
    return [_contact(c) for c in contacts]


@post("/api/v1/relationships/{relationship_id:uuid}/contacts")
async def create_contact(actor: Actor, relationship_id: UUID, data: ContactCreate) -> ContactRead:
    view = await access.get_relationship_for(actor, relationship_id)
    contact = await actions.do_add_contact(actor=actor, view=view, data=actions.ContactInput(
        purpose=data.purpose, name=data.name, email=data.email, phone=data.phone, hours=data.hours,
        escalation_level=data.escalation_level, user_id=str(data.user_id) if data.user_id else None))
    return _contact(contact)


@get("/api/v1/contacts/{contact_id:uuid}")
async def get_contact(actor: Actor, contact_id: UUID) -> ContactRead:
    contact, _, _ = await access.get_contact_for(actor, contact_id)
    return _contact(contact)


@patch("/api/v1/contacts/{contact_id:uuid}")
async def update_contact(actor: Actor, contact_id: UUID, data: ContactUpdate) -> ContactRead:
    contact, view, can_edit = await access.get_contact_for(actor, contact_id)
    if not can_edit:
        raise Forbidden()
    current = {"purpose": contact.purpose, "name": contact.name, "email": contact.email, "phone": contact.phone,
               "hours": contact.hours, "escalation_level": contact.escalation_level,
               "user_id": str(contact.user) if contact.user else None}
    for key, value in msgspec.structs.asdict(data).items():
        if key != "version" and value is not msgspec.UNSET:
            current[key] = str(value) if key == "user_id" and value else value
    await actions.do_update_contact(actor=actor, contact=contact, view=view,
                                    data=actions.ContactInput(**current), version=data.version)
    return _contact(contact)


@delete("/api/v1/contacts/{contact_id:uuid}", status_code=204)
async def delete_contact(actor: Actor, contact_id: UUID) -> None:
    contact, view, can_edit = await access.get_contact_for(actor, contact_id)
    if not can_edit:
        raise Forbidden()
    await actions.do_remove_contact(actor=actor, contact=contact, view=view)


routes = [list_relationships, get_relationship, list_contacts, create_contact, get_contact, update_contact,
          delete_contact]
