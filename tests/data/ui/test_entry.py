"""An outbox entry's page for the Data-Manager: a page of records sorted by any column,
column statistics, a histogram per numeric column with its figures, the privacy measures
against the task's targets; editing, deleting and adding records through Modifie, refusals
shown at the field or the form with nothing changed; Upload and Discard for those who may;
the rights of every page and form; empty states; a bounded query count."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.test import Client

from privetl.audit.models import AuditLog
from privetl.data.models import OutboxEntry, OutboxState
from privetl.data.selectors import entry_file
from privetl.tasks.models import Task
from tests.data.helpers import Entry, make_entry
from tests.data.ui.conftest import login
from tests.scripts.helpers import grant, user

pytestmark = pytest.mark.django_db

KEYS = re.compile(r'aria-label="Edit or delete record ([^"]+)"')


def _page(client: Client, entry: Entry, **query: Any) -> str:
    response = client.get(f"/ui/outbox/{entry.id}/", query)
    assert response.status_code == 200, response.content
    return response.content.decode()


def _keys(page: str) -> list[int]:
    return [int(k) for k in KEYS.findall(page)]


def _data(entry: Entry) -> list[dict[str, Any]]:
    """The entry's records as stored now (its current file)."""
    row = OutboxEntry.objects.get(pk=entry.id)
    return sorted(pq.read_table(entry_file(row)).to_pylist(), key=lambda r: r["id"])


def _edit(client: Client, entry: Entry, key: str, **values: str) -> Any:
    """POST the edit form of record ``key`` as the page shows it, with ``values`` typed in."""
    record = next(r for r in _data(entry) if str(r["id"]) == key)
    form: dict[str, str] = {"key": key, "reason": "checked with the source"}
    for column in ("zip", "age", "score"):
        shown = "" if record[column] is None else str(record[column])
        form[f"was-{column}"] = shown
        form[f"value-{column}"] = values.get(column, shown)
    return client.post(f"/ui/outbox/{entry.id}/record/", form)


def test_the_entry_page_shows_its_run_privacy_records_statistics_and_histograms(
    entry: Entry, dana: Client
) -> None:
    page = _page(dana, entry)
    assert "AWAITING_REVIEW" in page and "people-task" in page
    assert 'href="/ui/runs/run-people-1/"' in page
    # privacy: the measured k against the task's target
    assert '<th scope="row">k</th><td class="num">2</td><td>at least 2</td>' in page
    # the records in the table's own order, each with its edit link by key
    assert _keys(page) == list(range(1, 10))
    # statistics: score has one empty value, zip three distinct values
    assert '<th scope="row">score</th><td>DOUBLE</td><td class="num">1</td>' in page
    assert (
        '<th scope="row">zip</th><td>VARCHAR</td><td class="num">0</td><td class="num">3</td>'
        in page
    )
    # a histogram per numeric column (not the key), drawn and with its figures as a table
    assert "histogram-age-title" in page and "histogram-score-title" in page
    assert "histogram-id-title" not in page
    assert "<caption>Records per range of age (the chart's figures)</caption>" in page
    assert "<tr><td>19 – 25</td><td>2</td></tr>" in page  # ages 19 and 25
    assert "1 record with no score (not in the chart)." in page
    # a Data-Manager without PROCESS_ETL_TASK is told who uploads, and gets no Upload form
    assert "a user with the role PROCESS_ETL_TASK" in page
    assert "/ui/run-controls/" not in page
    assert f'href="/ui/outbox/{entry.id}/add/"' in page


def test_records_are_paged_and_sorted_by_a_column_ties_in_key_order(
    work: Path, dana: Client, django_assert_max_num_queries: Any
) -> None:
    ids = list(range(1, 131))
    rows = {
        "id": ids,
        "zip": ["ABC"[i % 3] for i in ids],
        "age": [(i * 37) % 90 + 10 for i in ids],
        "score": [None if i % 10 == 0 else i / 4 for i in ids],
    }
    entry = make_entry(work, rows=rows)
    by_age = sorted(ids, key=lambda i: (-rows["age"][i - 1], i))
    with django_assert_max_num_queries(6):
        first = _page(dana, entry, sort="age", order="desc")
    assert _keys(first) == by_age[:50]
    assert 'aria-sort="descending"' in first and "sorted by age (largest first)" in first
    assert "Records 1–50 of 130" in first
    assert "?sort=age&amp;order=desc&amp;offset=50" in first and "Previous page" not in first
    second = _page(dana, entry, sort="age", order="desc", offset=50)
    assert _keys(second) == by_age[50:100] and "Previous page" in second
    last = _page(dana, entry, sort="age", order="desc", offset=100)
    assert _keys(last) == by_age[100:] and "Next page" not in last
    # empty values last, whichever the direction
    ascending = _page(dana, entry, sort="score", offset=100)
    assert _keys(ascending)[-13:] == [i for i in ids if i % 10 == 0]
    past = _page(dana, entry, offset=500)
    assert "No records on this page" in past
    refused = dana.get(f"/ui/outbox/{entry.id}/", {"sort": "salary"})
    assert (
        refused.status_code == 400
        and "'salary' is not a column of people" in refused.content.decode()
    )
    assert dana.get(f"/ui/outbox/{entry.id}/", {"offset": "ten"}).status_code == 400


