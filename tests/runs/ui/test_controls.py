"""The run controls on a task's page: Start, Pause, Resume, Stop (with the outbox question) and
Upload, for PROCESS_ETL_TASK only and only as the state allows; the live progress fragment,
polled every 2 s while the run moves and no more once it is done. No worker runs here: Start
leaves the run queued with its job on the queue (django-q's ORM broker), as a worker finds it."""

from __future__ import annotations

import pytest
from django.test import Client
from django_q.models import OrmQ

from privetl.audit.models import AuditLog
from privetl.runs.models import Run
from privetl.scripts import services as scripts
from privetl.tasks import services as task_services
from privetl.tasks.models import Task
from tests.scripts.helpers import SAMPLE_EXTRACTORS, SAMPLE_UPLOADER, grant, user
from tests.tasks.conftest import editor  # noqa: F401  (the fixture)
from tests.tasks.test_compile import configure

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PROGRESS = "/ui/run-controls/t1/progress/"


@pytest.fixture
def released(editor) -> str:  # noqa: F811
    """The sample task with one source per table and its uploader, released; tom (PROCESS_ETL_TASK) holds WRITE on its destination."""
    task = task_services.task_create(
        actor=editor, id="t1", name="Customers", ext_datamodule_id="customers", seed=42
    ).id
    for script_id, body in SAMPLE_EXTRACTORS[::2]:  # one source per table: enough to release
        scripts.script_create(actor=editor, id=script_id, task_id=task, kind="extractor", body=body)
        scripts.script_release(actor=editor, script_id=script_id)
    scripts.script_create(
        actor=editor, id="uploader", task_id=task, kind="uploader", body=SAMPLE_UPLOADER
    )
    scripts.script_release(actor=editor, script_id="uploader")
    made = {
        "extraction_script_ids": [i for i, _ in SAMPLE_EXTRACTORS[::2]],
        "uploading_script_id": ["uploader"],
    }
    configure(editor, task, made)
    task_services.task_release(actor=editor, task_id=task)
    user("tom", "PROCESS_ETL_TASK")
    grant("tom", "customers", "WRITE")
    return task


@pytest.fixture
def tom(client: Client, released: str) -> Client:
    assert client.post("/ui/login/", {"user_id": "tom"}).status_code == 302
    return client


def _writes() -> tuple[int, int, int]:
    return Run.objects.count(), OrmQ.objects.count(), AuditLog.objects.count()


def _run(**fields: object) -> Run:
    """The task's current run as a worker would have left it."""
    run = Run.objects.get(task_id="t1")
    for name, value in fields.items():
        setattr(run, name, value)
    run.save()
    return run


def test_a_released_task_offers_start_and_start_queues_one_run(tom: Client) -> None:
    fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert "<html" not in fragment and "No run of this task yet: Start runs it" in fragment
    assert 'action="/ui/run-controls/t1/start/"' in fragment and "hx-trigger" not in fragment
    assert "Pause" not in fragment and "Stop" not in fragment
    before = _writes()
    response = tom.post("/ui/run-controls/t1/start/", {"next": "/ui/tasks/t1/"})
    assert response.status_code == 302 and response["Location"] == "/ui/tasks/t1/"
    runs, jobs, audits = _writes()
    assert (runs, jobs) == (before[0] + 1, before[1] + 1) and audits > before[2]
    run = Run.objects.get(task_id="t1")
    assert run.state == "QUEUED" and run.started_by == "tom"
    page = tom.get("/ui/tasks/t1/").content.decode()
    assert f"Run {run.id} of task t1 queued" in page
    fragment = tom.get(PROGRESS + "?next=/ui/tasks/t1/", **HTMX).content.decode()
    assert 'hx-trigger="every 2s"' in fragment
    assert 'hx-get="/ui/run-controls/t1/progress/?next=/ui/tasks/t1/"' in fragment
    assert 'id="run-pause"' in fragment and 'id="run-stop"' in fragment
    assert 'id="run-start"' not in fragment


