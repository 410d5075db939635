"""The Script Manager's writers on a real database: every body checked with the engine's
rules (with the path of the bad value), released scripts immutable, kinds fixed, audited."""

from __future__ import annotations

import json

import pytest

from privetl.audit.models import AuditLog
from privetl.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from privetl.scripts import services
from privetl.scripts.models import Script
from privetl.scripts.selectors import script_get_for_actor
from tests.scripts.helpers import actor_for, connection, fields

EXTRACTOR = {
    "table": "customers",
    "kind": "File",
    "config_json": json.dumps({"kind": "file", "path": "customers.csv", "format": "csv"}),
}


def _create(editor, kind: str, body: dict, names: tuple[str, ...] = (), **kw):
    return services.script_create(
        actor=editor, task_id="t1", kind=kind, body=body, fields=fields(*names), **kw
    )


def _bad(editor, kind: str, body: dict, names: tuple[str, ...] = ()) -> InvalidArgument:
    count = Script.objects.count()
    with pytest.raises(InvalidArgument) as exc:
        _create(editor, kind, body, names)
    assert Script.objects.count() == count  # nothing changed
    return exc.value


def test_an_extractor_is_created_with_its_body_and_audited(editor) -> None:
    view = _create(editor, "extractor", EXTRACTOR, id="crm")
    assert (view.id, view.kind, view.released) == ("crm", "extractor", False)
    assert view.body["config_json"] == EXTRACTOR["config_json"]
    record = AuditLog.objects.get(service="scripts", action="script.create", target_id="crm")
    assert json.loads(record.after_json)["body"]["table"] == "customers"


def test_a_generated_id_is_a_name_the_document_accepts(editor) -> None:
    view = _create(editor, "extractor", EXTRACTOR)
    assert view.id.startswith("script_") and view.id.replace("_", "").isalnum()


def test_a_taken_id_is_already_exists(editor) -> None:
    _create(editor, "extractor", EXTRACTOR, id="crm")
    with pytest.raises(AlreadyExists):
        _create(editor, "extractor", EXTRACTOR, id="crm")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ("{not json", "extractor.config_json"),
        (json.dumps({"kind": "ftp", "path": "x"}), "extractor.config_json.kind"),
        (json.dumps({"kind": "file", "path": "a.csv"}), "extractor.config_json.format"),
        (
            json.dumps({"kind": "file", "path": "a.csv", "format": "xls"}),
            "extractor.config_json.format",
        ),
        (
            json.dumps({"kind": "file", "path": "a.csv", "format": "csv", "typo": 1}),
            "extractor.config_json.typo",
        ),
        (json.dumps({"kind": "sql", "query": "SELECT 1"}), "extractor.config_json.kind"),
    ],
)
def test_a_bad_extractor_config_names_the_path(editor, config: str, field: str) -> None:
    error = _bad(editor, "extractor", {**EXTRACTOR, "config_json": config})
    assert error.field == field, error.message
    assert field in error.message


def test_an_unknown_source_kind_says_which_kinds_there_are(editor) -> None:
    error = _bad(editor, "extractor", {**EXTRACTOR, "config_json": json.dumps({"kind": "ftp"})})
    assert (
        "unknown source kind 'ftp'" in error.message and "file, sql, http or exec" in error.message
    )


def test_an_extractor_through_a_connection_takes_its_location_from_it(editor) -> None:
    connection("legacy", "SQL")
    body = {
        "table": "customers",
        "kind": "Sql",
        "connection_id": "legacy",
        "config_json": json.dumps({"query": "SELECT 1"}),
    }
    assert _create(editor, "extractor", body).body["connection_id"] == "legacy"
    doubled = {
        **body,
        "config_json": json.dumps({"query": "SELECT 1", "connection": "sqlite:///x"}),
    }
    assert _bad(editor, "extractor", doubled).field == "extractor.config_json.connection"


def test_an_extractor_through_a_connection_of_the_wrong_type_is_refused(editor) -> None:
    connection("api", "API")
    connection("rpc", "GRPC")
    body = {**EXTRACTOR, "connection_id": "api"}
    assert _bad(editor, "extractor", body).field == "extractor.connection_id"
    with pytest.raises(FailedPrecondition, match="GRPC"):
        _create(editor, "extractor", {**EXTRACTOR, "connection_id": "rpc"})
    with pytest.raises(NotFound):
        _create(editor, "extractor", {**EXTRACTOR, "connection_id": "nowhere"})


