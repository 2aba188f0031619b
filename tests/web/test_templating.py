"""The templates' output escaping (backend/web/templating.py writes it through output_escape())
gives the page Jinja's own escaping gives, character for character."""
from jinja2 import Environment
from markupsafe import Markup

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
