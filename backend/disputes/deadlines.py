"""Deadlines in business days (DESIGN.md section 4).

"N business days" ends at 23:59:59, relationship local time, on the Nth business day after the
day the clock started; weekends and the relationship's holidays are not business days; the start
day itself does not count. Time paused while one side waits for information is added back.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

END_OF_DAY = time(23, 59, 59)


def is_business_day(day: date, holidays: set[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def parse_holidays(text: str | Iterable[str] | None) -> set[date]:
    """The agreement's holiday calendar: ISO dates, one per line (or an iterable of them)."""
    if not text:
        return set()
    lines = text.splitlines() if isinstance(text, str) else text
    return {date.fromisoformat(line.strip()) for line in lines if line.strip()}


def add_business_days(start_day: date, days: int, holidays: set[date]) -> date:
    day, counted = start_day, 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            counted += 1
    return day


def deadline(started_at: datetime, days: int, tz: str, holidays: set[date],
             paused: timedelta = timedelta(0)) -> datetime:
    """The moment (UTC) a clock started at `started_at` runs out."""
    zone = ZoneInfo(tz)
    start_day = started_at.astimezone(zone).date()
    last_day = add_business_days(start_day, days, holidays)
    local_end = datetime.combine(last_day, END_OF_DAY, tzinfo=zone)
    return (local_end + paused).astimezone(timezone.utc)


def business_days_left(now: datetime, due: datetime, tz: str, holidays: set[date]) -> int:
    """Whole business days between today (local) and the due day; 0 on the due day, negative after."""
    zone = ZoneInfo(tz)
    today, last = now.astimezone(zone).date(), due.astimezone(zone).date()
    sign, (a, b) = (1, (today, last)) if last >= today else (-1, (last, today))
    count, day = 0, a
    while day < b:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            count += 1
    return sign * count
