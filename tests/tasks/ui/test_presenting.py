"""Release's refusal split into problems, each linked to the scripts and connections it names
(the messages as ``privetl.tasks.compile`` and ``rights_problems`` word them); no database."""

from __future__ import annotations

from privetl.tasks.ui.presenting import problems_of


def test_every_line_is_a_problem_linked_to_what_it_names() -> None:
    message = (
        "task 't1' cannot be released; fix these 3 problem(s):\n"
        "- scripts 'a.1' and 'b' both set privetl:empty at $.recordSet[0].field[1]; keep one\n"
        "- script 'x': connection 'legacy' does not exist; name another\n"
        "- the task has no uploader: create an uploader script, release it and set it"
    )
    first, second, third = problems_of(message, task_id="t1")
    assert first.links == [
        ("script a.1", "/ui/scripts/a.1/"),
        ("script b", "/ui/scripts/b/"),
    ]
    assert second.text.startswith("script 'x'") and second.links == [
        ("script x", "/ui/scripts/x/"),
        ("connection legacy", "/ui/connections/legacy/"),
    ]
    assert third.links == [("New uploader", "/ui/scripts/new/uploader/?task_id=t1")]


def test_missing_grants_are_one_problem_each() -> None:
    message = (
        "you need WRITE or OWNER on the destination module 'customers' (ask its owner with "
        "AddAccess); you need READ on connection 'legacy', which an extractor reads (ask its "
        "owner with AddAccess)"
    )
    destination, source = problems_of(message, task_id="t1")
    assert destination.links == [("connection customers", "/ui/connections/customers/")]
    assert source.links == [("connection legacy", "/ui/connections/legacy/")]


def test_a_message_naming_nothing_is_one_problem_without_links() -> None:
    (only,) = problems_of("configuring tasks needs the role EDIT_TASK", task_id="t1")
    assert only.text == "configuring tasks needs the role EDIT_TASK" and only.links == []
