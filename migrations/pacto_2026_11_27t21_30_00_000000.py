"""Row-level security, the runtime role's privileges, append-only audit, pre-sign-in lookups.

The application connects as a member of `pacto_runtime`: not a superuser, not the owner of
the tables, without BYPASSRLS, so every policy below applies to it. `app.org_id` is set per
transaction by backend.db.tenant_transaction().
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "row level security"

SQL = r"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pacto_runtime') THEN
    CREATE ROLE pacto_runtime NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

GRANT USAGE ON SCHEMA public TO pacto_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON organization, app_user, invitation, relationship,
  relationship_member, contact TO pacto_runtime;
-- the audit log is append-only for the application
GRANT SELECT, INSERT ON audit_entry TO pacto_runtime;
GRANT SELECT ON migration TO pacto_runtime;

CREATE FUNCTION pacto_org() RETURNS uuid LANGUAGE sql STABLE AS
$f$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $f$;

CREATE FUNCTION pacto_visible_relationship(rel uuid) RETURNS boolean LANGUAGE sql STABLE AS
$f$ SELECT EXISTS (SELECT 1 FROM relationship r
                   WHERE r.id = rel AND (r.client_org = pacto_org() OR r.supplier_org = pacto_org())) $f$;

ALTER TABLE organization ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON organization
  USING (id = pacto_org() OR EXISTS (
    SELECT 1 FROM relationship r
    WHERE (r.client_org = organization.id AND r.supplier_org = pacto_org())
       OR (r.supplier_org = organization.id AND r.client_org = pacto_org())))
  WITH CHECK (id = pacto_org());

ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON app_user
  USING (org = pacto_org() OR EXISTS (
    SELECT 1 FROM relationship_member m
    WHERE m."user" = app_user.id AND pacto_visible_relationship(m.relationship)))
  WITH CHECK (org = pacto_org());

ALTER TABLE invitation ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invitation USING (org = pacto_org()) WITH CHECK (org = pacto_org());

ALTER TABLE relationship ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON relationship
  USING (client_org = pacto_org() OR supplier_org = pacto_org())
  WITH CHECK (client_org = pacto_org() OR supplier_org = pacto_org());

ALTER TABLE relationship_member ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON relationship_member
  USING (pacto_visible_relationship(relationship))
  WITH CHECK (pacto_visible_relationship(relationship));

ALTER TABLE contact ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON contact
  USING (pacto_visible_relationship(relationship))
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());

ALTER TABLE audit_entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON audit_entry
  USING (org = pacto_org() OR (relationship IS NOT NULL AND pacto_visible_relationship(relationship)))
  WITH CHECK ((relationship IS NULL AND org = pacto_org())
              OR (relationship IS NOT NULL AND pacto_visible_relationship(relationship)));

CREATE UNIQUE INDEX audit_entry_chain_seq ON audit_entry (chain, seq);

CREATE FUNCTION pacto_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$f$ BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $f$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
  FOR EACH ROW EXECUTE FUNCTION pacto_audit_append_only();

CREATE UNIQUE INDEX relationship_member_unique ON relationship_member (relationship, "user");

-- Before sign-in nobody is acting yet: these narrow functions answer the few questions that
-- need a look across organizations, and nothing more.
CREATE FUNCTION pacto_login_lookup(p_email text)
  RETURNS TABLE (user_id uuid, org_id uuid, password_hash text, is_active boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT id, org, password_hash, is_active FROM app_user WHERE email = lower(p_email) $f$;

CREATE FUNCTION pacto_invitation_peek(p_token_hash text) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT jsonb_build_object(
      'id', i.id, 'org_id', i.org, 'org_name', o.name, 'kind', i.kind, 'email', i.email,
      'org_role', i.org_role, 'details', i.details, 'expires_at', i.expires_at,
      'accepted_at', i.accepted_at, 'revoked_at', i.revoked_at,
      'invited_by', i.invited_by, 'inviter_name', u.name)
    FROM invitation i JOIN organization o ON o.id = i.org LEFT JOIN app_user u ON u.id = i.invited_by
    WHERE i.token_hash = p_token_hash $f$;

-- Single use: only one caller can claim a token; a rolled-back transaction un-claims it.
CREATE FUNCTION pacto_invitation_claim(p_token_hash text) RETURNS uuid
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ UPDATE invitation SET accepted_at = now()
    WHERE token_hash = p_token_hash AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
    RETURNING id $f$;

REVOKE ALL ON FUNCTION pacto_login_lookup(text), pacto_invitation_peek(text),
  pacto_invitation_claim(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_login_lookup(text), pacto_invitation_peek(text),
  pacto_invitation_claim(text) TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
