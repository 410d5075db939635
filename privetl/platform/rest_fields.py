"""Strict input fields of the REST door: a value is taken as sent, or refused naming it.

DRF's own fields coerce: ``CharField`` takes ``123`` as ``"123"``, ``BooleanField`` takes
``"yes"`` and ``1``, ``DateTimeField`` makes a time without a zone UTC. A client that sends
the wrong type has a bug it should hear about, and the gRPC door (typed by protobuf) never
coerces, so every input serializer of the API uses these fields instead (body and query
alike; ``docs/development.md``).

Two promises of every field here:

- **It refuses in the service's words.** A failure is ``InvalidArgument`` naming the input
  by ``error_name`` (default: the field's own name) — the name and message the service gives
  for the same value through gRPC (``access.id has characters that are not allowed: ...``),
  rendered by ``privetl.platform.rest.exception_handler`` as ``{"code", "message", "field"}``.
  So both doors keep saying the same thing whichever layer answers first.
- **It states its rule in the OpenAPI schema** (``pattern``, ``minLength``/``maxLength``,
  ``format``, ``enum``, ``minItems``), from the same definitions the services check
  (``privetl.common.text``), so a client and a fuzzer can know what will be accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NoReturn

from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from privetl.common.errors import InvalidArgument
from privetl.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size_of
from privetl.common.text import (
    DISPLAY_NAME_PATTERN,
    FREE_TEXT_PATTERN,
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_RULE,
    checked_display_name,
    checked_free_text,
    checked_id,
)

DATETIME_EXAMPLE = "2026-01-31T12:00:00Z"
QUERY_TRUE = frozenset({"true", "1", "yes"})
QUERY_FALSE = frozenset({"false", "0", "no"})
"""How a query string spells a boolean (a body uses JSON ``true``/``false`` only)."""


def json_kind(value: object) -> str:
    """What a JSON value is, in the words of a message ("a number", "an array", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "an array"
    return type(value).__name__


class _Strict:
    """What every strict field shares: the name it is refused under, and refusals as
    ``InvalidArgument`` in the service's words rather than DRF's."""

    error_name: str | None
    refusals: ClassVar[dict[str, str]] = {
        "required": "{name} is required",
        "null": "{name} must not be null",
    }

    @property
    def name(self) -> str:
        """The input's name in messages (the service's name for it)."""
        return self.error_name or str(getattr(self, "field_name", "") or "value")

    def refuse(self, message: str) -> NoReturn:
        """Refuse the value: 400 INVALID_ARGUMENT naming the input."""
        raise InvalidArgument(message, field=self.name)

    def fail(self, key: str, **kwargs: Any) -> NoReturn:
        """DRF's refusals (required, null, blank, ...) in this field's words."""
        templates = [self.refusals, *(getattr(cls, "refusals", {}) for cls in type(self).__mro__)]
        for template in (t.get(key) for t in templates):
            if template is not None:
                length = getattr(self, "max_length", None)
                self.refuse(template.format(name=self.name, max_length=length, **kwargs))
        super().fail(key, **kwargs)  # type: ignore[misc]  # DRF's Field.fail, via the MRO
        raise AssertionError("unreachable")  # pragma: no cover - DRF's fail always raises

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        """Query strings (and forms) as sent: DRF would read ``?since=`` as "omitted"."""
        field_name = getattr(self, "field_name", "")
        if html.is_html_input(dictionary) and field_name in dictionary:
            return dictionary[field_name]
        return super().get_value(dictionary)  # type: ignore[misc]


class TextField(_Strict, serializers.CharField):
    """A JSON string, as sent (no trimming unless asked), at most ``max_length`` characters.

    ``schema_pattern`` is the rule subclasses state in the schema (and check in ``checked``).
    """

    schema_pattern: ClassVar[str | None] = None
    refusals: ClassVar[dict[str, str]] = {"blank": "{name} must not be empty"}

    def __init__(self, *, error_name: str | None = None, **kwargs: Any) -> None:
        self.error_name = error_name
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        """A non-string is refused before DRF's blank check would stringify it."""
        if data is not empty and data is not None and not isinstance(data, str):
            self.refuse(f"{self.name} must be a string, not {json_kind(data)}")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):  # pragma: no cover - run_validation refused it
            self.refuse(f"{self.name} must be a string, not {json_kind(data)}")
        value = str(super().to_internal_value(data))
        if self.max_length is not None and len(value) > self.max_length:
            self.refuse(
                f"{self.name} is too long: {len(value)} characters, at most {self.max_length}"
            )
        return self.checked(value)

    def checked(self, value: str) -> str:
        """The value after the field's own rule (none for plain text)."""
        return value


