"""Gain reports and volume warnings: both sides of the relationship read them; a warning is sent
once per contract year, item and kind."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "gains and volume warnings row level security"

MINE = ("relationship IN (SELECT pacto_r.id FROM relationship pacto_r"
        " WHERE pacto_r.client_org = pacto_org() OR pacto_r.supplier_org = pacto_org())")

SQL = f"""
GRANT SELECT, INSERT, UPDATE ON gain_report TO pacto_runtime;
ALTER TABLE gain_report ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON gain_report USING ({MINE}) WITH CHECK ({MINE});
CREATE INDEX gain_report_of ON gain_report (relationship, year, created_at);

GRANT SELECT, INSERT ON volume_warning TO pacto_runtime;
ALTER TABLE volume_warning ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON volume_warning USING ({MINE}) WITH CHECK ({MINE});
CREATE UNIQUE INDEX volume_warning_once ON volume_warning (relationship, year, item_code, kind);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
