"""``user_admin_view``, the users admin page's one reader: ADMIN only (even for oneself),
the whole user and a page of their logins, in a fixed number of queries."""

from __future__ import annotations

import pytest

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied
from privetl.users import services
from privetl.users.models import LoginEvent
from privetl.users.selectors import LOGINS_PER_ADMIN_PAGE, user_admin_view

pytestmark = pytest.mark.django_db


def test_an_admin_gets_the_user_and_the_newest_logins(
    admin: Actor,
    alice: Actor,
    django_assert_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    services.user_role_add(actor=admin, user_id="alice", role="EDIT_TASK")
    for _ in range(LOGINS_PER_ADMIN_PAGE + 3):
        services.login_record(
            user_id="alice", issuer="local", address=None, door="ui", success=True
        )
    with django_assert_num_queries(5):
        view = user_admin_view(actor=admin, user_id="alice")
    assert (view.user.id, view.user.roles, view.user.email) == (
        "alice",
        ["EDIT_TASK"],
        "alice@example.test",
    )
    assert len(view.logins.items) == LOGINS_PER_ADMIN_PAGE and view.logins.next_page_token
    rest = user_admin_view(
        actor=admin, user_id="alice", logins_page_token=view.logins.next_page_token
    )
    assert len(rest.logins.items) == 3 and not rest.logins.next_page_token
    assert LoginEvent.objects.filter(user_id="alice").count() == LOGINS_PER_ADMIN_PAGE + 3


@pytest.mark.parametrize("user_id", ["alice", "bob"])
def test_anyone_else_is_refused_even_for_themself(alice: Actor, bob: Actor, user_id: str) -> None:
    with pytest.raises(PermissionDenied, match="only an ADMIN"):
        user_admin_view(actor=alice, user_id=user_id)


def test_an_unknown_user_is_not_found(admin: Actor) -> None:
    with pytest.raises(NotFound):
        user_admin_view(actor=admin, user_id="nobody")