class FreeTextField(TextField):
    """Free text a person types (a reason, a note): no NUL or control characters except tab
    and line breaks (``privetl.common.text.checked_free_text``)."""

    schema_pattern = FREE_TEXT_PATTERN

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        super().__init__(max_length=max_length, **kwargs)

    def checked(self, value: str) -> str:
        assert self.max_length is not None
        return checked_free_text(value, field=self.name, max_length=self.max_length)


class NameField(TextField):
    """A display name: visible text on one line, no control or bidi characters
    (``privetl.common.text.checked_display_name``); leading and trailing spaces are dropped."""

    schema_pattern = DISPLAY_NAME_PATTERN

    refusals: ClassVar[dict[str, str]] = {
        "blank": "{name} is required (1 to {max_length} characters)"
    }

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def checked(self, value: str) -> str:
        assert self.max_length is not None
        return checked_display_name(value, field=self.name, max_length=self.max_length)


class IdField(TextField):
    """An id: ``privetl.common.text.ID_RULE`` (the services' ``validate_id``)."""

    schema_pattern = ID_PATTERN.pattern
    refusals: ClassVar[dict[str, str]] = {"blank": f"{{name}} is required ({ID_RULE})"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=ID_MAX_LENGTH, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            return checked_id(data, field=self.name)  # the length too, in the service's words
        return super().to_internal_value(data)


class EmailField(TextField):
    """An e-mail address (checked by the service, which names it); ``format: email``."""


class BooleanField(_Strict, serializers.BooleanField):
    """JSON ``true`` or ``false`` only (DRF's would take ``"yes"``, ``"on"``, ``1``); in a
    query string, ``true``/``false`` (or ``1``/``0``, ``yes``/``no``)."""

    def __init__(self, *, error_name: str | None = None, **kwargs: Any) -> None:
        self.error_name = error_name
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, str) and html.is_html_input(getattr(self.root, "initial_data", None)):
            if data.lower() in QUERY_TRUE:
                return True
            if data.lower() in QUERY_FALSE:
                return False
            self.refuse(f"{self.name} must be true or false")
        if not isinstance(data, bool):
            self.refuse(f"{self.name} must be true or false, not {json_kind(data)}")
        return data


