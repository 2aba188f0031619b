"""JSON API for operational data: bulk, idempotent (upsert by external id), all-or-nothing."""
from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import post

from backend.operations import ingest
from backend.relationships.access import get_relationship_for
from backend.web.current import Actor

BODY_LIMIT = 512 * 1024 * 1024  # a million delivery rows as JSON


class IngestResult(msgspec.Struct):
    rows: int
    months: list[str]


class OrdersIn(msgspec.Struct):
    orders: list[dict[str, Any]]


class DeliveriesIn(msgspec.Struct):
    deliveries: list[dict[str, Any]]


class InvoicesIn(msgspec.Struct):
    invoices: list[dict[str, Any]]


class ForecastsIn(msgspec.Struct):
    forecasts: list[dict[str, Any]]


@post("/api/v1/relationships/{relationship_id:uuid}/orders", status_code=200, request_max_body_size=BODY_LIMIT)
async def post_orders(actor: Actor, relationship_id: UUID, data: OrdersIn) -> IngestResult:
    """`{"orders": [{"external_id", "ordered_at", "lines": [{"external_id", "item_code", "qty_ordered",
    "promised_date", "unit_price"?, "location"?}]}]}`. Rows (lines) are numbered from 1 in errors."""
    view = await get_relationship_for(actor, relationship_id)
    return IngestResult(**await ingest.ingest_orders(actor=actor, view=view, orders=data.orders))


@post("/api/v1/relationships/{relationship_id:uuid}/deliveries", status_code=200,
      request_max_body_size=BODY_LIMIT)
async def post_deliveries(actor: Actor, relationship_id: UUID, data: DeliveriesIn) -> IngestResult:
    """`{"deliveries": [{"external_id", "line_external_id", "delivered_at", "qty_delivered", "qty_rejected"?}]}`"""
    view = await get_relationship_for(actor, relationship_id)
    return IngestResult(**await ingest.ingest_deliveries(actor=actor, view=view, deliveries=data.deliveries))


@post("/api/v1/relationships/{relationship_id:uuid}/invoices", status_code=200, request_max_body_size=BODY_LIMIT)
async def post_invoices(actor: Actor, relationship_id: UUID, data: InvoicesIn) -> IngestResult:
    """`{"invoices": [{"external_id", "amount", "issued_on", "due_date", "paid_on"?, "disputed"?}]}`"""
    view = await get_relationship_for(actor, relationship_id)
    return IngestResult(**await ingest.ingest_invoices(actor=actor, view=view, invoices=data.invoices))


@post("/api/v1/relationships/{relationship_id:uuid}/forecasts", status_code=200, request_max_body_size=BODY_LIMIT)
async def post_forecasts(actor: Actor, relationship_id: UUID, data: ForecastsIn) -> IngestResult:
    """`{"forecasts": [{"external_id", "item_code", "period": "YYYY-MM", "qty"}]}`"""
    view = await get_relationship_for(actor, relationship_id)
    return IngestResult(**await ingest.ingest_forecasts(actor=actor, view=view, forecasts=data.forecasts))


routes = [post_orders, post_deliveries, post_invoices, post_forecasts]
