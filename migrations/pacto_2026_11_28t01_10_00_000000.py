"""Row-level security that the planner can evaluate once per query.

`pacto_visible_relationship(rel)` holds an EXISTS subquery, which PostgreSQL never inlines, so a
policy calling it ran the function for every row (about 10 µs each: seconds over a year of order
lines). Every policy now says `rel IN (SELECT id FROM relationship WHERE <mine>)` instead: an
uncorrelated subquery, hashed once per statement. The rule itself is unchanged.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "row level security evaluated once per statement"

SQL = r"""
DO $$
DECLARE
  p record;
  pattern text := 'pacto_visible_relationship\(([a-z_.]+)\)';
  replacement text := '(\1 IN (SELECT pacto_r.id FROM relationship pacto_r'
                      ' WHERE pacto_r.client_org = pacto_org() OR pacto_r.supplier_org = pacto_org()))';
BEGIN
  FOR p IN SELECT schemaname, tablename, policyname, qual, with_check FROM pg_policies
           WHERE schemaname = 'public'
             AND (qual LIKE '%pacto_visible_relationship(%' OR with_check LIKE '%pacto_visible_relationship(%')
  LOOP
    IF p.qual IS NOT NULL THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)', p.policyname, p.schemaname, p.tablename,
                     regexp_replace(p.qual, pattern, replacement, 'g'));
    END IF;
    IF p.with_check IS NOT NULL THEN
      EXECUTE format('ALTER POLICY %I ON %I.%I WITH CHECK (%s)', p.policyname, p.schemaname, p.tablename,
                     regexp_replace(p.with_check, pattern, replacement, 'g'));
    END IF;
  END LOOP;
END $$;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
