"""A real outbox entry, made the way a run hands one over (``outbox_entries_create``) but
without running one (a run takes seconds of subprocesses): a released task AWAITING_UPLOAD
whose document declares the table (key, types, field rules, k = 2 on ``zip``), and a small
Parquet file in the run's work directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from privetl.data import services
from privetl.engine.jsonld import module_to_document
from privetl.engine.metadata import DataModule
from privetl.tasks.models import Task
from tests.scripts.helpers import ADMIN

RUN = "run-people-1"
TASK = "people-task"
MODULE: dict[str, Any] = {
    "id": "people",
    "name": "people",
    "tables": [
        {
            "name": "people",
            "primary_key": {"column": "id", "on_conflict": "source_priority"},
            "columns": [
                {"name": "id", "type": "integer"},
                {"name": "zip", "type": "string", "empty": {"strategy": "drop"}},
                {
                    "name": "age",
                    "type": "integer",
                    "range": {"min": 0, "max": 120, "on_violation": "drop"},
                },
                {"name": "score", "type": "double"},
            ],
            "privacy": {"quasi_identifiers": ["zip"], "k": 2, "max_suppression": 0.5},
        }
    ],
    "collection_protocol": [
        {
            "id": "p",
            "table": "people",
            "source": {"kind": "file", "path": "data/people.parquet", "format": "parquet"},
        }
    ],
}
PEOPLE = {
    # zips A (4 records), B (3), C (2): k = 2
    "id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    "zip": ["A", "A", "A", "A", "B", "B", "B", "C", "C"],
    "age": [30, 41, 25, 67, 52, 19, 88, 33, 45],
    "score": [1.5, 2.0, None, 9.5, 4.25, 3.0, 7.0, 5.5, 0.5],
}


@dataclass(frozen=True)
class Entry:
    """The entry made, and where its run's data lives."""

    id: str
    work: Path


def make_entry(work: Path, *, rows: dict[str, list[Any]] | None = None) -> Entry:
    """A released task AWAITING_UPLOAD with its run's one table in the outbox."""
    document = module_to_document(DataModule.model_validate(MODULE))
    Task.objects.create(
        id=TASK,
        name=TASK,
        ext_datamodule_id="people",
        created_by="root",
        state="AWAITING_UPLOAD",
        current_run_id=RUN,
        module_document=json.dumps(document, default=str),
    )
    data = rows or PEOPLE
    path = work / RUN / "verify" / "people.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            data,
            schema=pa.schema(
                [
                    ("id", pa.int64()),
                    ("zip", pa.string()),
                    ("age", pa.int64()),
                    ("score", pa.float64()),
                ]
            ),
        ),
        path,
    )
    [view] = services.outbox_entries_create(
        actor=ADMIN,
        run_id=RUN,
        task_id=TASK,
        ext_datamodule_id="people",
        tables=[
            services.OutboxTable(
                table="people",
                path="verify/people.parquet",
                rows=len(data["id"]),
                columns=list(data),
                privacy={"k": 2, "l": None, "t": None, "records_out": len(data["id"])},
            )
        ],
    )
    return Entry(id=view.id, work=work)
