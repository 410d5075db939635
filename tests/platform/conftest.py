"""Fixtures of the platform-core tests: users made through the User Manager's services,
a real local OIDC provider (``oidc-provider-mock``) on a loopback port, and clean caches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from privetl.common.context import Actor
from privetl.platform import auth

CLIENT_ID = "privetl"
REDIRECT_URI = "http://127.0.0.1:9/callback"


@pytest.fixture(autouse=True)
def _fresh_auth_caches() -> Iterator[None]:
    """Each test starts with no cached JWKS and no token already counted as a login."""
    auth.JWKS.clear()
    auth.SEEN_TOKENS.clear()
    yield
    auth.JWKS.clear()
    auth.SEEN_TOKENS.clear()


@pytest.fixture
def users(db) -> dict[str, Actor]:
    """root (ADMIN), alice and bob (no role), made through the User Manager services."""
    from privetl.users import services

    services.user_bootstrap_admin(id="root", name="Root Admin")
    root = Actor(user_id="root", roles=frozenset({"ADMIN"}), door="test")
    services.user_create(actor=root, id="alice", name="Alice", email="alice@example.test")
    services.user_create(actor=root, id="bob", name="Bob")
    return {"root": root, "alice": Actor(user_id="alice"), "bob": Actor(user_id="bob")}


@dataclass(frozen=True)
class OidcProvider:
    """A running local OpenID provider: its issuer URL and a way to log someone in."""

    issuer: str

    def id_token(self, sub: str, *, client_id: str = CLIENT_ID, **claims: object) -> str:
        """Log ``sub`` in through the authorization-code flow; the ID token (a signed JWT)."""
        session = requests.Session()
        if claims:
            session.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()
        params = {
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid profile email",
            "state": "s",
        }
        consent = session.post(
            f"{self.issuer}/oauth2/authorize",
            params=params,
            data={"sub": sub},
            allow_redirects=False,
            timeout=5,
        )
        assert consent.status_code == 302, consent.text
        code = parse_qs(urlparse(consent.headers["Location"]).query)["code"][0]
        token = session.post(
            f"{self.issuer}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "client_secret": "any",
            },
            timeout=5,
        )
        assert token.status_code == 200, token.text
        return str(token.json()["id_token"])


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """oidc-provider-mock serving on a free loopback port for the whole session."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0) as server:
        yield OidcProvider(issuer=f"http://localhost:{server.server_port}")


@pytest.fixture
def sso(settings, oidc_provider: OidcProvider) -> OidcProvider:
    """The platform configured to trust the local provider (keys found by discovery)."""
    settings.OIDC_ISSUERS = [{"issuer": oidc_provider.issuer, "audience": CLIENT_ID}]
    return oidc_provider
