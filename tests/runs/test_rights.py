"""The rights matrix of the run controls, the run history and the outbox list, in process.

Rules (issue #12): Start needs the role PROCESS_ETL_TASK, a current READ grant on every
connection the task's extractors read and WRITE or OWNER on the destination; Pause, Resume
and Stop need PROCESS_ETL_TASK (Resume checks the grants again); ListRuns and GetRun need
PROCESS_ETL_TASK, MANAGE_DATA or ADMIN (an auditor's view); the outbox needs MANAGE_DATA. A pending or revoked grant is
no grant, ADMIN alone controls no run and sees no outbox, and every refusal writes nothing: no run, no audit
record, no job on the queue.
"""

from __future__ import annotations

import pytest
from django_q.models import OrmQ

from privetl.audit.models import AuditLog
from privetl.common.errors import FailedPrecondition, PermissionDenied
from privetl.data import selectors as data_selectors
from privetl.runs import selectors, services
from privetl.runs.models import Run
from privetl.tasks import services as task_services
from privetl.users import services as users
from tests.scripts.helpers import (
    ADMIN,
    add_legacy_extractor,
    connection,
    create_sample_scripts,
    grant,
    revoke,
)
from tests.tasks.conftest import editor  # noqa: F401  (the fixture)
from tests.tasks.test_compile import configure
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db

ROLES = {
    "none": (),
    "runner": ("PROCESS_ETL_TASK",),
    "admin": ("ADMIN",),
    "editor": ("EDIT_TASK",),
    "data": ("MANAGE_DATA",),
}
SOURCE = ("none", "pending-READ", "READ", "revoked-READ")
DESTINATION = ("none", "READ", "WRITE", "OWNER")


@pytest.fixture
def released(editor) -> str:  # noqa: F811
    """The sample task plus one extractor reading the SQL connection "legacy", released."""
    task = task_services.task_create(
        actor=editor, id="t1", name="Customers", ext_datamodule_id="customers", seed=42
    ).id
    connection("legacy", "SQL")
    grant("eddie", "legacy", "READ")
    made = create_sample_scripts(editor, task)
    add_legacy_extractor(editor, task, made)
    configure(editor, task, made)
    task_services.task_release(actor=editor, task_id=task)
    return task


def _holder(source: str, destination: str) -> str:
    """A user "zed" with the grants named (decided by the admin while nobody owns them)."""
    users.user_create(actor=ADMIN, id="zed", name="Zed")
    if source != "none":
        kind = source.split("-")[-1]
        request_id = grant("zed", "legacy", kind)
        if source.startswith("pending"):
            from privetl.users.models import AccessRequest

            AccessRequest.objects.filter(pk=request_id).update(state="pending")
        elif source.startswith("revoked"):
            revoke("zed", request_id)
    if destination != "none":
        grant("zed", "customers", destination)
    return "zed"


def _writes() -> tuple[int, int, int]:
    return Run.objects.count(), AuditLog.objects.count(), OrmQ.objects.count()


# The role is checked first: every grant combination for the runner, the full grants for the
# roles that must be refused anyway.
START_CASES = [("runner", s, d) for s in SOURCE for d in DESTINATION] + [
    (role, "READ", "WRITE") for role in ROLES if role != "runner"
]


@pytest.mark.parametrize(("role", "source", "destination"), START_CASES)
def test_start_needs_the_role_read_on_every_source_and_write_on_the_destination(
    released: str, role: str, source: str, destination: str
) -> None:
    actor = actor_for(_holder(source, destination), *ROLES[role])
    allowed = role == "runner" and source == "READ" and destination in ("WRITE", "OWNER")
    before = _writes()
    if allowed:
        run = services.run_start(actor=actor, task_id=released)
        assert run.state == "QUEUED" and run.started_by == "zed"
        assert Run.objects.count() == before[0] + 1
        assert OrmQ.objects.count() == before[2] + 1  # one job on the queue
        with pytest.raises(FailedPrecondition):
            services.run_start(actor=actor, task_id=released)
        return
    with pytest.raises(PermissionDenied) as refused:
        services.run_start(actor=actor, task_id=released)
    message = str(refused.value)
    if role != "runner":
        assert "PROCESS_ETL_TASK" in message
    else:
        if source != "READ":
            assert "legacy" in message
        if destination not in ("WRITE", "OWNER"):
            assert "customers" in message
    assert _writes() == before


@pytest.mark.parametrize("role", list(ROLES))
def test_pause_resume_and_stop_need_the_run_role(released: str, role: str) -> None:
    starter = actor_for("eddie", "PROCESS_ETL_TASK")
    services.run_start(actor=starter, task_id=released)
    actor = actor_for("eddie", *ROLES[role])
    controls = {
        "pause": lambda: services.run_pause(actor=actor, task_id=released),
        "stop": lambda: services.run_stop(actor=actor, task_id=released),
    }
    if role != "runner":
        for name, control in controls.items():
            before = _writes()
            with pytest.raises(PermissionDenied, match="PROCESS_ETL_TASK"):
                control()
            assert _writes() == before, name
        with pytest.raises(PermissionDenied, match="PROCESS_ETL_TASK"):
            services.run_resume(actor=actor, task_id=released)
        return
    assert services.run_pause(actor=actor, task_id=released).state in ("QUEUED", "PAUSED")
    assert services.run_resume(actor=actor, task_id=released).state in ("QUEUED", "RUNNING")
    assert services.run_stop(actor=actor, task_id=released).run.state == "STOPPED"


@pytest.mark.parametrize("role", list(ROLES))
def test_the_run_history_is_for_runners_data_managers_and_admins(released: str, role: str) -> None:
    run = services.run_start(actor=actor_for("eddie", "PROCESS_ETL_TASK"), task_id=released)
    actor = actor_for("eddie", *ROLES[role])
    if role in ("runner", "data", "admin"):
        assert [r.id for r in selectors.run_list_for_actor(actor=actor).items] == [run.id]
        assert selectors.run_get_for_actor(actor=actor, run_id=run.id).task_id == released
    else:
        for read in (
            lambda: selectors.run_list_for_actor(actor=actor),
            lambda: selectors.run_get_for_actor(actor=actor, run_id=run.id),
        ):
            with pytest.raises(PermissionDenied, match="PROCESS_ETL_TASK, MANAGE_DATA or ADMIN"):
                read()


@pytest.mark.parametrize("role", list(ROLES))
def test_the_outbox_is_for_data_managers(released: str, role: str) -> None:
    actor = actor_for("eddie", *ROLES[role])
    if role == "data":
        assert data_selectors.entry_list_for_actor(actor=actor).items == []
        return
    with pytest.raises(PermissionDenied, match="MANAGE_DATA"):
        data_selectors.entry_list_for_actor(actor=actor)
    with pytest.raises(PermissionDenied, match="MANAGE_DATA"):
        data_selectors.entry_get_for_actor(actor=actor, entry_id="any")
