"""Languages: gettext catalogs (Babel) and locale-aware formatting of dates, numbers and money.

The catalogs are the .po files under backend/locale; they are compiled in memory when first
used, so the repository holds no generated .mo files. The active locale is per request (a
context variable set by the request middleware): the user's preference, else the
`pacto_lang` cookie, else Accept-Language, else English.
"""
from __future__ import annotations

import contextvars
import io
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from backend.config import LOCALE_DIR, LOCALES

DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español", "nl": "Nederlands"}

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("pacto_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def set_locale(locale: str) -> contextvars.Token:
    return _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _locale.get()


def negotiate(preferred: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (preferred, cookie):
        if candidate in LOCALES:
            return candidate
    if accept_language:
        weighted = []
        for part in accept_language.split(","):
            tag, _, q = part.strip().partition(";q=")
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                weight = 0.0
            weighted.append((weight, tag.strip().lower()))
        for _, tag in sorted(weighted, key=lambda pair: -pair[0]):
            base = tag.split("-")[0]
            if base in LOCALES:
                return base
    return DEFAULT_LOCALE


def gettext(message: str, **params) -> str:
    text = translations(current_locale()).gettext(message)
    return text % params if params else text


def gettext_plain(message: str) -> str:
    """The translation, with no %-formatting (a label may hold a plain "%")."""
    return translations(_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    text = translations(current_locale()).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % params


def lazy(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


# -- formatting -----------------------------------------------------------------------------

@cache
def _babel_locale(code: str) -> Locale:
    """Parsed once per language: Babel would otherwise parse the code on every number and date."""
    return Locale.parse(code)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_FIELDS = re.compile(r"%\((\w+)\)s")
_DIGITS = {  # a digit field as an f-string replacement field of the value `v`
    "y": "{v.year}", "yyyy": "{v.year:04d}", "yy": "{v.year % 100:02d}",
    "M": "{v.month}", "MM": "{v.month:02d}",
    "d": "{v.day}", "dd": "{v.day:02d}",
    "H": "{v.hour}", "HH": "{v.hour:02d}",
    "h": "{v.hour % 12 or 12}", "hh": "{v.hour % 12 or 12:02d}",
    "m": "{v.minute}", "mm": "{v.minute:02d}",
    "s": "{v.second}", "ss": "{v.second:02d}",
}


def _fields(pattern: str, babel_locale: Locale, names: dict, prefix: str) -> str:
    """A Babel pattern as the body of an f-string of the value `v`: the digit fields, the month
    names and am/pm written out, anything else left to Babel. The pattern's own text and Babel's
    field letters are bound in `names` (under `prefix`), never written into the source."""
    names["babel_field"] = lambda v, field: dates.DateTimeFormat(v, babel_locale)[field]
    fields = []
    for i, piece in enumerate(_FIELDS.split(dates.parse_pattern(pattern).format)):
        if i % 2 == 0:
            if piece:
                names[f"{prefix}text{i}"] = piece.replace("%%", "%")
                fields.append(f"{{{prefix}text{i}}}")
        elif piece in _DIGITS:
            fields.append(_DIGITS[piece])
        elif piece in ("MMM", "MMMM"):
            names[piece] = dates.get_month_names("abbreviated" if piece == "MMM" else "wide", locale=babel_locale)
            fields.append(f"{{{piece}[v.month]}}")
        elif piece == "a":
            names["am"], names["pm"] = (dates.DateTimeFormat(datetime(2000, 1, 1, hour), babel_locale)["a"]
                                        for hour in (1, 13))
            fields.append("{pm if v.hour >= 12 else am}")
        else:
            names[f"{prefix}field{i}"] = piece
            fields.append(f"{{babel_field(v, {prefix}field{i})}}")
    return "".join(fields)


def _compile(pattern: str, babel_locale: Locale):
    """A Babel pattern as one Python function of a (localised) date or datetime: a single f-string.
    Babel re-reads its locale data for every field of every call, which made 50 dates most of a list
    page's time; a function per field still took 4 µs a date."""
    names: dict = {}
    return eval(f"lambda v: f'{_fields(pattern, babel_locale, names, 'p')}'", names)  # noqa: S307


@cache
def _date_formatter(locale: str, fmt: str):
    babel_locale = _babel_locale(locale)
    return _compile(str(dates.get_date_format(fmt, locale=babel_locale)), babel_locale)


@cache
def _datetime_formatter(locale: str, fmt: str):
    """Babel's datetime pattern ("{1}, {0}": the date, then the time; its quotes dropped, as Babel
    drops them) as one f-string of the date's fields and the time's."""
    babel_locale = _babel_locale(locale)
    before, _, after = dates.get_datetime_format(fmt, locale=babel_locale).replace("'", "").partition("{1}")
    if "{0}" in before:
        raise ValueError(f"unexpected datetime pattern for {locale}/{fmt}")
    head, _, tail = after.partition("{0}")
    names: dict = {"before": before, "head": head, "tail": tail}
    date_fields = _fields(str(dates.get_date_format(fmt, locale=babel_locale)), babel_locale, names, "d")
    time_fields = _fields(str(dates.get_time_format(fmt, locale=babel_locale)), babel_locale, names, "t")
    return eval(f"lambda v: f'{{before}}{date_fields}{{head}}{time_fields}{{tail}}'", names)  # noqa: S307


def format_date(value: date | datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if tz:
            value = value.astimezone(_zone(tz))
        value = value.date()
    if fmt not in ("short", "medium", "long"):
        return dates.format_date(value, format=fmt, locale=_babel_locale(current_locale()))
    return _date_formatter(current_locale(), fmt)(value)


@lru_cache(maxsize=4096)
def _period_text(locale: str, kind: str, start: date) -> str:
    babel_locale = _babel_locale(locale)
    if kind == "month":
        return dates.format_skeleton("yMMMM", start, locale=babel_locale)
    if kind == "quarter":
        return dates.format_skeleton("yQQQ", start, locale=babel_locale)
    return str(start.year)


def format_period(start: date, kind: str = "month") -> str:
    """A KPI period as people name it: "June 2026", "Q2 2026" ("T2 2026" in Spanish), "2026"."""
    return _period_text(current_locale(), kind, start)


def format_datetime(value: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """The same text as babel.dates.format_datetime (tests/web/test_i18n.py compares them)."""
    if value is None:
        return ""
    if fmt not in ("short", "medium"):
        return dates.format_datetime(value, format=fmt, tzinfo=_zone(tz or "UTC"),
                                     locale=_babel_locale(current_locale()))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return _datetime_formatter(current_locale(), fmt)(value.astimezone(_zone(tz or "UTC")))


_GROUPED = re.compile(r"[1-9]\d{0,2}(?:X\d{3})+")  # thousands: no leading zero ("0.125" is a fraction)


def parse_decimal(raw: str) -> Decimal:
    """A number as a person types it in their language: "12400.50", "12.400,50" (Spanish, Dutch),
    "12,400.50" (English), "12,5" anywhere. Raises InvalidOperation when it is not a number.

    A lone "." or "," followed by exactly three digits is the language's thousands separator when
    it is that language's ("12.400" is 12400 in Spanish, 12.4 in English); otherwise it is the
    decimal mark. Thousands separators must group by threes."""
    text = (raw or "").strip()
    if re.search(r"[\s\u00a0\u202f']", text):  # spaces or apostrophes: thousands, grouped by threes
        head = re.split(r"[.,](?=\d*$)", text.lstrip("+-"), maxsplit=1)[0]
        if not _GROUPED.fullmatch(re.sub(r"[\s\u00a0\u202f']", "X", head)):
            raise InvalidOperation(raw)
        text = re.sub(r"[\s\u00a0\u202f']", "", text)
    sign = ""
    if text[:1] in ("+", "-"):
        sign, text = text[0], text[1:]
    marks = [c for c in text if c in ".,"]
    group = numbers.get_group_symbol(_babel_locale(current_locale()))
    if len(set(marks)) == 2:  # both: the last one is the decimal mark
        decimal_mark = text[max(text.rfind("."), text.rfind(","))]
        whole, fraction = text.rsplit(decimal_mark, 1)
        separator = "," if decimal_mark == "." else "."
    elif len(marks) > 1:  # one mark, several times: thousands
        whole, fraction, separator = text, "", marks[0]
    elif marks and marks[0] == group and re.fullmatch(r"[1-9]\d{0,2}[.,]\d{3}", text):
        whole, fraction, separator = text, "", marks[0]
    else:
        whole, _, fraction = text.replace(",", ".").partition(".")
        separator = None
    if separator and separator in whole:
        if not _GROUPED.fullmatch(whole.replace(separator, "X")):
            raise InvalidOperation(raw)
        whole = whole.replace(separator, "")
    if not whole.isdigit() and not (whole == "" and fraction) or (fraction and not fraction.isdigit()):
        raise InvalidOperation(raw)
    return Decimal(f"{sign}{whole or 0}" + (f".{fraction}" if fraction else ""))


@cache
def _symbols(locale: str) -> dict[int, str] | None:
    """The locale's group and decimal symbols as a table for str.translate over Python's own
    "1,234.5" — when the locale groups by threes as Python does (checked against Babel here);
    None for a locale that does not, which Babel then formats. Babel re-reads its pattern and
    locale data for every number: 30-40 µs each, and a scorecard shows a few hundred."""
    babel_locale = _babel_locale(locale)
    group, decimal = numbers.get_group_symbol(babel_locale), numbers.get_decimal_symbol(babel_locale)
    table = str.maketrans({",": group, ".": decimal})
    probe = Decimal("-1234567.125")
    if numbers.format_decimal(probe, locale=babel_locale) != format(probe, ",f").translate(table):
        return None
    return table


def _plain(value) -> bool:
    """An int or a finite Decimal under 10**24 with at most 24 significant digits (Numeric columns
    are): the default context's 28 digits then hold it, its rounding and its negation exactly."""
    if type(value) is int:
        return -10**24 < value < 10**24
    return (type(value) is Decimal and value.is_finite() and len(value.as_tuple().digits) <= 24
            and value.adjusted() < 24)


def format_number(value: int | Decimal | float | None) -> str:
    if value is None:
        return ""
    table = _symbols(current_locale())
    if table is not None and _plain(value):
        # as Babel with decimal_quantization=False: every significant decimal, no trailing zeros
        # (a unit price of 0.0345 must not be shown as 0.034)
        return format(value.normalize() if type(value) is Decimal else value, ",f" if type(value) is Decimal
                      else ",").translate(table)
    return numbers.format_decimal(value, locale=_babel_locale(current_locale()), decimal_quantization=False)


def format_fixed(value: int | Decimal | float | None, places: int = 2) -> str:
    """A figure with exactly `places` decimals (a KPI's 95.00 %, a unit price's 9.7850), rounded
    half to even as Babel rounds."""
    if value is None:
        return ""
    table = _symbols(current_locale())
    if table is not None and _plain(value):
        return format(Decimal(value), f",.{places}f").translate(table)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return numbers.format_decimal(value, format=pattern, locale=_babel_locale(current_locale()))


@cache
def _money_format(locale: str, currency: str) -> tuple[str, str, str, int] | None:
    """(prefix, prefix when negative, suffix, decimals) around the amount as Babel writes this
    currency in this locale ("€", "-€", "", 2 in English; "", "-", " €", 2 in Spanish), read off
    Babel's own text of a probe; None when the probe does not come back the same (Babel formats)."""
    table = _symbols(locale)
    if table is None:
        return None
    babel_locale, places = _babel_locale(locale), numbers.get_currency_precision(currency)
    probe = Decimal("1234567.25")
    number = format(probe, f",.{places}f").translate(table)
    positive = numbers.format_currency(probe, currency, locale=babel_locale)
    negative = numbers.format_currency(-probe, currency, locale=babel_locale)
    if positive.count(number) != 1 or negative.count(number) != 1:
        return None
    prefix, suffix = positive.split(number)
    negative_prefix, negative_suffix = negative.split(number)
    if negative_suffix != suffix:
        return None
    return prefix, negative_prefix, suffix, places


def format_money(value: Decimal | None, currency: str) -> str:
    """As Babel's format_currency (tests/web/test_i18n.py compares them), without re-reading the
    locale's data for every amount."""
    if value is None:
        return ""
    shape = _money_format(current_locale(), currency)
    if shape is None or not _plain(value):
        return numbers.format_currency(value, currency, locale=_babel_locale(current_locale()))
    prefix, negative_prefix, suffix, places = shape
    amount = Decimal(value)
    return ((negative_prefix if amount.is_signed() else prefix)
            + format(abs(amount), f",.{places}f").translate(_symbols(current_locale())) + suffix)


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def currency_name(code: str) -> str:
    return Locale.parse(current_locale()).currencies.get(code, code)
