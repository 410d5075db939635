"""Every ETL Task Manager rpc through both doors: REST in-process (APIClient, responses
checked against docs/openapi.yaml) and gRPC over a real channel."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import grpc
import pytest
from rest_framework.test import APIClient

from privetl._gen.etl.task.manager.V1 import task_manager_pb2 as pb
from privetl._gen.etl.task.manager.V1 import task_manager_pb2_grpc as pb_grpc
from privetl.platform.auth import token_issue
from tests.scripts.helpers import (
    CONTRACT,
    SAMPLE,
    actor_for,
    connection,
    create_sample_scripts,
    grant,
    user,
)
from tests.users.grpc_helpers import running_server

SLOT_PATHS = {
    "extraction_script_ids": "extraction-scripts",
    "field_rule_script_ids": "field-rules",
    "anonymization_script_ids": "anonymization-rules",
}


def _setup() -> None:
    connection("customers", "FILE", CONTRACT)
    user("eddie", "EDIT_TASK")
    grant("eddie", "customers", "WRITE")


@pytest.fixture
def rest(db) -> APIClient:
    _setup()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='eddie')}")
    return client


def test_every_rpc_over_rest(rest: APIClient) -> None:
    created = rest.post(
        "/api/v1/tasks",
        {"id": "t1", "name": "Customers", "ext_datamodule_id": "customers", "seed": 42},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["state"] == "DRAFT" and created.json()["module_sha256"] == ""
    draft_module = rest.get("/api/v1/tasks/t1/module")
    assert draft_module.status_code == 409 and "Release" in draft_module.json()["message"]
    failed = rest.post("/api/v1/tasks/t1/release")
    assert failed.status_code == 409 and "has no extractor" in failed.json()["message"]
    made = create_sample_scripts(actor_for("eddie", "EDIT_TASK"), "t1")
    for slot, ids in made.items():
        if slot == "uploading_script_id":
            response = rest.put(
                "/api/v1/tasks/t1/uploading-script", {"script_id": ids[0]}, format="json"
            )
        else:
            response = rest.put(
                f"/api/v1/tasks/t1/{SLOT_PATHS[slot]}", {"script_ids": ids}, format="json"
            )
        assert response.status_code == 200, response.json()
        assert response.json()[slot] == (ids[0] if slot == "uploading_script_id" else ids)
    none = rest.put("/api/v1/tasks/t1/transformation-scripts", {"script_ids": []}, format="json")
    assert none.status_code == 200
    released = rest.post("/api/v1/tasks/t1/release")
    assert released.status_code == 200 and released.json()["state"] == "RELEASED"
    got = rest.get("/api/v1/tasks/t1")
    assert got.json()["released_at"] is not None
    module = rest.get("/api/v1/tasks/t1/module")
    assert module.status_code == 200
    assert hashlib.sha256(module.content).hexdigest() == got.json()["module_sha256"]
    assert module["ETag"] == f'"{got.json()["module_sha256"]}"'
    assert json.loads(module["Privetl-Connections"]) == []
    assert (
        json.loads(module.content)["privetl:collectionProtocol"]
        == SAMPLE["privetl:collectionProtocol"]
    )
    listed = rest.get("/api/v1/tasks", {"states": "RELEASED"})
    assert [t["id"] for t in listed.json()["tasks"]] == ["t1"]
    assert rest.get("/api/v1/tasks", {"states": "DRAFT"}).json()["tasks"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/api/v1/tasks", {"name": "x", "ext_datamodule_id": "nowhere"}, 404, "NOT_FOUND"),
        (
            "post",
            "/api/v1/tasks",
            {"name": "", "ext_datamodule_id": "customers"},
            400,
            "INVALID_ARGUMENT",
        ),
        (
            "post",
            "/api/v1/tasks",
            {"id": "t1", "name": "x", "ext_datamodule_id": "customers"},
            409,
            "ALREADY_EXISTS",
        ),
        ("get", "/api/v1/tasks/none", None, 404, "NOT_FOUND"),
        ("put", "/api/v1/tasks/t1/field-rules", {"script_ids": ["none"]}, 404, "NOT_FOUND"),
        ("put", "/api/v1/tasks/t1/field-rules", {"script_ids": "x"}, 400, "INVALID_ARGUMENT"),
        ("get", "/api/v1/tasks?states=SLEEPING", None, 400, "INVALID_ARGUMENT"),
        ("get", "/api/v1/tasks?page_size=501", None, 400, "INVALID_ARGUMENT"),
    ],
)
def test_errors_over_rest(rest: APIClient, method, path, body, status, code) -> None:
    rest.post(
        "/api/v1/tasks", {"id": "t1", "name": "x", "ext_datamodule_id": "customers"}, format="json"
    )
    response = (
        getattr(rest, method)(path, body, format="json")
        if body is not None
        else getattr(rest, method)(path)
    )
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code


def test_no_grant_is_403_and_no_token_401_over_rest(rest: APIClient) -> None:
    user("rita", "EDIT_TASK")
    rita = APIClient()
    rita.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='rita')}")
    refused = rita.post(
        "/api/v1/tasks", {"name": "x", "ext_datamodule_id": "customers"}, format="json"
    )
    assert refused.status_code == 403 and "WRITE or OWNER" in refused.json()["message"]
    assert APIClient().get("/api/v1/tasks").status_code == 401


class Caller:
    """A stub that sends one user's bearer token with every call."""

    def __init__(self, channel: grpc.Channel, user_id: str) -> None:
        self.stub = pb_grpc.EtlTaskManagerStub(channel)
        self.metadata = (("authorization", f"Bearer {token_issue(user_id=user_id)}"),)

    def __getattr__(self, method: str):
        rpc = getattr(self.stub, method)
        return lambda request: rpc(request, metadata=self.metadata, timeout=60)


