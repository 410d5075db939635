"""Suite-wide fixtures and markers.

Tests under ``tests/engine`` never touch Django or a database: they are marked
``engine_only`` and run once (the PostgreSQL pass of ``make test`` skips them).

Every REST response a test receives in-process (test client, APIClient, live_server) is
checked against the committed OpenAPI schema (``tests/openapi.py``); one that does not match
fails the test that received it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests import openapi

ENGINE_TESTS = Path(__file__).parent / "engine"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine_only: framework-free engine test")
    settings.MIDDLEWARE = [openapi.MIDDLEWARE, *settings.MIDDLEWARE]


@pytest.fixture(autouse=True)
def _responses_match_the_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if a REST response it received does not match docs/openapi.yaml."""
    openapi.RECORDER.take_new()
    openapi.RECORDER.current_test = request.node.nodeid
    yield
    openapi.RECORDER.current_test = ""
    if mismatches := openapi.RECORDER.take_new():
        pytest.fail(
            f"REST response(s) not matching {openapi.SCHEMA.name} (fix the view's schema "
            "annotations, then `make gen`):\n" + "\n".join(str(m) for m in mismatches),
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in openapi.summary():
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if ENGINE_TESTS in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.engine_only)


@pytest.fixture(scope="session", autouse=True)
def audit_log_emptied_between_transactional_tests() -> Iterator[None]:
    """Let the test runner empty the audit log of the *test* database between tests.

    Transactional tests (``transactional_db``, ``live_server``) end with Django's ``flush``,
    and the audit log's append-only triggers refuse it, as they refuse every DELETE. This
    wraps the platform's ``flush`` in this test process only: it lifts the triggers of the
    database pytest-django created, runs Django's flush, and puts the triggers back in the
    same transaction. The product has no such switch: ``privetl manage flush`` refuses
    while the log holds records.
    """
    from django.core.management.commands.flush import Command as DjangoFlush
    from django.db import DEFAULT_DB_ALIAS, connections, transaction

    from privetl.audit import triggers
    from privetl.audit.management.commands import flush

    django_flush = DjangoFlush.handle

    def handle(self: flush.Command, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if triggers.TABLE not in connection.introspection.table_names():
            django_flush(self, **options)
            return
        with transaction.atomic(using=connection.alias):
            triggers.remove(connection)
            django_flush(self, **options)
            triggers.install(connection)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flush.Command, "handle", handle)
        yield
