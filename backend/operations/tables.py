"""Operational data both sides share, as the ERPs send it: orders and their lines, deliveries
(several per line, with rejected quantities), invoices and forecasts. Each row keeps the ERP's
external id, unique per relationship, so that sending it again updates it instead of duplicating."""
from decimal import Decimal

from piccolo.columns import JSONB, UUID, Boolean, Date, ForeignKey, Integer, Numeric, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from backend.relationships.tables import Relationship
from backend.tenancy.tables import Organization, User


class PurchaseOrder(Table, tablename="purchase_order"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    external_id = Varchar(length=100)
    ordered_at = Timestamptz()
    updated_at = Timestamptz()
    source_org = UUID(null=True, default=None)  # the organization that sent it, the only one that may change it


class OrderLine(Table, tablename="order_line"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    purchase_order = ForeignKey(PurchaseOrder, null=False, on_delete=OnDelete.cascade)
    external_id = Varchar(length=100)
    item_code = Varchar(length=100)
    qty_ordered = Numeric(digits=(16, 3))
    unit_price = Numeric(digits=(16, 6), null=True, default=None)
    promised_date = Date()
    location = Varchar(length=200, default="")
    updated_at = Timestamptz()
    source_org = UUID(null=True, default=None)  # the organization that sent it, the only one that may change it


class Delivery(Table, tablename="delivery"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    order_line = ForeignKey(OrderLine, null=False, on_delete=OnDelete.cascade)
    external_id = Varchar(length=100)
    delivered_at = Timestamptz()
    qty_delivered = Numeric(digits=(16, 3))
    qty_rejected = Numeric(digits=(16, 3), default=Decimal(0))
    updated_at = Timestamptz()
    source_org = UUID(null=True, default=None)  # the organization that sent it, the only one that may change it


class Invoice(Table, tablename="invoice"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    external_id = Varchar(length=100)
    amount = Numeric(digits=(16, 2))
    issued_on = Date()
    due_date = Date()
    paid_on = Date(null=True, default=None)
    disputed = Boolean(default=False)
    updated_at = Timestamptz()
    source_org = UUID(null=True, default=None)  # the organization that sent it, the only one that may change it


class Forecast(Table, tablename="forecast"):
    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    external_id = Varchar(length=100)
    item_code = Varchar(length=100)
    period = Varchar(length=7)  # YYYY-MM
    qty = Numeric(digits=(16, 3))
    updated_at = Timestamptz()
    source_org = UUID(null=True, default=None)  # the organization that sent it, the only one that may change it


class KpiValue(Table, tablename="kpi_value"):
    """A KPI of a relationship for one period, as computed from the period's rows: numerator and
    denominator are exact counts or sums, the value is None when the period has no data. A frozen
    value (a closed period) changes only through an audited reopen."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    metric = Varchar(length=40)
    period_kind = Varchar(length=8)  # month | quarter | year
    period_start = Date()
    numerator = Numeric(digits=(20, 4), null=True, default=None)
    denominator = Numeric(digits=(20, 4), null=True, default=None)
    value = Numeric(digits=(20, 4), null=True, default=None)
    lines = Integer(default=0)  # rows the period had
    computed_at = Timestamptz()
    frozen_at = Timestamptz(null=True, default=None)


class CsvMapping(Table, tablename="csv_mapping"):
    """How a relationship's CSV files of one kind name their columns: {field: column}."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=16)
    mapping = JSONB(default={})
    updated_at = Timestamptz()


class ImportJob(Table, tablename="import_job"):
    """A CSV import, run by a worker: its progress, and the rows it rejected."""

    id = UUID(primary_key=True)
    relationship = ForeignKey(Relationship, null=False, on_delete=OnDelete.restrict)
    org = ForeignKey(Organization, null=False, on_delete=OnDelete.restrict)
    created_by = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    kind = Varchar(length=16)
    filename = Varchar(length=255)
    mapping = JSONB(default={})
    status = Varchar(length=12, default="uploaded")  # uploaded | queued | running | done | rejected | failed
    total = Integer(default=0)
    processed = Integer(default=0)
    errors = JSONB(null=True, default=None)
    result = JSONB(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