class ChoiceField(_Strict, serializers.ChoiceField):
    """One of ``choices`` (strings), exactly as spelled; the schema names them (``enum``)."""

    refusals: ClassVar[dict[str, str]] = {
        "invalid_choice": "{name} {input!r} is not allowed: use one of {allowed}"
    }

    def __init__(self, choices: Sequence[str], *, error_name: str | None = None, **kwargs: Any):
        self.error_name = error_name
        super().__init__(choices=list(choices), **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.refuse(f"{self.name} must be a string, not {json_kind(data)}")
        if data not in self.choices:
            self.fail("invalid_choice", input=data, allowed=", ".join(map(str, self.choices)))
        return data


class ChoiceListField(_Strict, serializers.ListField):
    """A non-empty array of ``choices`` (strings), e.g. access types; ``minItems: 1``."""

    refusals: ClassVar[dict[str, str]] = {
        "not_a_list": "{name} must be an array, not {kind}",
        "empty": "{name} needs at least one of {allowed}",
    }

    def __init__(self, choices: Sequence[str], *, error_name: str | None = None, **kwargs: Any):
        self.error_name = error_name
        self.allowed = list(choices)
        kwargs.setdefault("allow_empty", False)
        if not kwargs["allow_empty"]:
            kwargs.setdefault("min_length", 1)
        super().__init__(child=serializers.ChoiceField(choices=self.allowed), **kwargs)

    def fail(self, key: str, **kwargs: Any) -> NoReturn:
        super().fail(key, allowed=", ".join(self.allowed), **kwargs)

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        """A repeated query parameter is a list (DRF's reading)."""
        return serializers.ListField.get_value(self, dictionary)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            self.fail("not_a_list", kind=json_kind(data))
        if not data and not self.allow_empty:
            self.fail("empty")
        for index, item in enumerate(data):
            if not isinstance(item, str) or item not in self.allowed:
                shown = repr(item) if isinstance(item, str) else json_kind(item)
                raise InvalidArgument(
                    f"{self.name}[{index}]: {shown} is not allowed: use one of "
                    f"{', '.join(self.allowed)}",
                    field=self.name,
                )
        return list(data)


class IntegerField(_Strict, serializers.IntegerField):
    """An integer: a JSON number without a fraction, or (in a query) its decimal digits.

    DRF's would take ``"12"`` in a body and ``12.0`` anywhere.
    """

    def __init__(self, *, error_name: str | None = None, **kwargs: Any) -> None:
        self.error_name = error_name
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and html.is_html_input(getattr(self.root, "initial_data", None)):
            digits = data.removeprefix("-")
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
                self.refuse(f"{self.name}: {data[:40]!r} is not an integer")
            value = int(data)
        elif isinstance(data, int) and not isinstance(data, bool):
            value = data
        else:
            self.refuse(f"{self.name}: must be an integer, not {json_kind(data)}")
        return self.checked(value)

    def checked(self, value: int) -> int:
        """The value after the field's range (``min_value``, ``max_value``)."""
        low, high = self.min_value, self.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            self.refuse(f"{self.name} must be between {low} and {high}, not {value}")
        return value


class PageSizeField(IntegerField):
    """``page_size`` of a list: 0 (or omitted) for the default, else 1..``MAX_PAGE_SIZE``,
    checked by the one paging scheme (``privetl.common.paging.page_size_of``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", 0)
        kwargs.setdefault(
            "help_text",
            f"At most this many items, 1..{MAX_PAGE_SIZE}; omitted or 0 means "
            f"{DEFAULT_PAGE_SIZE}. Above {MAX_PAGE_SIZE} is 400 INVALID_ARGUMENT naming the "
            "maximum.",
        )
        super().__init__(min_value=0, max_value=MAX_PAGE_SIZE, **kwargs)

    def checked(self, value: int) -> int:
        page_size_of(value)
        return value


class AwareDateTimeField(_Strict, serializers.DateTimeField):
    """An ISO 8601 date-time *with* a time zone, returned in UTC.

    DRF's field would read a time without a zone in the server's zone, silently: a client in
    another zone would get a grant ending hours early or late.
    """

    def __init__(self, *, error_name: str | None = None, **kwargs: Any) -> None:
        self.error_name = error_name
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> dt.datetime:  # type: ignore[override]
        if not isinstance(value, str):
            self.refuse(f"{self.name} must be a string, not {json_kind(value)}")
        shape = f"use ISO 8601 with a time zone, e.g. {DATETIME_EXAMPLE}"
        try:
            parsed = parse_datetime(value.upper())
        except ValueError:
            parsed = None
        if parsed is None:
            self.refuse(f"{self.name} is not a date-time: {shape}")
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.refuse(f"{self.name} needs a time zone (e.g. {DATETIME_EXAMPLE})")
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            self.refuse(f"{self.name} is out of range: {shape}")


class QuerySerializer(serializers.Serializer):
    """The query string of a list: its declared parameters only.

    An unknown parameter is refused rather than ignored: a client that misspells a filter
    (``?actor=alice``) or uses an old name would otherwise get every record, unfiltered,
    without being told.
    """

    def to_internal_value(self, data: Any) -> Any:
        known = set(self.fields)
        unknown = sorted(name for name in data if name not in known)
        if unknown:
            raise InvalidArgument(
                f"{unknown[0][:64]!r} is not a query parameter of this list: use "
                f"{', '.join(self.fields)}",
                field=unknown[0][:64],
            )
        return super().to_internal_value(data)


class StrictFieldSchema(OpenApiSerializerFieldExtension):
    """The schema of a strict text field: DRF's string plus the field's ``pattern``."""

    target_class = TextField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        if self.target.schema_pattern is not None:
            schema["pattern"] = self.target.schema_pattern
        if isinstance(self.target, EmailField):
            schema["format"] = "email"
        return schema
