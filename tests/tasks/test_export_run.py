"""End to end: a task built through the APIs from connections, released, exported (REST and
``privetl task export``), written to a temporary folder and run by the engine's command line
in a subprocess with the connections supplied the documented way (docs/tasks.md); it
publishes the same rows as the hand-written examples/customers/module.json."""

from __future__ import annotations

import json
import os
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from privetl.audit.models import AuditLog
from privetl.datamodules.selectors import connection_secret_for_run
from privetl.datamodules.services import connection_create
from privetl.demo.engine_job import copy_sample_module
from privetl.engine.publish import read_table
from privetl.platform.auth import token_issue
from privetl.tasks import services
from tests.scripts.helpers import (
    CONTRACT,
    SAMPLE,
    SAMPLE_EXTRACTORS,
    connection,
    create_sample_scripts,
    grant,
    user,
)
from tests.tasks.test_compile import configure

REPO = Path(__file__).resolve().parents[2]
PRIVETL = REPO / ".venv" / "bin" / "privetl"
SECRET = "anonymization-secret-of-the-test"


def _run(
    module: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PRIVETL_")}
    environ.update({"PRIVETL_ANONYMIZATION_SECRET": SECRET, **(env or {})})
    return subprocess.run(
        [str(PRIVETL), "run", str(module), "--no-progress", *args],
        cwd=module.parent,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _rows(root: Path, table: str) -> list[dict]:
    return sorted(
        read_table(root, table).to_pylist(),
        key=lambda r: json.dumps(r, sort_keys=True, default=str),
    )


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """The sample's source files and its SQLite database, in a directory of their own."""
    return copy_sample_module(tmp_path / "sources").parent


def test_the_exported_document_runs_the_same_pipeline(db, tmp_path: Path, sources: Path) -> None:
    published = tmp_path / "published"
    published.mkdir()
    database = f"sqlite:///{sources / 'customers_legacy.sqlite'}"
    owner = user("olga", "CREATE_EXT_DATAMODULE")
    for connection_id, type_, string, contract in (
        ("customers", "FILE", str(published), json.dumps(CONTRACT)),
        ("shop_files", "FILE", f"file://{sources}", ""),
        ("legacy_db", "SQL", database, ""),
    ):
        connection_create(
            actor=owner,
            id=connection_id,
            name=connection_id,
            type=type_,
            connection_string=string,
            contract=contract,
        )
    editor = user("eddie", "EDIT_TASK")
    grant("eddie", "customers", "WRITE", decider="olga")
    grant("eddie", "shop_files", "READ", decider="olga")
    grant("eddie", "legacy_db", "READ", decider="olga")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='eddie')}")
    created = client.post(
        "/api/v1/tasks",
        {"id": "shop", "name": "Shop", "ext_datamodule_id": "customers", "seed": 42},
        format="json",
    )
    assert created.status_code == 201

    # The sample's extractors, reading through the two source connections.
    extractors = []
    for script_id, body in SAMPLE_EXTRACTORS:
        config = json.loads(body["config_json"])
        if config["kind"] == "sql":
            config.pop("connection")
            through = "legacy_db"
        else:
            through = "shop_files"
        extractors.append(
            (script_id, {**body, "config_json": json.dumps(config), "connection_id": through})
        )
    made = create_sample_scripts(
        editor,
        "shop",
        extractors=extractors,
        uploader={"connection_id": "customers", "rewrite_protocol": True},
    )
    configure(editor, "shop", made)
    assert client.post("/api/v1/tasks/shop/release").status_code == 200

    exported = client.get("/api/v1/tasks/shop/module")
    assert exported.status_code == 200
    document = exported.content.decode()
    assert str(sources) not in document and "sqlite:" not in document  # no connection's secret
    needs = {c["connection_id"]: c for c in json.loads(exported["Privetl-Connections"])}
    assert needs["legacy_db"]["variable"] == "PRIVETL_CONNECTION_LEGACY_DB"
    # FILE connections are variables too (they were folders to link next to the document).
    assert needs["shop_files"]["variable"] == "PRIVETL_CONNECTION_SHOP_FILES"
    assert needs["customers"]["variable"] == "PRIVETL_CONNECTION_CUSTOMERS"
    assert all(n["folder"] == "" for n in needs.values())
    assert '"${PRIVETL_CONNECTION_SHOP_FILES}/' in document
    assert '"path": "${PRIVETL_CONNECTION_CUSTOMERS}"' in document

    # The CLI exports the same bytes.
    out, err = StringIO(), StringIO()
    call_command("task", "export", "shop", stdout=out, stderr=err)
    assert out.getvalue() == document
    assert "PRIVETL_CONNECTION_LEGACY_DB" in err.getvalue()

    # Run it as docs/tasks.md says, with what the operator holds: each connection's string
    # in its variable, whatever its type.
    run = tmp_path / "run"
    run.mkdir(parents=True)
    (run / "module.json").write_text(document, encoding="utf-8")
    env = {
        need["variable"]: connection_secret_for_run(need["connection_id"])
        for need in needs.values()
    }
    assert env["PRIVETL_CONNECTION_LEGACY_DB"] == database
    result = _run(run / "module.json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert database not in result.stdout + result.stderr
    for value in env.values():  # no connection's string in what the run prints or reports
        assert value.removeprefix("file://") not in result.stdout + result.stderr

    # The hand-written sample, run on the same sources, publishes the same rows.
    reference = tmp_path / "reference"
    expected = _run(sources / "module.json", "--out", str(reference))
    assert expected.returncode == 0, expected.stdout + expected.stderr
    for record_set in SAMPLE["recordSet"]:
        table = record_set["name"]
        assert _rows(published, table) == _rows(reference, table), table
    assert read_table(published, "customers").num_rows > 0

    # The connection string is nowhere the script and task services write (the connection's
    # own records show its redacted form, which for a SQLite file is its path).
    audit = AuditLog.objects.filter(service__in=["scripts", "tasks"]).values_list(
        "before_json", "after_json", "detail"
    )
    assert not any(database in (text or "") for row in audit for text in row)
    task = client.get("/api/v1/tasks/shop").content.decode()
    assert database not in task and database not in exported["Privetl-Connections"]


def test_without_the_variable_the_run_names_it(db, tmp_path: Path) -> None:
    connection("customers", "FILE", CONTRACT)
    connection("legacy_db", "SQL")
    editor = user("eddie", "EDIT_TASK")
    grant("eddie", "customers", "WRITE")
    grant("eddie", "legacy_db", "READ")
    services.task_create(actor=editor, id="t", name="T", ext_datamodule_id="customers", seed=42)
    config = {
        "query": "SELECT * FROM legacy_customers",
        "mapping": SAMPLE["privetl:collectionProtocol"][1]["mapping"],
    }
    extractors = [
        (
            "legacy",
            {
                "table": "customers",
                "kind": "Sql",
                "connection_id": "legacy_db",
                "config_json": json.dumps(config),
            },
        ),
        *SAMPLE_EXTRACTORS[2:],
    ]
    made = create_sample_scripts(editor, "t", extractors=extractors)
    configure(editor, "t", made)
    services.task_release(actor=editor, task_id="t")
    out = StringIO()
    call_command("task", "export", "t", stdout=out, stderr=StringIO())
    (tmp_path / "module.json").write_text(out.getvalue(), encoding="utf-8")
    result = _run(tmp_path / "module.json", "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "PRIVETL_CONNECTION_LEGACY_DB" in result.stdout + result.stderr
