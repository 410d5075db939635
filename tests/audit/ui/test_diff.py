"""The record page's diff, computed in Python: field by field, nested paths, values that
differ only in type, states that are not objects, and secrets never shown."""

from __future__ import annotations

from privetl.audit.ui.diff import WHOLE, Change, state_diff


def changes(before: str, after: str) -> dict[str, tuple[str, str, Change]]:
    return {f.path: (f.before, f.after, f.change) for f in state_diff(before, after).fields}


def test_fields_changed_added_removed_and_kept() -> None:
    diff = state_diff('{"a":1,"b":"x","gone":null}', '{"a":2,"b":"x","new":[1]}')
    assert [(f.path, f.change) for f in diff.fields] == [
        ("a", Change.CHANGED),
        ("b", Change.SAME),
        ("gone", Change.REMOVED),
        ("new", Change.ADDED),
    ]
    assert diff.changed_count == 3 and diff.has_before and diff.has_after


def test_nested_objects_are_compared_by_dotted_path() -> None:
    assert changes(
        '{"access":{"read":true,"write":false}}', '{"access":{"read":true,"write":true}}'
    ) == {
        "access.read": ("true", "true", Change.SAME),
        "access.write": ("false", "true", Change.CHANGED),
    }


def test_values_that_differ_only_in_type_are_a_change() -> None:
    assert changes('{"n":1,"s":"1"}', '{"n":true,"s":1}') == {
        "n": ("1", "true", Change.CHANGED),
        "s": ('"1"', "1", Change.CHANGED),
    }


def test_a_created_thing_has_only_an_after() -> None:
    diff = state_diff("", '{"id":"alice","roles":[]}')
    assert not diff.has_before and {f.change for f in diff.fields} == {Change.ADDED}


def test_a_state_that_is_not_an_object_is_one_value() -> None:
    assert changes("[1,2]", "[1]") == {WHOLE: ("[1, 2]", "[1]", Change.CHANGED)}
    assert changes("", "not json") == {WHOLE: ("", '"not json"', Change.ADDED)}


def test_secrets_are_redacted_again_before_they_are_shown() -> None:
    shown = changes('{"password":"hunter2"}', '{"token":"abc","url":"https://u:pw@host/x"}')
    text = repr(shown)
    assert "hunter2" not in text and "abc" not in text and ":pw@" not in text
    assert shown["password"][0] == '"***"'
