"""Shared by the script and task tests: users with roles and grants, connections, and the
sample module (``examples/customers/module.json``) as a contract and as scripts.

Connections are written as rows (the ExtDatamodule Manager's services are another
developer's work in progress); grants go through the User Manager's services.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from privetl.common.context import Actor
from privetl.datamodules.models import Connection
from privetl.scripts import bodies, services
from privetl.tasks.models import Task
from privetl.users import services as users

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customers" / "module.json"
SAMPLE: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
CONTRACT: dict[str, Any] = bodies.bare_contract(SAMPLE)
"""The sample module's schema: tables, typed columns, keys, conflicts, foreign keys."""


def actor_for(user_id: str, *roles: str) -> Actor:
    """An actor as a door would build it after authentication."""
    return Actor(user_id=user_id, roles=frozenset(roles), door="test")


ADMIN = actor_for("root", "ADMIN")


def user(user_id: str, *roles: str) -> Actor:
    """A user (made by the admin) holding ``roles``."""
    users.user_bootstrap_admin(id="root", name="Root Admin")
    users.user_create(actor=ADMIN, id=user_id, name=user_id.title())
    for role in roles:
        users.user_role_add(actor=ADMIN, user_id=user_id, role=role)
    return actor_for(user_id, *roles)


def grant(user_id: str, connection_id: str, *types: str, decider: str = "root") -> str:
    """Grant ``types`` on a connection, decided by ``decider`` (the admin while nobody owns
    it, else an owner). The request id."""
    filed = users.access_request_file(
        actor=actor_for(user_id),
        user_id=user_id,
        ext_datamodule_id=connection_id,
        access_types=list(types),
    )
    users.access_request_decide(
        actor=ADMIN if decider == "root" else actor_for(decider),
        access_request_id=filed.id,
        owner_user_id=decider,
        approve=True,
    )
    return filed.id


def revoke(user_id: str, request_id: str) -> None:
    """The user gives the grant back (RemoveAccess)."""
    users.access_request_remove(
        actor=actor_for(user_id), user_id=user_id, access_request_id=request_id
    )


def connection(
    connection_id: str,
    type: str = "FILE",
    contract: dict[str, Any] | None = None,  # noqa: A002
) -> Connection:
    """A connection row (its string is the ExtDatamodule Manager's to encrypt; unused here)."""
    now = timezone.now()
    return Connection.objects.create(
        id=connection_id,
        name=connection_id,
        type=type,
        contract=json.dumps(contract) if contract is not None else "",
        connection_string_ciphertext="not-used-by-these-tests",
        connection_string_redacted="***",
        created_by="root",
        created_at=now,
        updated_at=now,
    )


def task_row(task_id: str = "t1", destination: str = "customers") -> Task:
    """A draft task row for scripts to name (the ETL Task Manager's services check grants
    these tests are not about; tests/tasks makes its tasks through them)."""
    return Task.objects.create(
        id=task_id, name=task_id, ext_datamodule_id=destination, created_by="root"
    )


def fields(*names: str, module: str = "customers") -> list[dict[str, str]]:
    """``Field`` dicts of the module for ``"<table>/<column>"`` names."""
    return [{"ext_datamodule_id": module, "field_name": name} for name in names]


def _rule(
    field_type: str, rule_type: str, *, default: str = "", lo: str = "", hi: str = ""
) -> dict[str, Any]:
    return {
        "field_type": field_type,
        "type": rule_type,
        "default_value": default,
        "min_value": lo,
        "max_value": hi,
    }


def _anon(rule_type: str, **params: Any) -> dict[str, Any]:
    return {"type": rule_type, "parameters_json": json.dumps(params)}


