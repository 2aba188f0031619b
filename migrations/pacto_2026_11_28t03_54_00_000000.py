"""Price schedule records: row-level security (both sides of the relationship read them) and the
indexes that make each decision and report unique."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T03:54:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "price schedule row level security"

MINE = ("relationship IN (SELECT pacto_r.id FROM relationship pacto_r"
        " WHERE pacto_r.client_org = pacto_org() OR pacto_r.supplier_org = pacto_org())")

SQL = f"""
GRANT SELECT, INSERT ON price_step_decision TO pacto_runtime;
ALTER TABLE price_step_decision ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON price_step_decision USING ({MINE}) WITH CHECK ({MINE});
CREATE UNIQUE INDEX price_step_decision_once ON price_step_decision (relationship, year);

GRANT SELECT, INSERT, UPDATE ON improvement_report TO pacto_runtime;
ALTER TABLE improvement_report ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON improvement_report USING ({MINE}) WITH CHECK ({MINE});
CREATE INDEX improvement_report_of ON improvement_report (relationship, year, commitment, created_at);

-- For the year-end job, which acts for no organization until it picks a relationship.
CREATE FUNCTION pacto_relationships_with_steps()
  RETURNS TABLE (relationship_id uuid, client_org uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT r.id, r.client_org FROM relationship r
    WHERE r.status = 'active' AND EXISTS (SELECT 1 FROM agreement_version v WHERE v.relationship = r.id
      AND v.status = 'signed' AND (v.content -> 'price_steps' @> '[{{}}]' OR v.content -> 'price_items' @> '[{{}}]')) $f$;
REVOKE ALL ON FUNCTION pacto_relationships_with_steps() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_relationships_with_steps() TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
