"""Row-level security for SSO connections, and the lookups the sign-in flow makes before
anybody is signed in (home-realm discovery, the connection's settings, (issuer, subject))."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T21:47:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sso row level security"

SQL = r"""
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_connection, sso_domain, sso_identity TO pacto_runtime;

ALTER TABLE sso_connection ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sso_connection USING (org = pacto_org()) WITH CHECK (org = pacto_org());
ALTER TABLE sso_domain ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sso_domain USING (org = pacto_org()) WITH CHECK (org = pacto_org());
ALTER TABLE sso_identity ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sso_identity USING (org = pacto_org()) WITH CHECK (org = pacto_org());

CREATE UNIQUE INDEX sso_identity_issuer_subject ON sso_identity (issuer, subject);

-- Which connection owns an e-mail domain (enabled connections only).
CREATE FUNCTION pacto_sso_for_domain(p_domain text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT c.id FROM sso_domain d JOIN sso_connection c ON c.id = d.connection
    WHERE d.domain = lower(p_domain) AND c.enabled $f$;

-- The settings the sign-in flow needs for one connection (the secret stays encrypted).
CREATE FUNCTION pacto_sso_connection(p_id uuid) RETURNS jsonb
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT jsonb_build_object(
      'id', c.id, 'org_id', c.org, 'name', c.name, 'issuer', c.issuer, 'client_id', c.client_id,
      'client_secret_encrypted', c.client_secret_encrypted, 'default_role', c.default_role,
      'groups_claim', c.groups_claim, 'group_roles', c.group_roles, 'enabled', c.enabled,
      'domains', (SELECT coalesce(jsonb_agg(d.domain ORDER BY d.domain), '[]'::jsonb)
                  FROM sso_domain d WHERE d.connection = c.id))
    FROM sso_connection c WHERE c.id = p_id $f$;

CREATE FUNCTION pacto_sso_identity(p_issuer text, p_subject text)
  RETURNS TABLE (user_id uuid, org_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT "user", org FROM sso_identity WHERE issuer = p_issuer AND subject = p_subject $f$;

-- False when the user's organization requires SSO and the user is not its break-glass admin.
CREATE FUNCTION pacto_password_allowed(p_user uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT NOT EXISTS (
      SELECT 1 FROM app_user u JOIN sso_connection c ON c.org = u.org
      WHERE u.id = p_user AND c.enabled AND c.sso_required
        AND c.break_glass_user IS DISTINCT FROM u.id) $f$;

-- Connections an organization chose to show as buttons on the public sign-in page.
CREATE FUNCTION pacto_sso_login_buttons() RETURNS TABLE (id uuid, name text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT id, name FROM sso_connection WHERE enabled AND show_on_login ORDER BY name $f$;

REVOKE ALL ON FUNCTION pacto_sso_for_domain(text), pacto_sso_connection(uuid), pacto_sso_identity(text, text),
  pacto_password_allowed(uuid), pacto_sso_login_buttons() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_sso_for_domain(text), pacto_sso_connection(uuid),
  pacto_sso_identity(text, text), pacto_password_allowed(uuid), pacto_sso_login_buttons() TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
