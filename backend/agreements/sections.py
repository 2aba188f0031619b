"""The sections of an agreement version: what each holds, how each field is validated, and the
canonical form that is hashed and signed.

A version's content is one JSON document: {"<section>": [rows...] or {fields...}}. Every row has a
stable "id". Numbers are stored as canonical decimal strings (no float ever touches money or
percentages), dates as ISO strings.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from backend.web import i18n
from backend.web.i18n import gettext as _
from backend.web.i18n import lazy

# The KPI library (DESIGN.md section 5): metric → (measured party, lower is better)
KPI_LIBRARY = {
    "on_time_delivery": ("supplier", False),
    "in_full": ("supplier", False),
    "otif": ("supplier", False),
    "unit_fill_rate": ("supplier", False),
    "order_fill_rate": ("supplier", False),
    "perfect_order": ("supplier", False),
    "average_lead_time_days": ("supplier", True),
    "rejection_ppm": ("supplier", True),
    "deviation_response_hours": ("supplier", True),
    "invoice_accuracy": ("supplier", False),
    "forecast_accuracy": ("client", False),
    "payment_on_time": ("client", False),
    "receiving_window_adherence": ("client", False),
}
KPI_LABELS = {
    "on_time_delivery": lazy("On-time delivery %"), "in_full": lazy("In-full %"), "otif": lazy("OTIF %"),
    "unit_fill_rate": lazy("Unit fill rate %"), "order_fill_rate": lazy("Order fill rate %"),
    "perfect_order": lazy("Perfect order %"), "average_lead_time_days": lazy("Average lead time (days)"),
    "rejection_ppm": lazy("Rejection rate (PPM)"), "deviation_response_hours": lazy("Deviation response time (hours)"),
    "invoice_accuracy": lazy("Invoice accuracy %"), "forecast_accuracy": lazy("Forecast accuracy %"),
    "payment_on_time": lazy("Payment on time %"), "receiving_window_adherence": lazy("Receiving-window adherence %"),
}
PARTIES = {"client": lazy("Client"), "supplier": lazy("Supplier")}
PERIODS = {"month": lazy("Month"), "quarter": lazy("Quarter"), "year": lazy("Year")}
RECURRENCES = {"once": lazy("Once"), "weekly": lazy("Weekly"), "monthly": lazy("Monthly"),
               "quarterly": lazy("Quarterly"), "yearly": lazy("Yearly")}
DEVIATION_TYPES = {"late_delivery": lazy("Late delivery"), "short_delivery": lazy("Short delivery"),
                   "quality_rejection": lazy("Quality rejection"), "documentation": lazy("Missing documents"),
                   "commitment_missed": lazy("Commitment missed"), "kpi_shortfall": lazy("KPI shortfall"),
                   "other": lazy("Other")}
FORMULAS = {"fixed_per_incident": lazy("Fixed amount per incident"),
            "percent_per_day_late": lazy("% of line value per day late"),
            "kpi_service_credit": lazy("Service credit per point of KPI shortfall")}
NO_RESPONSE = {"deemed_accepted": lazy("Deemed accepted"), "escalate": lazy("Escalated to level 1")}
STEP_CONDITIONS = {"unconditional": lazy("Unconditional"), "withheld_if_missed": lazy("Withheld if missed"),
                   "reduced_if_missed": lazy("Reduced if missed")}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | textarea | int | decimal | date | choice | contact
    required: bool = True
    choices: dict[str, str] = field(default_factory=dict)
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    help: str = ""
    side: str | None = None  # for kind "contact": whose contacts


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: str  # list | object
    fields: tuple[Field, ...]
    intro: str = ""


def _pct(name: str, label: str, required: bool = True, help: str = "") -> Field:
    return Field(name, label, "decimal", required, minimum=Decimal(0), maximum=Decimal(100), help=help)


SECTIONS: tuple[Section, ...] = (
    Section("kpis", lazy("KPIs of both parties"), "list", (
        Field("metric", lazy("Metric"), "choice", choices=KPI_LABELS),
        Field("measured_party", lazy("Measured party"), "choice", choices=PARTIES),
        Field("target", lazy("Target"), "decimal", minimum=Decimal(0)),
        Field("warning", lazy("Warning threshold"), "decimal", minimum=Decimal(0)),
        Field("period", lazy("Period"), "choice", choices=PERIODS),
        Field("weight", lazy("Weight"), "decimal", minimum=Decimal(0), maximum=Decimal(100)),
        Field("early_tolerance_days", lazy("Early tolerance (days)"), "int", False, minimum=0, maximum=60,
              help=lazy("One set of tolerances judges every delivery of the agreement, for all delivery KPIs: "
                        "the OTIF row's, else those of the first row that has any.")),
        Field("late_tolerance_days", lazy("Late tolerance (days)"), "int", False, minimum=0, maximum=60),
        _pct("quantity_tolerance_pct", lazy("Quantity tolerance %"), False),
    )),
    Section("commitments", lazy("Commitments (special agreements)"), "list", (
        Field("text", lazy("What was agreed"), "textarea"),
        Field("owing_party", lazy("Owed by"), "choice", choices=PARTIES),
        Field("owner_contact", lazy("Owner"), "contact", False),
        Field("recorded_how", lazy("How it is recorded"), "text", False),
        Field("recurrence", lazy("Recurrence"), "choice", choices=RECURRENCES),
        Field("due_date", lazy("Due date (first)"), "date"),
        Field("evidence", lazy("Evidence expected"), "text", False),
    )),
    Section("penalty_rules", lazy("Penalty rules"), "list", (
        Field("trigger", lazy("Trigger"), "choice", choices=DEVIATION_TYPES),
        Field("kpi_metric", lazy("KPI (for a KPI shortfall)"), "choice", False, choices=KPI_LABELS),
        Field("formula", lazy("Formula"), "choice", choices=FORMULAS),
        Field("amount", lazy("Amount per incident"), "decimal", False, minimum=Decimal(0)),
        _pct("rate_pct", lazy("Rate % (per day late or per point)"), False),
        _pct("cap_pct", lazy("Cap % of line or period value"), False),
        Field("grace_count", lazy("Free incidents per period"), "int", False, minimum=0, maximum=1000),
        Field("minimum_amount", lazy("Minimum amount"), "decimal", False, minimum=Decimal(0)),
    )),
    Section("terms", lazy("Dispute terms and review cadence"), "object", (
        _pct("period_cap_pct", lazy("Cap on all penalties of a period, % of invoiced value")),
        Field("supplier_response_days", lazy("Supplier response time (business days)"), "int", minimum=1, maximum=90),
        Field("client_review_days", lazy("Client review time (business days)"), "int", minimum=1, maximum=90),
        Field("on_no_response", lazy("When the supplier does not answer"), "choice", choices=NO_RESPONSE),
        Field("holidays", lazy("Holidays (one date per line, YYYY-MM-DD)"), "textarea", False),
        Field("first_quarterly_review", lazy("First quarterly review"), "date", False),
        Field("yearly_update", lazy("Yearly update date"), "date", False),
    )),
    Section("escalation", lazy("Escalation ladder"), "list", (
        Field("level", lazy("Level"), "int", minimum=1, maximum=9),
        Field("client_contact", lazy("Client contact"), "contact", side="client"),
        Field("supplier_contact", lazy("Supplier contact"), "contact", side="supplier"),
        Field("days", lazy("Days at this level"), "int", minimum=1, maximum=365),
    )),
    Section("price_items", lazy("Price schedule: items and base prices"), "list", (
        Field("item_code", lazy("Item code")),
        Field("description", lazy("Description"), "text", False),
        Field("unit", lazy("Unit"), "text", False),
        Field("base_price", lazy("Base unit price"), "decimal", minimum=Decimal(0)),
        Field("annual_volume", lazy("Annual volume commitment"), "decimal", False, minimum=Decimal(0)),
    )),
    Section("price_steps", lazy("Price schedule: yearly steps"), "list", (
        Field("year", lazy("Contract year"), "int", minimum=2, maximum=30),
        Field("step_pct", lazy("Price step %"), "decimal", minimum=Decimal(-100), maximum=Decimal(100)),
        Field("condition", lazy("Condition"), "choice", choices=STEP_CONDITIONS),
        Field("reduced_step_pct", lazy("Reduced step %"), "decimal", False, minimum=Decimal(-100), maximum=Decimal(100)),
    )),
    Section("volume_tiers", lazy("Price schedule: volume tiers"), "list", (
        Field("item_code", lazy("Item code")),
        Field("min_quantity", lazy("From quantity"), "decimal", minimum=Decimal(0)),
        Field("unit_price", lazy("Unit price"), "decimal", minimum=Decimal(0)),
    )),
    Section("rebate_bands", lazy("Price schedule: year-end rebate bands"), "list", (
        Field("min_volume", lazy("From annual volume"), "decimal", minimum=Decimal(0)),
        _pct("rebate_pct", lazy("Rebate %")),
    )),
    Section("improvements", lazy("Price schedule: improvement commitments per year"), "list", (
        Field("year", lazy("Contract year"), "int", minimum=1, maximum=30),
        Field("description", lazy("Commitment")),
        Field("kpi_metric", lazy("Measured by KPI"), "choice", False, choices=KPI_LABELS),
        Field("target", lazy("Target"), "decimal", False),
        Field("evidence", lazy("Evidence (when not measured by a KPI)"), "text", False),
    )),
    Section("gain_sharing", lazy("Price schedule: gain-sharing split"), "object", (
        _pct("supplier_share_pct", lazy("Supplier's share %")),
        _pct("client_share_pct", lazy("Client's share %")),
    )),
    Section("locations", lazy("Delivery locations"), "list", (
        Field("name", lazy("Location")),
        Field("address", lazy("Address"), "text", False),
        Field("receiving_windows", lazy("Receiving windows"),
              help=lazy("Days and hours, for example: Mon–Fri 06:00–14:00; Sat 08:00–12:00")),
        Field("capacity", lazy("Capacity"), "text", False),
        Field("documents", lazy("Documents required at delivery"), "text", False),
    )),
    Section("items", lazy("Catalogue"), "list", (
        Field("item_code", lazy("Item code")),
        Field("name", lazy("Name")),
        Field("specs", lazy("Technical specifications"), "textarea", False),
    )),
)
BY_KEY = {section.key: section for section in SECTIONS}


def empty_content() -> dict[str, Any]:
    return {s.key: ([] if s.kind == "list" else {}) for s in SECTIONS}


def clean_row(section: Section, data: dict[str, str], contact_sides: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """Validate one row (or the object) of a section. Returns (values, {field: message})."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in section.fields:
        raw = (data.get(f.name) or "").strip()
        if not raw:
            if f.required:
                errors[f.name] = _("This field is required.")
            values[f.name] = None if f.kind not in ("text", "textarea") else ""
            continue
        try:
            values[f.name] = _parse(f, raw, contact_sides)
        except ValueError as exc:
            errors[f.name] = str(exc)
    if not errors:
        errors |= _cross_checks(section.key, values)
    return values, errors