def test_an_edit_is_saved_and_the_privacy_check_shown(entry: Entry, dana: Client) -> None:
    form = dana.get(f"/ui/outbox/{entry.id}/record/", {"key": "3"}).content.decode()
    assert '<label for="value-age">age <small>(BIGINT; range [0, 120])</small></label>' in form
    assert 'id="value-age" name="value-age" value="25"' in form
    assert '<label for="value-zip">zip <small>(VARCHAR; may not be empty)</small></label>' in form
    saved = _edit(dana, entry, "3", age="31", score="2.5")
    assert saved.status_code == 302 and saved["Location"] == f"/ui/outbox/{entry.id}/"
    page = dana.get(saved["Location"]).content.decode()
    assert "Saved record 3 (age, score changed; revision 1)" in page
    assert "privacy check of the changed data: k = 2 (target ≥ 2) — the targets hold" in page
    assert "Measured on the changed data, against the task's targets" in page
    assert next(r for r in _data(entry) if r["id"] == 3) == {
        "id": 3,
        "zip": "A",
        "age": 31,
        "score": 2.5,
    }
    changed = AuditLog.objects.get(action="outbox.record_edit", target_id=entry.id)
    assert changed.actor_user_id == "dana" and "checked with the source" in changed.detail


@pytest.mark.parametrize(
    ("values", "column", "words"),
    [
        ({"age": "lots"}, "age", "Could not convert string &#x27;lots&#x27;"),
        (
            {"age": "200"},
            "age",
            "age = &#x27;200&#x27; is outside the column&#x27;s range [0, 120]",
        ),
        ({"zip": ""}, "zip", "zip may not be empty"),
        ({"zip": "A", "score": "x"}, "score", "Could not convert string &#x27;x&#x27;"),
        (
            {"zip": "dan@example.org"},
            "zip",
            "zip is given a value matching the pattern &#x27;e-mail address&#x27; (personal data)",
        ),
    ],
)
def test_a_value_the_column_refuses_is_shown_at_its_input_and_nothing_changes(
    entry: Entry, dana: Client, values: dict[str, str], column: str, words: str
) -> None:
    before = _data(entry)
    refused = _edit(dana, entry, "8", **{"zip": "B", **values})
    assert refused.status_code == 400
    page = refused.content.decode()
    error = re.search(rf'<p class="field-error" id="error-{column}">([^<]*)</p>', page)
    assert error and words in error.group(1), page
    assert f'name="value-{column}" value="{values[column]}" aria-invalid="true"' in page
    assert _data(entry) == before
    assert OutboxEntry.objects.get(pk=entry.id).revision == 0


def test_an_edit_breaking_k_is_refused_with_the_measured_k_and_nothing_changes(
    entry: Entry, dana: Client
) -> None:
    before = _data(entry)
    refused = _edit(dana, entry, "8", zip="B")  # C would be a class of one
    assert refused.status_code == 409
    page = refused.content.decode()
    assert 'role="alert"' in page and "measured k = 1; nothing was changed" in page
    assert 'name="value-zip" value="B"' in page  # the input kept
    assert _data(entry) == before
    unchanged = _edit(dana, entry, "8")
    assert unchanged.status_code == 400 and "Nothing to save" in unchanged.content.decode()


def test_a_record_is_deleted_unless_that_breaks_k(entry: Entry, dana: Client) -> None:
    refused = dana.post(f"/ui/outbox/{entry.id}/record/delete/", {"key": "8", "reason": "dup"})
    assert refused.status_code == 409
    assert 'id="delete-error">these changes would break' in refused.content.decode()
    assert "measured k = 1" in refused.content.decode()
    assert len(_data(entry)) == 9
    deleted = dana.post(f"/ui/outbox/{entry.id}/record/delete/", {"key": "1"}, follow=True)
    page = deleted.content.decode()
    assert "Deleted record 1 (8 records left; revision 1)" in page and "the targets hold" in page
    assert [r["id"] for r in _data(entry)] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert 1 not in _keys(page)
    assert dana.get(f"/ui/outbox/{entry.id}/record/", {"key": "1"}).status_code == 404


