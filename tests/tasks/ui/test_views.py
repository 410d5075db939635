"""The Tasks pages: the list by state, create (errors at the input, nothing created), a task's
scripts in order with attach / reorder / detach, and Release — refused with every problem
listed, each linked to the script or connection to fix."""

from __future__ import annotations

import pytest
from django.test import Client

from privetl.audit.models import AuditLog
from privetl.scripts import services as scripts
from privetl.tasks.models import Task
from tests.scripts.helpers import create_sample_scripts, ui_login, user
from tests.tasks.test_compile import configure

pytestmark = pytest.mark.django_db


@pytest.fixture
def eddie(client: Client, editor) -> Client:  # type: ignore[no-untyped-def]
    ui_login(client, "eddie")
    return client


def test_the_empty_list_says_what_to_do_first_and_a_task_is_created(eddie: Client) -> None:
    page = eddie.get("/ui/tasks/").content.decode()
    assert "No tasks yet: create the first below" in page
    assert '<label for="task-name">Name</label>' in page
    response = eddie.post(
        "/ui/tasks/new/",
        {"id": "t9", "name": "Customers", "ext_datamodule_id": "customers", "seed": "7"},
    )
    assert response.status_code == 302 and response["Location"] == "/ui/tasks/t9/"
    page = eddie.get("/ui/tasks/t9/").content.decode()
    assert "Task t9 created" in page and "DRAFT" in page and "seed 7" in page
    assert Task.objects.get(pk="t9").seed == 7


