"""Keyset paging of lists shown newest first. A page's cursor names the last row it showed by
(time, id), and the next page starts below it: rows added above while someone reads do not push
a row onto two pages or out of both, as an offset would."""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from uuid import UUID


def encode_cursor(at: datetime, row_id: UUID) -> str:
    raw = f"{at.astimezone(timezone.utc).isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    """(time, id) of a cursor; None for none, or for one that was not made here (the first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, ident = raw.split("|")
        at = datetime.fromisoformat(when)
        # in UTC here, where a time at the edge of the calendar fails, rather than in the driver
        return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc), UUID(ident)
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None


async def newest_first(table, time_column, where, cursor: str | None, size: int, *columns):
    """One page of `table`'s rows matching `where`, newest first (ties by id), after `cursor`, and
    the cursor of the next page (None on the last). Rows as dicts of `columns`."""
    after = decode_cursor(cursor)
    if after is not None:
        at, row_id = after
        where = where & ((time_column < at) | ((time_column == at) & (table.id < row_id)))
    rows = await table.select(*columns, time_column, table.id).where(where).order_by(
        time_column, table.id, ascending=False).limit(size + 1)
    items = rows[:size]
    more = len(rows) > size
    return items, (encode_cursor(items[-1][time_column._meta.name], items[-1]["id"]) if more else None)
