"""Bulk loads of deliveries pay less per row, with the same integrity.

- Ids in time order (`uuidv7()`, PostgreSQL 18) for the tables ingestion fills: a load appends to
  the end of each primary key's index instead of touching a random page of it for every row.
- A delivery's order line (same relationship, same line) is checked once per statement instead of
  once per row. The foreign key's per-row check was about a third of an INSERT's cost at a million
  rows. The statement-level check does what the key did: it takes the same lock (FOR KEY SHARE) on
  each line the statement names, so that a line cannot be deleted or change its key until the
  transaction ends, and refuses the statement with the key's error (SQLSTATE 23503, constraint
  `delivery_line_of_relationship`) when a line is missing. On the other side, deleting an order
  line deletes its deliveries and a line whose key changes takes its deliveries along, as ON
  DELETE CASCADE and ON UPDATE CASCADE did; a TRUNCATE that leaves deliveries without their order
  lines is refused (`TRUNCATE order_line CASCADE` no longer empties delivery: name both tables).
  Those three run at READ COMMITTED only: a transaction of a higher isolation level reads an older
  snapshot, would miss a delivery committed since, and leave it without its line (the key checks
  against the latest rows instead), so it is refused (SQLSTATE 55000, not a serialization failure:
  trying again at the same level cannot succeed). The application never deletes order lines or
  changes their keys; an administrator does it at READ COMMITTED, PostgreSQL's default.
- The checks are planned for each statement (EXECUTE): a plan kept from a statement of a million
  rows would scan every line for a statement of one.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "deliveries checked per statement, ids in time order"

SQL = r"""
ALTER TABLE purchase_order ALTER COLUMN id SET DEFAULT uuidv7();
ALTER TABLE order_line ALTER COLUMN id SET DEFAULT uuidv7();
ALTER TABLE delivery ALTER COLUMN id SET DEFAULT uuidv7();
ALTER TABLE invoice ALTER COLUMN id SET DEFAULT uuidv7();
ALTER TABLE forecast ALTER COLUMN id SET DEFAULT uuidv7();

ALTER TABLE delivery DROP CONSTRAINT delivery_line_of_relationship;

-- As the key's check: run by the tables' owner, so the lines are found whatever the caller's policies.
CREATE FUNCTION pacto_delivery_lines_exist() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$f$
DECLARE
  needed bigint;
  locked bigint;
  missing record;
BEGIN
  EXECUTE 'SELECT count(*) FROM (SELECT DISTINCT relationship, order_line FROM pacto_new) n' INTO needed;
  EXECUTE 'SELECT count(*) FROM (SELECT FROM order_line l'
          ' JOIN (SELECT DISTINCT relationship, order_line FROM pacto_new) n'
          ' ON l.relationship = n.relationship AND l.id = n.order_line FOR KEY SHARE OF l) k' INTO locked;
  IF locked < needed THEN
    EXECUTE 'SELECT n.relationship, n.order_line FROM pacto_new n WHERE NOT EXISTS'
            ' (SELECT FROM order_line l WHERE l.relationship = n.relationship AND l.id = n.order_line) LIMIT 1'
      INTO missing;
    RAISE foreign_key_violation USING
      MESSAGE = 'insert or update on table "delivery" violates foreign key constraint "delivery_line_of_relationship"',
      DETAIL = format('Key (relationship, order_line)=(%s, %s) is not present in table "order_line".',
                      missing.relationship, missing.order_line),
      TABLE = 'delivery', CONSTRAINT = 'delivery_line_of_relationship';
  END IF;
  RETURN NULL;
END
$f$;
CREATE TRIGGER delivery_line_of_relationship_insert AFTER INSERT ON delivery
  REFERENCING NEW TABLE AS pacto_new FOR EACH STATEMENT EXECUTE FUNCTION pacto_delivery_lines_exist();
CREATE TRIGGER delivery_line_of_relationship_update AFTER UPDATE ON delivery
  REFERENCING NEW TABLE AS pacto_new FOR EACH STATEMENT EXECUTE FUNCTION pacto_delivery_lines_exist();

-- the order_line side's actions see the latest deliveries only at READ COMMITTED
CREATE FUNCTION pacto_order_lines_at_read_committed() RETURNS void
  LANGUAGE plpgsql SET search_path = public, pg_temp AS
$f$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE object_not_in_prerequisite_state USING
      MESSAGE = 'order lines are deleted, re-keyed or truncated at READ COMMITTED only',
      HINT = 'Run the statement again in a READ COMMITTED transaction.',
      DETAIL = 'A snapshot older than the statement could miss deliveries of these lines (constraint "delivery_line_of_relationship").';
  END IF;
END
$f$;

CREATE FUNCTION pacto_order_lines_deleted() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$f$
BEGIN
  IF NOT EXISTS (SELECT FROM pacto_old) THEN
    RETURN NULL;
  END IF;
  PERFORM pacto_order_lines_at_read_committed();
  EXECUTE 'DELETE FROM delivery d USING pacto_old o WHERE d.relationship = o.relationship AND d.order_line = o.id';
  RETURN NULL;
END
$f$;
CREATE TRIGGER order_line_deliveries_deleted AFTER DELETE ON order_line
  REFERENCING OLD TABLE AS pacto_old FOR EACH STATEMENT EXECUTE FUNCTION pacto_order_lines_deleted();

CREATE FUNCTION pacto_order_line_key_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$f$
BEGIN
  PERFORM pacto_order_lines_at_read_committed();
  UPDATE delivery SET relationship = NEW.relationship, order_line = NEW.id
  WHERE relationship = OLD.relationship AND order_line = OLD.id;
  RETURN NULL;
END
$f$;
CREATE TRIGGER order_line_deliveries_follow AFTER UPDATE OF relationship, id ON order_line
  FOR EACH ROW WHEN (OLD.relationship IS DISTINCT FROM NEW.relationship OR OLD.id IS DISTINCT FROM NEW.id)
  EXECUTE FUNCTION pacto_order_line_key_changed();

-- after the statement's truncations: `TRUNCATE delivery, order_line` passes
CREATE FUNCTION pacto_order_lines_truncated() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$f$
BEGIN
  PERFORM pacto_order_lines_at_read_committed();
  IF EXISTS (SELECT FROM delivery) THEN
    RAISE foreign_key_violation USING
      MESSAGE = 'cannot truncate order_line while deliveries refer to it (constraint "delivery_line_of_relationship")',
      HINT = 'Truncate both in one statement: TRUNCATE delivery, order_line.';
  END IF;
  RETURN NULL;
END
$f$;
CREATE TRIGGER order_line_truncated AFTER TRUNCATE ON order_line
  FOR EACH STATEMENT EXECUTE FUNCTION pacto_order_lines_truncated();

REVOKE ALL ON FUNCTION pacto_delivery_lines_exist(), pacto_order_lines_at_read_committed(),
  pacto_order_lines_deleted(), pacto_order_line_key_changed(), pacto_order_lines_truncated() FROM PUBLIC;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="pacto", description=DESCRIPTION)

    async def run():
        from backend.db import DB

        await DB.current_transaction.get().connection.execute(SQL)

    manager.add_raw(run)
    return manager
