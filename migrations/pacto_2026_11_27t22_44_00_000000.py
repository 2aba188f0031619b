"""Commitment executions: row-level security, one record per occurrence."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T22:44:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "commitment executions row level security"

SQL = r"""
GRANT SELECT, INSERT ON commitment_execution TO pacto_runtime;
ALTER TABLE commitment_execution ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON commitment_execution
  USING (pacto_visible_relationship(relationship))
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());
CREATE UNIQUE INDEX commitment_execution_once ON commitment_execution (relationship, commitment, due_date);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
