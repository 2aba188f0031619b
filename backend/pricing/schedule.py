"""The continuous-improvement price schedule of DESIGN.md section 7, as pure functions of an
agreement version's content, the contract's start date and the year-end decisions already taken.

Contract year k runs from the start date plus k−1 years to the start date plus k years. Year 1
prices are the base prices, or the unit price of the volume tier the annual quantity reaches. Each
later year multiplies the previous year's price by (1 + its step %). A conditional step is
withheld (0 %) or reduced when the previous year's improvement commitments were missed; that is
decided once, by the year-end job, and recorded; until then a year's conditional step is shown as
"pending" at the full rate. Unit prices are rounded half-up to 4 decimals at every year (so that a
schedule can be recomputed by hand); amounts to cents.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

PRICE_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")
HUNDRED = Decimal(100)


def unit(value: Decimal) -> Decimal:
    return value.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without it
        return day.replace(year=day.year + years, day=28)


def year_bounds(start: date, k: int) -> tuple[date, date]:
    """[first day, first day of the next year) of contract year k (1-based)."""
    return add_years(start, k - 1), add_years(start, k)


def contract_year(start: date, day: date) -> int:
    """The contract year holding a day; 0 before the start."""
    if day < start:
        return 0
    k = day.year - start.year + 1
    while year_bounds(start, k)[0] > day:
        k -= 1
    while year_bounds(start, k)[1] <= day:
        k += 1
    return k


def _decimal(value, default: Decimal | None = None) -> Decimal | None:
    if value in (None, ""):
        return default
    return Decimal(str(value))


@dataclass(frozen=True)
class Decision:
    """What the year-end job decided for year k's step: 'applied', 'withheld' or 'reduced'."""
    year: int
    outcome: str
    applied_pct: Decimal


@dataclass
class YearStep:
    year: int
    written_pct: Decimal
    condition: str
    applied_pct: Decimal
    status: str  # base | unconditional | applied | withheld | reduced | pending
    reduced_pct: Decimal | None = None


@dataclass
class Quote:
    item_code: str
    day: date
    quantity: Decimal | None
    year: int
    unit_price: Decimal
    base_price: Decimal
    tier_from: Decimal | None
    steps: list[YearStep] = field(default_factory=list)
    amount: Decimal | None = None

    def explanation(self) -> list[str]:
        lines = [f"year 1 base {self.base_price}" + (f" (volume tier from {self.tier_from})"
                                                       if self.tier_from is not None else "")]
        for s in self.steps:
            lines.append(f"year {s.year}: × (1 + {s.applied_pct} %) [{s.status}]")
        lines.append(f"= {self.unit_price} per unit in year {self.year}")
        return lines


def steps_of(content: dict, decisions: dict[int, Decision], years: int) -> list[YearStep]:
    """The step of each year 2..years: as written, and as applied (decided, or pending)."""
    written = {int(s["year"]): s for s in content.get("price_steps") or [] if s.get("year") not in (None, "")}
    out = []
    for k in range(2, years + 1):
        row = written.get(k)
        if row is None:
            out.append(YearStep(k, Decimal(0), "unconditional", Decimal(0), "unconditional"))
            continue
        pct, condition = _decimal(row.get("step_pct"), Decimal(0)), row.get("condition") or "unconditional"
        reduced = _decimal(row.get("reduced_step_pct"))
        if condition == "unconditional":
            out.append(YearStep(k, pct, condition, pct, "unconditional", reduced))
        elif k in decisions:
            d = decisions[k]
            out.append(YearStep(k, pct, condition, d.applied_pct, d.outcome, reduced))
        else:
            out.append(YearStep(k, pct, condition, pct, "pending", reduced))
    return out


def decide(content: dict, year: int, previous_year_met: bool) -> Decision:
    """The rule of the agreement for year k's step, given whether year k−1's commitments were met."""
    step = next((s for s in content.get("price_steps") or [] if str(s.get("year")) == str(year)), None)
    if step is None:
        return Decision(year, "applied", Decimal(0))
    pct = _decimal(step.get("step_pct"), Decimal(0))
    condition = step.get("condition") or "unconditional"
    if previous_year_met or condition == "unconditional":
        return Decision(year, "applied", pct)
    if condition == "withheld_if_missed":
        return Decision(year, "withheld", Decimal(0))
    return Decision(year, "reduced", _decimal(step.get("reduced_step_pct"), Decimal(0)))


def year_one_price(content: dict, item_code: str, quantity: Decimal | None) -> tuple[Decimal, Decimal | None]:
    """(unit price, tier threshold) in year 1: the highest volume tier the annual quantity reaches, else
    the base price. Raises KeyError for an item the schedule does not price."""
    item = next((i for i in content.get("price_items") or [] if i.get("item_code") == item_code), None)
    if item is None:
        raise KeyError(item_code)
    price, tier_from = Decimal(str(item["base_price"])), None
    if quantity is not None:
        reached = [t for t in content.get("volume_tiers") or [] if t.get("item_code") == item_code
                   and Decimal(str(t["min_quantity"])) <= quantity]
        if reached:
            tier = max(reached, key=lambda t: Decimal(str(t["min_quantity"])))
            price, tier_from = Decimal(str(tier["unit_price"])), Decimal(str(tier["min_quantity"]))
    return price, tier_from


def quote(content: dict, start: date, decisions: dict[int, Decision], item_code: str, day: date,
          quantity: Decimal | None = None) -> Quote:
    year = max(contract_year(start, day), 1)
    base, tier_from = year_one_price(content, item_code, quantity)
    steps = steps_of(content, decisions, year)
    price = unit(base)
    for s in steps:
        price = unit(price * (1 + s.applied_pct / HUNDRED))
    result = Quote(item_code, day, quantity, year, price, base, tier_from, steps)
    if quantity is not None:
        result.amount = money(price * quantity)
    return result


def years_of(content: dict, start: date, until: date) -> int:
    """How many contract years the schedule covers: its last step or commitment year, at least the
    year holding `until`."""
    years = [int(s["year"]) for s in content.get("price_steps") or [] if s.get("year") not in (None, "")]
    years += [int(c["year"]) for c in content.get("improvements") or [] if c.get("year") not in (None, "")]
    return max([contract_year(start, until), 1, *years])


def rebate(content: dict, volume: Decimal, value: Decimal) -> tuple[Decimal, Decimal | None]:
    """(rebate %, band threshold) the annual volume reaches, and so the rebate on the year's value."""
    bands = [b for b in content.get("rebate_bands") or [] if Decimal(str(b["min_volume"])) <= volume]
    if not bands:
        return Decimal(0), None
    band = max(bands, key=lambda b: Decimal(str(b["min_volume"])))
    return Decimal(str(band["rebate_pct"])), Decimal(str(band["min_volume"]))


def gain_split(content: dict, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(supplier's share, client's share) of a confirmed efficiency gain, in cents, adding up."""
    terms = content.get("gain_sharing") or {}
    supplier_pct = _decimal(terms.get("supplier_share_pct"), Decimal(50))
    supplier = money(amount * supplier_pct / HUNDRED)
    return supplier, money(amount) - supplier


def projection(actual: Decimal, start: date, end: date, today: date) -> Decimal:
    """Run-rate projection to the year's end: actual ÷ days elapsed × days in the year."""
    total = (end - start).days
    elapsed = min(max((today - start).days, 0), total)
    if elapsed == 0:
        return Decimal(0)
    if elapsed >= total:
        return actual
    return (actual * total / elapsed).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