def test_a_record_is_added_and_a_bad_one_refused_at_its_field(entry: Entry, dana: Client) -> None:
    form = dana.get(f"/ui/outbox/{entry.id}/add/").content.decode()
    for column in ("id", "zip", "age", "score"):
        assert f'<label for="value-{column}">' in form and f'id="value-{column}"' in form
    new = {
        "key_column": "id",
        "value-id": "10",
        "value-zip": "",
        "value-age": "50",
        "value-score": "1.25",
    }
    refused = dana.post(f"/ui/outbox/{entry.id}/add/", new)
    assert refused.status_code == 400
    assert '<p class="field-error" id="error-zip">zip may not be empty' in refused.content.decode()
    assert 'name="value-age" value="50"' in refused.content.decode()
    taken = dana.post(f"/ui/outbox/{entry.id}/add/", {**new, "value-id": "3", "value-zip": "A"})
    assert (
        taken.status_code == 400
        and "a record with id = &#x27;3&#x27; exists" in taken.content.decode()
    )
    assert len(_data(entry)) == 9
    added = dana.post(f"/ui/outbox/{entry.id}/add/", {**new, "value-zip": "A"}, follow=True)
    assert "Added record 10 (10 records; revision 1)" in added.content.decode()
    assert _data(entry)[-1] == {"id": 10, "zip": "A", "age": 50, "score": 1.25}


def test_upload_and_discard_are_offered_to_whoever_controls_runs(
    work: Path, client: Client
) -> None:
    from tests.scripts.helpers import connection

    connection("people")
    user("petra", "MANAGE_DATA", "PROCESS_ETL_TASK")
    grant("petra", "people", "WRITE")
    entry = make_entry(work)
    login(client, "petra")
    page = _page(client, entry)
    upload = re.search(
        r'<form method="post" action="/ui/run-controls/people-task/start/">.*?</form>', page, re.S
    )
    assert upload and f'name="next" value="/ui/outbox/{entry.id}/"' in upload.group(0)
    confirm = client.get(f"/ui/outbox/{entry.id}/discard/").content.decode()
    assert "deletes the records of every table of task people-task" in confirm
    stop = re.search(
        r'<form method="post" action="/ui/run-controls/people-task/stop/">.*?</form>', confirm, re.S
    )
    assert stop and 'name="clear_outbox" value="1"' in stop.group(0)
    # a run that is no longer the one the task waits to upload: no Upload
    Task.objects.filter(pk="people-task").update(state="UPLOADING")
    uploading = _page(client, entry)
    assert "/start/" not in uploading and "Run run-people-1 is being uploaded" in uploading
    Task.objects.filter(pk="people-task").update(state="RUNNING", current_run_id="run-newer")
    older = _page(client, entry)
    assert "/start/" not in older
    assert "Task people-task is RUNNING, not waiting to upload run run-people-1" in older


def test_discard_is_explained_to_a_data_manager_who_cannot_stop_runs(
    entry: Entry, dana: Client
) -> None:
    confirm = dana.get(f"/ui/outbox/{entry.id}/discard/").content.decode()
    assert "/ui/run-controls/" not in confirm
    assert (
        "Discarding is the task's Stop, which a user with the role PROCESS_ETL_TASK does" in confirm
    )


def test_without_manage_data_nothing_is_shown_and_nothing_changes(
    work: Path, client: Client
) -> None:
    from tests.scripts.helpers import connection

    connection("people")
    entry = make_entry(work)
    user("tom", "PROCESS_ETL_TASK")
    grant("tom", "people", "WRITE")
    login(client, "tom")
    assert 'href="/ui/outbox/"' not in client.get("/ui/").content.decode()
    for url in ("", "record/?key=3", "add/", "discard/"):
        assert client.get(f"/ui/outbox/{entry.id}/{url}").status_code == 403, url
    before = _data(entry)
    assert client.post(f"/ui/outbox/{entry.id}/record/delete/", {"key": "1"}).status_code == 403
    assert _edit(client, entry, "3", age="31").status_code == 403
    added = {"value-id": "10", "value-zip": "A", "value-age": "5", "value-score": ""}
    assert client.post(f"/ui/outbox/{entry.id}/add/", added).status_code == 403
    assert _data(entry) == before
    assert OutboxEntry.objects.get(pk=entry.id).revision == 0


def test_a_data_manager_without_access_to_the_module_finds_no_entry(
    work: Path, client: Client
) -> None:
    from tests.scripts.helpers import connection

    connection("people")
    entry = make_entry(work)
    user("dora", "MANAGE_DATA")
    login(client, "dora")
    assert client.get(f"/ui/outbox/{entry.id}/").status_code == 404
    assert client.post(f"/ui/outbox/{entry.id}/record/delete/", {"key": "1"}).status_code == 404
    assert len(_data(entry)) == 9


def test_empty_states(work: Path, dana: Client) -> None:
    entry = make_entry(work, rows={"id": [], "zip": [], "age": [], "score": []})
    page = _page(dana, entry)
    assert "No records: every record was deleted. Add one, or discard the entry." in page
    assert "No values to draw" in page  # the histograms of empty columns
    OutboxEntry.objects.filter(pk=entry.id).update(state=OutboxState.UPLOADED, published_version=4)
    uploaded = _page(dana, entry)
    assert "Its records were published as version 4" in uploaded
    assert "Add a record" not in uploaded and "Discard" not in uploaded
    assert dana.get(f"/ui/outbox/{entry.id}/record/", {"key": "1"}).status_code == 409
    assert dana.get("/ui/outbox/no-such-entry/").status_code == 404
