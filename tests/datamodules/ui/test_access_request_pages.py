"""The access-request pages: an owner's inbox (Approve / Deny with a note), my requests
(Withdraw a pending one), my grants with their expiry; refusals change nothing, each tab has
an empty state saying what to do, and a tab of many rows is paged in few queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from privetl.datamodules import services
from privetl.users import services as users
from privetl.users.models import AccessRequest
from tests.scripts.helpers import actor_for, ui_login, user

pytestmark = pytest.mark.django_db

CAROL = actor_for("carol", "CREATE_EXT_DATAMODULE")


def _connection(connection_id: str) -> None:
    services.connection_create(
        actor=CAROL, id=connection_id, name=connection_id, type="FILE", connection_string="/srv"
    )


def _filed(user_id: str, connection_id: str, *types: str, reason: str = "") -> str:
    return users.access_request_file(
        actor=actor_for(user_id),
        user_id=user_id,
        ext_datamodule_id=connection_id,
        access_types=list(types) or ["READ"],
        reason=reason,
        expires_at=timezone.now() + dt.timedelta(days=30),
    ).id


@pytest.fixture
def people() -> None:
    """carol owns ``sales``; zed and bob are users without rights on it."""
    user("carol", "CREATE_EXT_DATAMODULE")
    user("zed")
    user("bob")
    _connection("sales")


def test_the_owner_approves_with_a_note_and_the_requester_sees_the_grant(
    client: Client, people: None
) -> None:
    filed = _filed("zed", "sales", "READ", reason="quarterly report")
    inbox = ui_login(client, "carol").get("/ui/access-requests/").content.decode()
    row = inbox.split("<td>zed</td>", 1)[1].split("</tr>", 1)[0]
    assert "sales" in row and "<td>READ</td>" in row and "quarterly report" in row
    expiry = (timezone.now() + dt.timedelta(days=30)).strftime("%Y-%m-%d")
    assert expiry in row
    assert 'value="approve"' in row and 'value="deny"' in row
    response = client.post(
        f"/ui/access-requests/{filed}/decide/", {"decision": "approve", "note": "until Q3"}
    )
    assert response["Location"] == "/ui/access-requests/?tab=inbox"
    decided = AccessRequest.objects.get(pk=filed)
    assert (decided.state, decided.decided_by, decided.decision_note) == (
        "approved",
        "carol",
        "until Q3",
    )
    after = client.get("/ui/access-requests/").content.decode()
    assert "Approved: zed on sales (READ)" in after and "Nothing waits for your decision" in after
    ui_login(client, "zed")
    grants = client.get("/ui/access-requests/?tab=grants").content.decode()
    row = grants.split('href="/ui/connections/sales/"', 1)[1].split("</tr>", 1)[0]
    assert "<td>READ</td>" in row and "<td>carol</td>" in row and expiry in row
    mine = client.get("/ui/access-requests/?tab=mine").content.decode()
    assert "state-APPROVED" in mine and "until Q3" in mine


def test_the_owner_denies(client: Client, people: None) -> None:
    filed = _filed("zed", "sales", "WRITE")
    ui_login(client, "carol").post(f"/ui/access-requests/{filed}/decide/", {"decision": "deny"})
    assert AccessRequest.objects.get(pk=filed).state == "denied"
    ui_login(client, "zed")
    assert "state-DENIED" in client.get("/ui/access-requests/?tab=mine").content.decode()
    assert (
        "You hold no access yet" in client.get("/ui/access-requests/?tab=grants").content.decode()
    )


def test_nobody_else_sees_or_decides_a_request(client: Client, people: None) -> None:
    filed = _filed("zed", "sales")
    for who in ("zed", "bob"):  # the requester and a stranger
        ui_login(client, who)
        inbox = client.get("/ui/access-requests/").content.decode()
        assert 'value="approve"' not in inbox and "Nothing waits for your decision" in inbox
        response = client.post(f"/ui/access-requests/{filed}/decide/", {"decision": "approve"})
        assert response.status_code == 403
        assert AccessRequest.objects.get(pk=filed).state == "pending"


def test_a_refused_decision_is_shown_at_its_row_with_the_note_kept(
    client: Client, people: None
) -> None:
    filed = _filed("zed", "sales")
    ui_login(client, "carol")
    response = client.post(f"/ui/access-requests/{filed}/decide/", {"decision": "", "note": "hmm"})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="error-{filed}"' in page and "choose Approve or Deny" in page
    assert 'value="hmm"' in page
    users.access_request_remove(actor=actor_for("zed"), user_id="zed", access_request_id=filed)
    response = client.post(f"/ui/access-requests/{filed}/decide/", {"decision": "approve"})
    assert response.status_code == 409  # withdrawn meanwhile: it cannot be decided
    assert AccessRequest.objects.get(pk=filed).state == "withdrawn"


def test_the_requester_withdraws_a_pending_request(client: Client, people: None) -> None:
    filed = _filed("zed", "sales", reason="for the audit")
    ui_login(client, "zed")
    mine = client.get("/ui/access-requests/?tab=mine").content.decode()
    assert "state-PENDING" in mine and "for the audit" in mine and 'secondary">Withdraw<' in mine
    response = client.post(f"/ui/access-requests/{filed}/withdraw/", {"tab": "mine"})
    assert response["Location"] == "/ui/access-requests/?tab=mine"
    assert AccessRequest.objects.get(pk=filed).state == "withdrawn"
    after = client.get("/ui/access-requests/?tab=mine").content.decode()
    assert "Withdrawn: READ on sales." in after and 'secondary">Withdraw<' not in after


def test_nobody_else_withdraws_it(client: Client, people: None) -> None:
    filed = _filed("zed", "sales")
    for who in ("bob", "carol"):  # a stranger, and the owner (who denies instead)
        ui_login(client, who)
        response = client.post(f"/ui/access-requests/{filed}/withdraw/", {"tab": "mine"})
        assert response.status_code in (403, 404)
        error = response.content.decode().split('id="error-form">', 1)[1].split("</p>", 1)[0]
        assert "access request" in error and filed in error
        assert AccessRequest.objects.get(pk=filed).state == "pending"


def test_a_holder_gives_a_grant_back(client: Client, people: None) -> None:
    filed = _filed("zed", "sales")
    users.access_request_decide(
        actor=CAROL, access_request_id=filed, owner_user_id="carol", approve=True
    )
    ui_login(client, "zed")
    response = client.post(f"/ui/access-requests/{filed}/withdraw/", {"tab": "grants"})
    assert response["Location"] == "/ui/access-requests/?tab=grants"
    assert AccessRequest.objects.get(pk=filed).state == "revoked"
    assert "You hold no access yet" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("tab", "says"),
    [
        ("", "Nothing waits for your decision"),
        ("?tab=inbox", "Nothing waits for your decision"),
        ("?tab=mine", "You have not asked for access yet"),
        ("?tab=grants", "You hold no access yet"),
        ("?tab=nonsense", "Nothing waits for your decision"),
    ],
)
def test_each_tab_has_an_empty_state(client: Client, tab: str, says: str) -> None:
    user("zed")
    page = ui_login(client, "zed").get(f"/ui/access-requests/{tab}").content.decode()
    assert says in page and 'href="/ui/connections/"' in page


def test_the_access_pages_need_a_login(client: Client) -> None:
    assert client.get("/ui/access-requests/")["Location"] == "/ui/login/"


def _next(page: str) -> str:
    return page.split('<p class="pager"><a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def test_tabs_of_many_rows_are_paged_in_few_queries(
    client: Client, people: None, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for number in range(60):
        _connection(f"m{number:03}")
        filed = _filed("zed", f"m{number:03}")
        if number % 2:
            users.access_request_decide(
                actor=CAROL, access_request_id=filed, owner_user_id="carol", approve=True
            )
        user(f"u{number:03}")
        _filed(f"u{number:03}", "sales")
    ui_login(client, "carol")
    with django_assert_max_num_queries(6):
        inbox = client.get("/ui/access-requests/").content.decode()
    assert inbox.count('value="approve"') == 50 and "Next page" in inbox
    rest = client.get(f"/ui/access-requests/{_next(inbox)}").content.decode()
    # 60 users' requests on sales and zed's 30 still pending on m*: 90 in all
    assert rest.count('value="approve"') == 40 and "Next page" not in rest
    ui_login(client, "zed")
    with django_assert_max_num_queries(6):
        mine = client.get("/ui/access-requests/?tab=mine").content.decode()
    assert mine.count("<tr>") == 51 and "Next page" in mine
    with django_assert_max_num_queries(6):
        grants = client.get("/ui/access-requests/?tab=grants").content.decode()
    assert grants.count("<tr>") == 31 and "Next page" not in grants


def test_the_inbox_narrows_to_one_connection_from_its_page(client: Client, people: None) -> None:
    _connection("payroll")
    on_sales = _filed("zed", "sales")
    on_payroll = _filed("zed", "payroll")
    ui_login(client, "carol")
    link = '/ui/access-requests/?tab=inbox&amp;connection=sales"'
    assert link in client.get("/ui/connections/sales/").content.decode()
    page = client.get("/ui/access-requests/?tab=inbox&connection=sales").content.decode()
    assert f"/{on_sales}/decide/" in page and f"/{on_payroll}/decide/" not in page
    assert "Waiting for me on sales" in page
