"""The one paging scheme (``privetl.common.paging``) on a real table.

``LoginEvent`` stands in for any list: it has a text field with ties (``user_id``), a
timestamp with ties (``at``) and a unique id, so multi-field orders with mixed directions
can be checked against Python's own sort.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.utils import timezone

from privetl.common.errors import InvalidArgument
from privetl.common.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    keyset_page,
    page_size_of,
    scope_of,
)
from privetl.users.models import LoginEvent

pytestmark = pytest.mark.django_db

BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SCOPE = scope_of("logins-test")


def _events(count: int, *, users: int = 3, seconds: int = 4) -> None:
    """``count`` events: few distinct users and instants, so every order field ties."""
    LoginEvent.objects.bulk_create(
        LoginEvent(
            user_id=f"u{n % users}",
            door="rest",
            success=True,
            address=f"a{n}",
            at=BASE + dt.timedelta(seconds=n % seconds),
        )
        for n in range(count)
    )


def _all_pages(order: tuple[str, ...], page_size: int, queryset=None) -> list[list[int]]:
    queryset = queryset if queryset is not None else LoginEvent.objects.all()
    pages, token = [], ""
    while True:
        page = keyset_page(
            queryset, order=order, scope=SCOPE, page_size=page_size, page_token=token
        )
        pages.append([e.pk for e in page.items])
        token = page.next_page_token
        if not token:
            return pages


def _sorted_ids(key) -> list[int]:
    return [e.pk for e in sorted(LoginEvent.objects.all(), key=key)]


def test_mixed_directions_with_ties_on_the_first_field() -> None:
    _events(50)
    order = ("user_id", "-at", "id")
    pages = _all_pages(order, page_size=7)
    expected = _sorted_ids(lambda e: (e.user_id, -e.at.timestamp(), e.pk))
    assert [pk for page in pages for pk in page] == expected
    assert [len(page) for page in pages] == [7] * 7 + [1]


def test_descending_first_field_then_ascending_tie_breakers() -> None:
    _events(31)
    order = ("-at", "user_id", "-id")
    pages = _all_pages(order, page_size=5)
    expected = _sorted_ids(lambda e: (-e.at.timestamp(), e.user_id, -e.pk))
    assert [pk for page in pages for pk in page] == expected


def test_exact_multiple_of_the_page_size_ends_without_an_empty_page() -> None:
    _events(10)
    pages = _all_pages(("id",), page_size=5)
    assert [len(page) for page in pages] == [5, 5]


def test_rows_inserted_while_paging_do_not_shift_pages() -> None:
    _events(20, users=1, seconds=20)  # at = BASE + n seconds, one user
    order = ("at", "id")
    first = keyset_page(LoginEvent.objects.all(), order=order, scope=SCOPE, page_size=5)
    seen = [e.address for e in first.items]
    assert seen == [f"a{n}" for n in range(5)]
    # one row lands before the position already read, one after it
    LoginEvent.objects.create(
        user_id="u0", door="rest", success=True, address="early", at=BASE - dt.timedelta(hours=1)
    )
    LoginEvent.objects.create(
        user_id="u0", door="rest", success=True, address="late", at=BASE + dt.timedelta(hours=1)
    )
    token = first.next_page_token
    while token:
        page = keyset_page(
            LoginEvent.objects.all(), order=order, scope=SCOPE, page_size=5, page_token=token
        )
        seen += [e.address for e in page.items]
        token = page.next_page_token
    # nothing read twice, nothing skipped; the early row is simply before the cursor
    assert seen == [f"a{n}" for n in range(20)] + ["late"]


def test_rows_deleted_while_paging_do_not_shift_pages() -> None:
    _events(12, users=1, seconds=12)
    order = ("at", "id")
    first = keyset_page(LoginEvent.objects.all(), order=order, scope=SCOPE, page_size=4)
    LoginEvent.objects.filter(address__in=["a0", "a5"]).delete()
    second = keyset_page(
        LoginEvent.objects.all(),
        order=order,
        scope=SCOPE,
        page_size=4,
        page_token=first.next_page_token,
    )
    assert [e.address for e in second.items] == ["a4", "a6", "a7", "a8"]


def test_page_size_default_maximum_and_refusals() -> None:
    assert page_size_of(None) == page_size_of(0) == DEFAULT_PAGE_SIZE == 50
    assert page_size_of(1) == 1 and page_size_of(MAX_PAGE_SIZE) == MAX_PAGE_SIZE == 500
    for bad in (MAX_PAGE_SIZE + 1, -1, 10_000):
        with pytest.raises(InvalidArgument, match=str(MAX_PAGE_SIZE)) as exc:
            page_size_of(bad)
        assert exc.value.field == "page_size"
    _events(DEFAULT_PAGE_SIZE + 1)
    page = keyset_page(LoginEvent.objects.all(), order=("id",), scope=SCOPE, page_size=None)
    assert len(page.items) == DEFAULT_PAGE_SIZE and page.next_page_token


def test_forged_edited_and_foreign_tokens_are_refused() -> None:
    _events(6)
    page = keyset_page(LoginEvent.objects.all(), order=("id",), scope=SCOPE, page_size=2)
    token = page.next_page_token
    payload, _, signature = token.partition(":")
    forged = {
        "garbage": "not-a-token",
        "unsigned": signing.dumps({"p": [1], "s": SCOPE}, salt="another salt"),
        "edited": payload[:-2] + ("AA" if not payload.endswith("AA") else "BB") + ":" + signature,
    }
    for name, bad in forged.items():
        with pytest.raises(InvalidArgument, match="not one this service issued") as exc:
            keyset_page(
                LoginEvent.objects.all(), order=("id",), scope=SCOPE, page_size=2, page_token=bad
            )
        assert exc.value.field == "page_token", name
    for scope in (scope_of("another-list"), scope_of("logins-test", "another filter")):
        with pytest.raises(InvalidArgument, match="another listing or other filters"):
            keyset_page(
                LoginEvent.objects.all(), order=("id",), scope=scope, page_size=2, page_token=token
            )
    with pytest.raises(InvalidArgument, match="another listing"):  # same scope, other order
        keyset_page(
            LoginEvent.objects.all(),
            order=("at", "id"),
            scope=SCOPE,
            page_size=2,
            page_token=token,
        )


def test_scope_spells_filters_so_none_and_dates_are_stable() -> None:
    when = timezone.now()
    assert scope_of("l", None, when) == scope_of("l", "", when.isoformat())
    assert scope_of("l", "a", "b") != scope_of("l", "b", "a")
    assert scope_of("l", True) != scope_of("l", False)


def test_filters_that_join_alike_still_scope_apart() -> None:
    from privetl.common.paging import scope_of

    assert scope_of("users", "a|b") != scope_of("users", "a", "b")
    assert scope_of("users", "a", "") != scope_of("users", "a")
    assert scope_of("users", "a", None) == scope_of("users", "a", "")
