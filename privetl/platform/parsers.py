"""The REST door's body parser: JSON, with a nesting bound and no NUL characters.

Python's JSON decoder recurses once per nesting level, so a body of a few thousand ``[``
would end in ``RecursionError`` (a 500) — and so would every recursive walk of the value
after it (redaction, the audit record). No request of the API nests anywhere near
``MAX_NESTING`` levels; a deeper body is refused as malformed, naming the bound.

A NUL character in any text of the body is refused too, naming the field: PostgreSQL
cannot store it and SQLite would, so refusing it at the door keeps both engines alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from privetl.common.text import nul_path

MAX_NESTING = 32


def nesting_of(value: Any) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        stack.extend((child, depth) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than ``MAX_NESTING`` levels."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """The parsed body; ParseError (400 INVALID_ARGUMENT) when it nests too deep."""
        too_deep = f"JSON nested deeper than {MAX_NESTING} levels: no request of this API does"
        try:
            value = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(too_deep) from None
        if nesting_of(value) > MAX_NESTING:
            raise ParseError(too_deep)
        where = nul_path(value)
        if where is not None:
            raise ParseError(f"{where} must not contain a NUL character (\\u0000)")
        return value
