"""Jinja2 environment (autoescaped, gettext-aware) and the page() shortcut handlers use."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import markupsafe
from jinja2 import Environment, FileSystemLoader, TemplateNotFound, nodes, pass_context, pass_eval_context
from jinja2 import Template as JinjaTemplate
from jinja2 import select_autoescape
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.runtime import Context
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer
from litestar import MediaType, Request
from litestar.exceptions import TemplateNotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from markupsafe import Markup

from backend.config import LOCALES, TEMPLATES_DIR, settings
from backend.web import i18n
from backend.web.fragments import Fragments


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


_FUNCTION = type(output_escape)


class _Context(Context):
    """Jinja's context, with a shorter way through call() for the functions templates call most:
    plain functions, given the evaluation context when they ask for it (`_()`). Anything else
    (pass_context, pass_environment, callable objects, methods, builtins) takes Jinja's own way."""

    def call(__self, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        if type(__obj) is _FUNCTION:
            pass_arg = __obj.__dict__.get("jinja_pass_arg")
            if pass_arg is None or pass_arg is _PassArg.eval_context:
                kwargs.pop("_block_vars", None)
                kwargs.pop("_loop_vars", None)
                if pass_arg is not None:
                    args = (__self.eval_ctx, *args)
                try:
                    return __obj(*args, **kwargs)
                except StopIteration:
                    return __self.environment.undefined(
                        "value was undefined because a callable raised a StopIteration exception")
        return Context.call(__self, __obj, *args, **kwargs)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, writing each autoescaped output through output_escape()."""

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("output_escape(")
        if finalize.src is not None:
            self.write(finalize.src)

    @optimizeconst
    def visit_Getattr(self, node, frame) -> None:
        if self.environment.is_async or self.environment.sandboxed:
            super().visit_Getattr(node, frame)
            return
        self.write("(_ga_v if (_ga_v := getattr((_ga_o := ")
        self.visit(node.node, frame)
        self.write(f"), {node.attr!r}, missing)) is not missing else environment.getattr(_ga_o, {node.attr!r}))")

    def visit_Template(self, node, frame=None) -> None:
        super().visit_Template(node, frame)
        self.writeline(f"from {__name__} import output_escape")  # at module level, as the template's own imports


def _binds_underscore(tree: nodes.Template) -> bool:
    """Whether a template gives the name `_` a meaning of its own (a loop or set variable, a macro
    or its parameter, an import): its `_()` may then not be the translation."""
    return (any(n.name == "_" and n.ctx in ("store", "param") for n in tree.find_all(nodes.Name))
            or any(n.name == "_" for n in tree.find_all(nodes.Macro))
            or any(n.target == "_" for n in tree.find_all(nodes.Import))
            or any((n if isinstance(n, str) else n[-1]) == "_"
                   for node in tree.find_all(nodes.FromImport) for n in node.names))


class _Translate(NodeTransformer):
    """Replaces each `_("text")` without variables by its translation, as _() gives it at render
    time: the text %-formatted with no variables, markup in an autoescaped template."""

    def __init__(self, locale: str) -> None:
        self.catalog = i18n.translations(locale)

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        node = self.generic_visit(node)
        if not (isinstance(node.node, nodes.Name) and node.node.name == "_" and len(node.args) == 1
                and isinstance(node.args[0], nodes.Const) and type(node.args[0].value) is str
                and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None):
            return node
        try:
            text = self.catalog.gettext(node.args[0].value) % {}
        except (KeyError, TypeError, ValueError):  # left for the render to fail on, as before
            return node
        return nodes.MarkSafeIfAutoescape(nodes.Const(text, lineno=node.lineno), lineno=node.lineno)


class _LanguageEnvironment(Environment):
    """An environment whose templates are compiled for one language: their `_("text")` become
    constants, which Jinja then joins with the text around them. A page holds dozens of them, and
    each cost a call at every render."""

    language: str

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        return tree if _binds_underscore(tree) else _Translate(self.language).visit(tree)


class _TemplateEngine(JinjaTemplateEngine):
    """Litestar's Jinja engine over one environment per language, taking the current language's."""

    def __init__(self, environments: dict[str, Environment]) -> None:
        self.environments = environments
        super().__init__(engine_instance=environments[i18n.DEFAULT_LOCALE])

    def _environment(self) -> Environment:
        return self.environments.get(i18n.current_locale(), self.engine)

    def get_template(self, template_name: str) -> JinjaTemplate:
        try:
            return self._environment().get_template(name=template_name)
        except TemplateNotFound as exc:
            raise TemplateNotFoundException(template_name=template_name) from exc

    def register_template_callable(self, key: str, template_callable: Callable) -> None:
        for environment in self.environments.values():
            environment.globals[key] = pass_context(template_callable)

    def render_string(self, template_string: str, context: Mapping[str, Any]) -> str:
        return self._environment().from_string(template_string).render(context)


def build_environment(language: str | None = None) -> Environment:
    """The templates' environment; with a language, one whose `_("text")` are translated as the
    templates are compiled (tests/web/test_templating.py renders pages both ways)."""
    env = (Environment if language is None else _LanguageEnvironment)(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # an edited template shows on the next request in development; elsewhere templates are
        # not re-checked on disk for every page
        auto_reload=settings().dev_mode,
    )
    if language is not None:
        env.language = language
    env.code_generator_class = _CodeGenerator
    env.context_class = _Context
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
        period=i18n.format_period,
        # the last day of a period given by its end (the first day after it)
        last_day=lambda end: end - timedelta(days=1),
        decimal=lambda value: Decimal(str(value)),
        isodate=lambda value: date.fromisoformat(value) if isinstance(value, str) else value,
        # {key: label} with every label translated (a table's column of labels, translated once)
        translated=lambda labels: {key: i18n.gettext_plain(label) for key, label in labels.items()},
    )
    # t(): translate a message held in a variable (labels defined in Python with lazy()); unlike
    # _() it does no %-formatting, so a label may contain a plain "%".
    env.globals.update(language_name=i18n.language_name, LOCALES=LOCALES, relationship_header=relationship_header,
                       t=i18n.gettext_plain, _=_gettext)
    return env


# the relationship pages' header (names, the reader's side and role, the tabs), rendered once for what it shows
_HEADERS = Fragments(512)


@pass_context
def relationship_header(context: Context) -> Markup:
    """_partials/relationship_header.html for the page's `view`, `orgs` and `tab`: kept for the
    relationship, tab, language and the reader's side and role with the names and status it shows,
    and rendered again when one of those changes (a relationship renamed or suspended)."""
    view, tab = context["view"], context.get("tab")
    orgs = context.get("orgs") or view.orgs  # read with the relationship (access.get_relationship_for)
    rel = view.relationship
    shown = (rel.name, rel.status, orgs["client"].name, orgs["supplier"].name)
    key = (i18n.current_locale(), rel.id, tab, view.side, view.my_role)
    return _HEADERS.get(key, shown, lambda: context.environment.get_template(
        "_partials/relationship_header.html").render(view=view, orgs=orgs, tab=tab))


def template_engine() -> JinjaTemplateEngine:
    return _TemplateEngine({language: build_environment(language) for language in LOCALES})


def _here(request: Request) -> str:
    """The page to come back to after switching language: this one, with its query, for a GET; for
    the answer to a form (a POST), the page the form was on when the browser names it and it is ours."""
    if request.method == "GET":
        query = request.scope.get("query_string", b"").decode("latin-1")
        return request.scope["path"] + (f"?{query}" if query else "")
    origin = urlsplit(request.headers.get("referer") or "")
    if origin.netloc == request.url.netloc and origin.path.startswith("/"):
        return origin.path + (f"?{origin.query}" if origin.query else "")
    return "/"


def base_context(request: Request) -> dict[str, Any]:
    ctx = request.scope.get("pacto")
    return {
        "me": ctx.user if ctx else None,
        "my_org": ctx.org if ctx else None,
        "locale": ctx.locale if ctx else i18n.DEFAULT_LOCALE,
        "unread": ctx.unread if ctx else 0,
        "dev_mode": settings().dev_mode,
        "is_htmx": bool(request.headers.get("hx-request")),
        "here": _here(request),
    }


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    # the media type given, not guessed again from the file name's suffix on every page
    return Template(template_name=template, context=base_context(request) | context, status_code=status_code,
                    media_type=MediaType.HTML if template.endswith(".html") else None)
