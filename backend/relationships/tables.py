"""A client–supplier relationship, its members from both sides and its designated contacts."""
from piccolo.columns import UUID, Boolean, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from backend.tenancy.tables import Organization, User

MEMBER_ROLES = ("responsable", "manager", "contributor", "viewer")
SIDES = ("client", "supplier")
CONTACT_PURPOSES = ("responsable", "commercial", "logistics", "quality", "billing", "escalation")
STATUSES = ("active", "suspended", "ended")


class Relationship(Table, tablename="relationship"):
    id = UUID(primary_key=True)
    client_org = ForeignKey(Organization, null=False, index=True)
    supplier_org = ForeignKey(Organization, null=False, index=True)
    name = Varchar(length=200)
    status = Varchar(length=16, default="active")
    time_zone = Varchar(length=64, default="Europe/Madrid")
    currency = Varchar(length=3, default="EUR")
    start_date = Date()
    version = Integer(default=1)
    created_at = Timestamptz()


class RelationshipMember(Table, tablename="relationship_member"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, index=True)
    user = ForeignKey(User, null=False, index=True)
    org = ForeignKey(Organization, null=False)  # the member's side, kept for row-level security
    role = Varchar(length=16, default="viewer")
    kickoff = Boolean(default=False)  # in the kick-off team that designs the agreement
    created_at = Timestamptz()


class Contact(Table, tablename="contact"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, index=True)
    org = ForeignKey(Organization, null=False)  # the side this contact speaks for
    side = Varchar(length=8)
    purpose = Varchar(length=16)
    escalation_level = Integer(null=True, default=None)
    name = Varchar(length=200)
    email = Varchar(length=254, default="")
    phone = Varchar(length=40, default="")
    hours = Varchar(length=120, default="")
    user = ForeignKey(User, null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