def _parse(f: Field, raw: str, contact_sides: dict[str, str]) -> Any:
    if f.kind in ("text", "textarea"):
        limit = 4000 if f.kind == "textarea" else 300
        if len(raw) > limit:
            raise ValueError(_("Use at most %(n)s characters.", n=limit))
        return raw
    if f.kind == "choice":
        if raw not in f.choices:
            raise ValueError(_("Choose a value from the list."))
        return raw
    if f.kind == "contact":
        if raw not in contact_sides or (f.side and contact_sides[raw] != f.side):
            raise ValueError(_("Choose one of the designated contacts."))
        return raw
    if f.kind == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    if f.kind == "int":
        try:
            number = int(raw)
        except ValueError:
            raise ValueError(_("Enter a whole number.")) from None
    else:
        try:
            number = i18n.parse_decimal(raw)
        except InvalidOperation:
            raise ValueError(_("Enter a number, like 12.5.")) from None
        if not number.is_finite():
            raise ValueError(_("Enter a number, like 12.5."))
    if f.minimum is not None and number < f.minimum:
        raise ValueError(_("Use a value of at least %(n)s.", n=f.minimum))
    if f.maximum is not None and number > f.maximum:
        raise ValueError(_("Use a value of at most %(n)s.", n=f.maximum))
    return number if f.kind == "int" else format(number.normalize(), "f")


