"""E-mails of the access flow, delivered to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.test import override_settings

from privetl.users import services
from tests.users.conftest import actor_for


@dataclass
class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message) per mail."""

    mails: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            DEFAULT_FROM_EMAIL="privetl@example.test",
        ):
            yield handler
    finally:
        controller.stop()


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@pytest.mark.django_db
def test_owners_are_mailed_when_a_request_is_filed(
    inbox: Inbox, admin, alice, olga, django_capture_on_commit_callbacks
) -> None:
    services.user_create(actor=admin, id="omar", name="Omar Owner", email="omar@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        second = services.access_request_file(
            actor=actor_for("omar"),
            user_id="omar",
            ext_datamodule_id="customers",
            access_types=["OWNER"],
        )
    assert [rcpt for rcpt, _ in inbox.mails] == [["olga@example.test"]]  # the sole owner
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_decide(
            actor=olga, access_request_id=second.id, owner_user_id="olga", approve=True
        )
    inbox.mails.clear()

    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_file(
            actor=alice,
            user_id="alice",
            ext_datamodule_id="customers",
            access_types=["READ", "WRITE"],
            reason="churn model for Q3",
        )
    assert len(inbox.mails) == 1
    recipients, message = inbox.mails[0]
    assert sorted(recipients) == ["olga@example.test", "omar@example.test"]
    assert message["Subject"] == "[privetl] Access request for customers"
    assert message["From"] == "privetl@example.test"
    body = _body(message)
    for expected in (request.id, "Alice Requester (alice)", "READ, WRITE", "churn model for Q3"):
        assert expected in body
    assert "alice@example.test" not in body and "Bearer" not in body and "token" not in body.lower()


@pytest.mark.django_db
def test_admins_are_mailed_while_the_module_has_no_owner(
    inbox: Inbox, admin, alice, django_capture_on_commit_callbacks
) -> None:
    services.user_create(actor=admin, id="ann", name="Ann Admin", email="ann@example.test")
    services.user_role_add(actor=admin, user_id="ann", role="ADMIN")
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="orders", access_types=["OWNER"]
        )
    [(recipients, message)] = inbox.mails
    assert recipients == ["ann@example.test"]  # root has no address
    assert "no owner yet" in _body(message)


@pytest.mark.django_db
def test_requester_is_mailed_the_decision(
    inbox: Inbox, alice, olga, django_capture_on_commit_callbacks
) -> None:
    request = services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_decide(
            actor=olga,
            access_request_id=request.id,
            owner_user_id="olga",
            approve=False,
            note="use the aggregate module",
        )
    [(recipients, message)] = inbox.mails
    assert recipients == ["alice@example.test"]
    assert message["Subject"] == "[privetl] Access request denied: customers"
    body = _body(message)
    assert "denied by olga" in body and "use the aggregate module" in body and request.id in body


@pytest.mark.django_db(transaction=True)
def test_nothing_is_mailed_when_the_transaction_rolls_back(inbox: Inbox, alice, olga) -> None:
    class Abort(Exception):
        pass

    inbox.mails.clear()  # the fixtures' own flow (olga made owner) committed and mailed already

    with pytest.raises(Abort), transaction.atomic():
        services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
        )
        raise Abort
    services.access_request_file(
        actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["WRITE"]
    )
    assert len(inbox.mails) == 1
    assert "WRITE" in _body(inbox.mails[0][1]) and "READ" not in _body(inbox.mails[0][1])


@pytest.mark.django_db
def test_mail_outage_does_not_undo_the_request(
    alice, olga, django_capture_on_commit_callbacks
) -> None:
    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=_free_port(),
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        request = services.access_request_file(
            actor=alice, user_id="alice", ext_datamodule_id="customers", access_types=["READ"]
        )
    assert request.state == "pending"