def test_a_generalization_band_on_a_string_column_of_the_contract_is_refused(editor) -> None:
    body = {"type": "Generalization", "parameters_json": json.dumps({"band": 10})}
    error = _bad(editor, "anonymization_rule", body, ("customers/zip",))
    assert error.field == "fields[0]"
    assert "band" in error.message and "'zip' is a string column" in error.message


def test_a_rule_on_a_column_the_contract_lacks_names_its_columns(editor) -> None:
    body = {"type": "Generalization", "parameters_json": json.dumps({"truncate": 2})}
    error = _bad(editor, "anonymization_rule", body, ("customers/zip", "customers/shoe_size"))
    assert error.field == "fields[1]" and "shoe_size" in error.message and "zip" in error.message


def test_a_range_on_a_string_column_is_refused(editor) -> None:
    body = {"field_type": "String", "type": "RemoveOutOfRange", "min_value": "a"}
    error = _bad(editor, "field_rule", body, ("customers/zip",))
    assert "range" in error.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field_type": "Integer", "type": "FillEmpty"}, "field_rule.default_value"),
        (
            {"field_type": "Integer", "type": "FillEmpty", "default_value": "x"},
            "field_rule.default_value",
        ),
        (
            {"field_type": "Date", "type": "RemoveOutOfRange", "min_value": "2020-13-01"},
            "field_rule.min_value",
        ),
        ({"field_type": "Double", "type": "FillOutOfRange"}, "field_rule.min_value"),
        ({"field_type": "Integer", "type": "Nope"}, "field_rule.type"),
    ],
)
def test_a_bad_field_rule_names_the_path(editor, body: dict, field: str) -> None:
    assert _bad(editor, "field_rule", body, ("customers/id",)).field == field


def test_a_field_type_that_is_not_the_columns_is_refused(editor) -> None:
    body = {"field_type": "Integer", "type": "RemoveEmpty"}
    assert "string column" in _bad(editor, "field_rule", body, ("customers/zip",)).message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"type": "Generalization", "parameters_json": "[1]"},
            "anonymization_rule.parameters_json",
        ),
        ({"type": "Generalization", "parameters_json": "{}"}, "anonymization_rule.parameters_json"),
        (
            {"type": "Perturbation", "parameters_json": json.dumps({"scale": 1})},
            "anonymization_rule.parameters_json.distribution",
        ),
        (
            {"type": "Suppression", "parameters_json": json.dumps({"op": "suppress"})},
            "anonymization_rule.parameters_json.op",
        ),
        (
            {"type": "Suppression", "parameters_json": json.dumps({"k": 0})},
            "anonymization_rule.parameters_json.k",
        ),
    ],
)
def test_a_bad_anonymization_rule_names_the_path(editor, body: dict, field: str) -> None:
    assert _bad(editor, "anonymization_rule", body, ("customers/income",)).field == field


def test_rules_need_fields_and_a_module_with_a_contract(editor) -> None:
    body = {"type": "Suppression", "parameters_json": "{}"}
    assert _bad(editor, "anonymization_rule", body).field == "fields"
    connection("bare", "FILE")
    with pytest.raises(FailedPrecondition, match="no contract"):
        services.script_create(
            actor=editor,
            task_id="t1",
            kind="anonymization_rule",
            body=body,
            fields=fields("customers/name", module="bare"),
        )
    with pytest.raises(NotFound):
        services.script_create(
            actor=editor,
            task_id="t1",
            kind="anonymization_rule",
            body=body,
            fields=fields("customers/name", module="nowhere"),
        )
    assert (
        _bad(editor, "anonymization_rule", body, ("no-slash",)).field
        == "script.fields[0].field_name"
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM customers", "only a query"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
        ("SELECT FROM WHERE (", "does not parse"),
    ],
)
def test_a_transformation_that_is_not_one_safe_select_is_refused(
    editor, sql: str, message: str
) -> None:
    body = {"transformation_script": sql, "type": "Update", "target_table": "customers"}
    error = _bad(editor, "transformer", body)
    assert error.field == "transformer.transformation_script" and message in error.message


