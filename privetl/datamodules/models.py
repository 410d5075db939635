"""Data of the ExtDatamodule Manager: connections to the external systems tasks read and publish.

Nothing here holds logic: every write goes through ``services.py`` (which audits it in the
same transaction) and every read that depends on who is asking goes through
``selectors.py``. Who may do what on a connection is not stored here: it is the User
Manager's grant records (``users.AccessRequest`` rows naming the connection's id as
``ext_datamodule_id``), so a connection and an access request can never disagree.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

ID_MAX_LENGTH = 64
NAME_MAX_LENGTH = 200


class ConnectionType(models.TextChoices):
    """The kind of external system (``ConnectionType`` in the contract)."""

    SQL = "SQL"
    GRPC = "GRPC"
    API = "API"
    S3 = "S3"
    FILE = "FILE"


class Connection(models.Model):
    """An external data module (ExtDatamodule): where it lives, how to reach it, what it holds.

    The id is chosen by the creator (or generated) and is the ``ext_datamodule_id`` that
    access requests name. ``contract`` is the module's Croissant JSON-LD (the data module
    document of docs/data-module.md), validated by the engine when given, "" when not.

    The connection string carries credentials, so it is stored only as a Fernet token
    (``connection_string_ciphertext``, keys from ``PRIVETL_CONNECTION_KEYS``); what every
    reader sees is ``connection_string_redacted``, computed once when the string is set, so
    no read ever has to decrypt. Only the run that needs the secret decrypts it
    (``selectors.connection_secret_for_run``).
    """

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    type = models.CharField(max_length=8, choices=ConnectionType.choices)
    contract = models.TextField(
        blank=True, default="", help_text="The module's Croissant JSON-LD, or empty."
    )
    connection_string_ciphertext = models.TextField(
        help_text="The connection string, encrypted (Fernet token); never shown."
    )
    connection_string_redacted = models.TextField(
        help_text="The connection string with credentials replaced by ***."
    )
    created_by = models.CharField(max_length=ID_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["type", "id"], name="datamodules_conn_type_id")]

    def __str__(self) -> str:
        return f"{self.id} ({self.type})"