def _cross_checks(key: str, v: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if key == "kpis":
        party, lower_is_better = KPI_LIBRARY[v["metric"]]
        if v["measured_party"] != party:
            errors["measured_party"] = _("This KPI measures the %(party)s.", party=_(PARTIES[party]).lower())
        target, warning = Decimal(v["target"]), Decimal(v["warning"])
        if lower_is_better and warning < target:
            errors["warning"] = _("Lower is better for this KPI: the warning threshold must be at or above the target.")
        if not lower_is_better and warning > target:
            errors["warning"] = _("Higher is better for this KPI: the warning threshold must be at or below the target.")
    elif key == "penalty_rules":
        if v["trigger"] == "kpi_shortfall" and not v["kpi_metric"]:
            errors["kpi_metric"] = _("Choose the KPI whose shortfall triggers this rule.")
        if v["formula"] == "fixed_per_incident" and v["amount"] is None:
            errors["amount"] = _("A fixed penalty needs an amount.")
        if v["formula"] in ("percent_per_day_late", "kpi_service_credit") and v["rate_pct"] is None:
            errors["rate_pct"] = _("This formula needs a rate.")
        if v["formula"] == "kpi_service_credit" and v["trigger"] != "kpi_shortfall":
            errors["formula"] = _("A service credit follows a KPI shortfall.")
    elif key == "price_steps":
        if v["condition"] == "reduced_if_missed" and v["reduced_step_pct"] is None:
            errors["reduced_step_pct"] = _("Give the reduced step.")
    elif key == "terms" and v.get("holidays"):
        for number, line in enumerate(v["holidays"].splitlines(), start=1):
            try:
                date.fromisoformat(line.strip())
            except ValueError:
                errors["holidays"] = _("Line %(n)s is not a date as YYYY-MM-DD.", n=number)
                break
    elif key == "locations":
        try:
            parse_windows(v["receiving_windows"])
        except ValueError as exc:
            errors["receiving_windows"] = str(exc)
    elif key == "gain_sharing":
        if Decimal(v["supplier_share_pct"]) + Decimal(v["client_share_pct"]) != 100:
            errors["client_share_pct"] = _("The two shares must add up to 100 %.")
    return errors


# day names (English, Spanish, Dutch; short and long) → ISO day of the week
_DAYS = {name: number for number, names in enumerate((
    "mon monday lun lunes ma maandag", "tue tues tuesday mar martes di dinsdag",
    "wed wednesday mié mie miércoles miercoles wo woensdag", "thu thur thurs thursday jue jueves do donderdag",
    "fri friday vie viernes vr vrijdag", "sat saturday sáb sab sábado sabado za zaterdag",
    "sun sunday dom domingo zo zondag"), start=1) for name in names.split()}
_RANGE = r"\s*[-–—]\s*|\s+(?:to|a|tot)\s+"
_HOURS = re.compile(rf"(\d{{1,2}})[:.h](\d{{2}})(?:{_RANGE})(\d{{1,2}})[:.h](\d{{2}})")


def parse_windows(text: str) -> list[tuple[int, time, time]]:
    """Receiving windows as (ISO day of the week, opens, closes), from text such as "Mon–Fri
    06:00–14:00; Sat 08:00–12:00" (days as ranges or lists; several hour ranges per group; groups
    apart by ";" or lines). ValueError with a message saying how to write them."""
    problem = _("Write the windows as days and hours, for example: Mon–Fri 06:00–14:00; Sat 08:00–12:00.")
    windows: list[tuple[int, time, time]] = []
    for group in filter(None, (g.strip() for g in re.split(r"[;\n]", text or ""))):
        first = _HOURS.search(group)
        if first is None:
            raise ValueError(problem)
        days_text, hours_text = group[:first.start()].strip().lower().rstrip(":"), group[first.start():]
        days: set[int] = set()
        for part in filter(None, (p.strip() for p in re.split(r"[,/&]|\s+(?:and|y|en)\s+", days_text))):
            if part in ("daily", "every day", "todos los días", "todos los dias", "dagelijks", "elke dag"):
                days.update(range(1, 8))
                continue
            ends = [e.strip().rstrip(".") for e in re.split(_RANGE, part, maxsplit=1)]
            if any(e not in _DAYS for e in ends):
                raise ValueError(problem)
            low, high = _DAYS[ends[0]], _DAYS[ends[-1]]
            days.update(range(low, high + 1) if low <= high else [*range(low, 8), *range(1, high + 1)])
        if not days:
            raise ValueError(problem)
        spans = list(_HOURS.finditer(hours_text))
        if re.sub(r"[\s,y&]|and|en", "", _HOURS.sub("", hours_text)):
            raise ValueError(problem)
        for span in spans:
            try:
                opens = time(int(span.group(1)), int(span.group(2)))
                closes = time(int(span.group(3)), int(span.group(4)))
            except ValueError:
                raise ValueError(problem) from None
            if closes <= opens:
                raise ValueError(problem)
            windows.extend((day, opens, closes) for day in sorted(days))
    return windows


def new_row_id() -> str:
    return secrets.token_hex(6)


def canonical(relationship_id: str, number: int, effective_date: str | None, content: dict[str, Any]) -> bytes:
    """The bytes that are hashed and signed: stable key order, no insignificant whitespace."""
    document = {"relationship": str(relationship_id), "number": number, "effective_date": effective_date,
                "content": content}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(relationship_id: str, number: int, effective_date: str | None, content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(relationship_id, number, effective_date, content)).hexdigest()
