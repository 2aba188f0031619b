"""The templates' compiled code (backend/web/templating.py: output through output_escape(),
attributes read inline, a shorter Context.call, `_("text")` translated at compile time) gives the
page Jinja's own does, character for character."""
from types import SimpleNamespace

import pytest
from jinja2 import Environment, pass_context, pass_environment, pass_eval_context
from markupsafe import Markup

from backend.config import LOCALES
from backend.web import i18n
from backend.web.templating import build_environment, output_escape

SOURCE = (
    "{{ v }}|{{ v|e }}|{{ v|safe }}|{{ 'x' ~ v }}|{% set block %}<i>{{ v }}</i>{% endset %}{{ block }}|"
    "{% macro m(x) %}<b>{{ x }}</b>{% endmacro %}{{ m(v) }}|{% macro w() %}<u>{{ caller() }}</u>{% endmacro %}{% call w() %}{{ v }}{% endcall %}|"
    "{% filter upper %}{{ v }}{% endfilter %}|{% autoescape false %}{{ v }}{% endautoescape %}|"
    "{{ _('Hello %(name)s', name=v) }}|{{ missing }}|{% for x in [v, v] %}{{ loop.index }}{{ x }}{% endfor %}"
)


class Html:
    def __html__(self) -> str:
        return "<em>already markup</em>"

    def __str__(self) -> str:
        return "<never used>"


VALUES = ["plain", "<script>alert('x')</script> & \"quotes\"", Markup("<strong>safe</strong>"), 42, 3.5, None,
          Html(), "", "ünïcode ‹›"]


def test_output_is_escaped_exactly_as_jinja_escapes_it():
    ours = build_environment()
    theirs = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    theirs.install_null_translations(newstyle=True)
    ours_template, their_template = ours.from_string(SOURCE), theirs.from_string(SOURCE)
    assert "output_escape(" in ours.compile(SOURCE, raw=True)  # the fast path is really taken
    for value in VALUES:
        assert ours_template.render(v=value) == their_template.render(v=value), value


def test_output_escape_returns_the_text_escape_returns():
    from markupsafe import escape

    for value in VALUES:
        assert output_escape(value) == str(escape(value))
    assert output_escape("<&>\"'") == "&lt;&amp;&gt;&#34;&#39;"


def test_the_pages_templates_are_still_autoescaped():
    env = build_environment()
    page = env.from_string("{{ v }}")
    assert page.render(v="<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"


class Attributes:
    """Attribute lookups of every kind: a value, a property, a property that fails (Jinja then
    tries the item), __getattr__, and items."""

    plain = "<plain>"

    @property
    def computed(self) -> str:
        return "<computed>"

    @property
    def broken(self) -> str:
        raise AttributeError("broken")

    def __getitem__(self, key: str) -> str:
        return f"<item {key}>"

    def method(self, value) -> str:
        return f"<method {value}>"

    def __call__(self, value) -> str:
        return f"<called {value}>"


def _stop():
    raise StopIteration


CALLS_AND_ATTRIBUTES = (
    "{{ o.plain }}|{{ o.computed }}|{{ o.broken }}|{{ o.absent }}|{{ d.key }}|{{ d.items is defined }}|"
    "{{ n.inner.value }}|{{ n.inner.absent is defined }}|{{ o.method(v) }}|{{ o(v) }}|{{ plain(v) }}|"
    "{{ plain(v, suffix='!') }}|{{ with_context(v) }}|{{ with_env(v) }}|{{ with_eval(v) }}|{{ stop() is defined }}|"
    "{{ range(3)|list }}|{{ dict(a=v).a }}|{% for x in [o, o] %}{{ plain(x.plain) }}{{ with_context(loop.index) }}{% endfor %}|"
    "{% macro m(x) %}{{ x.plain }}{{ plain(x.computed) }}{% endmacro %}{{ m(o) }}"
)


def _functions(env: Environment) -> None:
    env.globals.update(
        plain=lambda value, suffix="": f"<plain {value}{suffix}>",
        with_context=pass_context(lambda context, value: f"<context {value} {context.get('v')}>"),
        with_env=pass_environment(lambda environment, value: f"<env {value} {isinstance(environment, Environment)}>"),
        with_eval=pass_eval_context(lambda eval_ctx, value: f"<eval {value} {eval_ctx.autoescape}>"),
        stop=_stop,
    )


def test_attributes_and_calls_give_what_jinja_gives():
    ours = build_environment()
    theirs = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    theirs.install_null_translations(newstyle=True)
    _functions(ours)
    _functions(theirs)
    compiled = ours.compile(CALLS_AND_ATTRIBUTES, raw=True)
    assert "environment.getattr(" in compiled and "getattr((_ga_o" in compiled  # the inline path is taken
    ours_template, their_template = ours.from_string(CALLS_AND_ATTRIBUTES), theirs.from_string(CALLS_AND_ATTRIBUTES)
    context = {"o": Attributes(), "d": {"key": "<key>"}, "n": SimpleNamespace(inner=SimpleNamespace(value="<v>"))}
    for value in VALUES:
        assert ours_template.render(v=value, **context) == their_template.render(v=value, **context), value


TRANSLATED = (
    "{{ _('Skip to content') }}|<a title=\"{{ _('Main') }}\">{{ _('Sign out')|upper }}</a>|"
    "{% set label = _('Language') %}{{ label }}|{{ _('100%% sure') }}|{{ _('<b>bold</b>') }}|"
    "{% autoescape false %}{{ _('<b>bold</b>') }}{% endautoescape %}|{{ _('Target %(target)s', target=v) }}|"
    "{% macro m() %}{{ _('Change') }}{% endmacro %}{{ m() }}|{{ _(v) }}"
)


@pytest.mark.parametrize("language", LOCALES)
def test_templates_compiled_for_a_language_give_the_page_of_render_time_translation(language):
    plain, compiled_for = build_environment(), build_environment(language)
    token = i18n.set_locale(language)
    try:
        for value in ("Main", "<x> & y"):
            assert compiled_for.from_string(TRANSLATED).render(v=value) == plain.from_string(TRANSLATED).render(v=value)
        # a template that gives `_` a meaning of its own keeps it
        for shadowing in ("{% macro _(x) %}[{{ x }}]{% endmacro %}{{ _('Main') }}",
                          "{% macro wrap(x) %}[{{ x }}]{% endmacro %}{% for _ in [wrap] %}{{ _('Main') }}{% endfor %}",
                          "{% macro wrap(x) %}[{{ x }}]{% endmacro %}{% set _ = wrap %}{{ _('Main') }}"):
            assert compiled_for.from_string(shadowing).render() == "[Main]", shadowing
        # and the real templates compile in every language
        for name in compiled_for.list_templates(extensions=["html", "txt"]):
            compiled_for.get_template(name)
    finally:
        i18n._locale.reset(token)
    code = compiled_for.compile("<p>{{ _('Skip to content') }}</p>", raw=True)
    assert "'_'" not in code and repr(f"<p>{i18n.translations(language).gettext('Skip to content')}</p>") in code


def test_the_app_renders_each_language_with_its_own_compiled_templates():
    from backend.web.templating import template_engine

    engine = template_engine()
    for language in LOCALES:
        token = i18n.set_locale(language)
        try:
            text = engine.render_string("{{ _('Skip to content') }}", {})
            assert text == i18n.translations(language).gettext("Skip to content")
        finally:
            i18n._locale.reset(token)
    assert engine.render_string("{{ _('Skip to content') }}", {}) == "Skip to content"
