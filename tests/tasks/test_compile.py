"""The compile step of Release: every script kind into its part of the document, and the
sample module built from scripts equal to the hand-written examples/customers/module.json."""

from __future__ import annotations

import hashlib
import json

import pytest

from privetl.engine.jsonld import parse_document
from privetl.scripts import services as scripts
from privetl.tasks import services
from privetl.tasks.models import Task
from privetl.tasks.selectors import task_module_for_actor
from tests.scripts.helpers import SAMPLE, create_sample_scripts, fields


def configure(editor, task_id: str, made: dict[str, list[str]]) -> None:
    """Put the scripts into the task's lists through the Update… services."""
    for slot, ids in made.items():
        services.task_scripts_set(actor=editor, task_id=task_id, slot=slot, script_ids=ids)


def test_the_sample_module_built_from_scripts_is_the_hand_written_one(editor, task) -> None:
    configure(editor, task, create_sample_scripts(editor, task))
    released = services.task_release(actor=editor, task_id=task)
    assert released.state == "RELEASED"
    module = task_module_for_actor(actor=editor, task_id=task)
    document = json.loads(module.document)
    assert parse_document(document) == parse_document(SAMPLE)
    assert (
        module.sha256
        == hashlib.sha256(module.document.encode()).hexdigest()
        == released.module_sha256
    )
    assert document["privetl:collectionProtocol"] == SAMPLE["privetl:collectionProtocol"]


def test_every_kind_lands_in_its_part_of_the_document(editor, task) -> None:
    made = create_sample_scripts(editor, task)
    scripts.script_create(
        actor=editor,
        id="positive",
        task_id=task,
        kind="transformer",
        body={
            "transformation_script": "SELECT * FROM orders WHERE amount > 0",
            "type": "Update",
            "target_table": "orders",
        },
    )
    scripts.script_release(actor=editor, script_id="positive")
    made["transformation_script_ids"] = ["positive"]
    configure(editor, task, made)
    services.task_release(actor=editor, task_id=task)
    document = json.loads(task_module_for_actor(actor=editor, task_id=task).document)
    customers, orders = document["recordSet"]
    by_name = {f["name"]: f for f in customers["field"]}
    assert by_name["id"]["privetl:empty"] == {"strategy": "drop"}  # field rule: empty
    assert by_name["birth_date"]["privetl:range"]["on_violation"] == "drop"  # field rule: range
    assert by_name["zip"]["privetl:anonymize"] == {"op": "generalize", "truncate": 3}  # column op
    assert customers["privetl:privacy"]["quasi_identifiers"] == ["birth_date", "zip", "gender"]
    assert customers["privetl:privacy"]["k"] == 3  # Suppression with k: the privacy target
    assert document["privetl:transformations"] == [
        {
            "name": "positive",
            "type": "update",
            "target": "orders",
            "sql": "SELECT * FROM orders WHERE amount > 0",
        }
    ]
    assert document["privetl:upload"]["destination"]["kind"] == "directory"
    assert document["privetl:seed"] == 42


def test_anatomization_is_the_tables(editor, task) -> None:
    made = create_sample_scripts(editor, task)
    made["anonymization_script_ids"] = ["an_mask"]
    scripts.script_create(
        actor=editor,
        id="anatomy",
        task_id=task,
        kind="anonymization_rule",
        body={
            "type": "Anatomization",
            "parameters_json": json.dumps({"sensitive": "diagnosis", "l": 2}),
        },
        fields=fields("customers/zip", "customers/gender"),
    )
    scripts.script_release(actor=editor, script_id="anatomy")
    made["anonymization_script_ids"].append("anatomy")
    configure(editor, task, made)
    services.task_release(actor=editor, task_id=task)
    document = json.loads(task_module_for_actor(actor=editor, task_id=task).document)
    assert document["recordSet"][0]["privetl:anatomize"] == {
        "quasi_identifiers": ["zip", "gender"],
        "sensitive": "diagnosis",
        "l": 2,
    }


def test_a_released_task_is_immutable_and_keeps_its_document(editor, task) -> None:
    configure(editor, task, create_sample_scripts(editor, task))
    services.task_release(actor=editor, task_id=task)
    stored = Task.objects.get(pk=task).module_document
    from privetl.common.errors import FailedPrecondition

    with pytest.raises(FailedPrecondition, match="immutable"):
        services.task_scripts_set(
            actor=editor, task_id=task, slot="extraction_script_ids", script_ids=[]
        )
    with pytest.raises(FailedPrecondition):
        services.task_release(actor=editor, task_id=task)
    assert Task.objects.get(pk=task).module_document == stored


def test_a_connections_secret_enters_the_document_only_as_its_variable(editor, task) -> None:
    from privetl.audit.models import AuditLog
    from privetl.datamodules.services import connection_create
    from tests.scripts.helpers import grant, user

    planted = "planted-secret-4711"
    owner = user("olga", "CREATE_EXT_DATAMODULE")
    connection_create(
        actor=owner,
        id="shop-api",
        name="Shop API",
        type="API",
        connection_string=f"https://svc:{planted}@api.example.test/v1",
    )
    grant("eddie", "shop-api", "READ", decider="olga")
    made = create_sample_scripts(editor, task)
    scripts.script_create(
        actor=editor,
        id="orders_api",
        task_id=task,
        kind="extractor",
        body={
            "table": "orders",
            "kind": "Http",
            "connection_id": "shop-api",
            "config_json": json.dumps({"url": "/orders?page=1", "records_path": "items"}),
        },
    )
    scripts.script_release(actor=editor, script_id="orders_api")
    made["extraction_script_ids"].append("orders_api")
    configure(editor, task, made)
    services.task_release(actor=editor, task_id=task)
    module = task_module_for_actor(actor=editor, task_id=task)
    entry = json.loads(module.document)["privetl:collectionProtocol"][-1]
    assert entry["source"]["url"] == "${PRIVETL_CONNECTION_SHOP_API}/orders?page=1"
    assert planted not in module.document and planted not in json.dumps(module.connections)
    assert module.connections == [
        {
            "connection_id": "shop-api",
            "type": "API",
            "variable": "PRIVETL_CONNECTION_SHOP_API",
            "folder": "",
        }
    ]
    for row in AuditLog.objects.values_list("before_json", "after_json", "detail"):
        assert not any(planted in (text or "") for text in row)
