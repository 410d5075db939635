"""Every Script Manager rpc through both doors: REST in-process (APIClient, responses checked
against docs/openapi.yaml) and gRPC over a real channel; the same errors on both."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest
from rest_framework.test import APIClient

from privetl._gen.etl.script.manager.V1 import script_manager_pb2 as pb
from privetl._gen.etl.script.manager.V1 import script_manager_pb2_grpc as pb_grpc
from privetl.audit.models import AuditLog
from privetl.platform.auth import token_issue
from privetl.scripts.models import Script
from tests.scripts.helpers import CONTRACT, connection, task_row, user
from tests.users.grpc_helpers import running_server

CONFIG = json.dumps({"kind": "file", "path": "customers.csv", "format": "csv"})


@pytest.fixture
def rest(db) -> APIClient:
    connection("customers", "FILE", CONTRACT)
    task_row("t1")
    user("eddie", "EDIT_TASK")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='eddie')}")
    return client


def test_every_rpc_over_rest(rest: APIClient) -> None:
    created = rest.post(
        "/api/v1/scripts",
        {
            "id": "crm",
            "task_id": "t1",
            "extractor": {"table": "customers", "config_json": CONFIG, "priority": 2},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["extractor"]["priority"] == 2 and "uploader" not in created.json()
    rule = rest.post(
        "/api/v1/scripts",
        {
            "id": "zip",
            "task_id": "t1",
            "fields": [{"ext_datamodule_id": "customers", "field_name": "customers/zip"}],
            "anonymization_rule": {"type": "Generalization", "parameters_json": '{"truncate": 3}'},
        },
        format="json",
    )
    assert rule.status_code == 201, rule.json()
    got = rest.get("/api/v1/scripts/zip")
    assert got.status_code == 200 and got.json()["kind"] == "anonymization_rule"
    updated = rest.put(
        "/api/v1/scripts/zip",
        {"anonymization_rule": {"type": "Generalization", "parameters_json": '{"truncate": 2}'}},
        format="json",
    )
    assert (
        updated.status_code == 200
        and '"truncate": 2' in updated.json()["anonymization_rule"]["parameters_json"]
    )
    released = rest.post("/api/v1/scripts/zip/release")
    assert released.status_code == 200 and released.json()["released"] is True
    page = rest.get("/api/v1/scripts", {"task_id": "t1", "page_size": 1})
    assert [s["id"] for s in page.json()["scripts"]] == ["crm"]
    rest_page = rest.get(
        "/api/v1/scripts", {"task_id": "t1", "page_token": page.json()["next_page_token"]}
    )
    assert [s["id"] for s in rest_page.json()["scripts"]] == ["zip"]
    assert rest_page.json()["next_page_token"] == ""


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        (
            "post",
            "/api/v1/scripts",
            {"task_id": "t1", "extractor": {"table": "customers", "config_json": "{x"}},
            400,
            "extractor.config_json",
        ),
        ("post", "/api/v1/scripts", {"task_id": "t1"}, 400, "script"),
        (
            "post",
            "/api/v1/scripts",
            {"task_id": "t1", "extractor": {"config_json": CONFIG}, "uploader": {}},
            400,
            "script",
        ),
        ("get", "/api/v1/scripts/none", None, 404, "script_id"),
        ("put", "/api/v1/scripts/crm", {"uploader": {"destination_json": "{}"}}, 400, "script"),
        (
            "post",
            "/api/v1/scripts",
            {
                "id": "crm",
                "task_id": "t1",
                "extractor": {"table": "customers", "config_json": CONFIG},
            },
            409,
            "script.id",
        ),
    ],
)
def test_errors_over_rest(
    rest: APIClient, method: str, path: str, body, status: int, field: str
) -> None:
    rest.post(
        "/api/v1/scripts",
        {"id": "crm", "task_id": "t1", "extractor": {"table": "customers", "config_json": CONFIG}},
        format="json",
    )
    response = (
        getattr(rest, method)(path, body, format="json")
        if body is not None
        else getattr(rest, method)(path)
    )
    assert response.status_code == status, response.json()
    assert response.json()["field"] == field


def test_released_is_409_and_no_role_is_403_over_rest(rest: APIClient) -> None:
    rest.post(
        "/api/v1/scripts",
        {"id": "crm", "task_id": "t1", "extractor": {"table": "customers", "config_json": CONFIG}},
        format="json",
    )
    rest.post("/api/v1/scripts/crm/release")
    again = rest.put(
        "/api/v1/scripts/crm",
        {"extractor": {"table": "customers", "config_json": CONFIG}},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "FAILED_PRECONDITION"
    user("bob")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='bob')}")
    assert other.get("/api/v1/scripts/crm").status_code == 403
    assert APIClient().get("/api/v1/scripts/crm").status_code == 401


class Caller:
    """A stub that sends one user's bearer token with every call."""

    def __init__(self, channel: grpc.Channel, user_id: str) -> None:
        self.stub = pb_grpc.ScriptManagerStub(channel)
        self.metadata = (("authorization", f"Bearer {token_issue(user_id=user_id)}"),)

    def __getattr__(self, method: str):
        rpc = getattr(self.stub, method)
        return lambda request: rpc(request, metadata=self.metadata, timeout=30)


