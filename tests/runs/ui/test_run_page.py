"""A run's page: the quarantine the engine wrote (paged, searchable), the privacy measures
against their targets, the stage timeline, the charts across the task's runs, rights and the
empty states of a run that has not got that far."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from privetl.datamodules.models import Connection
from privetl.engine.jsonld import module_to_document
from privetl.engine.metadata import DataModule
from privetl.engine.privacy import PrivacyReport
from privetl.engine.report import QUARANTINE_COLUMNS
from privetl.engine.stages import StagedRun
from privetl.runs.models import Run
from privetl.runs.services import report_json_of
from privetl.tasks.models import Task
from privetl.users.models import User, UserRole
from tests.scripts.helpers import connection, grant, task_row, user

pytestmark = pytest.mark.django_db

SMALL_MODULE: dict[str, Any] = {
    "id": "small",
    "name": "small",
    "seed": 3,
    "tables": [
        {
            "name": "customers",
            "primary_key": {"column": "id", "on_conflict": "source_priority"},
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "zip", "type": "string", "anonymize": {"op": "generalize", "truncate": 1}},
                {"name": "name", "type": "string", "anonymize": {"op": "permute"}},
            ],
            "privacy": {"quasi_identifiers": ["zip"], "k": 2, "max_suppression": 0.5},
        },
        {
            "name": "orders",
            "primary_key": {"column": "id", "on_conflict": "drop_all"},
            "foreign_keys": [
                {"column": "customer_id", "references_table": "customers", "references_column": "id"}
            ],
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "customer_id", "type": "integer"},
                {"name": "amount", "type": "double"},
            ],
        },
    ],
    "collection_protocol": [
        {
            "id": "c",
            "table": "customers",
            "source": {"kind": "file", "path": "data/customers.parquet", "format": "parquet"},
        },
        {
            "id": "o",
            "table": "orders",
            "source": {"kind": "file", "path": "data/orders.parquet", "format": "parquet"},
        },
    ],
}


@pytest.fixture(scope="module")
def engine_work(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """RUN_WORK_DIR with run "r-engine" staged to the end by the engine itself: customers in
    zips A (3), B (2), C (1) and one without an id; an order of an unknown customer (99).
    Its report's JSON as the worker stores it."""
    base = tmp_path_factory.mktemp("engine-run")
    data = base / "module" / "data"
    data.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, 3, 4, 5, 6, None],
                "zip": ["A1", "A2", "A3", "B1", "B2", "C1", "A9"],
                "name": list("uvwxyzq"),
            }
        ),
        data / "customers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "id": [10, 11, 12, 16, 17, 18],
                "customer_id": [1, 2, 4, 6, 6, 99],
                "amount": [1.0, 2, 3, 4, 5, 6],
            }
        ),
        data / "orders.parquet",
    )
    document = base / "module" / "module.json"
    document.write_text(
        json.dumps(module_to_document(DataModule.model_validate(SMALL_MODULE)), default=str)
    )
    work = base / "runs"
    staged = StagedRun(
        document, work / "r-engine" / "engine", run_id="r-engine", secret=b"test", out=base / "out"
    )
    while (stage := staged.next_stage()) is not None:
        staged.run_stage(stage)
    return work, report_json_of(staged.report())


def _login(client: Client, user_id: str, *roles: str) -> None:
    user = User.objects.create(id=user_id)
    for role in roles:
        UserRole.objects.create(user=user, role=role)
    client.post("/ui/login/", {"user_id": user_id})


def _data_manager(client: Client, user_id: str = "dana") -> None:
    """A Data-Manager who may read the runs' module (task t1's destination, ``customers``):
    the one reader who sees the quarantine's values."""
    if not Connection.objects.filter(pk="customers").exists():
        connection("customers")
    user(user_id, "MANAGE_DATA")
    grant(user_id, "customers", "READ")
    client.post("/ui/login/", {"user_id": user_id})


def _run(run_id: str, report: dict[str, Any] | str | None = None, **fields: Any) -> Run:
    task_id = fields.get("task_id", "t1")
    if not Task.objects.filter(pk=task_id).exists():
        task_row(task_id)
    values: dict[str, Any] = {
        "task_id": "t1",
        "module_sha256": "0" * 64,
        "state": "AWAITING_UPLOAD",
        "started_by": "tom",
        "report_json": report if isinstance(report, str) else json.dumps(report or {}),
    }
    return Run.objects.create(id=run_id, **{**values, **fields})


