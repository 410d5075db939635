"""Modifie through the REST door refuses a value that looks like personal data in a
published column with no anonymization rule: 400 naming the column and the pattern (never
the value), and the entry, its data and the audit log unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from privetl.audit.models import AuditLog
from privetl.data.models import OutboxEntry
from privetl.platform.auth import token_issue
from tests.data.helpers import PEOPLE, RUN, make_entry
from tests.scripts.helpers import connection, grant, user

pytestmark = pytest.mark.django_db


def test_an_email_written_into_an_unprotected_column_is_refused(
    settings: Any, tmp_path: Path
) -> None:
    settings.RUN_WORK_DIR = tmp_path
    connection("people")
    user("dana", "MANAGE_DATA")
    grant("dana", "people", "READ")
    entry = make_entry(tmp_path)
    audited = AuditLog.objects.count()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user_id='dana')}")
    answer = client.post(
        f"/api/v1/outbox/{entry.id}/changes",
        {
            "changes": [
                {"edit": {"key": "2", "values": {"age": 42}}},
                {"edit": {"key": "1", "values": {"zip": "dan.olsen@example.org"}}},
            ],
            "reason": "a typo",
        },
        format="json",
    )
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["field"] == "changes"
    assert "zip is given a value matching the pattern 'e-mail address'" in body["message"]
    assert "people.zip has no anonymization rule" in body["message"]
    assert "dan.olsen@example.org" not in body["message"]
    assert OutboxEntry.objects.get(pk=entry.id).revision == 0
    assert AuditLog.objects.count() == audited
    published = pq.read_table(tmp_path / RUN / "verify" / "people.parquet").to_pydict()
    assert published == PEOPLE
    assert list((tmp_path / RUN).rglob("*.r1.parquet")) == []
