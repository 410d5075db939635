"""Release's SQL problems come from the engine's one document validator (its SQL sandbox),
told as before: the script, then the sandbox's words, once."""

from __future__ import annotations

import pytest

from privetl.common.errors import FailedPrecondition
from privetl.scripts import services as scripts
from privetl.tasks import services
from privetl.tasks.models import Task
from tests.scripts.helpers import create_sample_scripts
from tests.tasks.test_compile import configure


def test_a_transformation_over_a_missing_table_is_named_with_its_script(editor, task) -> None:
    made = create_sample_scripts(editor, task)
    scripts.script_create(
        actor=editor,
        id="tx",
        task_id=task,
        kind="transformer",
        body={
            "transformation_script": "SELECT * FROM invoices",
            "type": "Update",
            "target_table": "orders",
        },
    )
    scripts.script_release(actor=editor, script_id="tx")
    made["transformation_script_ids"] = ["tx"]
    configure(editor, task, made)
    with pytest.raises(FailedPrecondition) as exc:
        services.task_release(actor=editor, task_id=task)
    expected = (
        "script 'tx': transformation 'tx': unknown table 'invoices' (known: customers, orders)"
    )
    assert exc.value.message.count(expected) == 1, exc.value.message
    assert "transformations[0].sql" not in exc.value.message
    assert Task.objects.get(pk=task).state == "DRAFT"