def _quarantine_rows(work: Path, run_id: str, count: int) -> dict[str, Any]:
    """A quarantine of ``count`` rows in the engine's columns (every 10th one a zip), where
    the engine puts it; the report part naming it."""
    path = work / run_id / "engine" / "clean" / "quarantine.parquet"
    path.parent.mkdir(parents=True)
    rows = [
        {
            "record_key": f"k{i:03d}",
            "table": "customers",
            "column": "zip" if i % 10 == 0 else "income",
            "rule": "fill" if i % 10 == 0 else "range",
            "value": None if i % 10 == 0 else f"{i * 1000}",
            "message": "empty: filled" if i % 10 == 0 else "out of range: filled",
            "run_id": run_id,
        }
        for i in range(count)
    ]
    schema = pa.schema([(c, pa.string()) for c in QUARANTINE_COLUMNS])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return {"quarantine": {"path": str(path), "rows": count}}


def _quarantine_keys(page: str) -> list[str]:
    section = page.split('id="quarantine"', 1)[1].split("</section>", 1)[0]
    return re.findall(r"<td>(k\d{3}|c:\d+|\d+)</td><td>", section)


def _next_quarantine(page: str) -> str:
    found = re.search(r'href="\?([^"]*)#quarantine" rel="next"', page)
    assert found, "no Next quarantine page link"
    return unescape(found.group(1))


