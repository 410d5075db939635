"""A connection's pages: Create (CREATE_EXT_DATAMODULE only), its page (contract tables,
owners, my access), Edit (owners only; an empty connection string keeps the stored one) and
Test connection. Refusals show no button, answer 403 and change nothing; contract problems
are named at the field with the input kept; the connection string is in no response."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.test.client import MULTIPART_CONTENT
from django.utils.html import escape

from privetl.audit.models import AuditLog
from privetl.datamodules import services
from privetl.datamodules.models import Connection
from privetl.datamodules.selectors import connection_secret_for_run
from tests.datamodules.conftest import contract_document
from tests.scripts.helpers import actor_for, grant, ui_login, user

pytestmark = pytest.mark.django_db

SECRET = "Zebra-Quokka-7731"
"""A password planted in every connection string here; no response may contain it."""
SALES = f"postgresql://app:{SECRET}@127.0.0.1:9/sales"
"""Port 9 (discard) on loopback: nothing listens, so a test fails at once."""


def _text(response: HttpResponse) -> str:
    text = response.content.decode()
    assert SECRET not in text
    return text


@pytest.fixture
def carol(client: Client) -> Client:
    """A creator (CREATE_EXT_DATAMODULE), logged in; ``dave`` and ``zed`` exist too."""
    user("carol", "CREATE_EXT_DATAMODULE")
    user("dave")
    user("zed")
    return ui_login(client, "carol")


def _created_sales() -> None:
    services.connection_create(
        actor=actor_for("carol", "CREATE_EXT_DATAMODULE"),
        id="sales",
        name="Sales DB",
        type="SQL",
        connection_string=SALES,
        contract=json.dumps(contract_document()),
        owner_user_ids=["dave"],
    )


def test_create_with_an_uploaded_contract_then_its_page(carol: Client) -> None:
    page = _text(carol.get("/ui/connections/"))
    assert 'href="/ui/connections/new/"' in page
    form = _text(carol.get("/ui/connections/new/"))
    assert 'type="password" id="connection_string"' in form and 'for="contract_file"' in form
    response = carol.post(
        "/ui/connections/new/",
        {
            "type": "SQL",
            "id": "sales",
            "name": "Sales DB",
            "connection_string": SALES,
            "owner_user_ids": "dave, zed",
            "contract_file": SimpleUploadedFile(
                "module.json", json.dumps(contract_document()).encode(), "application/json"
            ),
        },
        content_type=MULTIPART_CONTENT,
    )
    assert response["Location"] == "/ui/connections/sales/"
    stored = Connection.objects.get(pk="sales")
    assert stored.name == "Sales DB" and '"recordSet"' in stored.contract
    assert connection_secret_for_run("sales") == SALES
    shown = _text(carol.get("/ui/connections/sales/"))
    assert "Connection sales created, owned by carol, dave, zed" in shown
    assert "<dd>carol, dave, zed</dd>" in shown
    assert "<dd>OWNER</dd>" in shown
    assert "Table customers" in shown and "Table orders" in shown
    assert "<td>birth_date</td><td>Date</td>" in shown
    assert "references customers/id" in shown
    assert 'href="/ui/connections/sales/edit/"' in shown and "Test connection" in shown


def test_the_pasted_contract_and_a_generated_id(carol: Client) -> None:
    response = carol.post(
        "/ui/connections/new/",
        {
            "type": "FILE",
            "name": "Drop folder",
            "connection_string": "/srv/in",
            "contract": json.dumps(contract_document()),
        },
    )
    created = Connection.objects.get(name="Drop folder")
    assert response["Location"] == f"/ui/connections/{created.id}/"
    assert created.contract


def _bad_contract() -> str:
    document = copy.deepcopy(contract_document())
    document["recordSet"][0]["field"][1]["dataType"] = "sc:Banana"
    return json.dumps(document)


@pytest.mark.parametrize(
    ("contract", "says"),
    [
        (_bad_contract(), "sc:Banana"),
        ('{"recordSet": [', "is not JSON: line 1"),
    ],
)
def test_contract_problems_are_named_at_the_field_and_nothing_is_created(
    carol: Client, contract: str, says: str
) -> None:
    response = carol.post(
        "/ui/connections/new/",
        {
            "type": "SQL",
            "id": "sales",
            "name": "Sales DB",
            "description": "the shop's orders",
            "connection_string": SALES,
            "owner_user_ids": "dave",
            "contract": contract,
        },
    )
    assert response.status_code == 400
    page = _text(response)
    error = page.split('id="error-contract"', 1)[1].split("</p>", 1)[0]
    assert says in error and "connection.contract" in error
    assert 'value="Sales DB"' in page and 'value="dave"' in page
    assert "the shop&#x27;s orders</textarea>" in page
    assert f">{escape(contract)}</textarea>" in page
    assert not Connection.objects.exists()


def test_an_uploaded_file_that_is_no_text_is_named_at_the_contract(carol: Client) -> None:
    response = carol.post(
        "/ui/connections/new/",
        {
            "type": "SQL",
            "name": "Sales DB",
            "connection_string": SALES,
            "contract_file": SimpleUploadedFile("module.json", b"\xff\xfe\x00\x81"),
        },
    )
    assert response.status_code == 400
    assert "not UTF-8 text" in _text(response).split('id="error-contract"', 1)[1]
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("connection_string", {"connection_string": "mysql://x"}),
        ("connection_string", {"connection_string": ""}),
        ("name", {"name": ""}),
        ("id", {"id": "no spaces please"}),
        ("owner_user_ids", {"owner_user_ids": "nobody-such"}),
    ],
)
def test_other_problems_are_named_at_their_field(
    carol: Client, field: str, body: dict[str, str]
) -> None:
    sent = {"type": "SQL", "name": "Sales DB", "connection_string": SALES, **body}
    response = carol.post("/ui/connections/new/", sent)
    assert response.status_code in (400, 404)
    assert f'id="error-{field}"' in _text(response)
    assert not Connection.objects.exists()


def test_a_taken_id_is_named_at_the_id(carol: Client) -> None:
    _created_sales()
    response = carol.post(
        "/ui/connections/new/",
        {"type": "SQL", "id": "sales", "name": "Other", "connection_string": SALES},
    )
    assert response.status_code == 409
    assert 'id="error-id"' in _text(response)
    assert Connection.objects.get(pk="sales").name == "Sales DB"


def test_without_the_role_no_button_403_and_nothing_created(client: Client) -> None:
    user("zed")
    ui_login(client, "zed")
    page = _text(client.get("/ui/connections/"))
    assert "/ui/connections/new/" not in page
    assert "ask an ADMIN for that role" in page  # the empty state says what to do
    assert client.get("/ui/connections/new/").status_code == 403
    response = client.post(
        "/ui/connections/new/",
        {"type": "SQL", "id": "sales", "name": "Sales DB", "connection_string": SALES},
    )
    assert response.status_code == 403
    assert "CREATE_EXT_DATAMODULE" in _text(response)
    assert not Connection.objects.exists()


def test_create_needs_a_csrf_token() -> None:
    user("carol", "CREATE_EXT_DATAMODULE")
    client = Client(enforce_csrf_checks=True)
    client.post("/ui/login/", {"user_id": "carol"})
    response = client.post(
        "/ui/connections/new/",
        {"type": "SQL", "name": "Sales DB", "connection_string": SALES},
    )
    assert response.status_code == 403
    assert not Connection.objects.exists()


def test_edit_keeps_the_string_when_left_empty_and_replaces_it_when_typed(
    carol: Client,
) -> None:
    _created_sales()
    form = _text(carol.get("/ui/connections/sales/edit/"))
    assert 'value="Sales DB"' in form and "leave empty to keep the stored one" in form
    assert "Owners: carol, dave." in form
    response = carol.post(
        "/ui/connections/sales/edit/",
        {"type": "SQL", "name": "Sales (EU)", "description": "", "contract": ""},
    )
    assert response["Location"] == "/ui/connections/sales/"
    stored = Connection.objects.get(pk="sales")
    assert (stored.name, stored.contract) == ("Sales (EU)", "")
    assert connection_secret_for_run("sales") == SALES
    shown = _text(carol.get("/ui/connections/sales/"))
    assert "Connection sales saved." in shown and "No contract yet" in shown
    newer = SALES.replace("127.0.0.1:9", "127.0.0.1:10")
    carol.post(
        "/ui/connections/sales/edit/",
        {"type": "SQL", "name": "Sales (EU)", "connection_string": newer},
    )
    assert connection_secret_for_run("sales") == newer


def test_edit_names_a_contract_problem_at_the_field_and_changes_nothing(
    carol: Client,
) -> None:
    _created_sales()
    before = Connection.objects.get(pk="sales")
    response = carol.post(
        "/ui/connections/sales/edit/",
        {"type": "SQL", "name": "Renamed", "contract": _bad_contract(), "connection_string": SALES},
    )
    assert response.status_code == 400
    page = _text(response)
    assert "sc:Banana" in page.split('id="error-contract"', 1)[1]
    assert 'value="Renamed"' in page
    after = Connection.objects.get(pk="sales")
    assert (after.name, after.contract, after.connection_string_ciphertext) == (
        before.name,
        before.contract,
        before.connection_string_ciphertext,
    )


def test_changing_the_type_without_a_new_string_is_named_at_the_string(carol: Client) -> None:
    _created_sales()
    response = carol.post("/ui/connections/sales/edit/", {"type": "FILE", "name": "Sales DB"})
    assert response.status_code == 400
    assert 'id="error-connection_string"' in _text(response)
    assert Connection.objects.get(pk="sales").type == "SQL"


def test_a_non_owner_sees_no_edit_gets_403_and_changes_nothing(client: Client) -> None:
    user("carol", "CREATE_EXT_DATAMODULE")
    user("dave")
    user("zed")
    _created_sales()
    grant("zed", "sales", "READ", decider="carol")
    ui_login(client, "zed")
    page = _text(client.get("/ui/connections/sales/"))
    assert "/ui/connections/sales/edit/" not in page
    assert "<dd>READ</dd>" in page and "Test connection" in page
    assert client.get("/ui/connections/sales/edit/").status_code == 403
    response = client.post(
        "/ui/connections/sales/edit/", {"type": "SQL", "name": "Mine now", "contract": ""}
    )
    assert response.status_code == 403
    assert "only an OWNER" in _text(response)
    assert Connection.objects.get(pk="sales").name == "Sales DB"


def test_test_connection_says_why_it_failed_without_the_secret(carol: Client) -> None:
    _created_sales()
    response = carol.post("/ui/connections/sales/test/")
    assert response["Location"] == "/ui/connections/sales/"
    page = _text(carol.get("/ui/connections/sales/"))
    assert "Connection sales did not open:" in page
    record = AuditLog.objects.get(action="connection.test", target_id="sales")
    assert record.outcome == "failed" and SECRET not in record.detail


def test_test_connection_says_it_works(carol: Client, tmp_path: Path) -> None:
    services.connection_create(
        actor=actor_for("carol", "CREATE_EXT_DATAMODULE"),
        id="drop",
        name="Drop folder",
        type="FILE",
        connection_string=str(tmp_path),
    )
    carol.post("/ui/connections/drop/test/")
    page = _text(carol.get("/ui/connections/drop/"))
    assert "Connection drop works:" in page


def test_without_access_no_test_button_403_and_no_test(client: Client) -> None:
    user("carol", "CREATE_EXT_DATAMODULE")
    user("dave")
    user("zed")
    _created_sales()
    ui_login(client, "zed")
    page = _text(client.get("/ui/connections/sales/"))
    assert "Test connection" not in page and "none: ask for it" in page
    response = client.post("/ui/connections/sales/test/")
    assert response.status_code == 403
    assert "needs OWNER or READ access" in _text(response).split('id="test-error"', 1)[1]
    assert not AuditLog.objects.filter(action="connection.test").exists()


def test_an_unknown_connection_is_404(carol: Client) -> None:
    assert carol.get("/ui/connections/nope/").status_code == 404
    assert carol.get("/ui/connections/nope/edit/").status_code == 404


def test_the_secret_is_on_no_page(carol: Client) -> None:
    """Every page a creator and an owner see, after a create, a refused create (the string
    typed again), a refused edit, a test: the planted password is in none of them."""
    carol.post(
        "/ui/connections/new/",
        {"type": "SQL", "id": "sales", "name": "Sales DB", "connection_string": SALES},
    )
    refused_create = carol.post(
        "/ui/connections/new/",
        {"type": "SQL", "id": "sales", "name": "", "connection_string": SALES},
    )
    refused_edit = carol.post(
        "/ui/connections/sales/edit/",
        {"type": "FILE", "name": "Sales DB", "connection_string": SALES},
    )
    assert refused_create.status_code == 400 and refused_edit.status_code == 400
    carol.post("/ui/connections/sales/test/")
    for response in (refused_create, refused_edit):
        _text(response)
    for url in (
        "/ui/connections/",
        "/ui/connections/sales/",
        "/ui/connections/sales/edit/",
        "/ui/connections/new/",
        "/ui/access-requests/",
        "/ui/access-requests/?tab=mine",
        "/ui/access-requests/?tab=grants",
        "/ui/",
    ):
        response = carol.get(url)
        assert response.status_code == 200, url
        _text(response)
        assert "127.0.0.1:9" not in response.content.decode()  # not even the redacted form


def test_the_list_of_many_connections_is_paged_in_few_queries(
    carol: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    creator = actor_for("carol", "CREATE_EXT_DATAMODULE")
    for number in range(60):
        services.connection_create(
            actor=creator,
            id=f"c{number:03}",
            name=f"Connection {number}",
            type="FILE",
            connection_string="/srv/in",
        )
    with django_assert_max_num_queries(6):
        first = _text(carol.get("/ui/connections/"))
    assert "c049" in first and "c050" not in first and "Next page" in first
    token = first.split("?page_token=", 1)[1].split('"', 1)[0]
    second = _text(carol.get(f"/ui/connections/?page_token={token.replace('&amp;', '&')}"))
    assert "c050" in second and "c059" in second and "Next page" not in second


def test_the_list_filters_by_type(carol: Client) -> None:
    _created_sales()
    assert "Sales DB" in _text(carol.get("/ui/connections/?type=SQL"))
    other = _text(carol.get("/ui/connections/?type=S3"))
    assert "Sales DB" not in other and "No S3 connection yet" in other


def test_a_type_without_a_probe_is_named_at_the_test_button(carol: Client) -> None:
    services.connection_create(
        actor=actor_for("carol", "CREATE_EXT_DATAMODULE"),
        id="feed",
        name="Feed",
        type="GRPC",
        connection_string="grpc://127.0.0.1:9",
    )
    response = carol.post("/ui/connections/feed/test/")
    assert response.status_code == 409
    error = _text(response).split('id="test-error"', 1)[1].split("</p>", 1)[0]
    assert "not supported yet" in error and "SQL, S3, API or FILE" in error
