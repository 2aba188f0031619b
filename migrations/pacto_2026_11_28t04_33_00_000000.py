"""Files attached to improvement and gain reports: both sides of the relationship read them."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T04:33:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report files row level security"

MINE = ("relationship IN (SELECT pacto_r.id FROM relationship pacto_r"
        " WHERE pacto_r.client_org = pacto_org() OR pacto_r.supplier_org = pacto_org())")

SQL = f"""
GRANT SELECT, INSERT ON report_file TO pacto_runtime;
ALTER TABLE report_file ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON report_file USING ({MINE}) WITH CHECK ({MINE});
CREATE INDEX report_file_of ON report_file (report_id, created_at);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
