"""Organizations (the tenants), their users and invitations."""
from piccolo.columns import (
    JSONB,
    Array,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

ORG_ROLES = ("admin", "member")


class Organization(Table, tablename="organization"):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    default_locale = Varchar(length=8, default="en")
    currency = Varchar(length=3, default="EUR")
    time_zone = Varchar(length=64, default="Europe/Madrid")
    created_at = Timestamptz()


class User(Table, tablename="app_user"):
    id = UUID(primary_key=True)
    org = ForeignKey(Organization, null=False, index=True)
    email = Varchar(length=254, unique=True)  # stored lower-case
    name = Varchar(length=200)
    password_hash = Varchar(length=255, null=True, default=None)
    org_role = Varchar(length=16, default="member")
    locale = Varchar(length=8, null=True, default=None)
    is_active = Boolean(default=True)
    can_sign = Boolean(default=False)  # authorised to sign agreements for the organization
    version = Integer(default=1)
    created_at = Timestamptz()


class Invitation(Table, tablename="invitation"):
    """A colleague invited into an org, or a supplier invited to form a relationship."""

    id = UUID(primary_key=True)
    org = ForeignKey(Organization, null=False, index=True)  # the inviting organization
    kind = Varchar(length=16)  # colleague | supplier
    email = Varchar(length=254)
    org_role = Varchar(length=16, default="member")
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    invited_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    # supplier invitations: the relationship to form
    details = JSONB(default={})
    created_at = Timestamptz()


class ApiToken(Table, tablename="api_token"):
    """An organization's token for its ERP integration: stored as a SHA-256 hash (the token is
    shown once), limited to chosen relationships, revocable; acts for the admin who created it."""

    id = UUID(primary_key=True)
    org = ForeignKey(Organization, null=False, index=True)
    created_by = ForeignKey(User, null=False)
    name = Varchar(length=100)
    prefix = Varchar(length=16)  # the first characters, to recognise a token in the list
    token_hash = Varchar(length=64, unique=True)
    relationships = Array(base_column=UUID())
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
