"""The ExtDatamodule Manager's services and readers on a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from privetl.audit.models import AuditLog
from privetl.common.context import Actor
from privetl.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from privetl.datamodules import selectors, services
from privetl.datamodules.models import Connection
from privetl.users import services as user_services
from privetl.users.models import AccessRequest
from tests.datamodules.conftest import contract_document
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db

PG = "postgresql://etl:pw-Secret1@db.example:5432/shop?sslmode=require"


def _create(actor: Actor, **kw) -> services.ConnectionCreated:
    given = {"id": "shop", "name": "Shop DB", "type": "SQL", "connection_string": PG, **kw}
    return services.connection_create(actor=actor, **given)


def _audit(action: str, target_id: str, service: str = "datamodules") -> list[AuditLog]:
    return list(
        AuditLog.objects.filter(service=service, action=action, target_id=target_id).order_by(
            "sequence"
        )
    )


# --- create ----------------------------------------------------------------------------


def test_create_makes_creator_and_listed_owners_owners_through_grants(
    carol, dave, contract, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = _create(carol, owner_user_ids=["dave"], contract=contract, description="orders")
    assert created == services.ConnectionCreated(
        connection_id="shop", owner_user_ids=["carol", "dave"]
    )
    grants = AccessRequest.objects.filter(ext_datamodule_id="shop").order_by("user_id")
    assert [(g.user_id, g.state, g.access_types, g.decided_by) for g in grants] == [
        ("carol", "approved", ["OWNER"], "carol"),
        ("dave", "approved", ["OWNER"], "carol"),
    ]
    for grant in grants:
        (record,) = _audit("access_request.grant", grant.id, service="users")
        assert record.detail == "granted by the connection's creation"
        assert record.actor_user_id == "carol"
    (record,) = _audit("connection.create", "shop")
    after = json.loads(record.after_json)
    assert after["owner_user_ids"] == ["carol", "dave"]
    assert after["redacted_location"] == "postgresql://etl:***@db.example:5432/shop?sslmode=require"
    view = selectors.connection_get_for_actor(actor=dave, connection_id="shop")
    assert view.owner_user_ids == ["carol", "dave"]
    assert view.caller_access == "GRANTED" and view.caller_access_types == ["OWNER"]
    assert view.connection_string_redacted == (
        "postgresql://etl:***@db.example:5432/shop?sslmode=require"
    )
    assert selectors.connection_contract(connection_id="shop") == contract_document()
    # the other owner is told; the creator is not
    assert [m.to for m in mail.outbox] == [["dave@example.test"]]
    assert "own" in mail.outbox[0].subject and "pw-Secret1" not in mail.outbox[0].body


def test_create_generates_an_id_when_none_is_given(carol) -> None:
    created = services.connection_create(
        actor=carol, name="Files", type="FILE", connection_string="/data/in"
    )
    assert len(created.connection_id) == 32
    assert selectors.connection_contract(connection_id=created.connection_id) is None


def test_create_needs_the_role(alice, admin) -> None:
    with pytest.raises(PermissionDenied, match="CREATE_EXT_DATAMODULE"):
        _create(alice)
    with pytest.raises(PermissionDenied, match="CREATE_EXT_DATAMODULE"):
        _create(admin)  # ADMIN alone manages people, not data modules
    assert not Connection.objects.exists() and not AccessRequest.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"id": "bad id!"}, "connection.id", "not allowed"),
        ({"name": ""}, "connection.name", "required"),
        ({"name": "x\u202ey"}, "connection.name", "bidirectional"),
        ({"description": "a\x00b"}, "connection.description", "NUL"),
        ({"type": ""}, "connection.type", "required"),
        ({"type": "MONGO"}, "connection.type", "one of"),
        ({"connection_string": ""}, "connection.connection_string", "required"),
        (
            {"connection_string": "mysql://u:pw-Secret1@h/db"},
            "connection.connection_string",
            "does not fit",
        ),
        (
            {"type": "FILE", "connection_string": "relative/dir"},
            "connection.connection_string",
            "absolute",
        ),
        (
            {"type": "API", "connection_string": "ftp://x"},
            "connection.connection_string",
            "does not fit",
        ),
        (
            {"type": "SQL", "connection_string": "sqlite:///relative.db"},
            "connection.connection_string",
            "absolute",
        ),
        ({"contract": "{not json"}, "connection.contract", "not JSON"),
        ({"contract": "[]"}, "connection.contract", "JSON object"),
        ({"contract": '{"recordSet": 5}'}, "connection.contract", "$.recordSet"),
        ({"owner_user_ids": ["nobody"]}, "connection.owner_user_ids", "not a user"),
        ({"owner_user_ids": ["bad id!"]}, "connection.owner_user_ids", "not allowed"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    carol, change, field, words
) -> None:
    before = AuditLog.objects.count()
    with pytest.raises((InvalidArgument, NotFound)) as exc:
        _create(carol, **change)
    assert exc.value.field == field
    assert words in exc.value.message
    assert "pw-Secret1" not in exc.value.message
    assert not Connection.objects.exists()
    assert not AccessRequest.objects.exists()
    assert AuditLog.objects.count() == before


def test_every_contract_problem_is_reported_with_its_path(carol) -> None:
    doc = contract_document()
    doc["recordSet"][0]["field"][0]["dataType"] = "sc:Nonsense"
    doc["recordSet"][1]["key"] = {"@id": "orders/no_such_column"}
    doc["surprise"] = 1
    with pytest.raises(InvalidArgument) as exc:
        _create(carol, contract=json.dumps(doc))
    message = exc.value.message
    assert "$.recordSet[0].field[0].dataType" in message
    assert "$.recordSet[1].key" in message
    assert "$.surprise" in message
    assert "problems" in message and "collectionProtocol" not in message


def test_a_taken_id_is_already_exists(carol) -> None:
    _create(carol)
    with pytest.raises(AlreadyExists):
        _create(carol, name="Again")
    assert Connection.objects.count() == 1


def test_blocked_owner_is_refused(carol, dave, admin) -> None:
    user_services.user_block(actor=admin, user_id="dave", reason="left")
    with pytest.raises(FailedPrecondition, match="blocked"):
        _create(carol, owner_user_ids=["dave"])
    assert not Connection.objects.exists()


# --- the modules that existed before connections ---------------------------------------


def test_add_access_on_an_id_that_is_no_connection_is_not_found(carol, alice) -> None:
    _create(carol)
    with pytest.raises(NotFound, match="does not exist") as exc:
        user_services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="nosuch", access_types=["READ"]
        )
    assert exc.value.field == "access.ext_datamodule_id"
    filed = user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="shop", access_types=["READ"]
    )
    assert filed.state == "pending"
    view = selectors.connection_get_for_actor(actor=alice, connection_id="shop")
    assert view.caller_access == "REQUESTED" and view.caller_access_types == []


def test_modules_from_before_connections_keep_working(carol, alice, admin) -> None:
    """A module that access records name keeps its requests and its admin bootstrap."""
    old = user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="legacy", access_types=["OWNER"]
    )
    _create(carol)  # from now on the platform knows connections
    again = user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="legacy", access_types=["READ"]
    )
    decided = user_services.access_request_decide(
        actor=admin, access_request_id=old.id, owner_user_id="root", approve=True
    )
    assert decided.state == "approved" and again.state == "pending"
    (record,) = _audit("access_request.approve", old.id, service="users")
    assert record.detail == "bootstrap: module had no owner"


def test_a_known_module_becomes_a_connection_only_by_its_owner(carol, alice, admin) -> None:
    filed = user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="legacy", access_types=["OWNER"]
    )
    user_services.access_request_decide(
        actor=admin, access_request_id=filed.id, owner_user_id="root", approve=True
    )
    with pytest.raises(PermissionDenied, match="already has owners"):
        _create(carol, id="legacy")
    user_services.user_role_add(actor=admin, user_id="alice", role="CREATE_EXT_DATAMODULE")
    created = _create(actor_for("alice", "CREATE_EXT_DATAMODULE"), id="legacy")
    assert created.owner_user_ids == ["alice"]
    assert AccessRequest.objects.filter(ext_datamodule_id="legacy", owner=True).count() == 1


def test_admin_bootstrap_of_a_connection_whose_owners_were_revoked(carol, alice, admin) -> None:
    _create(carol)
    user_services.access_request_remove(
        actor=carol, user_id="carol", ext_datamodule_id="shop", access_types=["OWNER"]
    )
    filed = user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="shop", access_types=["OWNER"]
    )
    user_services.access_request_decide(
        actor=admin, access_request_id=filed.id, owner_user_id="root", approve=True
    )
    (record,) = _audit("access_request.approve", filed.id, service="users")
    assert record.detail == "bootstrap: connection had no owner left"


# --- update ----------------------------------------------------------------------------


def test_update_changes_what_the_mask_names_and_tells_the_other_owners(
    carol, dave, django_capture_on_commit_callbacks
) -> None:
    _create(carol, owner_user_ids=["dave"], description="old")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        view = services.connection_update(
            actor=carol,
            connection_id="shop",
            update_mask=["name"],
            name="Shop database",
            description="ignored: not in the mask",
        )
    assert view.name == "Shop database" and view.description == "old"
    assert [m.to for m in mail.outbox] == [["dave@example.test"]]
    assert "name" in mail.outbox[0].body
    (record,) = _audit("connection.update", "shop")
    assert json.loads(record.before_json)["name"] == "Shop DB"
    assert json.loads(record.after_json)["changed"] == ["name"]


def test_update_of_the_connection_string_reencrypts_and_redacts(carol, dave) -> None:
    _create(carol)
    before = Connection.objects.get(pk="shop").connection_string_ciphertext
    view = services.connection_update(
        actor=carol,
        connection_id="shop",
        update_mask=["connection_string"],
        connection_string="postgresql://etl:new-Secret2@db2.example/shop",
    )
    assert view.connection_string_redacted == "postgresql://etl:***@db2.example/shop"
    stored = Connection.objects.get(pk="shop").connection_string_ciphertext
    assert stored != before and "new-Secret2" not in stored
    assert selectors.connection_secret_for_run("shop").endswith("@db2.example/shop")


def test_empty_mask_updates_every_field_sent_and_clears_nothing(carol, contract) -> None:
    _create(carol, description="old", contract=contract)
    view = services.connection_update(actor=carol, connection_id="shop", name="N")
    assert (view.name, view.description, view.contract) == ("N", "old", contract)
    assert selectors.connection_secret_for_run("shop") == PG
    view = services.connection_update(
        actor=carol, connection_id="shop", update_mask=["description", "contract"]
    )
    assert (view.description, view.contract) == ("", "")
    with pytest.raises(InvalidArgument, match="nothing to update"):
        services.connection_update(actor=carol, connection_id="shop")


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        (["nonsense"], "not a field"),
        (["id"], "never changes"),
        (["owner_user_ids"], "AddAccess"),
        (["created_by"], "cannot be updated"),
    ],
)
def test_unknown_or_read_only_mask_paths_are_invalid(carol, mask, words) -> None:
    _create(carol)
    with pytest.raises(InvalidArgument, match=words) as exc:
        services.connection_update(actor=carol, connection_id="shop", update_mask=mask, name="x")
    assert exc.value.field == "update_mask"
    assert Connection.objects.get(pk="shop").name == "Shop DB"


def test_changing_the_type_needs_a_new_connection_string(carol) -> None:
    _create(carol)
    with pytest.raises(InvalidArgument, match="needs a new connection.connection_string"):
        services.connection_update(
            actor=carol, connection_id="shop", update_mask=["type"], type="FILE"
        )
    services.connection_update(
        actor=carol,
        connection_id="shop",
        update_mask=["type", "connection_string"],
        type="FILE",
        connection_string="/data/shop",
    )
    assert Connection.objects.get(pk="shop").type == "FILE"


def test_update_by_a_non_owner_is_denied_and_unknown_is_not_found(carol, alice) -> None:
    _create(carol)
    user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="shop", access_types=["READ", "WRITE"]
    )
    with pytest.raises(PermissionDenied, match="OWNER"):
        services.connection_update(
            actor=alice, connection_id="shop", update_mask=["name"], name="x"
        )
    with pytest.raises(NotFound):
        services.connection_update(
            actor=carol, connection_id="nosuch", update_mask=["name"], name="x"
        )
    assert Connection.objects.get(pk="shop").name == "Shop DB"


def test_no_mail_for_an_update_that_changes_nothing(
    carol, dave, django_capture_on_commit_callbacks
) -> None:
    _create(carol, owner_user_ids=["dave"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.connection_update(
            actor=carol, connection_id="shop", update_mask=["name"], name="Shop DB"
        )
    assert mail.outbox == []
    assert len(_audit("connection.update", "shop")) == 1


# --- readers ---------------------------------------------------------------------------


def test_list_gives_each_connection_with_the_callers_access(carol, alice, dave) -> None:
    _create(carol, id="a1")
    _create(carol, id="b2", type="FILE", connection_string="/data/b2")
    _create(carol, id="c3", owner_user_ids=["alice"])
    user_services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="a1", access_types=["READ"]
    )
    page = selectors.connection_list_for_actor(actor=alice, page_size=2)
    assert [(v.id, v.caller_access) for v in page.items] == [("a1", "REQUESTED"), ("b2", "NONE")]
    rest = selectors.connection_list_for_actor(
        actor=alice, page_size=2, page_token=page.next_page_token
    )
    assert [(v.id, v.caller_access, v.caller_access_types) for v in rest.items] == [
        ("c3", "GRANTED", ["OWNER"])
    ]
    assert rest.next_page_token == ""
    files = selectors.connection_list_for_actor(actor=alice, type="FILE")
    assert [v.id for v in files.items] == ["b2"]
    with pytest.raises(InvalidArgument, match="page_token"):
        selectors.connection_list_for_actor(
            actor=alice, type="FILE", page_token=page.next_page_token
        )


def test_readers_for_other_services(carol, alice) -> None:
    _create(carol)
    assert selectors.caller_access_types(actor=carol, connection_id="shop") == frozenset({"OWNER"})
    assert selectors.caller_access_types(actor=alice, connection_id="shop") == frozenset()
    assert selectors.caller_access_types(actor=alice, connection_id="nosuch") == frozenset()
    with pytest.raises(NotFound):
        selectors.connection_get_for_actor(actor=alice, connection_id="nosuch")
    with pytest.raises(NotFound):
        selectors.connection_contract(connection_id="nosuch")
    with pytest.raises(NotFound):
        selectors.connection_secret_for_run("nosuch")
