"""The anonymous flood both doors' tests send: 300 refused calls that identify nobody."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import jwt

from privetl.platform.auth import token_issue

FLOOD = {
    "no credentials": 75,
    "malformed token": 75,
    "unknown issuer": 75,
    "expired token": 75,
}
"""How many calls of each kind, by the reason they are counted under (300 in all)."""


def flood_tokens() -> Iterator[tuple[str, str | None]]:
    """(reason, Authorization header or None) for each call of ``FLOOD``.

    Every "unknown issuer" token names a different issuer, as an attacker's would: the
    caller's text must not multiply the rows.
    """
    expired = token_issue(user_id="alice", ttl_seconds=-300)
    for _ in range(FLOOD["no credentials"]):
        yield "no credentials", None
    for _ in range(FLOOD["malformed token"]):
        yield "malformed token", "Bearer not-a-jwt"
    for _ in range(FLOOD["unknown issuer"]):
        forged = jwt.encode({"iss": f"https://evil.example/{uuid.uuid4()}", "sub": "root"}, "k")
        yield "unknown issuer", f"Bearer {forged}"
    for _ in range(FLOOD["expired token"]):
        yield "expired token", f"Bearer {expired}"
