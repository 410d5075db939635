"""The runs' UI door: the role rule of the selector (403 without it), the run history's
filters (each, combined, kept in the form and the pager), token scoping, empty states, and the
query count over 1,000 runs."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from html import unescape

import pytest
from django.test import Client

from privetl.runs.models import Run
from privetl.users.models import User, UserRole
from tests.scripts.helpers import task_row

pytestmark = pytest.mark.django_db


def _login(client: Client, user_id: str, *roles: str) -> None:
    user = User.objects.create(id=user_id)
    for role in roles:
        UserRole.objects.create(user=user, role=role)
    client.post("/ui/login/", {"user_id": user_id})


def test_runs_need_a_history_role(client: Client) -> None:
    _login(client, "bob")
    assert client.get("/ui/runs/").status_code == 403


def test_runs_empty_state_and_query_count(client: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    _login(client, "alice", "PROCESS_ETL_TASK")
    with django_assert_max_num_queries(6):
        page = client.get("/ui/runs/").content.decode()
    assert "No runs yet" in page


def _run(task_id: str = "t1") -> str:
    """A finished run row as the worker leaves it (the tasks row it belongs to included)."""
    from privetl.runs.models import Run
    from tests.scripts.helpers import task_row

    task_row(task_id)
    report = {
        "tables": [{"table": "customers", "rows_in": 200, "rows_out": 180}],
        "rules": [
            {"table": "customers", "rule": "fill", "column": "zip", "rows_affected": 4},
            {"table": "customers", "rule": "k_suppression", "column": None, "rows_affected": 16},
            {"table": "orders", "rule": "foreign_key", "column": None, "rows_affected": 0},
        ],
    }
    return Run.objects.create(
        id="r1",
        task_id=task_id,
        module_sha256="0" * 64,
        state="AWAITING_UPLOAD",
        stages_done=["extract", "clean"],
        timings={"extract": 1.5, "clean": 6.0},
        rows_in=200,
        rows_out=180,
        report_json=json.dumps(report),
        started_by="tom",
    ).id


def test_a_run_page_draws_its_stages_and_rules_with_their_figures(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    run_id = _run()
    _login(client, "dana", "MANAGE_DATA")
    assert f'href="/ui/runs/{run_id}/"' in client.get("/ui/runs/").content.decode()
    with django_assert_max_num_queries(6):
        page = client.get(f"/ui/runs/{run_id}/").content.decode()
    # Bars scaled to the largest value: clean (6.0 s) fills the 400 units, extract a quarter.
    assert 'width="400.0"' in page and 'width="100.0"' in page
    assert "<td>clean</td><td>6.0 s</td>" in page  # the chart's numbers as a table
    assert "customers.zip: fill" in page and "<td>16</td>" in page
    assert "orders: foreign_key" not in page  # a rule that touched no row is no bar
    assert '<td>customers</td><td class="num">200</td><td class="num">180</td>' in page


def test_a_run_page_needs_a_history_role_and_an_existing_run(client: Client) -> None:
    run_id = _run()
    _login(client, "bob")
    assert client.get(f"/ui/runs/{run_id}/").status_code == 403
    client.post("/ui/logout/")
    _login(client, "tom", "PROCESS_ETL_TASK")
    assert client.get("/ui/runs/nope/").status_code == 404
    page = client.get(f"/ui/runs/{run_id}/").content.decode()
    assert "AWAITING_UPLOAD" in page


HISTORY_ROLES = ("PROCESS_ETL_TASK", "MANAGE_DATA", "ADMIN")
DAY = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def _history(count: int = 0) -> list[Run]:
    """Runs of two tasks, started by two people, in three states, a day apart (newest last):
    run ``h<i>`` of task t1 when i is even, of t2 when odd; tom starts every third."""
    task_row("t1")
    task_row("t2")
    states = ("SUCCEEDED", "FAILED", "AWAITING_UPLOAD")
    return Run.objects.bulk_create(
        Run(
            id=f"h{i:04d}",
            task_id="t1" if i % 2 == 0 else "t2",
            module_sha256="0" * 64,
            state=states[i % 3],
            started_by="tom" if i % 3 == 0 else "dana",
            queued_at=DAY + dt.timedelta(days=i),
            timings={"extract": 1.0 + i, "clean": 2.0},
            rows_in=100 + i,
            rows_out=90 + i,
            report_json=json.dumps({"tables": [{"table": "customers", "rows_in": 100}]}),
        )
        for i in range(count)
    )


def _ids(page: str) -> list[str]:
    """The runs the history lists on a page, in order (not those of the task's chart)."""
    return re.findall(r'<td><a href="/ui/runs/(h\d+)/">', page.split('id="trend"', 1)[0])


def _next(page: str) -> str:
    """The "Next page" link's query string."""
    found = re.search(r'href="\?([^"]*)" rel="next"', page)
    assert found, "no Next page link"
    return unescape(found.group(1))


@pytest.mark.parametrize("role", HISTORY_ROLES)
def test_every_history_role_reads_the_history_and_sees_its_link(client: Client, role: str) -> None:
    _history(3)
    _login(client, "reader", role)
    page = client.get("/ui/runs/").content.decode()
    assert _ids(page) == ["h0002", "h0001", "h0000"]
    assert 'href="/ui/runs/"' in client.get("/ui/").content.decode()  # the navigation


@pytest.mark.parametrize("roles", [(), ("CREATE_EXT_DATAMODULE",), ("EDIT_ETL_TASK",)])
def test_others_get_403_on_the_history_and_no_link(client: Client, roles: tuple[str, ...]) -> None:
    _history(3)
    _login(client, "other", *roles)
    response = client.get("/ui/runs/?task=t1&started_from=garbage")
    assert response.status_code == 403  # refused before any filter is looked at
    assert "PROCESS_ETL_TASK" in response.content.decode()
    assert 'href="/ui/runs/"' not in client.get("/ui/").content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("task=t1", ["h0008", "h0006", "h0004", "h0002", "h0000"]),
        ("state=FAILED", ["h0007", "h0004", "h0001"]),
        ("started_by=tom", ["h0009", "h0006", "h0003", "h0000"]),
        # both days included, in the server's zone
        ("started_from=2026-11-04&started_to=2026-11-06", ["h0004", "h0003", "h0002"]),
        ("started_from=2026-11-10", ["h0009", "h0008"]),
        ("started_to=2026-11-03", ["h0001", "h0000"]),
        ("task=t2&state=SUCCEEDED&started_by=tom", ["h0009", "h0003"]),
        ("task=t1&started_by=dana&started_from=2026-11-04", ["h0008", "h0004", "h0002"]),
    ],
)
def test_each_filter_and_their_combination(client: Client, query: str, expected: list[str]) -> None:
    _history(10)
    _login(client, "tom", "PROCESS_ETL_TASK")
    page = client.get(f"/ui/runs/?{query}").content.decode()
    assert _ids(page) == expected
    for name, value in (part.split("=") for part in query.split("&")):
        # the filter stays in the form
        if name == "state":
            assert f'<option value="{value}" selected>' in page
        else:
            assert f'name="{name}" value="{value}"' in page
    assert "Clear the filters" in page


