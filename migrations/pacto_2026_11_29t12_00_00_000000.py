"""Sessions in PostgreSQL: the middleware reads a session with its user, their organization and
the relationship of the page in one statement, where the session was a round trip to Redis first.

The cookie names the organization beside a random secret; the request's transaction acts as
that organization, so the row-level policy only shows its sessions: a cookie naming another
organization than its session's finds nothing. A row holds the SHA-256 of the cookie, never
the cookie itself. No Piccolo table: only backend/web/sessions.py and the middleware read it.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sessions"

SQL = r"""
CREATE TABLE app_session (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  org uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
  extra jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX app_session_user ON app_session (user_id);
GRANT SELECT, INSERT, DELETE ON app_session TO pacto_runtime;
ALTER TABLE app_session ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON app_session USING (org = pacto_org()) WITH CHECK (org = pacto_org());

-- the nightly clean-up of every organization's expired sessions (the runtime role sees one organization's)
CREATE FUNCTION pacto_delete_expired_sessions() RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ WITH gone AS (DELETE FROM app_session WHERE expires_at <= now() RETURNING 1) SELECT count(*)::integer FROM gone $f$;
REVOKE ALL ON FUNCTION pacto_delete_expired_sessions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_delete_expired_sessions() TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
