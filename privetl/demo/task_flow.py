"""The task part of ``make demo``, after the connections flow, against the same server.

Walks "Configure ETL Task" and "Release ETL Task" through the real doors, one printed line
per step naming the door used, and then runs what was released:

1. olga adds the sample's CSV and JSON-lines files as a FILE connection (``customers-files``)
   next to the SQLite source and the destination the connections flow made;
2. the admin creates eddie, a Task-Editor (EDIT_TASK); eddie asks for WRITE on the
   destination and READ on both sources, olga approves;
3. eddie creates a task publishing ``customers`` and, from the sample module's document,
   its scripts — one extractor per collection-protocol entry (reading through the two source
   connections), one field rule per ``privetl:empty``/``privetl:range``, one anonymization
   rule per ``privetl:anonymize`` and per privacy target — releases them and sets the task's
   lists;
4. Release without an uploader is FAILED_PRECONDITION naming what is missing; with the
   uploader (through the destination connection) it succeeds;
5. the exported document (``GET /tasks/{id}/module``) is written to the work folder and run
   by ``privetl run`` in a subprocess, the connections supplied as ``docs/tasks.md`` says
   (each connection's location and credentials in its ``PRIVETL_CONNECTION_<ID>``
   variable, which the engine expands);
6. the rows it published are compared with those the hand-written
   ``examples/customers/module.json`` publishes (part 1 of the demo, or a run of the copy
   the connections flow made when part 1 did not run).

It starts nothing but the engine's run: like ``access_flow`` it runs against a server the
caller started, pointed at the same database (the demo reads the connection strings for the
run with ``connection_secret_for_run``, as the worker that runs a task does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc

from privetl.demo.access_flow import DemoError, _Rest, _step, _token
from privetl.demo.connections_flow import DESTINATION, SOURCE
from privetl.demo.engine_job import DEMO_SECRET

FILES = "customers-files"
EDITOR = "eddie"
TASK = "customers-from-scripts"
UPLOADER = "publish_customers"
DATA_TYPES = {
    "sc:Integer": "Integer",
    "sc:Text": "String",
    "sc:Float": "Double",
    "sc:Boolean": "Boolean",
    "sc:Date": "Date",
    "sc:DateTime": "DateTime",
}
"""The sample's Croissant data types → the contract's ``FieldType``."""
EMPTY = {"fill": "FillEmpty", "pass": "IgnoreEmpty", "drop": "RemoveEmpty"}
RANGE = {"clamp": "FillOutOfRange", "drop": "RemoveOutOfRange"}
OPS = {
    "generalize": "Generalization",
    "suppress": "Suppression",
    "permute": "Permutation",
    "perturb": "Perturbation",
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def scripts_of(document: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The scripts an editor writes to rebuild ``document`` (the sample module), per task list.

    Each entry is (script id, the REST body's script part: one body and its ``fields``). File
    sources read through ``customers-files``, SQL ones through the SQLite source connection,
    so the document names neither path nor database.
    """
    made: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "extractors": [],
        "field_rules": [],
        "anonymization_rules": [],
    }
    for entry in document.get("privetl:collectionProtocol") or []:
        source = dict(entry["source"])
        through = SOURCE if source["kind"] == "sql" else FILES
        source.pop("connection", None)
        if "mapping" in entry:
            source["mapping"] = entry["mapping"]
        kind = {"file": "File", "sql": "Sql"}[entry["source"]["kind"]]
        made["extractors"].append(
            (
                entry["id"],
                {
                    "extractor": {
                        "table": entry["table"],
                        "kind": kind,
                        "priority": entry.get("priority", 0),
                        "config_json": json.dumps(source),
                        "connection_id": through,
                    }
                },
            )
        )
    module = document["identifier"]
    for table in document["recordSet"]:
        for column in table["field"]:
            on = [{"ext_datamodule_id": module, "field_name": column["@id"]}]
            name = column["@id"].replace("/", "_")
            field_type = DATA_TYPES[column["dataType"]]
            if "privetl:empty" in column:
                empty = column["privetl:empty"]
                rule = {
                    "field_type": field_type,
                    "type": EMPTY[empty["strategy"]],
                    "default_value": _text(empty.get("value")),
                }
                made["field_rules"].append((f"empty_{name}", {"field_rule": rule, "fields": on}))
            if "privetl:range" in column:
                bounds = column["privetl:range"]
                rule = {
                    "field_type": field_type,
                    "type": RANGE[bounds["on_violation"]],
                    "min_value": _text(bounds.get("min")),
                    "max_value": _text(bounds.get("max")),
                }
                made["field_rules"].append((f"range_{name}", {"field_rule": rule, "fields": on}))
            if "privetl:anonymize" in column:
                params = dict(column["privetl:anonymize"])
                rule = {"type": OPS[params.pop("op")], "parameters_json": json.dumps(params)}
                made["anonymization_rules"].append(
                    (f"anonymize_{name}", {"anonymization_rule": rule, "fields": on})
                )
        if "privetl:privacy" in table:
            target = dict(table["privetl:privacy"])
            on = [
                {"ext_datamodule_id": module, "field_name": f"{table['name']}/{column}"}
                for column in target.pop("quasi_identifiers")
            ]
            rule = {"type": "Suppression", "parameters_json": json.dumps(target)}
            made["anonymization_rules"].append(
                (f"privacy_{table['name']}", {"anonymization_rule": rule, "fields": on})
            )
    return made


