"""The entry page's readers on a real entry: sorting with ties and empty values, histogram
buckets (whole numbers, one value, no value), the privacy check against the task's
targets, and the table whose targets an anatomized output answers to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from privetl.common.errors import FailedPrecondition, InvalidArgument, NotFound
from privetl.data import selectors
from privetl.data.models import OutboxEntry, OutboxState
from privetl.engine.metadata import DataModule
from tests.data.helpers import MODULE, make_entry
from tests.scripts.helpers import connection, grant, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(settings: Any, tmp_path: Path) -> Any:
    settings.RUN_WORK_DIR = tmp_path
    connection("people")
    actor = user("dana", "MANAGE_DATA")
    grant("dana", "people", "READ")
    return actor


def test_sorting_puts_empty_values_last_and_breaks_ties_by_key(dana: Any, tmp_path: Path) -> None:
    rows = {
        "id": [5, 3, 9, 1, 7],
        "zip": ["A", "A", "B", "B", "A"],
        "age": [40, 40, None, 20, 40],
        "score": [1.0, 2.0, 3.0, 4.0, 5.0],
    }
    entry = make_entry(tmp_path, rows=rows)
    up = selectors.entry_page_for_actor(actor=dana, entry_id=entry.id, sort="age")
    assert [r["id"] for r in up.records] == [1, 3, 5, 7, 9]
    down = selectors.entry_page_for_actor(
        actor=dana, entry_id=entry.id, sort="age", descending=True
    )
    assert [r["id"] for r in down.records] == [3, 5, 7, 1, 9]
    paged = selectors.entry_page_for_actor(
        actor=dana, entry_id=entry.id, sort="age", descending=True, offset=2, rows=2
    )
    assert [r["id"] for r in paged.records] == [7, 1]
    assert (paged.previous_offset, paged.next_offset) == (0, 4)
    with pytest.raises(InvalidArgument, match="rows must be"):
        selectors.entry_page_for_actor(actor=dana, entry_id=entry.id, rows=1001)


def test_histograms_bucket_whole_numbers_and_one_value(dana: Any, tmp_path: Path) -> None:
    ids = list(range(1, 31))
    rows = {
        "id": ids,
        "zip": ["A"] * 30,
        "age": [i % 30 for i in ids],  # 0..29: ten buckets of three whole numbers
        "score": [2.5] * 30,  # one value: one bucket
    }
    entry = make_entry(tmp_path, rows=rows)
    page = selectors.entry_page_for_actor(actor=dana, entry_id=entry.id)
    by_column = {h.column: h for h in page.histograms}
    assert set(by_column) == {"age", "score"}  # not the key
    assert by_column["age"].buckets[0] == ("0 – 2", 3) and len(by_column["age"].buckets) == 10
    assert sum(n for _, n in by_column["age"].buckets) == 30
    assert by_column["score"].buckets == [("2.5", 30)]


def test_a_column_with_no_values_has_an_empty_histogram(dana: Any, tmp_path: Path) -> None:
    rows = {"id": [1, 2], "zip": ["A", "A"], "age": [None, None], "score": [None, None]}
    entry = make_entry(tmp_path, rows=rows)
    histograms = selectors.entry_page_for_actor(actor=dana, entry_id=entry.id).histograms
    assert [(h.column, h.buckets, h.nulls) for h in histograms] == [
        ("age", [], 2),
        ("score", [], 2),
    ]


def test_the_privacy_check_compares_each_measure_with_its_target(dana: Any, tmp_path: Path) -> None:
    entry = make_entry(tmp_path)
    OutboxEntry.objects.filter(pk=entry.id).update(
        privacy={
            "k": 1,
            "l": None,
            "t": None,
            "holds": False,
            "shortfalls": ["k = 1 is below the target k = 2"],
        }
    )
    check = selectors.entry_page_for_actor(actor=dana, entry_id=entry.id).shape.privacy
    assert check.table == "people" and not check.holds
    assert [(m.name, m.measured, m.target, m.holds) for m in check.measures] == [("k", 1, 2, False)]
    assert check.shortfalls == ["k = 1 is below the target k = 2"]


def test_an_anatomized_output_answers_to_its_tables_targets() -> None:
    module = DataModule.model_validate(MODULE)
    assert selectors.privacy_table_of(module, "people") == "people"
    assert selectors.privacy_table_of(module, "people_st") == "people"
    assert selectors.privacy_table_of(module, "orders") is None


def test_a_record_is_found_by_its_key_only_while_the_entry_awaits_review(
    dana: Any, tmp_path: Path
) -> None:
    entry = make_entry(tmp_path)
    found = selectors.entry_record_for_actor(actor=dana, entry_id=entry.id, key="4")
    assert (
        found.record == {"id": 4, "zip": "A", "age": 67, "score": 9.5} and found.shape.key == "id"
    )
    for key in ("99", "not-a-number"):
        with pytest.raises(NotFound, match="no record with id"):
            selectors.entry_record_for_actor(actor=dana, entry_id=entry.id, key=key)
    OutboxEntry.objects.filter(pk=entry.id).update(state=OutboxState.EXPIRED)
    with pytest.raises(FailedPrecondition, match="expired"):
        selectors.entry_record_for_actor(actor=dana, entry_id=entry.id, key="4")
    with pytest.raises(InvalidArgument, match="no records to sort"):
        selectors.entry_page_for_actor(actor=dana, entry_id=entry.id, sort="age")


def test_no_edit_once_the_upload_is_queued(settings: Any, tmp_path: Path) -> None:
    """Start of a task AWAITING_UPLOAD makes it UPLOADING (under the task's lock): an edit
    after that is refused and changes nothing, so the upload never misses or half-takes it."""
    from privetl.common.errors import FailedPrecondition
    from privetl.data import services
    from privetl.data.models import OutboxEntry
    from privetl.tasks.models import Task
    from tests.data.helpers import TASK, make_entry
    from tests.scripts.helpers import actor_for, connection, grant, user

    settings.RUN_WORK_DIR = tmp_path
    connection("people")
    user("dana", "MANAGE_DATA")
    grant("dana", "people", "READ")
    entry = make_entry(tmp_path)
    Task.objects.filter(pk=TASK).update(state="UPLOADING")
    dana = actor_for("dana", "MANAGE_DATA")
    with pytest.raises(FailedPrecondition, match="uploading this result"):
        services.outbox_modify(actor=dana, entry_id=entry.id, changes=[{"delete_key": "1"}])
    assert OutboxEntry.objects.get(pk=entry.id).revision == 0