def test_the_filters_stay_in_the_pager_link_and_page_on_to_the_end(client: Client) -> None:
    _history(200)
    _login(client, "dana", "MANAGE_DATA")
    seen: list[str] = []
    query = "task=t1&started_by=dana"
    pages = 0
    while True:
        page = client.get(f"/ui/runs/?{query}").content.decode()
        assert 'name="task" value="t1"' in page and 'name="started_by" value="dana"' in page
        seen += _ids(page)
        pages += 1
        if 'rel="next"' not in page:
            break
        query = _next(page)
        assert query.startswith("task=t1&started_by=dana&page_token=")
    expected = sorted(
        (f"h{i:04d}" for i in range(200) if i % 2 == 0 and i % 3 != 0), reverse=True
    )
    assert seen == expected and pages == 2  # 66 runs: 50 a page, nothing lost or repeated
    assert "First page" not in client.get("/ui/runs/?task=t1").content.decode()


def test_a_page_token_only_continues_the_filters_it_was_made_for(client: Client) -> None:
    _history(120)
    _login(client, "tom", "PROCESS_ETL_TASK")
    first = client.get("/ui/runs/?task=t1").content.decode()
    token = _next(first).split("page_token=")[1]
    for other in ("task=t2", "task=t1&state=FAILED", "", "task=t1&started_from=2026-11-01"):
        response = client.get(f"/ui/runs/?{other}&page_token={token}")
        page = response.content.decode()
        assert response.status_code == 400
        assert "belongs to another listing or other filters" in page
        assert _ids(page) == []  # nothing of another list is shown
    second = client.get(f"/ui/runs/?task=t1&page_token={token}")
    assert second.status_code == 200
    assert _ids(second.content.decode())[0] == "h0018"  # page 1 ended at h0020
    forged = client.get("/ui/runs/?task=t1&page_token=forged")
    assert forged.status_code == 400 and "start again without it" in forged.content.decode()


