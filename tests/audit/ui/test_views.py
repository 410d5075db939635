"""The audit pages: the search form (each filter, combined, kept filled in, a bad time named
at its field), paging that keeps the filters, the scope (admins all, others their own), the
record page's before/after diff, and a bounded query count over 10,000 records."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client

from privetl.audit.models import AuditLog
from privetl.audit.services import audit_record
from privetl.common.context import Actor
from tests.audit.ui.conftest import lay_chain, login

pytestmark = pytest.mark.django_db


def write(user_id: str, action: str, target_id: str = "t1", **kwargs: object) -> AuditLog:
    """One record through the real writer, inside a transaction as services do."""
    actor = Actor(
        user_id=user_id,
        roles=frozenset(),
        impersonator_id=kwargs.pop("impersonator_id", None),  # type: ignore[arg-type]
        address="192.0.2.7",
        door="test",
    )
    with transaction.atomic():
        return audit_record(
            actor=actor,
            service=str(kwargs.pop("service", "users")),
            action=action,
            target_type=str(kwargs.pop("target_type", "user")),
            target_id=target_id,
            **kwargs,  # type: ignore[arg-type]
        )


def rows(page: str) -> list[str]:
    """The actions listed, in order (each a link to its record)."""
    return re.findall(r'<td><a href="/ui/audit/[^/]+/">([^<]+)</a></td>', page)


@pytest.fixture
def records() -> dict[str, AuditLog]:
    return {
        "create": write("root", "user.create", "alice"),
        "block": write("root", "user.block", "bob"),
        "task": write("tom", "task.create", "t9", service="tasks", target_type="task"),
        "role": write("root", "user.role_add", "tom"),
    }


def test_an_admin_sees_every_record_newest_first(client: Client, records) -> None:  # type: ignore[no-untyped-def]
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/").content.decode()
    assert rows(page) == ["user.role_add", "task.create", "user.block", "user.create"]
    assert f'href="/ui/audit/{records["block"].id}/"' in page


def test_anyone_else_sees_only_their_own_records(client: Client, records) -> None:  # type: ignore[no-untyped-def]
    login(client, "tom")
    page = client.get("/ui/audit/").content.decode()
    assert rows(page) == ["task.create"]
    assert 'id="chain-status"' not in page  # the chain is the admins' business
    assert client.get(f"/ui/audit/{records['block'].id}/").status_code == 404
    # a filter cannot widen the scope
    assert rows(client.get("/ui/audit/?actor_user_id=root").content.decode()) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("actor_user_id=tom", ["task.create"]),
        ("action=user.block", ["user.block"]),
        ("service=tasks", ["task.create"]),
        ("target_type=user", ["user.role_add", "user.block", "user.create"]),
        ("target_id=bob", ["user.block"]),
        ("target_type=user&target_id=tom", ["user.role_add"]),
        ("service=users&actor_user_id=root&target_id=alice", ["user.create"]),
        ("service=users&actor_user_id=tom", []),
    ],
)
def test_each_filter_and_combinations(client: Client, records, query: str, expected) -> None:  # type: ignore[no-untyped-def]
    login(client, "root", "ADMIN")
    page = client.get(f"/ui/audit/?{query}").content.decode()
    assert rows(page) == expected
    for pair in query.split("&"):  # the form keeps what was searched
        name, value = pair.split("=")
        assert f'name="{name}" type="search" value="{value}"' in page


def test_the_time_range_filters_and_is_kept(client: Client) -> None:
    lay_chain(5)  # records at START + 1..5 minutes
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/?since=2026-01-01T00:02&until=2026-01-01T00:04").content.decode()
    assert re.findall(r'"/ui/audit/bulk-0+(\d)/">\d', page) == ["3", "2"]
    assert 'name="since" type="datetime-local" value="2026-01-01T00:02"' in page
    assert 'name="until" type="datetime-local" value="2026-01-01T00:04"' in page


def test_no_match_says_how_to_widen_the_search(client: Client, records) -> None:  # type: ignore[no-untyped-def]
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/?action=nothing.like.this").content.decode()
    assert "No record matches this search" in page


def test_an_empty_log_says_what_fills_it(client: Client) -> None:
    login(client, "root", "ADMIN")
    assert "No audit records yet" in client.get("/ui/audit/").content.decode()


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("since=yesterday", "since", "&#x27;yesterday&#x27; is not a time"),
        ("until=2026-13-40", "until", "is not a time"),
        ("since=2026-02-01&until=2026-01-01", "since", "since is after until"),
        ("actor_user_id=" + "x" * 300, "actor_user_id", "longer than 255"),
        ("page_token=forged", "form", "start again without it"),
    ],
)
def test_a_bad_filter_is_named_at_its_field_and_kept(
    client: Client,
    records,
    query: str,
    field: str,
    says: str,  # type: ignore[no-untyped-def]
) -> None:
    login(client, "root", "ADMIN")
    response = client.get(f"/ui/audit/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    error = re.search(rf'<p class="field-error"[^>]* id="error-{field}">([^<]*)</p>', page)
    assert error and says in error.group(1)
    assert rows(page) == []  # no list under a search that could not run
    value = query.split("&")[0].split("=", 1)[1]
    if field != "form":
        assert f'value="{value}"' in page


def test_paging_keeps_the_filters(client: Client) -> None:
    lay_chain(120, actors=("alice", "bob"))  # 60 each; a page holds 50
    login(client, "root", "ADMIN")
    first = client.get("/ui/audit/?actor_user_id=bob").content.decode()
    assert len(rows(first)) == 50
    link = re.search(r'<a href="\?([^"]+)">Next page</a>', first)
    assert link
    query = link.group(1).replace("&amp;", "&")
    assert "actor_user_id=bob" in query
    second = client.get(f"/ui/audit/?{query}").content.decode()
    sequences = [int(s) for s in re.findall(r'"/ui/audit/bulk-(\d+)/">\d', second)]
    assert len(sequences) == 10 and all(s % 2 == 0 for s in sequences)  # bob's only
    assert "Next page" not in second
    # the token belongs to bob's list: with other filters it is refused, not misapplied
    other = query.replace("actor_user_id=bob", "actor_user_id=alice")
    assert client.get(f"/ui/audit/?{other}").status_code == 400


def test_the_list_query_count_is_bounded_over_10000_records(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    lay_chain(10_000)
    login(client, "root", "ADMIN")
    with django_assert_max_num_queries(6):
        page = client.get("/ui/audit/").content.decode()
    assert len(rows(page)) == 50
    link = re.search(r'<a href="\?([^"]+)">Next page</a>', page)
    assert link
    with django_assert_max_num_queries(6):
        following = client.get(f"/ui/audit/?{link.group(1).replace('&amp;', '&')}")
    assert "bulk-009950" in following.content.decode()
    bob = login(Client(), "bob")
    with django_assert_max_num_queries(6):
        mine = bob.get("/ui/audit/?target_id=3&since=2026-01-01").content.decode()
    assert len(rows(mine)) == 50


def test_the_record_page_shows_who_when_where_and_the_diff(client: Client) -> None:
    record = write(
        "alice",
        "user.block",
        "bob",
        impersonator_id="root",
        before={"blocked": False, "name": "Bob", "roles": ["EDIT_TASK"], "old": 1},
        after={
            "blocked": True,
            "name": "Bob",
            "roles": ["EDIT_TASK"],
            "reason": "left",
            "password": "hunter2",
        },
        detail="left the company",
    )
    login(client, "alice")
    page = client.get(f"/ui/audit/{record.id}/").content.decode()
    assert "their user page" not in page  # the users admin is not hers to open
    assert "<dd>alice" in page and "root (an admin acting as alice)" in page
    assert "192.0.2.7" in page and "user.block" in page and "user bob" in page
    assert record.occurred_at.strftime("%Y-%m-%d %H:%M:%S") in page
    assert (
        '<tr class="diff-changed"><th scope="row">blocked</th><td>changed</td>'
        '<td class="value was">false</td><td class="value now">true</td></tr>'
    ) in page
    assert '<tr class="diff-same"><th scope="row">name</th>' in page
    assert '<tr class="diff-added"><th scope="row">reason</th>' in page
    assert (
        '<tr class="diff-removed"><th scope="row">old</th><td>removed</td><td class="value was">1</td>'
        in page
    )
    assert "hunter2" not in page and "&quot;***&quot;" in page  # redacted, and kept so
    assert (
        "3 fields changed" not in page and "4 fields changed" in page
    )  # blocked, reason, old, password


def test_a_record_without_states_says_so(client: Client) -> None:
    record = write("alice", "GetUser", "bob", outcome="denied", detail="not yours")
    login(client, "alice")
    page = client.get(f"/ui/audit/{record.id}/").content.decode()
    assert "keeps no state" in page and "not yours" in page


def test_the_pages_need_a_login(client: Client, records) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/ui/audit/")["Location"] == "/ui/login/"
    assert client.get(f"/ui/audit/{records['block'].id}/")["Location"] == "/ui/login/"


def test_a_date_alone_means_midnight_utc_and_until_is_not_included(client: Client) -> None:
    lay_chain(3)  # records at 00:01, 00:02, 00:03 UTC
    login(client, "root", "ADMIN")
    assert len(rows(client.get("/ui/audit/?since=2026-01-01").content.decode())) == 3
    assert len(rows(client.get("/ui/audit/?since=2026-01-02").content.decode())) == 0
    page = client.get("/ui/audit/?until=2026-01-01T00:02").content.decode()
    assert re.findall(r'"/ui/audit/bulk-0+(\d)/">\d', page) == ["1"]
