"""Penalties (DESIGN.md section 6): pure functions over Decimal, rounded half-up to cents only
at the end of each penalty, each with the calculation both sides can check.

Nothing here touches the database: the workflow hands in the rule of the agreement version in
force when the deviation occurred, the figures, and the incidents already counted in the period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from backend.web.i18n import lazy

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _d(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@dataclass(frozen=True)
class Step:
    """One line of a calculation: a message id and its parameters (money as (amount, currency))."""

    text: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Penalty:
    amount: Decimal  # what the rule gives for this incident, before the period cap
    steps: tuple[Step, ...]
    free_by_grace: bool = False


def fixed_per_incident(rule: dict, *, currency: str, incident_number: int) -> Penalty:
    """`incident_number`: this deviation's rank among the rule's confirmed ones in the period (1-based)."""
    amount = _d(rule.get("amount")) or Decimal(0)
    return _finish(rule, amount, (Step(lazy("%(amount)s per incident"), {"amount": (amount, currency)}),),
                   currency, incident_number)


def percent_per_day_late(rule: dict, *, line_value: Decimal, days_late: int, currency: str,
                         incident_number: int) -> Penalty:
    """Value of the affected line × rate per day × days late, capped at a % of the line value."""
    rate = _d(rule.get("rate_pct")) or Decimal(0)
    raw = Decimal(days_late) * rate / HUNDRED * line_value
    steps = [Step(lazy("%(days)s days × %(rate)s %% × %(value)s = %(result)s"),
                  {"days": days_late, "rate": rate, "value": (line_value, currency), "result": (cents(raw), currency)})]
    raw = _capped(rule, raw, line_value, lazy("capped at %(cap)s %% of the line value: %(result)s"), steps,
                  currency)
    return _finish(rule, raw, tuple(steps), currency, incident_number)


def kpi_service_credit(rule: dict, *, period_value: Decimal, shortfall_points: Decimal, currency: str,
                       incident_number: int = 1) -> Penalty:
    """Period invoiced value × rate per point of shortfall, capped at a % of the period value."""
    rate = _d(rule.get("rate_pct")) or Decimal(0)
    raw = shortfall_points * rate / HUNDRED * period_value
    steps = [Step(lazy("%(points)s points × %(rate)s %% × %(value)s = %(result)s"),
                  {"points": shortfall_points, "rate": rate, "value": (period_value, currency),
                   "result": (cents(raw), currency)})]
    raw = _capped(rule, raw, period_value, lazy("capped at %(cap)s %% of the period value: %(result)s"), steps,
                  currency)
    return _finish(rule, raw, tuple(steps), currency, incident_number)


def _capped(rule: dict, raw: Decimal, base: Decimal, message: str, steps: list[Step], currency: str) -> Decimal:
    """The rule's cap (a % of `base`), noting it in the steps when it applies."""
    cap_pct = _d(rule.get("cap_pct"))
    if cap_pct is None or raw <= cap_pct / HUNDRED * base:
        return raw
    cap = cap_pct / HUNDRED * base
    steps.append(Step(message, {"cap": cap_pct, "result": (cents(cap), currency)}))
    return cap


def _finish(rule: dict, raw: Decimal, steps: tuple[Step, ...], currency: str, incident_number: int) -> Penalty:
    grace = int(rule.get("grace_count") or 0)
    if incident_number <= grace:
        return Penalty(Decimal("0.00"), steps + (Step(lazy("incident %(n)s of %(grace)s free in the period: 0"),
                                                      {"n": incident_number, "grace": grace}),), True)
    amount = cents(raw)
    minimum = _d(rule.get("minimum_amount"))
    if minimum is not None and amount < minimum:
        steps += (Step(lazy("raised to the minimum of %(minimum)s"), {"minimum": (cents(minimum), currency)}),)
        amount = cents(minimum)
    return Penalty(amount, steps)


@dataclass(frozen=True)
class CappedLine:
    key: object
    amount: Decimal
    charged: Decimal
    capped_off: Decimal


def apply_period_cap(amounts: list[tuple[object, Decimal]], *, period_value: Decimal, cap_pct: Decimal | None
                     ) -> tuple[list[CappedLine], Decimal]:
    """Charge penalties in the order given (the order they occurred) until the period cap is used;
    what exceeds it is shown, not charged. Returns the lines and the cap itself."""
    cap = cents(cap_pct / HUNDRED * period_value) if cap_pct is not None else None
    left = cap
    lines = []
    for key, amount in amounts:
        charged = amount if left is None else min(amount, left)
        if left is not None:
            left -= charged
        lines.append(CappedLine(key, amount, charged, amount - charged))
    return lines, cap


def explain(penalty: Penalty, render) -> str:
    """The calculation as one sentence; `render(step)` turns a step into text in the reader's
    language (money and numbers formatted for the locale)."""
    return "; ".join(render(step) for step in penalty.steps)


def render_step(step: Step) -> str:
    """A step in the current request's language, money and numbers formatted for its locale."""
    from backend.web import i18n

    params = {key: i18n.format_money(*value) if isinstance(value, tuple) else i18n.format_number(value)
              for key, value in step.params.items()}
    return i18n.gettext(step.text) % params
