"""The one paging scheme of every list, on both doors: an opaque, signed keyset cursor.

A list is ordered by a few fields that end in a unique one (``("created_at", "id")``,
``("-sequence",)``). A page holds at most ``page_size`` items; ``next_page_token`` names
the last item's position in that order, signed so a caller cannot forge or edit it, and
tied to the list and the filters it was made for. The next page starts strictly after that
position, so rows added while a client pages never shift a page (keyset, not offset), and
paging goes on until ``next_page_token`` is empty: there is no silent cut at any size.

``page_size`` 0 (or absent) means ``DEFAULT_PAGE_SIZE``; above ``MAX_PAGE_SIZE`` it is an
INVALID_ARGUMENT naming the maximum, never a silent clamp.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core import signing
from django.db.models import Model, Q, QuerySet

from privetl.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_SALT = "privetl.page"

T = TypeVar("T")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the token of the next one ("" on the last page)."""

    items: list[T]
    next_page_token: str


def page_size_of(page_size: int | None) -> int:
    """The page size asked for, checked: 0/None is the default, 1..MAX_PAGE_SIZE as given."""
    if page_size is None or page_size == 0:
        return DEFAULT_PAGE_SIZE
    if page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"page_size must be between 1 and {MAX_PAGE_SIZE} (or 0 for {DEFAULT_PAGE_SIZE}), "
            f"not {page_size}",
            field="page_size",
        )
    return page_size


def scope_of(list_name: str, *filters: object) -> str:
    """A short fingerprint of a list and its filters, so a token only continues its own list."""
    text = json.dumps([list_name, *(_spelled(value) for value in filters)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _spelled(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _position(item: Model, order: Sequence[str]) -> list[Any]:
    values = []
    for spec in order:
        value = getattr(item, spec.lstrip("-"))
        values.append(value.isoformat() if isinstance(value, dt.datetime | dt.date) else value)
    return values


def page_token_for(position: list[Any], scope: str) -> str:
    """The signed token of the page after ``position`` (for lists that are not querysets,
    e.g. rows of a file, paged by the same scheme as every other list)."""
    return signing.dumps({"p": position, "s": scope}, salt=_SALT, compress=True)


def page_position(page_token: str, *, scope: str, order: Sequence[str]) -> list[Any] | None:
    """The position a page token continues after (None without one); a token of another
    list or other filters is refused with INVALID_ARGUMENT on ``page_token``."""
    if not page_token:
        return None
    try:
        data = signing.loads(page_token, salt=_SALT)
        position, token_scope = list(data["p"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidArgument(
            "page_token is not one this service issued; start again without it",
            field="page_token",
        ) from None
    if token_scope != scope or len(position) != len(order):
        raise InvalidArgument(
            "page_token belongs to another listing or other filters; start again without it",
            field="page_token",
        )
    return position


def _after(order: Sequence[str], position: list[Any]) -> Q:
    """Rows strictly after ``position`` in ``order`` (lexicographic, per-field direction)."""
    condition = Q(pk__in=[])
    equal = Q()
    for spec, value in zip(order, position, strict=True):
        name = spec.lstrip("-")
        beyond = Q(**{f"{name}__{'lt' if spec.startswith('-') else 'gt'}": value})
        condition |= equal & beyond
        equal &= Q(**{name: value})
    return condition


def keyset_page(
    queryset: QuerySet[M],
    *,
    order: Sequence[str],
    scope: str,
    page_size: int | None,
    page_token: str = "",
) -> Page[M]:
    """One page of ``queryset`` in ``order`` (whose last field must be unique and not null).

    ``scope`` comes from ``scope_of(list name, filters...)``; a token from another list or
    other filters is refused. One query per page: ``page_size + 1`` rows tell whether a
    next page exists.
    """
    size = page_size_of(page_size)
    position = page_position(page_token, scope=scope, order=order)
    if position is not None:
        queryset = queryset.filter(_after(order, position))
    items = list(queryset.order_by(*order)[: size + 1])
    next_token = ""
    if len(items) > size:
        items = items[:size]
        next_token = page_token_for(_position(items[-1], order), scope)
    return Page(items=items, next_page_token=next_token)