@pytest.fixture
def grpc_editor(transactional_db) -> Iterator[Caller]:
    _setup()
    with running_server() as port, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Caller(channel, "eddie")


def _code(call, request) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as exc:
        call(request)
    return exc.value.code(), exc.value.details()


def test_every_rpc_over_grpc(grpc_editor: Caller) -> None:
    created = grpc_editor.CreateTask(
        pb.CreateTaskRequest(
            task=pb.Task(id="t1", name="Customers", ext_datamodule_id="customers", seed=42)
        )
    )
    assert created.task_id == "t1"
    code, details = _code(grpc_editor.Release, pb.ReleaseRequest(task_id="t1"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "no uploader" in details
    made = create_sample_scripts(actor_for("eddie", "EDIT_TASK"), "t1")
    grpc_editor.UpdateExtractionScript(
        pb.UpdateExtractionScriptRequest(task_id="t1", script_ids=made["extraction_script_ids"])
    )
    grpc_editor.UpdateFieldRules(
        pb.UpdateFieldRulesRequest(task_id="t1", script_ids=made["field_rule_script_ids"])
    )
    grpc_editor.UpdateAnonymizationRules(
        pb.UpdateAnonymizationRulesRequest(
            task_id="t1", script_ids=made["anonymization_script_ids"]
        )
    )
    grpc_editor.UpdateTransformationScripts(
        pb.UpdateTransformationScriptsRequest(task_id="t1", script_ids=[])
    )
    grpc_editor.UpdateUploadingScript(
        pb.UpdateUploadingScriptRequest(task_id="t1", script_id="uploader")
    )
    assert grpc_editor.Release(pb.ReleaseRequest(task_id="t1")).result
    task = grpc_editor.GetTask(pb.GetTaskRequest(task_id="t1")).task
    assert task.state == pb.RELEASED and task.seed == 42 and task.HasField("released_at")
    assert list(task.extraction_script_ids) == made["extraction_script_ids"]
    module = grpc_editor.GetTaskModule(pb.GetTaskModuleRequest(task_id="t1"))
    assert (
        hashlib.sha256(module.document_json.encode()).hexdigest()
        == module.module_sha256
        == task.module_sha256
    )
    listed = grpc_editor.ListTasks(pb.ListTasksRequest(states=[pb.RELEASED]))
    assert [t.id for t in listed.tasks] == ["t1"]
    for rpc, request in (
        (grpc_editor.Start, pb.StartRequest(task_id="t1")),
        (grpc_editor.Pause, pb.PauseRequest(task_id="t1")),
        (grpc_editor.Resume, pb.ResumeRequest(task_id="t1")),
        (grpc_editor.Stop, pb.StopRequest(task_id="t1")),
    ):
        # the run controls are the Task-Manager's (the runs app's tests drive them)
        code, details = _code(rpc, request)
        assert code == grpc.StatusCode.PERMISSION_DENIED and "PROCESS_ETL_TASK" in details
    code, _ = _code(
        grpc_editor.UpdateFieldRules, pb.UpdateFieldRulesRequest(task_id="t1", script_ids=[])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # released: immutable


def test_errors_over_grpc(grpc_editor: Caller) -> None:
    assert (
        _code(grpc_editor.GetTask, pb.GetTaskRequest(task_id="none"))[0]
        == grpc.StatusCode.NOT_FOUND
    )
    bad = pb.CreateTaskRequest(task=pb.Task(name="x", ext_datamodule_id="nowhere"))
    assert _code(grpc_editor.CreateTask, bad)[0] == grpc.StatusCode.NOT_FOUND
    assert (
        _code(grpc_editor.ListTasks, pb.ListTasksRequest(states=[99]))[0]
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    assert (
        _code(grpc_editor.GetTaskModule, pb.GetTaskModuleRequest(task_id="none"))[0]
        == grpc.StatusCode.NOT_FOUND
    )


def test_the_export_command_refuses_a_draft_and_an_unknown_task(rest: APIClient) -> None:
    from django.core.management import CommandError, call_command

    rest.post(
        "/api/v1/tasks", {"id": "t1", "name": "x", "ext_datamodule_id": "customers"}, format="json"
    )
    with pytest.raises(CommandError, match="Release it"):
        call_command("task", "export", "t1")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("task", "export", "nothing")


@pytest.mark.parametrize(
    ("method", "path", "data", "field"),
    [
        (
            "post",
            "/api/v1/tasks",
            {"name": "T", "ext_datamodule_id": "customers", "seed": "42"},
            "task.seed",
        ),
        (
            "post",
            "/api/v1/tasks",
            {"name": "T", "ext_datamodule_id": "customers", "seed": 2**63},
            "task.seed",
        ),
        ("post", "/api/v1/tasks", {"name": 7, "ext_datamodule_id": "customers"}, "task.name"),
        (
            "post",
            "/api/v1/tasks",
            {"name": "T", "ext_datamodule_id": "a/b"},
            "task.ext_datamodule_id",
        ),
        (
            "post",
            "/api/v1/tasks",
            {"name": "T", "ext_datamodule_id": "customers", "id": 1},
            "task.id",
        ),
        ("put", "/api/v1/tasks/t1/field-rules", {"script_ids": ["a", "a"]}, "script_ids"),
        ("put", "/api/v1/tasks/t1/field-rules", {"script_ids": [None]}, "script_ids"),
        ("put", "/api/v1/tasks/t1/uploading-script", {"script_id": 3}, "script_id"),
        ("get", "/api/v1/tasks", {"states": "draft"}, "states"),
        ("get", "/api/v1/tasks", {"page_size": "1.0"}, "page_size"),
        ("get", "/api/v1/tasks", {"state": "DRAFT"}, "state"),
    ],
)
def test_inputs_are_strict_and_refusals_name_the_field(
    rest: APIClient, method: str, path: str, data: dict, field: str
) -> None:
    call = getattr(rest, method)
    response = call(path, data) if method == "get" else call(path, data, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field, response.json()
