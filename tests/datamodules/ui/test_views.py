"""The connections' UI door: every connection with my access, "Request access" filing a
pending request through the User Manager's service, its problems shown at the form and
nothing filed, and a bounded query count."""

from __future__ import annotations

import pytest
from django.test import Client

from privetl.users.models import AccessRequest
from tests.scripts.helpers import connection, grant, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def zed(client: Client) -> Client:
    connection("customers")
    connection("payroll")
    user("zed")
    grant("zed", "customers", "READ")
    client.post("/ui/login/", {"user_id": "zed"})
    return client


def test_connections_show_my_access(zed: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(8):
        page = zed.get("/ui/connections/").content.decode()
    assert "customers" in page and "payroll" in page
    assert "<td>READ</td>" in page
    assert "Request access to payroll" in page


def test_request_access_files_a_pending_request(zed: Client) -> None:
    response = zed.post(
        "/ui/connections/payroll/request-access/",
        {"access_types": ["READ"], "reason": "quarterly report", "expires_at": "2099-01-31"},
    )
    assert response["Location"] == "/ui/connections/"
    filed = AccessRequest.objects.get(user_id="zed", ext_datamodule_id="payroll")
    assert (filed.state, filed.read, filed.reason) == ("pending", True, "quarterly report")
    assert filed.expires_at is not None and filed.expires_at.year == 2099
    page = zed.get("/ui/connections/").content.decode()
    assert "Access requested on payroll (READ)" in page
    assert "requested, waiting for an owner" in page


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"reason": "no type"}, "access"),
        ({"access_types": ["READ"], "expires_at": "next week"}, "YYYY-MM-DD"),
        ({"access_types": ["ROOT"]}, "ROOT"),
    ],
)
def test_a_bad_request_names_the_problem_at_its_form_and_files_nothing(
    zed: Client, body: dict[str, object], says: str
) -> None:
    response = zed.post("/ui/connections/payroll/request-access/", body)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="error-payroll"' in page and says in page
    assert not AccessRequest.objects.filter(ext_datamodule_id="payroll").exists()


def test_request_access_needs_a_csrf_token() -> None:
    connection("payroll")
    user("zed")
    client = Client(enforce_csrf_checks=True)
    client.post("/ui/login/", {"user_id": "zed"})  # refused too: no token
    response = client.post("/ui/connections/payroll/request-access/", {"access_types": ["READ"]})
    assert response.status_code == 403
    assert not AccessRequest.objects.filter(ext_datamodule_id="payroll").exists()