def test_the_engines_own_quarantine_and_privacy_measures_are_shown(
    client: Client,
    settings: Settings,
    engine_work: tuple[Path, str],
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    work, report_json = engine_work
    settings.RUN_WORK_DIR = work
    _run("r-engine", report_json, timings=json.loads(report_json)["timings"])  # as the worker
    _data_manager(client)
    with django_assert_max_num_queries(6):
        page = client.get("/ui/runs/r-engine/").content.decode()
    section = page.split('id="quarantine"', 1)[1]
    assert "<td>orders</td><td>customer_id</td><td>foreign_key</td><td>18</td><td>99</td>" in section
    assert "<td>customers</td><td>id</td><td>primary_key_empty</td>" in section
    assert "2 quarantined record(s)" in section
    privacy = page.split('id="privacy"', 1)[1].split('id="quarantine"', 1)[0]
    row = (
        '<td>customers</td><td>k (smallest equivalence class)</td><td class="num">2</td>'
        '<td class="num">≥ 2</td><td><span class="met">met</span></td>'
    )
    assert row in privacy
    assert '1 of 6 (16.67%)</td><td class="num">≤ 50.00%</td><td><span class="met">met' in privacy
    assert "not met" not in privacy and "l (fewest" not in privacy  # no l target, no l measure
    timeline = page.split('id="timeline"', 1)[1].split("Rows affected per rule", 1)[0]
    assert [s for s in re.findall(r"<tr><td>(\w+)</td>", timeline)][:5] == [
        "extract",
        "clean",
        "transform",
        "anonymize",
        "verify",
    ]


def test_the_quarantine_pages_to_the_end_with_the_search_kept(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.RUN_WORK_DIR = tmp_path
    _run("r1", _quarantine_rows(tmp_path, "r1", 120))
    _data_manager(client)
    seen: list[str] = []
    query = ""
    while True:
        page = client.get(f"/ui/runs/r1/?{query}").content.decode()
        seen += _quarantine_keys(page)
        if 'rel="next"' not in page.split('id="quarantine"', 1)[1]:
            break
        query = _next_quarantine(page)
    assert seen == [f"k{i:03d}" for i in range(120)]  # 50, 50, 20: nothing lost or repeated
    assert "120 quarantined record(s)" in page

    page = client.get("/ui/runs/r1/?q=ZIP").content.decode()  # any case, any column
    assert _quarantine_keys(page) == [f"k{i:03d}" for i in range(0, 120, 10)]
    assert "12 record(s) match “ZIP”" in page and 'name="q" value="ZIP"' in page
    assert '<span class="empty">empty</span>' in page  # a value that was empty

    found = client.get("/ui/runs/r1/?q=income").content.decode()
    assert len(_quarantine_keys(found)) == 50
    query = _next_quarantine(found)
    assert query.startswith("q=income&quarantine_page_token=")
    second = client.get(f"/ui/runs/r1/?{query}").content.decode()
    assert len(_quarantine_keys(second)) == 50
    last = client.get(f"/ui/runs/r1/?{_next_quarantine(second)}").content.decode()
    assert len(_quarantine_keys(last)) == 8  # 108 rows of income
    assert "108 record(s) match “income”" in last

    token = query.split("quarantine_page_token=")[1]
    other = client.get(f"/ui/runs/r1/?q=zip&quarantine_page_token={token}")
    assert other.status_code == 400  # a token of another search continues nothing
    assert "belongs to another listing or other filters" in other.content.decode()

    none = client.get("/ui/runs/r1/?q=%25").content.decode()  # % is a character, no wildcard
    assert _quarantine_keys(none) == []
    assert "No quarantined record matches “%”" in none and "clear the search" in none


def test_the_search_form_works_with_and_without_htmx(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.RUN_WORK_DIR = tmp_path
    _run("r1", _quarantine_rows(tmp_path, "r1", 3))
    _data_manager(client)
    page = client.get("/ui/runs/r1/").content.decode()
    assert '<form method="get" action="/ui/runs/r1/#quarantine"' in page
    assert 'hx-get="/ui/runs/r1/" hx-select="#quarantine" hx-target="#quarantine"' in page
    assert '<label for="quarantine-q">' in page
    live = client.get("/ui/runs/r1/?q=k001", headers={"HX-Request": "true"}).content.decode()
    assert _quarantine_keys(live) == ["k001"]


def test_a_quarantine_outside_the_runs_work_dir_is_not_read(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.RUN_WORK_DIR = tmp_path / "runs"
    elsewhere = _quarantine_rows(tmp_path / "elsewhere", "r1", 5)
    _run("r1", elsewhere)
    _run("r2", {"quarantine": {"path": str(tmp_path / "runs" / "r1" / "x"), "rows": 5}})
    _data_manager(client)
    for run_id in ("r1", "r2"):
        page = client.get(f"/ui/runs/{run_id}/").content.decode()
        assert _quarantine_keys(page) == []
        assert "The quarantine is not there any more" in page


def test_privacy_measures_that_miss_their_targets_say_so(client: Client) -> None:
    measured = PrivacyReport(
        quasi_identifiers=["zip"],
        sensitive=["diagnosis"],
        records_in=200,
        records_suppressed=30,
        records_out=170,
        classes=12,
        k=3,
        l=1,
        t=0.41,
        max_risk=0.33,
        average_risk=0.07,
        records_at_risk=0.0,
        k_before=1,
        targets={"k": 3, "l": 2, "t": 0.3, "max_suppression": 0.1},
    ).to_dict()
    anatomy = {"anatomy_l_target": 3, "groups": 4, "l": 2, "min_group_size": 3}
    _run("r1", {"privacy": {"customers": measured, "visits": anatomy}}, state="FAILED")
    _login(client, "root", "ADMIN")
    page = client.get("/ui/runs/r1/").content.decode()
    privacy = page.split('id="privacy"', 1)[1].split('id="quarantine"', 1)[0]
    rows = re.findall(
        r'<tr><td>(\w+)</td><td>([^<]+)</td><td class="num">([^<]+)</td>'
        r'<td class="num">([^<]+)</td><td><span class="([\w-]+)">',
        privacy,
    )
    assert rows == [
        ("customers", "k (smallest equivalence class)", "3", "≥ 3", "met"),
        ("customers", "l (fewest distinct sensitive values in a class)", "1", "≥ 2", "not-met"),
        ("customers", "t (largest distance from the table&#x27;s distribution)", "0.41", "≤ 0.3", "not-met"),
        ("customers", "records suppressed", "30 of 200 (15.00%)", "≤ 10.00%", "not-met"),
        ("visits", "l (fewest distinct sensitive values in an anatomy group)", "2", "≥ 3", "not-met"),
    ]


def test_the_tasks_latest_runs_are_charted_with_their_figures(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    start = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    for i in range(25):
        _run(
            f"r{i:02d}",
            queued_at=start + dt.timedelta(days=i),
            timings={"extract": 1.0, "clean": float(i)},
            rows_in=1000 + i,
            rows_out=500 + 10 * i,
            state="SUCCEEDED",
        )
    _run("other", task_id="t2", queued_at=start, timings={"extract": 99.0}, rows_out=9)
    _login(client, "tom", "PROCESS_ETL_TASK")
    with django_assert_max_num_queries(6):
        page = client.get("/ui/runs/r20/").content.decode()
    trend = page.split('id="trend"', 1)[1]
    table = trend.split("all the figures", 1)[1]
    listed = re.findall(r"<tr><td>(?:<a href=\"/ui/runs/\w+/\">)?(r\d\d|other)", table)
    assert listed == [f"r{i:02d}" for i in range(5, 25)]  # the last 20, oldest first, one task
    assert "r20 (this run)" in table and 'href="/ui/runs/r24/"' in table
    assert '<td class="num">21.0</td><td class="num">1020</td><td class="num">700</td>' in table
    # the charts: the largest (r24: 25 s, 740 rows) fills the 400 units; their own tables
    assert trend.count('width="400.0"') == 2
    assert "<td>2026-11-25 08:00 r24</td><td>25.0 s</td>" in trend
    assert "<td>2026-11-25 08:00 r24</td><td>740</td>" in trend


def test_a_run_that_has_not_got_far_says_what_comes(client: Client) -> None:
    _run("r1", None, state="QUEUED")
    _data_manager(client)
    page = client.get("/ui/runs/r1/").content.decode()
    assert "No stage has finished yet" in page
    assert "No privacy measures yet" in page
    assert "The quarantine is not there yet: it is written when the clean stage finishes" in page
    assert "This is the task's only run so far" in page
    failed = _run("r2", None, state="FAILED", error="table 'customers': k = 1 is below k = 3")
    page = client.get(f"/ui/runs/{failed.id}/").content.decode()
    assert "No privacy measures: the run failed before they were taken" in page


@pytest.mark.parametrize("role", ["PROCESS_ETL_TASK", "MANAGE_DATA", "ADMIN"])
def test_every_history_role_reads_a_run_page(
    client: Client, settings: Settings, tmp_path: Path, role: str
) -> None:
    settings.RUN_WORK_DIR = tmp_path
    _run("r1", _quarantine_rows(tmp_path, "r1", 3))
    _login(client, "reader", role)
    response = client.get("/ui/runs/r1/?q=k00")
    page = response.content.decode()
    assert response.status_code == 200 and "3 in the run's report" in page
    # the rejected values are raw source records: only a Data-Manager of the module sees them
    assert not _quarantine_keys(page) and "k001" not in page
    assert "a Data-Manager (MANAGE_DATA) with read access to customers" in page


def test_a_data_manager_without_read_on_the_module_does_not_see_the_values(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.RUN_WORK_DIR = tmp_path
    _run("r1", _quarantine_rows(tmp_path, "r1", 3))
    user("dora", "MANAGE_DATA")
    client.post("/ui/login/", {"user_id": "dora"})
    page = client.get("/ui/runs/r1/").content.decode()
    assert not _quarantine_keys(page) and "read access to customers" in page
    _data_manager(Client(), "dana")
    granted = Client()
    granted.post("/ui/login/", {"user_id": "dana"})
    assert _quarantine_keys(granted.get("/ui/runs/r1/").content.decode())


@pytest.mark.parametrize("roles", [(), ("CREATE_EXT_DATAMODULE",), ("EDIT_ETL_TASK",)])
def test_others_get_403_on_a_run_page_and_its_quarantine(
    client: Client, settings: Settings, tmp_path: Path, roles: tuple[str, ...]
) -> None:
    settings.RUN_WORK_DIR = tmp_path
    _run("r1", _quarantine_rows(tmp_path, "r1", 3))
    _login(client, "other", *roles)
    response = client.get("/ui/runs/r1/?q=k001")
    assert response.status_code == 403
    assert "k001" not in response.content.decode()
