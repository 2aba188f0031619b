"""Designing together: requirements and answers, and comments beside sections (private comments
never reach the other organization: row-level security says so too)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-27T22:39:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "requirements and section comments"

SQL = r"""
GRANT SELECT, INSERT, UPDATE ON requirement TO pacto_runtime;
GRANT SELECT, INSERT ON agreement_comment TO pacto_runtime;

ALTER TABLE requirement ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON requirement
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));

ALTER TABLE agreement_comment ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON agreement_comment
  USING (pacto_visible_relationship(relationship) AND (visibility = 'shared' OR org = pacto_org()))
  WITH CHECK (pacto_visible_relationship(relationship) AND org = pacto_org());
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
