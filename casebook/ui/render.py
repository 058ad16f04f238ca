"""HTML and SVG from the Jinja2 templates in `casebook/ui/templates/`, escaped by default.

Case files, guideline files and whatever a browser sends (nicknames, display names) are data,
never markup: every `{{ value }}` in a template is escaped, so no helper escapes anything by
hand. A template naming a variable its caller did not pass raises (`StrictUndefined`) rather
than printing nothing. The one way to put markup into a template is `{{ x_html|safe }}`, kept
for fragments another template of ours has already rendered (`tests/test_templates.py` checks
that every `|safe` applies to such an `*_html` variable).

The environment is built at the first render, not at import: a case app's start-up path
imports this module but pays for Jinja2 only when it draws its first screen.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The one environment: autoescaping, strict about missing variables, tidy whitespace."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(("html", "svg", "j2"), default=True,
                                            default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, /, **context: Any) -> str:
    """Template `name` (a file in casebook/ui/templates/) rendered with `context`, as text."""
    return environment().get_template(name).render(**context)
