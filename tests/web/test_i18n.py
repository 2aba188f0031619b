"""English, Spanish and Dutch: complete catalogs, negotiation, locale formatting."""
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from backend.config import LOCALE_DIR, ROOT
from backend.web import i18n

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def source_messages() -> set[str]:
    """Every string the code and templates mark for translation, extracted as `make messages` does."""
    method_map = [("backend/**.py", "python"), ("workers/**.py", "python"),
                  ("frontend/templates/**.html", "jinja2"), ("frontend/templates/**.txt", "jinja2")]
    options = {"frontend/templates/**.html": {"extensions": "jinja2.ext.i18n"},
               "frontend/templates/**.txt": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options, keywords={"_": None, "lazy": None,
                                                                                       "gettext": None},
                                                    directory_filter=lambda d: not Path(d).name.startswith((".", "node_modules"))):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", ["es", "nl"])
def test_catalog_translates_every_visible_string(locale):
    catalog = read_po((LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb"))
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    wanted = source_messages()
    assert len(wanted) > 150
    missing = sorted(wanted - set(translated))
    assert not missing, f"{len(missing)} strings lack a {locale} translation: {missing[:20]}"
    wrong = [mid for mid in wanted if set(PLACEHOLDER.findall(mid)) != set(PLACEHOLDER.findall(translated[mid]))]
    assert not wrong, f"placeholders differ: {wrong}"


def test_accept_language_and_preferences():
    assert i18n.negotiate(None, None, "nl-BE,nl;q=0.9,en;q=0.5") == "nl"
    assert i18n.negotiate(None, None, "fr-FR, es;q=0.8, en;q=0.7") == "es"
    assert i18n.negotiate(None, None, "fr, de") == "en"
    assert i18n.negotiate(None, "nl", "es") == "nl"  # a chosen language beats the browser's
    assert i18n.negotiate("es", "nl", "en") == "es"  # the user's saved preference beats both


def test_dates_numbers_and_money_follow_the_locale():
    moment = datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)  # 1 April in Madrid
    token = i18n.set_locale("es")
    try:
        assert i18n.format_date(moment, "Europe/Madrid") == "1 abr 2026"
        assert i18n.format_money(Decimal("12400.5"), "EUR") == "12.400,50\xa0€"
        assert i18n.format_number(Decimal("1234.5")) == "1.234,5"
    finally:
        i18n._locale.reset(token)
    token = i18n.set_locale("nl")
    try:
        assert i18n.format_money(Decimal("12400.5"), "EUR") == "€\xa012.400,50"
        assert i18n.format_date(date(2026, 4, 1)) == "1 apr 2026"
    finally:
        i18n._locale.reset(token)
    token = i18n.set_locale("en")
    try:
        assert i18n.format_money(Decimal("12400.5"), "EUR") == "€12,400.50"
        assert i18n.format_datetime(moment, "Europe/Madrid", "short") == "4/1/26, 12:30\u202fAM"
    finally:
        i18n._locale.reset(token)


async def test_pages_follow_accept_language_then_the_chosen_language(demo, browser, owner):
    visitor = await browser()
    nl = await visitor.get("/login", headers={"accept-language": "nl-NL,nl;q=0.9"})
    assert '<html lang="nl">' in nl.text and i18n.translations("nl").gettext("Sign in") in nl.text
    ana = await browser("ana@lacteos.example")  # Ana's saved preference is English
    assert '<html lang="en">' in (await ana.get("/", headers={"accept-language": "es"})).text
    assert (await ana.post("/language", {"locale": "es", "next": "/"})).status_code == 302
    page = await ana.get("/")
    assert '<html lang="es">' in page.text
    assert i18n.translations("es").gettext("My relationships") in page.text
    assert await owner.fetchval("SELECT locale FROM app_user WHERE email = 'ana@lacteos.example'") == "es"
    # the language form comes back to the same page, its query included
    rel = demo["relationships"]["Yoghurt cups and lids"]
    scorecard = await ana.get(f"/relationships/{rel}/scorecard?party=client&period=2026-03")
    assert f'name="next" value="/relationships/{rel}/scorecard?party=client&amp;period=2026-03"' in scorecard.text
    switched = await ana.post("/language", {"locale": "nl", "next": f"/relationships/{rel}/scorecard?party=client&period=2026-03"})
    assert switched.headers["location"] == f"/relationships/{rel}/scorecard?party=client&period=2026-03"
    # on the answer to a form, the page the form was on (as the browser names it), not the form's address
    refused = await ana.post(f"/relationships/{rel}/data/reopen", {"first": "", "last": "", "reason": ""},
                             headers={"referer": f"https://testserver/relationships/{rel}/data?cursor=x"})
    assert f'name="next" value="/relationships/{rel}/data?cursor=x"' in refused.text
    elsewhere = await ana.post(f"/relationships/{rel}/data/reopen", {"first": "", "last": "", "reason": ""},
                               headers={"referer": "https://evil.example/phish"})
    assert 'name="next" value="/"' in elsewhere.text


def test_no_message_holds_markup():
    """Jinja marks translated strings safe, so a message must never carry < or > itself."""
    assert [m for m in source_messages() if "<" in m or ">" in m] == []


@pytest.mark.parametrize("locale", ["en", "es", "nl"])
def test_dates_from_compiled_patterns_read_as_babel_writes_them(locale):
    from datetime import timedelta

    from babel import dates

    token = i18n._locale.set(locale)
    try:
        for fmt in ("short", "medium", "long"):
            for tz in ("Europe/Madrid", "America/Mexico_City", "Asia/Tokyo", None):
                for minutes in range(0, 600_000, 9_973):  # every hour of the day, both sides of DST changes
                    value = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=minutes)
                    expected = dates.format_datetime(value, format=fmt, tzinfo=i18n._zone(tz or "UTC"),
                                                     locale=locale)
                    assert i18n.format_datetime(value, tz, fmt) == expected
                    local = value.astimezone(i18n._zone(tz or "UTC"))
                    assert i18n.format_date(value, tz, fmt) == dates.format_date(local.date(), format=fmt,
                                                                                 locale=locale)
            for year in (7, 99, 2009):  # zero-padded years
                assert i18n.format_date(date(year, 3, 4), None, fmt) == dates.format_date(date(year, 3, 4), fmt,
                                                                                          locale=locale)
    finally:
        i18n._locale.reset(token)


