"""Reading the audit log: permission scoping, filters and pagination (selectors), and
the REST door's ListAuditLogs / GetAuditLog."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from privetl.audit import selectors
from privetl.audit.models import AuditLog
from privetl.common.errors import InvalidArgument, NotFound
from privetl.platform.auth import token_issue
from tests.audit.conftest import actor_for, write

ROOT = actor_for("root", "ADMIN")
ALICE = actor_for("alice")
BOB = actor_for("bob")
ROOT_AS_ALICE = actor_for("alice", impersonator_id="root")


@pytest.fixture
def records(db) -> dict[str, str]:
    """Six records: alice ×3 (one while root impersonated her), bob ×2, root ×1."""
    return {
        "a1": write(ALICE, action="thing.create", target_id="t1"),
        "b1": write(BOB, action="thing.create", target_id="t2", service="other"),
        "a2": write(ALICE, action="thing.update", target_id="t1"),
        "r1": write(ROOT, action="user.block", target_id="bob", target_type="user"),
        "ia": write(ROOT_AS_ALICE, action="thing.delete", target_id="t1"),
        "b2": write(BOB, action="thing.update", target_id="t2"),
    }


def ids(page: selectors.AuditLogPage) -> list[str]:
    return [r.id for r in page.items]


def test_admin_sees_everything_newest_first(records) -> None:
    page = selectors.audit_log_list(actor=ROOT)
    assert ids(page) == [records[k] for k in ("b2", "ia", "r1", "a2", "b1", "a1")]
    assert page.next_page_token == ""


def test_others_see_only_what_they_did(records) -> None:
    assert ids(selectors.audit_log_list(actor=ALICE)) == [records[k] for k in ("ia", "a2", "a1")]
    assert ids(selectors.audit_log_list(actor=BOB)) == [records["b2"], records["b1"]]


def test_an_impersonating_admin_sees_the_records_naming_them_as_impersonator(records) -> None:
    # root without ADMIN (e.g. after losing it) still sees what was done in their name
    root_plain = actor_for("root")
    assert ids(selectors.audit_log_list(actor=root_plain)) == [records["ia"], records["r1"]]


def test_get_is_scoped_and_hides_existence(records) -> None:
    assert selectors.audit_log_get(actor=ALICE, id=records["a1"]).target_id == "t1"
    assert selectors.audit_log_get(actor=ROOT, id=records["b1"]).actor_user_id == "bob"
    with pytest.raises(NotFound, match="not yours to see"):
        selectors.audit_log_get(actor=ALICE, id=records["b1"])
    with pytest.raises(NotFound):
        selectors.audit_log_get(actor=ROOT, id="no-such-id")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"actor_user_id": "bob"}, ["b2", "b1"]),
        ({"action": "thing.update"}, ["b2", "a2"]),
        ({"service": "other"}, ["b1"]),
        ({"target_type": "user"}, ["r1"]),
        ({"target_id": "t1"}, ["ia", "a2", "a1"]),
        ({"target_id": "t1", "action": "thing.update"}, ["a2"]),
        ({"actor_user_id": "nobody"}, []),
    ],
)
def test_filters(records, filters, expected) -> None:
    page = selectors.audit_log_list(actor=ROOT, filters=selectors.AuditLogFilters(**filters))
    assert ids(page) == [records[k] for k in expected]


def test_time_filters(records) -> None:
    third = AuditLog.objects.get(pk=records["a2"]).occurred_at
    fourth = AuditLog.objects.get(pk=records["r1"]).occurred_at
    since = selectors.audit_log_list(actor=ROOT, filters=selectors.AuditLogFilters(since=fourth))
    assert ids(since) == [records[k] for k in ("b2", "ia", "r1")]
    until = selectors.audit_log_list(
        actor=ROOT, filters=selectors.AuditLogFilters(until=third + dt.timedelta(microseconds=1))
    )
    assert ids(until) == [records[k] for k in ("a2", "b1", "a1")]
    with pytest.raises(InvalidArgument, match="since is after until"):
        selectors.audit_log_list(
            actor=ROOT, filters=selectors.AuditLogFilters(since=fourth, until=third)
        )


def test_pagination_walks_every_record_once(records) -> None:
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = selectors.audit_log_list(actor=ROOT, page_size=4, page_token=token)
        seen += ids(page)
        token = page.next_page_token
        if not token:
            break
    assert seen == [records[k] for k in ("b2", "ia", "r1", "a2", "b1", "a1")]


def test_pagination_is_stable_while_records_arrive(records) -> None:
    first = selectors.audit_log_list(actor=ROOT, page_size=3)
    write(ALICE, action="late.arrival")
    second = selectors.audit_log_list(actor=ROOT, page_size=3, page_token=first.next_page_token)
    assert ids(second) == [records[k] for k in ("a2", "b1", "a1")]


@pytest.mark.parametrize("size", [-1, 501])
def test_page_size_is_bounded(records, size) -> None:
    with pytest.raises(InvalidArgument, match="page_size must be between 1 and 500"):
        selectors.audit_log_list(actor=ROOT, page_size=size)
    assert len(selectors.audit_log_list(actor=ROOT, page_size=500).items) == 6
    assert len(selectors.audit_log_list(actor=ROOT, page_size=0).items) == 6  # default 50


def test_page_tokens_are_opaque_and_checked(records) -> None:
    page = selectors.audit_log_list(actor=ROOT, page_size=2)
    with pytest.raises(InvalidArgument, match="not one this service issued"):
        selectors.audit_log_list(actor=ROOT, page_token=page.next_page_token[:-2] + "xx")
    with pytest.raises(InvalidArgument, match="other filters"):
        selectors.audit_log_list(
            actor=ROOT,
            filters=selectors.AuditLogFilters(actor_user_id="bob"),
            page_token=page.next_page_token,
        )


def test_list_query_count_does_not_grow_with_the_page(
    records, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(1):
        selectors.audit_log_list(actor=ROOT, page_size=500)


# --- REST door ---------------------------------------------------------------------------------


@pytest.fixture
def people(db) -> None:
    """The users the tokens name (authentication checks they exist and are not blocked)."""
    from privetl.users import services

    services.user_bootstrap_admin(id="root", name="Root")
    root = actor_for("root", "ADMIN")
    services.user_create(actor=root, id="alice", name="Alice")
    services.user_create(actor=root, id="bob", name="Bob")


def api(user_id: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id=user_id)}")
    return client


def test_rest_list_and_get(people, records) -> None:
    body = api("alice").get("/api/v1/audit-logs", {"target_id": "t1", "page_size": 2}).json()
    assert [r["id"] for r in body["audit_logs"]] == [records["ia"], records["a2"]]
    first = body["audit_logs"][0]
    assert (first["actor_user_id"], first["impersonator_user_id"]) == ("alice", "root")
    assert first["outcome"] == "success"
    assert len(first["hash"]) == 64
    more = (
        api("alice")
        .get(
            "/api/v1/audit-logs",
            {"target_id": "t1", "page_size": 2, "page_token": body["next_page_token"]},
        )
        .json()
    )
    assert [r["id"] for r in more["audit_logs"]] == [records["a1"]]
    assert more["next_page_token"] == ""
    detail = api("alice").get(f"/api/v1/audit-logs/{records['a1']}")
    assert detail.status_code == 200
    assert detail.json()["action"] == "thing.create"


def test_rest_hides_other_peoples_records(people, records) -> None:
    response = api("alice").get(f"/api/v1/audit-logs/{records['b1']}")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert api("root").get(f"/api/v1/audit-logs/{records['b1']}").status_code == 200


def test_rest_time_filters_and_bad_values(people, records) -> None:
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert api("root").get("/api/v1/audit-logs", {"since": later}).json()["audit_logs"] == []
    bad = api("root").get("/api/v1/audit-logs", {"since": "yesterday"})
    assert (bad.status_code, bad.json()["field"]) == (400, "since")
    big = api("root").get("/api/v1/audit-logs", {"page_size": 501})
    assert (big.status_code, big.json()["field"]) == (400, "page_size")


def test_rest_shows_before_and_after_with_secrets_redacted(people) -> None:
    write(ALICE, before={"password": "pw-1"}, after={"password": "pw-2", "name": "n"})
    record = (
        api("alice").get("/api/v1/audit-logs", {"action": "thing.change"}).json()["audit_logs"][0]
    )
    assert record["before"] == {"password": "***"}
    assert record["after"] == {"password": "***", "name": "n"}
