"""The outbox through the real doors of a served platform, with a real worker: a Data-
Manager's rights, an edit that would break k refused with the measured k (nothing
changes), concurrent edits of one entry both kept, bad changes refused naming them, and
retention expiring what nobody uploaded — its periodic job run with the clock moved on.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from typing import Any

import pytest

from tests.runs.conftest import TASK, Platform

pytestmark = pytest.mark.slow

QI = ("birth_date", "zip", "gender")


@pytest.fixture(scope="module")
def awaiting(platform: Platform) -> dict[str, dict[str, Any]]:
    """A run of the task verified and waiting in the outbox: its entries by table."""
    with platform.worker(processes=1):
        started = platform.call("POST", f"/tasks/{TASK}/start")
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        platform.wait(run_id, lambda r: r["state"] == "AWAITING_UPLOAD", 180, "verified")
    listed = platform.call(
        "GET", "/outbox", token=platform.dana, task_id=TASK, states="AWAITING_REVIEW"
    ).json()
    return {e["table"]: e for e in listed["entries"] if e["run_id"] == run_id}


def _records(platform: Platform, entry_id: str) -> list[dict[str, Any]]:
    got = platform.call("GET", f"/outbox/{entry_id}", token=platform.dana, preview_rows=1000)
    assert got.status_code == 200, got.text
    return list(got.json()["records"])


def test_the_outbox_is_the_data_managers_and_only_for_modules_they_may_read(
    platform: Platform, awaiting: dict[str, dict[str, Any]]
) -> None:
    entry = awaiting["customers"]
    assert platform.call("GET", "/outbox", token=platform.tom).status_code == 403  # no MANAGE_DATA
    detail = platform.call("GET", f"/outbox/{entry['id']}", token=platform.dana, preview_rows=5)
    body = detail.json()
    assert len(body["records"]) == 5 and {s["column"] for s in body["statistics"]} >= set(QI)
    assert body["entry"]["privacy"]["k"] >= 3
    assert platform.call("GET", "/outbox/no-such-entry", token=platform.dana).status_code == 404
    too_many = platform.call(
        "GET", f"/outbox/{entry['id']}", token=platform.dana, preview_rows=1001
    )
    assert too_many.status_code == 400 and too_many.json()["field"] == "preview_rows"
    # the run history is the Task-Manager's and the Data-Manager's to read
    for token in (platform.tom, platform.dana):
        assert platform.call("GET", "/runs", token=token, task_id=TASK).status_code == 200


def test_an_edit_that_would_break_k_is_refused_with_the_measured_k_and_changes_nothing(
    platform: Platform, awaiting: dict[str, dict[str, Any]]
) -> None:
    entry = awaiting["customers"]
    records = _records(platform, entry["id"])
    classes = Counter(tuple(str(r[c]) for c in QI) for r in records)
    smallest, size = min(classes.items(), key=lambda item: item[1])
    k = int(entry["privacy"]["targets"]["k"]) if "targets" in (entry["privacy"] or {}) else 3
    victims = [r for r in records if tuple(str(r[c]) for c in QI) == smallest][: size - k + 1]
    refused = platform.call(
        "POST",
        f"/outbox/{entry['id']}/changes",
        {"changes": [{"delete_key": str(v["id"])} for v in victims], "reason": "test"},
        token=platform.dana,
    )
    assert refused.status_code == 409, refused.text
    assert "k = " in refused.json()["message"]
    after = platform.call("GET", f"/outbox/{entry['id']}", token=platform.dana).json()["entry"]
    assert after["rows"] == entry["rows"] and after["revision"] == entry["revision"]


def test_bad_changes_are_refused_naming_them(
    platform: Platform, awaiting: dict[str, dict[str, Any]]
) -> None:
    entry = awaiting["orders"]
    for changes, words in (
        ([{"delete_key": "no-such-order"}], "no record has id"),
        ([{"edit": {"key": "1", "values": {"no_column": 1}}}], "not a column"),
        ([{"edit": {"key": "1", "values": {"amount": "lots"}}}], "change 1"),
        ([], "at least one change"),
    ):
        answer = platform.call(
            "POST", f"/outbox/{entry['id']}/changes", {"changes": changes}, token=platform.dana
        )
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["message"], answer.json()


def test_concurrent_edits_of_one_entry_are_both_kept(
    platform: Platform, awaiting: dict[str, dict[str, Any]]
) -> None:
    entry = awaiting["orders"]
    keys = [str(r["id"]) for r in _records(platform, entry["id"])[:8]]
    answers: list[int] = []

    def edit(key: str, amount: float) -> None:
        answers.append(
            platform.call(
                "POST",
                f"/outbox/{entry['id']}/changes",
                {"changes": [{"edit": {"key": key, "values": {"amount": amount}}}]},
                token=platform.dana,
            ).status_code
        )

    threads = [threading.Thread(target=edit, args=(key, 1000.0 + i)) for i, key in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(keys)
    amounts = {str(r["id"]): r["amount"] for r in _records(platform, entry["id"])}
    assert [amounts[key] for key in keys] == [1000.0 + i for i in range(len(keys))]
    after = platform.call("GET", f"/outbox/{entry['id']}", token=platform.dana).json()["entry"]
    assert after["revision"] == entry["revision"] + len(keys)


def test_the_grpc_doors_share_the_outbox_and_the_run_history(
    platform: Platform, awaiting: dict[str, dict[str, Any]]
) -> None:
    import grpc
    from google.protobuf import struct_pb2

    from privetl._gen.etl.data.manager.V1 import data_manager_pb2 as pb
    from privetl._gen.etl.data.manager.V1 import data_manager_pb2_grpc as pb_grpc

    entry = awaiting["orders"]
    as_dana = (("authorization", f"Bearer {platform.dana}"),)
    as_tom = (("authorization", f"Bearer {platform.tom}"),)
    with grpc.insecure_channel(f"127.0.0.1:{platform.grpc_port}") as channel:
        data = pb_grpc.DataManagerStub(channel)
        listed = data.GetAll(
            pb.GetAllRequest(task_id=TASK, states=[pb.AWAITING_REVIEW]),
            metadata=as_dana,
            timeout=30,
        )
        assert entry["id"] in {e.id for e in listed.entries}
        got = data.Get(
            pb.GetRequest(entry_id=entry["id"], preview_rows=2), metadata=as_dana, timeout=30
        )
        assert len(got.records) == 2 and got.entry.rows == entry["rows"]
        assert {s.column for s in got.statistics} == set(entry["columns"])
        key = str(int(got.records[0]["id"]))
        values = struct_pb2.Struct()
        values.update({"amount": 42.5})
        changed = data.Modifie(
            pb.ModifieRequest(
                entry_id=entry["id"],
                changes=[pb.RecordChange(edit=pb.EditRecord(key=key, values=values))],
                reason="over gRPC",
            ),
            metadata=as_dana,
            timeout=60,
        )
        assert changed.entry.revision == got.entry.revision + 1
        rest = {str(r["id"]): r["amount"] for r in _records(platform, entry["id"])}
        assert rest[key] == 42.5  # the REST door reads what the gRPC door wrote
        with pytest.raises(grpc.RpcError) as refused:
            data.Get(pb.GetRequest(entry_id=entry["id"]), metadata=as_tom, timeout=30)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        runs = data.ListRuns(pb.ListRunsRequest(task_id=TASK), metadata=as_tom, timeout=30)
        run = data.GetRun(pb.GetRunRequest(run_id=entry["run_id"]), metadata=as_tom, timeout=30).run
        assert entry["run_id"] in {r.id for r in runs.runs}
        assert run.state == pb.AWAITING_UPLOAD and list(run.stages_done)[-1] == "verify"
        assert dict(run.stage_executions) == {s: 1 for s in run.stages_done}


EXPIRE = (
    "import os, django, datetime as dt, time_machine;"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'privetl.config.settings');"
    "django.setup();"
    "from django_q.models import Schedule;"
    "from privetl.runs import jobs;"
    "from privetl.runs.management.commands.worker import ensure_schedules;"
    "ensure_schedules();"
    "schedule = Schedule.objects.get(func='privetl.runs.jobs.expire_outbox');"
    "print('SCHEDULED', schedule.schedule_type, schedule.minutes);"
    "print('NOW', jobs.expire_outbox());"
    "moved = dt.datetime.now(dt.UTC) + dt.timedelta(days=8);"
    "traveller = time_machine.travel(moved, tick=True); traveller.start();"
    "print('LATER', jobs.expire_outbox())"
)


def test_retention_expires_what_nobody_uploaded(
    platform: Platform, awaiting: dict[str, dict[str, Any]]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EXPIRE],
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["SCHEDULED"].split() == ["I", "10"]  # every 10 minutes, in the workers' scheduler
    assert lines["NOW"] == "0"  # nothing is past its 7 days yet
    assert int(lines["LATER"]) >= 2  # 8 days on: this run's entries, at least
    for entry in awaiting.values():
        after = platform.call("GET", f"/outbox/{entry['id']}", token=platform.dana).json()["entry"]
        assert after["state"] == "EXPIRED"
    run = platform.run(awaiting["orders"]["run_id"])
    assert run["state"] == "STOPPED" and "expired" in run["error"]
    audit = platform.call(
        "GET", "/audit-logs", token=platform.admin, target_id=awaiting["orders"]["id"]
    ).json()
    assert "outbox.expire" in [r["action"] for r in audit["audit_logs"]]
