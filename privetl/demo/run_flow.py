"""The runs part of ``make demo``, after the task flow, against the same server and its worker.

Walks "Process ETL Task", "View Prepared Data", "Manage Prepared Data", "Upload Prepared
Data" and "View Run History" through the real doors, one printed line per step:

1. the admin makes tom a Task-Manager (PROCESS_ETL_TASK) and dana a Data-Manager
   (MANAGE_DATA); olga, the connections' owner, grants tom READ on the sources and WRITE on
   the destination, and dana READ on it;
2. tom starts the released task (gRPC Start) and asks at once for a pause: the worker
   finishes the stage it is in and the run is PAUSED, holding no worker;
3. tom resumes it (REST): it continues from its last finished stage, each stage printed as
   it finishes, until verify succeeds and the result waits in the outbox (AWAITING_UPLOAD);
4. dana reviews the outbox (GetAll, Get with a preview and column statistics), deletes one
   order and edits another's amount (Modifie), every change audited;
5. tom starts the task again, which uploads the reviewed result as the module's next
   version (part 2's export run published the one before), with dana's edits in it;
6. the run history (ListRuns) and the run events in the audit log (ListAuditLogs).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import grpc

from privetl.demo.access_flow import DemoError, _Rest, _step, _token
from privetl.demo.connections_flow import DESTINATION, SOURCE
from privetl.demo.task_flow import FILES, TASK

MANAGER = "tom"
DATA_MANAGER = "dana"
TERMINAL = {"PAUSED", "AWAITING_UPLOAD", "SUCCEEDED", "FAILED", "STOPPED"}


def _wait_run(
    rest: _Rest, token: str, run_id: str, until: set[str], timeout: float = 180
) -> dict[str, Any]:
    """Poll GetRun, printing each newly finished stage, until the run is in ``until``."""
    deadline = time.monotonic() + timeout
    shown: set[str] = set()
    while True:
        run = rest.call("GET", f"/runs/{run_id}", token)
        for stage in run["stages_done"]:
            if stage not in shown:
                shown.add(stage)
                _step(
                    "rest",
                    f"GET /runs/{run_id} → stage {stage} finished in {run['timings'].get(stage, 0):.2f} s "
                    f"({run['rows_out']} rows)",
                )
        if run["state"] in until:
            return run
        if run["state"] in TERMINAL:
            raise DemoError(f"run {run_id} is {run['state']}: {run['error']}")
        if time.monotonic() > deadline:
            raise DemoError(
                f"run {run_id} still {run['state']} ({run['stage']}) after {timeout:.0f}s"
            )
        time.sleep(0.2)


def grant_run_roles(*, http_port: int, grpc_port: int) -> None:
    """Step 1: tom becomes a Task-Manager and dana a Data-Manager, with olga's grants."""
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as upb
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as upb_grpc

    rest = _Rest(http_port)
    admin, olga = _token("demo-admin"), _token("olga")
    for user_id, name, role in (
        (MANAGER, "Tom Taskmanager", "PROCESS_ETL_TASK"),
        (DATA_MANAGER, "Dana Datamanager", "MANAGE_DATA"),
    ):
        rest.call(
            "POST",
            "/users",
            admin,
            {"id": user_id, "name": name, "email": f"{user_id}@example.test"},
        )
        rest.call("POST", f"/users/{user_id}/roles", admin, {"role": role})
        _step("rest", f"POST /users, /users/{user_id}/roles → {user_id} ({role})")
    tom, dana = _token(MANAGER), _token(DATA_MANAGER)
    grants = (
        (MANAGER, tom, SOURCE, "READ"),
        (MANAGER, tom, FILES, "READ"),
        (MANAGER, tom, DESTINATION, "WRITE"),
        (DATA_MANAGER, dana, DESTINATION, "READ"),
    )
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        users = upb_grpc.UserManagerStub(channel)
        as_olga = (("authorization", f"Bearer {olga}"),)
        for user_id, token, connection_id, access in grants:
            filed = rest.call(
                "POST",
                f"/users/{user_id}/access-requests",
                token,
                {
                    "ext_datamodule_id": connection_id,
                    "access_types": [access],
                    "reason": "the customers runs",
                },
            )
            users.ApproveAccessRequest(
                upb.ApproveAccessRequestRequest(
                    access_request_id=filed["id"], owner_user_id="olga", state=True, note="ok"
                ),
                metadata=as_olga,
                timeout=30,
            )
    _step("grpc", f"olga approves {len(grants)} access requests of tom and dana")