def test_a_bad_task_is_named_at_its_input_with_the_input_kept(eddie: Client) -> None:
    response = eddie.post(
        "/ui/tasks/new/", {"id": "t9", "name": "", "ext_datamodule_id": "customers"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="task-name-error"' in page and 'value="t9"' in page
    response = eddie.post(
        "/ui/tasks/new/", {"id": "t9", "name": "X", "ext_datamodule_id": "nowhere"}
    )
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="task-destination-error"' in page and 'value="nowhere"' in page
    response = eddie.post("/ui/tasks/new/", {"name": "X", "ext_datamodule_id": "c", "seed": "z"})
    assert response.status_code == 400 and 'id="task-seed-error"' in response.content.decode()
    assert not Task.objects.exists()


def test_the_list_filters_by_state_and_pages_in_bounded_queries(
    eddie: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    Task.objects.bulk_create(
        Task(
            id=f"t{n:03}",
            name=f"Task {n}",
            ext_datamodule_id="customers",
            created_by="eddie",
            state="RELEASED" if n % 2 else "DRAFT",
        )
        for n in range(120)
    )
    with django_assert_max_num_queries(8):
        page = eddie.get("/ui/tasks/").content.decode()
    assert page.count('href="/ui/tasks/t') == 50 and "Next page" in page
    released = eddie.get("/ui/tasks/?state=RELEASED").content.decode()
    assert "(t119)" in released and "(t118)" not in released
    assert "No task is FAILED." in eddie.get("/ui/tasks/?state=FAILED").content.decode()


def _extractor(editor, script_id: str) -> None:  # type: ignore[no-untyped-def]
    scripts.script_create(
        actor=editor,
        id=script_id,
        task_id="t1",
        kind="extractor",
        body={
            "table": "customers",
            "kind": "File",
            "config_json": '{"kind": "file", "path": "a.csv", "format": "csv"}',
        },
    )


def test_scripts_are_attached_reordered_and_detached(eddie: Client, editor, task) -> None:  # type: ignore[no-untyped-def]
    _extractor(editor, "a")
    _extractor(editor, "b")
    page = eddie.get("/ui/tasks/t1/").content.decode()
    assert '<label for="add-extraction_script_ids">Add a script</label>' in page
    assert '<option value="a">a (draft)</option>' in page
    slot = "extraction_script_ids"
    assert eddie.post("/ui/tasks/t1/scripts/", {"slot": slot, "add": "a"}).status_code == 302
    eddie.post("/ui/tasks/t1/scripts/", {"slot": slot, "script_ids": ["a"], "add": "b"})
    assert Task.objects.get(pk="t1").extraction_script_ids == ["a", "b"]
    page = eddie.get("/ui/tasks/t1/").content.decode()
    assert 'aria-label="Move b up"' in page and 'href="/ui/scripts/a/"' in page
    # The Up button of b posts the list with b first.
    eddie.post("/ui/tasks/t1/scripts/", {"slot": slot, "script_ids": ["b", "a"]})
    assert Task.objects.get(pk="t1").extraction_script_ids == ["b", "a"]
    eddie.post("/ui/tasks/t1/scripts/", {"slot": slot, "script_ids": ["a"]})
    assert Task.objects.get(pk="t1").extraction_script_ids == ["a"]


def test_a_refused_list_is_explained_at_its_slot(eddie: Client, editor, task) -> None:  # type: ignore[no-untyped-def]
    _extractor(editor, "a")
    response = eddie.post("/ui/tasks/t1/scripts/", {"slot": "field_rule_script_ids", "add": "a"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "is a extractor, and this list takes field_rules" in page
    assert Task.objects.get(pk="t1").field_rule_script_ids == []


def test_release_refused_lists_every_problem_with_a_link_to_fix_it(
    eddie: Client,
    editor,  # type: ignore[no-untyped-def]
    task,  # type: ignore[no-untyped-def]
) -> None:
    made = create_sample_scripts(editor, task, release=False)
    del made["uploading_script_id"]
    configure(editor, task, made)
    before = AuditLog.objects.count()
    response = eddie.post("/ui/tasks/t1/release/")
    assert response.status_code == 409
    page = response.content.decode()
    listed = sum(len(ids) for ids in made.values())
    assert f"Not released: fix {listed + 1} problems" in page  # each script, and no uploader
    for ids in made.values():
        for script_id in ids:
            assert f'<a href="/ui/scripts/{script_id}/">script {script_id}</a>' in page
    assert 'href="/ui/scripts/new/uploader/?task_id=t1">New uploader</a>' in page
    task_row = Task.objects.get(pk="t1")
    assert task_row.state == "DRAFT" and AuditLog.objects.count() == before


def test_a_missing_grant_at_release_links_the_connection(eddie: Client, editor, task) -> None:  # type: ignore[no-untyped-def]
    from privetl.users.models import AccessRequest

    AccessRequest.objects.filter(user_id="eddie").update(state="revoked")
    response = eddie.post("/ui/tasks/t1/release/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "you need WRITE or OWNER on the destination module" in page
    assert 'href="/ui/connections/customers/"' in page


def test_release_of_a_complete_task(eddie: Client, editor, task) -> None:  # type: ignore[no-untyped-def]
    configure(editor, task, create_sample_scripts(editor, task))
    response = eddie.post("/ui/tasks/t1/release/", follow=True)
    page = response.content.decode()
    assert "Task t1 released" in page and "RELEASED" in page
    assert "Release the task" not in page and "Add a script" not in page
    assert Task.objects.get(pk="t1").state == "RELEASED"


def test_a_task_manager_reads_the_task_but_changes_nothing(client: Client, editor, task) -> None:  # type: ignore[no-untyped-def]
    _extractor(editor, "a")
    user("tom", "PROCESS_ETL_TASK")
    ui_login(client, "tom")
    page = client.get("/ui/tasks/t1/").content.decode()
    assert "Customers" in page and "Release the task" not in page and "Add a script" not in page
    assert "New task" not in client.get("/ui/tasks/").content.decode()
    before = AuditLog.objects.count()
    slot = {"slot": "extraction_script_ids", "add": "a"}
    assert client.post("/ui/tasks/t1/scripts/", slot).status_code == 403
    assert client.post("/ui/tasks/t1/release/").status_code == 403
    new = {"id": "t2", "name": "X", "ext_datamodule_id": "customers"}
    assert client.post("/ui/tasks/new/", new).status_code == 403
    row = Task.objects.get(pk="t1")
    assert row.extraction_script_ids == [] and row.state == "DRAFT"
    assert not Task.objects.filter(pk="t2").exists() and AuditLog.objects.count() == before


def test_without_a_reading_role_tasks_are_refused(client: Client, editor, task) -> None:  # type: ignore[no-untyped-def]
    user("bob")
    ui_login(client, "bob")
    assert client.get("/ui/tasks/").status_code == 403
    assert client.get("/ui/tasks/t1/").status_code == 403


def test_the_task_page_includes_the_run_controls_for_run_readers(
    client: Client,
    editor,  # type: ignore[no-untyped-def]
    task,  # type: ignore[no-untyped-def]
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    ui_login(client, "eddie")
    assert "hx-get" not in client.get("/ui/tasks/t1/").content.decode()  # an editor reads no runs
    client.post("/ui/logout/")
    user("tom", "PROCESS_ETL_TASK")
    ui_login(client, "tom")
    with django_assert_max_num_queries(8):
        page = client.get("/ui/tasks/t1/").content.decode()
    assert 'hx-get="/ui/run-controls/t1/progress/?next=/ui/tasks/t1/"' in page
    assert 'href="/ui/run-controls/t1/progress/?next=/ui/tasks/t1/"' in page  # without JS
