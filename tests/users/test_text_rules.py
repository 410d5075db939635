"""What text the User Manager accepts, through its services (both doors call these).

Display names must be visible text without control or bidirectional characters; reasons
and notes are stored as sent except NUL and control characters. A refusal names the
field and changes nothing — the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

import pytest

from privetl.audit.models import AuditLog
from privetl.common.errors import InvalidArgument
from privetl.users import services
from privetl.users.models import AccessRequest, User


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("Alice\u202eecilA", "bidirectional control characters (found U+202E"),
        ("\u200b\u200c\u200d", "no visible character"),
        ("\ufeff", "no visible character"),
        ("Ali\x85ce", "control characters (found U+0085)"),
        ("Ali\x00ce", "control characters (found U+0000)"),
        ("   ", "name is required"),
    ],
)
def test_a_display_name_that_misleads_or_shows_nothing_is_refused(admin, name, complaint) -> None:
    before = (User.objects.count(), AuditLog.objects.count())
    with pytest.raises(InvalidArgument, match=re.escape(complaint)) as caught:
        services.user_create(actor=admin, id="newcomer", name=name)
    assert caught.value.field == "name"
    assert (User.objects.count(), AuditLog.objects.count()) == before


@pytest.mark.parametrize("name", ["Zoë Ångström", "山田 太郎", "O'Brien-Smith", "مريم"])
def test_real_names_in_any_script_are_kept(admin, name) -> None:
    services.user_create(actor=admin, id="person", name=name)
    assert User.objects.get(pk="person").name == name


def test_a_nul_in_a_block_reason_is_refused_and_nothing_changes(admin, alice) -> None:
    with pytest.raises(InvalidArgument, match="reason must not contain a NUL") as caught:
        services.user_block(actor=admin, user_id=alice.user_id, reason="x\x00y")
    assert caught.value.field == "reason"
    assert not User.objects.get(pk=alice.user_id).blocked


def test_a_reason_keeps_line_breaks_and_any_script(admin, alice) -> None:
    reason = "Left the company.\r\nSee ticket #42 — 退職"
    services.user_block(actor=admin, user_id=alice.user_id, reason=reason)
    assert User.objects.get(pk=alice.user_id).blocked_reason == reason


def test_a_nul_in_an_access_request_reason_is_refused(alice) -> None:
    with pytest.raises(InvalidArgument, match="access.reason must not contain a NUL"):
        services.access_request_file(
            actor=alice,
            user_id=alice.user_id,
            ext_datamodule_id="m1",
            access_types=["READ"],
            reason="please\x00",
        )
    assert not AccessRequest.objects.exists()