def test_a_second_start_is_refused_with_the_message_shown(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    before = _writes()
    response = tom.post("/ui/run-controls/t1/start/", {"next": "/ui/tasks/t1/"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "already has run" in page and "wait for it, or Stop it" in page
    assert 'id="run-pause"' in page  # the controls the state allows, under the message
    assert _writes() == before


@pytest.mark.parametrize("roles", [("ADMIN",), ("EDIT_TASK",), ("MANAGE_DATA", "ADMIN")])
def test_without_the_run_role_no_button_and_403_and_nothing_queued(
    client: Client, released: str, roles: tuple[str, ...]
) -> None:
    user("ann", *roles)
    client.post("/ui/login/", {"user_id": "ann"})
    progress = client.get(PROGRESS, **HTMX)
    if "ADMIN" in roles:  # a reader of runs and tasks sees the progress, not the controls
        assert progress.status_code == 200
        assert "<form" not in progress.content.decode()
    else:
        assert progress.status_code == 403
    before = _writes()
    for control in ("start", "pause", "resume"):
        assert client.post(f"/ui/run-controls/t1/{control}/").status_code == 403, control
    assert client.get("/ui/run-controls/t1/stop/").status_code == 403
    assert client.post("/ui/run-controls/t1/stop/", {"clear_outbox": "keep"}).status_code == 403
    assert _writes() == before and not Run.objects.exists()


def test_next_only_returns_to_a_local_path(tom: Client) -> None:
    response = tom.post("/ui/run-controls/t1/start/", {"next": "https://evil.example/ui/"})
    assert response["Location"] == "/ui/tasks/t1/"
    tom.post("/ui/run-controls/t1/pause/")
    response = tom.post("/ui/run-controls/t1/resume/", {"next": "//evil.example/"})
    assert response["Location"] == "/ui/tasks/t1/"
    tom.post("/ui/run-controls/t1/pause/")
    response = tom.post("/ui/run-controls/t1/resume/", {"next": "/ui/outbox/"})
    assert response["Location"] == "/ui/outbox/"


def test_a_next_with_a_query_survives_the_polling(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    fragment = tom.get(PROGRESS, {"next": "/ui/outbox/?state=A&page_token=b"}, **HTMX)
    page = fragment.content.decode()
    assert (
        'hx-get="/ui/run-controls/t1/progress/?next=/ui/outbox/%3Fstate%3DA%26page_token%3Db"'
        in page
    )
    assert 'name="next" value="/ui/outbox/?state=A&amp;page_token=b"' in page


def test_pause_and_resume_a_queued_run(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    tom.post("/ui/run-controls/t1/pause/")
    assert Run.objects.get(task_id="t1").state == "PAUSED"
    fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert 'id="run-resume"' in fragment and 'id="run-stop"' in fragment
    assert 'id="run-pause"' not in fragment and "hx-trigger" not in fragment  # paused: no polling
    jobs = OrmQ.objects.count()
    page = tom.post("/ui/run-controls/t1/resume/", follow=True).content.decode()
    assert "queued again" in page
    assert Run.objects.get(task_id="t1").state == "QUEUED" and OrmQ.objects.count() == jobs + 1


def test_a_running_run_asked_to_pause_offers_to_withdraw_it(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    _run(state="RUNNING", stage="clean")
    page = tom.post("/ui/run-controls/t1/pause/", follow=True).content.decode()
    assert "pauses when its current stage (clean) finishes" in page
    fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert "pauses after this stage" in fragment and 'id="run-withdraw"' in fragment
    tom.post("/ui/run-controls/t1/resume/")
    assert Run.objects.get(task_id="t1").pause_requested is False


def test_stop_asks_about_the_outbox_then_stops(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    confirm = tom.get("/ui/run-controls/t1/stop/?next=/ui/tasks/t1/").content.decode()
    assert 'name="clear_outbox" value="keep"' in confirm
    assert 'name="clear_outbox" value="clear"' in confirm
    assert '<label class="choice" for="clear-keep">' in confirm
    assert 'name="next" value="/ui/tasks/t1/"' in confirm
    response = tom.post("/ui/run-controls/t1/stop/", {"next": "/ui/tasks/t1/"})
    assert response.status_code == 400
    assert "Choose whether to keep or clear" in response.content.decode()
    assert Run.objects.get(task_id="t1").state == "QUEUED"  # unanswered: nothing stopped
    response = tom.post("/ui/run-controls/t1/stop/", {"clear_outbox": "keep"}, follow=True)
    assert "stopped; its outbox data kept" in response.content.decode()
    assert Run.objects.get(task_id="t1").state == "STOPPED"
    assert Task.objects.get(pk="t1").state == "STOPPED"
    fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert 'id="run-start"' in fragment and "hx-trigger" not in fragment


def test_the_fragment_shows_the_stage_rows_and_timings_while_running(
    tom: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    tom.post("/ui/run-controls/t1/start/")
    run = _run(
        state="RUNNING",
        stage="transform",
        stages_done=["extract", "clean"],
        timings={"extract": 1.5, "clean": 6.0},
        rows_in=200,
        rows_out=180,
    )
    with django_assert_max_num_queries(6):  # polled every 2 s: the session, the task, the run
        fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert f'href="/ui/runs/{run.id}/"' in fragment
    assert "stage <strong>transform</strong>" in fragment
    assert "<strong>200</strong> in, <strong>180</strong> out" in fragment
    assert '<td>extract</td><td>done</td><td class="num">1.5</td>' in fragment
    assert '<td>clean</td><td>done</td><td class="num">6.0</td>' in fragment
    assert '<td>transform</td><td>running</td><td class="num">—</td>' in fragment
    assert 'hx-trigger="every 2s"' in fragment


def test_a_finished_run_stops_the_polling(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    run = _run(state="FAILED", stage="clean", stages_done=["extract"], error="disk full")
    Task.objects.filter(pk="t1").update(state="FAILED")
    fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert "hx-trigger" not in fragment and "hx-get" not in fragment
    assert "The run failed: disk full" in fragment and run.id in fragment
    assert 'id="run-start"' in fragment  # a failed task runs again


def test_a_result_awaiting_upload_offers_upload_through_start(tom: Client) -> None:
    tom.post("/ui/run-controls/t1/start/")
    _run(state="AWAITING_UPLOAD", stage="verify")
    Task.objects.filter(pk="t1").update(state="AWAITING_UPLOAD")
    fragment = tom.get(PROGRESS, **HTMX).content.decode()
    assert 'id="run-upload"' in fragment and 'action="/ui/run-controls/t1/start/"' in fragment
    assert 'id="run-pause"' not in fragment
    jobs = OrmQ.objects.count()
    response = tom.post("/ui/run-controls/t1/start/", {"next": "/ui/outbox/"})
    assert response["Location"] == "/ui/outbox/"
    run = Run.objects.get(task_id="t1")
    assert run.upload and run.state == "QUEUED" and OrmQ.objects.count() == jobs + 1
    assert Run.objects.count() == 1  # the upload of that run, no new run


def test_without_htmx_the_progress_is_a_page_of_its_own(tom: Client) -> None:
    page = tom.get(PROGRESS + "?next=/ui/tasks/t1/").content.decode()
    assert "<html" in page and "Run of" in page and 'href="/ui/tasks/t1/">Back</a>' in page
    assert 'name="next" value="/ui/tasks/t1/"' in page


def test_a_draft_offers_no_control(client: Client, editor) -> None:  # noqa: F811
    task_services.task_create(actor=editor, id="t1", name="Draft", ext_datamodule_id="customers")
    user("tom", "PROCESS_ETL_TASK")
    client.post("/ui/login/", {"user_id": "tom"})
    fragment = client.get(PROGRESS, **HTMX).content.decode()
    assert "This task is a draft" in fragment and "<form" not in fragment
    response = client.post("/ui/run-controls/t1/start/")
    assert response.status_code == 409 and "Release it before starting" in response.content.decode()
    assert not Run.objects.exists()
