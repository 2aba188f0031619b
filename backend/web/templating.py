"""Jinja2 environment (autoescaped, gettext-aware) and the page() shortcut handlers use."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_eval_context, select_autoescape
from markupsafe import Markup
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template

from backend.config import LOCALES, TEMPLATES_DIR, settings
from backend.web import i18n


@pass_eval_context
def _gettext(eval_ctx, message: str, **variables: Any) -> str:
    """_() in templates, as jinja2.ext.i18n's newstyle gettext does it (always %-formatted; in an
    autoescaped template the translation is markup and the variables are escaped), in one call
    where the extension's `_` takes two context calls and a lookup on every message."""
    text = i18n.gettext_plain(message)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # an edited template shows on the next request in development; elsewhere templates are
        # not re-checked on disk for every page
        auto_reload=settings().dev_mode,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext_plain,
        ngettext=lambda s, p, n: i18n.translations(i18n.current_locale()).ngettext(s, p, n),
        newstyle=True,
    )
    env.filters.update(
        date=i18n.format_date,
        datetime=i18n.format_datetime,
        number=i18n.format_number,
        money=i18n.format_money,
        fixed=i18n.format_fixed,
        decimal=lambda value: Decimal(str(value)),
        isodate=lambda value: date.fromisoformat(value) if isinstance(value, str) else value,
        # {key: label} with every label translated (a table's column of labels, translated once)
        translated=lambda labels: {key: i18n.gettext_plain(label) for key, label in labels.items()},
    )
    # t(): translate a message held in a variable (labels defined in Python with lazy()); unlike
    # _() it does no %-formatting, so a label may contain a plain "%".
    env.globals.update(language_name=i18n.language_name, LOCALES=LOCALES,
                       t=i18n.gettext_plain, _=_gettext)
    return env


def template_engine() -> JinjaTemplateEngine:
    return JinjaTemplateEngine.from_environment(build_environment())


def base_context(request: Request) -> dict[str, Any]:
    ctx = request.scope.get("pacto")
    return {
        "me": ctx.user if ctx else None,
        "my_org": ctx.org if ctx else None,
        "locale": ctx.locale if ctx else i18n.DEFAULT_LOCALE,
        "unread": ctx.unread if ctx else 0,
        "dev_mode": settings().dev_mode,
        "is_htmx": bool(request.headers.get("hx-request")),
    }


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=template, context=base_context(request) | context, status_code=status_code)
