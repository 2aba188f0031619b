"""State changes of relationships, their members and designated contacts."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from uuid import UUID, uuid4

from backend.audit.actions import record
from backend.relationships.access import RelationshipView
from backend.relationships.tables import (
    CONTACT_PURPOSES,
    MEMBER_ROLES,
    Contact,
    Relationship,
    RelationshipMember,
)
from backend.tenancy.actions import check_email, check_name, normalise_email
from backend.tenancy.tables import User
from backend.web.current import Actor
from backend.web.errors import Conflict, FieldErrors, Forbidden
from backend.web.i18n import gettext as _

PHONE_RE = re.compile(r"^[0-9+() .\-/]{5,40}$")


async def create_relationship(*, client_org_id: UUID, supplier_org_id: UUID, name: str, time_zone: str,
                              currency: str, start_date: date, members: list[tuple[UUID, UUID, str]],
                              actor: Actor | None = None) -> Relationship:
    now = datetime.now(timezone.utc)
    relationship = Relationship(id=uuid4(), client_org=client_org_id, supplier_org=supplier_org_id,
                                name=name.strip(), status="active", time_zone=time_zone, currency=currency,
                                start_date=start_date, created_at=now)
    await relationship.save()
    for user_id, org_id, role in members:
        await RelationshipMember(id=uuid4(), relationship=relationship.id, user=user_id, org=org_id, role=role,
                                 created_at=now).save()
    await record("relationship.created", actor=actor, relationship_id=relationship.id,
                 target_type="relationship", target_id=relationship.id, target_label=relationship.name,
                 details={"client_org": str(client_org_id), "supplier_org": str(supplier_org_id),
                          "members": [[str(u), role] for u, _, role in members]})
    return relationship


# -- contacts -------------------------------------------------------------------------------

@dataclass
class ContactInput:
    purpose: str
    name: str
    email: str = ""
    phone: str = ""
    hours: str = ""
    escalation_level: str | int | None = None
    user_id: str | None = None

    def cleaned(self) -> tuple[dict, dict[str, str]]:
        errors: dict[str, str] = {}
        values = {
            "purpose": self.purpose,
            "name": (self.name or "").strip(),
            "email": normalise_email(self.email),
            "phone": (self.phone or "").strip(),
            "hours": (self.hours or "").strip(),
            "escalation_level": None,
        }
        if self.purpose not in CONTACT_PURPOSES:
            errors["purpose"] = _("Choose what this contact is for.")
        errors |= check_name(values["name"])
        if values["email"]:
            errors |= check_email(values["email"])
        if values["phone"] and not PHONE_RE.match(values["phone"]):
            errors["phone"] = _("Use digits, spaces and + - ( ) only, 5 to 40 characters.")
        if not values["email"] and not values["phone"]:
            errors["email"] = _("Give at least an e-mail address or a phone number.")
        if len(values["hours"]) > 120:
            errors["hours"] = _("Use at most %(n)s characters.", n=120)
        if self.purpose == "escalation":
            try:
                level = int(self.escalation_level or 0)
            except (TypeError, ValueError):
                level = 0
            if not 1 <= level <= 9:
                errors["escalation_level"] = _("Give the escalation level, from 1 to 9.")
            values["escalation_level"] = level
        return values, errors


async def _linked_user(actor: Actor, user_id: str | None) -> UUID | None:
    if not user_id:
        return None
    try:
        uid = UUID(user_id)
    except ValueError:
        raise FieldErrors({"user_id": _("Choose a colleague from the list.")}) from None
    found = await User.exists().where((User.id == uid) & (User.org == actor.org.id))
    if not found:
        raise FieldErrors({"user_id": _("Choose a colleague from the list.")})
    return uid


async def do_add_contact(*, actor: Actor, view: RelationshipView, data: ContactInput) -> Contact:
    if not view.can_write:
        raise Forbidden()
    values, errors = data.cleaned()
    if errors:
        raise FieldErrors(errors)
    now = datetime.now(timezone.utc)
    contact = Contact(id=uuid4(), relationship=view.relationship.id, org=actor.org.id, side=view.side,
                      user=await _linked_user(actor, data.user_id), created_at=now, updated_at=now, **values)
    await contact.save()
    await record("contact.added", actor=actor, relationship_id=view.relationship.id, target_type="contact",
                 target_id=contact.id, target_label=contact.name, details=values | {"side": view.side})
    return contact


async def do_update_contact(*, actor: Actor, contact: Contact, view: RelationshipView, data: ContactInput,
                            version: int) -> Contact:
    values, errors = data.cleaned()
    if errors:
        raise FieldErrors(errors)
    values["user"] = await _linked_user(actor, data.user_id)
    before = {key: getattr(contact, key) for key in values}
    columns = {getattr(Contact, key): value for key, value in values.items()}
    columns[Contact.version] = version + 1
    columns[Contact.updated_at] = datetime.now(timezone.utc)
    updated = await Contact.update(columns).where(
        (Contact.id == contact.id) & (Contact.version == version)
    ).returning(Contact.id)
    if not updated:
        raise Conflict()
    for key, value in values.items():
        setattr(contact, key, value)
    contact.version = version + 1
    changed = {k: {"before": str(before[k]), "after": str(values[k])} for k in values if before[k] != values[k]}
    await record("contact.updated", actor=actor, relationship_id=view.relationship.id, target_type="contact",
                 target_id=contact.id, target_label=contact.name, details=changed)
    return contact


async def do_remove_contact(*, actor: Actor, contact: Contact, view: RelationshipView) -> None:
    await Contact.delete().where(Contact.id == contact.id)
    await record("contact.removed", actor=actor, relationship_id=view.relationship.id, target_type="contact",
                 target_id=contact.id, target_label=contact.name,
                 details={"purpose": contact.purpose, "email": contact.email, "phone": contact.phone})


# -- members --------------------------------------------------------------------------------

async def do_add_member(*, actor: Actor, view: RelationshipView, user_id: str, role: str) -> RelationshipMember:
    if not (actor.is_admin or view.my_role in ("responsable", "manager")):
        raise Forbidden()
    errors = {}
    if role not in MEMBER_ROLES:
        errors["role"] = _("Choose a role.")
    try:
        uid = UUID(user_id)
    except (TypeError, ValueError):
        uid = None
    user = await User.objects().where((User.id == uid) & (User.org == actor.org.id)).first() if uid else None
    if user is None:
        errors["user_id"] = _("Choose a colleague from the list.")
    elif await RelationshipMember.exists().where(
        (RelationshipMember.relationship == view.relationship.id) & (RelationshipMember.user == user.id)
    ):
        errors["user_id"] = _("This person is already a member.")
    if errors:
        raise FieldErrors(errors)
    member = RelationshipMember(id=uuid4(), relationship=view.relationship.id, user=user.id, org=actor.org.id,
                                role=role, created_at=datetime.now(timezone.utc))
    await member.save()
    await record("member.added", actor=actor, relationship_id=view.relationship.id, target_type="member",
                 target_id=member.id, target_label=user.email, details={"role": role, "side": view.side})
    return member


async def do_change_member_role(*, actor: Actor, member: RelationshipMember, view: RelationshipView,
                                role: str) -> None:
    if role not in MEMBER_ROLES:
        raise FieldErrors({"role": _("Choose a role.")})
    await RelationshipMember.update({RelationshipMember.role: role}).where(RelationshipMember.id == member.id)
    await record("member.role_changed", actor=actor, relationship_id=view.relationship.id,
                 target_type="member", target_id=member.id, details={"before": member.role, "after": role})
    member.role = role


async def do_remove_member(*, actor: Actor, member: RelationshipMember, view: RelationshipView) -> None:
    await RelationshipMember.delete().where(RelationshipMember.id == member.id)
    await record("member.removed", actor=actor, relationship_id=view.relationship.id, target_type="member",
                 target_id=member.id, details={"user": str(member.user), "role": member.role})
