"""Operational data and KPI values: row-level security (both sides read the same rows), one row
per external id, and the indexes the KPI rollups and the ingestion upserts use."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T00:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "operations row level security"

TABLES = ("purchase_order", "order_line", "delivery", "invoice", "forecast", "kpi_value")

SQL = "GRANT SELECT, INSERT, UPDATE ON " + ", ".join(TABLES) + " TO pacto_runtime;\n" + "".join(
    f"""ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON {t}
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));
""" for t in TABLES) + r"""
CREATE UNIQUE INDEX purchase_order_external ON purchase_order (relationship, external_id);
CREATE UNIQUE INDEX order_line_external ON order_line (relationship, external_id);
CREATE UNIQUE INDEX delivery_external ON delivery (relationship, external_id);
CREATE UNIQUE INDEX invoice_external ON invoice (relationship, external_id);
CREATE UNIQUE INDEX forecast_external ON forecast (relationship, external_id);
CREATE INDEX order_line_period ON order_line (relationship, promised_date);
CREATE INDEX order_line_order ON order_line (purchase_order);
CREATE INDEX delivery_line ON delivery (order_line, delivered_at);
CREATE INDEX invoice_due ON invoice (relationship, due_date);
CREATE INDEX invoice_issued ON invoice (relationship, issued_on);
CREATE INDEX forecast_period ON forecast (relationship, period, item_code);
CREATE UNIQUE INDEX kpi_value_once ON kpi_value (relationship, metric, period_kind, period_start);

-- Months whose KPIs wait for the workers (marked by ingestion, cleared by the recompute).
CREATE TABLE kpi_dirty (relationship uuid NOT NULL REFERENCES relationship (id) ON DELETE CASCADE,
                        period_start date NOT NULL, PRIMARY KEY (relationship, period_start));
GRANT SELECT, INSERT, UPDATE, DELETE ON kpi_dirty TO pacto_runtime;
ALTER TABLE kpi_dirty ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON kpi_dirty
  USING (pacto_visible_relationship(relationship)) WITH CHECK (pacto_visible_relationship(relationship));
GRANT DELETE ON kpi_value TO pacto_runtime;

CREATE FUNCTION pacto_relationship_client(p_relationship uuid) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT client_org FROM relationship WHERE id = p_relationship $f$;
REVOKE ALL ON FUNCTION pacto_relationship_client(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_relationship_client(uuid) TO pacto_runtime;

-- For the nightly reconcile, which acts for no organization until it picks a relationship.
CREATE FUNCTION pacto_relationships_with_lines()
  RETURNS TABLE (relationship_id uuid, client_org uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$f$ SELECT r.id, r.client_org FROM relationship r
    WHERE r.status = 'active' AND EXISTS (SELECT 1 FROM order_line l WHERE l.relationship = r.id) $f$;
REVOKE ALL ON FUNCTION pacto_relationships_with_lines() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pacto_relationships_with_lines() TO pacto_runtime;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
