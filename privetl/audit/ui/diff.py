"""The before/after diff of an audit record, field by field, for its page.

A record keeps the states before and after the change as canonical JSON text (already
redacted by the writer). The page shows them side by side: each field once, marked
changed, added, removed or unchanged. Nested objects are spelled with dotted paths
(``access.read``) so a change deep inside is highlighted where it is, not as a whole blob;
lists are compared as whole values (a role list reads better as ``[A, B]`` → ``[A]``).

The states are redacted again before they are shown (``privetl.common.redaction``): a
record written before a key was known to be secret must not show it on a web page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from privetl.common.redaction import redact

WHOLE = "(value)"
"""The path of a state that is not an object (a list or a single value)."""


class Change(StrEnum):
    """How one field differs between the two states."""

    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"
    SAME = "same"


@dataclass(frozen=True)
class FieldDiff:
    """One field: its path, its value before and after (as JSON text, "" when absent)."""

    path: str
    before: str
    after: str
    change: Change


@dataclass(frozen=True)
class StateDiff:
    """The whole diff: which states the record has, and its fields in path order."""

    has_before: bool
    has_after: bool
    fields: list[FieldDiff]

    @property
    def changed_count(self) -> int:
        """How many fields differ (what the page's summary line counts)."""
        return sum(1 for f in self.fields if f.change is not Change.SAME)


_ABSENT = object()


def _state(text: str) -> Any:
    """The state stored as JSON text; a text that is not JSON is shown as it is."""
    if not text:
        return _ABSENT
    try:
        return redact(json.loads(text))
    except ValueError:
        return redact(text)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; an empty object stays a value of its own."""
    if value is _ABSENT:
        return {}
    if not isinstance(value, dict):
        return {prefix or WHOLE: value}
    if not value and prefix:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and item:
            flat.update(_flat(item, path))
        else:
            flat[path] = item
    return flat


def _spelled(value: Any) -> str:
    """A value as the page shows it: JSON, so ``null``, ``"1"`` and ``1`` stay distinct."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def state_diff(before_json: str, after_json: str) -> StateDiff:
    """Compare a record's two stored states field by field."""
    before, after = _state(before_json), _state(after_json)
    old, new = _flat(before), _flat(after)
    fields = []
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            fields.append(FieldDiff(path, _spelled(old[path]), "", Change.REMOVED))
        elif path not in old:
            fields.append(FieldDiff(path, "", _spelled(new[path]), Change.ADDED))
        else:
            was, now = _spelled(old[path]), _spelled(new[path])  # so True and 1 differ
            fields.append(FieldDiff(path, was, now, Change.SAME if was == now else Change.CHANGED))
    return StateDiff(
        has_before=before is not _ABSENT, has_after=after is not _ABSENT, fields=fields
    )
