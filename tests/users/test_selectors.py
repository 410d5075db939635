"""Who may read what: the permission-scoped readers of the User Manager."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied, Unauthenticated
from privetl.users import selectors, services
from privetl.users.models import AccessRequest
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db


def _file(
    actor: Actor, module: str = "customers", types: tuple[str, ...] = ("READ",)
) -> AccessRequest:
    return services.access_request_file(
        actor=actor, user_id=actor.user_id, ext_datamodule_id=module, access_types=list(types)
    )


def test_get_user_self_admin_and_owner_of_a_requested_module(admin, alice, olga, bob) -> None:
    assert selectors.user_get_for_actor(actor=alice, user_id="alice").id == "alice"
    assert selectors.user_get_for_actor(actor=admin, user_id="alice").id == "alice"
    with pytest.raises(PermissionDenied):  # olga owns customers, alice has not asked for it yet
        selectors.user_get_for_actor(actor=olga, user_id="alice")
    _file(alice)
    assert selectors.user_get_for_actor(actor=olga, user_id="alice").id == "alice"
    with pytest.raises(PermissionDenied):
        selectors.user_get_for_actor(actor=bob, user_id="alice")
    with pytest.raises(PermissionDenied):  # a role other than ADMIN does not let one see users
        selectors.user_get_for_actor(
            actor=actor_for("bob", "MANAGE_DATA", "EDIT_TASK"), user_id="alice"
        )
    with pytest.raises(NotFound):
        selectors.user_get_for_actor(actor=admin, user_id="ghost")


def test_get_user_splits_grants_from_other_requests(admin, alice, olga) -> None:
    pending = _file(alice, types=("WRITE",))
    granted = _file(alice)
    denied = _file(alice, module="customers", types=("OWNER",))
    services.access_request_decide(
        actor=olga, access_request_id=granted.id, owner_user_id="olga", approve=True
    )
    services.access_request_decide(
        actor=olga, access_request_id=denied.id, owner_user_id="olga", approve=False
    )
    view = selectors.user_get_for_actor(actor=alice, user_id="alice")
    assert [r.id for r in view.grants] == [granted.id]
    assert {r.id: selectors.access_request_effective_state(r) for r in view.other_requests} == {
        pending.id: "pending",
        denied.id: "denied",
    }


def test_pending_for_owner_is_scoped(admin, alice, olga, bob) -> None:
    on_customers = _file(alice)
    on_orders = _file(bob, module="orders")
    olgas_own = _file(olga, types=("READ",))
    assert [r.id for r in selectors.access_requests_pending_for_owner(actor=olga).items] == [
        on_customers.id
    ]
    assert selectors.access_requests_pending_for_owner(actor=alice).items == []
    # the admin may decide only on ownerless modules: orders, not customers
    assert [r.id for r in selectors.access_requests_pending_for_owner(actor=admin).items] == [
        on_orders.id
    ]
    assert (
        selectors.access_requests_pending_for_owner(actor=olga, ext_datamodule_id="orders").items
        == []
    )
    AccessRequest.objects.filter(pk=on_customers.id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert selectors.access_requests_pending_for_owner(actor=olga).items == []
    assert olgas_own.id not in {
        r.id for r in selectors.access_requests_on_owned_modules(actor=alice).items
    }
    assert {r.id for r in selectors.access_requests_on_owned_modules(actor=olga).items} >= {
        on_customers.id,
        olgas_own.id,
    }


def test_get_access_request_scope(admin, alice, olga, bob) -> None:
    request = _file(alice)
    for reader in (alice, olga, admin):
        assert (
            selectors.access_request_get_for_actor(actor=reader, access_request_id=request.id).id
            == request.id
        )
    with pytest.raises(PermissionDenied):
        selectors.access_request_get_for_actor(actor=bob, access_request_id=request.id)
    with pytest.raises(NotFound):
        selectors.access_request_get_for_actor(actor=admin, access_request_id="nope")


def test_list_users_admin_only_and_paged(admin, alice, olga, bob) -> None:
    page = selectors.user_list_for_actor(actor=admin, page_size=2).items
    assert [u.id for u in page] == ["alice", "bob"]
    rest = selectors.user_list_for_actor(actor=admin, page_size=2, after=page[-1].id).items
    assert [u.id for u in rest] == ["olga", "root"]
    with pytest.raises(PermissionDenied):
        selectors.user_list_for_actor(actor=alice)
    assert selectors.user_roles_map(["root", "alice"]) == {"root": ["ADMIN"], "alice": []}


def test_requests_of_a_user_follow_user_visibility(alice, bob) -> None:
    request = _file(alice)
    assert [
        r.id for r in selectors.access_requests_for_user(actor=alice, user_id="alice").items
    ] == [request.id]
    with pytest.raises(PermissionDenied):
        selectors.access_requests_for_user(actor=bob, user_id="alice")


def test_reads_do_not_grow_with_the_data(admin, alice, olga, django_assert_num_queries) -> None:
    """Query counts are fixed (no N+1): GetUser, ListUsers and the pending list."""
    for n in range(5):
        services.user_create(actor=admin, id=f"u{n}", name=f"User {n}")
        _file(actor_for(f"u{n}"))
        _file(alice, module=f"m{n}")
    with django_assert_num_queries(3):  # user, roles, requests (self needs no visibility query)
        view = selectors.user_get_for_actor(actor=alice, user_id="alice")
    assert len(view.other_requests) == 5
    with django_assert_num_queries(2):  # the users, then their roles (prefetched)
        selectors.user_list_for_actor(actor=admin)
    with django_assert_num_queries(2):
        assert len(selectors.access_requests_pending_for_owner(actor=olga).items) == 5
    with django_assert_num_queries(3):
        assert len(selectors.access_requests_pending_for_owner(actor=admin).items) == 5


def test_email_is_in_the_view_only_for_oneself_and_admins(admin, alice, olga) -> None:
    _file(alice)  # olga owns customers: she may now see alice, without the address
    assert selectors.user_get_for_actor(actor=alice, user_id="alice").email == "alice@example.test"
    assert selectors.user_get_for_actor(actor=admin, user_id="alice").email == "alice@example.test"
    assert selectors.user_get_for_actor(actor=olga, user_id="alice").email is None
    assert selectors.user_get_for_actor(actor=olga, user_id="olga").email == "olga@example.test"


def test_principal_for_is_the_one_impersonation_rule(admin, alice, bob) -> None:
    assert selectors.principal_for(user_id="alice").subject.user_id == "alice"
    acting = selectors.principal_for(user_id="alice", impersonator_id="root")
    assert (acting.subject.user_id, acting.impersonator.user_id) == ("alice", "root")
    assert selectors.principal_for(user_id="root", impersonator_id="root").impersonator is None
    with pytest.raises(Unauthenticated, match="does not exist"):
        selectors.principal_for(user_id="ghost")
    with pytest.raises(Unauthenticated, match="does not exist"):
        selectors.principal_for(user_id="alice", impersonator_id="ghost")
    with pytest.raises(PermissionDenied, match="only an ADMIN"):
        selectors.principal_for(user_id="alice", impersonator_id="bob")
    with pytest.raises(PermissionDenied, match="no such user"):
        selectors.principal_for(user_id="ghost", impersonator_id="root")
    services.user_block(actor=admin, user_id="alice")
    with pytest.raises(Unauthenticated, match="blocked"):
        selectors.principal_for(user_id="alice")
    with pytest.raises(PermissionDenied, match="blocked"):
        selectors.principal_for(user_id="alice", impersonator_id="root")
