"""API shapes for relationships and contacts."""
from __future__ import annotations

from datetime import date
from uuid import UUID

import msgspec


class OrganizationRef(msgspec.Struct):
    id: UUID
    name: str


class RelationshipRead(msgspec.Struct):
    id: UUID
    name: str
    status: str
    side: str
    client: OrganizationRef
    supplier: OrganizationRef
    time_zone: str
    currency: str
    start_date: date
    my_role: str | None


class RelationshipPage(msgspec.Struct):
    items: list[RelationshipRead]
    next_cursor: str | None


class ContactRead(msgspec.Struct):
    id: UUID
    relationship_id: UUID
    side: str
    purpose: str
    escalation_level: int | None
    name: str
    email: str
    phone: str
    hours: str
    user_id: UUID | None
    version: int


class ContactCreate(msgspec.Struct, forbid_unknown_fields=True):
    purpose: str
    name: str
    email: str = ""
    phone: str = ""
    hours: str = ""
    escalation_level: int | None = None
    user_id: UUID | None = None


class ContactUpdate(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    purpose: str | msgspec.UnsetType = msgspec.UNSET
    name: str | msgspec.UnsetType = msgspec.UNSET
    email: str | msgspec.UnsetType = msgspec.UNSET
    phone: str | msgspec.UnsetType = msgspec.UNSET
    hours: str | msgspec.UnsetType = msgspec.UNSET
    escalation_level: int | None | msgspec.UnsetType = msgspec.UNSET
    user_id: UUID | None | msgspec.UnsetType = msgspec.UNSET
