"""What text a person may send: the rules for names, reasons and notes, in one place.

Free text (a block reason, an access request's reason, an owner's note) is stored and shown
as sent, with two exceptions that no person means to type: NUL, which PostgreSQL cannot
store (SQLite would keep it, so the engines would disagree), and other C0/C1 control
characters except tab and line breaks. A display name is stricter: it is shown in lists
and e-mails where a bidirectional override (U+202E) could make ``Alice`` read as someone
else, so format controls of that kind are refused, and a name must have something visible
(not only zero-width characters or a byte-order mark).

Ids (of users, requests, modules) are stricter still: they travel in paths, tokens and logs,
so they are short and URL-safe. Their rule is defined here once, for the services that check
it and for the REST door's fields that state it in the OpenAPI schema
(``privetl.platform.rest_fields``).
"""

from __future__ import annotations

import re
import unicodedata

from privetl.common.errors import InvalidArgument

ID_MAX_LENGTH = 64
ID_CHARACTERS = "A-Za-z0-9._:@-"
ID_PATTERN = re.compile(rf"^[{ID_CHARACTERS}]{{1,{ID_MAX_LENGTH}}}$")
"""An id, anchored (use with ``fullmatch``); the same regex is the schema's ``pattern``."""
ID_RULE = f"1 to {ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ : @ -"
"""The id rule in words, for messages and documentation."""

_LINE_BREAKS = frozenset("\t\n\r")
_BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # marks
)
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")


def _control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F


def checked_id(value: object, *, field: str) -> str:
    """An id as sent, refused (naming ``field``) unless it follows :data:`ID_RULE`."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{field} is required ({ID_RULE})", field=field)
    if len(value) > ID_MAX_LENGTH:
        raise InvalidArgument(
            f"{field} is too long: {len(value)} characters, at most {ID_MAX_LENGTH}", field=field
        )
    if not ID_PATTERN.fullmatch(value):
        raise InvalidArgument(
            f"{field} has characters that are not allowed: use {ID_RULE}", field=field
        )
    return value


def checked_free_text(value: str, *, field: str, max_length: int) -> str:
    """Free text as sent, refused when too long or carrying NUL or control characters."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be text", field=field)
    if len(value) > max_length:
        raise InvalidArgument(
            f"{field} is too long: {len(value)} characters, at most {max_length}", field=field
        )
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain a NUL character (\\u0000)", field=field)
    bad = next((ch for ch in value if _control(ch) and ch not in _LINE_BREAKS), None)
    if bad is not None:
        raise InvalidArgument(
            f"{field} must not contain control characters (found U+{ord(bad):04X})", field=field
        )
    return value


def checked_display_name(value: str, *, field: str, max_length: int) -> str:
    """A display name: visible text on one line, without bidi or control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{field} is required (1 to {max_length} characters)", field=field)
    if len(value) > max_length:
        raise InvalidArgument(
            f"{field} is too long: {len(value)} characters, at most {max_length}", field=field
        )
    bad = next((ch for ch in value if _control(ch)), None)
    if bad is not None:
        raise InvalidArgument(
            f"{field} must not contain control characters (found U+{ord(bad):04X})", field=field
        )
    bidi = next((ch for ch in value if ch in _BIDI_CONTROLS), None)
    if bidi is not None:
        raise InvalidArgument(
            f"{field} must not contain bidirectional control characters (found "
            f"U+{ord(bidi):04X}, which changes how the text around it reads)",
            field=field,
        )
    visible = [
        ch
        for ch in value
        if ch not in _INVISIBLE and not ch.isspace() and unicodedata.category(ch) != "Cf"
    ]
    if not visible:
        raise InvalidArgument(
            f"{field} has no visible character (only spaces, zero-width characters or a "
            "byte-order mark)",
            field=field,
        )
    return value.strip()


def nul_path(value: object, *, path: str = "") -> str | None:
    """The path of the first text in a JSON-like value that holds a NUL, or None.

    Keys count as text too. Iterative, so a deep value cannot exhaust the stack. Paths are
    spelled ``access.reason`` / ``items[2].name`` (the body's own field names).
    """
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                if "\x00" in str(key):
                    return name
                stack.append((child, name))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


# --- the same rules as regular expressions, for the OpenAPI schema ---------------------


def _class_of(chars: list[str]) -> str:
    """A regex character class body of ``chars`` as ranges, with ``\\uXXXX`` escapes
    (portable to ECMA-262, which OpenAPI patterns follow, so only the Basic Multilingual
    Plane: the service refuses the few format characters above it on its own)."""
    codes = sorted({ord(ch) for ch in chars if ord(ch) <= 0xFFFF})
    parts: list[str] = []
    start = prev = codes[0]

    def esc(code: int) -> str:
        return f"\\u{code:04x}"

    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(esc(start) if start == prev else f"{esc(start)}-{esc(prev)}")
        start = prev = code
    return "".join(parts)


_CONTROLS = [chr(c) for c in range(0x20)] + [chr(c) for c in range(0x7F, 0xA0)]
_FORMAT = [chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Cf"]
_NOT_IN_FREE_TEXT = [ch for ch in _CONTROLS if ch not in _LINE_BREAKS]
_NOT_IN_NAME = [*_CONTROLS, *_BIDI_CONTROLS]
_NOT_VISIBLE = [
    *_NOT_IN_NAME,
    *_INVISIBLE,
    *_FORMAT,
    *(chr(c) for c in range(0x10000) if chr(c).isspace()),
]
FREE_TEXT_PATTERN = f"^[^{_class_of(_NOT_IN_FREE_TEXT)}]*$"
"""What :func:`checked_free_text` accepts (its length apart), as a regular expression."""
DISPLAY_NAME_PATTERN = (
    f"^[^{_class_of(_NOT_IN_NAME)}]*[^{_class_of(_NOT_VISIBLE)}][^{_class_of(_NOT_IN_NAME)}]*$"
)
"""What :func:`checked_display_name` accepts (its length apart): something visible, and no
control or bidirectional control character."""
