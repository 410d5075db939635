"""The chain's status on the audit pages (ADMIN): the newest checkpoint at once, the whole
walk on request — intact ("verified up to sequence N") or where it breaks after tampering."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.audit.ui.conftest import lay_chain, login, tamper

pytestmark = pytest.mark.django_db


def test_an_intact_chain_is_verified_up_to_its_last_sequence(
    client: Client, checkpoint_dir: Path
) -> None:
    lay_chain(12)
    login(client, "root", "ADMIN")
    cheap = client.get("/ui/audit/chain/").content.decode()
    assert "12 records written" in cheap and "no checkpoint yet" in cheap
    assert "Verify the whole chain" in cheap
    page = client.get("/ui/audit/chain/?verify=1").content.decode()
    assert "Verified up to sequence 12" in page and "broken" not in page


def test_the_cheap_status_checks_the_newest_checkpoint(
    client: Client, checkpoint_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lay_chain(8)
    call_command("audit", "checkpoint")
    lay_chain(3)
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/chain/").content.decode()
    assert "Record #8 still has the hash signed by the newest checkpoint" in page
    assert "11 records written; 3 since the newest checkpoint (#8)" in page


def test_an_edited_record_breaks_the_chain_where_it_was_edited(
    client: Client, checkpoint_dir: Path
) -> None:
    records = lay_chain(10)
    tamper("UPDATE audit_auditlog SET actor_user_id = 'mallory' WHERE id = %s", [records[6].id])
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/chain/?verify=1").content.decode()
    assert f"The audit chain is broken: record #7 (id {records[6].id}) was edited" in page
    assert "Records #1 to #6 were verified before the fault" in page
    assert "Verified up to" not in page


def test_a_rewrite_behind_a_checkpoint_shows_without_the_walk(
    client: Client, checkpoint_dir: Path
) -> None:
    records = lay_chain(5)
    call_command("audit", "checkpoint")
    tamper("UPDATE audit_auditlog SET hash = %s WHERE id = %s", ["f" * 64, records[4].id])
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/chain/").content.decode()
    assert "The audit chain is broken: the chain was rewritten: record #5" in page


def test_the_list_page_loads_the_status_for_admins_only(
    client: Client, checkpoint_dir: Path
) -> None:
    lay_chain(2)
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/").content.decode()
    assert 'hx-get="/ui/audit/chain/" hx-trigger="load"' in page
    assert '<a href="/ui/audit/chain/">' in page  # without JavaScript: a link
    panel = client.get("/ui/audit/chain/?verify=1", HTTP_HX_REQUEST="true").content.decode()
    assert panel.startswith('<section id="chain-status"') and "<html" not in panel
    other = login(Client(), "alice")
    assert 'href="/ui/audit/chain/"' not in other.get("/ui/audit/").content.decode()
    refused = other.get("/ui/audit/chain/?verify=1")
    assert refused.status_code == 403 and "only an ADMIN" in refused.content.decode()


def test_the_cheap_status_does_not_walk_10000_records(
    client: Client,
    checkpoint_dir: Path,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    lay_chain(10_000)
    call_command("audit", "checkpoint")
    login(client, "root", "ADMIN")
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(6):
        page = client.get("/ui/audit/chain/").content.decode()
    assert "10000 records written; 0 since the newest checkpoint" in page
    walks = [
        q["sql"] for q in queries if 'FROM "audit_auditlog"' in q["sql"] and "WHERE" not in q["sql"]
    ]
    assert walks == []  # only the checkpoint's record is read, by its sequence


def test_a_server_without_the_key_says_it_cannot_check_the_checkpoints(
    client: Client,
    checkpoint_dir: Path,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    lay_chain(4)
    call_command("audit", "checkpoint")
    settings.AUDIT_CHECKPOINT_KEY = ""
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/chain/?verify=1").content.decode()
    assert "the checkpoints cannot be checked on this server" in page
    assert "Verified up to sequence 4" in page


def test_a_server_without_the_directory_says_so(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AUDIT_CHECKPOINT_DIR = None
    lay_chain(1)
    login(client, "root", "ADMIN")
    page = client.get("/ui/audit/chain/").content.decode()
    assert "PRIVETL_AUDIT_CHECKPOINT_DIR is not set" in page