@pytest.fixture
def grpc_editor(transactional_db) -> Iterator[Caller]:
    connection("customers", "FILE", CONTRACT)
    task_row("t1")
    user("eddie", "EDIT_TASK")
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Caller(channel, "eddie")


def _code(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    return exc.value.code(), exc.value.details()


def test_every_rpc_over_grpc(grpc_editor: Caller) -> None:
    created = grpc_editor.CreateScript(
        pb.CreateScriptRequest(
            script=pb.Script(
                id="legacy",
                task_id="t1",
                extractor=pb.ExtractorScript(
                    table="customers",
                    kind=pb.Sql,
                    priority=1,
                    config_json=json.dumps(
                        {"connection": "sqlite:///x.sqlite", "query": "SELECT 1"}
                    ),
                ),
            )
        )
    )
    assert created.script_id == "legacy"
    grpc_editor.CreateScript(
        pb.CreateScriptRequest(
            script=pb.Script(
                id="amount",
                task_id="t1",
                fields=[pb.Field(ext_datamodule_id="customers", field_name="orders/amount")],
                anonymization_rule=pb.AnonymizationRule(
                    type=pb.Perturbation, parameters_json='{"distribution": "laplace", "scale": 2}'
                ),
            )
        )
    )
    grpc_editor.UpdateScript(
        pb.UpdateScriptRequest(
            script_id="amount",
            anonymization_rule=pb.AnonymizationRule(
                type=pb.Perturbation, parameters_json='{"distribution": "gaussian", "scale": 1}'
            ),
            fields_to_add=[pb.Field(ext_datamodule_id="customers", field_name="customers/income")],
        )
    )
    got = grpc_editor.GetScript(pb.GetScriptRequest(script_id="amount")).script
    assert got.WhichOneof("script") == "anonymization_rule"
    assert got.anonymization_rule.type == pb.Perturbation  # 4, not Permutation's 3
    assert [f.field_name for f in got.fields] == ["orders/amount", "customers/income"]
    assert grpc_editor.ReleaseScript(pb.ReleaseScriptRequest(script_id="amount")).result
    legacy = grpc_editor.GetScript(pb.GetScriptRequest(script_id="legacy")).script
    assert legacy.extractor.kind == pb.Sql and legacy.extractor.priority == 1
    listed = grpc_editor.GetAllScript(pb.GetAllScriptRequest(etl_task_id="t1"))
    assert [s.id for s in listed.scripts] == ["legacy", "amount"] and listed.next_page_token == ""
    assert [s.released for s in listed.scripts] == [False, True]


def test_errors_over_grpc(grpc_editor: Caller) -> None:
    bad = pb.CreateScriptRequest(
        script=pb.Script(
            task_id="t1",
            extractor=pb.ExtractorScript(table="customers", config_json='{"kind": "ftp"}'),
        )
    )
    code, details = _code(grpc_editor.CreateScript, bad)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "extractor.config_json.kind" in details
    band = pb.CreateScriptRequest(
        script=pb.Script(
            task_id="t1",
            fields=[pb.Field(ext_datamodule_id="customers", field_name="customers/zip")],
            anonymization_rule=pb.AnonymizationRule(
                type=pb.Generalization, parameters_json='{"band": 5}'
            ),
        )
    )
    code, details = _code(grpc_editor.CreateScript, band)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "string column" in details
    assert (
        _code(grpc_editor.GetScript, pb.GetScriptRequest(script_id="none"))[0]
        == grpc.StatusCode.NOT_FOUND
    )
    grpc_editor.CreateScript(
        pb.CreateScriptRequest(
            script=pb.Script(
                id="up",
                task_id="t1",
                uploader=pb.UploaderScript(destination_json='{"kind": "directory", "path": "out"}'),
            )
        )
    )
    grpc_editor.ReleaseScript(pb.ReleaseScriptRequest(script_id="up"))
    again = pb.UpdateScriptRequest(
        script_id="up",
        uploader=pb.UploaderScript(destination_json='{"kind": "directory", "path": "x"}'),
    )
    assert _code(grpc_editor.UpdateScript, again)[0] == grpc.StatusCode.FAILED_PRECONDITION
    assert (
        _code(grpc_editor.CreateScript, pb.CreateScriptRequest(script=pb.Script(task_id="t1")))[0]
        == grpc.StatusCode.INVALID_ARGUMENT
    )


# --- a script names an existing task (the ETL Task Manager's answer, through the port) ---


def _nothing_written() -> tuple[int, int]:
    return Script.objects.count(), AuditLog.objects.filter(service="scripts").count()


def test_a_script_for_a_missing_task_is_404_naming_the_task_over_rest(rest: APIClient) -> None:
    before = _nothing_written()
    response = rest.post(
        "/api/v1/scripts",
        {
            "id": "crm",
            "task_id": "no-such-task",
            "extractor": {"table": "customers", "config_json": CONFIG},
        },
        format="json",
    )
    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["field"] == "script.task_id"
    assert "'no-such-task'" in response.json()["message"]
    assert _nothing_written() == before
    assert rest.get("/api/v1/scripts/crm").status_code == 404


def test_a_script_for_a_missing_task_is_not_found_over_grpc(grpc_editor: Caller) -> None:
    before = _nothing_written()
    request = pb.CreateScriptRequest(
        script=pb.Script(
            id="crm",
            task_id="no-such-task",
            extractor=pb.ExtractorScript(table="customers", config_json=CONFIG),
        )
    )
    code, details = _code(grpc_editor.CreateScript, request)
    assert code == grpc.StatusCode.NOT_FOUND
    assert "task 'no-such-task' does not exist" in details
    assert _nothing_written() == before
    assert (
        _code(grpc_editor.GetScript, pb.GetScriptRequest(script_id="crm"))[0]
        == grpc.StatusCode.NOT_FOUND
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_id": 1}, "script.task_id"),
        ({"id": "a b"}, "script.id"),
        (
            {"extractor": {"table": "customers", "config_json": CONFIG, "priority": "2"}},
            "extractor.priority",
        ),
        (
            {"extractor": {"table": "customers", "config_json": CONFIG, "priority": 2**31}},
            "extractor.priority",
        ),
        (
            {"extractor": {"table": "customers", "config_json": {"kind": "file"}}},
            "extractor.config_json",
        ),
        (
            {"extractor": {"table": "customers", "config_json": CONFIG, "kind": "file"}},
            "extractor.kind",
        ),
        (
            {"uploader": {"destination_json": "{}", "rewrite_protocol": "yes"}},
            "uploader.rewrite_protocol",
        ),
        ({"fields": {"ext_datamodule_id": "customers"}}, "script.fields"),
        ({"fields": ["customers/zip"]}, "script.fields[0]"),
        (
            {"fields": [{"ext_datamodule_id": "customers", "field_name": "zip"}]},
            "script.fields.field_name",
        ),
        (
            {"fields": [{"ext_datamodule_id": 9, "field_name": "customers/zip"}]},
            "script.fields.ext_datamodule_id",
        ),
    ],
)
def test_bodies_are_taken_as_sent_or_refused_naming_the_field(
    rest: APIClient, body: dict, field: str
) -> None:
    sent = {"task_id": "t1", "extractor": {"table": "customers", "config_json": CONFIG}, **body}
    if "uploader" in body:
        del sent["extractor"]
    response = rest.post("/api/v1/scripts", sent, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field, response.json()
    assert not Script.objects.exists()


def test_the_list_query_is_strict(rest: APIClient) -> None:
    for query, field in (
        ({"page_size": "x", "task_id": "t1"}, "page_size"),
        ({}, "etl_task_id"),
        ({"task_id": "t1", "task": "t1"}, "task"),
    ):
        response = rest.get("/api/v1/scripts", query)
        assert response.status_code == 400 and response.json()["field"] == field, response.json()
