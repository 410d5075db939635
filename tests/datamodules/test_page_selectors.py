"""The readers the UI's pages ask before they offer a form: who may create a connection
(the rule CreateConnection applies), a connection for its owners' edit form, and a
connection's page with its contract read as tables and columns."""

from __future__ import annotations

import json

import pytest

from privetl.common.context import Actor
from privetl.common.errors import NotFound, PermissionDenied
from privetl.datamodules import selectors, services
from tests.datamodules.conftest import contract_document
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db


def test_only_the_creator_role_may_create(carol: Actor, admin: Actor) -> None:
    selectors.connection_creation_check(actor=carol)
    for refused in (admin, actor_for("zed")):
        with pytest.raises(PermissionDenied, match="CREATE_EXT_DATAMODULE"):
            selectors.connection_creation_check(actor=refused)
        with pytest.raises(PermissionDenied, match="CREATE_EXT_DATAMODULE"):
            services.connection_create(
                actor=refused, name="x", type="FILE", connection_string="/srv"
            )


@pytest.fixture
def sales(carol: Actor, dave: Actor) -> str:
    services.connection_create(
        actor=carol,
        id="sales",
        name="Sales",
        type="FILE",
        connection_string="/srv",
        contract=json.dumps(contract_document()),
        owner_user_ids=["dave"],
    )
    return "sales"


def test_only_owners_get_a_connection_for_editing(sales: str, carol: Actor, alice: Actor) -> None:
    assert selectors.connection_get_for_owner(actor=carol, connection_id=sales).name == "Sales"
    with pytest.raises(PermissionDenied, match="only an OWNER"):
        selectors.connection_get_for_owner(actor=alice, connection_id=sales)
    with pytest.raises(NotFound):
        selectors.connection_get_for_owner(actor=carol, connection_id="nope")


def test_a_connection_page_reads_the_contract_and_what_the_caller_may_do(
    sales: str, carol: Actor, alice: Actor, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(2):
        page = selectors.connection_page_for_actor(actor=carol, connection_id=sales)
    assert (page.may_edit, page.may_test) == (True, True)
    assert [t.name for t in page.tables] == ["customers", "orders"]
    orders = page.tables[1]
    assert [c.name for c in orders.columns] == ["id", "customer_id", "amount", "ordered_at"]
    key, customer = orders.columns[0], orders.columns[1]
    assert (key.primary_key, key.data_type, key.references) == (True, "Integer", "")
    assert (customer.primary_key, customer.references) == (False, "customers/id")
    stranger = selectors.connection_page_for_actor(actor=alice, connection_id=sales)
    assert (stranger.may_edit, stranger.may_test) == (False, False)


@pytest.mark.parametrize("contract", ["", "  ", "not json", "[]", '{"recordSet": 3}'])
def test_a_contract_without_tables_reads_as_none(contract: str) -> None:
    assert selectors.contract_tables(contract) == []