SAMPLE_EXTRACTORS: list[tuple[str, dict[str, Any]]] = [
    (
        "customers_crm",
        {
            "table": "customers",
            "kind": "File",
            "priority": 2,
            "config_json": json.dumps(
                {"kind": "file", "path": "customers_crm.csv", "format": "csv"}
            ),
        },
    ),
    (
        "customers_legacy",
        {
            "table": "customers",
            "kind": "Sql",
            "priority": 1,
            "config_json": json.dumps(
                {
                    "kind": "sql",
                    "connection": "sqlite:///customers_legacy.sqlite",
                    "query": "SELECT * FROM legacy_customers",
                    "mapping": SAMPLE["privetl:collectionProtocol"][1]["mapping"],
                }
            ),
        },
    ),
    (
        "orders_web",
        {
            "table": "orders",
            "kind": "File",
            "priority": 2,
            "config_json": json.dumps(
                {"kind": "file", "path": "orders_web.jsonl", "format": "jsonl"}
            ),
        },
    ),
    (
        "orders_store",
        {
            "table": "orders",
            "kind": "File",
            "priority": 1,
            "config_json": json.dumps(
                {"kind": "file", "path": "orders_store.csv", "format": "csv"}
            ),
        },
    ),
]
SAMPLE_FIELD_RULES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("fr_drop_int", _rule("Integer", "RemoveEmpty"), ["customers/id"]),
    ("fr_drop_order_id", _rule("Integer", "RemoveEmpty"), ["orders/id"]),
    ("fr_drop_date", _rule("Date", "RemoveEmpty"), ["customers/birth_date"]),
    ("fr_drop_text", _rule("String", "RemoveEmpty"), ["customers/gender"]),
    ("fr_drop_amount", _rule("Double", "RemoveEmpty"), ["orders/amount"]),
    ("fr_fill_zip", _rule("String", "FillEmpty", default="00000"), ["customers/zip"]),
    ("fr_fill_income", _rule("Double", "FillEmpty", default="0"), ["customers/income"]),
    (
        "fr_birth_range",
        _rule("Date", "RemoveOutOfRange", lo="1900-01-01", hi="2025-12-31"),
        ["customers/birth_date"],
    ),
    (
        "fr_income_range",
        _rule("Double", "FillOutOfRange", lo="0", hi="1000000"),
        ["customers/income"],
    ),
    ("fr_amount_range", _rule("Double", "FillOutOfRange", lo="0", hi="10000"), ["orders/amount"]),
]
SAMPLE_ANONYMIZATION: list[tuple[str, dict[str, Any], list[str]]] = [
    ("an_mask", _anon("Suppression", mask="***"), ["customers/name", "customers/email"]),
    ("an_birth", _anon("Generalization", granularity="year"), ["customers/birth_date"]),
    ("an_zip", _anon("Generalization", truncate=3), ["customers/zip"]),
    ("an_income", _anon("Generalization", band=25000.0), ["customers/income"]),
    ("an_diagnosis", _anon("Permutation", within=["zip"]), ["customers/diagnosis"]),
    (
        "an_amount",
        _anon("Perturbation", distribution="laplace", scale=2.0, round=2),
        ["orders/amount"],
    ),
    ("an_ordered", _anon("Generalization", granularity="day"), ["orders/ordered_at"]),
    (
        "an_privacy",
        _anon("Suppression", k=3, l=2, sensitive=["diagnosis"], max_suppression=0.25),
        ["customers/birth_date", "customers/zip", "customers/gender"],
    ),
]
SAMPLE_UPLOADER = {
    "destination_json": json.dumps({"kind": "directory", "path": "../../var/customers-published"}),
    "rewrite_protocol": True,
}


def create_sample_scripts(
    actor: Actor,
    task_id: str,
    *,
    extractors: list[tuple[str, dict[str, Any]]] | None = None,
    uploader: dict[str, Any] | None = None,
    release: bool = True,
) -> dict[str, list[str]]:
    """The sample module's scripts for a task, released; their ids per task slot."""
    made: dict[str, list[str]] = {
        "extraction_script_ids": [],
        "field_rule_script_ids": [],
        "anonymization_script_ids": [],
        "uploading_script_id": [],
    }
    for script_id, body in extractors if extractors is not None else SAMPLE_EXTRACTORS:
        services.script_create(
            actor=actor, id=script_id, task_id=task_id, kind="extractor", body=body
        )
        made["extraction_script_ids"].append(script_id)
    for script_id, body, names in SAMPLE_FIELD_RULES:
        services.script_create(
            actor=actor,
            id=script_id,
            task_id=task_id,
            kind="field_rule",
            body=body,
            fields=fields(*names),
        )
        made["field_rule_script_ids"].append(script_id)
    for script_id, body, names in SAMPLE_ANONYMIZATION:
        services.script_create(
            actor=actor,
            id=script_id,
            task_id=task_id,
            kind="anonymization_rule",
            body=body,
            fields=fields(*names),
        )
        made["anonymization_script_ids"].append(script_id)
    services.script_create(
        actor=actor,
        id="uploader",
        task_id=task_id,
        kind="uploader",
        body=uploader or SAMPLE_UPLOADER,
    )
    made["uploading_script_id"].append("uploader")
    if release:
        for ids in made.values():
            for script_id in ids:
                services.script_release(actor=actor, script_id=script_id)
    return made


def add_legacy_extractor(actor: Actor, task_id: str, made: dict[str, list[str]]) -> None:
    """A released extractor "legacy_x" of the task reading customers from the SQL connection
    "legacy" (which must exist), added to ``made``'s extractors: a task with a source grant."""
    services.script_create(
        actor=actor,
        id="legacy_x",
        task_id=task_id,
        kind="extractor",
        body={
            "table": "customers",
            "kind": "Sql",
            "connection_id": "legacy",
            "config_json": json.dumps({"query": "SELECT * FROM legacy_customers"}),
        },
    )
    services.script_release(actor=actor, script_id="legacy_x")
    made["extraction_script_ids"].append("legacy_x")


def ui_login(client: Any, user_id: str) -> Any:
    """Sign ``user_id`` in to the web UI through the embedded default's local login (the user
    must exist and not be blocked: the login redirects to the dashboard); the client."""
    answer = client.post("/ui/login/", {"user_id": user_id})
    assert answer.status_code == 302, answer.content.decode()[:300]
    return client
