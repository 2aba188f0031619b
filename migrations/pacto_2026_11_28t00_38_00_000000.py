"""CSV imports: column mappings and import jobs, row-level security."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T00:38:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "imports row level security"

SQL = r"""
GRANT SELECT, INSERT, UPDATE ON csv_mapping, import_job TO pacto_runtime;
ALTER TABLE csv_mapping ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON csv_mapping
  USING (pacto_visible_relationship(relationship) AND org = pacto_org())
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());
ALTER TABLE import_job ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON import_job
  USING (pacto_visible_relationship(relationship) AND org = pacto_org())
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());
CREATE UNIQUE INDEX csv_mapping_once ON csv_mapping (relationship, org, kind);
CREATE INDEX import_job_of ON import_job (relationship, created_at DESC);

CREATE FUNCTION pacto_import_job_org(p_job uuid) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT org FROM import_job WHERE id = p_job $f$;
REVOKE ALL ON FUNCTION pacto_import_job_org(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_import_job_org(uuid) TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
