"""Languages: gettext catalogs (Babel) and locale-aware formatting of dates, numbers and money.

The catalogs are the .po files under backend/locale; they are compiled in memory when first
used, so the repository holds no generated .mo files. The active locale is per request (a
context variable set by the request middleware): the user's preference, else the
`pacto_lang` cookie, else Accept-Language, else English.
"""
from __future__ import annotations

import contextvars
import io
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cache
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


def format_date(value: date | datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if tz:
            value = value.astimezone(_zone(tz))
        value = value.date()
    return dates.format_date(value, format=fmt, locale=_babel_locale(current_locale()))


@cache
def _datetime_patterns(locale: str, fmt: str):
    """Babel's date and time patterns for a locale and format, parsed once (parsing them on every
    call was most of the time of a list page's 50 dates)."""
    babel_locale = _babel_locale(locale)
    return (babel_locale, dates.get_datetime_format(fmt, locale=babel_locale).replace("'", ""),
            dates.parse_pattern(dates.get_date_format(fmt, locale=babel_locale)),
            dates.parse_pattern(dates.get_time_format(fmt, locale=babel_locale)))


def format_datetime(value: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    """The same text as babel.dates.format_datetime, with the patterns parsed once."""
    if value is None:
        return ""
    if fmt not in ("short", "medium"):
        return dates.format_datetime(value, format=fmt, tzinfo=_zone(tz or "UTC"),
                                     locale=_babel_locale(current_locale()))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(_zone(tz or "UTC"))
    babel_locale, combined, date_pattern, time_pattern = _datetime_patterns(current_locale(), fmt)
    return combined.replace("{0}", time_pattern.apply(value, babel_locale)).replace(
        "{1}", date_pattern.apply(value.date(), babel_locale))


def format_number(value: int | Decimal | float | None) -> str:
    if value is None:
        return ""
    # decimal_quantization=False: a unit price of 0.0345 must not be shown as 0.034
    return numbers.format_decimal(value, locale=_babel_locale(current_locale()), decimal_quantization=False)


def format_fixed(value: int | Decimal | float | None, places: int = 2) -> str:
    """A figure with exactly `places` decimals (a KPI's 95.00 %, a unit price's 9.7850)."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return numbers.format_decimal(value, format=pattern, locale=_babel_locale(current_locale()))


def format_money(value: Decimal | None, currency: str) -> str:
    if value is None:
        return ""
    return numbers.format_currency(value, currency, locale=_babel_locale(current_locale()))


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def currency_name(code: str) -> str:
    return Locale.parse(current_locale()).currencies.get(code, code)