def run_run_flow(*, http_port: int, grpc_port: int, work_dir: Path, grant: bool = True) -> None:
    """Run the flow; raises ``DemoError`` (or a gRPC error) when a step goes wrong.

    ``grant=False`` skips step 1 (tom and dana exist already with their grants)."""
    from privetl._gen.etl.data.manager.V1 import data_manager_pb2 as dpb
    from privetl._gen.etl.data.manager.V1 import data_manager_pb2_grpc as dpb_grpc
    from privetl._gen.etl.task.manager.V1 import task_manager_pb2 as tpb
    from privetl._gen.etl.task.manager.V1 import task_manager_pb2_grpc as tpb_grpc
    from privetl.engine.publish import read_table

    rest = _Rest(http_port)
    admin = _token("demo-admin")
    if grant:
        grant_run_roles(http_port=http_port, grpc_port=grpc_port)
    tom, dana = _token(MANAGER), _token(DATA_MANAGER)

    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        tasks = tpb_grpc.EtlTaskManagerStub(channel)
        data = dpb_grpc.DataManagerStub(channel)
        as_tom = (("authorization", f"Bearer {tom}"),)
        as_dana = (("authorization", f"Bearer {dana}"),)
        started = tasks.Start(tpb.StartRequest(task_id=TASK), metadata=as_tom, timeout=30)
        run_id = started.run_id
        _step("grpc", f"Start {TASK!r} → run {run_id}, task {tpb.TaskState.Name(started.state)}")
        deadline = time.monotonic() + 60
        while rest.call("GET", f"/runs/{run_id}", tom)["state"] == "QUEUED":
            if time.monotonic() > deadline:
                raise DemoError(
                    f"no worker took run {run_id} within 60 s: is `privetl worker` running?"
                )
            time.sleep(0.05)
        paused = rest.call("POST", f"/tasks/{TASK}/pause", tom)
        _step(
            "rest",
            f"POST /tasks/{TASK}/pause → {paused['state']} (takes effect at the next stage boundary)",
        )
        run = _wait_run(rest, tom, run_id, {"PAUSED"})
        _step(
            "rest",
            f"GET /runs/{run_id} → PAUSED after {run['stages_done'] or 'no stage'}; no worker held",
        )

        resumed = tasks.Resume(tpb.ResumeRequest(task_id=TASK), metadata=as_tom, timeout=30)
        _step(
            "grpc",
            f"Resume → {tpb.TaskState.Name(resumed.state)}: continues after {run['stages_done'] or 'the start'}",
        )
        run = _wait_run(rest, tom, run_id, {"AWAITING_UPLOAD"})
        executions = run["stage_executions"]
        _step(
            "rest",
            f"GET /runs/{run_id} → AWAITING_UPLOAD; each stage executed once: "
            f"{all(v == 1 for v in executions.values())} ({executions})",
        )
        if any(v != 1 for v in executions.values()):
            raise DemoError(f"a stage was executed twice across the pause: {executions}")

        listed = rest.call("GET", "/outbox", dana, task_id=TASK, states="AWAITING_REVIEW")
        entries = {e["table"]: e for e in listed["entries"] if e["run_id"] == run_id}
        _step(
            "rest",
            "GET /outbox → "
            + ", ".join(f"{t}: {e['rows']} rows {e['state']}" for t, e in sorted(entries.items())),
        )
        orders = entries["orders"]
        got = data.Get(
            dpb.GetRequest(entry_id=orders["id"], preview_rows=3), metadata=as_dana, timeout=30
        )
        stats = ", ".join(
            f"{s.column} ({s.nulls} null, ~{s.distinct} distinct)" for s in got.statistics
        )
        _step("grpc", f"Get orders with 3 records → columns {stats}")
        records = [dict(r) for r in got.records]
        deleted, edited = records[0], records[1]
        key_of = lambda r: str(int(r["id"])) if isinstance(r["id"], float) else str(r["id"])  # noqa: E731
        changed = rest.call(
            "POST",
            f"/outbox/{orders['id']}/changes",
            dana,
            {
                "changes": [
                    {"delete_key": key_of(deleted)},
                    {"edit": {"key": key_of(edited), "values": {"amount": 1234.5}}},
                ],
                "reason": "a test order; a mistyped amount",
            },
        )
        _step(
            "rest",
            f"POST /outbox/{orders['id']}/changes (delete order {key_of(deleted)}, amount of "
            f"{key_of(edited)} → 1234.5) → {changed['rows']} rows, revision {changed['revision']}",
        )

        metadata = (work_dir / "published" / "metadata.json").resolve()
        previous = (
            int(str(json.loads(metadata.read_text(encoding="utf-8"))["version"]).split(".")[0])
            if metadata.exists()
            else None
        )
        upload = tasks.Start(tpb.StartRequest(task_id=TASK), metadata=as_tom, timeout=30)
        _step(
            "grpc", f"Start again → {tpb.TaskState.Name(upload.state)}: uploads the reviewed result"
        )
        run = _wait_run(rest, tom, run_id, {"SUCCEEDED"})
        version = run["published_version"]
        before = f"the export run of part 2 published {previous}" if previous else "the first"
        _step("rest", f"GET /runs/{run_id} → SUCCEEDED, published version {version} ({before})")
        if previous is not None and version != previous + 1:
            raise DemoError(f"the upload published version {version}, not {previous + 1}")
        task = tasks.GetTask(tpb.GetTaskRequest(task_id=TASK), metadata=as_tom, timeout=30).task
        _step("grpc", f"GetTask → {tpb.TaskState.Name(task.state)}")

        published = read_table((work_dir / "published").resolve(), "orders").to_pylist()
        ids = {str(r["id"]) for r in published}
        amount = next(r["amount"] for r in published if str(r["id"]) == key_of(edited))
        _step(
            "cmp",
            f"version {version} of orders: {len(published)} rows, order {key_of(deleted)} gone: "
            f"{key_of(deleted) not in ids}, order {key_of(edited)} amount {amount}",
        )
        if key_of(deleted) in ids or float(amount) != 1234.5:
            raise DemoError("the published version does not hold the data manager's edits")

        history = data.ListRuns(dpb.ListRunsRequest(task_id=TASK), metadata=as_tom, timeout=30)
        for item in history.runs:
            _step(
                "grpc",
                f"ListRuns → {item.id} {dpb.RunState.Name(item.state)} by {item.started_by}: "
                f"{item.rows_in} rows in, {item.rows_out} out, stages {list(item.stages_done)}",
            )
    audit = rest.call("GET", "/audit-logs", admin, target_id=run_id)
    actions = [r["action"] for r in reversed(audit["audit_logs"])]
    _step(
        "rest",
        f"GET /audit-logs?target_id={run_id} → {len(actions)} run events: {', '.join(actions)}",
    )
    print(
        "  run flow complete: Start → Pause → Resume → outbox review and edits → upload of "
        f"version {version}",
        flush=True,
    )