@pytest.mark.parametrize("locale", ["en", "es", "nl"])
def test_numbers_from_python_formats_read_as_babel_writes_them(locale):
    import random

    from babel import numbers

    values = [0, 7, -1234567, 10**15, Decimal("0"), Decimal("-0"), Decimal("-0.00"), Decimal("12.00"),
              Decimal("1E+3"), Decimal("1E-7"), Decimal("0.0345"), Decimal("1234.50"), Decimal("999999.995"),
              Decimal("0.005"), Decimal("0.015"), Decimal("-2.5"), Decimal("123456789012345.6789"), 2.5,
              Decimal("NaN"), Decimal("-123456789012345678901234.5"), Decimal("999999999999999999999999.995")]
    # from 2.5 on: Babel's own path (a float, not a number, more than 24 digits)
    rng = random.Random(6)
    values += [Decimal(rng.randint(-10**9, 10**9)).scaleb(-rng.randint(0, 6)) for _ in range(500)]
    token = i18n._locale.set(locale)
    try:
        for value in values:
            assert i18n.format_number(value) == numbers.format_decimal(value, locale=locale,
                                                                       decimal_quantization=False), value
            for places in range(5):  # rounded half to even, as Babel rounds
                pattern = "#,##0" + ("." + "0" * places if places else "")
                assert i18n.format_fixed(value, places) == numbers.format_decimal(value, format=pattern,
                                                                                  locale=locale), (value, places)
    finally:
        i18n._locale.reset(token)


@pytest.mark.parametrize("locale", ["en", "es", "nl"])
def test_amounts_read_as_babel_writes_them(locale):
    import random

    from babel import numbers

    values = [0, -7, Decimal("-0"), Decimal("-0.001"), Decimal("0.005"), Decimal("0.015"), Decimal("1234.5"),
              Decimal("-1234567.125"), Decimal("999999.995"), Decimal("1E+3"), Decimal("123456789012345.6789"),
              Decimal("NaN"), Decimal("-123456789012345678901234.5"), Decimal("999999999999999999999999.995")]
    rng = random.Random(3)
    values += [Decimal(rng.randint(-10**9, 10**9)).scaleb(-rng.randint(0, 4)) for _ in range(200)]
    token = i18n._locale.set(locale)
    try:
        # symbol before or after, with or without a space, 0 to 4 decimals, no symbol known
        for currency in ("EUR", "USD", "JPY", "MXN", "CHF", "GBP", "BHD", "CLF", "XXX"):
            for value in values:
                assert i18n.format_money(value, currency) == numbers.format_currency(value, currency,
                                                                                     locale=locale), (currency, value)
    finally:
        i18n._locale.reset(token)


def test_template_gettext_formats_and_escapes_as_the_i18n_extension_does():
    from backend.web.templating import build_environment

    env = build_environment()
    token = i18n.set_locale("es")
    try:
        html = env.from_string('{{ _("Role of %(name)s", name=who) }}|{{ _("100%% sure") }}|{{ _("Pages") }}')
        assert html.render(who="<b>O'Brien</b>") == (
            f"Rol de &lt;b&gt;O&#39;Brien&lt;/b&gt;|100% sure|{i18n.gettext_plain('Pages')}")
        text = env.from_string('{% autoescape false %}{{ _("Role of %(name)s", name=who) }}{% endautoescape %}')
        assert text.render(who="<b>O'Brien</b>") == "Rol de <b>O'Brien</b>"
    finally:
        i18n._locale.reset(token)


def test_numbers_are_read_as_people_write_them_in_their_language():
    from decimal import Decimal, InvalidOperation

    import pytest

    from backend.web import i18n

    expected = {
        "en": {"0,125": "0.125", "0,001": "0.001", "12400.50": "12400.50", "12,400.50": "12400.50", "12,400": "12400", "12,5": "12.5", "12.5": "12.5",
               "1,234,567.8": "1234567.8", "-3": "-3", ".5": "0.5", "1 234,5": "1234.5"},
        "es": {"0.125": "0.125", "12.400,50": "12400.50", "12400,50": "12400.50", "12.400": "12400", "12,5": "12.5", "12.5": "12.5",
               "1.234.567": "1234567"},
        "nl": {"0.012": "0.012", "12.400,50": "12400.50", "1.234": "1234", "0,25": "0.25"},
    }
    for language, cases in expected.items():
        token = i18n.set_locale(language)
        try:
            for text, value in cases.items():
                assert i18n.parse_decimal(text) == Decimal(value), (language, text)
            for bad in ("abc", "1.2.3", "12,40.5", "1e5", "", "NaN", "12..5", "1,23,456", "-", ".", "12 5", "1'2"):
                with pytest.raises(InvalidOperation):
                    i18n.parse_decimal(bad)
        finally:
            i18n._locale.reset(token)
