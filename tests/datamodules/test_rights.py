"""The rights matrix of the ExtDatamodule Manager: role × grant on the connection × operation.

Rules: creating needs CREATE_EXT_DATAMODULE (ADMIN alone does not); anyone signed in reads
and lists; changing needs a current OWNER grant; testing a current OWNER or READ grant.
A pending, expired or revoked grant is no grant. Every refusal changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from privetl.common.errors import PermissionDenied
from privetl.datamodules import selectors, services
from privetl.datamodules.models import Connection
from privetl.users import services as user_services
from privetl.users.models import AccessRequest
from tests.users.conftest import actor_for

pytestmark = pytest.mark.django_db

ROLES = {"none": (), "creator": ("CREATE_EXT_DATAMODULE",), "admin": ("ADMIN",)}
GRANTS = ("none", "pending-read", "READ", "WRITE", "OWNER", "expired-OWNER", "revoked-OWNER")
OPERATIONS = ("create", "get", "list", "update", "test")


def allowed(role: str, grant: str, operation: str) -> bool:
    if operation == "create":
        return role == "creator"
    if operation in ("get", "list"):
        return True
    if operation == "update":
        return grant == "OWNER"
    return grant in ("OWNER", "READ")


def _grant(grant: str, connection_id: str) -> None:
    if grant == "none":
        return
    kind = grant.split("-")[-1]
    row = AccessRequest(
        id=f"g-{grant}",
        user_id="zed",
        ext_datamodule_id=connection_id,
        read=kind == "READ",
        write=kind == "WRITE",
        owner=kind == "OWNER",
        state="approved",
        decided_by="carol",
    )
    if grant.startswith("pending"):
        row.state = "pending"
    elif grant.startswith("expired"):
        row.created_at = timezone.now() - dt.timedelta(days=2)
        row.expires_at = timezone.now() - dt.timedelta(days=1)
    elif grant.startswith("revoked"):
        row.state = "revoked"
    row.save()


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.parametrize("role", sorted(ROLES))
def test_rights(carol, admin, role, grant, operation, tmp_path: Path) -> None:
    user_services.user_create(actor=admin, id="zed", name="Zed")
    for name in ROLES[role]:
        user_services.user_role_add(actor=admin, user_id="zed", role=name)
    zed = actor_for("zed", *ROLES[role])
    services.connection_create(
        actor=carol, id="dir", name="Dir", type="FILE", connection_string=str(tmp_path)
    )
    _grant(grant, "dir")
    before = list(Connection.objects.values())

    def run() -> object:
        if operation == "create":
            return services.connection_create(
                actor=zed, id="new", name="New", type="FILE", connection_string=str(tmp_path)
            )
        if operation == "get":
            return selectors.connection_get_for_actor(actor=zed, connection_id="dir")
        if operation == "list":
            return selectors.connection_list_for_actor(actor=zed)
        if operation == "update":
            return services.connection_update(
                actor=zed, connection_id="dir", update_mask=["name"], name="Renamed"
            )
        return services.connection_test(actor=zed, connection_id="dir")

    if allowed(role, grant, operation):
        assert run()
    else:
        with pytest.raises(PermissionDenied):
            run()
        assert list(Connection.objects.values()) == before