def test_a_transformer_and_an_uploader_are_created(editor) -> None:
    body = {
        "transformation_script": "SELECT * FROM orders WHERE amount > 0",
        "type": "Update",
        "target_table": "orders",
    }
    assert _create(editor, "transformer", body).body["type"] == "Update"
    up = {
        "destination_json": json.dumps({"kind": "directory", "path": "out"}),
        "rewrite_protocol": True,
    }
    assert _create(editor, "uploader", up).body["rewrite_protocol"] is True
    bad = {"destination_json": json.dumps({"kind": "ftp"})}
    assert _bad(editor, "uploader", bad).field.startswith("uploader.destination_json")


def test_update_replaces_the_body_and_the_fields(editor) -> None:
    view = _create(
        editor,
        "anonymization_rule",
        {"type": "Suppression", "parameters_json": "{}"},
        ("customers/name",),
        id="mask",
    )
    updated = services.script_update(
        actor=editor,
        script_id="mask",
        kind="anonymization_rule",
        body={"type": "Suppression", "parameters_json": json.dumps({"mask": "#"})},
        fields_to_add=fields("customers/email"),
        fields_to_remove=fields("customers/name"),
    )
    assert [f.field_name for f in updated.fields] == ["customers/email"]
    assert json.loads(updated.body["parameters_json"]) == {"mask": "#"}
    assert view.updated_at <= updated.updated_at
    record = AuditLog.objects.get(service="scripts", action="script.update", target_id="mask")
    assert json.loads(record.before_json)["fields"][0]["field_name"] == "customers/name"


def test_an_update_is_checked_like_a_create_and_changes_nothing_when_bad(editor) -> None:
    _create(
        editor,
        "anonymization_rule",
        {"type": "Suppression", "parameters_json": "{}"},
        ("customers/name",),
        id="mask",
    )
    with pytest.raises(InvalidArgument):
        services.script_update(
            actor=editor, script_id="mask", fields_to_add=fields("customers/nothing")
        )
    assert Script.objects.get(pk="mask").fields == fields("customers/name")


def test_the_kind_never_changes(editor) -> None:
    _create(editor, "extractor", EXTRACTOR, id="crm")
    with pytest.raises(InvalidArgument, match="kind never changes"):
        services.script_update(
            actor=editor, script_id="crm", kind="uploader", body={"destination_json": "{}"}
        )


def test_a_released_script_is_immutable(editor) -> None:
    _create(editor, "extractor", EXTRACTOR, id="crm")
    released = services.script_release(actor=editor, script_id="crm")
    assert released.released and released.released_at is not None
    with pytest.raises(FailedPrecondition, match="released"):
        services.script_update(actor=editor, script_id="crm", kind="extractor", body=EXTRACTOR)
    with pytest.raises(FailedPrecondition, match="already released"):
        services.script_release(actor=editor, script_id="crm")
    assert AuditLog.objects.filter(service="scripts", action="script.release").count() == 1


def test_only_edit_task_writes_and_readers_read(editor) -> None:
    _create(editor, "extractor", EXTRACTOR, id="crm")
    for roles in ((), ("MANAGE_DATA",), ("ADMIN",), ("PROCESS_ETL_TASK",)):
        other = actor_for("other", *roles)
        with pytest.raises(PermissionDenied):
            _create(other, "extractor", EXTRACTOR)
        with pytest.raises(PermissionDenied):
            services.script_release(actor=other, script_id="crm")
    for roles in (("PROCESS_ETL_TASK",), ("ADMIN",), ("EDIT_TASK",)):
        assert script_get_for_actor(actor=actor_for("other", *roles), script_id="crm").id == "crm"
    with pytest.raises(PermissionDenied):
        script_get_for_actor(actor=actor_for("other", "MANAGE_DATA"), script_id="crm")
    with pytest.raises(NotFound):
        script_get_for_actor(actor=editor, script_id="nothing")


def test_credentials_in_a_body_never_reach_the_audit_log(editor) -> None:
    config = json.dumps(
        {"kind": "sql", "connection": "postgresql://u:hunter2secret@db/x", "query": "SELECT 1"}
    )
    _create(
        editor, "extractor", {"table": "customers", "kind": "Sql", "config_json": config}, id="pg"
    )
    record = AuditLog.objects.get(service="scripts", action="script.create", target_id="pg")
    assert "hunter2secret" not in record.after_json
