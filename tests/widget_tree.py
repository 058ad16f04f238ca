"""Walking a widget tree as the browser would see it: by CSS class, and as synced state."""

from __future__ import annotations

import json
from collections.abc import Iterator

import ipywidgets as w


def walk(widget: w.Widget) -> Iterator[w.Widget]:
    """`widget` and every widget inside it (children, layout and style models)."""
    yield widget
    for name in ("children", "layout", "style"):
        value = getattr(widget, name, None)
        if isinstance(value, w.Widget):
            yield from walk(value)
        elif isinstance(value, (tuple, list)):
            for child in value:
                if isinstance(child, w.Widget):
                    yield from walk(child)


def by_class(widget: w.Widget, css: str) -> list[w.Widget]:
    return [x for x in walk(widget) if css in getattr(x, "_dom_classes", ())]


def one(widget: w.Widget, css: str) -> w.Widget:
    found = by_class(widget, css)
    assert len(found) == 1, f"expected one .{css}, found {len(found)}"
    return found[0]


def visible(widget: w.Widget) -> bool:
    return widget.layout.display != "none"


def synced_state(widget: w.Widget) -> str:
    """Everything the page receives for this tree: each widget's state, as JSON text."""
    return "\n".join(json.dumps(x.get_state(), default=str) for x in walk(widget))
