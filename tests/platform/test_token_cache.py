"""The cache of verified tokens: it saves the signature check, never a database read."""

from __future__ import annotations

import time

import jwt
import pytest
from django.conf import settings as django_settings

from privetl.common.errors import Unauthenticated
from privetl.platform import auth
from privetl.platform.auth import authenticate_bearer, token_issue


@pytest.fixture(autouse=True)
def _no_verified_tokens():
    auth.VERIFIED_TOKENS.clear()
    yield
    auth.VERIFIED_TOKENS.clear()


def authenticate(token: str):
    return authenticate_bearer(
        f"Bearer {token}", act_as=None, address="127.0.0.1:4000", request_id="r-1", door="rest"
    )


def test_a_verified_token_is_remembered_until_its_exp(users) -> None:
    token = token_issue(user_id="alice")
    assert auth.VERIFIED_TOKENS.get(token) is None
    authenticate(token)
    claims, _ = auth.VERIFIED_TOKENS.get(token)
    assert claims["sub"] == "alice"
    assert authenticate(token).user_id == "alice"


def test_a_token_past_its_exp_is_never_served_from_the_cache(users) -> None:
    """Within the clock-skew leeway the token still verifies, but it is not kept."""
    now = int(time.time())
    claims = {
        "iss": django_settings.TOKEN_ISSUER,
        "aud": django_settings.TOKEN_AUDIENCE,
        "sub": "alice",
        "iat": now - 60,
        "exp": now - 1,
    }
    token = jwt.encode(claims, django_settings.TOKEN_SIGNING_KEY, algorithm="HS256")
    assert authenticate(token).user_id == "alice"
    assert auth.VERIFIED_TOKENS.get(token) is None


def test_a_cached_token_is_checked_again_when_the_signing_key_changes(users, settings) -> None:
    token = token_issue(user_id="alice")
    authenticate(token)
    settings.TOKEN_SIGNING_KEY = "another-key-" + "x" * 40
    with pytest.raises(Unauthenticated, match="signature"):
        authenticate(token)


def test_a_cached_token_still_reads_roles_and_blocking_fresh(users) -> None:
    from privetl.users import services

    token = token_issue(user_id="alice")
    assert authenticate(token).roles == frozenset()
    services.user_role_add(actor=users["root"], user_id="alice", role="MANAGE_DATA")
    assert authenticate(token).roles == frozenset({"MANAGE_DATA"})
    services.user_role_remove(actor=users["root"], user_id="alice", role="MANAGE_DATA")
    assert authenticate(token).roles == frozenset()
    services.user_block(actor=users["root"], user_id="alice", reason="left")
    with pytest.raises(Unauthenticated, match="blocked"):
        authenticate(token)


def test_the_cache_is_bounded() -> None:
    cache = auth._VerifiedTokens(limit=2)
    exp = {"exp": time.time() + 60}
    for name in ("a", "b", "c"):
        cache.put(name, exp, checked_against=None)
    assert cache.get("a") is None
    assert cache.get("b") is not None and cache.get("c") is not None
