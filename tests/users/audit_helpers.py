"""Reading the audit log back in tests, as plain dicts."""

from __future__ import annotations

import json
from typing import Any

from privetl.audit.models import AuditLog


def audit_entries(*, action: str, target_id: str) -> list[dict[str, Any]]:
    """The User Manager's audit records of one action on one target, oldest first."""
    rows = AuditLog.objects.filter(service="users", action=action, target_id=target_id).order_by(
        "sequence"
    )
    return [
        {
            "actor_id": row.actor_user_id,
            "impersonator_id": row.impersonator_user_id or None,
            "outcome": row.outcome,
            "detail": row.detail,
            "before": json.loads(row.before_json) if row.before_json else None,
            "after": json.loads(row.after_json) if row.after_json else None,
        }
        for row in rows
    ]
