"""Limits a YAML file must keep before any of it becomes Python values.

A casebook file is small and shallow, so anything far outside that shape is a mistake or an
attack, and is reported as `field: message` rather than met as a crash further on: a
5000-digit number (Python refuses to convert it), a key written twice (YAML would silently keep
the later value), nesting deeper than any model has, an alias "bomb" whose few lines expand to
millions of values, or an alias inside its own anchor. The check walks the parser's event
stream, which libyaml produces without recursion, so it also names the field where a syntax
error stopped the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_BYTES = 1_000_000  # the largest shipped file is about 20 kB
MAX_DEPTH = 32  # the deepest shipped value is 8 levels down
MAX_VALUES = 100_000  # values once every alias is expanded
MAX_DIGITS = 50  # a reference number or a count; Python refuses ints past 4300 digits
_INT = "tag:yaml.org,2002:int"
_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "null", "bool", "seq", "map")}
_MERGE = "<<"

Found = list[tuple[str, str]]  # (field, message); field "(file)" when no field applies


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("stages", 0, "id")` as `stages[0].id`, the way every problem names its field."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class _Node:
    """An open mapping or sequence: where it is, and what it has seen so far."""

    loc: list[Any]
    is_map: bool
    anchor: str | None = None
    size: int = 1
    depth: int = 1  # levels from this node down, aliases expanded
    count: int = 0  # items (sequence) or keys and values (mapping) so far
    key: Any = None
    keys: dict[str, int] = field(default_factory=dict)  # key -> line it was first written on


class _Walk:
    """One pass over the events, keeping the field path, sizes and depths of the open nodes."""

    def __init__(self, resolve: Callable[[str, tuple[bool, bool]], str]):
        self.resolve = resolve
        self.stack: list[_Node] = []
        self.anchors: dict[str, tuple[int, int]] = {}  # anchor -> (size, depth)
        self.total = 0
        self.found: Found = []

    def where(self) -> str:
        loc = list(self.stack[-1].loc) if self.stack else []
        if self.stack and self.stack[-1].is_map and self.stack[-1].count % 2:
            loc.append(self.stack[-1].key)
        return field_path(loc) or "(file)"

    def _child_loc(self) -> list[Any]:
        parent = self.stack[-1] if self.stack else None
        if parent is None:
            return []
        if parent.is_map:
            return parent.loc + ([parent.key] if parent.count % 2 else [])
        return parent.loc + [parent.count]

    def _done(self, size: int, depth: int, anchor: str | None, key_text: str | None,
              line: int) -> None:
        """A value ended: count it into its parent, and check it as a key."""
        if anchor is not None:
            self.anchors[anchor] = (size, depth)
        if len(self.stack) + depth > MAX_DEPTH:
            self.stop(f"nested more than {MAX_DEPTH} levels deep")
        if not self.stack:
            return
        parent = self.stack[-1]
        parent.size += size
        parent.depth = max(parent.depth, depth + 1)
        if parent.is_map and parent.count % 2 == 0:
            self._key(parent, key_text, line)
        parent.count += 1

    def _key(self, parent: _Node, text: str | None, line: int) -> None:
        if text is None:
            self.found.append((field_path(parent.loc) or "(file)",
                               f"a key must be plain text (line {line})"))
            text = f"<complex key, line {line}>"
        elif text in parent.keys and text != _MERGE:
            first = parent.keys[text]
            lines = f"on line {line}" if first == line else f"on line {first} and line {line}"
            self.found.append((field_path(parent.loc + [text]), f"key written twice {lines}"))
        parent.keys.setdefault(text, line)
        parent.key = text

    def _count(self, values: int) -> None:
        self.total += values
        if self.total > MAX_VALUES:
            self.stop(f"aliases expand to more than {MAX_VALUES} values (an alias bomb?)")

    def stop(self, message: str) -> None:
        raise _Stop(self.where(), message)

    def event(self, ev: yaml.Event) -> None:
        line = ev.start_mark.line + 1 if ev.start_mark else 0
        tag = getattr(ev, "tag", None)
        if tag not in (None, "!") and tag not in _TAGS:
            self.found.append((field_path(self._child_loc()) or "(file)",
                               f"YAML tag not allowed at line {line}: {tag}"))
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._count(1)
            if len(self.stack) >= MAX_DEPTH:
                self.stop(f"nested more than {MAX_DEPTH} levels deep")
            self.stack.append(_Node(self._child_loc(), isinstance(ev, yaml.MappingStartEvent),
                                    ev.anchor))
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            node = self.stack.pop()
            self._done(node.size, node.depth, node.anchor, None, line)
        elif isinstance(ev, yaml.ScalarEvent):
            self._scalar(ev, line)
        elif isinstance(ev, yaml.AliasEvent):
            if ev.anchor not in self.anchors:
                self.stop(f"alias *{ev.anchor} (line {line}) refers to no complete anchor "
                          "before it, or to the value that contains it")
            size, depth = self.anchors[ev.anchor]
            self._count(size)
            self._done(size, depth, None, None, line)

    def _scalar(self, ev: yaml.ScalarEvent, line: int) -> None:
        tag = ev.tag if ev.tag not in (None, "!") else self.resolve(ev.value, ev.implicit)
        digits = sum(c.isalnum() for c in ev.value.partition("x")[2] or ev.value)
        if tag == _INT and digits > MAX_DIGITS:
            here = self._child_loc()
            self.found.append((field_path(here) or "(file)",
                               f"number with {digits} digits (line {line}); at most "
                               f"{MAX_DIGITS} are allowed"))
        self._count(1)
        self._done(1, 0, ev.anchor, ev.value, line)


class _Stop(Exception):
    def __init__(self, where: str, message: str):
        super().__init__(message)
        self.where, self.message = where, message


def check_events(loader: Any) -> Found:
    """Every limit the document breaks, read from `loader`'s events (which it consumes).

    A YAML error met on the way propagates, with the field it stopped in as `exc.field`.
    """
    def resolve(value: str, implicit: tuple[bool, bool]) -> str:
        return loader.resolve(yaml.ScalarNode, value, implicit)

    walk = _Walk(resolve)
    try:
        while (ev := loader.get_event()) is not None and not isinstance(ev, yaml.StreamEndEvent):
            walk.event(ev)
    except _Stop as stop:
        return walk.found + [(stop.where, stop.message)]
    except yaml.YAMLError as exc:
        exc.field = walk.where()
        raise
    return walk.found


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(raw: bytes) -> tuple[str | None, Found]:
    """The file's text, or why it cannot be a casebook file (size, byte-order mark, encoding,
    control characters), each with the line it is on."""
    if len(raw) > MAX_BYTES:
        return None, [("(file)", f"is {len(raw)} bytes; a casebook file is at most {MAX_BYTES}")]
    if raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return None, [("line 1", "starts with a byte-order mark; save it as UTF-8 without one")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [(f"line {line}", f"is not UTF-8 text: byte 0x{raw[exc.start]:02x} "
                                       f"at line {line}")]
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        return None, [(f"line {line}", f"control character U+{ord(bad.group()):04X} at line "
                                       f"{line}; only text, tabs and line breaks are allowed")]
    if not text.strip():
        return None, [("(file)", "the file is empty")]
    return text, []
