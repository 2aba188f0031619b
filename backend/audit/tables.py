"""Append-only audit log, hash-chained per relationship (or per organization)."""
from piccolo.columns import JSONB, UUID, BigInt, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User


class AuditEntry(Table, tablename="audit_entry"):
    id = UUID(primary_key=True)
    # chain: 'rel:<uuid>' for a relationship's entries, 'org:<uuid>' for an organization's own
    chain = Varchar(length=64, index=True)
    seq = BigInt()
    relationship = ForeignKey(Relationship, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    org = ForeignKey(Organization, null=True, default=None, index=True)  # the actor's organization
    actor = ForeignKey(User, null=True, default=None, on_delete=OnDelete.restrict)
    actor_email = Varchar(length=254, default="")
    action = Varchar(length=64)
    target_type = Varchar(length=32, default="")
    target_id = Varchar(length=64, default="")
    target_label = Varchar(length=200, default="")
    details = JSONB(default={})
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")
    created_at = Timestamptz()
    prev_hash = Varchar(length=64, default="")
    hash = Varchar(length=64)
