"""Data of the User Manager: users, role assignments, access requests, SSO links, logins.

Nothing here holds logic: every write goes through ``services.py`` (which audits it in the
same transaction) and every read that depends on who is asking goes through
``selectors.py``. Ids are strings chosen by callers, as in the gRPC contract.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from privetl.common.text import ID_MAX_LENGTH as ID_MAX_LENGTH  # the one id rule's length

NAME_MAX_LENGTH = 200


class Role(models.TextChoices):
    """Platform-wide roles; a user holds any set of them (``UserRole`` in the contract)."""

    EDIT_TASK = "EDIT_TASK"
    MANAGE_DATA = "MANAGE_DATA"
    CREATE_EXT_DATAMODULE = "CREATE_EXT_DATAMODULE"
    PROCESS_ETL_TASK = "PROCESS_ETL_TASK"
    ADMIN = "ADMIN"


class AccessType(models.TextChoices):
    """What an access request asks for on one external data module."""

    READ = "READ"
    WRITE = "WRITE"
    OWNER = "OWNER"


class AccessState(models.TextChoices):
    """Stored life cycle of a request.

    ``expired`` is never stored by the normal flow: an approved grant whose ``expires_at``
    has passed is *read* as expired (see ``selectors.access_request_effective_state``), so
    expiry needs no background job and cannot be late.
    """

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"


class User(models.Model):
    """A person (or service account) known to the platform.

    The id is chosen by whoever creates the user (CreateUser, SSO provisioning) because
    the contract's ids are strings and other services store them. Users are never
    deleted — they are blocked — so audit records and decisions keep pointing somewhere.
    """

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    email = models.EmailField(blank=True, default="", help_text="Where notifications go; optional.")
    blocked = models.BooleanField(default=False)
    blocked_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class UserRole(models.Model):
    """One role held by one user (a row per role, so a user can hold any set)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.CharField(max_length=ID_MAX_LENGTH)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="users_userrole_unique"),
        ]
        ordering = ["user_id", "role"]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class AccessRequest(models.Model):
    """A user's request for access to one external data module, and its decision.

    A grant *is* an approved request that has not expired: there is no second table to
    drift out of sync. The access types are three flags so that "who owns module X" is a
    plain indexed query on every database.
    """

    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="access_requests")
    ext_datamodule_id = models.CharField(max_length=ID_MAX_LENGTH, db_index=True)
    read = models.BooleanField(default=False)
    write = models.BooleanField(default=False)
    owner = models.BooleanField(default=False)
    state = models.CharField(
        max_length=16, choices=AccessState.choices, default=AccessState.PENDING, db_index=True
    )
    reason = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=ID_MAX_LENGTH, blank=True, default="")
    decision_note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ext_datamodule_id", "state"], name="users_ar_module_state")
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.user_id} → {self.ext_datamodule_id}, {self.state})"

    @property
    def access_types(self) -> list[str]:
        """The requested types as contract names, in enum order."""
        return [
            name
            for name, held in (
                (AccessType.READ.value, self.read),
                (AccessType.WRITE.value, self.write),
                (AccessType.OWNER.value, self.owner),
            )
            if held
        ]


class ExternalIdentity(models.Model):
    """Links an SSO identity (issuer + subject) to a user, so a renamed account stays the same user."""

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="external_identities")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="users_extid_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer}#{self.subject} → {self.user_id}"


class LoginEvent(models.Model):
    """One authentication attempt (login history): who, through which door, from where, outcome.

    ``user_id`` is plain text, not a foreign key, so failed attempts naming unknown or
    later-blocked users are kept too. Tokens are never stored.
    """

    user_id = models.CharField(max_length=ID_MAX_LENGTH, db_index=True)
    issuer = models.CharField(max_length=255, blank=True, default="")
    address = models.CharField(max_length=255, blank=True, default="")
    door = models.CharField(max_length=16)
    success = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.door} {'ok' if self.success else 'failed'} {self.at:%Y-%m-%d %H:%M}"


class LoginRefusal(models.Model):
    """Refused authentications that identified nobody, counted per address, minute and reason.

    A call with no token, or with a malformed, foreign-signed, expired or otherwise
    unusable one, is nobody's act: it is not an audit record (anyone could flood the hash
    chain and its lock with them) but a count here, one row per (address, minute, reason),
    so a flood of any size costs a bounded number of rows. ``reason`` is one of the
    platform's fixed phrases (``PrivetlError.reason``), never text the caller sent. A
    refusal that *did* identify a user (a blocked user, a refused impersonation) is in the
    audit log instead, under that user's name.
    """

    address = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Caller's host (no port; an IPv6 caller's /64 network).",
    )
    minute = models.DateTimeField(help_text="Start of the minute (UTC) the refusals fell in.")
    reason = models.CharField(
        max_length=64, help_text="Why: 'no credentials', 'expired token', ..."
    )
    count = models.PositiveIntegerField(default=0, help_text="Refusals in this minute.")
    last_at = models.DateTimeField(help_text="When the latest of them happened.")

    class Meta:
        ordering = ["-minute", "address", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["address", "minute", "reason"], name="users_loginrefusal_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address or '-'} {self.minute:%Y-%m-%d %H:%M} {self.reason} ×{self.count}"
