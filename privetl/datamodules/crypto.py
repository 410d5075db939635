"""Encryption at rest of connection strings: Fernet tokens under keys that rotate.

``cryptography``'s ``MultiFernet`` over ``settings.CONNECTION_KEYS`` (``PRIVETL_CONNECTION_KEYS``):
the first key encrypts, every key decrypts, and ``rotated`` re-encrypts a token under the
first key. A missing or malformed key is an ``ImproperlyConfigured`` naming the variable,
never the key. Nothing here logs, and no error carries plaintext.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

VARIABLE = "PRIVETL_CONNECTION_KEYS"


class UndecryptableSecret(Exception):
    """A stored token that none of the configured keys opens (a key dropped too early)."""


def _fernet() -> MultiFernet:
    keys = list(settings.CONNECTION_KEYS)
    if not keys:
        raise ImproperlyConfigured(
            f"{VARIABLE} is not set: connection strings are encrypted with it "
            "(comma-separated Fernet keys, the first encrypts)"
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{VARIABLE}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return MultiFernet(fernets)


def encrypted(plaintext: str) -> str:
    """The Fernet token of ``plaintext`` under the first key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypted(token: str) -> str:
    """The plaintext of a stored token; ``UndecryptableSecret`` when no key opens it."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            f"a connection string cannot be decrypted with the keys in {VARIABLE}; "
            "put back the key it was encrypted with"
        ) from None


def rotated(token: str) -> str:
    """The same secret re-encrypted under the first key (``MultiFernet.rotate``)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            f"a connection string cannot be decrypted with the keys in {VARIABLE}; "
            "put back the key it was encrypted with, then rotate again"
        ) from None
