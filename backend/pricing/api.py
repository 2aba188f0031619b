"""JSON API for the price schedule: the effective unit price of an item for a date and quantity."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, get

from backend.agreements.actions import content_of, in_force_on
from backend.pricing import schedule
from backend.pricing.actions import decisions_of
from backend.relationships.access import get_relationship_for
from backend.web.current import Actor
from backend.web.errors import FieldErrors
from backend.web.i18n import gettext as _


async def quote_for(relationship, item: str, day_text: str, qty_text: str) -> tuple[schedule.Quote, Any]:
    """(quote, version) for the query's item, date and quantity; FieldErrors naming each bad field."""
    errors = {}
    item = (item or "").strip()
    if not item:
        errors["item"] = _("Give the item code.")
    day = datetime.now(ZoneInfo(relationship.time_zone)).date()
    if day_text:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            errors["date"] = _("Use a date as YYYY-MM-DD.")
    quantity = None
    if qty_text:
        try:
            quantity = Decimal(qty_text)
            if not quantity.is_finite() or quantity < 0:
                raise InvalidOperation
        except InvalidOperation:
            errors["qty"] = _("Use a number of at least 0.")
    if errors:
        raise FieldErrors(errors)
    version = await in_force_on(relationship.id, day)
    if version is None:
        raise FieldErrors({"date": _("No signed agreement was in force on that date.")})
    try:
        return schedule.quote(content_of(version), relationship.start_date, await decisions_of(relationship.id), item,
                              day, quantity), version
    except KeyError:
        raise FieldErrors({"item": _("The agreement in force on that date has no price for this item.")}) from None


@get("/api/v1/relationships/{relationship_id:uuid}/prices")
async def get_price(request: Request, actor: Actor, relationship_id: UUID) -> dict[str, Any]:
    """`?item=CODE&date=YYYY-MM-DD&qty=N` (date defaults to today in the relationship's time zone; qty,
    the annual quantity, picks the volume tier and gives the amount)."""
    view = await get_relationship_for(actor, relationship_id)
    rel = view.relationship
    q, version = await quote_for(rel, request.query_params.get("item", ""), request.query_params.get("date", ""),
                                 request.query_params.get("qty", ""))
    return {"item": q.item_code, "date": q.day.isoformat(), "quantity": None if q.quantity is None else str(q.quantity),
            "currency": rel.currency, "contract_year": q.year, "unit_price": str(q.unit_price),
            "amount": None if q.amount is None else str(q.amount), "base_price": str(q.base_price),
            "tier_from": None if q.tier_from is None else str(q.tier_from), "agreement_version": version.number,
            "steps": [{"year": s.year, "written_pct": _pct(s.written_pct), "applied_pct": _pct(s.applied_pct),
                       "condition": s.condition, "status": s.status} for s in q.steps],
            "explanation": q.explanation()}


def _pct(value: Decimal) -> str:
    return format(value.normalize(), "f")  # 3.0000 → "3", 1.5000 → "1.5"


routes = [get_price]
