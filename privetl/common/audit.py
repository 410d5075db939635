"""The audit writer: every service records its changes here, in the change's own transaction.

``audit_record`` appends one record to the hash chain of ``privetl.audit.models.AuditLog``
inside the caller's ``transaction.atomic`` block, so a change and its record commit or
roll back together. ``audit_denied`` records a refused attempt in a transaction of its own,
because the attempted change was rolled back.

Chain: each record stores ``prev_hash`` (the hash of the record before it) and ``hash`` =
SHA-256 of the canonical JSON of its own fields plus ``prev_hash``. Writers serialize on the
single chain-head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions are
already serialized by the write lock), so sequence numbers have no gaps and no forks.
``privetl audit verify`` recomputes the chain.

The chain is unkeyed: it proves that no record was edited, inserted or removed *by
someone who did not also rewrite every later record and the head*. Exporting the head
hash elsewhere from time to time (``privetl audit verify`` prints it) anchors it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import traceback
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from privetl.common.context import Actor

if TYPE_CHECKING:  # pragma: no cover
    from privetl.audit.models import AuditLog

logger = logging.getLogger(__name__)

REDACTED = "***"
OUTCOMES = frozenset({"success", "denied", "failed"})

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "key",
        "credential",
        "credentials",
        "dsn",
        "authorization",
        "cookie",
        "apikey",
        "passphrase",
    }
)
_SECRET_JOINED = ("connection_string", "connectionstring", "conn_str", "private_key", "api_key")
_NOT_SECRET = frozenset({"primary_key", "primary_keys", "foreign_key", "foreign_keys"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@"
)
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b(?P<name>[a-z_]*(?:password|passwd|pwd|secret|token|api_?key|private_?key)[a-z_]*)"
    r"(?P<sep>['\"]?\s*[=:]\s*['\"]?)(?P<value>[^\s'\",;&]+)"
)


def is_secret_key(key: str) -> bool:
    """Does a field name look like it holds a secret? (password, api_key, connectionString...)

    The name is split into words (snake_case, camelCase, kebab-case); any secret-sounding
    word is enough. ``primary_key`` and ``foreign_key(s)`` name columns, not secrets.
    """
    lowered = key.lower()
    if lowered in _NOT_SECRET:
        return False
    if any(joined in lowered for joined in _SECRET_JOINED):
        return True
    words = re.split(r"[^a-z0-9]+", _CAMEL.sub("_", key).lower())
    return any(word in _SECRET_WORDS for word in words)


def redact_text(text: str) -> str:
    """Hide credentials embedded in free text: URL passwords, bearer tokens, JWTs, and
    ``password=...`` / ``"api_key": "..."`` style assignments (exception messages, notes)."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _BEARER.sub(f"Bearer {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _ASSIGNED_SECRET.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)


def redacted_traceback(exc: BaseException) -> str:
    """An exception's traceback for the log, with embedded credentials hidden."""
    return redact_text("".join(traceback.format_exception(exc)))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking key's value replaced by ``"***"``."""
    if isinstance(value, dict):
        return {
            str(k): (REDACTED if is_secret_key(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [redact(v) for v in items]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for storing and hashing: sorted keys, no spaces."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def format_time(value: dt.datetime) -> str:
    """An aware timestamp as UTC ISO-8601 with microseconds (the hashed spelling)."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def record_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of a record's fields (including ``prev_hash``)."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def hashed_fields(record: AuditLog) -> dict[str, Any]:
    """The fields of a record that its hash covers, in their hashed spelling."""
    return {
        "id": record.id,
        "sequence": int(record.sequence),
        "occurred_at": format_time(record.occurred_at),
        "actor_user_id": record.actor_user_id,
        "impersonator_user_id": record.impersonator_user_id,
        "service": record.service,
        "action": record.action,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "outcome": record.outcome,
        "address": record.address,
        "request_id": record.request_id,
        "before_json": record.before_json,
        "after_json": record.after_json,
        "detail": record.detail,
        "prev_hash": record.prev_hash,
    }


def _lock_head() -> Any:
    """The chain head, locked until the caller's transaction ends."""
    from privetl.audit.models import AuditChainHead

    # Created on first use (and again after a test database flush); a concurrent creator
    # is harmless thanks to ignore_conflicts.
    if not AuditChainHead.objects.filter(pk=1).exists():
        AuditChainHead.objects.bulk_create([AuditChainHead(pk=1)], ignore_conflicts=True)
    return AuditChainHead.objects.select_for_update().get(pk=1)


def _clip(value: str | None, limit: int) -> str:
    return (value or "")[:limit]


def audit_record(
    *,
    actor: Actor,
    service: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    outcome: str = "success",
    detail: str = "",
) -> AuditLog:
    """Append one record to the audit chain, inside the caller's transaction.

    Must be called inside ``transaction.atomic`` (the service's own), so that the record
    exists exactly when the change does. Secret-looking keys of ``before``/``after`` are
    redacted to ``"***"``; the timestamp comes from the application clock (aware UTC),
    so it means the same on every database engine.
    """
    from privetl.audit.models import AuditLog

    if not connection.in_atomic_block:
        raise RuntimeError(
            "audit_record must run inside the change's transaction.atomic block, "
            "so the change and its audit record commit or roll back together"
        )
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
    head = _lock_head()
    record = AuditLog(
        sequence=head.last_sequence + 1,
        occurred_at=timezone.now(),
        actor_user_id=_clip(actor.user_id, 255),
        impersonator_user_id=_clip(actor.impersonator_id, 255),
        service=_clip(service, 64),
        action=_clip(action, 128),
        target_type=_clip(target_type, 64),
        target_id=_clip(target_id, 255),
        outcome=outcome,
        address=_clip(actor.address, 255),
        request_id=_clip(actor.request_id, 128),
        before_json="" if before is None else canonical_json(redact(before)),
        after_json="" if after is None else canonical_json(redact(after)),
        detail=redact_text(detail or ""),
        prev_hash=head.last_hash,
    )
    record.hash = record_hash(hashed_fields(record))
    record.save(force_insert=True)
    head.last_sequence = record.sequence
    head.last_hash = record.hash
    head.save(update_fields=["last_sequence", "last_hash"])
    return record


def audit_denied(
    *,
    actor: Actor | None,
    service: str,
    action: str,
    target_type: str = "",
    target_id: str = "",
    message: str,
    outcome: str = "denied",
) -> None:
    """Record a refused or unauthenticated attempt, in a transaction of its own.

    Called by the doors after the attempted change has been rolled back. ``actor`` is
    None when nobody could be authenticated. A failure to write is logged, never raised:
    the caller is already answering with the original error.
    """
    who = actor or Actor(user_id="", door="unknown")
    try:
        with transaction.atomic():
            audit_record(
                actor=who,
                service=service,
                action=action,
                target_type=target_type,
                target_id=target_id,
                outcome=outcome,
                detail=message,
            )
    except Exception:
        logger.exception(
            "could not record a denied %s.%s attempt in the audit log", service, action
        )
