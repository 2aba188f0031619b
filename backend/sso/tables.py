"""Per-organization OpenID Connect connections and the identities they vouch for."""
from piccolo.columns import JSONB, UUID, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.tenancy.tables import Organization, User


class SsoConnection(Table, tablename="sso_connection"):
    id = UUID(primary_key=True)
    org = ForeignKey(Organization, null=False, index=True)
    name = Varchar(length=200)  # shown on the button: "Sign in with <name>"
    issuer = Varchar(length=500)
    client_id = Varchar(length=500)
    client_secret_encrypted = Text()
    default_role = Varchar(length=16, default="member")
    groups_claim = Varchar(length=100, default="groups")
    group_roles = JSONB(default={})  # {"<group>": "admin" | "member"}
    sso_required = Boolean(default=False)
    break_glass_user = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    show_on_login = Boolean(default=False)
    enabled = Boolean(default=True)
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SsoDomain(Table, tablename="sso_domain"):
    """An e-mail domain that belongs to one connection (home-realm discovery)."""

    id = UUID(primary_key=True)
    domain = Varchar(length=253, unique=True)
    connection = ForeignKey(SsoConnection, null=False, index=True, on_delete=OnDelete.cascade)
    org = ForeignKey(Organization, null=False)


class SsoIdentity(Table, tablename="sso_identity"):
    """(issuer, subject) → user. Users are matched by this pair, never by e-mail alone."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, null=False, index=True, on_delete=OnDelete.cascade)
    org = ForeignKey(Organization, null=False)
    connection = ForeignKey(SsoConnection, null=True, on_delete=OnDelete.set_null)
    issuer = Varchar(length=500)
    subject = Varchar(length=255)
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)
