"""Reading deviations: the filtered list paged by a keyset cursor (fast at any depth), and what
waits for the actor's side across relationships."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from backend import db
from backend.agreements.sections import DEVIATION_TYPES
from backend.disputes import workflow
from backend.disputes.penalties import valid_period
from backend.web.paging import decode_cursor, encode_cursor

PAGE_SIZE = 50
LIST_COLUMNS = ("id, number, type, subject_label, occurred_at, period, severity, status, level, waiting_for, due_at,"
                " paused_at, penalty_status, penalty_amount, penalty_final, currency, source, updated_at, version")


@dataclass
class Filters:
    status: str = ""  # a status, "active" (a dispute still running) or "" (all)
    type: str = ""
    period: str = ""
    waiting: str = ""  # client | supplier | "" (anyone)

    @classmethod
    def read(cls, params) -> "Filters":
        status = params.get("status") or ""
        kind = params.get("type") or ""
        period = params.get("period") or ""
        waiting = params.get("waiting") or ""
        return cls(status=status if status in workflow.STATUSES or status == "active" else "",
                   type=kind if kind in DEVIATION_TYPES else "",
                   period=period if valid_period(period) else "",
                   waiting=waiting if waiting in (workflow.CLIENT, workflow.SUPPLIER) else "")

    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


async def page_of(relationship_id: UUID, filters: Filters, cursor: str | None = None,
                  limit: int = PAGE_SIZE) -> tuple[list, str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    where, args = ["relationship = $1"], [relationship_id]

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    if filters.status == "active":
        where.append(f"status = ANY({arg(sorted(workflow.ACTIVE))}::text[])")
    elif filters.status:
        where.append(f"status = {arg(filters.status)}")
    if filters.type:
        where.append(f"type = {arg(filters.type)}")
    if filters.period:
        where.append(f"period = {arg(filters.period)}")
    if filters.waiting:
        where.append(f"waiting_for = ANY({arg([filters.waiting, 'both'])}::text[])")
    after = decode_cursor(cursor)
    if after:
        where.append(f"(occurred_at, id) < ({arg(after[0])}, {arg(after[1])})")
    rows = await db.raw(
        f"SELECT {LIST_COLUMNS} FROM deviation WHERE {' AND '.join(where)}"
        # the limit is written into the statement (an int of ours): as a parameter, PostgreSQL could not
        # cost a generic plan and planned the statement again on every page (0.1 ms each time)
        f" ORDER BY occurred_at DESC, id DESC LIMIT {int(limit) + 1}", *args)
    items = rows[:limit]  # records, read by column name
    next_cursor = encode_cursor(items[-1]["occurred_at"], items[-1]["id"]) if len(rows) > limit else None
    return items, next_cursor


@dataclass
class Waiting:
    relationship_id: UUID
    count: int
    overdue: int
    oldest: datetime | None  # since when the oldest item has waited

    def age_days(self, now: datetime | None = None) -> int:
        return ((now or datetime.now(timezone.utc)) - self.oldest).days if self.oldest else 0


async def waiting_for_me(relationship_sides: dict[UUID, str], *, admin: bool = False,
                         now: datetime | None = None) -> dict[UUID, Waiting]:
    """Per relationship: deviations whose move is the given side's (and, for an admin, those in
    arbitration), with ageing."""
    if not relationship_sides:
        return {}
    now = now or datetime.now(timezone.utc)
    ids = list(relationship_sides)
    sides = [relationship_sides[i] for i in ids]
    rows = await db.raw(
        "SELECT d.relationship, count(*) AS n, count(*) FILTER (WHERE d.due_at < $3) AS overdue,"
        " min(d.updated_at) AS oldest FROM unnest($1::uuid[], $2::text[]) AS me(relationship, side)"
        " JOIN deviation d ON d.relationship = me.relationship"
        " AND (d.waiting_for IN (me.side, 'both') OR ($4 AND d.waiting_for = 'admin'))"
        " GROUP BY d.relationship", ids, sides, now, admin)
    return {row["relationship"]: Waiting(row["relationship"], row["n"], row["overdue"], row["oldest"]) for row in rows}
