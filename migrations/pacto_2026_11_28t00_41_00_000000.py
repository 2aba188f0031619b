"""API tokens: visible to their own organization only; looked up by hash before anyone acts."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T00:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api tokens row level security"

SQL = r"""
GRANT SELECT, INSERT, UPDATE ON api_token TO pacto_runtime;
ALTER TABLE api_token ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON api_token USING (org = pacto_org()) WITH CHECK (org = pacto_org());

CREATE FUNCTION pacto_api_token_lookup(p_hash text)
  RETURNS TABLE (token_id uuid, org_id uuid, user_id uuid, relationships uuid[])
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT t.id, t.org, t.created_by, t.relationships FROM api_token t JOIN app_user u ON u.id = t.created_by
    WHERE t.token_hash = p_hash AND t.revoked_at IS NULL AND u.is_active $f$;
REVOKE ALL ON FUNCTION pacto_api_token_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_api_token_lookup(text) TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