def _problems(details: str) -> list[str]:
    return [line[2:] for line in details.splitlines() if line.startswith("- ")]


def _rows(root: Path, table: str) -> list[dict[str, Any]]:
    from privetl.engine.publish import read_table

    return sorted(
        read_table(root, table).to_pylist(),
        key=lambda r: json.dumps(r, sort_keys=True, default=str),
    )


def _privetl_run(module: Path, *args: str, env: dict[str, str]) -> None:
    """``privetl run MODULE`` in a subprocess with only ``env`` and the run's own settings."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PRIVETL_")}
    secret = os.environ.get("PRIVETL_ANONYMIZATION_SECRET") or DEMO_SECRET.decode()
    environ.update({"PRIVETL_ANONYMIZATION_SECRET": secret, **env})
    done = subprocess.run(
        [sys.executable, "-m", "privetl.cli", "run", str(module), "--no-progress", *args],
        cwd=module.parent,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise DemoError(
            f"privetl run {module.name} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    for line in done.stdout.splitlines():
        if line.startswith(("status", "published")) or "version" in line.lower():
            print(f"         {line.strip()}", flush=True)


def run_task_flow(
    *,
    http_port: int,
    grpc_port: int,
    work_dir: Path,
    reference: Path | None = None,
    run_export: bool = True,
) -> None:
    """Run the flow; raises ``DemoError`` (or a gRPC error) when a step goes wrong.

    ``work_dir`` is the connections flow's: its ``module`` folder holds the sample's sources
    and its ``published`` folder is the destination. ``reference`` is where the hand-written
    sample module was published (part 1 of the demo); without it the flow runs that module
    itself on the same sources. ``run_export=False`` stops after the export (for tests that
    only need the released task).
    """
    from privetl._gen.etl.task.manager.V1 import task_manager_pb2 as tpb
    from privetl._gen.etl.task.manager.V1 import task_manager_pb2_grpc as tpb_grpc
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2 as upb
    from privetl._gen.etl.user.manager.V1 import user_manager_pb2_grpc as upb_grpc
    from privetl.datamodules.selectors import connection_secret_for_run

    rest = _Rest(http_port)
    admin, olga = _token("demo-admin"), _token("olga")
    sources = (work_dir / "module").resolve()
    sample = json.loads((sources / "module.json").read_text(encoding="utf-8"))

    made = rest.call(
        "POST",
        "/connections",
        olga,
        {
            "id": FILES,
            "name": "Shop export files",
            "description": "The CRM's customers (CSV) and the orders of the web shop and the stores.",
            "type": "FILE",
            "connection_string": f"file://{sources}",
        },
    )
    _step(
        "rest",
        f"POST /connections {FILES!r} (FILE: the sample's CSV and JSON lines) → owners {made['owner_user_ids']}",
    )

    rest.call(
        "POST",
        "/users",
        admin,
        {"id": EDITOR, "name": "Eddie Editor", "email": "eddie@example.test"},
    )
    rest.call("POST", f"/users/{EDITOR}/roles", admin, {"role": "EDIT_TASK"})
    _step(
        "rest",
        f"POST /users, POST /users/{EDITOR}/roles → created {EDITOR}, a Task-Editor (EDIT_TASK)",
    )
    eddie = _token(EDITOR)

    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        users = upb_grpc.UserManagerStub(channel)
        tasks = tpb_grpc.EtlTaskManagerStub(channel)
        as_eddie = (("authorization", f"Bearer {eddie}"),)
        as_olga = (("authorization", f"Bearer {olga}"),)
        for connection_id, access in ((DESTINATION, "WRITE"), (SOURCE, "READ"), (FILES, "READ")):
            filed = rest.call(
                "POST",
                f"/users/{EDITOR}/access-requests",
                eddie,
                {
                    "ext_datamodule_id": connection_id,
                    "access_types": [access],
                    "reason": "the customers task",
                },
            )
            users.ApproveAccessRequest(
                upb.ApproveAccessRequestRequest(
                    access_request_id=filed["id"], owner_user_id="olga", state=True, note="ok"
                ),
                metadata=as_olga,
                timeout=30,
            )
            _step(
                "rest",
                f"{EDITOR} asks for {access} on {connection_id!r} → request {filed['id']}",
            )
            _step("grpc", f"ApproveAccessRequest by olga → {filed['id']} approved")

        task = rest.call(
            "POST",
            "/tasks",
            eddie,
            {
                "id": TASK,
                "name": "Customers and orders, from scripts",
                "ext_datamodule_id": DESTINATION,
                "seed": sample.get("privetl:seed", 0),
            },
        )
        _step("rest", f"POST /tasks {TASK!r} → {task['state']}, publishing {DESTINATION!r}")

        scripts = scripts_of(sample)
        for slot, entries in scripts.items():
            for script_id, body in entries:
                rest.call("POST", "/scripts", eddie, {"id": script_id, "task_id": TASK, **body})
                rest.call("POST", f"/scripts/{script_id}/release", eddie)
            _step(
                "rest",
                f"POST /scripts + /release ×{len(entries)} {slot}: {', '.join(i for i, _ in entries)}",
            )
        ids = {slot: [script_id for script_id, _ in entries] for slot, entries in scripts.items()}
        tasks.UpdateExtractionScript(
            tpb.UpdateExtractionScriptRequest(task_id=TASK, script_ids=ids["extractors"]),
            metadata=as_eddie,
            timeout=30,
        )
        tasks.UpdateFieldRules(
            tpb.UpdateFieldRulesRequest(task_id=TASK, script_ids=ids["field_rules"]),
            metadata=as_eddie,
            timeout=30,
        )
        tasks.UpdateAnonymizationRules(
            tpb.UpdateAnonymizationRulesRequest(
                task_id=TASK, script_ids=ids["anonymization_rules"]
            ),
            metadata=as_eddie,
            timeout=30,
        )
        _step(
            "grpc",
            "UpdateExtractionScript, UpdateFieldRules, UpdateAnonymizationRules → the task lists "
            f"{sum(len(v) for v in ids.values())} scripts",
        )

        try:
            tasks.Release(tpb.ReleaseRequest(task_id=TASK), metadata=as_eddie, timeout=60)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details() or ""
        else:
            raise DemoError("Release succeeded without an uploader")
        problems = _problems(details)
        _step("grpc", f"Release (no uploader yet) → {code.name}, {len(problems)} problem(s):")
        for problem in problems:
            print(f"         - {problem}", flush=True)
        if code != grpc.StatusCode.FAILED_PRECONDITION or not any(
            "no uploader" in p for p in problems
        ):
            raise DemoError(f"Release did not name the missing uploader: {code.name} {details}")

    uploader = {"connection_id": DESTINATION, "rewrite_protocol": True}
    rest.call("POST", "/scripts", eddie, {"id": UPLOADER, "task_id": TASK, "uploader": uploader})
    rest.call("POST", f"/scripts/{UPLOADER}/release", eddie)
    rest.call("PUT", f"/tasks/{TASK}/uploading-script", eddie, {"script_id": UPLOADER})
    _step(
        "rest",
        f"POST /scripts {UPLOADER!r} (uploader through {DESTINATION!r}), release, PUT /tasks/{TASK}/uploading-script",
    )
    released = rest.call("POST", f"/tasks/{TASK}/release", eddie)
    _step(
        "rest",
        f"POST /tasks/{TASK}/release → {released['state']}, sha256 {released['module_sha256'][:12]}…",
    )
    if released["state"] != "RELEASED":
        raise DemoError(f"the task is {released['state']} after Release")

    exported = _get_module(rest, eddie)
    run_dir = work_dir / "task-run"
    run_dir.mkdir(parents=True, exist_ok=True)
    document = run_dir / "module.json"
    document.write_bytes(exported["content"])
    needs = json.loads(exported["connections"])
    _step(
        "rest",
        f"GET /tasks/{TASK}/module → {document} ({len(exported['content'])} bytes); "
        f"Privetl-Connections: {[n['variable'] for n in needs]}",
    )

    if not run_export:
        return
    env = {need["variable"]: connection_secret_for_run(need["connection_id"]) for need in needs}
    _step("cli", f"privetl run module.json with {sorted(env)} set")
    _privetl_run(document, "--report-dir", str(run_dir / "report"), env=env)

    if reference is None or not (reference / "metadata.json").exists():
        reference = work_dir / "hand-written"
        _step("cli", "privetl run examples/customers/module.json (its copy) on the same sources")
        _privetl_run(
            sources / "module.json",
            "--out",
            str(reference),
            "--report-dir",
            str(work_dir / "hand-written-report"),
            env={},
        )
    published = (work_dir / "published").resolve()
    _step("cmp", f"the task's rows ({published}) against the hand-written module's ({reference})")
    for table in sample["recordSet"]:
        name = table["name"]
        ours, theirs = _rows(published, name), _rows(reference, name)
        same = "the same rows" if ours == theirs else "DIFFERENT rows"
        _step(
            "cmp",
            f"{name}: the task published {len(ours)} rows, examples/customers/module.json "
            f"{len(theirs)} → {same}",
        )
        if ours != theirs or not ours:
            raise DemoError(f"table {name!r}: the exported task does not publish the sample's rows")
    print(
        "  task flow complete: scripts → Release refused, then released → exported → run → "
        "the sample's rows",
        flush=True,
    )


def _get_module(rest: _Rest, token: str) -> dict[str, Any]:
    """``GET /tasks/{id}/module``: the document's exact bytes and the connections it needs."""
    import requests

    response = requests.get(
        f"{rest.base}/tasks/{TASK}/module",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code != 200:
        raise DemoError(f"GET /tasks/{TASK}/module → {response.status_code} {response.text}")
    return {
        "content": response.content,
        "connections": response.headers.get("Privetl-Connections", "[]"),
    }
