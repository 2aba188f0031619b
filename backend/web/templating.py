"""Jinja2 environment (autoescaped, gettext-aware) and the page() shortcut handlers use."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import markupsafe
from jinja2 import Environment, FileSystemLoader, pass_eval_context, select_autoescape
from jinja2.compiler import CodeGenerator
from markupsafe import Markup
from litestar import MediaType, Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template

from backend.config import LOCALES, TEMPLATES_DIR, settings
from backend.web import i18n


@pass_eval_context
def _gettext(eval_ctx, message: str, **variables: Any) -> str:
    """_() in templates, as jinja2.ext.i18n's newstyle gettext does it (always %-formatted; in an
    autoescaped template the translation is markup and the variables are escaped), in one call
    where the extension's `_` takes two context calls and a lookup on every message."""
    if not variables:
        return _message(i18n.current_locale(), message, eval_ctx.autoescape)
    text = i18n.gettext_plain(message)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@lru_cache(maxsize=8192)
def _message(locale: str, message: str, autoescape: bool) -> str:
    """A message without variables, as _() gives it: the same text every time for a language
    (a page shows dozens; each took a Markup and a %-formatting)."""
    text = i18n.translations(locale).gettext(message)
    return (Markup(text) if autoescape else text) % {}


# markupsafe's C escaping of a str, which escape() wraps in a Markup (its own escape() where the
# speedups are missing)
_escape_str = getattr(markupsafe, "_escape_inner", None) or markupsafe.escape


def output_escape(value: Any) -> str:
    """`{{ value }}` in an autoescaped template: escape(value) as text. escape() returns a Markup,
    whose constructor runs in Python (about 0.3 µs of the 0.35 µs each escape took, and a list page
    writes several hundred values), and no one looks at the type of text that is only written
    out: it is joined into the page, or into a block that then becomes Markup as a whole."""
    if type(value) is str:
        return _escape_str(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return html()
    return _escape_str(str(value))


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, writing each autoescaped output through output_escape()."""

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("output_escape(")
        if finalize.src is not None:
            self.write(finalize.src)

    def visit_Template(self, node, frame=None) -> None:
        super().visit_Template(node, frame)
        self.writeline(f"from {__name__} import output_escape")  # at module level, as the template's own imports


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
    env.code_generator_class = _CodeGenerator
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
    # the media type given, not guessed again from the file name's suffix on every page
    return Template(template_name=template, context=base_context(request) | context, status_code=status_code,
                    media_type=MediaType.HTML if template.endswith(".html") else None)
