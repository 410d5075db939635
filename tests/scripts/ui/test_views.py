"""The Scripts pages: a form per kind, create and edit with the service's errors at their
input (the input kept, nothing saved), release, read-only for readers, 403 for the rest."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from privetl.audit.models import AuditLog
from privetl.scripts import services
from privetl.scripts.models import Script
from tests.scripts.helpers import ui_login, user

pytestmark = pytest.mark.django_db

CRM = json.dumps({"kind": "file", "path": "customers_crm.csv", "format": "csv"})


@pytest.fixture
def eddie(client: Client, editor) -> Client:  # type: ignore[no-untyped-def]
    ui_login(client, "eddie")
    return client


def _extractor(**answers: str) -> dict[str, str]:
    return {
        "task_id": "t1",
        "id": "crm",
        "table": "customers",
        "kind": "File",
        "priority": "2",
        "connection_id": "",
        "config_json": CRM,
        **answers,
    }


def test_the_list_asks_for_a_task_then_says_what_to_do_first(eddie: Client) -> None:
    page = eddie.get("/ui/scripts/").content.decode()
    assert "Choose a task first" in page
    page = eddie.get("/ui/scripts/?task_id=t1").content.decode()
    assert "Task t1 has no scripts yet" in page
    assert 'href="/ui/scripts/new/transformer/?task_id=t1"' in page


def test_an_extractor_is_created_shown_and_edited(eddie: Client) -> None:
    form = eddie.get("/ui/scripts/new/extractor/?task_id=t1").content.decode()
    assert 'name="config_json"' in form and '<label for="f-config_json">' in form
    response = eddie.post("/ui/scripts/new/extractor/", _extractor())
    assert response.status_code == 302 and response["Location"] == "/ui/scripts/crm/"
    script = Script.objects.get(pk="crm")
    assert script.body["priority"] == 2 and script.body["table"] == "customers"
    page = eddie.get("/ui/scripts/crm/").content.decode()
    assert "Script crm created" in page and "customers_crm.csv" in page
    assert 'value="2"' in page and "Release the script" in page
    response = eddie.post("/ui/scripts/crm/", {**_extractor(), "priority": "5"})
    assert response.status_code == 302
    script.refresh_from_db()
    assert script.body["priority"] == 5
    assert AuditLog.objects.filter(action="script.update", target_id="crm").count() == 1
    listed = eddie.get("/ui/scripts/?task_id=t1").content.decode()
    assert 'href="/ui/scripts/crm/"' in listed and "draft" in listed


def test_bad_json_is_named_at_its_input_with_the_input_kept(eddie: Client) -> None:
    response = eddie.post("/ui/scripts/new/extractor/", _extractor(config_json='{"kind": '))
    assert response.status_code == 400
    page = response.content.decode()
    assert '<p class="field-error" id="f-config_json-error" role="alert">' in page
    assert "extractor.config_json is not JSON" in page
    assert "{&quot;kind&quot;: </textarea>" in page  # what the user typed, kept
    assert 'value="crm"' in page  # the id typed too
    assert not Script.objects.exists()


def test_a_source_key_the_engine_refuses_is_at_the_source_input(eddie: Client) -> None:
    bad = json.dumps({"kind": "file", "path": "a.csv", "format": "xls"})
    page = eddie.post("/ui/scripts/new/extractor/", _extractor(config_json=bad)).content.decode()
    assert 'id="f-config_json-error"' in page and "extractor.config_json.format" in page
    assert not Script.objects.exists()


def test_a_priority_that_is_no_number_is_named_before_the_service(eddie: Client) -> None:
    response = eddie.post("/ui/scripts/new/extractor/", _extractor(priority="high"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="f-priority-error"' in page and "give a whole number" in page
    assert 'value="high"' in page
    assert not Script.objects.exists()


def test_a_missing_task_is_named_at_the_task_input(eddie: Client) -> None:
    response = eddie.post("/ui/scripts/new/extractor/", _extractor(task_id="nope"))
    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="task_id-error"' in page and "task &#x27;nope&#x27; does not exist" in page
    assert 'value="nope"' in page


def _rule(**answers: str) -> dict[str, str]:
    return {
        "task_id": "t1",
        "id": "zip_fill",
        "type": "FillEmpty",
        "field_type": "String",
        "default_value": "00000",
        "min_value": "",
        "max_value": "",
        "fields_module": "customers",
        "fields": "customers/zip",
        **answers,
    }


def test_a_field_rule_on_an_unknown_column_is_named_at_the_fields(eddie: Client) -> None:
    response = eddie.post(
        "/ui/scripts/new/field_rule/", _rule(fields="customers/zip\ncustomers/nope")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="f-fields-error"' in page and "no column &#x27;nope&#x27;" in page
    assert "customers/zip\ncustomers/nope</textarea>" in page
    assert not Script.objects.exists()


def test_a_rule_changes_its_fields_on_edit(eddie: Client) -> None:
    assert eddie.post("/ui/scripts/new/field_rule/", _rule()).status_code == 302
    response = eddie.post("/ui/scripts/zip_fill/", _rule(fields="customers/zip\ncustomers/gender"))
    assert response.status_code == 302
    fields = Script.objects.get(pk="zip_fill").fields
    assert [f["field_name"] for f in fields] == ["customers/zip", "customers/gender"]
    response = eddie.post("/ui/scripts/zip_fill/", _rule(fields="customers/gender"))
    assert [f["field_name"] for f in Script.objects.get(pk="zip_fill").fields] == [
        "customers/gender"
    ]
    page = eddie.get("/ui/scripts/zip_fill/").content.decode()
    assert "customers/gender</textarea>" in page


def test_a_transformation_takes_sql_and_the_sandbox_error_is_at_the_sql(eddie: Client) -> None:
    answers = {
        "task_id": "t1",
        "id": "positive",
        "type": "Update",
        "target_table": "orders",
        "transformation_script": "DROP TABLE orders",
    }
    form = eddie.get("/ui/scripts/new/transformer/?task_id=t1").content.decode()
    assert 'name="transformation_script" rows="12"' in form
    response = eddie.post("/ui/scripts/new/transformer/", answers)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="f-transformation_script-error"' in page and "DROP TABLE orders</textarea>" in page
    ok = {**answers, "transformation_script": "SELECT * FROM orders WHERE amount > 0"}
    assert eddie.post("/ui/scripts/new/transformer/", ok).status_code == 302
    assert Script.objects.get(pk="positive").body["type"] == "Update"


def test_an_uploader_and_an_anonymization_rule_are_created(eddie: Client) -> None:
    uploader = {
        "task_id": "t1",
        "id": "up",
        "connection_id": "",
        "destination_json": json.dumps({"kind": "directory", "path": "published"}),
        "rewrite_protocol": "on",
    }
    assert eddie.post("/ui/scripts/new/uploader/", uploader).status_code == 302
    assert Script.objects.get(pk="up").body["rewrite_protocol"] is True
    rule = {
        "task_id": "t1",
        "id": "zip3",
        "type": "Generalization",
        "parameters_json": json.dumps({"truncate": 3}),
        "fields_module": "customers",
        "fields": "customers/zip",
    }
    assert eddie.post("/ui/scripts/new/anonymization_rule/", rule).status_code == 302
    page = eddie.get("/ui/scripts/zip3/").content.decode()
    assert "Anonymization rule zip3" in page and "customers/zip</textarea>" in page


def test_release_makes_the_script_read_only(eddie: Client) -> None:
    eddie.post("/ui/scripts/new/extractor/", _extractor())
    response = eddie.post("/ui/scripts/crm/release/")
    assert response.status_code == 302
    page = eddie.get("/ui/scripts/crm/").content.decode()
    assert "Script crm released" in page and "<fieldset disabled>" in page
    assert "Release the script" not in page and ">Save<" not in page
    response = eddie.post("/ui/scripts/crm/", _extractor(priority="9"))
    assert response.status_code == 409
    assert "is released and cannot change" in response.content.decode()
    assert Script.objects.get(pk="crm").body["priority"] == 2
    again = eddie.post("/ui/scripts/crm/release/", follow=True).content.decode()
    assert "already released" in again


def test_a_reader_sees_scripts_read_only_and_cannot_write(client: Client, editor) -> None:  # type: ignore[no-untyped-def]
    services.script_create(
        actor=editor,
        id="crm",
        task_id="t1",
        kind="extractor",
        body={"table": "customers", "kind": "File", "config_json": CRM},
    )
    user("tom", "PROCESS_ETL_TASK")
    ui_login(client, "tom")
    listed = client.get("/ui/scripts/?task_id=t1").content.decode()
    assert 'href="/ui/scripts/crm/"' in listed and "/ui/scripts/new/" not in listed
    page = client.get("/ui/scripts/crm/").content.decode()
    assert "<fieldset disabled>" in page and "Release the script" not in page
    assert client.get("/ui/scripts/new/extractor/?task_id=t1").status_code == 403
    before = AuditLog.objects.count()
    assert client.post("/ui/scripts/new/extractor/", _extractor(id="x")).status_code == 403
    assert client.post("/ui/scripts/crm/", _extractor(priority="7")).status_code == 403
    assert client.post("/ui/scripts/crm/release/").status_code == 403
    assert not Script.objects.filter(pk="x").exists()
    crm = Script.objects.get(pk="crm")
    assert crm.body["priority"] == 0 and not crm.released
    assert AuditLog.objects.count() == before


def test_without_a_reading_role_scripts_are_refused(client: Client, editor) -> None:  # type: ignore[no-untyped-def]
    user("bob")
    ui_login(client, "bob")
    assert client.get("/ui/scripts/").status_code == 403
    assert client.get("/ui/scripts/?task_id=t1").status_code == 403


def test_the_list_pages_in_bounded_queries(eddie: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    Script.objects.bulk_create(
        Script(id=f"s{n:03}", task_id="t1", kind="extractor", body={}, created_by="eddie")
        for n in range(120)
    )
    with django_assert_max_num_queries(8):
        page = eddie.get("/ui/scripts/?task_id=t1").content.decode()
    assert page.count('href="/ui/scripts/s') == 50 and "Next page" in page
