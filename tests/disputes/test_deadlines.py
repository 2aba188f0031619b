"""Business-day deadlines in the relationship's time zone, with its holidays."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from backend.disputes.deadlines import business_days_left, deadline, parse_holidays

MADRID = "Europe/Madrid"


def test_five_business_days_skip_the_weekend_and_end_at_local_midnight():
    # logged Thursday 2027-03-04 10:00 Madrid; Fri, Mon, Tue, Wed, Thu → Thursday 2027-03-11 23:59:59 Madrid
    started = datetime(2027, 3, 4, 9, 0, tzinfo=timezone.utc)
    due = deadline(started, 5, MADRID, set())
    assert due.astimezone(ZoneInfo(MADRID)) == datetime(2027, 3, 11, 23, 59, 59, tzinfo=ZoneInfo(MADRID))
    assert due == datetime(2027, 3, 11, 22, 59, 59, tzinfo=timezone.utc)


def test_the_start_day_is_the_local_day_not_the_utc_day():
    # 23:30 UTC on Friday is already Saturday in Madrid: the clock starts on Saturday
    started = datetime(2027, 3, 5, 23, 30, tzinfo=timezone.utc)
    assert deadline(started, 1, MADRID, set()).astimezone(ZoneInfo(MADRID)).date() == date(2027, 3, 8)
    # while in New York it is still Friday afternoon: the first business day is Monday too
    assert deadline(started, 1, "America/New_York", set()).astimezone(
        ZoneInfo("America/New_York")).date() == date(2027, 3, 8)


def test_holidays_are_not_business_days_and_dst_is_respected():
    holidays = parse_holidays("2027-03-29\n2027-03-30")
    started = datetime(2027, 3, 25, 8, 0, tzinfo=timezone.utc)  # Thursday; clocks go forward on 28 March
    due = deadline(started, 3, MADRID, holidays)  # Fri 26, (weekend), (Mon 29, Tue 30 holidays), Wed 31, Thu 1
    assert due.astimezone(ZoneInfo(MADRID)) == datetime(2027, 4, 1, 23, 59, 59, tzinfo=ZoneInfo(MADRID))
    assert due.utcoffset() == timedelta(0) and due.hour == 21  # CEST: UTC+2


def test_paused_time_is_added_back():
    started = datetime(2027, 3, 4, 9, 0, tzinfo=timezone.utc)
    assert deadline(started, 5, MADRID, set(), paused=timedelta(days=2, hours=3)) == \
        deadline(started, 5, MADRID, set()) + timedelta(days=2, hours=3)


def test_business_days_left():
    due = deadline(datetime(2027, 3, 4, 9, 0, tzinfo=timezone.utc), 5, MADRID, set())
    assert business_days_left(datetime(2027, 3, 4, 12, 0, tzinfo=timezone.utc), due, MADRID, set()) == 5
    assert business_days_left(datetime(2027, 3, 11, 12, 0, tzinfo=timezone.utc), due, MADRID, set()) == 0
    assert business_days_left(datetime(2027, 3, 15, 12, 0, tzinfo=timezone.utc), due, MADRID, set()) == -2
