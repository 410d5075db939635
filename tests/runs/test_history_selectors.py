"""The run history's readers: ListRuns' filters and their refusals, the privacy measures
beside their targets, a run's page (rights, the quarantine page size) — on the real database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pytest_django.fixtures import Settings

from privetl.common.errors import InvalidArgument, PermissionDenied
from privetl.engine.report import QUARANTINE_COLUMNS
from privetl.runs import selectors
from privetl.runs.models import Run
from tests.scripts.helpers import actor_for, connection, grant, task_row, user

pytestmark = pytest.mark.django_db

TOM = actor_for("tom", "PROCESS_ETL_TASK")


def _runs() -> None:
    task_row("t1")
    # 23:30 on the 1st in UTC, the server's zone: the 1st's, not the 2nd's
    late = dt.datetime(2026, 11, 1, 23, 30, tzinfo=dt.UTC)
    for i, (state, who) in enumerate([("SUCCEEDED", "tom"), ("FAILED", "dana")]):
        Run.objects.create(
            id=f"r{i}",
            task_id="t1",
            module_sha256="0" * 64,
            state=state,
            started_by=who,
            queued_at=late + dt.timedelta(hours=i),
        )


def test_the_date_range_takes_whole_days_in_the_servers_zone() -> None:
    _runs()

    def ids(**filters: object) -> list[str]:
        page = selectors.run_list_for_actor(actor=TOM, **filters)  # type: ignore[arg-type]
        return [r.id for r in page.items]

    day = dt.date(2026, 11, 1)
    assert ids(started_from=day, started_to=day) == ["r0"]
    assert ids(started_from=day + dt.timedelta(days=1)) == ["r1"]
    assert ids(started_to=day) == ["r0"]
    assert ids(state="FAILED", started_by="dana") == ["r1"]
    assert ids(state="FAILED", started_by="tom") == []


def test_the_filters_are_refused_with_their_field() -> None:
    with pytest.raises(InvalidArgument) as bad_state:
        selectors.run_list_for_actor(actor=TOM, state="DONE")
    assert bad_state.value.field == "state"
    with pytest.raises(InvalidArgument) as swapped:
        selectors.run_list_for_actor(
            actor=TOM, started_from=dt.date(2026, 11, 2), started_to=dt.date(2026, 11, 1)
        )
    assert swapped.value.field == "started_to"
    with pytest.raises(PermissionDenied):
        selectors.run_history_for_actor(actor=actor_for("eve", "EDIT_ETL_TASK"), task_id="t1")


def test_a_token_is_tied_to_every_filter() -> None:
    _runs()
    page = selectors.run_list_for_actor(actor=TOM, page_size=1, started_by="")
    assert page.next_page_token
    for other in ({"state": "FAILED"}, {"started_by": "dana"}, {"task_id": "t1"}):
        with pytest.raises(InvalidArgument, match="other filters"):
            selectors.run_list_for_actor(
                actor=TOM,
                page_size=1,
                page_token=page.next_page_token,
                **other,  # type: ignore[arg-type]
            )
    rest = selectors.run_list_for_actor(actor=TOM, page_size=1, page_token=page.next_page_token)
    assert [r.id for r in rest.items] == ["r0"]


def test_privacy_without_a_target_is_shown_without_a_verdict_and_an_empty_table_holds() -> None:
    report = {
        "privacy": {
            "people": {
                "k": 4,
                "l": None,
                "t": None,
                "records_in": 0,
                "records_suppressed": 0,
                "records_out": 0,
                "targets": {"k": None, "l": 2, "t": None, "max_suppression": 0.05},
            },
            "broken": "not a dict",
        }
    }
    measures = selectors.privacy_against_targets(report)
    assert [(m.measure.split()[0], m.measured, m.required, m.met) for m in measures] == [
        ("k", "4", "—", None),  # measured, no target: no verdict
        ("l", "—", "≥ 2", True),  # an empty table holds every target
        ("records", "0 of 0 (0.00%)", "≤ 5.00%", True),
    ]
    assert selectors.privacy_against_targets({}) == []


def test_a_run_page_reads_one_page_of_its_quarantine(settings: Settings, tmp_path: Path) -> None:
    settings.RUN_WORK_DIR = tmp_path
    task_row("t1")
    path = tmp_path / "r1" / "engine" / "clean" / "quarantine.parquet"
    path.parent.mkdir(parents=True)
    schema = pa.schema([(c, pa.string()) for c in QUARANTINE_COLUMNS])
    rows = [dict.fromkeys(QUARANTINE_COLUMNS, f"v{i}") for i in range(7)]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    Run.objects.create(
        id="r1",
        task_id="t1",
        module_sha256="0" * 64,
        started_by="tom",
        report_json=json.dumps({"quarantine": {"path": str(path), "rows": 7}}),
    )
    withheld = selectors.run_page_for_actor(actor=TOM, run_id="r1", quarantine_page_size=3)
    assert withheld.quarantine.page.items == [] and withheld.quarantine.rows == 7
    assert withheld.quarantine.withheld_from == "customers"  # raw values: Data-Managers only
    connection("customers")
    user("dana", "MANAGE_DATA")
    grant("dana", "customers", "READ")
    dana = actor_for("dana", "MANAGE_DATA")
    found = selectors.run_page_for_actor(actor=dana, run_id="r1", quarantine_page_size=3)
    assert [q.record_key for q in found.quarantine.page.items] == ["v0", "v1", "v2"]
    assert (found.quarantine.rows, found.quarantine.matching) == (7, 7)
    more = selectors.run_page_for_actor(
        actor=dana,
        run_id="r1",
        quarantine_page_size=3,
        quarantine_page_token=found.quarantine.page.next_page_token,
    )
    assert [q.position for q in more.quarantine.page.items] == [3, 4, 5]
    with pytest.raises(InvalidArgument):
        selectors.run_page_for_actor(actor=TOM, run_id="r1", quarantine_page_size=501)
    with pytest.raises(PermissionDenied):
        selectors.run_page_for_actor(actor=actor_for("eve"), run_id="r1")