def test_bad_filters_are_named_at_the_form_with_the_input_kept(client: Client) -> None:
    _history(3)
    _login(client, "tom", "PROCESS_ETL_TASK")
    response = client.get("/ui/runs/?task=t1&started_from=2026-13-01&started_to=soon")
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("give a date as YYYY-MM-DD") == 2
    assert 'name="started_from" value="2026-13-01"' in page and 'name="task" value="t1"' in page
    assert _ids(page) == []
    swapped = client.get("/ui/runs/?started_from=2026-11-05&started_to=2026-11-01")
    assert swapped.status_code == 400
    assert "is after the end date" in swapped.content.decode()
    state = client.get("/ui/runs/?state=DONE")
    assert state.status_code == 400 and "state must be one of" in state.content.decode()


def test_the_empty_state_of_a_filter_offers_to_clear_it(client: Client) -> None:
    _history(3)
    _login(client, "tom", "PROCESS_ETL_TASK")
    page = client.get("/ui/runs/?started_by=nobody").content.decode()
    assert "No run matches these filters" in page and "clear the filters" in page
    assert "No runs yet" not in page


def test_the_history_of_1000_runs_is_one_query_a_page(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _history(1000)
    _login(client, "dana", "MANAGE_DATA")
    with django_assert_max_num_queries(6):  # session, user, roles, the page: no query per run
        started = time.perf_counter()
        page = client.get("/ui/runs/").content.decode()
        print(f"the history's first page of 1,000 runs: {time.perf_counter() - started:.3f} s")
    assert len(_ids(page)) == 50
    with django_assert_max_num_queries(6):
        page = client.get(f"/ui/runs/?{_next(page)}").content.decode()
    assert len(_ids(page)) == 50
    with django_assert_max_num_queries(6):
        page = client.get("/ui/runs/?task=t2&state=FAILED&started_by=dana").content.decode()
    assert len(_ids(page)) == 50


def test_the_history_of_one_task_charts_its_latest_runs(
    client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    _history(50)
    _login(client, "tom", "PROCESS_ETL_TASK")
    with django_assert_max_num_queries(7):  # one query more: the task's latest runs
        page = client.get("/ui/runs/?task=t1&state=FAILED").content.decode()
    assert _ids(page) == ["h0046", "h0040", "h0034", "h0028", "h0022", "h0016", "h0010", "h0004"]
    trend = page.split('id="trend"', 1)[1]
    assert "The latest runs of t1" in trend and "whatever the other filters" in trend
    table = trend.split("all the figures", 1)[1]
    listed = re.findall(r'<td><a href="/ui/runs/(h\d+)/">', table)
    assert listed == [f"h{i:04d}" for i in range(10, 50, 2)]  # its last 20, oldest first
    # h0048: 49 + 2 = 51 s of work, the longest bar; its figures in the chart's table
    assert "<td>2026-12-20 12:00 h0048</td><td>51.0 s</td>" in trend
    assert "<td>2026-12-20 12:00 h0048</td><td>138</td>" in trend
    assert 'id="trend"' not in client.get("/ui/runs/?state=FAILED").content.decode()


def test_a_task_with_one_run_has_nothing_to_compare(client: Client) -> None:
    _history(2)
    _login(client, "tom", "PROCESS_ETL_TASK")
    page = client.get("/ui/runs/?task=t1").content.decode()
    assert "The task has one run so far" in page
    assert 'id="trend"' not in client.get("/ui/runs/?task=unknown").content.decode()
